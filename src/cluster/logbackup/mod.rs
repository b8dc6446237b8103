//! Log backup inside the store servers (issue 5, format/log.md): a task registered with the
//! placement driver (`pd::LogTask`) makes every store observe the entries it commits in the
//! regions it leads (`observer`), buffer them per partition in local temp files (`buffer`),
//! and flush them every flush interval or when the buffer passes its size limit (`flush`):
//! data objects, then the `.meta`, then the resolved ts reported to the placement driver,
//! whose minimum over stores is the global checkpoint (`checkpoint`). The root objects of the
//! archive are in `root`; the automatic-merge hook in `merge_hook`.
//!
//! Nothing reported in the global checkpoint may be lost, whatever fails:
//! - a store's resolved ts is taken under the commit barrier together with the buffer swap,
//!   so it covers exactly the events flushed with it;
//! - a task (re)starting on a store (registration with a past start ts, resume, a process
//!   restart) first rebuilds the events with commit_ts in (checkpoint, now] by an incremental
//!   MVCC scan of the store's regions (GC is held at the checkpoint);
//! - a region arriving on a store (scatter) is scanned the same way on arrival, so events the
//!   source store observed but had not flushed yet are not lost if the source fails;
//! - a failed flush keeps its batch for the next one; a broken buffer is rebuilt by a scan.
//!
//! Events may repeat after any of these; PITR replay is idempotent.

pub mod buffer;
pub mod checkpoint;
pub mod flush;
pub mod merge_hook;
pub mod observer;
pub mod root;

use crate::cluster::error::{ClusterError, Result};
use crate::cluster::pd::{LogTask, LogTaskState};
use crate::cluster::server::state::ClusterState;
use crate::cluster::store::Store;
use crate::cluster::Region;
use crate::format::logmeta::EventKind;
use crate::storage::Storage;
use buffer::{Buffer, PartKey};
use merge_hook::SmallObjectMerger;
use observer::StoreObserver;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// BR's default flush interval is 3 to 5 minutes; brkit's is 10 s (issue 5).
pub const DEFAULT_FLUSH_INTERVAL_MS: u64 = 10_000;
/// TiKV's `log-backup.file-size-limit` (since v6.3): flush early and close groups at this.
pub const DEFAULT_FILE_SIZE_LIMIT: u64 = 256 << 20;

/// Sizes and thresholds of the observers.
#[derive(Debug, Clone)]
pub struct LogBackupConfig {
    /// Buffered bytes (per store) that trigger an early flush.
    pub size_limit: u64,
    /// Plaintext bytes after which a group object is closed (TiKV's merged-file limit).
    pub group_limit: u64,
    /// Data objects per store that trigger the automatic merge (0 = never).
    pub merge_after_objects: u64,
    pub merge_target_bytes: u64,
}

impl Default for LogBackupConfig {
    fn default() -> Self {
        LogBackupConfig {
            size_limit: DEFAULT_FILE_SIZE_LIMIT,
            group_limit: DEFAULT_FILE_SIZE_LIMIT,
            merge_after_objects: merge_hook::DEFAULT_MERGE_AFTER_OBJECTS,
            merge_target_bytes: merge_hook::DEFAULT_MERGE_TARGET_BYTES,
        }
    }
}

/// The running task's flush loops.
struct Running {
    task: String,
    stop: tokio::sync::watch::Sender<bool>,
    loops: Vec<JoinHandle<()>>,
}

/// Log backup state of a cluster: one observer per store and the running task's loops.
pub struct LogBackup {
    pub config: LogBackupConfig,
    observers: HashMap<u64, Arc<StoreObserver>>,
    running: Mutex<Option<Running>>,
    merger: Mutex<Option<Arc<dyn SmallObjectMerger>>>,
    merging: Arc<AtomicBool>,
}

impl LogBackup {
    /// Observers for `stores` (temp files under each store's directory), none active.
    pub fn new(stores: &[Arc<Store>], config: LogBackupConfig) -> LogBackup {
        let observers = stores
            .iter()
            .map(|s| {
                let o = StoreObserver::new(
                    s.store_id(),
                    s.dir().join("logbackup-tmp"),
                    config.size_limit,
                );
                (s.store_id(), Arc::new(o))
            })
            .collect();
        LogBackup {
            config,
            observers,
            running: Mutex::new(None),
            merger: Mutex::new(None),
            merging: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn observer(&self, store_id: u64) -> Option<&Arc<StoreObserver>> {
        self.observers.get(&store_id)
    }

    /// The name of the task whose loops run in this process.
    pub fn running_task(&self) -> Option<String> {
        self.running
            .lock()
            .unwrap()
            .as_ref()
            .map(|r| r.task.clone())
    }

    /// Installs the automatic-merge hook (see `merge_hook`).
    pub fn set_merger(&self, m: Arc<dyn SmallObjectMerger>) {
        *self.merger.lock().unwrap() = Some(m);
    }

    /// Runs the merge hook in the background unless one runs already.
    fn spawn_merge(&self, storage: Arc<dyn Storage>) {
        let Some(m) = self.merger.lock().unwrap().clone() else {
            return;
        };
        if self.merging.swap(true, Ordering::SeqCst) {
            return;
        }
        let (flag, target) = (self.merging.clone(), self.config.merge_target_bytes);
        tokio::spawn(async move {
            if let Err(e) = m.merge(storage, target).await {
                tracing::warn!(error = %e, "automatic log merge failed");
            }
            flag.store(false, Ordering::SeqCst);
        });
    }
}

/// Scans every region `store_id` leads for versions with `after < commit_ts <= upto` into
/// `buf`; returns the number of versions. The caller holds the commit barrier.
pub fn scan_store_into(
    state: &ClusterState,
    store_id: u64,
    after: u64,
    upto: u64,
    buf: &mut Buffer,
) -> Result<u64> {
    let store = &state.store(store_id)?.store;
    let mut n = 0;
    for r in state.pd.leader_regions(store_id, &[], &[]) {
        n += scan_region_into(store, &r, after, upto, buf)?;
    }
    Ok(n)
}

/// [`scan_store_into`] for one region.
pub fn scan_region_into(
    store: &Store,
    region: &Region,
    after: u64,
    upto: u64,
    buf: &mut Buffer,
) -> Result<u64> {
    let mut failed: Option<std::io::Error> = None;
    let n = store.scan_versions(
        &region.start,
        &region.end,
        after,
        upto,
        &mut |raw, cf, k, v| {
            if failed.is_none() {
                let part = PartKey::of(raw, region.id, cf, EventKind::Put);
                if let Err(e) = buf.push(part, region, k, v) {
                    failed = Some(e);
                }
            }
        },
    )?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(n),
    }
}

/// Starts observing on every store and spawns the flush loops. With `scan_from`, each store
/// first rebuilds the events with commit_ts in (scan_from, now] (restart, resume, a start ts
/// in the past). Must run inside the tokio runtime (a blocking thread of it is fine).
pub fn start_observing(
    state: &Arc<ClusterState>,
    task: &LogTask,
    storage: Arc<dyn Storage>,
    scan_from: Option<u64>,
) -> Result<()> {
    check_not_running(state)?;
    state.under_commit_barrier(|| activate_locked(state, scan_from));
    spawn_flush_loops(state, task, storage);
    Ok(())
}

fn check_not_running(state: &ClusterState) -> Result<()> {
    match state.log.running.lock().unwrap().as_ref() {
        Some(r) => Err(ClusterError::Invalid(format!(
            "log backup task {:?} is already observed in this cluster",
            r.task
        ))),
        None => Ok(()),
    }
}

/// Activates every store's observer, scanning from `scan_from` if given. The caller holds
/// the commit barrier, so no commit falls between what the scan sees and what the observers
/// see. A failed scan marks the buffer broken: the first flush rescans.
pub fn activate_locked(state: &ClusterState, scan_from: Option<u64>) {
    for h in &state.stores {
        let Some(obs) = state.log.observer(h.id) else {
            continue;
        };
        obs.activate();
        if let Some(from) = scan_from {
            let mut failed = None;
            obs.with_buffer(|buf| {
                if let Err(e) = scan_store_into(state, h.id, from, u64::MAX, buf) {
                    failed = Some(e);
                }
            });
            if let Some(e) = failed {
                tracing::warn!(store = h.id, error = %e, "initial log backup scan failed; rescanning at the first flush");
                obs.mark_broken();
            }
        }
    }
}

/// Spawns one flush loop per store for `task` (observers already active).
pub fn spawn_flush_loops(state: &Arc<ClusterState>, task: &LogTask, storage: Arc<dyn Storage>) {
    let (stop, rx) = tokio::sync::watch::channel(false);
    let interval = Duration::from_millis(task.flush_interval_ms.max(10));
    let loops = state
        .stores
        .iter()
        .filter_map(|h| state.log.observer(h.id))
        .map(|obs| {
            tokio::spawn(flush::flush_loop(
                state.clone(),
                obs.clone(),
                task.name.clone(),
                storage.clone(),
                interval,
                rx.clone(),
            ))
        })
        .collect();
    *state.log.running.lock().unwrap() = Some(Running {
        task: task.name.clone(),
        stop,
        loops,
    });
    tracing::info!(task = %task.name, "log backup observing");
}

/// Stops the flush loops (waiting for a flush in progress) and drops unflushed buffers.
pub async fn stop_observing(state: &ClusterState) {
    let running = state.log.running.lock().unwrap().take();
    if let Some(r) = running {
        let _ = r.stop.send(true);
        for l in r.loops {
            let _ = l.await;
        }
    }
    for obs in state.log.observers.values() {
        obs.deactivate();
    }
}

/// A region's leader arrived on `store_id` (scatter; the caller holds the commit barrier):
/// if a task runs, scan the region there from the task's checkpoint.
pub fn on_region_arrival(state: &ClusterState, store_id: u64, region: &Region) {
    let Some(obs) = state.log.observer(store_id) else {
        return;
    };
    if !obs.is_active() {
        return;
    }
    let Some(task) = state
        .pd
        .log_tasks()
        .into_iter()
        .find(|t| t.state == LogTaskState::Running)
    else {
        return;
    };
    let Ok(h) = state.store(store_id) else {
        return;
    };
    let mut failed = None;
    obs.with_buffer(|buf| {
        if let Err(e) = scan_region_into(&h.store, region, task.checkpoint_ts, u64::MAX, buf) {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        tracing::warn!(store = store_id, region = region.id, error = %e, "arrival scan failed; rescanning at the next flush");
        obs.mark_broken();
    }
}

/// Resumes observing the running tasks recorded in the placement driver (cluster start).
pub fn resume_after_restart(
    state: &Arc<ClusterState>,
    open: &dyn Fn(&str) -> Result<Arc<dyn Storage>>,
) -> Result<()> {
    for t in state.pd.log_tasks() {
        if t.state == LogTaskState::Running {
            let storage = open(&t.storage_url)?;
            start_observing(state, &t, storage, Some(t.checkpoint_ts))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
