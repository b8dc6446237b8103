//! `log truncate --until TS`: BR's truncate rule (format/log.md LOG-TRUNC-3) as a plan
//! ([`plan_truncate`], pure), then executed in a crash-safe order (LOG-TRUNC-4): the
//! safepoint first (only when larger), the pending-deletion journal (LOG-TRUNC-5), the meta
//! rewrites and deletions, and only then the data objects, so no meta ever lists a deleted
//! object. Refuses an `until` past the global checkpoint (LOG-TRUNC-6).

use super::journal::{finish_journals, write_journal, JournalCleanup};
use super::{metas_of, referenced_objects};
use crate::archive::log::LogArchive;
use crate::codec::tso;
use crate::engine::{EngineError, Result};
use crate::format::logmeta::{encode_log_meta, encode_truncate_safepoint, LogMeta};
use crate::format::naming::log::TRUNCATE_SAFEPOINT;
use crate::format::naming::snapshot::Cf;
use crate::storage::Storage;
use bytes::Bytes;
use std::collections::BTreeSet;
use std::fmt;

/// One storage operation of a truncate, in execution order.
#[derive(Debug, Clone, PartialEq)]
pub enum TruncateStep {
    /// Write `v1_stream_trancate_safepoint.txt` = `ts` (LOG-TRUNC-1).
    WriteSafepoint { ts: u64 },
    /// Overwrite a meta with its remaining groups (LOG-META-11).
    RewriteMeta { path: String, meta: LogMeta },
    /// Delete a meta none of whose groups remains.
    DeleteMeta { path: String },
    /// Delete a data object no remaining group or V1 file lists.
    DeleteObject { path: String },
}

/// The plan of a truncate; `Display` renders it for `--dry-run`.
#[derive(Debug, Clone, PartialEq)]
pub struct TruncatePlan {
    pub until: u64,
    /// LOG-TRUNC-3 (1): groups with `max_ts` below this go.
    pub shift_until_ts: u64,
    pub current_safepoint: Option<u64>,
    pub global_checkpoint: u64,
    pub groups_removed: usize,
    pub bytes_removed: u64,
    pub steps: Vec<TruncateStep>,
}

impl TruncatePlan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// What a truncate did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TruncateSummary {
    pub safepoint_written: bool,
    pub metas_rewritten: usize,
    pub metas_deleted: usize,
    pub objects_deleted: usize,
    pub journals: JournalCleanup,
}

/// LOG-TRUNC-3 (1): `min(until, min begin ts of write-CF sub-files overlapping [until, ∞))`,
/// as BR's `UpdateShiftTSFromMetadata` (sub-files of metas with `max_ts ≥ until`, not
/// default-CF, non-zero `min_begin_ts_in_default_cf`, `max_ts ≥ until`).
pub fn shift_until_ts(metas: &[(String, LogMeta)], until: u64) -> u64 {
    metas
        .iter()
        .filter(|(_, m)| m.max_ts >= until)
        .flat_map(|(_, m)| m.sub_files().map(|(_, f)| f))
        .filter(|f| f.cf != Cf::Default && f.min_begin_ts_in_default_cf != 0 && f.max_ts >= until)
        .map(|f| f.min_begin_ts_in_default_cf)
        .fold(until, u64::min)
}

/// Plans `br log truncate --until=until` (LOG-TRUNC-3) over the archive's metas. Refuses
/// `until` past `global_checkpoint` (data after it is not fully flushed yet).
pub fn plan_truncate(
    metas: &[(String, LogMeta)],
    current_safepoint: Option<u64>,
    global_checkpoint: u64,
    until: u64,
) -> Result<TruncatePlan> {
    if until > global_checkpoint {
        return Err(EngineError::BadOption {
            flag: "--until",
            detail: format!(
                "{until} ({}) is after the global checkpoint {global_checkpoint} ({}); truncating there would leave no restorable point (LOG-TRUNC-2)",
                tso::display_utc(until),
                tso::display_utc(global_checkpoint)
            ),
        });
    }
    let shift = shift_until_ts(metas, until);
    let mut steps = Vec::new();
    // LOG-TRUNC-3 (2): the safepoint only moves forward, and before anything is deleted.
    if until > current_safepoint.unwrap_or(0) {
        steps.push(TruncateStep::WriteSafepoint { ts: until });
    }
    let (mut groups_removed, mut bytes_removed) = (0, 0u64);
    let mut removed_objects = BTreeSet::new();
    let mut remaining: Vec<&LogMeta> = Vec::new();
    let mut rewritten = Vec::new();
    for (path, m) in metas {
        // LOG-TRUNC-3 (3): only metas with min_ts < shift_until_ts change.
        if m.min_ts >= shift {
            remaining.push(m);
            continue;
        }
        let mut nm = m.clone();
        nm.groups.retain(|g| {
            let keep = g.max_ts >= shift;
            if !keep {
                groups_removed += 1;
                bytes_removed += g.length;
                removed_objects.insert(g.path.clone());
            }
            keep
        });
        // BR reads V1 `files` as one-file groups (ParseToMetadataHard) and drops them alike.
        nm.files.retain(|f| {
            let keep = f.max_ts >= shift;
            if !keep {
                groups_removed += 1;
                bytes_removed += f.range_length;
                removed_objects.insert(f.path.clone());
            }
            keep
        });
        if nm.groups.len() == m.groups.len() && nm.files.len() == m.files.len() {
            remaining.push(m);
            continue;
        }
        if nm.groups.is_empty() && nm.files.is_empty() {
            rewritten.push(TruncateStep::DeleteMeta { path: path.clone() });
            continue;
        }
        recompute(&mut nm);
        rewritten.push(TruncateStep::RewriteMeta {
            path: path.clone(),
            meta: nm,
        });
    }
    let still: Vec<&LogMeta> = rewritten
        .iter()
        .filter_map(|s| match s {
            TruncateStep::RewriteMeta { meta, .. } => Some(meta),
            _ => None,
        })
        .chain(remaining)
        .collect();
    let kept = referenced_objects(still);
    steps.extend(rewritten);
    steps.extend(
        removed_objects
            .into_iter()
            .filter(|p| !kept.contains(p))
            .map(|path| TruncateStep::DeleteObject { path }),
    );
    Ok(TruncatePlan {
        until,
        shift_until_ts: shift,
        current_safepoint,
        global_checkpoint,
        groups_removed,
        bytes_removed,
        steps,
    })
}

/// LOG-META-11 / BR `updateMetadataInternalStat`: ts fields from the remaining groups (V1:
/// files, whose `resolved_ts` stands for the group's `min_resolved_ts`).
fn recompute(m: &mut LogMeta) {
    let spans = m
        .groups
        .iter()
        .map(|g| (g.min_ts, g.max_ts, g.min_resolved_ts))
        .chain(m.files.iter().map(|f| (f.min_ts, f.max_ts, f.resolved_ts)));
    let (mut lo, mut hi, mut res) = (u64::MAX, 0, u64::MAX);
    for (a, b, r) in spans {
        lo = lo.min(a);
        hi = hi.max(b);
        res = res.min(r);
    }
    if lo != u64::MAX {
        m.min_ts = lo;
        m.max_ts = hi;
        m.resolved_ts = res;
    }
}

/// Opens the archive and plans a truncate to `until`.
pub async fn plan_log_truncate(storage: &dyn Storage, until: u64) -> Result<TruncatePlan> {
    let a = LogArchive::open(storage).await?;
    let ckpt = a.checkpoints.iter().map(|c| c.1).max().unwrap_or(0);
    plan_truncate(&metas_of(&a), a.truncate_safepoint, ckpt, until)
}

/// Executes `plan` in its order (LOG-TRUNC-4), with the journal (LOG-TRUNC-5) written after
/// the safepoint and before the first meta change, removed after the last deletion; then
/// finishes journals of earlier interrupted runs. A failure stops at once; planning again
/// from the archive's state completes the truncate.
pub async fn execute_truncate_plan(
    storage: &dyn Storage,
    plan: &TruncatePlan,
) -> Result<TruncateSummary> {
    let mut s = TruncateSummary::default();
    let deletes: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|st| match st {
            TruncateStep::DeleteObject { path } => Some(path.clone()),
            _ => None,
        })
        .collect();
    let mut journal: Option<Option<String>> = None;
    for step in &plan.steps {
        if !matches!(step, TruncateStep::WriteSafepoint { .. }) && journal.is_none() {
            journal = Some(write_journal(storage, "truncate", &deletes).await?);
        }
        match step {
            TruncateStep::WriteSafepoint { ts } => {
                storage
                    .write(
                        TRUNCATE_SAFEPOINT,
                        Bytes::from(encode_truncate_safepoint(*ts)),
                    )
                    .await?;
                s.safepoint_written = true;
            }
            TruncateStep::RewriteMeta { path, meta } => {
                storage
                    .write(path, Bytes::from(encode_log_meta(meta)))
                    .await?;
                s.metas_rewritten += 1;
            }
            TruncateStep::DeleteMeta { path } => {
                storage.delete(path).await?;
                s.metas_deleted += 1;
            }
            TruncateStep::DeleteObject { path } => {
                storage.delete(path).await?;
                s.objects_deleted += 1;
            }
        }
    }
    if let Some(Some(j)) = journal {
        storage.delete(&j).await?;
    }
    s.journals = finish_journals(storage).await?;
    Ok(s)
}

impl fmt::Display for TruncatePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "truncate plan: until {} ({}), shift-until ts {} ({}), global checkpoint {}",
            self.until,
            tso::display_utc(self.until),
            self.shift_until_ts,
            tso::display_utc(self.shift_until_ts),
            self.global_checkpoint
        )?;
        writeln!(
            f,
            "  removes {} group(s), {} bytes; {} step(s)",
            self.groups_removed,
            self.bytes_removed,
            self.steps.len()
        )?;
        for (i, s) in self.steps.iter().enumerate() {
            match s {
                TruncateStep::WriteSafepoint { ts } => {
                    writeln!(f, "step {}: write {TRUNCATE_SAFEPOINT} = {ts}", i + 1)?
                }
                TruncateStep::RewriteMeta { path, meta } => writeln!(
                    f,
                    "step {}: rewrite meta {path} ({} group(s) remain)",
                    i + 1,
                    meta.groups.len() + meta.files.len()
                )?,
                TruncateStep::DeleteMeta { path } => {
                    writeln!(f, "step {}: delete meta {path}", i + 1)?
                }
                TruncateStep::DeleteObject { path } => {
                    writeln!(f, "step {}: delete object {path}", i + 1)?
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for TruncateSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "truncate: safepoint {}, rewrote {} meta(s), deleted {} meta(s) and {} object(s)",
            if self.safepoint_written {
                "written"
            } else {
                "unchanged"
            },
            self.metas_rewritten,
            self.metas_deleted,
            self.objects_deleted
        )
    }
}

#[cfg(test)]
#[path = "truncate_tests.rs"]
mod tests;
