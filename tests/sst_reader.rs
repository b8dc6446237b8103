//! Integration tests of the SST reader (format/sst.md, SST-*): SSTs written by RocksDB's own
//! SstFileWriter (rocksdb crate 0.20.1 over Debian's RocksDB 7.8.3) with the option sets BR's
//! TiKV uses, read back by brkit and compared entry by entry with what was written and with
//! `sst_dump`'s scan; then damaged copies, which must give a specific error and never panic.

mod support;

use std::path::Path;
use std::sync::OnceLock;
use support::sst_dump_scan;

use brkit::codec::{bytes::encode_bytes, number::encode_u64_desc};
use brkit::format::sst::{KvEntry, SstReadOptions, SstReader, ValueType};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, DBCompressionType, DataBlockIndexType, Options,
    SliceTransform, SstFileWriter,
};

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
        let len = if i % 97 == 0 {
            0
        } else {
            rng.gen_range(0..2000)
        };
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

const COMPRESSIONS: [DBCompressionType; 4] = [
    DBCompressionType::None,
    DBCompressionType::Snappy,
    DBCompressionType::Lz4,
    DBCompressionType::Zstd,
];

fn compression_name(c: DBCompressionType) -> &'static str {
    match c {
        DBCompressionType::None => "NoCompression",
        DBCompressionType::Snappy => "Snappy",
        DBCompressionType::Lz4 => "LZ4",
        DBCompressionType::Zstd => "ZSTD",
        _ => "other",
    }
}

#[test]
fn sst_7_default_options_read_back_exactly_with_types_and_properties() {
    let bytes = roundtrip(&Options::default(), small_kvs(), "default");
    let r = SstReader::open(&bytes).unwrap();
    let p = r.properties();
    assert_eq!(p.comparator, "leveldb.BytewiseComparator");
    assert_eq!(p.num_entries, small_kvs().len() as u64);
    let deletes = small_kvs().iter().filter(|e| e.1 == Op::Delete).count() as u64;
    let merges = small_kvs().iter().filter(|e| e.1 == Op::Merge).count() as u64;
    assert!(deletes > 0 && merges > 0);
    assert_eq!(p.num_deletions, deletes);
    assert_eq!(p.num_merge_operands, merges);
    assert_eq!(p.external_sst_file_version, Some(2));
    assert_eq!(p.global_seqno, Some(0));
    assert_eq!(p.num_data_blocks as usize, r.data_blocks().len());
    assert!(r.meta_blocks().contains_key("rocksdb.properties"));
}

#[test]
fn sst_5_every_compression_with_tikv_write_cf_options_50k_entries() {
    for c in COMPRESSIONS {
        let label = format!("tikv write cf {c:?}");
        let bytes = roundtrip(&tikv_write_cf_options(c), big_kvs(), &label);
        let r = SstReader::open(&bytes).unwrap();
        assert_eq!(r.footer().format_version, 2, "{label}");
        assert_eq!(r.properties().compression, compression_name(c), "{label}");
        assert_eq!(r.properties().num_entries, 50_000, "{label}");
        assert!(r.properties().filter_policy.contains("bloom"), "{label}");
        assert!(
            r.meta_blocks().keys().any(|k| k.contains("filter")),
            "{label}"
        );
        assert_eq!(
            r.properties().prefix_extractor,
            "rocksdb.FixedPrefix.8",
            "{label}"
        );
    }
}

#[test]
fn sst_2_every_format_version_and_compression_reads_back() {
    for fv in 0..=5 {
        for c in COMPRESSIONS {
            let label = format!("format_version {fv} {c:?}");
            let bytes = roundtrip(&options(c, fv, 4096), small_kvs(), &label);
            let r = SstReader::open(&bytes).unwrap();
            // RocksDB 7.8 writes a requested format_version 0 as 1 (observed: footer says 1).
            assert_eq!(r.footer().format_version, fv.max(1) as u32, "{label}");
            // format_version >= 4 delta-encodes index values (SST-9).
            assert_eq!(
                r.properties().index_value_is_delta_encoded,
                fv >= 4,
                "{label}"
            );
        }
    }
}

/// Rewrites a format_version 1 footer (crc32c) as the legacy footer: same blocks, 48-byte footer.
fn to_legacy_footer(bytes: &[u8]) -> Vec<u8> {
    let n = bytes.len();
    let footer = &bytes[n - 53..];
    assert_eq!(footer[0], 1, "legacy footer implies crc32c");
    assert_eq!(&footer[41..45], &1u32.to_le_bytes());
    let mut out = bytes[..n - 53].to_vec();
    out.extend_from_slice(&footer[1..41]);
    out.extend_from_slice(&0xdb47_7524_8b80_fb57u64.to_le_bytes());
    out
}

#[test]
fn sst_1_legacy_footer_format_version_0_reads_back() {
    let kvs = put_kvs();
    let dir = tempfile::tempdir().unwrap();
    // RocksDB 7.8 no longer writes format_version 0 (asked for 0 it writes 1 with XXH3), so the
    // legacy footer is made from a format_version 1 crc32c file: same blocks, legacy framing of
    // lz4 (8-byte size prefix, SST-5), only the footer differs.
    for compression in [0, 1, 4, 7] {
        let label = format!("legacy footer, compression {compression}");
        let path = dir.path().join(format!("l{compression}.sst"));
        c_api::write_sst(&path, 1, compression, 1, &kvs);
        let legacy = to_legacy_footer(&std::fs::read(&path).unwrap());
        let r = SstReader::open(&legacy).expect(&label);
        assert_eq!(r.footer().format_version, 0, "{label}");
        let got: Vec<KvEntry> = r.iter().collect::<Result<_, _>>().expect(&label);
        assert_eq!(got.len(), kvs.len(), "{label}");
        for ((k, v), e) in kvs.iter().zip(&got) {
            assert_eq!((&e.user_key, &e.value), (k, v), "{label}");
        }
    }
}

fn put_kvs() -> Vec<(Vec<u8>, Vec<u8>)> {
    small_kvs()
        .iter()
        .filter(|e| e.1 == Op::Put)
        .map(|e| (e.0.clone(), e.2.clone()))
        .collect()
}

#[test]
fn sst_9_two_level_index_hash_index_and_data_block_hash_index() {
    let mut variants: Vec<(&str, Options)> = Vec::new();
    for fv in [2, 5] {
        let mut bb = BlockBasedOptions::default();
        bb.set_format_version(fv);
        bb.set_block_size(1024);
        bb.set_metadata_block_size(512);
        bb.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
        let mut o = Options::default();
        o.set_block_based_table_factory(&bb);
        variants.push(("two-level", o));
    }
    let mut bb = BlockBasedOptions::default();
    bb.set_index_type(BlockBasedIndexType::HashSearch);
    let mut o = Options::default();
    o.set_prefix_extractor(SliceTransform::create_fixed_prefix(4));
    o.set_block_based_table_factory(&bb);
    variants.push(("hash index", o));
    let mut bb = BlockBasedOptions::default();
    bb.set_data_block_index_type(DataBlockIndexType::BinaryAndHash);
    bb.set_block_restart_interval(4);
    bb.set_index_block_restart_interval(8);
    let mut o = Options::default();
    o.set_block_based_table_factory(&bb);
    variants.push(("data block hash index", o));
    for (label, o) in &variants {
        let bytes = roundtrip(o, small_kvs(), label);
        let r = SstReader::open(&bytes).unwrap();
        if *label == "two-level" {
            assert_eq!(r.properties().index_type, Some(2), "{label}");
            assert!(r.properties().index_partitions > 1, "{label}");
        }
    }
}

#[test]
fn sst_7_single_entry_and_empty_value_files() {
    let one: Kvs = vec![(b"zk".to_vec(), Op::Put, b"v".to_vec())];
    roundtrip(&Options::default(), &one, "single entry");
    let empty_values: Kvs = (0..100u32)
        .map(|i| (format!("z{i:05}").into_bytes(), Op::Put, Vec::new()))
        .collect();
    for c in COMPRESSIONS {
        roundtrip(&options(c, 5, 4096), &empty_values, "empty values");
    }
    let huge: Kvs = vec![
        (b"za".to_vec(), Op::Put, vec![7u8; 3 << 20]),
        (b"zb".to_vec(), Op::Put, vec![]),
    ];
    for c in COMPRESSIONS {
        roundtrip(&options(c, 5, 4096), &huge, "3 MiB value");
    }
}

/// Block checksum types are not exposed by the rocksdb crate 0.20.1; these go through the
/// RocksDB C API that the crate links (librocksdb 7.8.3).
#[allow(unsafe_code)]
mod c_api {
    use std::ffi::{c_char, c_int, c_void, CStr, CString};

    extern "C" {
        fn rocksdb_options_create() -> *mut c_void;
        fn rocksdb_options_destroy(o: *mut c_void);
        fn rocksdb_options_set_compression(o: *mut c_void, t: c_int);
        fn rocksdb_options_set_block_based_table_factory(o: *mut c_void, t: *mut c_void);
        fn rocksdb_block_based_options_create() -> *mut c_void;
        fn rocksdb_block_based_options_destroy(t: *mut c_void);
        fn rocksdb_block_based_options_set_checksum(t: *mut c_void, c: c_char);
        fn rocksdb_block_based_options_set_format_version(t: *mut c_void, v: c_int);
        fn rocksdb_envoptions_create() -> *mut c_void;
        fn rocksdb_envoptions_destroy(e: *mut c_void);
        fn rocksdb_sstfilewriter_create(e: *const c_void, o: *const c_void) -> *mut c_void;
        fn rocksdb_sstfilewriter_open(w: *mut c_void, name: *const c_char, err: *mut *mut c_char);
        fn rocksdb_sstfilewriter_put(
            w: *mut c_void,
            k: *const c_char,
            kl: usize,
            v: *const c_char,
            vl: usize,
            err: *mut *mut c_char,
        );
        fn rocksdb_sstfilewriter_delete_range(
            w: *mut c_void,
            b: *const c_char,
            bl: usize,
            e: *const c_char,
            el: usize,
            err: *mut *mut c_char,
        );
        fn rocksdb_sstfilewriter_finish(w: *mut c_void, err: *mut *mut c_char);
        fn rocksdb_sstfilewriter_destroy(w: *mut c_void);
    }

    fn check(err: *mut c_char) {
        if !err.is_null() {
            // SAFETY: RocksDB returns a NUL-terminated message it allocated.
            let msg = unsafe { CStr::from_ptr(err) }
                .to_string_lossy()
                .into_owned();
            panic!("rocksdb C API: {msg}");
        }
    }

    /// Writes `kvs` (puts) with the given checksum type byte, compression and format_version.
    pub fn write_sst(
        path: &std::path::Path,
        checksum: u8,
        compression: c_int,
        fv: c_int,
        kvs: &[(Vec<u8>, Vec<u8>)],
    ) {
        write_sst_with_range_dels(path, checksum, compression, fv, kvs, &[])
    }

    /// As [`write_sst`], plus range deletions `[begin, end)` (after the puts).
    pub fn write_sst_with_range_dels(
        path: &std::path::Path,
        checksum: u8,
        compression: c_int,
        fv: c_int,
        kvs: &[(Vec<u8>, Vec<u8>)],
        range_dels: &[(Vec<u8>, Vec<u8>)],
    ) {
        let name = CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: plain C API calls on objects created and destroyed here, in the documented
        // order; every buffer outlives the call it is passed to.
        unsafe {
            let t = rocksdb_block_based_options_create();
            rocksdb_block_based_options_set_checksum(t, checksum as c_char);
            rocksdb_block_based_options_set_format_version(t, fv);
            let o = rocksdb_options_create();
            rocksdb_options_set_block_based_table_factory(o, t);
            rocksdb_options_set_compression(o, compression);
            let e = rocksdb_envoptions_create();
            let w = rocksdb_sstfilewriter_create(e, o);
            let mut err = std::ptr::null_mut();
            rocksdb_sstfilewriter_open(w, name.as_ptr(), &mut err);
            check(err);
            for (k, v) in kvs {
                rocksdb_sstfilewriter_put(
                    w,
                    k.as_ptr().cast(),
                    k.len(),
                    v.as_ptr().cast(),
                    v.len(),
                    &mut err,
                );
                check(err);
            }
            for (b, e) in range_dels {
                rocksdb_sstfilewriter_delete_range(
                    w,
                    b.as_ptr().cast(),
                    b.len(),
                    e.as_ptr().cast(),
                    e.len(),
                    &mut err,
                );
                check(err);
            }
            rocksdb_sstfilewriter_finish(w, &mut err);
            check(err);
            rocksdb_sstfilewriter_destroy(w);
            rocksdb_envoptions_destroy(e);
            rocksdb_options_destroy(o);
            rocksdb_block_based_options_destroy(t);
        }
    }
}

#[test]
fn sst_4_every_checksum_type_verifies() {
    let kvs = put_kvs();
    let dir = tempfile::tempdir().unwrap();
    for checksum in 0u8..=4 {
        // 0 none, 1 snappy, 4 lz4, 7 zstd (RocksDB CompressionType values)
        for compression in [0, 1, 4, 7] {
            for fv in [2, 5] {
                let label = format!("checksum {checksum} compression {compression} fv {fv}");
                let path = dir
                    .path()
                    .join(format!("c{checksum}-{compression}-{fv}.sst"));
                c_api::write_sst(&path, checksum, compression, fv, &kvs);
                let bytes = std::fs::read(&path).unwrap();
                let r = SstReader::open(&bytes).expect(&label);
                let want = [
                    brkit::format::sst::ChecksumType::None,
                    brkit::format::sst::ChecksumType::Crc32c,
                    brkit::format::sst::ChecksumType::XxHash32,
                    brkit::format::sst::ChecksumType::XxHash64,
                    brkit::format::sst::ChecksumType::Xxh3,
                ][checksum as usize];
                assert_eq!(r.footer().checksum, want, "{label}");
                let got: Vec<KvEntry> = r.iter().collect::<Result<_, _>>().expect(&label);
                assert_eq!(got.len(), kvs.len(), "{label}");
                for ((k, v), e) in kvs.iter().zip(&got) {
                    assert_eq!((&e.user_key, &e.value), (k, v), "{label}");
                }
                if checksum != 0 {
                    // A flipped byte in the first data block is caught (SST-4).
                    let mut bad = bytes.clone();
                    let h = r.data_blocks()[0];
                    bad[h.offset as usize + 3] ^= 0x10;
                    let r2 = SstReader::open(&bad).unwrap();
                    let err = r2.iter().find_map(|e| e.err()).expect(&label);
                    assert_eq!(err.rule, Some("SST-4"), "{label}: {err}");
                }
            }
        }
    }
}

#[test]
fn sst_11_range_deletions_are_counted_but_not_scanned() {
    let kvs = put_kvs();
    let dels = vec![
        (b"a".to_vec(), b"b".to_vec()),
        (b"x".to_vec(), b"y".to_vec()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rd.sst");
    c_api::write_sst_with_range_dels(&path, 4, 0, 5, &kvs, &dels);
    let bytes = std::fs::read(&path).unwrap();
    let r = SstReader::open(&bytes).unwrap();
    assert_eq!(r.properties().num_range_deletions, 2);
    assert!(r.meta_blocks().contains_key("rocksdb.range_del"));
    let got: Vec<KvEntry> = r.iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(got.len(), kvs.len());
    let rd = r.range_deletions().unwrap();
    let rd: Vec<(Vec<u8>, Vec<u8>)> = rd.into_iter().map(|d| (d.begin, d.end)).collect();
    assert_eq!(rd, dels);
}

#[test]
fn sst_7_matches_sst_dump_scan() {
    let dir = tempfile::tempdir().unwrap();
    for c in COMPRESSIONS {
        let path = dir.path().join("d.sst");
        write_sst(&path, &options(c, 5, 4096), small_kvs());
        let dump = sst_dump_scan(&path);
        let bytes = std::fs::read(&path).unwrap();
        let ours = read_all(&bytes);
        assert_eq!(
            dump.len(),
            ours.len(),
            "{c:?}: sst_dump and brkit entry counts"
        );
        for (i, (d, o)) in dump.iter().zip(&ours).enumerate() {
            assert_eq!(d.0, o.user_key, "{c:?} key {i}");
            assert_eq!(d.1, o.seqno, "{c:?} seq {i}");
            assert_eq!(d.2, o.value_type.as_byte(), "{c:?} type {i}");
            assert_eq!(d.3, o.value, "{c:?} value {i}");
        }
    }
}

// ---- damaged input: a specific error, never a panic ----

fn sample_sst(c: DBCompressionType) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sst");
    write_sst(&path, &options(c, 5, 4096), small_kvs());
    std::fs::read(&path).unwrap()
}

/// Opens and scans; the first error, if any.
fn open_and_scan(bytes: &[u8], verify: bool) -> Option<brkit::format::FormatError> {
    let opts = SstReadOptions {
        verify_checksums: verify,
    };
    let r = match SstReader::open_with(bytes, opts) {
        Ok(r) => r,
        Err(e) => return Some(e),
    };
    let mut scan = r.scan();
    loop {
        match scan.next_entry() {
            Ok(Some(_)) => {}
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    }
}

#[test]
fn sst_1_truncated_files_fail_at_open() {
    let bytes = sample_sst(DBCompressionType::Lz4);
    let len = bytes.len();
    for cut in [
        0,
        1,
        8,
        47,
        48,
        52,
        53,
        100,
        len / 2,
        len - 53,
        len - 8,
        len - 1,
    ] {
        let err = open_and_scan(&bytes[..cut], true).unwrap_or_else(|| panic!("cut {cut}"));
        assert!(
            matches!(err.rule, Some("SST-1") | Some("SST-2") | Some("SST-3")),
            "cut at {cut}: {err}"
        );
    }
}

#[test]
fn sst_4_bit_flip_in_data_block_names_the_block() {
    for c in COMPRESSIONS {
        let bytes = sample_sst(c);
        let r = SstReader::open(&bytes).unwrap();
        let h = r.data_blocks()[r.data_blocks().len() / 2];
        let mut bad = bytes.clone();
        bad[h.offset as usize + h.size as usize / 2] ^= 0x01;
        let err = open_and_scan(&bad, true).expect("flip must be detected");
        assert_eq!(err.rule, Some("SST-4"), "{c:?}: {err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("offset {}", h.offset)),
            "{c:?}: {msg}"
        );
        assert!(msg.contains("data block"), "{msg}");
    }
}

#[test]
fn sst_1_bad_magic_is_rejected() {
    let mut bytes = sample_sst(DBCompressionType::None);
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    let err = SstReader::open(&bytes).unwrap_err();
    assert_eq!(err.rule, Some("SST-1"), "{err}");
    assert!(err.to_string().contains("magic"), "{err}");
}

#[test]
fn sst_2_unknown_format_version_is_rejected() {
    for v in [0u32, 6, 7, 99, u32::MAX] {
        let mut bytes = sample_sst(DBCompressionType::None);
        let n = bytes.len();
        bytes[n - 12..n - 8].copy_from_slice(&v.to_le_bytes());
        let err = SstReader::open(&bytes).unwrap_err();
        assert_eq!(err.rule, Some("SST-2"), "version {v}: {err}");
        assert!(
            err.to_string().contains(&format!("unknown version {v} ")),
            "version {v}: {err}"
        );
    }
}

#[test]
fn sst_4_unknown_checksum_type_is_rejected() {
    let mut bytes = sample_sst(DBCompressionType::None);
    let n = bytes.len();
    bytes[n - 53] = 9;
    let err = SstReader::open(&bytes).unwrap_err();
    assert_eq!(err.rule, Some("SST-4"), "{err}");
}

#[test]
fn sst_1_garbage_is_rejected() {
    let mut rng = StdRng::seed_from_u64(3);
    for len in [0usize, 10, 53, 1000, 100_000] {
        let g: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        assert!(SstReader::open(&g).is_err(), "garbage of {len} bytes");
    }
}

#[test]
fn sst_4_verify_checksums_false_skips_data_block_checks() {
    let bytes = sample_sst(DBCompressionType::None);
    let r = SstReader::open(&bytes).unwrap();
    // Flip a byte of the last value of the first block: no structure changes.
    let h = r.data_blocks()[0];
    let mut bad = bytes.clone();
    // the restart array starts at size - 4 - 4*n; its 8 bytes before are value bytes
    let block = &bytes[h.offset as usize..(h.offset + h.size) as usize];
    let n = u32::from_le_bytes(block[block.len() - 4..].try_into().unwrap()) as usize;
    let last_value_byte = h.offset as usize + block.len() - 4 - 4 * n - 1;
    bad[last_value_byte] ^= 0x55;
    assert_eq!(open_and_scan(&bad, true).unwrap().rule, Some("SST-4"));
    assert!(open_and_scan(&bad, false).is_none());
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn small_sst() -> &'static Vec<u8> {
        static S: OnceLock<Vec<u8>> = OnceLock::new();
        S.get_or_init(|| {
            let kvs = gen_kvs(300, 5, true);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.sst");
            write_sst(&path, &options(DBCompressionType::Lz4, 5, 1024), &kvs);
            std::fs::read(&path).unwrap()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn sst_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = open_and_scan(&bytes, true);
            let _ = open_and_scan(&bytes, false);
        }

        #[test]
        fn sst_random_flips_never_panic(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8),
            cut in any::<prop::sample::Index>(),
            do_cut in any::<bool>(),
        ) {
            let mut b = small_sst().clone();
            for (i, x) in flips {
                let i = i.index(b.len());
                b[i] ^= x;
            }
            if do_cut {
                let c = cut.index(b.len());
                b.truncate(c);
            }
            let _ = open_and_scan(&b, true);
            let _ = open_and_scan(&b, false);
        }
    }
}

/// Every `example kind=sst-footer` line of format/sst.md decodes to the fields it states
/// (SST-1, SST-2).
#[test]
fn sst_1_spec_footer_examples_decode() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/format/sst.md"))
        .expect("format/sst.md");
    let mut n = 0;
    let mut in_block = false;
    for line in spec.lines() {
        if line.starts_with("```example kind=sst-footer") {
            in_block = true;
            continue;
        }
        if line.starts_with("```") {
            in_block = false;
            continue;
        }
        if !in_block {
            continue;
        }
        let (hex_part, want) = line.split_once(" => ").expect(line);
        let bytes = hex::decode(hex_part).expect(line);
        let f = brkit::format::sst::Footer::decode(&bytes).expect(line);
        let got = format!(
            "fv={} checksum={:?} metaindex={}+{} index={}+{}",
            f.format_version,
            f.checksum,
            f.metaindex.offset,
            f.metaindex.size,
            f.index.offset,
            f.index.size
        );
        assert_eq!(got, want, "{line}");
        n += 1;
    }
    assert!(n > 0, "no sst-footer examples in format/sst.md");
}

/// Prints the footer example line of a fresh default SST (used to write format/sst.md).
#[test]
#[ignore]
fn print_footer_example() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.sst");
    let kvs: Kvs = vec![(b"zk".to_vec(), Op::Put, b"v".to_vec())];
    write_sst(&path, &options(DBCompressionType::None, 5, 4096), &kvs);
    let b = std::fs::read(&path).unwrap();
    let f = brkit::format::sst::Footer::decode(&b).unwrap();
    println!(
        "{} => fv={} checksum={:?} metaindex={}+{} index={}+{}",
        hex::encode(&b[b.len() - 53..]),
        f.format_version,
        f.checksum,
        f.metaindex.offset,
        f.metaindex.size,
        f.index.offset,
        f.index.size
    );
}

/// Swapping two equal-length keys inside an uncompressed, checksum-free file keeps every
/// structure valid but breaks the order: the scan reports SST-14.
#[test]
fn sst_14_out_of_order_keys_are_reported() {
    let kvs: Vec<(Vec<u8>, Vec<u8>)> = (0..50u32)
        .map(|i| (format!("zkey{i:04}").into_bytes(), b"v".to_vec()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.sst");
    c_api::write_sst(&path, 0, 0, 5, &kvs);
    let mut bytes = std::fs::read(&path).unwrap();
    // Restart interval 16: entry 0 stores the full key "zkey0000"; make it "zkey9000".
    let at = bytes.windows(8).position(|w| w == b"zkey0000").unwrap();
    bytes[at + 4] = b'9';
    let err = open_and_scan(&bytes, true).expect("order break must be found");
    assert_eq!(err.rule, Some("SST-14"), "{err}");
}
