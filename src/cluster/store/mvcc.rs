//! MVCC reads over one RocksDB snapshot: the newest visible version of each user key in a
//! range (MVCC-17 with MVCC-18, DATA-4), with its user value read from the write record's short
//! value or, in step, from a second iterator over the default CF (MVCC-16). `scan`, `get`,
//! `checksum` and the backup endpoint all walk the store with this one [`Scanner`].
//!
//! Owns the visibility rules of reads; writes live in `mod.rs`, GC in `gc.rs`.

use super::{data_lower, data_upper, encode_bound, Result, Store};
use crate::codec::bytes::decode_bytes_exact;
use crate::codec::mvcc::{DATA_PREFIX, TS_LEN};
use crate::codec::number::encode_u64_desc;
use crate::codec::write::{WriteRef, WriteType};
use crate::format::checksum::Checksum;
use crate::format::naming::snapshot::Cf;
use rocksdb::{DBRawIteratorWithThreadMode, ReadOptions, SnapshotWithThreadMode, DB};

/// How many `next()` calls to try before a `seek()` when skipping versions (as TiKV's
/// `SEEK_BOUND`): a few versions per key are cheaper to step over than to seek past.
const SEEK_BOUND: usize = 8;

type RawIter<'a> = DBRawIteratorWithThreadMode<'a, DB>;

/// Splits a RocksDB key of a versioned CF into (encoded user key, ts); `None` when it is not
/// `z` ‖ key ‖ 8-byte ts (MVCC-6, MVCC-7).
pub(super) fn split_data_key(k: &[u8]) -> Option<(&[u8], u64)> {
    let rest = k.strip_prefix(&[DATA_PREFIX])?;
    let cut = rest.len().checked_sub(TS_LEN)?;
    let (enc, ts) = rest.split_at(cut);
    let ts: [u8; 8] = ts.try_into().ok()?;
    Some((enc, !u64::from_be_bytes(ts)))
}

/// What a scan returns per user key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ScanPolicy {
    /// Versions with commit_ts <= begin_ts are not visible (0 = from the beginning).
    pub begin_ts: u64,
    /// The read ts: versions with commit_ts > read_ts are not visible.
    pub read_ts: u64,
    /// Return a newest visible Delete instead of hiding the key (incremental backup, DATA-4).
    pub include_deletes: bool,
}

/// A cursor yielding, per user key in [lower, upper), the version chosen by [`ScanPolicy`].
/// Fields of the current entry are public and reused between entries (no allocation per key
/// once the buffers have grown, except the raw key decode).
pub(super) struct Scanner<'a> {
    store: &'a Store,
    write: RawIter<'a>,
    default: RawIter<'a>,
    policy: ScanPolicy,
    default_positioned: bool,
    /// Encoded user key (no `z`, no ts) of the current entry.
    pub enc: Vec<u8>,
    /// Raw (decoded) user key of the current entry.
    pub raw: Vec<u8>,
    /// The write-CF RocksDB key (`z` ‖ enc ‖ !commit_ts) and value (the record, verbatim).
    pub write_key: Vec<u8>,
    pub write_value: Vec<u8>,
    pub commit_ts: u64,
    pub write_type: WriteType,
    /// The default-CF key and value when the record has no short value.
    pub default_key: Vec<u8>,
    pub has_default: bool,
    /// The user value: short value, default-CF value, or empty for a Delete.
    pub value: Vec<u8>,
    seek_buf: Vec<u8>,
}

impl<'a> Scanner<'a> {
    /// A scanner over encoded (no `z`) [enc_start, enc_end) (empty end = +infinity), reading
    /// from `snap`.
    pub fn new(
        store: &'a Store,
        snap: &'a SnapshotWithThreadMode<'a, DB>,
        enc_start: &[u8],
        enc_end: &[u8],
        policy: ScanPolicy,
    ) -> Result<Scanner<'a>> {
        let iter = |cf: Cf| -> Result<RawIter<'a>> {
            let mut ro = ReadOptions::default();
            ro.set_iterate_lower_bound(data_lower(enc_start));
            ro.set_iterate_upper_bound(data_upper(enc_end));
            ro.fill_cache(false);
            Ok(snap.raw_iterator_cf_opt(store.cf(cf)?, ro))
        };
        let mut write = iter(Cf::Write)?;
        write.seek(data_lower(enc_start));
        Ok(Scanner {
            store,
            write,
            default: iter(Cf::Default)?,
            policy,
            default_positioned: false,
            enc: Vec::new(),
            raw: Vec::new(),
            write_key: Vec::new(),
            write_value: Vec::new(),
            commit_ts: 0,
            write_type: WriteType::Put,
            default_key: Vec::new(),
            has_default: false,
            value: Vec::new(),
            seek_buf: Vec::new(),
        })
    }

    /// Moves to the next user key with a chosen version; false at the end of the range.
    pub fn next(&mut self) -> Result<bool> {
        loop {
            let Some(k) = self.write.key() else {
                self.write
                    .status()
                    .map_err(|e| self.store.rocks("iterating write CF", e))?;
                return Ok(false);
            };
            let Some((enc, _)) = split_data_key(k) else {
                return Err(self
                    .store
                    .corrupt(k, "write CF key is not z + key + 8-byte ts"));
            };
            self.enc.clear();
            self.enc.extend_from_slice(enc);
            if self.choose_version()? {
                self.skip_rest_of_key()?;
                self.load_value()?;
                return Ok(true);
            }
        }
    }

    /// With the iterator on the first version of `self.enc`: walks its versions newest first
    /// (MVCC-17) and stops on the chosen one (true, fields filled) or leaves the iterator on
    /// the next user key (false).
    fn choose_version(&mut self) -> Result<bool> {
        let p = self.policy;
        let mut steps = 0;
        loop {
            let Some(k) = self.write.key() else {
                return Ok(false);
            };
            let Some((enc, ts)) = split_data_key(k) else {
                return Err(self
                    .store
                    .corrupt(k, "write CF key is not z + key + 8-byte ts"));
            };
            if enc != self.enc.as_slice() {
                return Ok(false);
            }
            if ts > p.read_ts {
                steps += 1;
                if steps > SEEK_BOUND {
                    self.seek_buf.clear();
                    self.seek_buf.push(DATA_PREFIX);
                    self.seek_buf.extend_from_slice(&self.enc);
                    self.seek_buf.extend_from_slice(&encode_u64_desc(p.read_ts));
                    self.write.seek(&self.seek_buf);
                    steps = 0;
                } else {
                    self.write.next();
                }
                continue;
            }
            if ts <= p.begin_ts {
                return self.skip_rest_of_key().map(|_| false);
            }
            let v = self.write.value().unwrap_or_default();
            let w = WriteRef::parse(v).map_err(|e| self.store.corrupt(k, e.to_string()))?;
            if !w.passes_gc_fence(p.read_ts) {
                return self.skip_rest_of_key().map(|_| false); // MVCC-18
            }
            match w.write_type {
                WriteType::Put => {}
                WriteType::Delete if p.include_deletes => {}
                WriteType::Delete => return self.skip_rest_of_key().map(|_| false),
                WriteType::Lock | WriteType::Rollback => {
                    self.write.next();
                    continue;
                }
            }
            self.write_key.clear();
            self.write_key.extend_from_slice(k);
            self.write_value.clear();
            self.write_value.extend_from_slice(v);
            self.commit_ts = ts;
            self.write_type = w.write_type;
            self.value.clear();
            self.has_default = w.write_type == WriteType::Put && w.short_value.is_none();
            if self.has_default {
                self.default_key.clear();
                self.default_key.push(DATA_PREFIX);
                self.default_key.extend_from_slice(&self.enc);
                self.default_key
                    .extend_from_slice(&encode_u64_desc(w.start_ts));
            } else if let Some(sv) = w.short_value {
                self.value.extend_from_slice(sv);
            }
            return Ok(true);
        }
    }

    /// Leaves the write iterator on the first key of the next user key.
    fn skip_rest_of_key(&mut self) -> Result<()> {
        for _ in 0..SEEK_BOUND {
            match self.write.key().and_then(split_data_key) {
                Some((enc, _)) if enc == self.enc.as_slice() => self.write.next(),
                _ => return self.status(),
            }
        }
        // Many versions: seek past the oldest possible one (ts 0 = `FF`×8).
        self.seek_buf.clear();
        self.seek_buf.push(DATA_PREFIX);
        self.seek_buf.extend_from_slice(&self.enc);
        self.seek_buf.extend_from_slice(&[0xFF; 8]);
        self.write.seek(&self.seek_buf);
        if self.write.key() == Some(self.seek_buf.as_slice()) {
            self.write.next();
        }
        self.status()
    }

    fn status(&self) -> Result<()> {
        self.write
            .status()
            .map_err(|e| self.store.rocks("iterating write CF", e))
    }

    /// Decodes the raw key and reads the default-CF value, moving the default iterator
    /// forward in step with the write iterator (targets only increase).
    fn load_value(&mut self) -> Result<()> {
        self.raw = decode_bytes_exact(&self.enc).map_err(|e| {
            self.store
                .corrupt(&self.write_key, format!("user key does not decode: {e}"))
        })?;
        if !self.has_default {
            return Ok(());
        }
        let target = self.default_key.as_slice();
        if !self.default_positioned {
            self.default.seek(target);
            self.default_positioned = true;
        } else {
            let mut steps = 0;
            while let Some(k) = self.default.key() {
                if k >= target {
                    break;
                }
                if steps == SEEK_BOUND {
                    self.default.seek(target);
                    break;
                }
                self.default.next();
                steps += 1;
            }
        }
        match (self.default.key(), self.default.value()) {
            (Some(k), Some(v)) if k == target => {
                self.value.extend_from_slice(v);
                Ok(())
            }
            _ => {
                self.default
                    .status()
                    .map_err(|e| self.store.rocks("iterating default CF", e))?;
                Err(self.store.corrupt(
                    &self.write_key,
                    format!(
                        "write record has no short value but default CF has no key {}",
                        hex::encode(target)
                    ),
                ))
            }
        }
    }
}

impl Store {
    /// Calls `f(raw key, value)` for the latest committed Put with commit_ts <= `ts` of every
    /// raw key in [raw_start, raw_end) (empty end = +infinity), in key order; a newest Delete
    /// hides the key, Lock/Rollback records are skipped (MVCC-17). `f` returns false to stop.
    pub fn scan(
        &self,
        raw_start: &[u8],
        raw_end: &[u8],
        ts: u64,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let snap = self.db.snapshot();
        let (s, e) = (encode_bound(raw_start, false), encode_bound(raw_end, true));
        let mut sc = Scanner::new(self, &snap, &s, &e, read_policy(ts))?;
        while sc.next()? {
            if !f(&sc.raw, &sc.value) {
                break;
            }
        }
        Ok(())
    }

    /// The value of raw `key` at `ts` (latest committed Put with commit_ts <= ts), if any.
    pub fn get(&self, key: &[u8], ts: u64) -> Result<Option<Vec<u8>>> {
        let snap = self.db.snapshot();
        let s = encode_bound(key, false);
        // Above every version of `key` (ts 0 = `FF`×8) and below any other encoded key
        // (encodings are prefix-free, MVCC-1).
        let mut e = s.clone();
        e.extend_from_slice(&[0xFF; 8]);
        e.push(0);
        let mut sc = Scanner::new(self, &snap, &s, &e, read_policy(ts))?;
        Ok(if sc.next()? {
            Some(std::mem::take(&mut sc.value))
        } else {
            None
        })
    }

    /// TiDB's ADMIN CHECKSUM over the visible versions at `ts` of raw `ranges` (CSUM-2):
    /// crc64(raw key ‖ value) XOR, kvs, bytes. With `rules` (old_prefix, new_prefix), a key
    /// starting with a new prefix (the longest that matches) is summed as old prefix ‖ rest, so
    /// a restored table gives the original cluster's numbers (CSUM-6).
    pub fn checksum(
        &self,
        ranges: &[(Vec<u8>, Vec<u8>)],
        ts: u64,
        rules: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<Checksum> {
        let snap = self.db.snapshot();
        let mut sum = Checksum::default();
        for (start, end) in ranges {
            let (s, e) = (encode_bound(start, false), encode_bound(end, true));
            let mut sc = Scanner::new(self, &snap, &s, &e, read_policy(ts))?;
            while sc.next()? {
                let rule = rules
                    .iter()
                    .filter(|(_, new)| sc.raw.starts_with(new))
                    .max_by_key(|(_, new)| new.len());
                match rule {
                    Some((old, new)) => {
                        sum.update_rewritten(&sc.raw, &sc.value, old, new);
                    }
                    None => sum.update(&sc.raw, &sc.value),
                }
            }
        }
        Ok(sum)
    }
}

/// A snapshot read at `ts`: from the beginning, Deletes hide keys.
fn read_policy(ts: u64) -> ScanPolicy {
    ScanPolicy {
        begin_ts: 0,
        read_ts: ts,
        include_deletes: false,
    }
}
