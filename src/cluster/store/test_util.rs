//! Helpers shared by the store's tests: temporary stores, TiDB-like keys and values, raw CF
//! dumps, and `sst_dump --command=scan` as an independent SST reader.

use super::{Mutation, Store};
use crate::codec::table::record_key_int;
use crate::format::naming::snapshot::Cf;
use std::path::Path;

pub(crate) fn temp_store(id: u64) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join(format!("store-{id}")), id).unwrap();
    (dir, s)
}

/// Row key of table `t`, handle `h`.
pub(crate) fn row(t: i64, h: i64) -> Vec<u8> {
    record_key_int(t, h)
}

/// A value of `len` bytes derived from `seed` (long ones land in the default CF).
pub(crate) fn val(seed: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seed.wrapping_mul(31).wrapping_add(i as u64 * 7) % 251) as u8)
        .collect()
}

pub(crate) fn put(s: &Store, key: &[u8], value: &[u8], start: u64, commit: u64) {
    let m = Mutation {
        key: key.to_vec(),
        value: Some(value.to_vec()),
    };
    s.apply(&[m], start, commit).unwrap();
}

pub(crate) fn del(s: &Store, key: &[u8], start: u64, commit: u64) {
    let m = Mutation {
        key: key.to_vec(),
        value: None,
    };
    s.apply(&[m], start, commit).unwrap();
}

/// Every RocksDB entry of `cf`, in order.
pub(crate) fn raw_cf(s: &Store, cf: Cf) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut it = s.db.raw_iterator_cf(s.cf(cf).unwrap());
    it.seek_to_first();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        out.push((k.to_vec(), v.to_vec()));
        it.next();
    }
    out
}

/// Writes a raw RocksDB entry (for records `apply` never writes, e.g. Lock/Rollback).
pub(crate) fn raw_put(s: &Store, cf: Cf, k: &[u8], v: &[u8]) {
    s.db.put_cf(s.cf(cf).unwrap(), k, v).unwrap();
}

/// Every visible (raw key, value) of the whole keyspace at `ts`.
pub(crate) fn scan_all(s: &Store, ts: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    s.scan(b"", b"", ts, &mut |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        true
    })
    .unwrap();
    out
}

#[path = "../../../tests/support/sst_dump.rs"]
mod sst_dump;

/// `sst_dump --command=scan --output_hex` of `path` as (key, value), the one parser of
/// tests/support/sst_dump.rs.
pub(crate) fn sst_dump_scan(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    sst_dump::sst_dump_scan(path)
        .into_iter()
        .map(|(k, _, _, v)| (k, v))
        .collect()
}
