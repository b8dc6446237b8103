//! The archive layer's error type. A decoder that does not know which object it is reading
//! returns an error without a file; the caller attaches one with [`FormatError::in_file`].
//! Every error carries the spec rule it enforces where there is one, so a finding can be traced
//! to `format/`.

use crate::codec::CodecError;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatErrorKind {
    #[error("{what}: truncated (needed {needed} bytes, {available} available)")]
    Truncated {
        what: String,
        needed: u64,
        available: u64,
    },
    #[error("{what}: {detail}")]
    Invalid { what: String, detail: String },
    #[error("{what}: unknown version {value} (this brkit knows {known})")]
    UnknownVersion {
        what: String,
        value: u64,
        known: String,
    },
    #[error("{what} mismatch: expected {expected}, found {actual}")]
    Mismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("protobuf {message} does not decode: {detail}")]
    Protobuf { message: String, detail: String },
    #[error("bad name {name:?}: {detail}")]
    BadName { name: String, detail: String },
    #[error("{0}")]
    Codec(#[from] CodecError),
}

/// An archive-layer error: the kind plus where (file) and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub kind: FormatErrorKind,
    /// The archive object being decoded, when known.
    pub file: Option<String>,
    /// The `format/` rule id that was broken, when there is one.
    pub rule: Option<&'static str>,
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        write!(f, "{}", self.kind)?;
        if let Some(rule) = self.rule {
            write!(f, " [{rule}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for FormatError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            FormatErrorKind::Codec(c) => Some(c),
            _ => None,
        }
    }
}

impl From<FormatErrorKind> for FormatError {
    fn from(kind: FormatErrorKind) -> Self {
        FormatError {
            kind,
            file: None,
            rule: None,
        }
    }
}

impl From<CodecError> for FormatError {
    fn from(e: CodecError) -> Self {
        FormatErrorKind::Codec(e).into()
    }
}

impl FormatError {
    /// Attaches the object name (keeps an inner one if already set).
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        if self.file.is_none() {
            self.file = Some(file.into());
        }
        self
    }

    /// Attaches the broken rule id (keeps an inner one if already set).
    pub fn rule(mut self, rule: &'static str) -> Self {
        if self.rule.is_none() {
            self.rule = Some(rule);
        }
        self
    }

    pub fn invalid(rule: &'static str, what: impl Into<String>, detail: impl Into<String>) -> Self {
        FormatError::from(FormatErrorKind::Invalid {
            what: what.into(),
            detail: detail.into(),
        })
        .rule(rule)
    }

    pub fn truncated(
        rule: &'static str,
        what: impl Into<String>,
        needed: u64,
        available: u64,
    ) -> Self {
        FormatError::from(FormatErrorKind::Truncated {
            what: what.into(),
            needed,
            available,
        })
        .rule(rule)
    }

    pub fn mismatch(
        rule: &'static str,
        what: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        FormatError::from(FormatErrorKind::Mismatch {
            what: what.into(),
            expected: expected.into(),
            actual: actual.into(),
        })
        .rule(rule)
    }

    pub fn protobuf(rule: &'static str, message: &str, e: prost::DecodeError) -> Self {
        FormatError::from(FormatErrorKind::Protobuf {
            message: message.to_string(),
            detail: e.to_string(),
        })
        .rule(rule)
    }

    pub fn bad_name(rule: &'static str, name: &str, detail: impl Into<String>) -> Self {
        FormatError::from(FormatErrorKind::BadName {
            name: name.to_string(),
            detail: detail.into(),
        })
        .rule(rule)
    }

    pub fn unknown_version(
        rule: &'static str,
        what: impl Into<String>,
        value: u64,
        known: impl Into<String>,
    ) -> Self {
        FormatError::from(FormatErrorKind::UnknownVersion {
            what: what.into(),
            value,
            known: known.into(),
        })
        .rule(rule)
    }
}

/// Result alias of the archive layer.
pub type Result<T> = std::result::Result<T, FormatError>;
