//! The running cluster's shared state: the placement driver, the stores, and the operations
//! that span them: timestamps behind the commit barrier, transactions routed to region
//! leaders, reads and checksums across regions, size-based splits and the data moves of a
//! scatter. All synchronous (RocksDB blocks); the gRPC services call in from
//! `spawn_blocking`.

use crate::cluster::catalog::{CatalogError, MetaKv};
use crate::cluster::error::{ClusterError, Result};
use crate::cluster::logbackup::{LogBackup, LogBackupConfig};
use crate::cluster::pd::Placement;
use crate::cluster::store::{Mutation, Store};
use crate::cluster::Region;
use crate::codec::bytes::{decode_bytes_exact, encode_bytes};
use crate::format::checksum::Checksum;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// One store of the cluster.
pub struct StoreHandle {
    pub id: u64,
    pub store: Arc<Store>,
    pub addr: Mutex<Option<SocketAddr>>,
    up: AtomicBool,
}

impl StoreHandle {
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    pub fn addr_string(&self) -> String {
        self.addr
            .lock()
            .unwrap()
            .map(|a| a.to_string())
            .unwrap_or_default()
    }

    /// `StoreUnavailable` unless the store is up.
    pub fn check_up(&self) -> Result<()> {
        if self.is_up() {
            Ok(())
        } else {
            Err(ClusterError::StoreUnavailable {
                store_id: self.id,
                addr: self.addr_string(),
                detail: "the store is stopped".into(),
            })
        }
    }
}

/// A raw [start, end).
type RawRange = (Vec<u8>, Vec<u8>);

/// A region and the raw [start, end) of a request inside it.
type RawPiece = (Region, Vec<u8>, Vec<u8>);

/// Everything the services share.
pub struct ClusterState {
    pub dir: PathBuf,
    pub pd: Placement,
    pub stores: Vec<Arc<StoreHandle>>,
    /// Serialises commits and read-timestamp allocation: a timestamp handed out for reading is
    /// taken after every earlier commit finished, so reads at it see them all.
    commit: Mutex<()>,
    /// Held for writing while a region's data moves between stores; reads hold it shared.
    moves: RwLock<()>,
    written: Mutex<HashMap<u64, u64>>,
    failpoints: Mutex<HashMap<String, String>>,
    pub region_max_bytes: u64,
    /// Log backup observers and the running task's flush loops.
    pub log: LogBackup,
}

/// `muts` without the earlier writes of keys written again later (order kept otherwise).
/// Allocates only when a key repeats.
fn last_write_per_key(muts: Vec<Mutation>) -> Vec<Mutation> {
    let repeats = {
        let mut seen = std::collections::HashSet::with_capacity(muts.len());
        !muts.iter().all(|m| seen.insert(m.key.as_slice()))
    };
    if !repeats {
        return muts;
    }
    let mut seen = std::collections::HashSet::with_capacity(muts.len());
    let mut out: Vec<Mutation> = muts
        .into_iter()
        .rev()
        .filter(|m| seen.insert(m.key.clone()))
        .collect();
    out.reverse();
    out
}

/// Encoded region key of a raw key (empty stays empty: the key-space edge).
pub fn enc(raw: &[u8]) -> Vec<u8> {
    if raw.is_empty() {
        Vec::new()
    } else {
        encode_bytes(raw)
    }
}

/// Raw key of an encoded region boundary.
pub fn raw_of(encoded: &[u8]) -> Result<Vec<u8>> {
    if encoded.is_empty() {
        return Ok(Vec::new());
    }
    Ok(decode_bytes_exact(encoded)?)
}

impl ClusterState {
    pub fn new(
        dir: PathBuf,
        pd: Placement,
        stores: Vec<Arc<Store>>,
        region_max_bytes: u64,
    ) -> Self {
        Self::with_log_config(
            dir,
            pd,
            stores,
            region_max_bytes,
            LogBackupConfig::default(),
        )
    }

    /// [`ClusterState::new`] with log backup sizes (tests use small ones).
    pub fn with_log_config(
        dir: PathBuf,
        pd: Placement,
        stores: Vec<Arc<Store>>,
        region_max_bytes: u64,
        log: LogBackupConfig,
    ) -> Self {
        let log = LogBackup::new(&stores, log);
        let stores = stores
            .into_iter()
            .map(|s| {
                Arc::new(StoreHandle {
                    id: s.store_id(),
                    store: s,
                    addr: Mutex::new(None),
                    up: AtomicBool::new(true),
                })
            })
            .collect();
        ClusterState {
            dir,
            pd,
            stores,
            commit: Mutex::new(()),
            moves: RwLock::new(()),
            written: Mutex::default(),
            failpoints: Mutex::default(),
            region_max_bytes,
            log,
        }
    }

    pub fn store(&self, id: u64) -> Result<&Arc<StoreHandle>> {
        self.stores
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| ClusterError::Invalid(format!("no store {id} in this cluster")))
    }

    pub fn set_store_up(&self, id: u64, up: bool) -> Result<()> {
        self.store(id)?.up.store(up, Ordering::SeqCst);
        self.pd.set_store_up(id, up)?;
        Ok(())
    }

    pub fn failpoint(&self, name: &str) -> Option<String> {
        self.failpoints.lock().unwrap().get(name).cloned()
    }

    pub fn set_failpoint(&self, name: &str, value: &str) {
        let mut f = self.failpoints.lock().unwrap();
        if value.is_empty() {
            f.remove(name);
        } else {
            f.insert(name.to_string(), value.to_string());
        }
    }

    /// Takes a failpoint that counts down: "N" fires N times (then clears), anything else
    /// fires every time.
    pub fn fire_failpoint(&self, name: &str) -> bool {
        let mut f = self.failpoints.lock().unwrap();
        let Some(v) = f.get(name).cloned() else {
            return false;
        };
        if let Ok(n) = v.parse::<u64>() {
            if n <= 1 {
                f.remove(name);
            } else {
                f.insert(name.to_string(), (n - 1).to_string());
            }
        }
        true
    }

    /// A timestamp for reading: every commit that finished before is visible at it.
    pub fn read_ts(&self) -> Result<u64> {
        let _g = self.commit.lock().unwrap();
        Ok(self.pd.tso(1)?)
    }

    /// `count` timestamps (PD's Tso); behind the commit barrier like `read_ts`.
    pub fn tso(&self, count: u32) -> Result<u64> {
        let _g = self.commit.lock().unwrap();
        Ok(self.pd.tso(count.max(1))?)
    }

    /// Runs `f` behind the commit barrier: no commit runs meanwhile, and every timestamp
    /// taken inside is above every commit that finished and below every later one (log
    /// backup's resolved ts).
    pub fn under_commit_barrier<R>(&self, f: impl FnOnce() -> R) -> R {
        let _g = self.commit.lock().unwrap();
        f()
    }

    /// One transaction: start_ts, writes on every leader store involved, commit_ts. A store
    /// with a log backup task observes what it applies (under this barrier).
    pub fn commit(&self, muts: Vec<Mutation>) -> Result<(u64, u64)> {
        // A key written twice keeps its last value (as TiDB's membuffer does): the store's
        // batch would keep only the last anyway, and log backup must observe what is stored.
        let muts = last_write_per_key(muts);
        let _g = self.commit.lock().unwrap();
        let start_ts = self.pd.tso(1)?;
        // Per store: its mutations and the index of each one's region in `regions`.
        let mut by_store: HashMap<u64, (Vec<Mutation>, Vec<usize>)> = HashMap::new();
        let mut by_region: HashMap<u64, (usize, u64)> = HashMap::new();
        let mut regions: Vec<Region> = Vec::new();
        for m in muts {
            let ek = enc(&m.key);
            let idx = match regions.iter().position(|r| r.contains(&ek)) {
                Some(i) => i,
                None => {
                    regions.push(self.pd.region_by_key(&ek));
                    regions.len() - 1
                }
            };
            let r = &regions[idx];
            by_region.entry(r.id).or_insert((idx, 0)).1 +=
                (m.key.len() + m.value.as_ref().map_or(0, |v| v.len())) as u64;
            let e = by_store.entry(r.leader_store).or_default();
            e.0.push(m);
            e.1.push(idx);
        }
        for id in by_store.keys() {
            self.store(*id)?.check_up()?;
        }
        let commit_ts = self.pd.tso(1)?;
        for (id, (ms, idx)) in by_store {
            let store = &self.store(id)?.store;
            match self.log.observer(id).and_then(|o| o.recording()) {
                Some(mut rec) => {
                    let r = store.apply_observed(&ms, start_ts, commit_ts, &mut |i, cf, k, v| {
                        rec.record(&ms[i].key, &regions[idx[i]], cf, k, v)
                    });
                    if r.is_err() {
                        // Observed but not stored: rebuild the buffer from MVCC instead.
                        rec.mark_broken();
                    }
                    r?
                }
                None => store.apply(&ms, start_ts, commit_ts)?,
            }
        }
        let full: Vec<u64> = {
            let mut w = self.written.lock().unwrap();
            by_region
                .into_iter()
                .filter_map(|(id, (_, n))| {
                    let e = w.entry(id).or_default();
                    *e += n;
                    (*e >= self.region_max_bytes).then_some(id)
                })
                .collect()
        };
        for id in full {
            self.split_by_size(id)?;
        }
        Ok((start_ts, commit_ts))
    }

    /// PD's size-based split: cut a full region near its middle and balance the new part.
    fn split_by_size(&self, region_id: u64) -> Result<()> {
        self.written.lock().unwrap().remove(&region_id);
        let Some(r) = self.pd.region_by_id(region_id) else {
            return Ok(());
        };
        let store = &self.store(r.leader_store)?.store;
        let Some(key) = store.split_key(&r.start, &r.end, self.region_max_bytes / 2)? else {
            return Ok(());
        };
        if !r.contains(&key) || key == r.start {
            return Ok(());
        }
        let new_ids = self.pd.split(&[key])?;
        self.scatter_locked(&new_ids)
    }

    /// Splits at encoded keys (no-op for existing boundaries); returns the new region ids.
    pub fn split(&self, keys: &[Vec<u8>]) -> Result<Vec<u64>> {
        let _g = self.moves.write().unwrap();
        Ok(self.pd.split(keys)?)
    }

    /// Moves region leaders (and their data) as PD's scatter plan says. Behind the commit
    /// barrier: a commit routed to the old leader between the copy and the leader change
    /// would be lost, and log backup scans each region on arrival.
    pub fn scatter(&self, region_ids: &[u64]) -> Result<()> {
        let _c = self.commit.lock().unwrap();
        self.scatter_locked(region_ids)
    }

    /// [`ClusterState::scatter`] for a caller holding the commit barrier.
    fn scatter_locked(&self, region_ids: &[u64]) -> Result<()> {
        let _g = self.moves.write().unwrap();
        for (id, to) in self.pd.scatter_plan(region_ids) {
            let Some(r) = self.pd.region_by_id(id) else {
                continue;
            };
            if r.leader_store == to {
                continue;
            }
            let src = self.store(r.leader_store)?;
            let dst = self.store(to)?;
            if !src.is_up() || !dst.is_up() {
                continue;
            }
            src.store.copy_range_to(&dst.store, &r.start, &r.end)?;
            let moved = self.pd.transfer_leader(id, to)?;
            src.store.delete_range(&r.start, &r.end)?;
            crate::cluster::logbackup::on_region_arrival(self, to, &moved);
        }
        Ok(())
    }

    /// Regions overlapping raw [start, end) with the raw intersection of each.
    fn raw_pieces(&self, start: &[u8], end: &[u8]) -> Result<Vec<RawPiece>> {
        let (es, ee) = (enc(start), enc(end));
        let mut out = Vec::new();
        for r in self.pd.regions_in(&es, &ee) {
            let (cs, ce) = r.clip(&es, &ee);
            out.push((r, raw_of(&cs)?, raw_of(&ce)?));
        }
        Ok(out)
    }

    /// Latest values in raw [start, end) at `ts`, in key order; `f` returns false to stop.
    pub fn scan(
        &self,
        start: &[u8],
        end: &[u8],
        ts: u64,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let _g = self.moves.read().unwrap();
        let mut go_on = true;
        for (r, s, e) in self.raw_pieces(start, end)? {
            let h = self.store(r.leader_store)?;
            h.check_up()?;
            h.store.scan(&s, &e, ts, &mut |k, v| {
                go_on = f(k, v);
                go_on
            })?;
            if !go_on {
                break;
            }
        }
        Ok(())
    }

    /// ADMIN CHECKSUM over raw ranges at `ts` with checksum rewrite rules.
    pub fn checksum(
        &self,
        ranges: &[(Vec<u8>, Vec<u8>)],
        ts: u64,
        rules: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<Checksum> {
        let _g = self.moves.read().unwrap();
        // Each store sums its own pieces on its own thread (as TiKV stores do in parallel);
        // the aggregate is order-independent (XOR and sums, CSUM-2).
        let mut by_store: Vec<(Arc<StoreHandle>, Vec<RawRange>)> = Vec::new();
        for (s, e) in ranges {
            for (r, cs, ce) in self.raw_pieces(s, e)? {
                let h = self.store(r.leader_store)?;
                h.check_up()?;
                match by_store.iter_mut().find(|(x, _)| x.id == h.id) {
                    Some((_, pieces)) => pieces.push((cs, ce)),
                    None => by_store.push((h.clone(), vec![(cs, ce)])),
                }
            }
        }
        let sums: Vec<Result<Checksum>> = std::thread::scope(|scope| {
            let workers: Vec<_> = by_store
                .iter()
                .map(|(h, pieces)| scope.spawn(move || Ok(h.store.checksum(pieces, ts, rules)?)))
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join().unwrap_or_else(|_| {
                        Err(ClusterError::Invalid("a checksum worker panicked".into()))
                    })
                })
                .collect()
        });
        let mut total = Checksum::default();
        for c in sums {
            total.merge(&c?);
        }
        Ok(total)
    }

    /// TiDB's GC worker: advance the GC safepoint (capped by service safepoints) and collect.
    pub fn gc(&self, safe_point: u64) -> Result<(u64, u64)> {
        let target = if safe_point == 0 {
            let now = self.read_ts()?;
            let phys = crate::codec::tso::physical(now).saturating_sub(10 * 60 * 1000);
            crate::codec::tso::compose(phys, 0)
        } else {
            safe_point
        };
        let sp = self.pd.update_gc_safepoint(target)?;
        let mut removed = 0;
        for s in &self.stores {
            if s.is_up() {
                removed += s.store.gc(sp)?;
            }
        }
        Ok((sp, removed))
    }
}

/// The catalog writes and reads its meta keys through the cluster's transactions.
impl MetaKv for ClusterState {
    fn scan(
        &self,
        start: &[u8],
        end: &[u8],
        ts: u64,
    ) -> std::result::Result<Vec<(Vec<u8>, Vec<u8>)>, CatalogError> {
        let mut out = Vec::new();
        ClusterState::scan(self, start, end, ts, &mut |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            true
        })
        .map_err(|e| CatalogError::Kv(e.to_string()))?;
        Ok(out)
    }

    fn commit(
        &self,
        muts: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> std::result::Result<u64, CatalogError> {
        let muts = muts
            .into_iter()
            .map(|(key, value)| Mutation { key, value })
            .collect();
        ClusterState::commit(self, muts)
            .map(|(_, c)| c)
            .map_err(|e| CatalogError::Kv(e.to_string()))
    }

    fn current_ts(&self) -> std::result::Result<u64, CatalogError> {
        self.read_ts().map_err(|e| CatalogError::Kv(e.to_string()))
    }
}
