//! Opening a snapshot archive: the root first, then every leaf metafile its indexes point to
//! (ORDER-3, META-V2-5), with both the inline V1 lists and the V2 leaves collected; and the
//! `inspect --json` document of it.

use super::catalog::catalog;
use super::error::{ArchiveError, Result};
use crate::codec::tso;
use crate::format::backupmeta::{
    decode_metafile, merge_ddls, BackupMeta, DataFile, MetaFileContent, MetaPointer, MetaVersion,
    SchemaEntry,
};
use crate::format::crypto::Cipher;
use crate::format::naming::snapshot::parse_sst_name;
use crate::format::FormatError;
use crate::storage::Storage;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};

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

fn ts_json(ts: u64) -> Value {
    json!({ "tso": ts, "time": tso::display_utc(ts) })
}

fn file_json(f: &DataFile) -> Value {
    let decoded = parse_sst_name(&f.name).ok();
    json!({
        "name": f.name,
        "cf": f.cf.as_str(),
        "size": f.size,
        "sha256": hex::encode(&f.sha256),
        "start_key": hex::encode(&f.start_key),
        "end_key": hex::encode(&f.end_key),
        "start_version": f.start_version,
        "end_version": f.end_version,
        "crc64xor": f.checksum.crc64xor,
        "total_kvs": f.checksum.total_kvs,
        "total_bytes": f.checksum.total_bytes,
        "cipher_iv": hex::encode(&f.cipher_iv),
        "table_id": crate::codec::table::decode_table_id(&f.start_key),
        "store_id": decoded.as_ref().map(|d| d.store_id),
        "region_id": decoded.as_ref().map(|d| d.region_id),
        "region_epoch_version": decoded.as_ref().map(|d| d.epoch_version),
        "name_generation": decoded.as_ref().map(|d| format!("{:?}", d.generation)),
    })
}

fn embedded(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The `inspect --json` document of a snapshot archive (META-JSON-1 conventions: hex for
/// hashes and keys, schema JSON embedded as objects, numbers as decimal integers).
pub fn to_json(a: &SnapshotArchive, url: &str) -> std::result::Result<Value, FormatError> {
    let (tables, orphans) = catalog(a)?;
    let m = &a.meta;
    let tables_json: Vec<Value> = tables
        .iter()
        .map(|t| {
            let size: u64 = t.files.iter().map(|&i| a.files[i].size).sum();
            json!({
                "db": t.db, "db_id": t.db_id, "table": t.table, "table_id": t.table_id,
                "physical_ids": t.physical_ids,
                "crc64xor": t.checksum.crc64xor, "total_kvs": t.checksum.total_kvs, "total_bytes": t.checksum.total_bytes,
                "files": t.files.len(), "size": size,
            })
        })
        .collect();
    Ok(json!({
        "kind": "snapshot",
        "storage": url,
        "cluster_id": m.cluster_id,
        "cluster_version": m.cluster_version,
        "br_version": m.br_version,
        "meta_version": match m.version { MetaVersion::V1 => "V1", MetaVersion::V2 => "V2" },
        "backup_schema_version": m.backup_schema_version,
        "start_version": m.start_version,
        "end_version": m.end_version,
        "backup_ts": ts_json(m.end_version),
        "backup_size": m.backup_size,
        "api_version": m.api_version,
        "is_raw_kv": m.is_raw_kv,
        "new_collations_enabled": m.new_collations_enabled,
        "unknown_fields": m.unknown_fields,
        "metafiles": a.metafiles.iter().map(|p| json!({"name": p.name, "size": p.size, "sha256": hex::encode(&p.sha256)})).collect::<Vec<_>>(),
        "tables": tables_json,
        "files": a.files.iter().map(file_json).collect::<Vec<_>>(),
        "files_without_table": orphans.iter().map(|&i| a.files[i].name.clone()).collect::<Vec<_>>(),
        "schemas": a.schemas.iter().map(|s| json!({"db": embedded(&s.db_json), "table": s.table_json.as_deref().map(embedded)})).collect::<Vec<_>>(),
        "ddls": embedded(&a.ddls),
    }))
}
