//! The store's error type: every variant names the store and what failed (the RocksDB
//! operation, the damaged key, the file), so the gRPC layer can pass it on as a message a user
//! can act on. Owns no logic beyond building these errors.

use crate::archive::ArchiveError;
use crate::codec::CodecError;
use crate::format::FormatError;
use std::path::PathBuf;

/// Errors of a [`super::Store`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another opener (another process, or another `Store` in this one) holds RocksDB's `LOCK`.
    #[error(
        "store directory {} is in use by another process (RocksDB LOCK is held). If a `brtool \
         cluster start` server runs on it, reach it with `--pd 127.0.0.1:PORT` (recorded in the \
         cluster directory's cluster.addr); if another brtool command opened it in-process, wait \
         for it, or run `brtool cluster start --dir <cluster dir>` so several commands can share \
         the cluster",
        path.display()
    )]
    Busy { path: PathBuf },
    /// A RocksDB call failed.
    #[error("store {store_id}: RocksDB {op} failed: {detail}")]
    RocksDb {
        store_id: u64,
        op: &'static str,
        detail: String,
    },
    /// Data in the store does not decode (a key without `z`/ts, a bad write record, a write
    /// record whose default-CF value is missing).
    #[error("store {store_id}: corrupt data at key {key}: {detail}")]
    Corrupt {
        store_id: u64,
        /// Hex of the RocksDB key.
        key: String,
        detail: String,
    },
    /// A file handed to the store (a downloaded backup SST) is damaged.
    #[error("store {store_id}: {what}: {source}")]
    Format {
        store_id: u64,
        what: String,
        #[source]
        source: Box<FormatError>,
    },
    /// A key or record handed to the store does not decode.
    #[error("store {store_id}: {what}: {source}")]
    Codec {
        store_id: u64,
        what: String,
        #[source]
        source: CodecError,
    },
    /// Sealing a backup file (encryption, checksum) failed.
    #[error("store {store_id}: sealing backup file: {source}")]
    Archive {
        store_id: u64,
        #[source]
        source: Box<ArchiveError>,
    },
    /// A local file operation failed.
    #[error("store {store_id}: {op} {}: {source}", path.display())]
    Io {
        store_id: u64,
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The caller asked for something the store refuses (commit_ts before start_ts, a key no
    /// rewrite rule matches, a staged file that does not exist, ...).
    #[error("store {store_id}: {detail}")]
    Invalid { store_id: u64, detail: String },
    /// The caller's sink (e.g. the upload of an emitted backup file) failed; carried through
    /// unchanged so the caller sees its own error.
    #[error("{detail}")]
    Sink { detail: String },
}

/// Result alias of the store.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Whether a RocksDB open error says the directory's `LOCK` is held (by another process, or
/// by this process: RocksDB 7 reports "lock hold by current process").
pub(super) fn is_lock_error(e: &rocksdb::Error) -> bool {
    let s = e.to_string();
    s.contains("lock hold by current process")
        || s.contains("While lock file")
        || (s.contains("/LOCK") && (s.contains("unavailable") || s.contains("No locks")))
}
