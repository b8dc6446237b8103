//! Storage errors (stub; the storage work replaces it with the full type).

/// What kind of storage failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageErrorKind {
    NotFound,
    AlreadyExists,
    Other,
}

/// A storage error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{detail}")]
pub struct StorageError {
    pub kind: StorageErrorKind,
    pub detail: String,
}
