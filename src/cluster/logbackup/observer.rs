//! One store's log backup observer: while a task runs, every entry the store commits in the
//! regions it leads (handed over by `ClusterState::commit` under the commit barrier) goes into
//! the current [`Buffer`]; a flush swaps the buffer for a fresh one under the same barrier, so
//! a flush's resolved ts covers exactly what the swapped buffer holds. A buffer whose temp
//! file write failed is marked broken: the next flush drops it and rebuilds its events by an
//! incremental scan instead (nothing is lost, events may repeat).
//!
//! Owns the per-store buffering state; no storage I/O, no clock.

use super::buffer::{Buffer, PartKey, SealedBatch};
use crate::cluster::Region;
use crate::format::logmeta::EventKind;
use crate::format::naming::snapshot::Cf;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// The observer of one store.
pub struct StoreObserver {
    pub store_id: u64,
    /// Where buffer generations live (`<store dir>/logbackup-tmp`).
    tmp_root: PathBuf,
    /// Buffer size that asks for an early flush.
    pub size_limit: u64,
    inner: Mutex<Inner>,
    /// Woken when the buffer passes `size_limit`.
    pub wake: tokio::sync::Notify,
}

#[derive(Default)]
struct Inner {
    /// `Some` while a task runs on this store.
    buffer: Option<Buffer>,
    generation: u64,
    /// A write to the current buffer failed: rebuild by scanning at the next flush.
    broken: bool,
    /// Batches whose flush failed, oldest first: retried by the next flush.
    failed: Vec<SealedBatch>,
    /// The global checkpoint this store last wrote to `v1/global_checkpoint/{store}.ts`.
    written_checkpoint: u64,
    /// Data objects written since the last automatic merge.
    objects_since_merge: u64,
}

/// The observer locked for one commit's entries.
pub struct Recording<'a> {
    guard: MutexGuard<'a, Inner>,
    wake: &'a tokio::sync::Notify,
    size_limit: u64,
    store_id: u64,
}

impl Recording<'_> {
    /// Buffers one committed entry (`key` without `z`) of raw user key `raw` in `region`.
    pub fn record(&mut self, raw: &[u8], region: &Region, cf: Cf, key: &[u8], value: &[u8]) {
        let inner = &mut *self.guard;
        let Some(buf) = inner.buffer.as_mut() else {
            return;
        };
        // Every committed entry is a raft Put (a user delete is a Put of a Delete write
        // record); raft Delete commands (GC, rollback cleanup) are not observed here.
        let part = PartKey::of(raw, region.id, cf, EventKind::Put);
        if let Err(e) = buf.push(part, region, key, value) {
            if !inner.broken {
                tracing::warn!(store = self.store_id, error = %e, "log backup buffer write failed; the next flush rescans");
            }
            inner.broken = true;
        }
        if buf.bytes() >= self.size_limit {
            self.wake.notify_one();
        }
    }
}

impl Recording<'_> {
    /// The entries just recorded were not stored (the write failed): the next flush drops
    /// the buffer and rebuilds it by a scan.
    pub fn mark_broken(&mut self) {
        self.guard.broken = true;
    }
}

/// What a flush takes from the observer under the commit barrier.
pub struct Taken {
    /// Failed batches to retry, oldest first.
    pub batches: Vec<SealedBatch>,
    /// The buffer just swapped out (sealed by the caller, outside the barrier); `None` when
    /// it was broken.
    pub current: Option<Buffer>,
    /// The current buffer was broken: the caller rescans.
    pub rescan: bool,
}

impl Taken {
    /// Seals the swapped-out buffer; a failure to seal asks for a rescan instead.
    pub fn seal(&mut self, store_id: u64) {
        if let Some(b) = self.current.take() {
            match b.seal() {
                Ok(b) => self.batches.push(b),
                Err(e) => {
                    tracing::warn!(store = store_id, error = %e, "sealing the log backup buffer failed; rescanning");
                    self.rescan = true;
                }
            }
        }
    }
}

impl StoreObserver {
    pub fn new(store_id: u64, tmp_root: PathBuf, size_limit: u64) -> StoreObserver {
        // Leftovers of a previous process are useless: a restarted task rescans.
        let _ = std::fs::remove_dir_all(&tmp_root);
        StoreObserver {
            store_id,
            tmp_root,
            size_limit,
            inner: Mutex::default(),
            wake: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_buffer(&self, inner: &mut Inner) -> Buffer {
        inner.generation += 1;
        Buffer::new(self.tmp_root.join(format!("gen-{}", inner.generation)))
    }

    /// Whether a task runs on this store.
    pub fn is_active(&self) -> bool {
        self.lock().buffer.is_some()
    }

    /// The observer locked for one commit, or `None` when no task runs (no cost then).
    pub fn recording(&self) -> Option<Recording<'_>> {
        let guard = self.lock();
        guard.buffer.as_ref()?;
        Some(Recording {
            guard,
            wake: &self.wake,
            size_limit: self.size_limit,
            store_id: self.store_id,
        })
    }

    /// Starts observing with an empty buffer (caller holds the commit barrier).
    pub fn activate(&self) {
        let mut inner = self.lock();
        if inner.buffer.is_none() {
            let b = self.next_buffer(&mut inner);
            inner.buffer = Some(b);
            inner.broken = false;
        }
    }

    /// Stops observing and drops everything not flushed (pause, stop, shutdown).
    pub fn deactivate(&self) {
        let mut inner = self.lock();
        if let Some(b) = inner.buffer.take() {
            b.discard();
        }
        for f in inner.failed.drain(..) {
            f.remove();
        }
        inner.broken = false;
        inner.written_checkpoint = 0;
    }

    /// Seals the current buffer and starts a new one (caller holds the commit barrier).
    /// `None` when no task runs here.
    pub fn take(&self) -> Option<Taken> {
        let mut inner = self.lock();
        let old = inner.buffer.take()?;
        let fresh = self.next_buffer(&mut inner);
        inner.buffer = Some(fresh);
        let rescan = std::mem::take(&mut inner.broken);
        let batches = std::mem::take(&mut inner.failed);
        let current = if rescan {
            old.discard();
            None
        } else {
            Some(old)
        };
        Some(Taken {
            batches,
            current,
            rescan,
        })
    }

    /// Gives back batches whose flush failed, to be retried first next time.
    pub fn restore_failed(&self, batches: Vec<SealedBatch>) {
        let mut inner = self.lock();
        if inner.buffer.is_none() {
            // The task stopped meanwhile: nothing to retry.
            for b in batches {
                b.remove();
            }
            return;
        }
        let mut all = batches;
        all.append(&mut inner.failed);
        inner.failed = all;
    }

    /// Runs `f` on the current buffer (a scan adding events), if a task runs here.
    pub fn with_buffer(&self, f: impl FnOnce(&mut Buffer)) {
        let mut inner = self.lock();
        if let Some(b) = inner.buffer.as_mut() {
            f(b);
        }
    }

    /// A fresh directory for a rescan's buffer.
    pub fn rescan_dir(&self) -> PathBuf {
        let mut inner = self.lock();
        inner.generation += 1;
        self.tmp_root
            .join(format!("gen-{}-rescan", inner.generation))
    }

    /// Marks the current buffer broken (its events will be rebuilt by a scan).
    pub fn mark_broken(&self) {
        self.lock().broken = true;
    }

    /// Whether `ts` is newer than the global checkpoint this store last wrote to its file.
    pub fn checkpoint_advanced(&self, ts: u64) -> bool {
        self.lock().written_checkpoint < ts
    }

    /// Records that `ts` was written to this store's global checkpoint file.
    pub fn set_written_checkpoint(&self, ts: u64) {
        let mut inner = self.lock();
        inner.written_checkpoint = inner.written_checkpoint.max(ts);
    }

    /// Counts written data objects; true (and resets) once `threshold` is reached.
    pub fn count_objects(&self, n: u64, threshold: u64) -> bool {
        let mut inner = self.lock();
        inner.objects_since_merge += n;
        if threshold > 0 && inner.objects_since_merge >= threshold {
            inner.objects_since_merge = 0;
            true
        } else {
            false
        }
    }
}
