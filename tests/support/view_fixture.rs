//! The archives the view tests read (tests/view.rs, tests/export_diff.rs): a cluster with a
//! REAL log backup task from the start, a larger database `big` loaded first, then the PITR
//! oracle's scenario (tests/support/pitr_oracle.rs: snapshot mid-run, drop / truncate /
//! create after it), and after the last write an encrypted snapshot. For each ts the tests
//! compare against, the source's image: every table's `tables::dump` CSV, its checksum and
//! its rows by handle (raw record KVs, independent of the view code).
#![allow(dead_code)]

#[path = "pitr_oracle.rs"]
pub mod pitr_oracle;

use brkit::cluster::logbackup::LogBackupConfig;
use brkit::cluster::server::{ClusterConfig, RunningCluster};
use brkit::cluster::ClusterClient;
use brkit::codec::model::{DBInfo, HandleKind, TableInfo};
use brkit::codec::table::{record_range_common, record_range_int};
use brkit::engine::backup::{run_backup, BackupOptions, Quiet};
use brkit::engine::tables;
use brkit::engine::workload::{self, WorkloadSpec};
use brkit::format::checksum::Checksum;
use brkit::format::crypto::{Cipher, CipherMethod};
use pitr_oracle::{dump, snapshot_mid_run_then_ddl, spec, storage, url};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const TASK: &str = "view";
pub const BIG_ROWS: u64 = 2000;

/// Handle (the record key minus its 11-byte prefix) → (record key, raw row value).
pub type RowsByHandle = BTreeMap<Vec<u8>, (Vec<u8>, Vec<u8>)>;

/// One table at one ts.
pub struct TableImage {
    pub csv: Vec<u8>,
    pub checksum: Checksum,
    pub info: TableInfo,
    /// Partition index → (handle: the record key minus its 11-byte prefix → (record key,
    /// raw row value)).
    pub rows: Vec<RowsByHandle>,
}

/// (db, table) → image.
pub type Image = BTreeMap<(String, String), TableImage>;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub snap_url: String,
    pub log_url: String,
    pub enc_url: String,
    pub key: Cipher,
    pub snapshot_ts: u64,
    pub enc_ts: u64,
    pub checkpoint: u64,
    /// (label, ts, image)
    pub points: Vec<(&'static str, u64, Image)>,
}

impl Fixture {
    pub fn scratch(&self) -> PathBuf {
        self.dir.path().join("scratch")
    }

    /// The ts after the DDL that follows the snapshot.
    pub fn mid_ts(&self) -> u64 {
        self.points
            .iter()
            .find(|p| p.0.starts_with("mid-run"))
            .unwrap()
            .1
    }

    pub fn image(&self, ts: u64) -> &Image {
        &self.points.iter().find(|p| p.1 == ts).unwrap().2
    }
}

async fn rows_by_handle(c: &ClusterClient, info: &TableInfo, ts: u64) -> Vec<RowsByHandle> {
    let common = matches!(info.handle_kind().unwrap(), HandleKind::Common { .. });
    let mut out = Vec::new();
    for pid in info.physical_ids() {
        let r = if common {
            record_range_common(pid)
        } else {
            record_range_int(pid)
        };
        let mut m = BTreeMap::new();
        c.scan(&r.start, &r.end, ts, |k, v| {
            m.insert(k[11..].to_vec(), (k, v));
            Ok(())
        })
        .await
        .unwrap();
        out.push(m);
    }
    out
}

/// Every table of every database at `ts`.
pub async fn image_at(c: &ClusterClient, ts: u64) -> Image {
    let (dbs, _) = c.list_schemas(ts).await.unwrap();
    let mut out = Image::new();
    for d in dbs {
        let db = DBInfo::from_json(&d.db_info).unwrap().db_name.o;
        for t in d.tables {
            let info = TableInfo::from_json(&t).unwrap();
            let name = info.name.o.clone();
            let (checksum, _) = tables::checksum(c, &db, &name, ts).await.unwrap();
            let csv = dump(c, &db, &name, ts).await;
            let rows = rows_by_handle(c, &info, ts).await;
            out.insert(
                (db.clone(), name),
                TableImage {
                    csv,
                    checksum,
                    info,
                    rows,
                },
            );
        }
    }
    out
}

async fn wait_checkpoint(c: &ClusterClient, ts: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let ck = c.log_tasks(TASK).await.unwrap().tasks[0].checkpoint_ts;
        if ck >= ts {
            return ck;
        }
        assert!(
            Instant::now() < deadline,
            "checkpoint {ck} did not reach {ts}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn build() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("scratch")).unwrap();
    let log_url = url(&root.join("log"));
    let snap_url = url(&root.join("snap"));
    let enc_url = url(&root.join("enc"));
    let key = Cipher::new(CipherMethod::Aes256Ctr, vec![0x5A; 32]).unwrap();
    crate::support::rt().block_on(async {
        let cfg = ClusterConfig {
            region_split_bytes: 96 << 10,
            write_addr_file: true,
            ..ClusterConfig::embedded(root.join("src"))
        };
        let log = LogBackupConfig {
            size_limit: 64 << 10,
            group_limit: 32 << 10,
            merge_after_objects: 0,
            merge_target_bytes: 128 << 10,
        };
        let running = RunningCluster::start_with(cfg, log).await.unwrap();
        let src = ClusterClient::connect(&running.pd_addr().to_string())
            .await
            .unwrap();
        src.register_log_task(TASK, &log_url, 0, 300).await.unwrap();
        let big = WorkloadSpec {
            db: "big".into(),
            tables: 1,
            rows: BIG_ROWS,
            seed: 5,
        };
        workload::load(&src, &big).await.unwrap();
        workload::load(&src, &spec("sbtest")).await.unwrap();
        let sc = snapshot_mid_run_then_ddl(&src, &snap_url, Duration::from_millis(400)).await;
        let mut o = BackupOptions::new(&enc_url);
        o.cipher = key.clone();
        let enc = run_backup(&src, storage(&enc_url), &o, &Quiet)
            .await
            .unwrap();
        let checkpoint = wait_checkpoint(&src, enc.backup_ts.max(sc.last_write)).await;
        let mut points = Vec::new();
        for (label, ts) in [
            ("the snapshot", sc.snapshot_ts),
            ("just after the snapshot", sc.just_after),
            ("mid-run after the DDL", sc.mid),
            ("the encrypted snapshot", enc.backup_ts),
            ("the global checkpoint", checkpoint),
        ] {
            points.push((label, ts, image_at(&src, ts).await));
        }
        src.stop_log_task(TASK).await.unwrap();
        src.close().await;
        running.shutdown().await;
        Fixture {
            dir,
            snap_url,
            log_url,
            enc_url,
            key,
            snapshot_ts: sc.snapshot_ts,
            enc_ts: enc.backup_ts,
            checkpoint,
            points,
        }
    })
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(build)
}
