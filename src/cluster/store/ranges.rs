//! Whole-range operations for the placement driver: moving a region's data to another store
//! (scatter), dropping it, and sizing a range for size-based splits. Ranges are encoded user
//! keys (no `z`, no ts; empty end = +infinity) as regions hold them; every version in every CF
//! whose user key lies in the range is affected.
//!
//! Owns no MVCC logic: these work on raw RocksDB keys.

use super::mvcc::split_data_key;
use super::{data_lower, data_upper, Result, Store, CFS};
use crate::format::naming::snapshot::Cf;
use rocksdb::{ReadOptions, WriteBatch};

/// Bytes per WriteBatch when copying.
const COPY_BATCH_BYTES: usize = 8 << 20;

impl Store {
    fn bounded(&self, enc_start: &[u8], enc_end: &[u8]) -> ReadOptions {
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(data_lower(enc_start));
        ro.set_iterate_upper_bound(data_upper(enc_end));
        ro.fill_cache(false);
        ro
    }

    /// Copies every version in every CF of [enc_start, enc_end) into `dst` (from one snapshot);
    /// returns the number of RocksDB entries copied.
    pub fn copy_range_to(&self, dst: &Store, enc_start: &[u8], enc_end: &[u8]) -> Result<u64> {
        let snap = self.db.snapshot();
        let mut n = 0u64;
        for cf in CFS {
            let (src_cf, dst_cf) = (self.cf(cf)?, dst.cf(cf)?);
            let mut it = snap.raw_iterator_cf_opt(src_cf, self.bounded(enc_start, enc_end));
            it.seek(data_lower(enc_start));
            let mut batch = WriteBatch::default();
            while let (Some(k), Some(v)) = (it.key(), it.value()) {
                batch.put_cf(dst_cf, k, v);
                n += 1;
                if batch.size_in_bytes() >= COPY_BATCH_BYTES {
                    dst.write_batch(std::mem::take(&mut batch))?;
                }
                it.next();
            }
            it.status()
                .map_err(|e| self.rocks("iterating for copy", e))?;
            if !batch.is_empty() {
                dst.write_batch(batch)?;
            }
        }
        Ok(n)
    }

    /// Drops every version in every CF of [enc_start, enc_end) (RocksDB range deletions).
    pub fn delete_range(&self, enc_start: &[u8], enc_end: &[u8]) -> Result<()> {
        let mut batch = WriteBatch::default();
        let (lo, hi) = (data_lower(enc_start), data_upper(enc_end));
        for cf in CFS {
            batch.delete_range_cf(self.cf(cf)?, &lo, &hi);
        }
        self.write_batch(batch)
    }

    /// Logical size of [enc_start, enc_end): Σ (key + value) over the write and default CFs,
    /// every version. Counted by a scan (the `rocksdb` 0.20 crate exposes no approximate-size
    /// call); on an iterator error the count so far is returned and a warning logged.
    pub fn approximate_size(&self, enc_start: &[u8], enc_end: &[u8]) -> u64 {
        let snap = self.db.snapshot();
        let mut total = 0u64;
        for cf in [Cf::Write, Cf::Default] {
            let Ok(handle) = self.cf(cf) else { continue };
            let mut it = snap.raw_iterator_cf_opt(handle, self.bounded(enc_start, enc_end));
            it.seek(data_lower(enc_start));
            while let (Some(k), Some(v)) = (it.key(), it.value()) {
                total += (k.len() + v.len()) as u64;
                it.next();
            }
            if let Err(e) = it.status() {
                tracing::warn!(store = self.store_id, error = %e, "size scan stopped early");
            }
        }
        total
    }

    /// For a size-based split: `None` when [enc_start, enc_end) holds less than
    /// `target_bytes` (or a single user key); otherwise an encoded user key (no `z`, no ts)
    /// where the running size over both CFs, in key order, reaches half the total (to within
    /// `target_bytes / 64`); it is always > enc_start (and < enc_end), so both halves are
    /// non-empty. One pass: the running size is sampled as it goes, since the total is only
    /// known at the end.
    pub fn split_key(
        &self,
        enc_start: &[u8],
        enc_end: &[u8],
        target_bytes: u64,
    ) -> Result<Option<Vec<u8>>> {
        let step = (target_bytes / 64).max(1);
        let snap = self.db.snapshot();
        let mut w = snap.raw_iterator_cf_opt(self.cf(Cf::Write)?, self.bounded(enc_start, enc_end));
        let mut d =
            snap.raw_iterator_cf_opt(self.cf(Cf::Default)?, self.bounded(enc_start, enc_end));
        w.seek(data_lower(enc_start));
        d.seek(data_lower(enc_start));
        let mut acc = 0u64;
        let mut next_sample = step;
        // (running size after the entry, its encoded user key); the last entry is added below.
        let mut samples: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut last: Option<(u64, Vec<u8>)> = None;
        loop {
            // Merge the two CFs in key order (both use `z` ‖ key ‖ !ts).
            let take_write = match (w.key(), d.key()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(a), Some(b)) => a <= b,
            };
            let it = if take_write { &mut w } else { &mut d };
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            acc += (k.len() + v.len()) as u64;
            let Some((enc, _)) = split_data_key(k) else {
                return Err(self.corrupt(k, "key is not z + key + 8-byte ts"));
            };
            if acc >= next_sample {
                samples.push((acc, enc.to_vec()));
                next_sample = acc.saturating_add(step);
                last = None;
            } else {
                match last.as_mut() {
                    Some((a, e)) => {
                        *a = acc;
                        e.clear();
                        e.extend_from_slice(enc);
                    }
                    None => last = Some((acc, enc.to_vec())),
                }
            }
            it.next();
        }
        w.status()
            .map_err(|e| self.rocks("iterating write CF", e))?;
        d.status()
            .map_err(|e| self.rocks("iterating default CF", e))?;
        if acc < target_bytes.max(1) {
            return Ok(None);
        }
        samples.extend(last);
        let half = acc / 2;
        Ok(samples
            .into_iter()
            .find(|(a, enc)| *a >= half && enc.as_slice() > enc_start)
            .map(|(_, enc)| enc))
    }
}
