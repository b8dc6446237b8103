//! The archive layer end to end: the sample writer (RocksDB SSTs, BR layout) → storage →
//! snapshot reader → checksums re-derived from the SST data, across compressions, encryption,
//! backupmeta V1/V2 and both SST naming layouts; the lock protocol; and damaged archives that
//! the checks must catch.

mod support;
use support::rt;

use brkit::archive::snapshot::SnapshotArchive;
use brkit::archive::sst_writer::SstCompression;
use brkit::archive::writer::SnapshotWriter;
use brkit::archive::{detect_kind, ArchiveError};
use brkit::engine::sample::{write_sample_archive, write_sample_log_archive, SampleSpec};
use brkit::engine::verify::{run_verify, Level, NoProgress, VerifyOptions, VerifyReport};
use brkit::format::backupmeta::MetaVersion;
use brkit::format::crypto::{Cipher, CipherMethod};
use brkit::format::layout::ArchiveKind;
use brkit::format::naming::snapshot::{parse_sst_name, SstNameGen};
use brkit::storage::opendal_backend::open_url;
use brkit::storage::Storage;
use std::sync::Arc;

struct Fixture {
    _dir: tempfile::TempDir,
    storage: Arc<dyn Storage>,
    cipher: Cipher,
}

fn sample(
    compression: SstCompression,
    cipher: Cipher,
    version: MetaVersion,
    backend: &str,
    rows: u64,
) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let storage = open_url(&format!("local://{}", dir.path().join("archive").display())).unwrap();
    let spec = SampleSpec {
        rows_per_table: rows,
        compression,
        cipher: cipher.clone(),
        meta_version: version,
        backend: backend.into(),
        seed: 7,
    };
    rt().block_on(write_sample_archive(storage.as_ref(), dir.path(), &spec))
        .unwrap();
    Fixture {
        _dir: dir,
        storage,
        cipher,
    }
}

/// `verify --level kv` of a fixture.
fn verify_kv(f: &Fixture) -> VerifyReport {
    let mut o = VerifyOptions::new(Level::Kv);
    o.cipher = f.cipher.clone();
    rt().block_on(run_verify(f.storage.as_ref(), &o, &NoProgress))
        .unwrap()
}

fn aes(method: CipherMethod) -> Cipher {
    Cipher::new(method, (0..method.key_len() as u8).collect()).unwrap()
}

#[test]
fn round_trip_every_compression_cipher_and_meta_version() {
    let cases = [
        (
            SstCompression::Zstd,
            Cipher::plaintext(),
            MetaVersion::V2,
            "local",
            SstNameGen::StoreDir,
        ),
        (
            SstCompression::Lz4,
            aes(CipherMethod::Aes128Ctr),
            MetaVersion::V1,
            "gcs",
            SstNameGen::Flat,
        ),
        (
            SstCompression::Snappy,
            aes(CipherMethod::Aes256Ctr),
            MetaVersion::V2,
            "azure",
            SstNameGen::Flat,
        ),
        (
            SstCompression::None,
            aes(CipherMethod::Aes192Ctr),
            MetaVersion::V1,
            "s3",
            SstNameGen::StoreDir,
        ),
    ];
    for (compression, cipher, version, backend, generation) in cases {
        let f = sample(compression, cipher, version, backend, 700);
        let rt = rt();
        let (kind, _) = rt
            .block_on(detect_kind(f.storage.as_ref(), &f.cipher))
            .unwrap();
        assert_eq!(kind, ArchiveKind::Snapshot);
        let archive = rt
            .block_on(SnapshotArchive::open(f.storage.as_ref(), &f.cipher))
            .unwrap();
        assert_eq!(archive.meta.version, version);
        assert_eq!(
            archive.files.len(),
            4,
            "users: record default+write, index write; events: record write"
        );
        for file in &archive.files {
            assert_eq!(
                parse_sst_name(&file.name).unwrap().generation,
                generation,
                "{}",
                file.name
            );
        }
        let r = verify_kv(&f);
        assert!(
            r.findings.is_empty(),
            "{compression:?} {version:?}: {:#?}",
            r.findings
        );
        assert_eq!(r.tables.len(), 2);
        for t in &r.tables {
            assert_eq!(
                t.recomputed,
                Some(t.expected),
                "{compression:?} {version:?} {t:?}"
            );
            assert_eq!(t.rows, 700);
            assert_eq!(t.undecodable_rows, 0);
        }
        let users = r.tables.iter().find(|t| t.table == "users").unwrap();
        assert_eq!(
            users.recomputed.unwrap().total_kvs,
            1400,
            "700 rows + 700 index entries"
        );
    }
}

#[test]
fn wrong_key_is_a_clear_error() {
    let f = sample(
        SstCompression::Zstd,
        aes(CipherMethod::Aes256Ctr),
        MetaVersion::V2,
        "local",
        50,
    );
    let wrong = Cipher::new(CipherMethod::Aes256Ctr, vec![0xEE; 32]).unwrap();
    let err = rt()
        .block_on(SnapshotArchive::open(f.storage.as_ref(), &wrong))
        .unwrap_err();
    assert!(err.to_string().contains("wrong --crypter.key"), "{err}");
}

#[test]
fn flipped_sst_byte_is_caught_by_sha256_and_data_checks() {
    let f = sample(
        SstCompression::None,
        Cipher::plaintext(),
        MetaVersion::V2,
        "local",
        300,
    );
    let rt = rt();
    let archive = rt
        .block_on(SnapshotArchive::open(f.storage.as_ref(), &f.cipher))
        .unwrap();
    let victim = archive
        .files
        .iter()
        .find(|x| x.name.ends_with("_write.sst") && x.checksum.total_kvs > 100)
        .unwrap();
    let mut bytes = rt.block_on(f.storage.read(&victim.name)).unwrap().to_vec();
    bytes[200] ^= 0x01;
    rt.block_on(f.storage.write(&victim.name, bytes.into()))
        .unwrap();
    // The SHA-256 of the stored bytes no longer matches, and the data check fails too: the
    // SST's own block checksum (SST-4) or the re-derived numbers.
    let r = verify_kv(&f);
    let named = |kind: &str| {
        r.of_kind(kind)
            .any(|x| x.file.as_deref() == Some(victim.name.as_str()))
    };
    assert!(named("sha256-mismatch"), "{:#?}", r.findings);
    assert!(
        named("sst-undecodable") || named("file-checksum-mismatch"),
        "{:#?}",
        r.findings
    );
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn lock_2_lock_3_second_backup_to_the_same_path_is_refused() {
    let f = sample(
        SstCompression::Zstd,
        Cipher::plaintext(),
        MetaVersion::V2,
        "local",
        10,
    );
    let rt = rt();
    // A finished backup is there: refused by LOCK-3 (backupmeta exists).
    let err = rt
        .block_on(SnapshotWriter::create(
            f.storage.as_ref(),
            MetaVersion::V2,
            Cipher::plaintext(),
        ))
        .err()
        .unwrap();
    assert!(
        matches!(err, ArchiveError::Locked { rule: "LOCK-3", .. }),
        "{err}"
    );
    // A running backup (lock only): the conditional create refuses (LOCK-2).
    let dir = tempfile::tempdir().unwrap();
    let s = open_url(&format!("local://{}", dir.path().display())).unwrap();
    let _first = rt
        .block_on(SnapshotWriter::create(
            s.as_ref(),
            MetaVersion::V2,
            Cipher::plaintext(),
        ))
        .unwrap();
    let err = rt
        .block_on(SnapshotWriter::create(
            s.as_ref(),
            MetaVersion::V2,
            Cipher::plaintext(),
        ))
        .err()
        .unwrap();
    assert!(
        matches!(err, ArchiveError::Locked { rule: "LOCK-2", .. }),
        "{err}"
    );
}

#[test]
fn order_2_an_archive_without_backupmeta_is_not_complete() {
    let f = sample(
        SstCompression::Zstd,
        Cipher::plaintext(),
        MetaVersion::V2,
        "local",
        10,
    );
    let rt = rt();
    rt.block_on(f.storage.delete("backupmeta")).unwrap();
    let err = rt
        .block_on(detect_kind(f.storage.as_ref(), &f.cipher))
        .unwrap_err();
    assert!(err.to_string().contains("LAYOUT-3"), "{err}");
    let err = rt
        .block_on(SnapshotArchive::open(f.storage.as_ref(), &f.cipher))
        .unwrap_err();
    assert!(err.to_string().contains("backupmeta"), "{err}");
}

#[test]
fn missing_metafile_names_the_object() {
    let f = sample(
        SstCompression::Zstd,
        Cipher::plaintext(),
        MetaVersion::V2,
        "local",
        10,
    );
    let rt = rt();
    rt.block_on(f.storage.delete("backupmeta.schema.000000002"))
        .unwrap();
    let err = rt
        .block_on(SnapshotArchive::open(f.storage.as_ref(), &f.cipher))
        .unwrap_err();
    assert!(
        err.to_string().contains("backupmeta.schema.000000002"),
        "{err}"
    );
}

#[test]
fn log_archive_is_detected_and_its_window_computed() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_url(&format!("local://{}", dir.path().display())).unwrap();
    let rt = rt();
    let snapshot_ts = brkit::codec::tso::compose(1_790_000_000_000, 0);
    rt.block_on(write_sample_log_archive(s.as_ref(), snapshot_ts))
        .unwrap();
    let (kind, _) = rt
        .block_on(detect_kind(s.as_ref(), &Cipher::plaintext()))
        .unwrap();
    assert_eq!(kind, ArchiveKind::Log);
    let log = rt
        .block_on(brkit::archive::log::LogArchive::open(s.as_ref()))
        .unwrap();
    assert_eq!(log.metas.len(), 1);
    assert_eq!(log.metas[0].generation, Some("tagged"));
    let group = &log.metas[0].meta.groups[0];
    assert_eq!(group.files.len(), 2);
    assert_eq!(
        log.window.min_ts,
        brkit::codec::tso::compose(1_790_000_000_000 - 5_000, 0)
    );
    assert_eq!(log.window.max_ts, log.checkpoints[0].1);
    assert!(log.window.max_ts > snapshot_ts);
    // Every sub-file decodes and its events carry the ts range the meta claims (LOG-FILE-*).
    let object = rt.block_on(s.read(&group.path)).unwrap();
    for f in &group.files {
        let stream =
            brkit::format::logfile::decode_sub_file(&object, f, &Cipher::plaintext()).unwrap();
        let events = brkit::format::logfile::decode_events(&stream).unwrap();
        assert_eq!(events.len() as u64, f.number_of_entries);
        for (k, _) in &events {
            let ts = brkit::format::logfile::key_ts(k).unwrap();
            assert!(f.min_ts <= ts && ts <= f.max_ts);
        }
    }
}
