//! The root objects `br log start` writes to a log archive before any flush: `backup.lock`
//! (LOG-NAME-11, NAME-8, the same text a snapshot writes) and the root `backupmeta` with
//! `start_version` = the task's start ts, `end_version` = 0 and `ddls` = `[]` (LOG-1).

use crate::cluster::error::{ClusterError, Result};
use crate::format::backupmeta::{MetaVersion, MetaWriter, RootHeader};
use crate::format::crypto::Cipher;
use crate::format::lock::LOCK_CONTENT;
use crate::format::naming::snapshot::{BACKUPMETA, LOCK};
use crate::storage::{Storage, StorageErrorKind};
use bytes::Bytes;

async fn exists(storage: &dyn Storage, name: &str) -> Result<bool> {
    match storage.stat(name).await {
        Ok(_) => Ok(true),
        Err(e) if e.kind == StorageErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Refuses a target that already holds a backup (snapshot or log) or a lock.
pub async fn check_target(storage: &dyn Storage) -> Result<()> {
    for name in [LOCK, BACKUPMETA] {
        if exists(storage, name).await? {
            return Err(ClusterError::Invalid(format!(
                "{} already holds {name}: another backup or log task uses this storage; choose an empty path",
                storage.display_url()
            )));
        }
    }
    Ok(())
}

/// Writes `backup.lock` (conditional create) then the root `backupmeta` (LOG-1).
pub async fn write_root(storage: &dyn Storage, cluster_id: u64, start_ts: u64) -> Result<()> {
    match storage
        .write_if_absent(LOCK, Bytes::from_static(LOCK_CONTENT))
        .await
    {
        Ok(()) => {}
        Err(e) if e.kind == StorageErrorKind::AlreadyExists => {
            return Err(ClusterError::Invalid(format!(
                "{} already holds {LOCK}: another backup or log task uses this storage",
                storage.display_url()
            )))
        }
        Err(e) => return Err(e.into()),
    }
    let header = RootHeader {
        cluster_id,
        cluster_version: format!("brkit-embedded {}", env!("CARGO_PKG_VERSION")),
        br_version: format!("brkit\nRelease Version: {}", env!("CARGO_PKG_VERSION")),
        start_version: start_ts, // LOG-1
        end_version: 0,          // LOG-1
        new_collations_enabled: "True".into(),
    };
    let (extra, root) = MetaWriter::new(MetaVersion::V2, Cipher::plaintext()).finish(&header)?;
    if let Some(o) = extra {
        storage.write(&o.name, Bytes::from(o.bytes)).await?;
    }
    storage.write(&root.name, Bytes::from(root.bytes)).await?;
    Ok(())
}
