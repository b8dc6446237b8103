//! Full-scan throughput of brkit's SST reader against RocksDB itself (format/sst.md): a ~64 MiB
//! SST written by SstFileWriter (uncompressed and zstd), scanned (1) by `SstReader` from the
//! file's bytes and (2) by the rocksdb crate after ingesting the same file into a fresh DB
//! (ingest is setup, not timed). Throughput is in bytes of SST file.

use std::hint::black_box;
use std::path::Path;

use brkit::format::sst::SstReader;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rocksdb::{BlockBasedOptions, DBCompressionType, IngestExternalFileOptions, Options, DB};

const TARGET_RAW_BYTES: usize = 64 << 20;

fn options(c: DBCompressionType) -> Options {
    let mut bb = BlockBasedOptions::default();
    bb.set_block_size(32 * 1024);
    bb.set_format_version(5);
    let mut o = Options::default();
    o.set_block_based_table_factory(&bb);
    o.set_compression_type(c);
    o.create_if_missing(true);
    o
}

/// TiKV-like keys (`z` + memcomparable + desc ts) and 0..2000-byte half-compressible values.
fn write_sst(path: &Path, c: DBCompressionType) {
    let mut rng = StdRng::seed_from_u64(1);
    let opts = options(c);
    let mut w = rocksdb::SstFileWriter::create(&opts);
    w.open(path).unwrap();
    let mut raw = 0;
    let mut i: u64 = 0;
    let mut v = Vec::new();
    while raw < TARGET_RAW_BYTES {
        let mut user = b"t\x80\x00\x00\x00\x00\x00\x00\x2a_r".to_vec();
        user.extend_from_slice(&(i ^ (1 << 63)).to_be_bytes());
        let mut k = b"z".to_vec();
        k.extend_from_slice(&brkit::codec::bytes::encode_bytes(&user));
        k.extend_from_slice(&brkit::codec::number::encode_u64_desc(400_000_000_000 + i));
        let len = rng.gen_range(0..2000);
        v.clear();
        while v.len() < len {
            if rng.gen_bool(0.5) {
                let b: u8 = rng.gen();
                let run = rng.gen_range(1..64).min(len - v.len());
                v.extend(std::iter::repeat_n(b, run));
            } else {
                v.push(rng.gen());
            }
        }
        w.put(&k, &v).unwrap();
        raw += k.len() + v.len();
        i += 1;
    }
    w.finish().unwrap();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("sst_scan");
    group.sample_size(10);
    for (name, comp) in [
        ("none", DBCompressionType::None),
        ("zstd", DBCompressionType::Zstd),
    ] {
        let path = dir.path().join(format!("{name}.sst"));
        write_sst(&path, comp);
        let bytes = std::fs::read(&path).unwrap();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        eprintln!("{name}: SST of {} bytes", bytes.len());

        group.bench_function(format!("brkit/{name}"), |b| {
            b.iter(|| {
                let r = SstReader::open(&bytes).unwrap();
                let mut scan = r.scan();
                let mut sum = 0usize;
                while let Some(e) = scan.next_entry().unwrap() {
                    sum += e.user_key.len() + e.value.len();
                }
                black_box(sum)
            })
        });

        let db_path = dir.path().join(format!("db-{name}"));
        let db = DB::open(&options(comp), &db_path).unwrap();
        db.ingest_external_file_opts(&IngestExternalFileOptions::default(), vec![&path])
            .unwrap();
        group.bench_function(format!("rocksdb/{name}"), |b| {
            b.iter(|| {
                let mut it = db.raw_iterator();
                it.seek_to_first();
                let mut sum = 0usize;
                while it.valid() {
                    sum += it.key().unwrap().len() + it.value().unwrap().len();
                    it.next();
                }
                it.status().unwrap();
                black_box(sum)
            })
        });
        drop(db);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
