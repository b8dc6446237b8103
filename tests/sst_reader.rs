//! Integration tests of the SST reader (format/sst.md, SST-*): SSTs written by RocksDB's own
//! SstFileWriter (rocksdb crate 0.20.1 over Debian's RocksDB 7.8.3) with the option sets BR's
//! TiKV uses, read back by brkit and compared entry by entry with what was written and with
//! `sst_dump`'s scan; then damaged copies, which must give a specific error and never panic.

use std::path::Path;
use std::sync::OnceLock;

use brkit::codec::{bytes::encode_bytes, number::encode_u64_desc};
use brkit::format::sst::{KvEntry, SstReadOptions, SstReader, ValueType};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rocksdb::{BlockBasedOptions, DBCompressionType, Options, SliceTransform, SstFileWriter};

/// What the test writes: (key, op, value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Put,
    Merge,
    Delete,
}

type Kvs = Vec<(Vec<u8>, Op, Vec<u8>)>;

/// TiKV-like write-CF keys: `z` + memcomparable(user key) + descending commit ts (format/sst.md
/// SST-12), sorted, unique.
fn tikv_key(table: u64, row: u64, ts: u64) -> Vec<u8> {
    let mut raw = b"t".to_vec();
    raw.extend_from_slice(&(table ^ (1 << 63)).to_be_bytes());
    raw.extend_from_slice(b"_r");
    raw.extend_from_slice(&(row ^ (1 << 63)).to_be_bytes());
    let mut k = b"z".to_vec();
    k.extend_from_slice(&encode_bytes(&raw));
    k.extend_from_slice(&encode_u64_desc(ts));
    k
}

/// Values 0..2000 bytes, half-compressible (runs and random bytes), some empty.
fn gen_kvs(n: usize, seed: u64, ops: bool) -> Kvs {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let len = if i % 97 == 0 { 0 } else { rng.gen_range(0..2000) };
        let mut v = Vec::with_capacity(len);
        while v.len() < len {
            if rng.gen_bool(0.5) {
                let b: u8 = rng.gen();
                let run = rng.gen_range(1..64).min(len - v.len());
                v.extend(std::iter::repeat_n(b, run));
            } else {
                v.push(rng.gen());
            }
        }
        let op = match (ops, i % 11) {
            (true, 3) => Op::Delete,
            (true, 7) => Op::Merge,
            _ => Op::Put,
        };
        if op == Op::Delete {
            v.clear();
        }
        out.push((tikv_key(42, i / 3, 1_000_000 - (i % 3)), op, v));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn big_kvs() -> &'static Kvs {
    static K: OnceLock<Kvs> = OnceLock::new();
    K.get_or_init(|| gen_kvs(50_000, 7, false))
}

fn small_kvs() -> &'static Kvs {
    static K: OnceLock<Kvs> = OnceLock::new();
    K.get_or_init(|| gen_kvs(5_000, 11, true))
}

fn write_sst(path: &Path, opts: &Options, kvs: &Kvs) {
    let mut w = SstFileWriter::create(opts);
    w.open(path).expect("open SstFileWriter");
    for (k, op, v) in kvs {
        match op {
            Op::Put => w.put(k, v),
            Op::Merge => w.merge(k, v),
            Op::Delete => w.delete(k),
        }
        .expect("write entry");
    }
    w.finish().expect("finish SST");
}

/// TiKV's write CF options (facts §2.4): 32 KiB blocks, bloom 10 bits, format_version 2,
/// prefix extractor stripping the 8-byte ts (FixedSuffixSliceTransform(8) in TiKV; the crate
/// has no such transform, so a fixed prefix is used only to exercise the prefix property).
fn tikv_write_cf_options(compression: DBCompressionType) -> Options {
    let mut bb = BlockBasedOptions::default();
    bb.set_block_size(32 * 1024);
    bb.set_bloom_filter(10.0, false);
    bb.set_format_version(2);
    let mut o = Options::default();
    o.set_block_based_table_factory(&bb);
    o.set_compression_type(compression);
    o.set_prefix_extractor(SliceTransform::create_fixed_prefix(8));
    o
}

fn options(compression: DBCompressionType, format_version: i32, block_size: usize) -> Options {
    let mut bb = BlockBasedOptions::default();
    bb.set_block_size(block_size);
    bb.set_format_version(format_version);
    let mut o = Options::default();
    o.set_block_based_table_factory(&bb);
    o.set_compression_type(compression);
    o
}

fn read_all(bytes: &[u8]) -> Vec<KvEntry> {
    let r = SstReader::open(bytes).expect("open SST");
    let v: Vec<KvEntry> = r.iter().collect::<Result<_, _>>().expect("scan SST");
    assert_eq!(v.len() as u64, r.num_entries());
    v
}

fn assert_same(kvs: &Kvs, got: &[KvEntry], label: &str) {
    assert_eq!(kvs.len(), got.len(), "{label}: entry count");
    for (i, ((k, op, v), e)) in kvs.iter().zip(got).enumerate() {
        assert_eq!(&e.user_key, k, "{label}: key {i}");
        let want = match op {
            Op::Put => ValueType::Put,
            Op::Merge => ValueType::Merge,
            Op::Delete => ValueType::Delete,
        };
        assert_eq!(e.value_type, want, "{label}: type {i}");
        assert_eq!(e.seqno, 0, "{label}: SstFileWriter writes seqno 0");
        if *op != Op::Delete {
            assert_eq!(&e.value, v, "{label}: value {i}");
        }
    }
}

fn roundtrip(opts: &Options, kvs: &Kvs, label: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sst");
    write_sst(&path, opts, kvs);
    let bytes = std::fs::read(&path).unwrap();
    assert_same(kvs, &read_all(&bytes), label);
    bytes
}

#[test]
fn sst_7_default_options_uncompressed_reads_back_exactly() {
    let bytes = roundtrip(&Options::default(), small_kvs(), "default");
    let r = SstReader::open(&bytes).unwrap();
    let p = r.properties();
    assert_eq!(p.comparator, "leveldb.BytewiseComparator");
    assert_eq!(p.num_entries, small_kvs().len() as u64);
    assert_eq!(p.external_sst_file_version, Some(2));
    assert_eq!(p.global_seqno, Some(0));
}
