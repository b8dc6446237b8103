//! Whole archives over storage: opening (detecting the kind, reading the root first and
//! following its pointers, ORDER-3) and writing (lock first, data, metafiles, root last:
//! ORDER-1, ORDER-2). Sits above `format` (pure) and `storage`; knows no CLI.

pub mod catalog;
mod error;
pub mod log;
pub mod snapshot;
pub mod sst_writer;
pub mod writer;

pub use error::{ArchiveError, Result};

use crate::format::backupmeta::{decode_backupmeta, BackupMeta};
use crate::format::crypto::Cipher;
use crate::format::layout::{detect, ArchiveKind};
use crate::format::naming::log::META_DIR;
use crate::format::naming::snapshot::BACKUPMETA;
use crate::storage::{Storage, StorageErrorKind};

/// Reads the root document if there is one (`None` when `backupmeta` does not exist).
pub async fn read_root(storage: &dyn Storage, cipher: &Cipher) -> Result<Option<BackupMeta>> {
    match storage.read(BACKUPMETA).await {
        Ok(bytes) => Ok(Some(decode_backupmeta(&bytes, cipher)?)),
        Err(e) if e.kind == StorageErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// LAYOUT-3 over storage: which kind of archive the root holds.
pub async fn detect_kind(
    storage: &dyn Storage,
    cipher: &Cipher,
) -> Result<(ArchiveKind, Option<BackupMeta>)> {
    let root = read_root(storage, cipher).await?;
    let has_log_metas = !storage.list(META_DIR).await?.is_empty();
    let kind = detect(has_log_metas, root.as_ref())
        .map_err(|e| ArchiveError::Format(e.in_file(storage.display_url())))?;
    Ok((kind, root))
}
