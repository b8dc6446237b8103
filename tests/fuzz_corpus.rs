//! Replays every saved fuzz input (`fuzz/corpus/<target>/*`) and every past crasher
//! (`fuzz/regressions/<target>/*`) through the same entry points the fuzz targets use
//! (`brkit::fuzzing`), so stable `cargo test` covers them. A target with no corpus is an error:
//! the corpus is part of the repository.

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("naming", brkit::fuzzing::naming),
    ("backupmeta", brkit::fuzzing::backupmeta),
    ("metafile", brkit::fuzzing::metafile),
    ("lock", brkit::fuzzing::lock),
    ("log_meta", brkit::fuzzing::log_meta),
    ("log_file", brkit::fuzzing::log_file),
    ("write_record", brkit::fuzzing::write_record),
    ("memcomparable", brkit::fuzzing::memcomparable),
    ("row_v2", brkit::fuzzing::row_v2),
    ("sst_reader", brkit::fuzzing::sst_reader),
];

fn replay(dir: &Path, f: Target) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries {
        let path = e.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{} panics", path.display());
        n += 1;
    }
    n
}

#[test]
fn every_target_replays_its_corpus_and_regressions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let targets_in_fuzz_toml = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for (name, f) in TARGETS {
        assert!(
            targets_in_fuzz_toml.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml lacks target {name}"
        );
        let corpus = replay(&root.join("corpus").join(name), *f);
        let regressions = replay(&root.join("regressions").join(name), *f);
        assert!(
            corpus > 0,
            "fuzz/corpus/{name} is empty: seed it and run the fuzzer"
        );
        eprintln!("{name}: {corpus} corpus inputs, {regressions} regressions replayed");
    }
}

/// Writes the seed inputs of every target from real documents the library produces. Run by
/// hand (`cargo test --test fuzz_corpus -- --ignored seed`) when the formats change; the seeds
/// and what the fuzzer found are committed.
#[test]
#[ignore]
fn seed_corpus() {
    use brkit::archive::sst_writer::{write_sst, SstCompression};
    use brkit::codec::{bytes, mvcc, row, write};
    use brkit::engine::sample::{write_sample_archive, write_sample_log_archive, SampleSpec};
    use brkit::format::backupmeta::MetaVersion;
    use brkit::format::crypto::{Cipher, CipherMethod};
    use brkit::storage::opendal_backend::open_url;

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let put = |target: &str, name: &str, data: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    };
    let tmp = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (i, (version, cipher)) in [
        (MetaVersion::V2, Cipher::plaintext()),
        (MetaVersion::V1, Cipher::plaintext()),
        (
            MetaVersion::V2,
            Cipher::new(CipherMethod::Aes128Ctr, vec![0x42; 16]).unwrap(),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = tmp.path().join(format!("a{i}"));
        let s = open_url(&format!("local://{}", dir.display())).unwrap();
        let spec = SampleSpec {
            rows_per_table: 3,
            compression: SstCompression::Zstd,
            cipher,
            meta_version: version,
            backend: "local".into(),
            seed: 3,
        };
        rt.block_on(write_sample_archive(s.as_ref(), tmp.path(), &spec))
            .unwrap();
        put(
            "backupmeta",
            &format!("root-{i}"),
            &std::fs::read(dir.join("backupmeta")).unwrap(),
        );
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            if n.starts_with("backupmeta.") && i == 0 {
                put("metafile", &n, &std::fs::read(&p).unwrap());
            }
        }
    }
    let log = tmp.path().join("log");
    let s = open_url(&format!("local://{}", log.display())).unwrap();
    rt.block_on(write_sample_log_archive(
        s.as_ref(),
        brkit::codec::tso::compose(1_790_000_000_000, 0),
    ))
    .unwrap();
    let mut names = vec![
        "1/5_12_e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855_1700000000000_write.sst".to_string(),
        "1_5_12_e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855_1700000000000_default.sst".to_string(),
        "1_2_41_e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855_write.sst".to_string(),
        "7/9_3_write.sst".to_string(),
        "backupmeta.datafile.000000001".to_string(),
        "backupmeta.schema.stats.000000110".to_string(),
        "v1/backupmeta/000000000123-0b7c8c5e-0d6a-4e37-9b8e-3c1d2e4f5a6b.meta".to_string(),
        "v1/backupmeta/447903845361729537-0b7c8c5e-0d6a-4e37-9b8e-3c1d2e4f5a6b.meta".to_string(),
        "v1/backupmeta/0634C6F7A8B00001-0634C6F7A8B00000-0634C6F7A8B00000-0634C6F7A8B00001.meta".to_string(),
        "v1/global_checkpoint/1.ts".to_string(),
        "v1/20261121/22/1/470627129835651077-4b6feb73-6b57-4249-8253-7cbc66391146.log".to_string(),
        "v1/t00000110/20220101-000000000123-4b6feb73-6b57-4249-8253-7cbc66391146.log".to_string(),
    ];
    for e in walk(&log) {
        let rel = e.strip_prefix(&log).unwrap().to_string_lossy().to_string();
        let data = std::fs::read(&e).unwrap();
        if rel.ends_with(".meta") {
            put("log_meta", "meta", &data);
        } else if rel.ends_with(".log") {
            put("log_file", "group", &data);
        } else if rel.ends_with(".ts") {
            put("log_meta", "checkpoint", &data);
        }
        names.push(rel);
    }
    for (i, n) in names.iter().enumerate() {
        put("naming", &format!("name-{i}"), n.as_bytes());
    }
    put("lock", "lock", brkit::format::lock::LOCK_CONTENT);
    let short = write::Write::new(
        write::WriteType::Put,
        400_000_000_000,
        Some(b"value".to_vec()),
    );
    put("write_record", "put-short", &short.encode().unwrap());
    put(
        "write_record",
        "put",
        &write::Write::new(write::WriteType::Put, 7, None)
            .encode()
            .unwrap(),
    );
    put(
        "write_record",
        "delete",
        &write::Write::new(write::WriteType::Delete, 7, None)
            .encode()
            .unwrap(),
    );
    put(
        "write_record",
        "rollback-protected",
        &write::Write::new(write::WriteType::Rollback, 7, Some(b"p".to_vec()))
            .encode()
            .unwrap(),
    );
    put(
        "memcomparable",
        "bytes",
        &bytes::encode_bytes(b"t\x80\0\0\0\0\0\0\x6e_r\x80\0\0\0\0\0\0\x01"),
    );
    put("memcomparable", "mvcc", &mvcc::encode_mvcc_key(b"z", 1000));
    put("memcomparable", "empty", &bytes::encode_bytes(b""));
    // tikv encoder_for_test.rs vectors (ROW-*).
    put(
        "row_v2",
        "unsigned",
        &hex::decode("800002000000010208000900ffffffffffffffffff").unwrap(),
    );
    put("row_v2", "big", &hex::decode("800104000100010000000300000008000000 0c0000004f010000020000000300000005000000060000 00e80303ff7f02".replace(' ', "")).unwrap());
    put(
        "row_v2",
        "one-int",
        &hex::decode("80000100000001010001").unwrap(),
    );
    let v2 = row::v2::encode(&[
        (1, brkit::codec::datum::Datum::I64(-5)),
        (11, brkit::codec::datum::Datum::Bytes(b"hello".to_vec())),
    ])
    .unwrap();
    put("row_v2", "mixed", &v2);
    for (name, c) in [
        ("none", SstCompression::None),
        ("zstd", SstCompression::Zstd),
        ("lz4", SstCompression::Lz4),
        ("snappy", SstCompression::Snappy),
    ] {
        let kvs: Vec<(Vec<u8>, Vec<u8>)> = (0..20u64)
            .map(|i| {
                (
                    mvcc::encode_data_key(format!("key{i:03}").as_bytes(), 100 - i),
                    vec![b'v'; (i * 7) as usize],
                )
            })
            .collect();
        let bytes = write_sst(
            &tmp.path().join("s.sst"),
            c,
            kvs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())),
        )
        .unwrap();
        put("sst_reader", name, &bytes);
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
