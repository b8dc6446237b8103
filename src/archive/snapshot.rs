//! Opening a snapshot archive: the root first, then every leaf metafile its indexes point to
//! (ORDER-3, META-V2-5), with both the inline V1 lists and the V2 leaves collected.

use super::error::{ArchiveError, Result};
use crate::format::backupmeta::{
    decode_metafile, merge_ddls, BackupMeta, DataFile, MetaFileContent, MetaPointer, MetaVersion,
    SchemaEntry,
};
use crate::format::crypto::Cipher;
use crate::format::FormatError;
use crate::storage::Storage;
use futures::stream::{self, StreamExt, TryStreamExt};

/// How many metafiles are read at once.
const METAFILE_READ_CONCURRENCY: usize = 8;

/// A decoded snapshot archive: the root plus everything its indexes reference.
#[derive(Debug, Clone)]
pub struct SnapshotArchive {
    pub meta: BackupMeta,
    /// Every data file: inline ones first, then the leaves in index order.
    pub files: Vec<DataFile>,
    pub schemas: Vec<SchemaEntry>,
    /// The merged DDL JSON array (META-V2-6), or the inline `ddls` for V1.
    pub ddls: Vec<u8>,
    /// Every metafile pointer (data, schema, ddl), in that order.
    pub metafiles: Vec<MetaPointer>,
}

impl SnapshotArchive {
    /// Reads and checks the root and all leaves. A root with `end_version == 0` is refused
    /// here: that is a log archive's root (LAYOUT-3).
    pub async fn open(storage: &dyn Storage, cipher: &Cipher) -> Result<SnapshotArchive> {
        let meta = super::read_root(storage, cipher).await?.ok_or_else(|| {
            ArchiveError::Format(
                FormatError::invalid(
                    "ORDER-2",
                    "backupmeta",
                    "does not exist: not a snapshot archive, or a backup that did not finish",
                )
                .in_file(storage.display_url()),
            )
        })?;
        if meta.end_version == 0 {
            return Err(FormatError::invalid(
                "LAYOUT-3",
                "backupmeta field end_version",
                "is 0: this is a log backup archive, not a snapshot",
            )
            .in_file("backupmeta")
            .into());
        }
        let pointers: Vec<MetaPointer> = meta
            .file_index
            .iter()
            .chain(&meta.schema_index)
            .chain(&meta.ddl_index)
            .cloned()
            .collect();
        let leaves: Vec<_> = stream::iter(pointers.iter().map(|p| async move {
            let bytes = storage.read(&p.name).await?;
            decode_metafile(&bytes, p, cipher).map_err(ArchiveError::from)
        }))
        .buffered(METAFILE_READ_CONCURRENCY)
        .try_collect()
        .await?;
        Ok(SnapshotArchive::assemble(meta, leaves, pointers))
    }

    /// Joins the root's inline lists (moved out of it, not copied: a V1 root can list 100,000
    /// files) with the decoded leaves, in index order (META-V2-5, META-V2-6).
    pub fn assemble(
        mut meta: BackupMeta,
        leaves: Vec<MetaFileContent>,
        metafiles: Vec<MetaPointer>,
    ) -> SnapshotArchive {
        let mut files = std::mem::take(&mut meta.files);
        let mut schemas = std::mem::take(&mut meta.schemas);
        let mut ddl_items = Vec::new();
        for leaf in leaves {
            files.extend(leaf.data_files);
            schemas.extend(leaf.schemas);
            ddl_items.extend(leaf.ddls);
        }
        let ddls = match meta.version {
            MetaVersion::V1 => meta.ddls.clone(),
            MetaVersion::V2 => merge_ddls(&ddl_items),
        };
        SnapshotArchive {
            meta,
            files,
            schemas,
            ddls,
            metafiles,
        }
    }
}
