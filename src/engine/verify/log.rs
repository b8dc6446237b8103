//! Verifying a log backup archive (format/verify-log.md VERIFY-LOG-*): the root, the global
//! checkpoints and the truncate safepoint, every `.meta`, every data object a meta lists
//! (existence and size from one listing; at `file`/`kv` level each object read once and every
//! sub-file checked by [`log_data`]), and the ts coverage ([`log_window`]) that
//! gives the restorable windows and the gaps. Owns the orchestration only: decoders live in
//! `format::logmeta`/`format::logfile`, names in `format::naming::log`.

use super::finding::{Finding, LogResult, TsWindow};
use super::{unreadable, Level, VerifyOptions, VerifyProgress, VerifyReport};
use crate::engine::{EngineError, Result};
use crate::format::backupmeta::{decode_backupmeta, BackupMeta};
use crate::format::crypto::Cipher;
use crate::format::logmeta::{
    decode_global_checkpoint, decode_log_meta, decode_truncate_safepoint, LogMeta, LogSubFile,
};
use crate::format::merge::SubFileId;
use crate::format::naming::log::{
    parse_global_checkpoint_path, parse_meta_path, MetaName, BACKUPMETA, GLOBAL_CHECKPOINT_DIR,
    META_DIR, META_FLAG_EMPTY, TRUNCATE_SAFEPOINT, TRUNCATE_SAFEPOINT_DOC_SPELLING,
};
use crate::storage::{Storage, StorageErrorKind};
use futures::stream::{self, StreamExt};
use log_data::{check_sub_file, CannotCheck, SubFileOutcome};
use log_window::{coverage, Lost};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

#[path = "log_data.rs"]
mod log_data;
#[path = "log_window.rs"]
mod log_window;

/// Every log object lives under this prefix (format/log.md "Layout").
const DATA_ROOT: &str = "v1/";
const META_READ_CONCURRENCY: usize = 8;

/// One `.meta` as read.
struct MetaDoc {
    path: String,
    name: Option<MetaName>,
    meta: Option<LogMeta>,
}

/// A data object and what the metas say about it.
#[derive(Default)]
struct ObjectRefs {
    /// `(what, sub-file)`; `what` names the meta and the sub-file's place in it.
    subs: Vec<(String, LogSubFile)>,
    /// The group `length` when recorded (V2, non-zero).
    recorded_len: Option<u64>,
    metas: Vec<String>,
}

impl ObjectRefs {
    fn ts(&self) -> (u64, u64) {
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

async fn read_optional(storage: &dyn Storage, name: &str) -> Result<Option<bytes::Bytes>> {
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
fn check_root(root: Option<&[u8]>, cipher: &Cipher, report: &mut VerifyReport) -> Option<u64> {
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
async fn read_window_docs(
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
async fn read_metas(
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
fn check_meta_ts(path: &str, m: &LogMeta, report: &mut VerifyReport) {
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
        if (m.min_ts, m.max_ts) != (lo, hi) {
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
fn collect_objects(docs: &[MetaDoc]) -> BTreeMap<String, ObjectRefs> {
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

/// VERIFY-LOG-3: every listed object exists with its recorded length and holds every range.
fn check_objects_exist(
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
            let end = f.range_offset.checked_add(f.range_length);
            if f.path.is_empty() && end.is_none_or(|e| e > size) {
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

/// VERIFY-LOG-5/6: reads every object of the subset once and checks its sub-files.
async fn check_data(
    storage: &dyn Storage,
    objects: &BTreeMap<String, ObjectRefs>,
    listing: &BTreeMap<String, u64>,
    opts: &VerifyOptions,
    progress: &dyn VerifyProgress,
    report: &mut VerifyReport,
    lost: &mut Vec<Lost>,
) -> Result<()> {
    let todo: Vec<(&String, &ObjectRefs, u64)> = objects
        .iter()
        .filter_map(|(p, o)| listing.get(p).map(|&s| (p, o, s)))
        .filter(|(p, _, _)| opts.subset.contains(p))
        .collect();
    progress.start(todo.len() as u64, todo.iter().map(|t| t.2).sum());
    let kv = opts.level >= Level::Kv;
    let cipher = Arc::new(opts.cipher.clone());
    let results = stream::iter(todo)
        .map(|(path, o, _)| {
            // LOG-MERGE-5: a sub-file listed twice at the same place is checked once.
            let mut seen = HashSet::new();
            let subs: Vec<(String, LogSubFile)> = o
                .subs
                .iter()
                .filter(|(_, f)| seen.insert((f.range_offset, f.range_length, f.sha256)))
                .cloned()
                .collect();
            let (path, cipher) = (path.clone(), cipher.clone());
            async move {
                let bytes = match storage.read(&path).await {
                    Ok(b) => b,
                    Err(e) if e.kind == StorageErrorKind::NotFound => return Ok((path, None)),
                    Err(e) => return Err(unreadable(e)),
                };
                let len = bytes.len() as u64;
                let p = path.clone();
                let checked = tokio::task::spawn_blocking(move || {
                    subs.into_iter()
                        .map(|(what, f)| {
                            check_sub_file(&p, &bytes, &f, &cipher, kv, &what).map(|o| (f, o))
                        })
                        .collect::<Vec<_>>()
                })
                .await
                .map_err(|e| EngineError::Io(std::io::Error::other(e)))?;
                progress.file_done(len);
                Ok((path, Some((len, checked))))
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect::<Vec<Result<_>>>()
        .await;
    progress.finish();
    let (mut suspects, mut proven) = (0usize, 0usize);
    let mut outcomes: Vec<(String, LogSubFile, SubFileOutcome)> = Vec::new();
    for r in results {
        let (path, read) = r?;
        let Some((len, checked)) = read else {
            report.push(
                Finding::error("log-object-missing", "LOG-2", "deleted while verifying")
                    .file(&path),
            );
            continue;
        };
        report.files_read += 1;
        report.bytes_read += len;
        for c in checked {
            let (f, o) = c.map_err(cannot_check)?;
            suspects += usize::from(o.key_suspect);
            proven += usize::from(o.decrypted_ok);
            outcomes.push((path.clone(), f, o));
        }
    }
    // VERIFY-LOG-5: intact ciphertext that never decrypts to a valid stream is a wrong key.
    if suspects > 0 && proven == 0 {
        return Err(EngineError::BadOption {
            flag: "--crypter.key",
            detail: format!(
                "{suspects} encrypted sub-file(s) have intact ciphertext (their recorded checksum \
                 matches) but do not decrypt to a valid stream, and none does: wrong key?"
            ),
        });
    }
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, f, o) in outcomes {
        if !o.findings.is_empty() {
            lost.push(Lost {
                from: f.min_ts,
                to: f.max_ts,
                cause: path,
            });
        }
        report.findings.extend(o.findings);
    }
    Ok(())
}

fn cannot_check(e: CannotCheck) -> EngineError {
    let detail = match e {
        CannotCheck::NoKey(m) => {
            format!("the archive's sub-files are encrypted ({m:?}); give --crypter.method and --crypter.key")
        }
        CannotCheck::OtherMethod { file, given } => {
            format!("the sub-files are encrypted with {file:?}, the key given is for {given:?}")
        }
    };
    EngineError::BadOption {
        flag: "--crypter.key",
        detail,
    }
}

/// VERIFY-LOG-9: how far a flush reaches: its `resolved_ts`, or the flush ts its name records
/// (LOG-NAME-3/4; a merge keeps the largest one, LOG-MERGE-8, while it lowers `resolved_ts`).
fn flushed_ts(d: &MetaDoc) -> Option<u64> {
    let by_name = match d.name {
        Some(MetaName::Tagged { flush_ts, .. }) | Some(MetaName::LegacyHex { flush_ts, .. }) => {
            Some(flush_ts)
        }
        _ => None,
    };
    let by_meta = d.meta.as_ref().map(|m| m.resolved_ts);
    by_name.max(by_meta)
}

/// VERIFY-LOG-10: the backup ts of the snapshot given with `--full-backup-storage`.
async fn snapshot_ts(full: &dyn Storage, cipher: &Cipher) -> Result<u64> {
    let bad = |detail: String| EngineError::BadOption {
        flag: "--full-backup-storage",
        detail,
    };
    let bytes = read_optional(full, BACKUPMETA)
        .await?
        .ok_or_else(|| bad(format!("{}: no backupmeta", full.display_url())))?;
    let m = decode_backupmeta(&bytes, cipher)
        .or_else(|e| match cipher.is_encrypted() {
            true => decode_backupmeta(&bytes, &Cipher::plaintext()),
            false => Err(e),
        })
        .map_err(|e| bad(format!("{}: {e}", full.display_url())))?;
    if m.end_version == 0 {
        return Err(bad(format!(
            "{}: not a snapshot (end_version 0)",
            full.display_url()
        )));
    }
    Ok(m.end_version)
}

/// Checks every `.meta`, group object and sub-file, and the ts coverage of the archive;
/// `root` is the `backupmeta` bytes when the archive has one.
pub async fn verify_log(
    storage: &dyn Storage,
    root: Option<&[u8]>,
    opts: &VerifyOptions,
    progress: &dyn VerifyProgress,
    report: &mut VerifyReport,
) -> Result<()> {
    let start = check_root(root, &opts.cipher, report);
    let listing: BTreeMap<String, u64> = storage
        .list(DATA_ROOT)
        .await
        .map_err(unreadable)?
        .into_iter()
        .map(|o| (o.name, o.size))
        .collect();
    let (checkpoint, safepoint) = read_window_docs(storage, &listing, report).await?;
    let mut lost = Vec::new();
    let docs = read_metas(storage, &listing, report, &mut lost).await?;
    for d in &docs {
        if let Some(m) = &d.meta {
            check_meta_ts(&d.path, m, report);
        }
    }
    let objects = collect_objects(&docs);
    check_objects_exist(&objects, &listing, report, &mut lost);
    if opts.level >= Level::File {
        check_data(
            storage, &objects, &listing, opts, progress, report, &mut lost,
        )
        .await?;
    }
    // VERIFY-LOG-11 (LOG-MERGE-7): data objects no meta lists.
    for name in listing.keys().filter(|n| n.ends_with(".log")) {
        if !objects.contains_key(name) {
            report.push(
                Finding::warning(
                    "log-object-unreferenced",
                    "LOG-MERGE-7",
                    "no .meta lists this object (a flush or merge that crashed before its meta); readers ignore it",
                )
                .file(name),
            );
        }
    }

    // The window (LOG-TRUNC-2) and where a restore starts (VERIFY-LOG-10).
    let base = start.unwrap_or(0).max(safepoint.unwrap_or(0));
    let upper = checkpoint.unwrap_or(base).max(base);
    let mut lower = base;
    let mut usable = true;
    if let Some(full) = &opts.full_backup {
        let s = snapshot_ts(full.as_ref(), &opts.cipher).await?;
        lower = s;
        let outside = |why: String| {
            Finding::error("log-snapshot-outside-window", "VERIFY-LOG-10", why)
                .file(full.display_url())
                .expected_actual(format!("[{base}, {upper}]"), s)
        };
        if let Some(sp) = safepoint.filter(|&sp| s < sp) {
            report.push(
                Finding::error(
                    "log-snapshot-truncated",
                    "LOG-TRUNC-2",
                    format!("the snapshot's backup ts is below the truncate safepoint: events in ({s}, {sp}] were deleted by br log truncate"),
                )
                .file(TRUNCATE_SAFEPOINT)
                .expected_actual(format!(">= {sp}"), s),
            );
            usable = false;
        } else if s < base {
            report.push(outside(format!(
                "the snapshot was taken before the log task started at {base}: events in ({s}, {base}] are in neither"
            )));
            usable = false;
        } else if s > upper {
            report.push(outside(format!(
                "the snapshot is newer than the global checkpoint {upper}: the log cannot take it anywhere"
            )));
            usable = false;
        }
    }
    // VERIFY-LOG-9: flushes must reach the checkpoint.
    let newest = docs
        .iter()
        .filter_map(|d| flushed_ts(d).map(|t| (t, d)))
        .max_by_key(|(t, _)| *t);
    if let (Some((flushed, d)), Some(ckpt)) = (newest, checkpoint) {
        if flushed < ckpt {
            // A writer that records idle flushes leaves one `.meta` per flush (LOG-NAME-4 bit 1).
            let records_empty = docs.iter().any(|d| {
                matches!(d.name, Some(MetaName::Tagged { flags: Some(f), .. }) if f & META_FLAG_EMPTY != 0)
            });
            if records_empty {
                lost.push(Lost {
                    from: flushed + 1,
                    to: ckpt,
                    cause: META_DIR.to_string(),
                });
            } else {
                report.push(
                    Finding::warning(
                        "log-flush-behind-checkpoint",
                        "VERIFY-LOG-9",
                        format!(
                            "no flush is recorded after ts {flushed} (newest .meta {}); fine if the \
                             cluster wrote nothing until the checkpoint, else .meta objects are missing",
                            d.path
                        ),
                    )
                    .file(GLOBAL_CHECKPOINT_DIR)
                    .expected_actual(format!("flushes up to {ckpt}"), flushed),
                );
            }
        }
    }
    let (windows, gaps) = if usable {
        coverage(lower, upper, &lost)
    } else {
        (Vec::new(), Vec::new())
    };
    for g in &gaps {
        let TsWindow { from, to } = g.range;
        report.push(
            Finding::error(
                "log-ts-gap",
                "VERIFY-LOG-8",
                format!(
                    "events with ts in [{from}, {to}] are missing (from: {}); a restore starting before {from} \
                     cannot reach {from} or later",
                    g.causes.join(", ")
                ),
            )
            .file(g.causes[0].clone())
            .expected_actual(format!("every ts in ({lower}, {upper}] covered"), format!("[{from}, {to}] not covered")),
        );
    }

    let mut ids = HashSet::new();
    let mut sub_files = 0usize;
    for (_, f) in objects.values().flat_map(|o| o.subs.iter()) {
        match SubFileId::of(f) {
            Some(id) => sub_files += usize::from(ids.insert(id)),
            None => sub_files += 1,
        }
    }
    report.log = Some(LogResult {
        start_ts: lower,
        checkpoint_ts: upper,
        truncate_safepoint: safepoint,
        windows,
        gaps: gaps.into_iter().map(|g| g.range).collect(),
        metas: docs.len(),
        groups: objects.len(),
        sub_files,
        bytes: objects.keys().filter_map(|p| listing.get(p)).sum(),
    });
    Ok(())
}
