//! The PITR correctness oracle shared by tests/pitr.rs (test log producer) and
//! tests/pitr_e2e.rs (real log backup): the source's per-table images at a ts (CSV row dumps
//! and checksums), the restored cluster's images with checksums rewritten back to the source's
//! ids (CSUM-6), their comparison, and the DDL helpers the workloads use after the snapshot
//! (drop, TRUNCATE as drop + create, a database created late).
#![allow(dead_code)]

use brkit::cluster::ClusterClient;
use brkit::codec::model::{DBInfo, TableInfo};
use brkit::engine::pitr::PitrSummary;
use brkit::engine::ranges::table_range_pairs;
use brkit::engine::restore::rules_for;
use brkit::engine::tables;
use brkit::engine::workload::{self, WorkloadSpec};
use brkit::format::checksum::Checksum;
use brkit::storage::{open_url, Storage};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

pub const SEED: u64 = 11;
pub const DBS: [&str; 2] = ["sbtest", "late"];

/// (db, table) → (CSV rows, checksum in the source's key space, source TableInfo).
pub type Image = BTreeMap<(String, String), (Vec<u8>, Checksum, TableInfo)>;

pub fn url(p: &Path) -> String {
    format!("local://{}", p.display())
}

pub fn storage(u: &str) -> Arc<dyn Storage> {
    open_url(u).unwrap()
}

pub fn spec(db: &str) -> WorkloadSpec {
    WorkloadSpec {
        db: db.into(),
        tables: 1,
        rows: 80,
        seed: SEED,
    }
}

pub struct Sink(pub Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub async fn dump(c: &ClusterClient, db: &str, t: &str, ts: u64) -> Vec<u8> {
    let buf = Arc::new(Mutex::new(Vec::new()));
    tables::dump(c, db, t, ts, Box::new(Sink(buf.clone())))
        .await
        .unwrap();
    let v = buf.lock().unwrap().clone();
    v
}

/// The source's tables at `ts`.
pub async fn image_at(c: &ClusterClient, ts: u64) -> Image {
    let mut out = Image::new();
    for db in DBS {
        let Ok(names) = tables::list_tables(c, db, ts).await else {
            continue;
        };
        for t in names {
            let info = tables::find_table(c, db, &t, ts).await.unwrap();
            let (sum, _) = tables::checksum(c, db, &t, ts).await.unwrap();
            let csv = dump(c, db, &t, ts).await;
            out.insert((db.to_string(), t), (csv, sum, info));
        }
    }
    out
}

/// The restored tables, checksums taken with rules from `want`'s (source) ids.
pub async fn restored_image(c: &ClusterClient, want: &Image) -> Image {
    let ts = c.tso().await.unwrap();
    let mut out = Image::new();
    for db in DBS {
        let Ok(names) = tables::list_tables(c, db, ts).await else {
            continue;
        };
        for t in names {
            let info = tables::find_table(c, db, &t, ts).await.unwrap();
            let key = (db.to_string(), t.clone());
            let sum = match want.get(&key) {
                Some((_, _, old)) => {
                    let rules: Vec<(Vec<u8>, Vec<u8>)> = rules_for(old, &info)
                        .unwrap()
                        .into_iter()
                        .map(|r| (r.old_prefix, r.new_prefix))
                        .collect();
                    c.checksum(&table_range_pairs(&info).unwrap(), ts, &rules)
                        .await
                        .unwrap()
                }
                None => Checksum::default(),
            };
            let csv = dump(c, db, &t, ts).await;
            let old = want.get(&key).map(|w| w.2.clone()).unwrap_or(info);
            out.insert(key, (csv, sum, old));
        }
    }
    out
}

pub async fn db_id(c: &ClusterClient, name: &str) -> i64 {
    let (dbs, _) = c.list_schemas(0).await.unwrap();
    dbs.iter()
        .map(|d| DBInfo::from_json(&d.db_info).unwrap())
        .find(|d| d.db_name.l == name)
        .unwrap()
        .id
}

pub async fn insert_rows(c: &ClusterClient, t: &TableInfo, rows: std::ops::RangeInclusive<u64>) {
    let mut muts = Vec::new();
    for r in rows {
        for (k, v) in workload::row_kvs(t, r, SEED, 0).unwrap() {
            muts.push((k, Some(v)));
        }
    }
    c.commit(muts).await.unwrap();
}

/// TRUNCATE TABLE (`tables::truncate_table`: drop, then the same definition with new ids),
/// then a few rows.
pub async fn truncate(c: &ClusterClient, db: &str, name: &str) -> TableInfo {
    let old = tables::find_table(c, db, name, 0).await.unwrap();
    let t = tables::truncate_table(c, db, name).await.unwrap();
    assert_ne!(t.id, old.id);
    insert_rows(c, &t, 1..=25).await;
    t
}

/// Creates `late` with two workload tables (one partitioned) and rows.
pub async fn create_late(c: &ClusterClient) {
    let db = DBInfo::from_json(
        &c.create_database(workload::db_json("late"), true)
            .await
            .unwrap(),
    )
    .unwrap();
    for def in workload::schema(&spec("late")) {
        if def.name != "sbtest1" && def.name != workload::METRICS {
            continue;
        }
        let stored = c
            .create_table(db.id, serde_json::to_vec(&def.info).unwrap())
            .await
            .unwrap();
        let t = TableInfo::from_json(&stored).unwrap();
        insert_rows(c, &t, 1..=40).await;
    }
}

/// Asserts `got` (restored) equals `want` (source at the restored ts): the same tables, the
/// same rows, the same checksums, and the summary reports each table's checksum.
pub fn assert_images_equal(label: &str, got: &Image, want: &Image, s: &PitrSummary) {
    let names = |m: &Image| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "{label}: tables differ");
    for (k, (csv, sum, _)) in want {
        let (gcsv, gsum, _) = &got[k];
        assert!(gcsv == csv, "{label}: rows of {k:?} differ");
        assert_eq!(gsum, sum, "{label}: checksum of {k:?}");
        let reported = s
            .tables
            .iter()
            .find(|t| (t.db.as_str(), t.name.as_str()) == (k.0.as_str(), k.1.as_str()))
            .unwrap_or_else(|| panic!("{label}: {k:?} not in the summary"));
        assert_eq!(
            &reported.checksum, sum,
            "{label}: reported checksum of {k:?}"
        );
    }
}

/// The ts of the shared PITR scenario (issue 5's oracle).
pub struct Scenario {
    pub snapshot_ts: u64,
    /// The first commit after the snapshot.
    pub just_after: u64,
    /// After the DDL that follows the snapshot.
    pub mid: u64,
    /// After the last write.
    pub last_write: u64,
}

/// The oracle's scenario on a loaded source: writes for `run`, a snapshot backup to
/// `snap_url` mid-run, writes again, then DDL after the snapshot (drop `events_rowid`,
/// truncate `orders_clustered`, create the `late` database) and a last round of writes.
pub async fn snapshot_mid_run_then_ddl(
    src: &ClusterClient,
    snap_url: &str,
    run: std::time::Duration,
) -> Scenario {
    let plain = brkit::format::crypto::Cipher::plaintext();
    encrypted_snapshot_mid_run_then_ddl(src, snap_url, run, &plain).await
}

/// [`snapshot_mid_run_then_ddl`] with the snapshot encrypted with `cipher`.
pub async fn encrypted_snapshot_mid_run_then_ddl(
    src: &ClusterClient,
    snap_url: &str,
    run: std::time::Duration,
    cipher: &brkit::format::crypto::Cipher,
) -> Scenario {
    use brkit::engine::backup::{run_backup, BackupOptions, Quiet};
    workload::run(src, &spec("sbtest"), run).await.unwrap();
    let mut bo = BackupOptions::new(snap_url);
    bo.cipher = cipher.clone();
    let snap = run_backup(src, storage(snap_url), &bo, &Quiet)
        .await
        .unwrap();
    let after = workload::run(src, &spec("sbtest"), run).await.unwrap();
    assert!(after.first_commit_ts > snap.backup_ts);
    let events = tables::find_table(src, "sbtest", workload::EVENTS, 0)
        .await
        .unwrap();
    src.drop_table(db_id(src, "sbtest").await, events.id)
        .await
        .unwrap();
    truncate(src, "sbtest", workload::ORDERS).await;
    create_late(src).await;
    let mid = src.tso().await.unwrap();
    workload::run(src, &spec("sbtest"), run).await.unwrap();
    Scenario {
        snapshot_ts: snap.backup_ts,
        just_after: after.first_commit_ts,
        mid,
        last_write: src.tso().await.unwrap(),
    }
}
