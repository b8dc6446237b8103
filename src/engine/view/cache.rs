//! The view's one memory budget (VIEW-15): a least-recently-used cache of decoded output
//! chunks of every lazy file, bounded in bytes, plus the counters tests and benchmarks read
//! (decoding passes started, rows rendered, cache hits and misses, peak cached bytes).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// (file id, segment, chunk)
pub(crate) type ChunkKey = (u64, usize, usize);

/// What the cache and the decoders did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// The byte budget.
    pub max_bytes: u64,
    /// Bytes cached now, and the most ever cached at once.
    pub bytes: u64,
    pub peak_bytes: u64,
    pub chunks: u64,
    pub hits: u64,
    pub misses: u64,
    /// Decoding passes started (a pass renders one segment from one resume point).
    pub passes: u64,
    /// Rows rendered by all passes (a row rendered twice counts twice).
    pub rows_rendered: u64,
}

#[derive(Default)]
struct Lru {
    map: HashMap<ChunkKey, (Arc<[u8]>, u64)>,
    order: BTreeMap<u64, ChunkKey>,
    tick: u64,
    bytes: u64,
    peak: u64,
}

pub(crate) struct ChunkCache {
    max_bytes: u64,
    lru: Mutex<Lru>,
    hits: AtomicU64,
    misses: AtomicU64,
    passes: AtomicU64,
    rows: AtomicU64,
}

impl ChunkCache {
    pub fn new(max_bytes: u64) -> ChunkCache {
        ChunkCache {
            max_bytes,
            lru: Mutex::new(Lru::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            passes: AtomicU64::new(0),
            rows: AtomicU64::new(0),
        }
    }

    /// The chunk size for this budget: 1 MiB, or a sixteenth of a small budget (at least
    /// 4 KiB), so the cache always holds several chunks (VIEW-15).
    pub fn chunk_bytes(&self) -> usize {
        (self.max_bytes / 16).clamp(4 << 10, 1 << 20) as usize
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.lru.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, key: &ChunkKey) -> Option<Arc<[u8]>> {
        let mut l = self.lock();
        l.tick += 1;
        let tick = l.tick;
        let Some((data, old)) = l.map.get_mut(key).map(|(d, t)| {
            let old = *t;
            *t = tick;
            (d.clone(), old)
        }) else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        l.order.remove(&old);
        l.order.insert(tick, *key);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(data)
    }

    /// Caches a chunk, evicting the least recently used ones to stay within the budget. A
    /// chunk larger than the whole budget is not kept.
    pub fn put(&self, key: ChunkKey, data: Arc<[u8]>) {
        let len = data.len() as u64;
        if len > self.max_bytes {
            return;
        }
        let mut l = self.lock();
        if let Some((old, t)) = l.map.remove(&key) {
            l.bytes -= old.len() as u64;
            l.order.remove(&t);
        }
        while l.bytes + len > self.max_bytes {
            let Some((_, victim)) = l.order.pop_first() else {
                break;
            };
            if let Some((d, _)) = l.map.remove(&victim) {
                l.bytes -= d.len() as u64;
            }
        }
        l.tick += 1;
        let tick = l.tick;
        l.order.insert(tick, key);
        l.map.insert(key, (data, tick));
        l.bytes += len;
        l.peak = l.peak.max(l.bytes);
    }

    /// Drops every chunk of one file (when the file is dropped).
    pub fn forget_file(&self, file: u64) {
        let mut l = self.lock();
        let keys: Vec<ChunkKey> = l.map.keys().filter(|k| k.0 == file).copied().collect();
        for k in keys {
            if let Some((d, t)) = l.map.remove(&k) {
                l.bytes -= d.len() as u64;
                l.order.remove(&t);
            }
        }
    }

    pub fn pass_started(&self) {
        self.passes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn rows_rendered(&self, n: u64) {
        self.rows.fetch_add(n, Ordering::Relaxed);
    }

    pub fn stats(&self) -> CacheStats {
        let l = self.lock();
        CacheStats {
            max_bytes: self.max_bytes,
            bytes: l.bytes,
            peak_bytes: l.peak,
            chunks: l.map.len() as u64,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            passes: self.passes.load(Ordering::Relaxed),
            rows_rendered: self.rows.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_15_cache_evicts_least_recently_used_within_budget() {
        let c = ChunkCache::new(100);
        let chunk = |n: usize| Arc::from(vec![0u8; n]);
        c.put((1, 0, 0), chunk(40));
        c.put((1, 0, 1), chunk(40));
        assert!(c.get(&(1, 0, 0)).is_some()); // 0 is now the most recent
        c.put((1, 0, 2), chunk(40)); // evicts 1
        assert!(c.get(&(1, 0, 1)).is_none());
        assert!(c.get(&(1, 0, 0)).is_some());
        assert!(c.get(&(1, 0, 2)).is_some());
        let s = c.stats();
        assert!(s.bytes <= 100 && s.peak_bytes <= 100, "{s:?}");
        c.put((2, 0, 0), chunk(101)); // larger than the budget: not kept
        assert!(c.get(&(2, 0, 0)).is_none());
        c.forget_file(1);
        assert_eq!(c.stats().bytes, 0);
    }

    #[test]
    fn view_15_chunk_size_follows_the_budget() {
        assert_eq!(ChunkCache::new(64 << 20).chunk_bytes(), 1 << 20);
        assert_eq!(ChunkCache::new(256 << 10).chunk_bytes(), 16 << 10);
        assert_eq!(ChunkCache::new(1000).chunk_bytes(), 4 << 10);
    }
}
