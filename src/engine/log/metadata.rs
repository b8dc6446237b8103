//! `log metadata`: what a log archive offers, from storage alone (format/log.md): the
//! restorable window (LOG-TRUNC-2, LOG-CKPT-2), gaps (spans inside the window in which no data
//! object holds any change), sizes (metas, groups, sub-files, bytes, per store), objects metas
//! list but storage lacks, objects no meta lists (LOG-MERGE-7) and unfinished pending-deletion
//! journals (LOG-MERGE-12). The JSON document's window keys are `min_restorable_ts` and
//! `max_restorable_ts` (TSO integers). Read-only.

use super::journal::list_journals;
use crate::archive::log::LogArchive;
use crate::codec::tso;
use crate::engine::Result;
use crate::format::merge::DEFAULT_TARGET_SIZE;
use crate::format::naming::log::{parse_log_data_path, LOG_DIR, META_DIR};
use crate::storage::Storage;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

/// Options of [`log_metadata`].
#[derive(Debug, Clone, Copy)]
pub struct MetadataOptions {
    /// Report gaps of at least this many milliseconds of TSO physical time.
    pub min_gap_ms: u64,
}

impl Default for MetadataOptions {
    fn default() -> Self {
        MetadataOptions { min_gap_ms: 60_000 }
    }
}

/// A span `(from_ts, to_ts)` (exclusive ends) inside the restorable window where no group
/// holds a change: a quiet cluster, a paused task or lost flushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub from_ts: u64,
    pub to_ts: u64,
}

/// Sizes of one store's part of the archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreSizes {
    pub store_id: i64,
    pub metas: usize,
    pub groups: usize,
    pub sub_files: usize,
    /// Stored bytes of the data objects its metas list (from the listing).
    pub data_bytes: u64,
    pub min_ts: u64,
    pub max_ts: u64,
    pub global_checkpoint: Option<u64>,
}

/// The `log metadata` report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogMetadata {
    pub start_version: u64,
    pub truncate_safepoint: Option<u64>,
    /// Max over `v1/global_checkpoint/*.ts` (LOG-CKPT-2).
    pub global_checkpoint: Option<u64>,
    pub min_restorable_ts: u64,
    pub max_restorable_ts: u64,
    pub gaps: Vec<Gap>,
    pub metas: usize,
    pub meta_bytes: u64,
    pub groups: usize,
    pub sub_files: usize,
    pub data_objects: usize,
    pub data_bytes: u64,
    /// Groups below the default merge target (LOG-MERGE-1, LOG-MERGE-2's size test).
    pub small_groups: usize,
    pub stores: Vec<StoreSizes>,
    /// Objects some meta lists that storage does not hold: restores past them fail.
    pub missing_objects: Vec<String>,
    pub unreferenced_objects: usize,
    pub unreferenced_bytes: u64,
    pub pending_journals: usize,
}

/// Reads the archive and computes the report.
pub async fn log_metadata(storage: &dyn Storage, opts: MetadataOptions) -> Result<LogMetadata> {
    let a = LogArchive::open(storage).await?;
    let meta_sizes: u64 = storage.list(META_DIR).await?.iter().map(|o| o.size).sum();
    // Data objects: every name under v1/ that parses as one (LOG-NAME-6…8).
    let listed: HashMap<String, u64> = storage
        .list(LOG_DIR)
        .await?
        .into_iter()
        .filter(|o| parse_log_data_path(&o.name).is_ok())
        .map(|o| (o.name, o.size))
        .collect();
    let mut r = LogMetadata {
        start_version: a.root.as_ref().map_or(0, |r| r.start_version),
        truncate_safepoint: a.truncate_safepoint,
        global_checkpoint: a.checkpoints.iter().map(|c| c.1).max(),
        min_restorable_ts: a.window.min_ts,
        max_restorable_ts: a.window.max_ts,
        metas: a.metas.len(),
        meta_bytes: meta_sizes,
        pending_journals: list_journals(storage).await?.len(),
        ..Default::default()
    };
    let mut stores: BTreeMap<i64, StoreSizes> = BTreeMap::new();
    let mut referenced: BTreeSet<&str> = BTreeSet::new();
    let mut spans = Vec::new();
    for m in &a.metas {
        let s = stores.entry(m.meta.store_id).or_insert_with(|| StoreSizes {
            store_id: m.meta.store_id,
            min_ts: u64::MAX,
            ..Default::default()
        });
        s.metas += 1;
        let objects = m
            .meta
            .groups
            .iter()
            .map(|g| (g.path.as_str(), g.min_ts, g.max_ts, g.files.len(), g.length))
            .chain(
                m.meta
                    .files
                    .iter()
                    .map(|f| (f.path.as_str(), f.min_ts, f.max_ts, 1, f.range_length)),
            );
        for (path, min_ts, max_ts, files, length) in objects {
            s.groups += 1;
            s.sub_files += files;
            s.min_ts = s.min_ts.min(min_ts);
            s.max_ts = s.max_ts.max(max_ts);
            r.groups += 1;
            r.sub_files += files;
            if length < DEFAULT_TARGET_SIZE {
                r.small_groups += 1;
            }
            spans.push((min_ts, max_ts));
            if referenced.insert(path) {
                match listed.get(path) {
                    Some(size) => {
                        s.data_bytes += size;
                        r.data_bytes += size;
                        r.data_objects += 1;
                    }
                    None => r.missing_objects.push(path.to_string()),
                }
            }
        }
    }
    for (store, ts) in &a.checkpoints {
        let s = stores.entry(*store as i64).or_insert_with(|| StoreSizes {
            store_id: *store as i64,
            min_ts: u64::MAX,
            ..Default::default()
        });
        s.global_checkpoint = Some(s.global_checkpoint.map_or(*ts, |c| c.max(*ts)));
    }
    r.stores = stores
        .into_values()
        .map(|mut s| {
            if s.min_ts == u64::MAX {
                s.min_ts = 0;
            }
            s
        })
        .collect();
    for (name, size) in &listed {
        if !referenced.contains(name.as_str()) {
            r.unreferenced_objects += 1;
            r.unreferenced_bytes += size;
        }
    }
    r.gaps = gaps(
        &spans,
        r.min_restorable_ts,
        r.max_restorable_ts,
        opts.min_gap_ms,
    );
    Ok(r)
}

/// The uncovered spans of `[lo, hi]` by `spans` whose physical length is at least `min_ms`.
pub fn gaps(spans: &[(u64, u64)], lo: u64, hi: u64, min_ms: u64) -> Vec<Gap> {
    let mut s: Vec<(u64, u64)> = spans
        .iter()
        .copied()
        .filter(|&(a, b)| a <= b && b >= lo && a <= hi)
        .collect();
    s.sort_unstable();
    let mut out = Vec::new();
    let mut covered_to = lo; // every ts < covered_to is covered (or before the window)
    let mut push = |from: u64, to: u64| {
        if to > from && tso::physical(to).saturating_sub(tso::physical(from)) >= min_ms {
            out.push(Gap {
                from_ts: from,
                to_ts: to,
            });
        }
    };
    for (a, b) in s {
        if a > covered_to {
            push(covered_to, a);
        }
        covered_to = covered_to.max(b.saturating_add(1));
    }
    if hi > covered_to {
        push(covered_to, hi);
    }
    out
}

fn ts_pair(ts: u64) -> (u64, String) {
    (ts, tso::display_utc(ts))
}

/// The `log metadata --json` document.
pub fn to_json(r: &LogMetadata, url: &str) -> Value {
    let (min, min_t) = ts_pair(r.min_restorable_ts);
    let (max, max_t) = ts_pair(r.max_restorable_ts);
    json!({
        "storage": url,
        "min_restorable_ts": min,
        "max_restorable_ts": max,
        "min_restorable_time": min_t,
        "max_restorable_time": max_t,
        "start_version": r.start_version,
        "truncate_safepoint": r.truncate_safepoint,
        "global_checkpoint": r.global_checkpoint,
        "gaps": r.gaps.iter().map(|g| json!({
            "from_ts": g.from_ts, "to_ts": g.to_ts,
            "from_time": tso::display_utc(g.from_ts), "to_time": tso::display_utc(g.to_ts),
            "seconds": tso::physical(g.to_ts).saturating_sub(tso::physical(g.from_ts)) / 1000,
        })).collect::<Vec<_>>(),
        "sizes": {
            "metas": r.metas, "meta_bytes": r.meta_bytes, "groups": r.groups,
            "sub_files": r.sub_files, "data_objects": r.data_objects, "data_bytes": r.data_bytes,
            "small_groups": r.small_groups,
        },
        "stores": r.stores.iter().map(|s| json!({
            "store_id": s.store_id, "metas": s.metas, "groups": s.groups,
            "sub_files": s.sub_files, "data_bytes": s.data_bytes, "min_ts": s.min_ts,
            "max_ts": s.max_ts, "global_checkpoint": s.global_checkpoint,
        })).collect::<Vec<_>>(),
        "missing_objects": r.missing_objects,
        "unreferenced_objects": { "count": r.unreferenced_objects, "bytes": r.unreferenced_bytes },
        "pending_journals": r.pending_journals,
    })
}

/// Human rendering.
pub fn render_human(out: &mut impl Write, r: &LogMetadata, url: &str) -> std::io::Result<()> {
    let t = |ts: u64| format!("{ts} ({})", tso::display_utc(ts));
    writeln!(out, "Log backup archive  {url}")?;
    writeln!(out, "  min restorable ts   {}", t(r.min_restorable_ts))?;
    writeln!(out, "  max restorable ts   {}", t(r.max_restorable_ts))?;
    writeln!(out, "  task start ts       {}", t(r.start_version))?;
    match r.truncate_safepoint {
        Some(s) => writeln!(out, "  truncate safepoint  {}", t(s))?,
        None => writeln!(out, "  truncate safepoint  none")?,
    }
    writeln!(
        out,
        "  sizes               {} metas ({} B), {} groups, {} sub-files, {} data objects, {} B ({} groups below {} B)",
        r.metas, r.meta_bytes, r.groups, r.sub_files, r.data_objects, r.data_bytes,
        r.small_groups, DEFAULT_TARGET_SIZE
    )?;
    if r.gaps.is_empty() {
        writeln!(out, "  gaps                none")?;
    }
    for g in &r.gaps {
        writeln!(
            out,
            "  gap                 {} .. {} ({} s without changes)",
            t(g.from_ts),
            t(g.to_ts),
            tso::physical(g.to_ts).saturating_sub(tso::physical(g.from_ts)) / 1000
        )?;
    }
    for s in &r.stores {
        writeln!(
            out,
            "  store {:<6} {} metas, {} groups, {} sub-files, {} B, ts {}..{}, checkpoint {}",
            s.store_id,
            s.metas,
            s.groups,
            s.sub_files,
            s.data_bytes,
            s.min_ts,
            s.max_ts,
            s.global_checkpoint
                .map_or("none".to_string(), |c| c.to_string())
        )?;
    }
    for m in &r.missing_objects {
        writeln!(out, "  MISSING object      {m}")?;
    }
    if r.unreferenced_objects > 0 {
        writeln!(
            out,
            "  unreferenced        {} objects ({} B) no meta lists",
            r.unreferenced_objects, r.unreferenced_bytes
        )?;
    }
    if r.pending_journals > 0 {
        writeln!(
            out,
            "  pending deletions   {} journals (finished by the next merge or truncate)",
            r.pending_journals
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(sec: u64) -> u64 {
        tso::compose(sec * 1000, 0)
    }

    #[test]
    fn gaps_are_uncovered_spans_of_the_window_at_least_min_long() {
        let spans = [(ts(10), ts(20)), (ts(15), ts(30)), (ts(100), ts(110))];
        let g = gaps(&spans, ts(0), ts(200), 60_000);
        assert_eq!(
            g,
            vec![
                Gap {
                    from_ts: ts(30) + 1,
                    to_ts: ts(100)
                },
                Gap {
                    from_ts: ts(110) + 1,
                    to_ts: ts(200)
                }
            ]
        );
        // The 10 s before the first span is shorter than a minute: not a gap.
        assert!(g.iter().all(|x| x.from_ts > ts(10)));
        assert!(gaps(&spans, ts(10), ts(110), 60_000).len() == 1);
        assert!(gaps(&[], ts(0), ts(0), 0).is_empty());
    }
}
