//! Writing a snapshot archive in BR's order (format/ordering.md): the lock first with a
//! conditional create (LOCK-2, after the LOCK-3 check), data files as the caller produces them,
//! metafiles as they fill, the root last (ORDER-2). Until the root exists the archive is
//! visibly incomplete.

use super::error::{ArchiveError, Result};
use crate::format::backupmeta::{
    DataFile, EncodedObject, MetaVersion, MetaWriter, RootHeader, SchemaEntry,
};
use crate::format::crypto::{random_iv, Cipher};
use crate::format::lock::LOCK_CONTENT;
use crate::format::naming::snapshot::{BACKUPMETA, CHECKPOINT_DIR, CHECKPOINT_META, LOCK};
use crate::storage::{Storage, StorageErrorKind};
use bytes::Bytes;
use sha2::{Digest, Sha256};

/// An SST sealed for storage: encrypted when asked (CRYPT-5), with the fields a
/// [`DataFile`] needs.
#[derive(Debug, Clone)]
pub struct SealedFile {
    pub bytes: Bytes,
    /// SHA-256 of the stored bytes (CRYPT-5, CSUM-7).
    pub sha256: Vec<u8>,
    /// Random even for plaintext, as TiKV does (DATA-2).
    pub cipher_iv: Vec<u8>,
    /// Length (CTR keeps it).
    pub size: u64,
}

/// Encrypts (or not) an SST's bytes and computes what backupmeta records of it.
pub fn seal_data_file(cipher: &Cipher, mut plain: Vec<u8>) -> Result<SealedFile> {
    let iv = random_iv().to_vec();
    cipher.apply(&iv, &mut plain)?;
    Ok(SealedFile {
        sha256: Sha256::digest(&plain).to_vec(),
        size: plain.len() as u64,
        cipher_iv: iv,
        bytes: Bytes::from(plain),
    })
}

/// A snapshot archive being written.
pub struct SnapshotWriter<'a> {
    storage: &'a dyn Storage,
    meta: MetaWriter,
}

impl<'a> SnapshotWriter<'a> {
    /// Checks the target (LOCK-3) and takes the lock (LOCK-2).
    pub async fn create(
        storage: &'a dyn Storage,
        version: MetaVersion,
        cipher: Cipher,
    ) -> Result<SnapshotWriter<'a>> {
        let url = storage.display_url();
        let locked = |detail: String, rule| ArchiveError::Locked {
            url: url.clone(),
            detail,
            rule,
        };
        match storage.stat(BACKUPMETA).await {
            Ok(_) => {
                return Err(locked(
                    "backupmeta exists: the path already holds a backup; choose an empty path"
                        .into(),
                    "LOCK-3",
                ))
            }
            Err(e) if e.kind == StorageErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let listing = storage.list("").await?;
        let has_lock = listing.iter().any(|o| o.name == LOCK);
        let has_sst = listing.iter().any(|o| o.name.ends_with(".sst"));
        let has_checkpoint = listing.iter().any(|o| o.name.starts_with(CHECKPOINT_DIR));
        if has_lock && has_sst && !has_checkpoint {
            return Err(locked(
                "backup.lock and SST files exist but no backupmeta and no checkpoint: another backup is running or failed here".into(),
                "LOCK-3",
            ));
        }
        match storage.write_if_absent(LOCK, Bytes::from_static(LOCK_CONTENT)).await {
            Ok(()) => {}
            Err(e) if e.kind == StorageErrorKind::AlreadyExists => {
                return Err(locked(
                    "backup.lock exists: another backup holds this path (delete the lock only if no backup is running)".into(),
                    "LOCK-2",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        Ok(SnapshotWriter {
            storage,
            meta: MetaWriter::new(version, cipher),
        })
    }

    /// Reopens a target whose backup failed, to resume it from its checkpoint (LOCK-3's
    /// exception): `backupmeta` must not exist (LOCK-5), `backup.lock` and
    /// `checkpoints/backup/checkpoint.meta` must.
    pub async fn resume(
        storage: &'a dyn Storage,
        version: MetaVersion,
        cipher: Cipher,
    ) -> Result<SnapshotWriter<'a>> {
        let url = storage.display_url();
        let locked = |detail: &str, rule| ArchiveError::Locked {
            url: url.clone(),
            detail: detail.to_string(),
            rule,
        };
        for (name, must_exist, detail, rule) in [
            (
                BACKUPMETA,
                false,
                "backupmeta exists: this backup already finished",
                "LOCK-5",
            ),
            (
                LOCK,
                true,
                "backup.lock is missing: nothing to resume here",
                "LOCK-3",
            ),
            (
                CHECKPOINT_META,
                true,
                "checkpoints/backup/checkpoint.meta is missing: this backup cannot be resumed",
                "LOCK-3",
            ),
        ] {
            let exists = match storage.stat(name).await {
                Ok(_) => true,
                Err(e) if e.kind == StorageErrorKind::NotFound => false,
                Err(e) => return Err(e.into()),
            };
            if exists != must_exist {
                return Err(locked(detail, rule));
            }
        }
        Ok(SnapshotWriter {
            storage,
            meta: MetaWriter::new(version, cipher),
        })
    }

    async fn write_all(&self, objects: Vec<EncodedObject>) -> Result<()> {
        for o in objects {
            self.storage.write(&o.name, Bytes::from(o.bytes)).await?;
        }
        Ok(())
    }

    /// Writes a data file's bytes (the caller made the name with `naming::snapshot`).
    pub async fn put_data_file(&self, name: &str, sealed: &SealedFile) -> Result<()> {
        self.storage.write(name, sealed.bytes.clone()).await?;
        Ok(())
    }

    /// Records a data file already written (ORDER-2: data before the metafile naming it).
    pub async fn add_data_file(&mut self, f: &DataFile) -> Result<()> {
        let objects = self.meta.add_data_file(f)?;
        self.write_all(objects).await
    }

    /// Ends the data-file phase (META-V2-4).
    pub async fn end_data_files(&mut self) -> Result<()> {
        let objects = self.meta.flush()?.into_iter().collect();
        self.write_all(objects).await
    }

    /// Records a schema entry.
    pub async fn add_schema(&mut self, s: &SchemaEntry) -> Result<()> {
        let objects = self.meta.add_schema(s)?;
        self.write_all(objects).await
    }

    /// Writes the last metafile, then the root (ORDER-2). Returns the root's size.
    pub async fn finish(self, header: &RootHeader) -> Result<u64> {
        let storage = self.storage;
        let (last, root) = self.meta.finish(header)?;
        if let Some(o) = last {
            storage.write(&o.name, Bytes::from(o.bytes)).await?;
        }
        let len = root.bytes.len() as u64;
        storage.write(&root.name, Bytes::from(root.bytes)).await?;
        Ok(len)
    }
}
