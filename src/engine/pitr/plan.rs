//! PITR planning, pure: the restored ts (default the global checkpoint) checked against the
//! log's restorable window (LOG-TRUNC-2) and the snapshot's backup ts, and which log sub-files
//! the replay reads: data sub-files of the restored tables whose ts range meets the replay
//! window, and the meta-KV sub-files the schema replay needs (LOG-FILE-7, LOG-FILE-8).
//!
//! Replay windows (both ends inclusive, as kvproto's `KVMeta.start_ts`/`restore_ts`):
//! write CF events by commit ts in `[snapshot_ts + 1, restored_ts]`; default CF events by
//! start ts in `[shift_ts, restored_ts]`, where `shift_ts` is the smallest
//! `min_begin_ts_in_default_cf` of the write sub-files replayed (a transaction committing
//! after the snapshot may have started before it), capped at `snapshot_ts + 1`.

use crate::codec::tso::display_utc;
use crate::engine::error::{EngineError, Result};
use crate::format::logmeta::{EventKind, LogSubFile, RestorableWindow};
use crate::format::naming::snapshot::Cf;
use std::collections::BTreeSet;

fn ts_text(ts: u64) -> String {
    format!("{ts} ({})", display_utc(ts))
}

fn window_text(w: &RestorableWindow) -> String {
    format!("[{}, {}]", ts_text(w.min_ts), ts_text(w.max_ts))
}

/// The restored ts: `wanted` or the window's upper end (the global checkpoint), refused when
/// outside the restorable window (LOG-TRUNC-2) or before the snapshot. The snapshot must not
/// predate the log (its backup ts ≥ the window's lower end), else the log misses changes
/// between the two.
pub fn restored_ts(
    window: &RestorableWindow,
    snapshot_ts: u64,
    wanted: Option<u64>,
) -> Result<u64> {
    if snapshot_ts < window.min_ts {
        return Err(EngineError::BadOption {
            flag: "--full-backup-storage",
            detail: format!(
                "the snapshot's backup ts {} is before the log backup's restorable window {}: \
                 the log lacks the changes in between; use a snapshot taken after the log task \
                 started (or after its truncate safepoint)",
                ts_text(snapshot_ts),
                window_text(window)
            ),
        });
    }
    let ts = wanted.unwrap_or(window.max_ts);
    if ts < window.min_ts || ts > window.max_ts {
        return Err(EngineError::BadOption {
            flag: "--restored-ts",
            detail: format!(
                "{} is outside the log backup's restorable window {} (LOG-TRUNC-2)",
                ts_text(ts),
                window_text(window)
            ),
        });
    }
    if ts < snapshot_ts {
        let why = if wanted.is_some() {
            "pick a ts at or after the snapshot, or an older snapshot"
        } else {
            "the log's global checkpoint has not passed the snapshot yet; wait for it"
        };
        return Err(EngineError::BadOption {
            flag: "--restored-ts",
            detail: format!(
                "{} is before the snapshot's backup ts {}; {why}",
                ts_text(ts),
                ts_text(snapshot_ts)
            ),
        });
    }
    Ok(ts)
}

/// One sub-file to replay, with the ts window of its events.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayFile {
    /// The data object holding it.
    pub path: String,
    pub file: LogSubFile,
    pub start_ts: u64,
    pub restore_ts: u64,
}

/// The data sub-files to replay, ordered for application: default-CF Puts, write-CF Puts,
/// then Deletes (BR applies delete files after every put file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayPlan {
    pub puts: Vec<ReplayFile>,
    pub deletes: Vec<ReplayFile>,
    pub shift_ts: u64,
}

impl ReplayPlan {
    pub fn files(&self) -> impl Iterator<Item = &ReplayFile> {
        self.puts.iter().chain(&self.deletes)
    }
}

fn meets(f: &LogSubFile, lo: u64, hi: u64) -> bool {
    f.max_ts >= lo && f.min_ts <= hi
}

/// Data sub-files of the physical tables `physical_ids` (old ids) meeting the replay windows.
/// `files` is what `merge::dedup_sub_files` returns (each sub-file once, LOG-MERGE-5).
pub fn plan_replay(
    files: &[(String, LogSubFile)],
    physical_ids: &BTreeSet<i64>,
    snapshot_ts: u64,
    restored_ts: u64,
) -> ReplayPlan {
    let write_lo = snapshot_ts.saturating_add(1);
    let data = files
        .iter()
        .filter(|(_, f)| !f.is_meta && physical_ids.contains(&f.table_id));
    let writes: Vec<&(String, LogSubFile)> = data
        .clone()
        .filter(|(_, f)| f.cf == Cf::Write && meets(f, write_lo, restored_ts))
        .collect();
    let shift_ts = writes
        .iter()
        .filter(|(_, f)| f.kind == EventKind::Put)
        .map(|(_, f)| f.min_begin_ts_in_default_cf)
        .filter(|&t| t != 0)
        .fold(write_lo, u64::min);
    let defaults = data.filter(|(_, f)| f.cf == Cf::Default && meets(f, shift_ts, restored_ts));
    let mk = |(p, f): &(String, LogSubFile), start_ts| ReplayFile {
        path: p.clone(),
        file: f.clone(),
        start_ts,
        restore_ts: restored_ts,
    };
    let mut plan = ReplayPlan {
        shift_ts,
        ..Default::default()
    };
    for d in defaults {
        let r = mk(d, shift_ts);
        match d.1.kind {
            EventKind::Put => plan.puts.push(r),
            EventKind::Delete => plan.deletes.push(r),
        }
    }
    for w in writes {
        let r = mk(w, write_lo);
        match w.1.kind {
            EventKind::Put => plan.puts.push(r),
            EventKind::Delete => plan.deletes.push(r),
        }
    }
    plan
}

/// The meta-KV sub-files (schema changes, LOG-NAME-7) the schema replay reads: write-CF Puts
/// meeting `(snapshot_ts, restored_ts]` and default-CF Puts starting at or before
/// `restored_ts` (a schema value may have started before the snapshot).
pub fn meta_files(
    files: &[(String, LogSubFile)],
    snapshot_ts: u64,
    restored_ts: u64,
) -> Vec<(String, LogSubFile)> {
    files
        .iter()
        .filter(|(_, f)| f.is_meta && f.kind == EventKind::Put)
        .filter(|(_, f)| match f.cf {
            Cf::Write => meets(f, snapshot_ts.saturating_add(1), restored_ts),
            _ => f.min_ts <= restored_ts,
        })
        .cloned()
        .collect()
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
