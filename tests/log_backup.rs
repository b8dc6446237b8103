//! Issue 5, log backup: a task on a running cluster (`RunningCluster`) backs up every
//! committed version. The oracle: the events of the archive with commit_ts in (lo,
//! checkpoint] equal the source stores' MVCC versions in that range (write CF exactly, up to
//! duplicates; every default-CF value they need), DDL meta keys included, through region
//! splits and scatters, a pause and resume, flush failures and a crash; plus the GC service
//! safepoint, the one-task rule, and the refusal on an in-process cluster.

use brkit::archive::log::LogArchive;
use brkit::cluster::logbackup::flush::FAIL_FLUSH_AFTER;
use brkit::cluster::logbackup::LogBackupConfig;
use brkit::cluster::server::{ClusterConfig, RunningCluster};
use brkit::cluster::store::Store;
use brkit::cluster::ClusterClient;
use brkit::codec::model::DBInfo;
use brkit::engine::tables;
use brkit::engine::workload::{self, WorkloadSpec};
use brkit::format::backupmeta::decode_backupmeta;
use brkit::format::crypto::Cipher;
use brkit::format::logfile::{decode_sub_file, events, key_ts};
use brkit::format::naming::log::{parse_log_data_path, parse_meta_path, LogDataName};
use brkit::format::naming::snapshot::{Cf, BACKUPMETA, LOCK};
use brkit::storage::{open_url, Storage};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TASK: &str = "t1";

/// A set of (key, value) entries.
type Kvs = BTreeSet<(Vec<u8>, Vec<u8>)>;
const FLUSH_MS: u64 = 400;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn spec(db: &str, rows: u64) -> WorkloadSpec {
    WorkloadSpec {
        db: db.into(),
        tables: 1,
        rows,
        seed: 11,
    }
}

/// A cluster serving on loopback with small regions (splits and scatters during the load)
/// and a small flush size limit.
async fn start(dir: &Path) -> (RunningCluster, ClusterClient) {
    start_merging_after(dir, 0).await
}

/// [`start`] with the automatic merge hook called after `objects` data objects per store.
async fn start_merging_after(dir: &Path, objects: u64) -> (RunningCluster, ClusterClient) {
    let cfg = ClusterConfig {
        region_split_bytes: 96 << 10,
        write_addr_file: true,
        ..ClusterConfig::embedded(dir.to_path_buf())
    };
    let log = LogBackupConfig {
        size_limit: 512 << 10,
        group_limit: 256 << 10,
        merge_after_objects: objects,
        merge_target_bytes: 1 << 20,
    };
    let running = RunningCluster::start_with(cfg, log).await.unwrap();
    let c = ClusterClient::connect(&running.pd_addr().to_string())
        .await
        .unwrap();
    (running, c)
}

fn url_of(dir: &Path) -> String {
    format!("local://{}", dir.display())
}

async fn checkpoint(c: &ClusterClient, task: &str) -> u64 {
    let r = c.log_tasks(task).await.unwrap();
    r.tasks[0].checkpoint_ts
}

/// Waits (bounded) until the task's global checkpoint reaches `ts`; returns it.
async fn wait_checkpoint(c: &ClusterClient, task: &str, ts: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let ck = checkpoint(c, task).await;
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

/// Every (cf, event key, value) of the archive, from every sub-file of every `.meta`.
async fn log_events(storage: &dyn Storage) -> (LogArchive, Vec<(Cf, bool, Vec<u8>, Vec<u8>)>) {
    let a = LogArchive::open(storage).await.unwrap();
    let mut objects: HashMap<String, bytes::Bytes> = HashMap::new();
    let mut out = Vec::new();
    for m in &a.metas {
        for (path, f) in m.meta.sub_files() {
            if !objects.contains_key(path) {
                objects.insert(path.to_string(), storage.read(path).await.unwrap());
            }
            let stream = decode_sub_file(&objects[path], f, &Cipher::plaintext()).unwrap();
            for ev in events(&stream) {
                let (k, v) = ev.unwrap();
                out.push((f.cf, f.is_meta, k.to_vec(), v.to_vec()));
            }
        }
    }
    (a, out)
}

/// The source's versions with lo < commit_ts <= hi (write CF) and the default values they
/// point to, from every store (the cluster must be shut down). Also every default entry.
fn mvcc(dir: &Path, lo: u64, hi: u64) -> (Kvs, Kvs, Kvs) {
    let (mut w, mut d, mut all_d) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for id in 1..=3u64 {
        let s = Store::open(&dir.join(format!("store-{id}")), id).unwrap();
        s.scan_versions(&[], &[], lo, hi, &mut |_, cf, k, v| {
            let e = (k.to_vec(), v.to_vec());
            match cf {
                Cf::Write => w.insert(e),
                _ => d.insert(e),
            };
        })
        .unwrap();
        s.scan_versions(&[], &[], 0, u64::MAX, &mut |_, cf, k, v| {
            if cf == Cf::Default {
                all_d.insert((k.to_vec(), v.to_vec()));
            }
        })
        .unwrap();
    }
    (w, d, all_d)
}

/// The oracle: archive events in (lo, hi] equal the source's MVCC versions in (lo, hi].
/// Returns how many write versions matched and how many meta-KV events the archive holds.
async fn assert_log_equals_mvcc(
    cluster_dir: &Path,
    storage: &dyn Storage,
    lo: u64,
    hi: u64,
) -> (usize, usize) {
    let (_, evs) = log_events(storage).await;
    let (want_w, want_d, all_d) = mvcc(cluster_dir, lo, hi);
    let mut got_w = BTreeSet::new();
    let mut got_d = BTreeSet::new();
    let mut meta = 0;
    for (cf, is_meta, k, v) in evs {
        assert_eq!(
            is_meta,
            k.first() == Some(&b'm'),
            "is_meta flags meta keys only"
        );
        let ts = key_ts(&k).unwrap();
        match cf {
            Cf::Write if ts > lo && ts <= hi => {
                meta += usize::from(is_meta);
                got_w.insert((k, v));
            }
            Cf::Default => {
                if ts > lo {
                    assert!(
                        all_d.contains(&(k.clone(), v.clone())),
                        "a default event the source never had"
                    );
                }
                got_d.insert((k, v));
            }
            _ => {}
        }
    }
    let missing: Vec<_> = want_w.difference(&got_w).take(3).collect();
    let extra: Vec<_> = got_w.difference(&want_w).take(3).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "write events in ({lo}, {hi}] differ from MVCC: {} missing (e.g. {missing:?}), {} extra (e.g. {extra:?})",
        want_w.difference(&got_w).count(),
        got_w.difference(&want_w).count()
    );
    let missing_d = want_d.difference(&got_d).count();
    assert_eq!(missing_d, 0, "default values missing from the log");
    (want_w.len(), meta)
}

#[test]
fn events_equal_mvcc_versions_through_splits_scatters_and_ddl() {
    let dir = tempfile::tempdir().unwrap();
    let cdir = dir.path().join("c");
    let archive = dir.path().join("log");
    rt().block_on(async {
        let (running, c) = start(&cdir).await;
        workload::load(&c, &spec("sbtest", 200)).await.unwrap();
        let regions_before = c.scan_regions(&[], &[]).await.unwrap().len();
        let t = c
            .register_log_task(TASK, &url_of(&archive), 0, FLUSH_MS)
            .await
            .unwrap();
        let start_ts = t.start_ts;
        // LOG-1, LOG-NAME-11: lock and root written at registration.
        let storage: Arc<dyn Storage> = open_url(&url_of(&archive)).unwrap();
        storage.stat(LOCK).await.unwrap();
        let root = decode_backupmeta(
            &storage.read(BACKUPMETA).await.unwrap(),
            &Cipher::plaintext(),
        )
        .unwrap();
        assert_eq!((root.start_version, root.end_version), (start_ts, 0));
        // DDL during the task: a new database with tables, then one table dropped.
        workload::load(&c, &spec("ddl", 30)).await.unwrap();
        let run = workload::run(&c, &spec("sbtest", 200), Duration::from_secs(3))
            .await
            .unwrap();
        assert!(run.commits > 10);
        let (dbs, _) = c.list_schemas(0).await.unwrap();
        let ddl = dbs
            .iter()
            .map(|d| DBInfo::from_json(&d.db_info).unwrap())
            .find(|d| d.db_name.l == "ddl")
            .unwrap();
        let victim = tables::find_table(&c, "ddl", "sbtest1", 0).await.unwrap();
        c.drop_table(ddl.id, victim.id).await.unwrap();
        let target = c.tso().await.unwrap();
        let ck = wait_checkpoint(&c, TASK, target).await;
        let regions_after = c.scan_regions(&[], &[]).await.unwrap();
        assert!(
            regions_after.len() > regions_before,
            "the load split regions during the task"
        );
        running.shutdown().await;

        let (w, meta) = assert_log_equals_mvcc(&cdir, storage.as_ref(), start_ts, ck).await;
        assert!(w > 100, "only {w} versions compared");
        assert!(meta > 0, "DDL meta keys are in meta-KV sub-files");
        // Names and checkpoint files (LOG-NAME-4, LOG-NAME-6/7, LOG-CKPT-2).
        let (a, _) = log_events(storage.as_ref()).await;
        assert!(
            a.window.max_ts >= ck,
            "restorable up to the checkpoint: {:?}",
            a.window
        );
        assert_eq!(a.window.min_ts, start_ts);
        for m in &a.metas {
            assert_eq!(parse_meta_path(&m.path).unwrap().generation(), "tagged");
            for g in &m.meta.groups {
                let n = parse_log_data_path(&g.path).unwrap();
                let LogDataName::Group {
                    schema_meta,
                    store_id,
                    ..
                } = n
                else {
                    panic!("{} is not a group object", g.path)
                };
                assert_eq!(store_id as i64, m.meta.store_id);
                assert_eq!(schema_meta, g.files.iter().all(|f| f.is_meta));
            }
        }
        assert!(a.checkpoints.iter().map(|c| c.1).max().unwrap() >= ck);
    });
}

#[test]
fn pause_resume_stop_and_the_gc_service_safepoint() {
    let dir = tempfile::tempdir().unwrap();
    let cdir = dir.path().join("c");
    let archive = dir.path().join("log");
    rt().block_on(async {
        let (running, c) = start(&cdir).await;
        workload::load(&c, &spec("sbtest", 100)).await.unwrap();
        let t = c
            .register_log_task(TASK, &url_of(&archive), 0, FLUSH_MS)
            .await
            .unwrap();
        let sp = |r: &brkit::proto::logbackuppb::GetTasksResponse| {
            r.service_safepoints
                .get(&format!("log-backup-{TASK}"))
                .copied()
        };
        assert_eq!(
            sp(&c.log_tasks("").await.unwrap()),
            Some(t.start_ts),
            "GC held at the start"
        );
        // One task at a time, named in the refusal.
        let e = c
            .register_log_task("t2", &url_of(&dir.path().join("other")), 0, FLUSH_MS)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"t1\"") && e.contains("log stop"), "{e}");
        // Ingest bypasses the observers: refused while the task runs.
        let (_, mut imp) = c.import_client(1).await.unwrap();
        let st = imp
            .multi_ingest(brkit::proto::import_sstpb::MultiIngestRequest::default())
            .await
            .unwrap_err();
        assert_eq!(st.code(), tonic::Code::FailedPrecondition, "{st}");
        workload::run(&c, &spec("sbtest", 100), Duration::from_secs(1))
            .await
            .unwrap();
        let ck1 = wait_checkpoint(&c, TASK, c.tso().await.unwrap()).await;
        assert!(
            sp(&c.log_tasks("").await.unwrap()).unwrap() >= ck1,
            "the safepoint follows the checkpoint"
        );

        let p = c.pause_log_task(TASK, 3600).await.unwrap();
        assert_eq!(p.state, "paused");
        let paused_at = p.checkpoint_ts;
        // Writes while paused: the checkpoint stays, GC stays behind it.
        workload::run(&c, &spec("sbtest", 100), Duration::from_secs(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(3 * FLUSH_MS)).await;
        assert_eq!(
            checkpoint(&c, TASK).await,
            paused_at,
            "no progress while paused"
        );
        let gc = c.gc(c.tso().await.unwrap()).await.unwrap();
        assert!(
            gc.safe_point <= paused_at,
            "GC {} passed the paused checkpoint {paused_at}",
            gc.safe_point
        );
        let gc_sp = gc.safe_point;

        let r = c.resume_log_task(TASK).await.unwrap();
        assert_eq!(r.state, "running");
        workload::run(&c, &spec("sbtest", 100), Duration::from_secs(1))
            .await
            .unwrap();
        let ck = wait_checkpoint(&c, TASK, c.tso().await.unwrap()).await;
        c.stop_log_task(TASK).await.unwrap();
        let after = c.log_tasks("").await.unwrap();
        assert!(after.tasks.is_empty());
        assert_eq!(sp(&after), None, "stop releases the GC safepoint");
        running.shutdown().await;

        // Everything in (GC safepoint, checkpoint], the paused window included, is in the log.
        let storage = open_url(&url_of(&archive)).unwrap();
        let (w, _) =
            assert_log_equals_mvcc(&cdir, storage.as_ref(), gc_sp.max(t.start_ts), ck).await;
        assert!(w > 0);

        // A pause that outlives its --gc-ttl cannot resume once GC passed the checkpoint.
        let (running, c) = start(&cdir).await;
        let t2 = c
            .register_log_task("t2", &url_of(&dir.path().join("log2")), 0, FLUSH_MS)
            .await
            .unwrap();
        c.pause_log_task("t2", 1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let g = c.gc(c.tso().await.unwrap()).await.unwrap();
        assert!(g.safe_point > t2.start_ts);
        let e = c.resume_log_task("t2").await.unwrap_err().to_string();
        assert!(e.contains("behind the GC safepoint"), "{e}");
        c.stop_log_task("t2").await.unwrap();
        running.shutdown().await;
    });
}

#[test]
fn failed_flushes_and_a_crash_lose_nothing_in_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let cdir = dir.path().join("c");
    let archive = dir.path().join("log");
    let storage = open_url(&url_of(&archive)).unwrap();
    let start_ts = rt().block_on(async {
        let (running, c) = start(&cdir).await;
        workload::load(&c, &spec("sbtest", 150)).await.unwrap();
        let t = c
            .register_log_task(TASK, &url_of(&archive), 0, FLUSH_MS)
            .await
            .unwrap();
        // Store 1 writes its .meta but fails before reporting: its events repeat later.
        c.set_failpoint(FAIL_FLUSH_AFTER, "meta@1").await.unwrap();
        workload::run(&c, &spec("sbtest", 150), Duration::from_secs(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(2 * FLUSH_MS)).await;
        c.set_failpoint(FAIL_FLUSH_AFTER, "").await.unwrap();
        let ck = wait_checkpoint(&c, TASK, c.tso().await.unwrap()).await;
        // Every store now fails after its data objects, before its .meta: no progress.
        c.set_failpoint(FAIL_FLUSH_AFTER, "data").await.unwrap();
        tokio::time::sleep(Duration::from_millis(2 * FLUSH_MS)).await;
        let stuck = checkpoint(&c, TASK).await;
        assert!(stuck >= ck);
        workload::run(&c, &spec("sbtest", 150), Duration::from_secs(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(3 * FLUSH_MS)).await;
        assert_eq!(
            checkpoint(&c, TASK).await,
            stuck,
            "no checkpoint without .meta files"
        );
        // Crash: the process goes away with unflushed buffers (they are dropped).
        running.shutdown().await;
        t.start_ts
    });
    // Restart: the task resumes; each store rescans from the checkpoint.
    let ck = rt().block_on(async {
        let (running, c) = start(&cdir).await;
        assert_eq!(c.log_tasks(TASK).await.unwrap().tasks[0].state, "running");
        workload::run(&c, &spec("sbtest", 150), Duration::from_secs(1))
            .await
            .unwrap();
        let ck = wait_checkpoint(&c, TASK, c.tso().await.unwrap()).await;
        running.shutdown().await;
        ck
    });
    rt().block_on(async {
        let (w, _) = assert_log_equals_mvcc(&cdir, storage.as_ref(), start_ts, ck).await;
        assert!(w > 50, "only {w} versions compared");
    });
}

#[test]
fn log_start_on_an_in_process_cluster_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("c");
    rt().block_on(async {
        let c = ClusterClient::connect(&format!("local://{}", d.display()))
            .await
            .unwrap();
        assert!(c.is_embedded());
        let e = c
            .register_log_task(TASK, &url_of(&dir.path().join("log")), 0, FLUSH_MS)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "log backup needs a running cluster: start one with `brtool cluster start --dir"
            ),
            "{e}"
        );
        c.close().await;
    });
}

/// `brtool log ...` end to end against a server: start, status --json, pause, resume, stop.
#[test]
fn cli_log_start_status_pause_resume_stop() {
    let dir = tempfile::tempdir().unwrap();
    let cdir = dir.path().join("c");
    let archive = url_of(&dir.path().join("log"));
    let r = rt();
    let (running, _c) = r.block_on(start(&cdir));
    let pd = format!("local://{}", cdir.display());
    let brtool = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_brtool"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, out, err) = brtool(&[
        "log",
        "start",
        "--task-name",
        "cli",
        "--pd",
        &pd,
        "-s",
        &archive,
        "--flush-interval",
        "300ms",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    std::thread::sleep(Duration::from_millis(1200));
    let (code, out, err) = brtool(&["log", "status", "--pd", &pd, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["task"], "cli");
    assert_eq!(v["state"], "running");
    assert!(v["checkpoint_ts"].as_u64().unwrap() > v["start_ts"].as_u64().unwrap());
    assert!(v["checkpoint_lag_ms"].as_u64().is_some());
    assert_eq!(v["stores"].as_array().unwrap().len(), 3);
    let (code, _, err) = brtool(&[
        "log",
        "pause",
        "--task-name",
        "cli",
        "--pd",
        &pd,
        "--gc-ttl",
        "600",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (_, out, _) = brtool(&["log", "status", "--pd", &pd]);
    assert!(out.contains("paused"), "{out}");
    let (code, _, err) = brtool(&["log", "resume", "--task-name", "cli", "--pd", &pd]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = brtool(&["log", "stop", "--task-name", "cli", "--pd", &pd]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = brtool(&["log", "stop", "--task-name", "cli", "--pd", &pd]);
    assert_eq!(code, Some(2), "stopping twice is an error: {err}");
    r.block_on(running.shutdown());
    // Without a server the directory opens in-process, and `log start` refuses.
    let (code, _, err) = brtool(&[
        "log",
        "start",
        "--task-name",
        "x",
        "--pd",
        &pd,
        "-s",
        &url_of(&dir.path().join("log3")),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("log backup needs a running cluster"), "{err}");
}

#[test]
fn a_start_ts_in_the_past_backs_up_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let cdir = dir.path().join("c");
    let archive = dir.path().join("log");
    rt().block_on(async {
        let (running, c) = start(&cdir).await;
        let before = c.tso().await.unwrap();
        workload::load(&c, &spec("sbtest", 60)).await.unwrap();
        // Registered after the load, starting before it: the load must be in the log.
        let t = c
            .register_log_task(TASK, &url_of(&archive), before, FLUSH_MS)
            .await
            .unwrap();
        assert_eq!(t.start_ts, before);
        let ck = wait_checkpoint(&c, TASK, c.tso().await.unwrap()).await;
        running.shutdown().await;
        let storage = open_url(&url_of(&archive)).unwrap();
        let (w, meta) = assert_log_equals_mvcc(&cdir, storage.as_ref(), before, ck).await;
        assert!(w > 100 && meta > 0, "{w} versions, {meta} meta events");
    });
}

/// A merger that records its calls.
struct CountingMerger(Arc<std::sync::Mutex<Vec<(String, u64)>>>);

#[async_trait::async_trait]
impl brkit::cluster::logbackup::merge_hook::SmallObjectMerger for CountingMerger {
    async fn merge(&self, storage: Arc<dyn Storage>, target_bytes: u64) -> Result<(), String> {
        self.0
            .lock()
            .unwrap()
            .push((storage.display_url(), target_bytes));
        Ok(())
    }
}

#[test]
fn the_automatic_merge_hook_runs_once_enough_objects_were_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let cdir = dir.path().join("c");
    let archive = dir.path().join("log");
    rt().block_on(async {
        let (running, c) = start_merging_after(&cdir, 2).await;
        let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
        running.set_log_merger(Arc::new(CountingMerger(calls.clone())));
        workload::load(&c, &spec("sbtest", 30)).await.unwrap();
        c.register_log_task(TASK, &url_of(&archive), 0, FLUSH_MS)
            .await
            .unwrap();
        workload::run(&c, &spec("sbtest", 30), Duration::from_secs(2))
            .await
            .unwrap();
        wait_checkpoint(&c, TASK, c.tso().await.unwrap()).await;
        running.shutdown().await;
        let calls = calls.lock().unwrap();
        assert!(!calls.is_empty(), "the hook never ran");
        assert!(calls.iter().all(|(_, t)| *t == 1 << 20));
    });
}
