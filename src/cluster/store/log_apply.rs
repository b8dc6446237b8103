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
use crate::codec::table::{rewrite_encoded_key, RewriteRule};
use crate::format::logfile::{events, key_ts};
use crate::format::naming::snapshot::Cf;
use rocksdb::WriteBatch;

/// Flush a write batch at this many bytes.
const BATCH_BYTES: usize = 4 << 20;

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
        let mut batch = WriteBatch::default();
        let mut pending = 0usize;
        let mut k: Vec<u8> = Vec::new();
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
            let rewritten;
            let new: &[u8] = if rules.is_empty() {
                key
            } else {
                rewritten = rewrite_encoded_key(rules, key)
                    .map_err(|s| codec(key, s))?
                    .ok_or_else(|| {
                        self.invalid(format!(
                            "log event key {} matches no rewrite rule (REWRITE-4)",
                            hex::encode(key)
                        ))
                    })?;
                &rewritten
            };
            let (user, _) = split_ts(new).map_err(|s| codec(key, s))?;
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
            k.clear();
            k.push(DATA_PREFIX);
            k.extend_from_slice(new);
            if is_delete {
                batch.delete_cf(handle, &k);
            } else {
                batch.put_cf(handle, &k, value);
            }
            out.applied += 1;
            let n = k.len() + value.len();
            out.bytes += n as u64;
            pending += n;
            if pending >= BATCH_BYTES {
                self.write_batch(std::mem::take(&mut batch))?;
                pending = 0;
            }
        }
        if pending > 0 || !batch.is_empty() {
            self.write_batch(batch)?;
        }
        Ok(out)
    }
}
