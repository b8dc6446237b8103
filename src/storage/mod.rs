//! Object storage: one narrow trait ([`Storage`]) that every archive reader and writer uses,
//! implemented once over opendal (fs, memory, s3, azblob, gcs), with BR's storage URLs, a
//! retry layer for temporary errors and a fault-injecting decorator for tests.
//!
//! Contract of every implementation (format/storage.md, rule ids in brackets):
//! - object names are relative `/`-separated paths below the storage root; never absolute,
//!   never containing `.`/`..` segments, empty segments, NUL or `\` (rejected with
//!   [`StorageErrorKind::BadName`] before the backend is contacted) [STORE-1];
//! - `read` sees the last completed `write` [STORE-2]; `write` replaces an object atomically
//!   from a reader's point of view (fs writes a temp file and renames it) [STORE-3];
//! - `read_range` returns exactly the bytes asked for or fails with `Truncated` [STORE-4];
//! - `list` returns every object below a prefix (recursively, objects only), sorted by name
//!   [STORE-5], and sees completed writes [STORE-10];
//! - `write_if_absent` fails with [`StorageErrorKind::AlreadyExists`] if the object exists
//!   (conditional create where the backend supports it, else stat-then-write, as reported by
//!   [`Capabilities::atomic_create`]) [STORE-6];
//! - missing objects are `NotFound` [STORE-7]; deleting one succeeds [STORE-8];
//! - errors say whether a retry can help ([`StorageError::is_temporary`]) [STORE-ERR-1] and
//!   never contain credentials [STORE-URL-4].
//!
//! Entry points: [`open_url`] / [`open`] (BR storage URL → `Arc<dyn Storage>`; object
//! stores come behind [`retry::RetryStorage`] with the default policy),
//! [`open_with_retry`] (any backend behind a retry layer with a given policy), [`blocking::block_on`] for
//! synchronous callers, [`local_map`] for mmap of local objects, [`fault`] for tests.

pub mod blocking;
mod error;
pub mod fault;
mod fs_atomic;
pub mod local_map;
mod noop;
pub mod opendal_backend;
pub mod retry;
pub mod url;

pub use error::{StorageError, StorageErrorKind};
pub use noop::NoopStorage;
pub use opendal_backend::{open, open_url, open_with_retry, OpendalStorage};
pub use url::StorageUrl;

use async_trait::async_trait;
use bytes::Bytes;

/// Metadata of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Name relative to the storage root.
    pub name: String,
    /// Length in bytes.
    pub size: u64,
}

/// What a backend can promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// `write_if_absent` is a true conditional create (no race window).
    pub atomic_create: bool,
    /// Local files: `local_path` returns a path that can be memory-mapped.
    pub local_files: bool,
}

/// Result alias of the storage layer.
pub type Result<T> = std::result::Result<T, StorageError>;

/// The storage trait. Every method's contract is in the module doc.
#[async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Whole object. `NotFound` if it does not exist.
    async fn read(&self, name: &str) -> Result<Bytes>;
    /// `len` bytes at `offset`. A range past the end is an error (`Truncated`), never short data.
    async fn read_range(&self, name: &str, offset: u64, len: u64) -> Result<Bytes>;
    /// Creates or replaces the object.
    async fn write(&self, name: &str, data: Bytes) -> Result<()>;
    /// Creates the object only if it does not exist yet.
    async fn write_if_absent(&self, name: &str, data: Bytes) -> Result<()>;
    /// Every object whose name starts with `prefix` (`""` = all), sorted by name.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>>;
    /// Metadata of one object. `NotFound` if it does not exist.
    async fn stat(&self, name: &str) -> Result<ObjectMeta>;
    /// Deletes the object; deleting a missing object succeeds.
    async fn delete(&self, name: &str) -> Result<()>;
    /// What this backend promises.
    fn capabilities(&self) -> Capabilities;
    /// The storage URL with credentials removed, for messages.
    fn display_url(&self) -> String;
    /// For local backends: the filesystem path of an object (for mmap).
    fn local_path(&self, _name: &str) -> Option<std::path::PathBuf> {
        None
    }
}

/// Checks an object name (STORE-1): a safe relative name (NAME-9 rules), else `BadName`.
pub fn check_name(name: &str) -> Result<()> {
    crate::format::naming::check_relative_name(name)
        .map_err(|e| StorageError::bad_name(name, format!("STORE-1: {e}")))
}

/// Checks a listing prefix (STORE-5): `""`, or a name or name start that is not absolute and
/// has no `.`/`..` segment or NUL. A trailing `/` is allowed.
pub fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    let body = prefix.strip_suffix('/').unwrap_or(prefix);
    check_name(body).map_err(|e| StorageError {
        object: Some(prefix.to_string()),
        ..e
    })
}
