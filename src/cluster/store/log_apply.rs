//! TiKV's `ImportSST.Apply` on one store: write the events of one verified log sub-file
//! (format/log.md LOG-FILE-1, LOG-FILE-7) into the `write` or `default` column family, keeping
//! their original ts: events outside the ts window are skipped, each key is rewritten from the
//! old table prefix to the new one (REWRITE-4, REWRITE-6: decode, replace the raw prefix,
//! re-encode, same ts), only keys of the target region are kept, Put events are put and
//! Delete events delete that exact version.
//!
//! Owns only the write; reading, decrypting and verifying the sub-file is the caller's
//! (`format::logfile::decode_sub_file`), choosing the region and the window the client's.

use super::{Result, Store, StoreError};
use crate::codec::mvcc::{split_ts, DATA_PREFIX};
use crate::codec::table::{encode_key_prefix, rewrite_encoded_key, RewriteRule};
use crate::format::logfile::{events, key_ts};
use crate::format::naming::snapshot::Cf;
use rocksdb::WriteBatch;

/// Flush a write batch at this many bytes.
const BATCH_BYTES: usize = 4 << 20;

/// Rules rewritten as memcomparable prefix substitutions (the fast path of REWRITE-6).
///
/// When every rule maps a raw prefix of length `L = 8q + r` to one of the same length (table
/// rules: 9 bytes), substituting BR's legacy encoded prefixes (REWRITE-5) on the encoded key
/// gives exactly `encode(new ‖ rest)`: the first `q` groups are whole, and group `q` starts
/// with the `r` remaining prefix bytes whatever follows; same lengths keep every marker. A
/// match must also have at least `r` real (non-padding) bytes in group `q` (its marker byte
/// `0xFF - pad` at offset `9q + 8`), else padding zeros could pose as prefix bytes.
struct EncodedRules {
    /// (encoded old prefix, encoded new prefix)
    rules: Vec<(Vec<u8>, Vec<u8>)>,
    /// Offset of group q's marker, and the smallest marker with >= r real bytes (r > 0).
    marker: Option<(usize, u8)>,
}

impl EncodedRules {
    fn of(rules: &[RewriteRule]) -> Option<EncodedRules> {
        let len = rules.first()?.old_prefix.len();
        if rules
            .iter()
            .any(|r| r.old_prefix.len() != len || r.new_prefix.len() != len)
        {
            return None;
        }
        let (q, r) = (len / 8, len % 8);
        Some(EncodedRules {
            rules: rules
                .iter()
                .map(|w| {
                    (
                        encode_key_prefix(&w.old_prefix),
                        encode_key_prefix(&w.new_prefix),
                    )
                })
                .collect(),
            // r in 1..=7, so 0xF7 + r cannot overflow
            marker: (r > 0).then(|| (9 * q + 8, 0xF7 + r as u8)),
        })
    }

    /// Rewrites the encoded user key (no ts) of `key_with_ts` into `out` (`z` ‖ new ‖ ts);
    /// false when no rule matches here (the caller then takes the exact path).
    fn rewrite(&self, key_with_ts: &[u8], user_len: usize, out: &mut Vec<u8>) -> bool {
        let user = &key_with_ts[..user_len];
        if let Some((at, min)) = self.marker {
            if user.get(at).is_none_or(|&m| m < min) {
                return false;
            }
        }
        let Some((old, new)) = self.rules.iter().find(|(o, _)| user.starts_with(o)) else {
            return false;
        };
        out.clear();
        out.push(DATA_PREFIX);
        out.extend_from_slice(new);
        out.extend_from_slice(&key_with_ts[old.len()..]);
        true
    }
}

/// Which events of a sub-file one Apply takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyWindow<'a> {
    /// Events with key ts in [start_ts, restore_ts] are applied (kvproto KVMeta semantics).
    pub start_ts: u64,
    pub restore_ts: u64,
    /// The region: encoded user keys (rewritten space, no `z`, no ts) in [start, end);
    /// an empty end is +infinity.
    pub region_start: &'a [u8],
    pub region_end: &'a [u8],
}

/// What one sub-file's apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// Events whose ts lies in the window, whatever their region.
    pub in_window: u64,
    /// Of those, the events written here (inside the region).
    pub applied: u64,
    /// Σ key + value bytes written.
    pub bytes: u64,
    /// Smallest and largest applied encoded user key (rewritten space, no ts).
    pub range: Option<(Vec<u8>, Vec<u8>)>,
}

impl Store {
    /// Applies the plaintext event stream of one log sub-file of `cf` (write or default):
    /// Put events are written, Delete events remove their exact (key, ts) version. `rules`
    /// empty = keys unchanged; otherwise a key no rule matches is an error (REWRITE-4).
    pub fn apply_log_events(
        &self,
        stream: &[u8],
        cf: Cf,
        is_delete: bool,
        rules: &[RewriteRule],
        w: &ApplyWindow<'_>,
    ) -> Result<ApplyOutcome> {
        if cf == Cf::Lock {
            return Err(self.invalid("log sub-files hold only the default and write CFs".into()));
        }
        let handle = self.cf(cf)?;
        let codec = |key: &[u8], source| StoreError::Codec {
            store_id: self.store_id,
            what: format!("log event key {}", hex::encode(key)),
            source,
        };
        let mut out = ApplyOutcome::default();
        // Events of a batch are written in key order: RocksDB's memtable inserts sorted keys
        // with its sequential splice instead of a full skip-list search per key.
        let mut staged: Vec<(Vec<u8>, &[u8])> = Vec::new();
        let mut pending = 0usize;
        let mut k: Vec<u8> = Vec::new();
        let fast = EncodedRules::of(rules);
        for ev in events(stream) {
            let (key, value) = ev.map_err(|e| StoreError::Format {
                store_id: self.store_id,
                what: format!("log sub-file of the {} CF", cf.as_str()),
                source: Box::new(e),
            })?;
            let ts = key_ts(key).map_err(|e| StoreError::Format {
                store_id: self.store_id,
                what: "log event key".into(),
                source: Box::new(e),
            })?;
            if ts < w.start_ts || ts > w.restore_ts {
                continue;
            }
            out.in_window += 1;
            let (user, _) = split_ts(key).map_err(|s| codec(key, s))?;
            let user_len = user.len();
            let fast = match &fast {
                Some(f) => f.rewrite(key, user_len, &mut k),
                None if rules.is_empty() => {
                    k.clear();
                    k.push(DATA_PREFIX);
                    k.extend_from_slice(key);
                    true
                }
                None => false,
            };
            if !fast {
                let new = rewrite_encoded_key(rules, key)
                    .map_err(|s| codec(key, s))?
                    .ok_or_else(|| {
                        self.invalid(format!(
                            "log event key {} matches no rewrite rule (REWRITE-4)",
                            hex::encode(key)
                        ))
                    })?;
                k.clear();
                k.push(DATA_PREFIX);
                k.extend_from_slice(&new);
            }
            // `k` is `z` ‖ new user key ‖ ts
            let user = &k[1..k.len() - crate::codec::mvcc::TS_LEN];
            if user < w.region_start || (!w.region_end.is_empty() && user >= w.region_end) {
                continue;
            }
            match &mut out.range {
                None => out.range = Some((user.to_vec(), user.to_vec())),
                Some((lo, hi)) => {
                    if user < lo.as_slice() {
                        *lo = user.to_vec();
                    }
                    if user > hi.as_slice() {
                        *hi = user.to_vec();
                    }
                }
            }
            out.applied += 1;
            let n = k.len() + value.len();
            out.bytes += n as u64;
            pending += n;
            staged.push((k.clone(), value));
            if pending >= BATCH_BYTES {
                self.write_sorted(handle, &mut staged, is_delete)?;
                pending = 0;
            }
        }
        if !staged.is_empty() {
            self.write_sorted(handle, &mut staged, is_delete)?;
        }
        Ok(out)
    }

    /// Writes `staged` (emptied) as one batch in key order; Delete sub-files delete the exact
    /// versions. Keys are unique per (key, ts), so the order changes nothing but speed.
    fn write_sorted(
        &self,
        handle: &impl rocksdb::AsColumnFamilyRef,
        staged: &mut Vec<(Vec<u8>, &[u8])>,
        is_delete: bool,
    ) -> Result<()> {
        staged.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut batch = WriteBatch::default();
        for (k, v) in staged.drain(..) {
            if is_delete {
                batch.delete_cf(handle, &k);
            } else {
                batch.put_cf(handle, &k, v);
            }
        }
        self.write_batch(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{raw_cf, row, scan_all, temp_store, val};
    use super::*;
    use crate::codec::bytes::encode_bytes;
    use crate::codec::mvcc::encode_mvcc_key;
    use crate::codec::table::table_rule;
    use crate::codec::write::{Write, WriteType};
    use crate::format::logfile::encode_event;

    fn stream(evs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in evs {
            encode_event(&mut out, k, v).unwrap();
        }
        out
    }

    fn put_rec(start: u64, short: Option<Vec<u8>>) -> Vec<u8> {
        Write::new(WriteType::Put, start, short).encode().unwrap()
    }

    fn all<'a>() -> ApplyWindow<'a> {
        ApplyWindow {
            start_ts: 0,
            restore_ts: u64::MAX,
            region_start: b"",
            region_end: b"",
        }
    }

    #[test]
    fn rewrite_4_events_land_rewritten_with_their_ts_inside_window_and_region() {
        let (_d, s) = temp_store(1);
        let long = val(3, 400);
        let defaults = stream(&[(encode_mvcc_key(&row(5, 2), 15), long.clone())]);
        let writes = stream(&[
            (
                encode_mvcc_key(&row(5, 1), 20),
                put_rec(10, Some(b"v1".to_vec())),
            ),
            (encode_mvcc_key(&row(5, 2), 25), put_rec(15, None)),
            (
                encode_mvcc_key(&row(5, 3), 40),
                put_rec(35, Some(b"late".to_vec())),
            ),
            (
                encode_mvcc_key(&row(5, 9), 22),
                put_rec(21, Some(b"far".to_vec())),
            ),
        ]);
        let rules = [table_rule(5, 50)];
        // region of the new table's handles 1..5 only
        let (rs, re) = (encode_bytes(&row(50, 1)), encode_bytes(&row(50, 5)));
        let w = ApplyWindow {
            start_ts: 11,
            restore_ts: 30,
            region_start: &rs,
            region_end: &re,
        };
        let dw = ApplyWindow { start_ts: 0, ..w };
        let d = s
            .apply_log_events(&defaults, Cf::Default, false, &rules, &dw)
            .unwrap();
        assert_eq!((d.in_window, d.applied), (1, 1));
        let o = s
            .apply_log_events(&writes, Cf::Write, false, &rules, &w)
            .unwrap();
        // ts 40 is after restore_ts; handle 9 is outside the region
        assert_eq!((o.in_window, o.applied), (3, 2));
        let got = scan_all(&s, 100);
        assert_eq!(
            got,
            vec![(row(50, 1), b"v1".to_vec()), (row(50, 2), long)],
            "rewritten to table 50, long value joined from the default CF"
        );
        assert!(scan_all(&s, 19).is_empty(), "original commit ts kept");
    }

    #[test]
    fn rewrite_5_encoded_prefix_fast_path_equals_decode_rewrite_encode() {
        use crate::codec::table::{index_key, table_prefix};
        // table 256 ends in a 0x00 byte: an 8-byte raw key's padding must not pass for it
        let rules = [table_rule(256, 512), table_rule(5, 50)];
        let fast = EncodedRules::of(&rules).unwrap();
        let mut keys = vec![
            table_prefix(256),
            table_prefix(256)[..8].to_vec(),
            row(256, 1),
            row(256, -7),
            row(5, 1 << 40),
            index_key(256, 2, b"abcdefghijklmnopq"),
            row(6, 1),
            b"m".to_vec(),
        ];
        for n in 0..20 {
            let mut k = table_prefix(5);
            k.extend(std::iter::repeat_n(0u8, n));
            keys.push(k);
        }
        for raw in keys {
            let key = encode_mvcc_key(&raw, 7);
            let user_len = key.len() - 8;
            let mut out = Vec::new();
            let exact = rewrite_encoded_key(&rules, &key).unwrap();
            if fast.rewrite(&key, user_len, &mut out) {
                assert_eq!(Some(&out[1..]), exact.as_deref(), "{}", hex::encode(&raw));
            } else {
                assert_eq!(exact, None, "fast path missed {}", hex::encode(&raw));
            }
        }
        // rules of different lengths take the exact path only
        let mixed = [table_rule(5, 50), crate::codec::table::record_rule(6, 60)];
        assert!(EncodedRules::of(&mixed).is_none());
    }

    #[test]
    fn delete_events_remove_the_exact_version() {
        let (_d, s) = temp_store(1);
        let ev = [(
            encode_mvcc_key(&row(5, 1), 20),
            put_rec(10, Some(b"v".to_vec())),
        )];
        s.apply_log_events(&stream(&ev), Cf::Write, false, &[], &all())
            .unwrap();
        assert_eq!(raw_cf(&s, Cf::Write).len(), 1);
        let del = [(encode_mvcc_key(&row(5, 1), 20), Vec::new())];
        let o = s
            .apply_log_events(&stream(&del), Cf::Write, true, &[], &all())
            .unwrap();
        assert_eq!(o.applied, 1);
        assert!(raw_cf(&s, Cf::Write).is_empty());
    }

    #[test]
    fn rewrite_4_key_of_no_rule_and_damaged_stream_are_errors() {
        let (_d, s) = temp_store(1);
        let ev = stream(&[(
            encode_mvcc_key(&row(6, 1), 20),
            put_rec(10, Some(b"v".to_vec())),
        )]);
        let e = s
            .apply_log_events(&ev, Cf::Write, false, &[table_rule(5, 50)], &all())
            .unwrap_err();
        assert!(e.to_string().contains("REWRITE-4"), "{e}");
        let cut = &ev[..ev.len() - 1];
        assert!(s
            .apply_log_events(cut, Cf::Write, false, &[], &all())
            .is_err());
        assert!(s
            .apply_log_events(&ev, Cf::Lock, false, &[], &all())
            .is_err());
    }
}
