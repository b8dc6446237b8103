//! The incremental MVCC scan log backup uses to rebuild events it may have lost (a crash, a
//! failed buffer, a region arriving from another store): every committed version in a range
//! with `after_ts < commit_ts <= upto_ts`, as the write-CF entry and, for a Put without a short
//! value, the default-CF entry it points to (MVCC-16), in the form the observer gets them
//! from `apply_observed` (keys without `z`, format/log.md LOG-FILE-7).
//!
//! Owns only this scan; it relies on GC being held at the task's checkpoint (a service
//! safepoint), so every version newer than `after_ts` is still there.

use super::mvcc::split_data_key;
use super::{data_lower, data_upper, Result, Store};
use crate::codec::bytes::decode_bytes_exact;
use crate::codec::mvcc::DATA_PREFIX;
use crate::codec::number::encode_u64_desc;
use crate::codec::write::{WriteRef, WriteType};
use crate::format::naming::snapshot::Cf;
use rocksdb::ReadOptions;

/// What the scan reports per entry: (raw user key, cf, key without `z`, value).
pub type VersionSink<'a> = dyn FnMut(&[u8], Cf, &[u8], &[u8]) + 'a;

impl Store {
    /// Reports every Put/Delete version in encoded [enc_start, enc_end) (empty end =
    /// +infinity) with `after_ts < commit_ts <= upto_ts`, from one snapshot; returns how many
    /// write records were reported. Lock and Rollback records are skipped (they carry no data).
    pub fn scan_versions(
        &self,
        enc_start: &[u8],
        enc_end: &[u8],
        after_ts: u64,
        upto_ts: u64,
        sink: &mut VersionSink<'_>,
    ) -> Result<u64> {
        let (wcf, dcf) = (self.cf(Cf::Write)?, self.cf(Cf::Default)?);
        let snap = self.db.snapshot();
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(data_lower(enc_start));
        ro.set_iterate_upper_bound(data_upper(enc_end));
        ro.fill_cache(false);
        let mut it = snap.raw_iterator_cf_opt(wcf, ro);
        it.seek(data_lower(enc_start));
        let mut n = 0u64;
        let mut raw_of: (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
        let mut dkey = Vec::new();
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let Some((enc, ts)) = split_data_key(k) else {
                return Err(self.corrupt(k, "write CF key is not z + key + 8-byte ts"));
            };
            if ts <= after_ts || ts > upto_ts {
                it.next();
                continue;
            }
            let w = WriteRef::parse(v).map_err(|e| self.corrupt(k, e.to_string()))?;
            if !matches!(w.write_type, WriteType::Put | WriteType::Delete) {
                it.next();
                continue;
            }
            if raw_of.0.as_slice() != enc {
                raw_of.0 = enc.to_vec();
                raw_of.1 = decode_bytes_exact(enc)
                    .map_err(|e| self.corrupt(k, format!("user key: {e}")))?;
            }
            if w.write_type == WriteType::Put && w.short_value.is_none() {
                dkey.clear();
                dkey.push(DATA_PREFIX);
                dkey.extend_from_slice(enc);
                dkey.extend_from_slice(&encode_u64_desc(w.start_ts));
                let dv = snap
                    .get_cf(dcf, &dkey)
                    .map_err(|e| self.rocks("reading default CF", e))?;
                match dv {
                    Some(dv) => sink(&raw_of.1, Cf::Default, &dkey[1..], &dv),
                    None => {
                        return Err(self
                            .corrupt(k, format!("no default-CF value at start_ts {}", w.start_ts)))
                    }
                }
            }
            sink(&raw_of.1, Cf::Write, &k[1..], v);
            n += 1;
            it.next();
        }
        it.status()
            .map_err(|e| self.rocks("iterating write CF", e))?;
        Ok(n)
    }
}
