//! Issue 3 end to end, over the embedded cluster in this process (`--pd local://DIR`):
//! backup then restore gives identical dumps and checksums for every workload table (each
//! compression, and encrypted), filters select what they should, the SSTs are real RocksDB
//! files (sst_dump agrees with our reader), names follow NAME-1/NAME-2, and the faults:
//! region split mid-backup retried, a stopped store fails the backup without backupmeta and a
//! rerun resumes it from the checkpoint, a concurrent backup is refused, restore refuses a
//! non-empty existing table.

mod support;
use support::rt;

use brkit::archive::snapshot::SnapshotArchive;
use brkit::archive::sst_writer::SstCompression;
use brkit::cluster::ClusterClient;
use brkit::engine::backup::{run_backup, BackupOptions, Quiet};
use brkit::engine::filter::TableFilter;
use brkit::engine::restore::{run_restore, ExistingPolicy, RestoreOptions};
use brkit::engine::tables;
use brkit::engine::workload::{self, WorkloadSpec};
use brkit::format::crypto::{Cipher, CipherMethod};
use brkit::format::naming::snapshot::{parse_sst_name, BACKUPMETA, CHECKPOINT_META, LOCK};
use brkit::format::sst::SstReader;
use brkit::storage::{open_url, Storage};
use std::path::Path;
use std::sync::Arc;

const ROWS: u64 = 120;

fn spec() -> WorkloadSpec {
    WorkloadSpec {
        db: "sbtest".into(),
        tables: 1,
        rows: ROWS,
        seed: 7,
    }
}

async fn connect(dir: &Path) -> ClusterClient {
    ClusterClient::connect(&format!("local://{}", dir.display()))
        .await
        .unwrap()
}

async fn loaded(dir: &Path) -> ClusterClient {
    let c = connect(dir).await;
    workload::load(&c, &spec()).await.unwrap();
    c
}

fn storage(url: &str) -> Arc<dyn Storage> {
    open_url(url).unwrap()
}

/// (table, CSV dump, checksum line) of every table of the workload database.
async fn snapshot_of(c: &ClusterClient) -> Vec<(String, Vec<u8>, String)> {
    let mut out = Vec::new();
    for t in tables::list_tables(c, "sbtest", 0).await.unwrap() {
        let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
        struct W(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (rows, _) = tables::dump(c, "sbtest", &t, 0, Box::new(W(buf.clone())))
            .await
            .unwrap();
        assert!(rows > 0, "table {t} dumped no rows");
        let (sum, _) = tables::checksum(c, "sbtest", &t, 0).await.unwrap();
        let csv = buf.lock().unwrap().clone();
        out.push((t, csv, format!("{sum:?}")));
    }
    out
}

/// Restores the archive at `url` into a fresh cluster in `dir` and compares it with `want`.
async fn restored_equals(dir: &Path, url: &str, want: &[(String, Vec<u8>, String)]) {
    let dst = connect(dir).await;
    run_restore(&dst, storage(url), &RestoreOptions::new(url), &Quiet)
        .await
        .unwrap();
    assert_eq!(
        snapshot_of(&dst).await,
        want,
        "restored tables differ from the source"
    );
    dst.close().await;
}

#[test]
fn round_trip_every_table_for_each_compression_and_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let src = loaded(&dir.path().join("src")).await;
        let want = snapshot_of(&src).await;
        assert_eq!(
            want.len(),
            5,
            "sbtest1 and the four special tables: {:?}",
            want.iter().map(|w| &w.0).collect::<Vec<_>>()
        );
        let key = vec![0x5a; 32];
        let cases = [
            ("zstd", SstCompression::Zstd, Cipher::plaintext()),
            ("lz4", SstCompression::Lz4, Cipher::plaintext()),
            ("snappy", SstCompression::Snappy, Cipher::plaintext()),
            (
                "aes",
                SstCompression::Zstd,
                Cipher::new(CipherMethod::Aes256Ctr, key).unwrap(),
            ),
        ];
        for (name, compression, cipher) in cases {
            let url = format!(
                "local://{}",
                dir.path().join(format!("bk-{name}")).display()
            );
            let mut o = BackupOptions::new(&url);
            o.compression = compression;
            o.cipher = cipher.clone();
            let s = run_backup(&src, storage(&url), &o, &Quiet).await.unwrap();
            assert_eq!(s.tables, 5);
            assert!(s.files > 0 && s.kvs > 0);
            let dst = connect(&dir.path().join(format!("dst-{name}"))).await;
            let mut r = RestoreOptions::new(&url);
            r.cipher = cipher;
            let rs = run_restore(&dst, storage(&url), &r, &Quiet).await.unwrap();
            assert_eq!(rs.kvs, s.kvs, "{name}");
            let got = snapshot_of(&dst).await;
            assert_eq!(got, want, "{name}: restored tables differ from the source");
            dst.close().await;
        }
        // An encrypted archive cannot be restored without its key.
        let url = format!("local://{}", dir.path().join("bk-aes").display());
        let dst = connect(&dir.path().join("dst-nokey")).await;
        assert!(
            run_restore(&dst, storage(&url), &RestoreOptions::new(&url), &Quiet)
                .await
                .is_err()
        );
        dst.close().await;
        src.close().await;
    });
}

#[test]
fn db_and_table_filters_select_what_they_name() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let src = loaded(&dir.path().join("src")).await;
        src.create_database(workload::db_json("other"), false)
            .await
            .unwrap();
        let one = format!("local://{}", dir.path().join("one").display());
        let mut o = BackupOptions::new(&one);
        o.filter = TableFilter::table("sbtest", "orders_clustered");
        run_backup(&src, storage(&one), &o, &Quiet).await.unwrap();
        let a = SnapshotArchive::open(storage(&one).as_ref(), &Cipher::plaintext())
            .await
            .unwrap();
        assert_eq!(a.schemas.len(), 1);
        let full = format!("local://{}", dir.path().join("full").display());
        let mut o = BackupOptions::new(&full);
        o.filter = TableFilter::parse(&["*.*".into(), "!sbtest.all_types".into()]).unwrap();
        run_backup(&src, storage(&full), &o, &Quiet).await.unwrap();
        let a = SnapshotArchive::open(storage(&full).as_ref(), &Cipher::plaintext())
            .await
            .unwrap();
        // 4 tables + the empty database `other` (META-SCHEMA-1)
        assert_eq!(a.schemas.len(), 5);
        assert!(a.schemas.iter().any(|s| s.table_json.is_none()));
        // restore only one table of the full archive
        let dst = connect(&dir.path().join("dst")).await;
        let mut r = RestoreOptions::new(&full);
        r.filter = TableFilter::table("sbtest", "events_rowid");
        run_restore(&dst, storage(&full), &r, &Quiet).await.unwrap();
        assert_eq!(
            tables::list_tables(&dst, "sbtest", 0).await.unwrap(),
            vec!["events_rowid"]
        );
        dst.close().await;
        src.close().await;
    });
}

/// (key, value) of every entry as RocksDB's `sst_dump` reads them.
fn sst_dump_keys(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    support::sst_dump_scan(path)
        .into_iter()
        .map(|(k, _, _, v)| (k, v))
        .collect()
}

#[test]
fn backup_ssts_are_rocksdb_files_named_by_store_and_region() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let src = loaded(&dir.path().join("src")).await;
        let root = dir.path().join("bk");
        let url = format!("local://{}", root.display());
        run_backup(&src, storage(&url), &BackupOptions::new(&url), &Quiet)
            .await
            .unwrap();
        let a = SnapshotArchive::open(storage(&url).as_ref(), &Cipher::plaintext())
            .await
            .unwrap();
        let mut stores = std::collections::BTreeSet::new();
        for f in &a.files {
            // NAME-1: {store}/{region}_{version}_{sha256(start)}_{ms}_{cf}.sst on local
            let (store, _) = f.name.split_once('/').expect("store directory");
            stores.insert(store.to_string());
            parse_sst_name(&f.name).unwrap();
            let bytes = std::fs::read(root.join(&f.name)).unwrap();
            let ours: Vec<(Vec<u8>, Vec<u8>)> = SstReader::open(&bytes)
                .unwrap()
                .iter()
                .map(|e| {
                    let e = e.unwrap();
                    (e.user_key, e.value)
                })
                .collect();
            assert!(!ours.is_empty());
            assert!(
                ours.iter().all(|(k, _)| k[0] == b'z'),
                "data keys carry `z`"
            );
            assert_eq!(sst_dump_keys(&root.join(&f.name)), ours, "{}", f.name);
        }
        assert!(
            stores.len() >= 2,
            "files come from several stores: {stores:?}"
        );
        // NAME-2: flat names on other backends (memory here).
        let mem = "memory://flat-names";
        run_backup(&src, storage(mem), &BackupOptions::new(mem), &Quiet)
            .await
            .unwrap();
        let a = SnapshotArchive::open(storage(mem).as_ref(), &Cipher::plaintext())
            .await
            .unwrap();
        assert!(a.files.iter().all(|f| !f.name.contains('/')), "flat names");
        src.close().await;
    });
}

#[test]
fn region_split_mid_backup_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let src = loaded(&dir.path().join("src")).await;
        let want = snapshot_of(&src).await;
        src.set_failpoint("backup.split_region_after_scan", "3")
            .await
            .unwrap();
        let before = src.scan_regions(&[], &[]).await.unwrap().len();
        let url = format!("local://{}", dir.path().join("bk").display());
        let s = run_backup(&src, storage(&url), &BackupOptions::new(&url), &Quiet)
            .await
            .unwrap();
        let after = src.scan_regions(&[], &[]).await.unwrap().len();
        assert!(
            after > before,
            "the failpoint split regions ({before} -> {after})"
        );
        assert!(
            s.retried_pieces > 0,
            "ranges hit by the split were sent again"
        );
        restored_equals(&dir.path().join("dst"), &url, &want).await;
        src.close().await;
    });
}

#[test]
fn stopped_store_fails_the_backup_without_backupmeta_and_a_rerun_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let src = loaded(&dir.path().join("src")).await;
        let want = snapshot_of(&src).await;
        // the store leading the most regions stops after finishing one of them
        let regions = src.scan_regions(&[], &[]).await.unwrap();
        let mut counts = std::collections::BTreeMap::new();
        for r in &regions {
            *counts.entry(r.leader_store).or_insert(0) += 1;
        }
        let (&victim, &n) = counts.iter().max_by_key(|(_, n)| **n).unwrap();
        assert!(n >= 2, "the victim store leads several regions");
        src.set_failpoint("backup.stop_store_after_region", &victim.to_string())
            .await
            .unwrap();
        let url = format!("local://{}", dir.path().join("bk").display());
        let st = storage(&url);
        let mut o = BackupOptions::new(&url);
        o.concurrency = 1;
        let err = run_backup(&src, st.clone(), &o, &Quiet)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("store {victim}")), "{err}");
        assert!(
            st.stat(BACKUPMETA).await.is_err(),
            "no backupmeta after a failed backup"
        );
        assert!(st.stat(LOCK).await.is_ok() && st.stat(CHECKPOINT_META).await.is_ok());
        let first: Vec<String> = st
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.name)
            .filter(|n| n.ends_with(".sst"))
            .collect();
        assert!(
            !first.is_empty(),
            "some ranges finished before the store stopped"
        );
        // the archive is not mistaken for complete
        assert!(SnapshotArchive::open(st.as_ref(), &Cipher::plaintext())
            .await
            .is_err());
        // a fresh backup to the same path without resuming is refused only if options differ
        let mut other = o.clone();
        other.compression = SstCompression::Lz4;
        let e = run_backup(&src, st.clone(), &other, &Quiet)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("other options"), "{e}");
        src.set_store_state(victim, true).await.unwrap();
        let s = run_backup(&src, st.clone(), &o, &Quiet).await.unwrap();
        assert!(
            s.resumed_pieces > 0,
            "finished ranges came from the checkpoint"
        );
        let a = SnapshotArchive::open(st.as_ref(), &Cipher::plaintext())
            .await
            .unwrap();
        let names: std::collections::HashSet<&str> =
            a.files.iter().map(|f| f.name.as_str()).collect();
        assert!(
            first.iter().all(|n| names.contains(n.as_str())),
            "files of the first run are kept, not redone"
        );
        assert!(
            st.list("checkpoints/").await.unwrap().is_empty(),
            "checkpoint removed after success"
        );
        restored_equals(&dir.path().join("dst"), &url, &want).await;
        src.close().await;
    });
}

#[test]
fn a_second_backup_to_the_same_path_is_refused_by_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let src = loaded(&dir.path().join("src")).await;
        let url = format!("local://{}", dir.path().join("bk").display());
        let mut slow = BackupOptions::new(&url);
        slow.rate_limit = 64 << 10; // 64 KiB/s per store: seconds for this data
        let c2 = src.clone();
        let u2 = url.clone();
        let first = tokio::spawn(async move { run_backup(&c2, storage(&u2), &slow, &Quiet).await });
        let st = storage(&url);
        for _ in 0..200 {
            if st.stat(CHECKPOINT_META).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let e = run_backup(&src, st.clone(), &BackupOptions::new(&url), &Quiet)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("another backup"), "{e}");
        first.await.unwrap().unwrap();
        // and a finished archive is never overwritten (LOCK-5)
        let e = run_backup(&src, st, &BackupOptions::new(&url), &Quiet)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("LOCK-5") || e.contains("backupmeta exists"),
            "{e}"
        );
        src.close().await;
    });
}

#[test]
fn restore_refuses_a_non_empty_existing_table_unless_told_to_replace() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let src = loaded(&dir.path().join("src")).await;
        let url = format!("local://{}", dir.path().join("bk").display());
        let mut o = BackupOptions::new(&url);
        o.filter = TableFilter::table("sbtest", "sbtest1");
        run_backup(&src, storage(&url), &o, &Quiet).await.unwrap();
        let mut r = RestoreOptions::new(&url);
        let e = run_restore(&src, storage(&url), &r, &Quiet)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("already exists") && e.contains("sbtest1"), "{e}");
        r.on_existing = ExistingPolicy::Replace;
        run_restore(&src, storage(&url), &r, &Quiet).await.unwrap();
        let (sum, _) = tables::checksum(&src, "sbtest", "sbtest1", 0)
            .await
            .unwrap();
        assert_eq!(sum.total_kvs, ROWS * 2, "record + k_1 index per row");
        src.close().await;
    });
}

#[test]
fn backup_holds_gc_and_gc_removes_old_versions_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let src = loaded(&dir.path().join("src")).await;
        let held = src.tso().await.unwrap();
        src.update_service_safepoint("br-test", 300, held)
            .await
            .unwrap();
        workload::run(&src, &spec(), std::time::Duration::from_millis(300))
            .await
            .unwrap();
        let now = src.tso().await.unwrap();
        let r = src.gc(now).await.unwrap();
        assert_eq!(r.safe_point, held, "GC stops at the service safepoint");
        src.update_service_safepoint("br-test", 0, 0).await.unwrap();
        let r = src.gc(now).await.unwrap();
        assert_eq!(r.safe_point, now);
        assert!(
            r.removed_versions > 0,
            "updated rows' old versions are collected"
        );
        src.close().await;
    });
}

#[test]
fn backupts_in_the_past_restores_that_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let src = loaded(&dir.path().join("src")).await;
        let then = src.tso().await.unwrap();
        let want = snapshot_of(&src).await;
        let r = workload::run(&src, &spec(), std::time::Duration::from_millis(400))
            .await
            .unwrap();
        assert!(r.updates + r.inserts + r.deletes > 0);
        assert_ne!(
            snapshot_of(&src).await,
            want,
            "the workload changed the tables"
        );
        let url = format!("local://{}", dir.path().join("bk").display());
        let mut o = BackupOptions::new(&url);
        o.backup_ts = Some(then);
        let s = run_backup(&src, storage(&url), &o, &Quiet).await.unwrap();
        assert_eq!(s.backup_ts, then);
        restored_equals(&dir.path().join("dst"), &url, &want).await;
        src.close().await;
    });
}

#[test]
fn regions_split_by_size_and_spread_over_the_stores() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let cfg = brkit::cluster::server::ClusterConfig {
            region_split_bytes: 64 << 10,
            ..brkit::cluster::server::ClusterConfig::embedded(dir.path().join("c"))
        };
        let running = brkit::cluster::server::RunningCluster::start(cfg)
            .await
            .unwrap();
        let c = ClusterClient::connect(&running.pd_addr().to_string())
            .await
            .unwrap();
        let mut s = spec();
        s.rows = 600;
        workload::load(&c, &s).await.unwrap();
        let regions = c.scan_regions(&[], &[]).await.unwrap();
        let sbtest1 = tables::find_table(&c, "sbtest", "sbtest1", 0)
            .await
            .unwrap();
        let prefix =
            brkit::codec::bytes::encode_bytes(&brkit::codec::table::table_prefix(sbtest1.id));
        let next =
            brkit::codec::bytes::encode_bytes(&brkit::codec::table::table_prefix(sbtest1.id + 1));
        let inside = regions
            .iter()
            .filter(|r| r.start > prefix && r.start < next)
            .count();
        assert!(
            inside >= 1,
            "sbtest1 (~150 KB) was split by size: {regions:?}"
        );
        let stores: std::collections::BTreeSet<u64> =
            regions.iter().map(|r| r.leader_store).collect();
        assert_eq!(stores.len(), 3, "leaders on every store");
        for w in regions.windows(2) {
            assert_eq!(
                w[0].end, w[1].start,
                "regions cover the key space without gaps"
            );
        }
        // data stayed readable through the moves
        let (sum, _) = tables::checksum(&c, "sbtest", "sbtest1", 0).await.unwrap();
        assert_eq!(sum.total_kvs, 1200);
        running.shutdown().await;
    });
}
