//! The metadata checks of a log archive (format/verify-log.md VERIFY-LOG-1, -2, -3, -4, -7):
//! the root, the global checkpoints and the truncate safepoint, every `.meta` decoded, and every
//! object a `.meta` lists checked against one listing of `v1/` (existence, size, ranges).
//! Reads metadata only; data objects are read by the parent module.

use super::log_window::Lost;
use crate::engine::verify::finding::Finding;
use crate::engine::verify::{unreadable, VerifyReport};
use crate::engine::Result;
use crate::format::backupmeta::{decode_backupmeta, BackupMeta};
use crate::format::crypto::Cipher;
use crate::format::logmeta::{
    decode_global_checkpoint, decode_log_meta, decode_truncate_safepoint, LogMeta, LogSubFile,
};
use crate::format::naming::log::{
    parse_global_checkpoint_path, parse_meta_path, MetaName, BACKUPMETA, GLOBAL_CHECKPOINT_DIR,
    META_DIR, TRUNCATE_SAFEPOINT, TRUNCATE_SAFEPOINT_DOC_SPELLING,
};
use crate::storage::{Storage, StorageErrorKind};
use futures::stream::{self, StreamExt};
use std::collections::BTreeMap;

const META_READ_CONCURRENCY: usize = 8;

/// One `.meta` as read.
pub(super) struct MetaDoc {
    pub path: String,
    pub name: Option<MetaName>,
    pub meta: Option<LogMeta>,
}

/// A data object and what the metas say about it.
#[derive(Default)]
pub(super) struct ObjectRefs {
    /// `(what, sub-file)`; `what` names the meta and the sub-file's place in it.
    pub subs: Vec<(String, LogSubFile)>,
    /// The group `length` when recorded (V2, non-zero).
    pub recorded_len: Option<u64>,
    pub metas: Vec<String>,
}

impl ObjectRefs {
    pub(super) fn ts(&self) -> (u64, u64) {
        let lo = self.subs.iter().map(|(_, f)| f.min_ts).min().unwrap_or(0);
        let hi = self
            .subs
            .iter()
            .map(|(_, f)| f.max_ts)
            .max()
            .unwrap_or(u64::MAX);
        (lo, hi)
    }
}

pub(super) async fn read_optional(
    storage: &dyn Storage,
    name: &str,
) -> Result<Option<bytes::Bytes>> {
    match storage.read(name).await {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind == StorageErrorKind::NotFound => Ok(None),
        Err(e) => Err(unreadable(e)),
    }
}

/// A log root may be written plaintext even when data is encrypted; try both.
fn decode_root(bytes: &[u8], cipher: &Cipher) -> crate::format::Result<BackupMeta> {
    decode_backupmeta(bytes, &Cipher::plaintext()).or_else(|e| {
        if cipher.is_encrypted() {
            decode_backupmeta(bytes, cipher)
        } else {
            Err(e)
        }
    })
}

/// VERIFY-LOG-1: the root exists, decodes and is a log root (LOG-1). Returns the task start.
pub(super) fn check_root(
    root: Option<&[u8]>,
    cipher: &Cipher,
    report: &mut VerifyReport,
) -> Option<u64> {
    let Some(bytes) = root else {
        report.push(
            Finding::error(
                "log-root-missing",
                "VERIFY-LOG-1",
                "no backupmeta at the root (br log start writes it when the task is registered); \
                 the task start ts is unknown",
            )
            .file(BACKUPMETA),
        );
        return None;
    };
    match decode_root(bytes, cipher) {
        Err(e) => {
            report.push(
                Finding::error("log-root-invalid", e.rule.unwrap_or("LOG-1"), e.to_string())
                    .file(BACKUPMETA),
            );
            None
        }
        Ok(m) => {
            if m.end_version != 0 {
                report.push(
                    Finding::error(
                        "log-root-invalid",
                        "LOG-1",
                        "the root of a log archive has end_version 0; BR refuses this one as a full backup's",
                    )
                    .file(BACKUPMETA)
                    .expected_actual(0, m.end_version),
                );
            }
            Some(m.start_version)
        }
    }
}

/// VERIFY-LOG-7: the global checkpoints (max over every `*.ts`, LOG-CKPT-2) and the safepoint.
pub(super) async fn read_window_docs(
    storage: &dyn Storage,
    listing: &BTreeMap<String, u64>,
    report: &mut VerifyReport,
) -> Result<(Option<u64>, Option<u64>)> {
    let mut checkpoint: Option<u64> = None;
    for name in listing
        .keys()
        .filter(|n| n.starts_with(GLOBAL_CHECKPOINT_DIR) && n.ends_with(".ts"))
    {
        if let Err(e) = parse_global_checkpoint_path(name) {
            report.push(
                Finding::warning("log-checkpoint-invalid", "LOG-NAME-9", e.to_string()).file(name),
            );
        }
        let Some(bytes) = read_optional(storage, name).await? else {
            continue;
        };
        match decode_global_checkpoint(&bytes) {
            Ok(ts) => checkpoint = Some(checkpoint.map_or(ts, |c| c.max(ts))),
            Err(e) => report.push(
                Finding::error("log-checkpoint-invalid", "LOG-CKPT-1", e.to_string()).file(name),
            ),
        }
    }
    if checkpoint.is_none() {
        report.push(
            Finding::error(
                "log-checkpoint-missing",
                "VERIFY-LOG-7",
                "no readable v1/global_checkpoint/*.ts: BR can restore to no point after the task start",
            )
            .file(GLOBAL_CHECKPOINT_DIR),
        );
    }
    let safepoint = match read_optional(storage, TRUNCATE_SAFEPOINT).await? {
        None => None,
        Some(b) => match decode_truncate_safepoint(&b) {
            Ok(ts) => Some(ts),
            Err(e) => {
                report.push(
                    Finding::error("log-safepoint-invalid", "LOG-TRUNC-1", e.to_string())
                        .file(TRUNCATE_SAFEPOINT),
                );
                None
            }
        },
    };
    if read_optional(storage, TRUNCATE_SAFEPOINT_DOC_SPELLING)
        .await?
        .is_some()
    {
        report.push(
            Finding::warning(
                "log-safepoint-misspelled",
                "LOG-NAME-10",
                format!(
                    "BR never reads this spelling; its truncate safepoint is {TRUNCATE_SAFEPOINT}"
                ),
            )
            .file(TRUNCATE_SAFEPOINT_DOC_SPELLING),
        );
    }
    Ok((checkpoint, safepoint))
}

/// VERIFY-LOG-2: reads and decodes every `.meta` (LOG-NAME-5), in name order.
pub(super) async fn read_metas(
    storage: &dyn Storage,
    listing: &BTreeMap<String, u64>,
    report: &mut VerifyReport,
    lost: &mut Vec<Lost>,
) -> Result<Vec<MetaDoc>> {
    let paths: Vec<&String> = listing
        .keys()
        .filter(|n| n.starts_with(META_DIR) && n.ends_with(".meta"))
        .collect();
    let read: Vec<(String, Option<bytes::Bytes>)> = stream::iter(paths)
        .map(|p| async move { read_optional(storage, p).await.map(|b| (p.clone(), b)) })
        .buffered(META_READ_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    let mut docs = Vec::with_capacity(read.len());
    for (path, bytes) in read {
        let Some(bytes) = bytes else { continue }; // deleted since the listing
        let name = match parse_meta_path(&path) {
            Ok(n) => Some(n),
            Err(e) => {
                report.push(
                    Finding::warning("log-meta-name", "LOG-NAME-5", e.to_string()).file(&path),
                );
                None
            }
        };
        let meta = match decode_log_meta(&bytes) {
            Ok(m) => Some(m),
            Err(e) => {
                // The flush's data is lost; the name may say which ts it held.
                let (from, to, known) = match &name {
                    Some(MetaName::Tagged { min_ts, max_ts, .. })
                    | Some(MetaName::LegacyHex { min_ts, max_ts, .. }) => (*min_ts, *max_ts, true),
                    _ => (0, u64::MAX, false),
                };
                report.push(
                    Finding::error(
                        "log-meta-undecodable",
                        e.rule.unwrap_or("LOG-META-1"),
                        format!(
                            "{e}; the data of this flush is lost ({})",
                            if known {
                                format!("events with ts [{from}, {to}] by its name")
                            } else {
                                "its name does not say which ts: every ts may be affected".into()
                            }
                        ),
                    )
                    .file(&path),
                );
                lost.push(Lost {
                    from,
                    to,
                    cause: path.clone(),
                });
                None
            }
        };
        docs.push(MetaDoc { path, name, meta });
    }
    Ok(docs)
}

/// VERIFY-LOG-4 (LOG-META-11): aggregate ts fields agree with what they aggregate.
pub(super) fn check_meta_ts(path: &str, m: &LogMeta, report: &mut VerifyReport) {
    let mut warn = |what: String| {
        report.push(Finding::warning("log-meta-ts", "LOG-META-11", what).file(path));
    };
    let parts: Vec<(u64, u64)> = if m.groups.is_empty() {
        m.files.iter().map(|f| (f.min_ts, f.max_ts)).collect()
    } else {
        m.groups.iter().map(|g| (g.min_ts, g.max_ts)).collect()
    };
    if let (Some(lo), Some(hi)) = (
        parts.iter().map(|p| p.0).min(),
        parts.iter().map(|p| p.1).max(),
    ) {
        // (0, 0): not recorded (early V1 writers), nothing to compare.
        if (m.min_ts, m.max_ts) != (0, 0) && (m.min_ts, m.max_ts) != (lo, hi) {
            warn(format!(
                "meta min_ts/max_ts [{}, {}] differ from its groups' [{lo}, {hi}]",
                m.min_ts, m.max_ts
            ));
        }
    }
    for g in &m.groups {
        let lo = g.files.iter().map(|f| f.min_ts).min();
        let hi = g.files.iter().map(|f| f.max_ts).max();
        let res = g.files.iter().map(|f| f.resolved_ts).min();
        if let (Some(lo), Some(hi), Some(res)) = (lo, hi, res) {
            if (g.min_ts, g.max_ts, g.min_resolved_ts) != (lo, hi, res) {
                warn(format!(
                    "group {}: min_ts/max_ts/min_resolved_ts ({}, {}, {}) differ from its sub-files' ({lo}, {hi}, {res})",
                    g.path, g.min_ts, g.max_ts, g.min_resolved_ts
                ));
            }
        }
    }
}

/// Collects every object the metas list, with the sub-files each holds.
pub(super) fn collect_objects(docs: &[MetaDoc]) -> BTreeMap<String, ObjectRefs> {
    let mut objects: BTreeMap<String, ObjectRefs> = BTreeMap::new();
    for d in docs {
        let Some(m) = &d.meta else { continue };
        for (gi, g) in m.groups.iter().enumerate() {
            let o = objects.entry(g.path.clone()).or_default();
            if g.length != 0 {
                o.recorded_len = Some(g.length);
            }
            o.metas.push(d.path.clone());
            for (i, f) in g.files.iter().enumerate() {
                o.subs
                    .push((format!("{} group {gi} sub-file {i}", d.path), f.clone()));
            }
        }
        for (i, f) in m.files.iter().enumerate() {
            let o = objects.entry(f.path.clone()).or_default();
            o.metas.push(d.path.clone());
            o.subs.push((format!("{} file {i}", d.path), f.clone()));
        }
    }
    objects
}

/// LOG-META-4: a V2 sub-file's range ends past the stored object (V1 files are whole objects).
pub(super) fn range_past_end(f: &LogSubFile, size: u64) -> bool {
    f.path.is_empty()
        && f.range_offset
            .checked_add(f.range_length)
            .is_none_or(|e| e > size)
}

/// VERIFY-LOG-3: every listed object exists with its recorded length and holds every range.
pub(super) fn check_objects_exist(
    objects: &BTreeMap<String, ObjectRefs>,
    listing: &BTreeMap<String, u64>,
    report: &mut VerifyReport,
    lost: &mut Vec<Lost>,
) {
    for (path, o) in objects {
        let (lo, hi) = o.ts();
        let listed_by = o.metas.join(", ");
        let Some(&size) = listing.get(path) else {
            report.push(
                Finding::error(
                    "log-object-missing",
                    "LOG-2",
                    format!(
                        "listed by {listed_by} but absent: its events with ts [{lo}, {hi}] are lost, \
                         so no restore that starts before {lo} can reach a point at or after it"
                    ),
                )
                .file(path),
            );
            lost.push(Lost {
                from: lo,
                to: hi,
                cause: path.clone(),
            });
            continue;
        };
        if let Some(len) = o.recorded_len.filter(|&l| l != size) {
            report.push(
                Finding::error(
                    "log-object-size",
                    "LOG-META-5",
                    format!("stored size differs from the group length recorded by {listed_by}"),
                )
                .file(path)
                .expected_actual(len, size),
            );
        }
        for (what, f) in &o.subs {
            if range_past_end(f, size) {
                report.push(
                    Finding::error(
                        "log-sub-file-range",
                        "LOG-META-4",
                        format!(
                            "{what}: range [{}, +{}) past the end of the object ({size} bytes); \
                             its events with ts [{}, {}] are lost",
                            f.range_offset, f.range_length, f.min_ts, f.max_ts
                        ),
                    )
                    .file(path),
                );
                lost.push(Lost {
                    from: f.min_ts,
                    to: f.max_ts,
                    cause: path.clone(),
                });
            }
        }
    }
}
