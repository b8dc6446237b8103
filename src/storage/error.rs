//! Storage errors: one typed error for every backend, saying what failed, on which object of
//! which storage (URL without credentials, STORE-URL-4) and whether a retry can help
//! (STORE-ERR-1). Owns the mapping from `opendal::Error`; knows nothing of archive formats.

use std::fmt;

/// What kind of storage failure, chosen so a caller can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageErrorKind {
    /// The object (or bucket/container) does not exist.
    NotFound,
    /// `write_if_absent` found the object already present (STORE-6).
    AlreadyExists,
    /// Credentials were rejected or lack a permission.
    PermissionDenied,
    /// A range read asked for bytes past the end of the object (STORE-4).
    Truncated,
    /// An object name is not a safe relative name (STORE-1).
    BadName,
    /// A storage URL could not be understood (STORE-URL-*).
    BadUrl,
    /// The backend cannot do what was asked.
    Unsupported,
    /// Anything else (I/O, network, server errors).
    Other,
}

impl StorageErrorKind {
    /// A short stable name, used in messages and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not found",
            Self::AlreadyExists => "already exists",
            Self::PermissionDenied => "permission denied",
            Self::Truncated => "truncated",
            Self::BadName => "bad object name",
            Self::BadUrl => "bad storage URL",
            Self::Unsupported => "unsupported",
            Self::Other => "storage error",
        }
    }
}

impl fmt::Display for StorageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A storage error. Its message never contains credentials: `url` is always redacted and
/// `detail` is built from backend messages that do not echo secrets (STORE-URL-4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct StorageError {
    /// What went wrong.
    pub kind: StorageErrorKind,
    /// The object concerned, relative to the storage root, if any.
    pub object: Option<String>,
    /// The storage URL, redacted. Empty when not known yet (e.g. while parsing a URL).
    pub url: String,
    /// `true` if the same operation may succeed when retried (STORE-ERR-1).
    pub temporary: bool,
    /// Human-readable detail.
    pub detail: String,
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(o) = &self.object {
            write!(f, ": {o}")?;
        }
        if !self.url.is_empty() {
            write!(f, " (in {})", self.url)?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        if self.temporary {
            f.write_str(" [temporary]")?;
        }
        Ok(())
    }
}

impl StorageError {
    /// A permanent error of `kind` with a detail message.
    pub fn new(kind: StorageErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            object: None,
            url: String::new(),
            temporary: false,
            detail: detail.into(),
        }
    }

    /// `NotFound` for an object.
    pub fn not_found(object: &str) -> Self {
        Self::new(StorageErrorKind::NotFound, "").with_object(object)
    }

    /// `AlreadyExists` for an object (STORE-6).
    pub fn already_exists(object: &str) -> Self {
        Self::new(StorageErrorKind::AlreadyExists, "").with_object(object)
    }

    /// `Truncated`: the object is shorter than a read needed (STORE-4).
    pub fn truncated(object: &str, detail: impl Into<String>) -> Self {
        Self::new(StorageErrorKind::Truncated, detail).with_object(object)
    }

    /// `BadName`: an object name that is not a safe relative name (STORE-1).
    pub fn bad_name(object: &str, detail: impl Into<String>) -> Self {
        Self::new(StorageErrorKind::BadName, detail).with_object(object)
    }

    /// `BadUrl`: a storage URL that cannot be used; `detail` names the scheme or parameter.
    /// The URL itself is not echoed (it may hold secrets); callers add `redacted` if known.
    pub fn bad_url(detail: impl Into<String>) -> Self {
        Self::new(StorageErrorKind::BadUrl, detail)
    }

    /// `Unsupported` operation or configuration.
    pub fn unsupported(detail: impl Into<String>) -> Self {
        Self::new(StorageErrorKind::Unsupported, detail)
    }

    /// `Other`, e.g. a local I/O failure.
    pub fn other(detail: impl Into<String>) -> Self {
        Self::new(StorageErrorKind::Other, detail)
    }

    /// Sets the object name.
    pub fn with_object(mut self, object: &str) -> Self {
        self.object = Some(object.to_string());
        self
    }

    /// Sets the (already redacted) storage URL.
    pub fn with_url(mut self, redacted_url: &str) -> Self {
        self.url = redacted_url.to_string();
        self
    }

    /// Marks the error temporary (a retry may help) or permanent.
    pub fn with_temporary(mut self, temporary: bool) -> Self {
        self.temporary = temporary;
        self
    }

    /// Whether retrying the same operation may succeed (STORE-ERR-1).
    pub fn is_temporary(&self) -> bool {
        self.temporary
    }

    /// Maps a local I/O error (fs backend, mmap).
    pub fn from_io(err: &std::io::Error, object: &str) -> Self {
        use std::io::ErrorKind as K;
        let kind = match err.kind() {
            K::NotFound | K::NotADirectory | K::IsADirectory => StorageErrorKind::NotFound,
            K::AlreadyExists => StorageErrorKind::AlreadyExists,
            K::PermissionDenied => StorageErrorKind::PermissionDenied,
            K::UnexpectedEof => StorageErrorKind::Truncated,
            _ => StorageErrorKind::Other,
        };
        let temporary = matches!(err.kind(), K::Interrupted | K::TimedOut | K::WouldBlock);
        Self::new(kind, err.to_string())
            .with_object(object)
            .with_temporary(temporary)
    }
}

impl From<opendal::Error> for StorageError {
    fn from(err: opendal::Error) -> Self {
        use opendal::ErrorKind as K;
        let kind = match err.kind() {
            // A directory, or a path through a file, is not an object (STORE-7).
            K::NotFound | K::IsADirectory | K::NotADirectory => StorageErrorKind::NotFound,
            // Conditional create answered "exists" (STORE-6): fs says AlreadyExists, object
            // stores answer 412 Precondition Failed, mapped by opendal to ConditionNotMatch.
            K::AlreadyExists | K::ConditionNotMatch => StorageErrorKind::AlreadyExists,
            K::PermissionDenied => StorageErrorKind::PermissionDenied,
            K::RangeNotSatisfied => StorageErrorKind::Truncated,
            K::Unsupported => StorageErrorKind::Unsupported,
            K::ConfigInvalid => StorageErrorKind::BadUrl,
            _ => StorageErrorKind::Other,
        };
        // opendal's Display carries the operation, service context (bucket, path) and message
        // but not the credentials it was configured with; the backend additionally scrubs any
        // secret value it knows from the text (STORE-URL-4).
        let temporary = err.is_temporary();
        let mut detail = err.to_string();
        // opendal shows its direct source only; the deeper causes say what went wrong on the
        // wire (e.g. "Connection refused" under "error sending request").
        let mut cause = std::error::Error::source(&err).and_then(|s| s.source());
        for _ in 0..8 {
            let Some(c) = cause else { break };
            let text = c.to_string();
            if !detail.contains(&text) {
                detail.push_str(": ");
                detail.push_str(&text);
            }
            cause = c.source();
        }
        Self::new(kind, detail).with_temporary(temporary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_err_1_temporary_opendal_errors_stay_temporary() {
        let e = opendal::Error::new(opendal::ErrorKind::Unexpected, "503").set_temporary();
        let s = StorageError::from(e);
        assert!(s.is_temporary());
        assert_eq!(s.kind, StorageErrorKind::Other);
        let e = opendal::Error::new(opendal::ErrorKind::NotFound, "gone");
        let s = StorageError::from(e);
        assert!(!s.is_temporary());
        assert_eq!(s.kind, StorageErrorKind::NotFound);
    }

    #[test]
    fn store_6_condition_not_match_is_already_exists() {
        let e = opendal::Error::new(opendal::ErrorKind::ConditionNotMatch, "412");
        assert_eq!(StorageError::from(e).kind, StorageErrorKind::AlreadyExists);
    }

    #[test]
    fn display_names_kind_object_and_url() {
        let e = StorageError::not_found("backupmeta").with_url("s3://b/p");
        assert_eq!(e.to_string(), "not found: backupmeta (in s3://b/p)");
    }
}
