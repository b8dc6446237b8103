//! Issue 5, the PITR correctness oracle with the REAL log backup: a `RunningCluster` gets a log
//! task before the workload (inserts, updates, deletes through region splits), a snapshot is
//! taken mid-run, writing goes on, and after it one table is dropped, one truncated (drop +
//! create with new ids) and a database created. Once the global checkpoint passes the last
//! write, for several restored ts (just after the snapshot, mid-run after the DDL, the
//! checkpoint) a PITR into a fresh cluster must equal the source read at that ts: the same
//! tables, row dumps and checksums (CSUM-6). The log archive the task wrote verifies without
//! error findings, before and after merging its small objects (LOG-MERGE), and a PITR from the
//! merged archive gives the same result.

mod support;
use support::rt;

#[path = "support/pitr_oracle.rs"]
mod pitr_oracle;
use pitr_oracle::*;

use brkit::archive::log::LogArchive;
use brkit::cluster::logbackup::LogBackupConfig;
use brkit::cluster::server::{ClusterConfig, RunningCluster};
use brkit::cluster::ClusterClient;
use brkit::engine::backup::Quiet;
use brkit::engine::log::merge::merge_small_objects;
use brkit::engine::pitr::{run_pitr, Origin, PitrOptions, PitrSummary};
use brkit::engine::verify::{run_verify, Level, NoProgress, VerifyOptions, VerifyReport};
use brkit::engine::workload;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const TASK: &str = "e2e";
const FLUSH_MS: u64 = 300;
/// Small enough that the task's objects are merged into fewer, larger ones.
const MERGE_TARGET: u64 = 128 << 10;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    log_url: String,
    merged_url: String,
    snap_url: String,
    snapshot_ts: u64,
    checkpoint: u64,
    /// (label, restored ts or None for the default, expected image)
    points: Vec<(&'static str, Option<u64>, Image)>,
}

/// Waits (bounded) until the task's global checkpoint reaches `ts`; returns it.
async fn wait_checkpoint(c: &ClusterClient, ts: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let ck = c.log_tasks(TASK).await.unwrap().tasks[0].checkpoint_ts;
        if ck >= ts {
            return ck;
        }
        assert!(
            Instant::now() < deadline,
            "checkpoint {ck} did not reach {ts} in 90 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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

fn build() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let log_url = url(&root.join("log"));
    let merged_url = url(&root.join("log-merged"));
    let snap_url = url(&root.join("snap"));
    rt().block_on(async {
        let cfg = ClusterConfig {
            region_split_bytes: 96 << 10,
            write_addr_file: true,
            ..ClusterConfig::embedded(root.join("src"))
        };
        // Small flushes and groups: many objects for the merge; no automatic merge.
        let log = LogBackupConfig {
            size_limit: 64 << 10,
            group_limit: 32 << 10,
            merge_after_objects: 0,
            merge_target_bytes: MERGE_TARGET,
        };
        let running = RunningCluster::start_with(cfg, log).await.unwrap();
        let src = ClusterClient::connect(&running.pd_addr().to_string())
            .await
            .unwrap();
        // The task first, then everything else is written under it.
        src.register_log_task(TASK, &log_url, 0, FLUSH_MS)
            .await
            .unwrap();
        workload::load(&src, &spec("sbtest")).await.unwrap();
        let sc = snapshot_mid_run_then_ddl(&src, &snap_url, Duration::from_millis(400)).await;
        let (snapshot_ts, just_after, mid) = (sc.snapshot_ts, sc.just_after, sc.mid);
        let checkpoint = wait_checkpoint(&src, sc.last_write).await;
        let mut points = Vec::new();
        for (label, ts, wanted) in [
            ("just after the snapshot", just_after, Some(just_after)),
            ("mid-run after the DDL", mid, Some(mid)),
            // nothing is written after `last_write`: the source at the checkpoint is the
            // source at any later ts the archive may reach before the shutdown
            ("the global checkpoint", checkpoint, None),
        ] {
            points.push((label, wanted, image_at(&src, ts).await));
        }
        src.stop_log_task(TASK).await.unwrap();
        src.close().await;
        running.shutdown().await;

        let a = LogArchive::open(storage(&log_url).as_ref()).await.unwrap();
        assert!(a.window.max_ts >= checkpoint, "{:?}", a.window);
        assert!(a.window.min_ts <= snapshot_ts, "{:?}", a.window);
        copy_dir(&root.join("log"), &root.join("log-merged"));
        Fixture {
            _dir: dir,
            root,
            log_url,
            merged_url,
            snap_url,
            snapshot_ts,
            checkpoint,
            points,
        }
    })
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(build)
}

/// The merged copy of the task's archive, merged once.
fn merged() -> &'static Fixture {
    static M: OnceLock<()> = OnceLock::new();
    let f = fixture();
    M.get_or_init(|| {
        rt().block_on(async {
            let s = storage(&f.merged_url);
            let sum = merge_small_objects(s.as_ref(), MERGE_TARGET).await.unwrap();
            eprintln!("merge: {sum}");
            assert!(
                sum.objects_written > 0 && sum.objects_deleted > sum.objects_written,
                "the merge merged nothing: {sum}"
            );
        })
    });
    f
}

async fn pitr_into(
    dir: &Path,
    f: &Fixture,
    log_url: &str,
    ts: Option<u64>,
) -> (ClusterClient, PitrSummary) {
    let dst = ClusterClient::connect(&url(dir)).await.unwrap();
    let mut o = PitrOptions::new(log_url, &f.snap_url);
    o.restored_ts = ts;
    let s = run_pitr(&dst, storage(log_url), storage(&f.snap_url), &o, &Quiet)
        .await
        .unwrap_or_else(|e| panic!("PITR from {log_url} to {ts:?}: {e}"));
    (dst, s)
}

/// PITR from `log_url` at each of the fixture's points equals the source at that ts.
fn check_points(f: &Fixture, log_url: &str, tag: &str, which: &[usize]) {
    rt().block_on(async {
        for &i in which {
            let (label, ts, want) = &f.points[i];
            let label = format!("{tag}: {label}");
            let (dst, s) = pitr_into(&f.root.join(format!("dst-{tag}-{i}")), f, log_url, *ts).await;
            match ts {
                Some(t) => assert_eq!(s.restored_ts, *t, "{label}"),
                None => assert!(s.restored_ts >= f.checkpoint, "{label}"),
            }
            assert_eq!(s.snapshot_ts, f.snapshot_ts, "{label}");
            let got = restored_image(&dst, want).await;
            assert_images_equal(&label, &got, want, &s);
            if i > 0 {
                assert!(
                    s.gone.iter().any(|g| g.contains(workload::EVENTS)),
                    "{label}: {:?}",
                    s.gone
                );
                let orders = s.tables.iter().find(|t| t.name == workload::ORDERS);
                assert_eq!(
                    orders.map(|t| t.origin),
                    Some(Origin::CreatedAfterSnapshot),
                    "{label}: the truncated table comes from the log"
                );
                assert!(s.replay.events > 0 && s.meta_events > 0, "{label}");
            } else {
                assert!(
                    want.contains_key(&("sbtest".into(), workload::EVENTS.into())),
                    "{label}"
                );
            }
            dst.close().await;
        }
    });
}

fn verify(f: &Fixture, log_url: &str) -> VerifyReport {
    let mut o = VerifyOptions::new(Level::Kv);
    o.full_backup = Some(storage(&f.snap_url));
    rt().block_on(run_verify(storage(log_url).as_ref(), &o, &NoProgress))
        .unwrap()
}

fn assert_no_errors(r: &VerifyReport, what: &str) {
    let errors: Vec<_> = r
        .findings
        .iter()
        .filter(|x| x.severity == brkit::engine::verify::Severity::Error)
        .map(|x| x.to_json())
        .collect();
    assert_eq!(r.archive_kind, "log", "{what}");
    assert!(r.log.is_some() && r.files_read > 0, "{what}: nothing read");
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

#[test]
fn pitr_from_the_real_log_backup_equals_the_source_at_each_ts() {
    check_points(fixture(), &fixture().log_url, "log", &[0, 1, 2]);
}

#[test]
fn verify_log_archive_of_the_task_has_no_errors_before_and_after_the_merge() {
    let f = fixture();
    assert_no_errors(&verify(f, &f.log_url), "before the merge");
    let m = merged();
    assert_no_errors(&verify(m, &m.merged_url), "after the merge");
}

#[test]
fn log_merge_pitr_after_merging_small_objects_gives_the_same_result() {
    let m = merged();
    check_points(m, &m.merged_url, "merged", &[1, 2]);
}
