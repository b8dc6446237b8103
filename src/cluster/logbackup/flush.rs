//! One flush of one store (format/log.md "Read and write ordering"): under the commit barrier
//! take the resolved ts and swap the buffer (no commit with ts <= resolved can arrive later);
//! build one sub-file per partition file (one zstd frame each, LOG-FILE-3), pack them into
//! group objects (data sub-files first, then meta-KV; a group closes once it holds
//! `group_limit` plaintext bytes, as TiKV's `merge_and_flush_log_files_to`), write the data
//! objects, then the `.meta` (LOG-2, LOG-NAME-4 name), then report the resolved ts to the
//! placement driver and write `v1/global_checkpoint/{store}.ts` when the global checkpoint
//! advanced (LOG-CKPT-2, in `checkpoint`).
//!
//! An encrypted task (`LogTask::cipher`, read from the placement driver at every flush)
//! encrypts each sub-file after compression with a fresh random IV and records its
//! `FileEncryptionInfo` (LOG-CRYPT-1); the `.meta` stays plaintext (LOG-CRYPT-2).
//!
//! A failed flush keeps its sealed batches for the next one (events may repeat, which replay
//! tolerates); a broken buffer is rebuilt by an incremental scan before the flush.

use super::buffer::{Buffer, PartKey, SealedBatch};
use super::observer::StoreObserver;
use super::{checkpoint, scan_store_into};
use crate::cluster::error::{ClusterError, Result};
use crate::cluster::pd::LogTaskState;
use crate::cluster::server::state::ClusterState;
use crate::format::crypto::{random_iv, Cipher};
use crate::format::logfile::{build_sub_file, decode_events, GroupBuilder, SubFileSpec};
use crate::format::logmeta::{encode_log_meta, LogCompression, LogMeta, LogMetaVersion};
use crate::format::naming::log::{build_log_data_path, build_meta_path, META_FLAG_NO_META_KV};
use crate::storage::Storage;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// The failpoint that makes a flush fail: `data` after the data objects are written (before
/// the `.meta`), `meta` after the `.meta` (before the report); `data@2` limits it to store 2.
pub const FAIL_FLUSH_AFTER: &str = "logbackup.fail_flush_after";

/// What a flush writes.
pub struct Built {
    /// Data objects, in write order.
    pub objects: Vec<(String, Vec<u8>)>,
    /// The `.meta` naming them (`None` when there were no events).
    pub meta: Option<(String, Vec<u8>)>,
    pub events: u64,
}

/// A flush ready to be written.
pub struct Prepared {
    pub resolved_ts: u64,
    pub built: Built,
    pub batches: Vec<SealedBatch>,
}

/// Builds the objects and `.meta` of one flush from sealed batches (synchronous: reads the
/// temp files). With an encrypting `cipher` every sub-file gets its own fresh IV
/// (LOG-CRYPT-1, CRYPT-8).
pub fn build(
    store_id: u64,
    resolved_ts: u64,
    batches: &[SealedBatch],
    group_limit: u64,
    cipher: &Cipher,
) -> Result<Built> {
    let mut groups = Vec::new();
    let mut objects = Vec::new();
    let mut events = 0u64;
    let mut cur = GroupBuilder::new();
    let mut cur_plain = 0u64;
    // (min_ts, max_ts, all meta) of the open group.
    let mut cur_stats: Option<(u64, u64, bool)> = None;
    let mut close = |cur: GroupBuilder, stats: Option<(u64, u64, bool)>| {
        if let Some((min, max, all_meta)) = stats {
            let path = build_log_data_path(store_id, min, max, uuid::Uuid::new_v4(), all_meta);
            let (bytes, group) = cur.finish(path.clone());
            objects.push((path, bytes));
            groups.push(group);
        }
    };
    let parts = batches.iter().flat_map(|b| b.parts.iter());
    for part in parts {
        let stream = std::fs::read(&part.path)?;
        let evs = decode_events(&stream)?;
        if evs.is_empty() {
            continue;
        }
        events += evs.len() as u64;
        let spec = spec_of(&part.key, &part.region, resolved_ts);
        // LOG-CRYPT-1: compressed, then encrypted under a fresh IV (unused for plaintext).
        let (stored, file) = build_sub_file(&spec, &evs, cipher, random_iv())?;
        if cur_plain >= group_limit {
            close(std::mem::take(&mut cur), cur_stats.take());
            cur_plain = 0;
        }
        cur_plain += file.length;
        cur_stats = Some(match cur_stats {
            None => (file.min_ts, file.max_ts, file.is_meta),
            Some((a, b, m)) => (a.min(file.min_ts), b.max(file.max_ts), m && file.is_meta),
        });
        cur.push(&stored, file);
    }
    close(cur, cur_stats);
    if groups.is_empty() {
        return Ok(Built {
            objects,
            meta: None,
            events,
        });
    }
    let files = || groups.iter().flat_map(|g| g.files.iter());
    let min_ts = groups.iter().map(|g| g.min_ts).min().unwrap_or(0);
    let max_ts = groups.iter().map(|g| g.max_ts).max().unwrap_or(0);
    let min_begin = files()
        .map(|f| f.min_begin_ts_in_default_cf)
        .min()
        .unwrap_or(min_ts);
    let flags = if files().any(|f| f.is_meta) {
        0
    } else {
        META_FLAG_NO_META_KV
    };
    let min_resolved = groups.iter().map(|g| g.min_resolved_ts).min().unwrap_or(0);
    let meta = LogMeta {
        store_id: store_id as i64,
        // TiKV: max(min over groups of min_resolved_ts, the flush's resolved ts).
        resolved_ts: min_resolved.max(resolved_ts),
        min_ts,
        max_ts,
        version: LogMetaVersion::V2,
        groups,
        files: Vec::new(),
    };
    let path = build_meta_path(resolved_ts, store_id, min_begin, min_ts, max_ts, flags);
    Ok(Built {
        objects,
        meta: Some((path, encode_log_meta(&meta))),
        events,
    })
}

fn spec_of(key: &PartKey, region: &super::buffer::RegionFacts, resolved_ts: u64) -> SubFileSpec {
    SubFileSpec {
        region_id: key.region_id as i64,
        cf: key.cf,
        kind: key.kind,
        is_meta: key.is_meta,
        table_id: key.table_id,
        resolved_ts,
        region_start_key: region.start.clone(),
        region_end_key: region.end.clone(),
        region_epochs: vec![(region.conf_ver, region.version)],
        compression: LogCompression::Zstd,
    }
}

/// Takes what the store buffered (synchronous; takes the commit barrier). `None` when the
/// store is down or the task is not running here.
fn prepare(
    state: &ClusterState,
    obs: &StoreObserver,
    task: &str,
    group_limit: u64,
) -> Result<Option<Prepared>> {
    let store = state.store(obs.store_id)?;
    if !store.is_up() {
        return Ok(None); // a stopped store neither flushes nor reports
    }
    let Some(t) = state.pd.log_task(task) else {
        return Ok(None);
    };
    if t.state != LogTaskState::Running {
        return Ok(None);
    }
    // Before anything is taken: a bad key in pd.json fails the flush and keeps the buffer.
    let cipher = t.data_cipher()?;
    let taken = state.under_commit_barrier(|| -> Result<_> {
        let resolved = state.pd.tso(1)?;
        let Some(mut taken) = obs.take() else {
            return Ok(None);
        };
        if taken.current.is_some() {
            return Ok(Some((resolved, taken)));
        }
        if taken.rescan {
            // The broken buffer's events are rebuilt from MVCC: (checkpoint, resolved].
            let dir = obs.rescan_dir();
            let mut buf = Buffer::new(dir);
            let n = scan_store_into(state, obs.store_id, t.checkpoint_ts, resolved, &mut buf)?;
            tracing::info!(store = obs.store_id, versions = n, "log backup rescan");
            taken.batches.push(buf.seal()?);
            taken.rescan = false;
        }
        Ok(Some((resolved, taken)))
    })?;
    let Some((resolved_ts, mut taken)) = taken else {
        return Ok(None);
    };
    // Closing the files needs no barrier: no commit writes to a swapped-out buffer.
    taken.seal(obs.store_id);
    if taken.rescan {
        // Sealing failed: its events come back by a scan at the next flush, and this flush
        // must not report a resolved ts that covers them.
        obs.restore_failed(taken.batches);
        obs.mark_broken();
        return Ok(None);
    }
    let batches = taken.batches;
    match build(obs.store_id, resolved_ts, &batches, group_limit, &cipher) {
        Ok(built) => Ok(Some(Prepared {
            resolved_ts,
            built,
            batches,
        })),
        Err(e) => {
            // Unreadable temp files: drop them and rebuild by a scan next time.
            for b in &batches {
                b.remove();
            }
            obs.mark_broken();
            Err(e)
        }
    }
}

fn failpoint_fires(state: &ClusterState, store_id: u64, step: &str) -> bool {
    let Some(v) = state.failpoint(FAIL_FLUSH_AFTER) else {
        return false;
    };
    let (what, store) = match v.split_once('@') {
        Some((w, s)) => (w, s.parse::<u64>().ok()),
        None => (v.as_str(), None),
    };
    what == step && store.is_none_or(|s| s == store_id)
}

/// One flush: prepare, write data then `.meta` (LOG-2), report, publish the checkpoint.
pub async fn flush_once(
    state: &Arc<ClusterState>,
    obs: &Arc<StoreObserver>,
    task: &str,
    storage: &Arc<dyn Storage>,
) -> Result<()> {
    let (st, o, t) = (state.clone(), obs.clone(), task.to_string());
    let group_limit = state.log.config.group_limit;
    let prepared = tokio::task::spawn_blocking(move || prepare(&st, &o, &t, group_limit))
        .await
        .map_err(|e| ClusterError::Invalid(format!("flush worker: {e}")))??;
    let Some(p) = prepared else {
        return Ok(());
    };
    let store_id = obs.store_id;
    let written = async {
        for (name, bytes) in &p.built.objects {
            storage.write(name, Bytes::from(bytes.clone())).await?;
        }
        if failpoint_fires(state, store_id, "data") {
            return Err(ClusterError::Invalid(format!(
                "failpoint {FAIL_FLUSH_AFTER}: store {store_id} failed after its data objects"
            )));
        }
        if let Some((name, bytes)) = &p.built.meta {
            storage.write(name, Bytes::from(bytes.clone())).await?;
        }
        if failpoint_fires(state, store_id, "meta") {
            return Err(ClusterError::Invalid(format!(
                "failpoint {FAIL_FLUSH_AFTER}: store {store_id} failed after its .meta"
            )));
        }
        Ok(())
    }
    .await;
    if let Err(e) = written {
        obs.restore_failed(p.batches);
        return Err(e);
    }
    for b in &p.batches {
        b.remove();
    }
    checkpoint::report(state, obs, task, storage, p.resolved_ts).await?;
    let n = p.built.objects.len() as u64;
    if n > 0 && obs.count_objects(n, state.log.config.merge_after_objects) {
        state.log.spawn_merge(storage.clone());
    }
    Ok(())
}

/// The per-store loop: flush every `interval`, or early when the buffer passes its size
/// limit, until `stop` turns true.
pub async fn flush_loop(
    state: Arc<ClusterState>,
    obs: Arc<StoreObserver>,
    task: String,
    storage: Arc<dyn Storage>,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // Fixed ticks: the time a flush takes does not stretch the interval (the checkpoint lag
    // stays near one interval).
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = obs.wake.notified() => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
        if let Err(e) = flush_once(&state, &obs, &task, &storage).await {
            tracing::warn!(store = obs.store_id, task = %task, error = %e, "log backup flush failed; retrying at the next one");
        }
    }
}
