//! Issue 5, point-in-time restore, end to end over embedded clusters: a source cluster runs
//! the workload with a log being "backed up" (the test producer in support/log_producer.rs
//! writes the format/log.md archive from the source's MVCC versions), a snapshot is taken in
//! the middle, and tables are dropped, truncated and created after it. For several restored
//! ts (just after the snapshot, mid-run after the DDL, the global checkpoint) a PITR into a
//! fresh cluster must equal the source's MVCC snapshot at that ts: the same tables, row dumps
//! and checksums (CSUM-6 rules from the target's ids back to the source's). A restored ts
//! outside the window (LOG-TRUNC-2) is refused (exit 2 through the CLI); a damaged sub-file
//! (LOG-FILE-5) fails the restore and drops every table it created.

mod support;
use support::rt;

#[path = "support/log_producer.rs"]
mod log_producer;
#[path = "support/pitr_oracle.rs"]
mod pitr_oracle;
use pitr_oracle::*;

use brkit::cluster::ClusterClient;
use brkit::engine::backup::{run_backup, BackupOptions, Quiet};
use brkit::engine::error::EngineError;
use brkit::engine::pitr::{run_pitr, Origin, PitrOptions, PitrSummary};
use brkit::engine::tables;
use brkit::engine::workload::{self, WorkloadSpec};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    log_url: String,
    snap_url: String,
    snapshot_ts: u64,
    log_start: u64,
    checkpoint: u64,
    /// (label, restored ts or None for the default, expected image)
    points: Vec<(&'static str, Option<u64>, Image)>,
}

fn build() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let src_dir = root.join("src");
    let log_url = url(&root.join("log"));
    let snap_url = url(&root.join("snap"));
    rt().block_on(async {
        let src = ClusterClient::connect(&url(&src_dir)).await.unwrap();
        workload::load(&src, &spec("sbtest")).await.unwrap();
        let log_start = src.tso().await.unwrap();
        let sc = snapshot_mid_run_then_ddl(&src, &snap_url, Duration::from_millis(300)).await;
        let (snapshot_ts, just_after, mid) = (sc.snapshot_ts, sc.just_after, sc.mid);
        let checkpoint = sc.last_write;
        let mut points = Vec::new();
        for (label, ts, wanted) in [
            ("just after the snapshot", just_after, Some(just_after)),
            ("mid-run after the DDL", mid, Some(mid)),
            ("the global checkpoint", checkpoint, None),
        ] {
            points.push((label, wanted, image_at(&src, ts).await));
        }
        let regions = src.scan_regions(b"", b"").await.unwrap();
        src.close().await;
        let bounds: Vec<u64> = (1..=4u64)
            .map(|i| log_start + (checkpoint - log_start) * i / 4)
            .collect();
        let produced = log_producer::produce(
            storage(&log_url).as_ref(),
            &src_dir,
            &regions,
            log_start,
            &bounds,
        )
        .await;
        assert!(
            produced.stores >= 2,
            "log data from one store only: {produced:?}"
        );
        assert!(produced.metas >= 4, "{produced:?}");
        Fixture {
            _dir: dir,
            root,
            log_url,
            snap_url,
            snapshot_ts,
            log_start,
            checkpoint,
            points,
        }
    })
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(build)
}

async fn pitr_into(
    dir: &Path,
    f: &Fixture,
    log_url: &str,
    ts: Option<u64>,
) -> (ClusterClient, Result<PitrSummary, EngineError>) {
    let dst = ClusterClient::connect(&url(dir)).await.unwrap();
    let mut o = PitrOptions::new(log_url, &f.snap_url);
    o.restored_ts = ts;
    let r = run_pitr(&dst, storage(log_url), storage(&f.snap_url), &o, &Quiet).await;
    (dst, r)
}

#[test]
fn pitr_equals_the_source_at_each_ts_with_dropped_truncated_and_created_tables() {
    let f = fixture();
    rt().block_on(async {
        for (i, (label, ts, want)) in f.points.iter().enumerate() {
            let (dst, r) = pitr_into(&f.root.join(format!("dst-{i}")), f, &f.log_url, *ts).await;
            let s = r.unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(s.restored_ts, ts.unwrap_or(f.checkpoint), "{label}");
            assert_eq!(s.snapshot_ts, f.snapshot_ts);
            let got = restored_image(&dst, want).await;
            assert_images_equal(label, &got, want, &s);
            if i > 0 {
                // after the DDL: events_rowid gone, orders truncated (new id, log only), late.* created
                assert!(!want.contains_key(&("sbtest".into(), workload::EVENTS.into())));
                assert!(
                    s.gone.iter().any(|g| g.contains(workload::EVENTS)),
                    "{:?}",
                    s.gone
                );
                let orders = s
                    .tables
                    .iter()
                    .find(|t| t.name == workload::ORDERS)
                    .unwrap();
                assert_eq!(orders.origin, Origin::CreatedAfterSnapshot);
                assert!(s
                    .tables
                    .iter()
                    .any(|t| t.db == "late" && t.origin == Origin::CreatedAfterSnapshot));
                assert!(s.replay.events > 0 && s.meta_events > 0);
            } else {
                assert!(want.contains_key(&("sbtest".into(), workload::EVENTS.into())));
            }
            dst.close().await;
        }
    });
}

#[test]
fn log_trunc_2_restored_ts_outside_the_window_is_refused_naming_the_flag() {
    let f = fixture();
    rt().block_on(async {
        let (dst, r) = pitr_into(
            &f.root.join("dst-outside"),
            f,
            &f.log_url,
            Some(f.checkpoint + 1),
        )
        .await;
        match r {
            Err(EngineError::BadOption { flag, detail }) => {
                assert_eq!(flag, "--restored-ts");
                assert!(detail.contains("restorable window"), "{detail}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // nothing was created
        assert!(tables::list_tables(&dst, "sbtest", 0).await.is_err());
        dst.close().await;
    });
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_brtool"))
        .args(["restore", "point", "--pd"])
        .arg(url(&f.root.join("dst-cli")))
        .args([
            "-s",
            &f.log_url,
            "--full-backup-storage",
            &f.snap_url,
            "--restored-ts",
        ])
        .arg((f.log_start - 1).to_string())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--restored-ts") && err.contains("restorable window"),
        "{err}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &p);
        } else {
            std::fs::copy(e.path(), p).unwrap();
        }
    }
}

fn data_objects(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if !p.ends_with("schema-meta") {
                data_objects(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "log") {
            out.push(p);
        }
    }
}

#[test]
fn log_file_5_damaged_sub_file_fails_and_drops_the_created_tables() {
    let f = fixture();
    let bad = f.root.join("log-damaged");
    copy_dir(&f.root.join("log"), &bad);
    let mut objs = Vec::new();
    data_objects(&bad, &mut objs);
    assert!(!objs.is_empty());
    // Damage one byte in the middle of every data object: whichever sub-files the replay
    // reads, one of them fails its zstd frame or its SHA-256.
    for victim in &objs {
        let mut b = std::fs::read(victim).unwrap();
        let mid = b.len() / 2;
        b[mid] ^= 0x40;
        std::fs::write(victim, b).unwrap();
    }
    rt().block_on(async {
        let (dst, r) = pitr_into(&f.root.join("dst-damaged"), f, &url(&bad), None).await;
        let e = r
            .expect_err("a damaged sub-file must fail the restore")
            .to_string();
        assert!(e.contains("dropped the"), "{e}");
        assert!(
            tables::list_tables(&dst, "sbtest", 0)
                .await
                .unwrap_or_default()
                .is_empty(),
            "tables left behind: {e}"
        );
        assert!(tables::list_tables(&dst, "late", 0)
            .await
            .unwrap_or_default()
            .is_empty());
        dst.close().await;
    });
}

/// Log replay speed (scripts/bench-pitr.sh runs it): a bulk load into a database created after
/// the snapshot, so the whole load is replayed from the log; prints MB/s of log data. No
/// timing assertion.
#[test]
#[ignore = "benchmark: scripts/bench-pitr.sh"]
fn bench_log_replay_speed() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (tables_n, rows) = (env("BENCH_TABLES", 2), env("BENCH_ROWS", 60_000));
    let dir = match std::env::var("BENCH_DIR") {
        Ok(d) => {
            std::fs::create_dir_all(&d).unwrap();
            tempfile::tempdir_in(d).unwrap()
        }
        Err(_) => tempfile::tempdir().unwrap(),
    };
    let root = dir.path();
    let (log_url, snap_url) = (url(&root.join("log")), url(&root.join("snap")));
    rt().block_on(async {
        let src_dir = root.join("src");
        let src = ClusterClient::connect(&url(&src_dir)).await.unwrap();
        workload::load(&src, &spec("sbtest")).await.unwrap();
        let log_start = src.tso().await.unwrap();
        run_backup(
            &src,
            storage(&snap_url),
            &BackupOptions::new(&snap_url),
            &Quiet,
        )
        .await
        .unwrap();
        let bulk = WorkloadSpec {
            db: "bulk".into(),
            tables: tables_n as usize,
            rows,
            seed: SEED,
        };
        let t = std::time::Instant::now();
        let loaded = workload::load(&src, &bulk).await.unwrap();
        eprintln!(
            "[bench] loaded {:.1} MB ({} KVs) after the snapshot in {:.1}s",
            loaded.bytes as f64 / 1e6,
            loaded.kvs,
            t.elapsed().as_secs_f64()
        );
        let checkpoint = src.tso().await.unwrap();
        let regions = src.scan_regions(b"", b"").await.unwrap();
        src.close().await;
        let bounds: Vec<u64> = (1..=4u64)
            .map(|i| log_start + (checkpoint - log_start) * i / 4)
            .collect();
        let p = log_producer::produce(
            storage(&log_url).as_ref(),
            &src_dir,
            &regions,
            log_start,
            &bounds,
        )
        .await;
        eprintln!("[bench] log archive: {p:?}");
        let dst = ClusterClient::connect(&url(&root.join("dst")))
            .await
            .unwrap();
        let o = PitrOptions::new(&log_url, &snap_url);
        let cpu0 = process_cpu_seconds();
        let s = run_pitr(&dst, storage(&log_url), storage(&snap_url), &o, &Quiet)
            .await
            .unwrap();
        let cpu = process_cpu_seconds() - cpu0;
        dst.close().await;
        let secs = s.replay_elapsed.as_secs_f64().max(1e-9);
        let mbps = s.replay.plain_bytes as f64 / 1e6 / secs;
        println!(
            "BENCH log_replay files={} stored_mb={:.1} log_mb={:.1} events={} replay_s={:.2} \
             mb_per_s={:.1} stored_mb_per_s={:.1} total_s={:.2} cpu_s={:.2} requests={} \
             retried={} goal_mb_per_s=100 {}",
            s.replay.files,
            s.replay.stored_bytes as f64 / 1e6,
            s.replay.plain_bytes as f64 / 1e6,
            s.replay.events,
            secs,
            mbps,
            s.replay.stored_bytes as f64 / 1e6 / secs,
            s.elapsed.as_secs_f64(),
            cpu,
            s.replay.requests,
            s.replay.retried,
            if mbps >= 100.0 {
                "MEETS_GOAL"
            } else {
                "BELOW_GOAL"
            }
        );
    });
}

/// User + system CPU seconds of this process so far (/proc/self/stat fields 14 and 15).
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<u64>() as f64 / 100.0
}
