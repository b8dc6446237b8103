//! Errors of backup and restore: what failed, on which table, range or store, with the layer
//! error underneath.

use crate::format::checksum::Checksum;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error(transparent)]
    Format(#[from] crate::format::FormatError),
    #[error(transparent)]
    Codec(#[from] crate::codec::CodecError),
    #[error("{flag}: {detail}")]
    BadOption { flag: &'static str, detail: String },
    #[error("backup failed: {0}")]
    Backup(String),
    #[error("restore failed: {0}")]
    Restore(String),
    #[error(
        "checksum mismatch for table {table}: archive has crc64xor={:#018x} kvs={} bytes={}, {what} has crc64xor={:#018x} kvs={} bytes={}",
        expected.crc64xor, expected.total_kvs, expected.total_bytes,
        got.crc64xor, got.total_kvs, got.total_bytes
    )]
    ChecksumMismatch {
        table: String,
        what: &'static str,
        expected: Checksum,
        got: Checksum,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{context}: {detail}")]
    Json { context: String, detail: String },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    /// A JSON document (`what`) that does not parse or serialise.
    pub fn json(what: impl Into<String>, e: impl std::fmt::Display) -> EngineError {
        EngineError::Json {
            context: what.into(),
            detail: e.to_string(),
        }
    }
}
