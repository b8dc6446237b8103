//! Errors of whole-archive operations: a storage failure, a format violation, or a protocol
//! refusal (locked target), each saying which object or rule.

use crate::format::FormatError;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Format(#[from] FormatError),
    /// LOCK-2 / LOCK-3: the target is in use or holds another backup.
    #[error("{url}: {detail} [{rule}]")]
    Locked {
        url: String,
        detail: String,
        rule: &'static str,
    },
}

pub type Result<T> = std::result::Result<T, ArchiveError>;
