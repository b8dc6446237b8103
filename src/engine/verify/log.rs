//! Verifying a log backup archive (format/verify-log.md VERIFY-LOG-*): the metadata checks
//! ([`log_meta`]: root, checkpoints, safepoint, every `.meta`, every listed object's existence
//! and size), at `file`/`kv` level each data object read once with every sub-file checked by
//! [`log_data`], and the ts coverage ([`log_window`]) that gives the restorable windows and
//! the gaps. Owns the orchestration only: decoders live in
//! `format::logmeta`/`format::logfile`, names in `format::naming::log`.

use super::finding::{Finding, LogResult, TsWindow};
use super::{unreadable, Level, VerifyOptions, VerifyProgress, VerifyReport};
use crate::engine::{EngineError, Result};
use crate::format::backupmeta::decode_backupmeta;
use crate::format::crypto::Cipher;
use crate::format::logmeta::LogSubFile;
use crate::format::merge::SubFileId;
use crate::format::naming::log::{
    MetaName, BACKUPMETA, GLOBAL_CHECKPOINT_DIR, META_DIR, META_FLAG_EMPTY, TRUNCATE_SAFEPOINT,
};
use crate::storage::{Storage, StorageErrorKind};
use futures::stream::{self, StreamExt};
use log_data::{check_sub_file, CannotCheck, SubFileOutcome};
use log_meta::{
    check_meta_ts, check_objects_exist, check_root, collect_objects, range_past_end, read_metas,
    read_optional, read_window_docs, MetaDoc, ObjectRefs,
};
use log_window::{coverage, Lost};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

#[path = "log_data.rs"]
mod log_data;
#[path = "log_meta.rs"]
mod log_meta;
#[path = "log_window.rs"]
mod log_window;

use crate::format::naming::log::LOG_DIR as DATA_ROOT;

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
    let cipher = Arc::new(opts.log_data_cipher().clone());
    let results = stream::iter(todo)
        .map(|(path, o, size)| {
            // LOG-MERGE-5: a sub-file listed twice at the same place is checked once; a range
            // past the end was reported by VERIFY-LOG-3 already.
            let mut seen = HashSet::new();
            let subs: Vec<(String, LogSubFile)> = o
                .subs
                .iter()
                .filter(|(_, f)| !range_past_end(f, size))
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
            let (f, o) = c.map_err(|e| cannot_check(e, opts))?;
            suspects += usize::from(o.key_suspect);
            proven += usize::from(o.decrypted_ok);
            outcomes.push((path.clone(), f, o));
        }
    }
    // VERIFY-LOG-5: intact ciphertext that never decrypts to a valid stream is a wrong key.
    if suspects > 0 && proven == 0 {
        return Err(EngineError::BadOption {
            flag: LOG_KEY_FLAG,
            detail: format!(
                "{suspects} encrypted sub-file(s) have intact ciphertext (their recorded checksum \
                 matches) but do not decrypt to a valid stream, and none does: wrong key?{}",
                compat_note(opts)
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

/// The flag a log archive's data key is given with (LOG-CRYPT-5); `--crypter.*` is still
/// accepted for it when `--log.crypter.*` is absent.
pub(crate) const LOG_KEY_FLAG: &str = "--log.crypter.key";

/// When the log data was tried with the snapshot's `--crypter.*` key (no `--log.crypter.*`).
fn compat_note(opts: &VerifyOptions) -> &'static str {
    if opts.log_cipher.is_none() && opts.cipher.is_encrypted() {
        " (no --log.crypter.* was given, so the --crypter.* key was tried on the log data)"
    } else {
        ""
    }
}

fn cannot_check(e: CannotCheck, opts: &VerifyOptions) -> EngineError {
    let detail = match e {
        CannotCheck::NoKey(m) => format!(
            "the log backup's data sub-files are encrypted ({}); give --log.crypter.method {} and --log.crypter.key or --log.crypter.key-file",
            m.flag_name(),
            m.flag_name()
        ),
        CannotCheck::OtherMethod { file, given } => format!(
            "the data sub-files are encrypted with {}, the key given is for {}{}",
            file.flag_name(),
            given.flag_name(),
            compat_note(opts)
        ),
        CannotCheck::MasterKey => "the data sub-files' key is wrapped by a master key (BR --master-key, LOG-CRYPT-6); brkit can check only sub-files encrypted with a plain data key".to_string(),
    };
    EngineError::BadOption {
        flag: LOG_KEY_FLAG,
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
    let start = check_root(root, opts.log_data_cipher(), report);
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
