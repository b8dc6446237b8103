//! MVCC garbage collection as TiKV's GC worker does it: per user key, every version newer than
//! the safepoint stays; of the versions at or below it, the newest Put stays (it is what a read
//! at the safepoint sees), everything older goes, a newest Delete goes too, and Lock/Rollback
//! records at or below the safepoint go. A removed Put without a short value takes its
//! default-CF value with it (MVCC-16).
//!
//! Owns only the GC pass; reads live in `mvcc.rs`.

use super::mvcc::split_data_key;
use super::{Result, Store};
use crate::codec::mvcc::DATA_PREFIX;
use crate::codec::number::encode_u64_desc;
use crate::codec::write::{WriteRef, WriteType};
use crate::format::naming::snapshot::Cf;
use rocksdb::{ReadOptions, WriteBatch};

/// Deletes per WriteBatch.
const BATCH_OPS: usize = 64 * 1024;

impl Store {
    /// Removes the versions no read at or after `safepoint` can see; returns how many write
    /// records were removed.
    pub fn gc(&self, safepoint: u64) -> Result<u64> {
        let (wcf, dcf) = (self.cf(Cf::Write)?, self.cf(Cf::Default)?);
        let snap = self.db.snapshot();
        let mut ro = ReadOptions::default();
        ro.fill_cache(false);
        let mut it = snap.raw_iterator_cf_opt(wcf, ro);
        it.seek([DATA_PREFIX]);
        let mut batch = WriteBatch::default();
        let mut removed = 0u64;
        let mut cur: Vec<u8> = Vec::new();
        // Set once the newest Put/Delete at or below the safepoint of `cur` was seen.
        let mut remove_older = false;
        let mut dkey = Vec::new();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let Some((enc, ts)) = split_data_key(k) else {
                return Err(self.corrupt(k, "write CF key is not z + key + 8-byte ts"));
            };
            if enc != cur.as_slice() {
                cur.clear();
                cur.extend_from_slice(enc);
                remove_older = false;
            }
            if ts > safepoint {
                it.next();
                continue;
            }
            let w = WriteRef::parse(v).map_err(|e| self.corrupt(k, e.to_string()))?;
            let remove = if remove_older {
                true
            } else {
                match w.write_type {
                    WriteType::Put => {
                        remove_older = true;
                        false
                    }
                    WriteType::Delete => {
                        remove_older = true;
                        true
                    }
                    WriteType::Lock | WriteType::Rollback => true,
                }
            };
            if remove {
                batch.delete_cf(wcf, k);
                if w.write_type == WriteType::Put && w.short_value.is_none() {
                    dkey.clear();
                    dkey.push(DATA_PREFIX);
                    dkey.extend_from_slice(enc);
                    dkey.extend_from_slice(&encode_u64_desc(w.start_ts));
                    batch.delete_cf(dcf, &dkey);
                }
                removed += 1;
                if batch.len() >= BATCH_OPS {
                    self.write_batch(std::mem::take(&mut batch))?;
                }
            }
            it.next();
        }
        it.status()
            .map_err(|e| self.rocks("iterating write CF", e))?;
        if !batch.is_empty() {
            self.write_batch(batch)?;
        }
        Ok(removed)
    }
}
