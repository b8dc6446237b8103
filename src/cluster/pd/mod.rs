//! The placement driver (PD) of the embedded cluster: TSO, store registry, region map
//! (split, leader moves, scatter plans), id allocator and GC safepoints, persisted in
//! `<dir>/pd.json`. Synchronous and thread-safe (`&self` methods behind one mutex); the gRPC
//! server wraps it, nothing here knows the wire.
//!
//! Every change is written to `pd.json` atomically before it becomes visible; a change whose
//! write fails is not applied. TSO and id allocation persist only an upper bound (PD's
//! technique), so they cost a file write every 3 s / 1000 ids, not per call.
//!
//! Store count on reopen: `open_or_bootstrap(dir, 0)` reuses the saved count; a non-zero count
//! that differs from the saved one is an error ([`PdError::StoreCount`]) rather than silently
//! ignored, because stores cannot be added or removed here.

mod clock;
mod error;
mod gc;
mod logtask;
mod regions;
mod state;
mod tso;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{PdError, Result};
pub use logtask::{service_id as log_service_id, LogTask, LogTaskState, TaskCipher};
pub use state::{ServiceSafepoint, StoreMeta, FORMAT_VERSION, STATE_FILE};
pub use tso::TSO_SAVE_INTERVAL_MS;

use crate::cluster::region::{Epoch, Region};
use state::State;
use tso::TsoState;

/// The placement driver's state and the file it lives in.
pub struct Placement {
    file: PathBuf,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

struct Inner {
    state: State,
    tso: TsoState,
}

impl std::fmt::Debug for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Placement")
            .field("file", &self.file)
            .finish()
    }
}

impl Placement {
    /// Opens `dir/pd.json`, or bootstraps a new cluster there (creating `dir`): a random
    /// cluster id, stores `1..=stores`, one region covering the whole key space (id and peer
    /// id from the allocator, epoch {1, 1}, leader on store 1). `stores == 0` on reopen means
    /// "the saved count"; see the module doc.
    pub fn open_or_bootstrap(dir: &Path, stores: u32) -> Result<Placement> {
        Self::open_with_clock(dir, stores, Arc::new(SystemClock))
    }

    /// [`Placement::open_or_bootstrap`] with an injected clock (tests).
    pub fn open_with_clock(dir: &Path, stores: u32, clock: Arc<dyn Clock>) -> Result<Placement> {
        let file = dir.join(STATE_FILE);
        let state = match state::load(&file)? {
            Some(s) => {
                let saved = u32::try_from(s.stores.len()).unwrap_or(u32::MAX);
                if stores != 0 && stores != saved {
                    return Err(PdError::StoreCount {
                        file,
                        saved,
                        requested: stores,
                    });
                }
                s
            }
            None => {
                if stores == 0 {
                    return Err(PdError::Invalid(format!(
                        "cannot bootstrap a cluster in {} with 0 stores",
                        dir.display()
                    )));
                }
                std::fs::create_dir_all(dir).map_err(|source| PdError::Io {
                    file: file.clone(),
                    source,
                })?;
                let s = bootstrap(stores, clock.now_ms());
                state::save(&file, &s.to_file())?;
                s
            }
        };
        let tso = TsoState::after_restart(state.tso_bound_ms);
        Ok(Placement {
            file,
            clock,
            inner: Mutex::new(Inner { state, tso }),
        })
    }

    /// The state file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn cluster_id(&self) -> u64 {
        self.lock().state.cluster_id
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Changes are made on a copy and swapped in, so a panic never leaves half a change.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on a copy of the state, persists the copy, then makes it current.
    fn update<R>(&self, f: impl FnOnce(&mut State, u64) -> Result<R>) -> Result<R> {
        let mut inner = self.lock();
        let mut next = inner.state.clone();
        let r = f(&mut next, self.clock.now_ms())?;
        state::save(&self.file, &next.to_file())?;
        inner.state = next;
        Ok(r)
    }

    // ---- TSO ----

    /// The last of `count` consecutive new timestamps (TSO-1): strictly above every timestamp
    /// handed out before, in this process or an earlier one on the same directory.
    pub fn tso(&self, count: u32) -> Result<u64> {
        let mut inner = self.lock();
        let step = inner
            .tso
            .next(self.clock.now_ms(), count, inner.state.tso_bound_ms)?;
        self.commit_tso(&mut inner, step)?;
        Ok(step.ts)
    }

    /// Makes every later timestamp greater than `ts` (restore: the archive's backup ts may be
    /// ahead of this cluster's clock).
    pub fn advance_to(&self, ts: u64) -> Result<()> {
        let mut inner = self.lock();
        let step = inner
            .tso
            .advanced_to(ts, self.clock.now_ms(), inner.state.tso_bound_ms)?;
        self.commit_tso(&mut inner, step)
    }

    fn commit_tso(&self, inner: &mut Inner, step: tso::TsoStep) -> Result<()> {
        if let Some(bound) = step.new_bound_ms {
            let mut doc = inner.state.to_file();
            doc.tso_bound_ms = bound;
            state::save(&self.file, &doc)?;
            inner.state.tso_bound_ms = bound;
        }
        inner.tso = step.next;
        Ok(())
    }

    // ---- ids ----

    /// A new id (regions, peers, anything cluster-wide), unique for the life of the directory.
    pub fn alloc_id(&self) -> Result<u64> {
        let mut inner = self.lock();
        let (next_id, bound) = (inner.state.next_id, inner.state.id_bound);
        let id = inner.state.alloc_id();
        if inner.state.id_bound != bound {
            if let Err(e) = state::save(&self.file, &inner.state.to_file()) {
                inner.state.next_id = next_id;
                inner.state.id_bound = bound;
                return Err(e);
            }
        }
        Ok(id)
    }

    // ---- stores ----

    /// All stores by id.
    pub fn stores(&self) -> Vec<StoreMeta> {
        self.lock().state.stores.values().cloned().collect()
    }

    pub fn store(&self, id: u64) -> Option<StoreMeta> {
        self.lock().state.stores.get(&id).cloned()
    }

    pub fn set_store_address(&self, id: u64, address: &str) -> Result<()> {
        self.update(|s, _| {
            let st = s.stores.get_mut(&id).ok_or(PdError::UnknownStore(id))?;
            st.address = address.to_string();
            Ok(())
        })
    }

    pub fn set_store_up(&self, id: u64, up: bool) -> Result<()> {
        self.update(|s, _| {
            let st = s.stores.get_mut(&id).ok_or(PdError::UnknownStore(id))?;
            st.up = up;
            Ok(())
        })
    }

    // ---- regions ----

    /// Regions overlapping encoded [start, end) (empty end = +inf), in key order.
    pub fn regions_in(&self, start: &[u8], end: &[u8]) -> Vec<Region> {
        let inner = self.lock();
        let out = inner
            .state
            .regions
            .overlapping(start, end)
            .cloned()
            .collect();
        out
    }

    /// The region containing encoded `key`.
    pub fn region_by_key(&self, key: &[u8]) -> Region {
        self.lock().state.regions.by_key(key).clone()
    }

    pub fn region_by_id(&self, id: u64) -> Option<Region> {
        self.lock().state.regions.by_id(id).cloned()
    }

    /// Regions overlapping [start, end) whose leader is on `store_id`, in key order.
    pub fn leader_regions(&self, store_id: u64, start: &[u8], end: &[u8]) -> Vec<Region> {
        let inner = self.lock();
        let out = inner
            .state
            .regions
            .overlapping(start, end)
            .filter(|r| r.leader_store == store_id)
            .cloned()
            .collect();
        out
    }

    pub fn region_count(&self) -> usize {
        self.lock().state.regions.len()
    }

    /// Splits at each encoded key (in key order) unless it already starts a region; returns
    /// the ids of the new regions, which hold the left parts (right-derive: the split region
    /// keeps its id for the rightmost part; every part's version grows by one per split).
    pub fn split(&self, keys: &[Vec<u8>]) -> Result<Vec<u64>> {
        let mut keys: Vec<&Vec<u8>> = keys.iter().filter(|k| !k.is_empty()).collect();
        keys.sort();
        keys.dedup();
        {
            let inner = self.lock();
            if keys
                .iter()
                .all(|k| inner.state.regions.by_key(k).start == **k)
            {
                return Ok(Vec::new()); // nothing to split: no write
            }
        }
        self.update(|s, _| {
            let mut new_ids = Vec::new();
            for k in keys {
                if s.regions.by_key(k).start == *k {
                    continue;
                }
                let id = s.alloc_id();
                let peer = s.alloc_id();
                s.regions.split_at(k, id, peer);
                new_ids.push(id);
            }
            Ok(new_ids)
        })
    }

    /// Moves region `region_id`'s leader (the only replica here) to `to_store`, which must be
    /// up: a new peer id and conf_ver + 1, as a peer move changes the membership. A move to
    /// the current store changes nothing. The caller has moved the data first.
    pub fn transfer_leader(&self, region_id: u64, to_store: u64) -> Result<Region> {
        Ok(self
            .transfer_leaders(&[(region_id, to_store)])?
            .pop()
            .expect("one move in, one region out"))
    }

    /// [`Placement::transfer_leader`] for many regions with one write of the state.
    pub fn transfer_leaders(&self, moves: &[(u64, u64)]) -> Result<Vec<Region>> {
        self.update(|s, _| {
            let mut out = Vec::with_capacity(moves.len());
            for &(region_id, to_store) in moves {
                let store = s
                    .stores
                    .get(&to_store)
                    .ok_or(PdError::UnknownStore(to_store))?;
                if !store.up {
                    return Err(PdError::StoreDown(to_store));
                }
                let mut r = s
                    .regions
                    .by_id(region_id)
                    .cloned()
                    .ok_or(PdError::UnknownRegion(region_id))?;
                if r.leader_store != to_store {
                    r.leader_store = to_store;
                    r.peer_id = s.alloc_id();
                    r.epoch = Epoch {
                        conf_ver: r.epoch.conf_ver + 1,
                        version: r.epoch.version,
                    };
                    s.regions.replace(r.clone());
                }
                out.push(r);
            }
            Ok(out)
        })
    }

    /// Where to move the leaders of `region_ids` so they spread evenly over the up stores
    /// (see `regions::scatter_plan`); the caller moves the data, then calls
    /// [`Placement::transfer_leader`] for each entry.
    pub fn scatter_plan(&self, region_ids: &[u64]) -> Vec<(u64, u64)> {
        let inner = self.lock();
        let up: Vec<u64> = inner
            .state
            .stores
            .values()
            .filter(|s| s.up)
            .map(|s| s.id)
            .collect();
        regions::scatter_plan(&inner.state.regions, &up, region_ids)
    }

    // ---- GC safepoints ----

    /// Sets `service_id`'s safepoint for `ttl_secs` (removes it when `ttl_secs <= 0`); returns
    /// the lowest live service safepoint (the GC safepoint when none is left). Refuses a
    /// safepoint below the GC safepoint ([`PdError::SafepointBehindGc`]).
    pub fn update_service_safepoint(
        &self,
        service_id: &str,
        ttl_secs: i64,
        safepoint: u64,
    ) -> Result<u64> {
        self.update(|s, now| {
            gc::update_service(
                &mut s.services,
                s.gc_safepoint,
                service_id,
                ttl_secs,
                safepoint,
                now,
            )
        })
    }

    /// The lowest live service safepoint, if any.
    pub fn min_service_safepoint(&self) -> Option<u64> {
        gc::min_live(&self.lock().state.services, self.clock.now_ms())
    }

    /// The GC safepoint: versions below it may be collected.
    pub fn gc_safepoint(&self) -> u64 {
        self.lock().state.gc_safepoint
    }

    /// Moves the GC safepoint towards `safepoint`: never backwards, never above a live service
    /// safepoint. Returns the GC safepoint now in force.
    pub fn update_gc_safepoint(&self, safepoint: u64) -> Result<u64> {
        {
            let inner = self.lock();
            let next = gc::next_gc_safepoint(
                inner.state.gc_safepoint,
                safepoint,
                &inner.state.services,
                self.clock.now_ms(),
            );
            if next == inner.state.gc_safepoint {
                return Ok(next); // unchanged: no write
            }
        }
        self.update(|s, now| {
            s.gc_safepoint = gc::next_gc_safepoint(s.gc_safepoint, safepoint, &s.services, now);
            Ok(s.gc_safepoint)
        })
    }
}

/// A new cluster's state.
fn bootstrap(stores: u32, now_ms: u64) -> State {
    let mut s = State {
        cluster_id: rand::random::<u64>() | 1, // never 0 (0 means "unset" on the wire)
        id_bound: 1,
        next_id: 1,
        tso_bound_ms: now_ms,
        stores: (1..=u64::from(stores))
            .map(|id| {
                (
                    id,
                    StoreMeta {
                        id,
                        address: String::new(),
                        up: true,
                    },
                )
            })
            .collect(),
        regions: Default::default(),
        gc_safepoint: 0,
        services: Default::default(),
        log_tasks: Default::default(),
    };
    // Ids below the store count would look like store ids; start the allocator after them.
    s.next_id = u64::from(stores) + 1;
    let id = s.alloc_id();
    let peer_id = s.alloc_id();
    s.regions = regions::RegionMap::from_sorted(vec![Region {
        id,
        start: Vec::new(),
        end: Vec::new(),
        epoch: Epoch {
            conf_ver: 1,
            version: 1,
        },
        leader_store: 1,
        peer_id,
    }])
    .expect("one region over the whole key space is a valid map");
    s
}
