//! Opening a log backup archive (format/log.md): every `.meta` under `v1/backupmeta/`, the
//! global checkpoints, the truncate safepoint and the root's start ts, and the restorable
//! window they give (LOG-TRUNC-2, LOG-CKPT-2). Also the `inspect` rendering of it.

use super::error::Result;
use crate::format::backupmeta::BackupMeta;
use crate::format::crypto::Cipher;
use crate::format::logmeta::{
    decode_global_checkpoint, decode_log_meta, decode_truncate_safepoint, restorable_window,
    LogMeta, RestorableWindow,
};
use crate::format::naming::log::{
    parse_global_checkpoint_path, parse_meta_path, GLOBAL_CHECKPOINT_DIR, META_DIR,
    TRUNCATE_SAFEPOINT,
};
use crate::storage::{Storage, StorageErrorKind};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};
use std::io::Write;

const META_READ_CONCURRENCY: usize = 8;

/// One `.meta` object.
#[derive(Debug, Clone)]
pub struct MetaObject {
    pub path: String,
    /// The naming generation, or `None` for a name no generation matches (BR still reads
    /// every `.meta` under the directory, and so does brkit).
    pub generation: Option<&'static str>,
    pub meta: LogMeta,
}

/// A decoded log archive.
#[derive(Debug, Clone)]
pub struct LogArchive {
    pub root: Option<BackupMeta>,
    pub metas: Vec<MetaObject>,
    /// `(store_id, checkpoint ts)` per `v1/global_checkpoint/*.ts`.
    pub checkpoints: Vec<(u64, u64)>,
    pub truncate_safepoint: Option<u64>,
    pub window: RestorableWindow,
}

async fn read_optional(storage: &dyn Storage, name: &str) -> Result<Option<bytes::Bytes>> {
    match storage.read(name).await {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind == StorageErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl LogArchive {
    /// Reads every document of a log archive. Data objects are not read here.
    pub async fn open(storage: &dyn Storage) -> Result<LogArchive> {
        let root = super::read_root(storage, &Cipher::plaintext()).await?;
        let listing = storage.list(META_DIR).await?;
        let metas: Vec<MetaObject> = stream::iter(
            listing
                .into_iter()
                .filter(|o| o.name.ends_with(".meta"))
                .map(|o| async move {
                    let bytes = storage.read(&o.name).await?;
                    let meta = decode_log_meta(&bytes).map_err(|e| e.in_file(o.name.clone()))?;
                    let generation = parse_meta_path(&o.name).ok().map(|n| n.generation());
                    Ok::<_, super::ArchiveError>(MetaObject {
                        path: o.name,
                        generation,
                        meta,
                    })
                }),
        )
        .buffered(META_READ_CONCURRENCY)
        .try_collect()
        .await?;
        let mut checkpoints = Vec::new();
        for o in storage.list(GLOBAL_CHECKPOINT_DIR).await? {
            let store = parse_global_checkpoint_path(&o.name)?;
            let bytes = storage.read(&o.name).await?;
            checkpoints.push((
                store,
                decode_global_checkpoint(&bytes).map_err(|e| e.in_file(o.name.clone()))?,
            ));
        }
        let truncate_safepoint = match read_optional(storage, TRUNCATE_SAFEPOINT).await? {
            Some(b) => {
                Some(decode_truncate_safepoint(&b).map_err(|e| e.in_file(TRUNCATE_SAFEPOINT))?)
            }
            None => None,
        };
        let start = root.as_ref().map_or(0, |r| r.start_version);
        let ckpts: Vec<u64> = checkpoints.iter().map(|c| c.1).collect();
        let window = restorable_window(start, truncate_safepoint, &ckpts);
        Ok(LogArchive {
            root,
            metas,
            checkpoints,
            truncate_safepoint,
            window,
        })
    }
}

fn ts(ts: u64) -> Value {
    json!({ "tso": ts, "time": crate::codec::tso::display_utc(ts) })
}

/// The `inspect --json` document of a log archive.
pub fn to_json(a: &LogArchive, url: &str) -> Value {
    let metas: Vec<Value> = a
        .metas
        .iter()
        .map(|m| {
            let groups: Vec<Value> = m
                .meta
                .groups
                .iter()
                .map(|g| {
                    json!({
                        "path": g.path, "length": g.length, "min_ts": g.min_ts, "max_ts": g.max_ts,
                        "min_resolved_ts": g.min_resolved_ts,
                        "sub_files": g.files.iter().map(|f| json!({
                            "range_offset": f.range_offset, "range_length": f.range_length, "length": f.length,
                            "cf": f.cf.as_str(), "type": format!("{:?}", f.kind), "is_meta": f.is_meta,
                            "table_id": f.table_id, "region_id": f.region_id, "entries": f.number_of_entries,
                            "min_ts": f.min_ts, "max_ts": f.max_ts, "resolved_ts": f.resolved_ts,
                            "min_begin_ts_in_default_cf": f.min_begin_ts_in_default_cf,
                            "sha256": f.sha256.map(hex::encode), "crc64xor": f.crc64xor,
                            "compression": format!("{:?}", f.compression),
                            "encrypted": f.encryption.is_some(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({
                "path": m.path, "name_generation": m.generation, "store_id": m.meta.store_id,
                "meta_version": format!("{:?}", m.meta.version),
                "resolved_ts": m.meta.resolved_ts, "min_ts": m.meta.min_ts, "max_ts": m.meta.max_ts,
                "groups": groups, "v1_files": m.meta.files.len(),
            })
        })
        .collect();
    json!({
        "kind": "log",
        "storage": url,
        "start_version": a.root.as_ref().map(|r| r.start_version),
        "cluster_id": a.root.as_ref().map(|r| r.cluster_id),
        "global_checkpoints": a.checkpoints.iter().map(|(s, t)| json!({"store_id": s, "ts": t})).collect::<Vec<_>>(),
        "truncate_safepoint": a.truncate_safepoint,
        "min_restorable_ts": ts(a.window.min_ts),
        "max_restorable_ts": ts(a.window.max_ts),
        "metas": metas,
    })
}

/// Human rendering of [`to_json`]'s document.
pub fn render_human(out: &mut impl Write, d: &Value) -> std::io::Result<()> {
    writeln!(
        out,
        "Log backup archive  {}",
        d["storage"].as_str().unwrap_or_default()
    )?;
    writeln!(out, "  task start ts     {}", d["start_version"])?;
    writeln!(out, "  truncate safepoint {}", d["truncate_safepoint"])?;
    writeln!(
        out,
        "  restorable        {} ({}) .. {} ({})",
        d["min_restorable_ts"]["tso"],
        d["min_restorable_ts"]["time"].as_str().unwrap_or_default(),
        d["max_restorable_ts"]["tso"],
        d["max_restorable_ts"]["time"].as_str().unwrap_or_default()
    )?;
    for c in d["global_checkpoints"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        writeln!(
            out,
            "  checkpoint        store {} at {}",
            c["store_id"], c["ts"]
        )?;
    }
    writeln!(out)?;
    for m in d["metas"].as_array().map(Vec::as_slice).unwrap_or_default() {
        writeln!(
            out,
            "META {}  store {}  ts {}..{}  resolved {}  ({})",
            m["path"].as_str().unwrap_or_default(),
            m["store_id"],
            m["min_ts"],
            m["max_ts"],
            m["resolved_ts"],
            m["name_generation"].as_str().unwrap_or("unrecognized name")
        )?;
        for g in m["groups"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            writeln!(
                out,
                "  GROUP {}  {} bytes  ts {}..{}",
                g["path"].as_str().unwrap_or_default(),
                g["length"],
                g["min_ts"],
                g["max_ts"]
            )?;
            for f in g["sub_files"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                writeln!(out, "    @{:<10} {:>8} B  {:<7} {:<6} table {:<6} region {:<6} entries {:<6} ts {}..{}  crc64xor {:#x}",
                    f["range_offset"].to_string(), f["range_length"].to_string(), f["cf"].as_str().unwrap_or_default(), f["type"].as_str().unwrap_or_default(),
                    f["table_id"].to_string(), f["region_id"].to_string(), f["entries"].to_string(), f["min_ts"], f["max_ts"], f["crc64xor"].as_u64().unwrap_or_default())?;
            }
        }
    }
    Ok(())
}
