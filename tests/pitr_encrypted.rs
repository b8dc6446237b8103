//! Issue 5, encrypted log backup (format/log.md LOG-CRYPT-*): a REAL log task started with
//! `brtool log start --log.crypter.method aes256-ctr --log.crypter.key-file F` on a running
//! cluster, the PITR oracle's scenario (tests/support/pitr_oracle.rs) with a snapshot
//! encrypted under ANOTHER key. Checked: `log status` never prints the key while `pd.json`
//! keeps it; the raw data objects hold no plaintext row value (but decrypt to it) and every
//! sub-file has its own IV; PITR with both keys equals the source at each ts; a missing or
//! wrong log key stops `restore point` (exit 2, `--log.crypter.key` named) before anything is
//! created; `verify` is clean with the key and refuses without it or with a wrong one; `log
//! metadata`, `log truncate` and `log merge` run without any key, the merge copies the
//! encrypted sub-files as they are, and PITR from the merged archive still equals the source.

mod support;
use support::rt;

#[path = "support/pitr_oracle.rs"]
mod pitr_oracle;
use pitr_oracle::*;

use brkit::archive::log::LogArchive;
use brkit::cluster::logbackup::LogBackupConfig;
use brkit::cluster::server::{ClusterConfig, RunningCluster};
use brkit::cluster::ClusterClient;
use brkit::codec::model::DBInfo;
use brkit::engine::backup::Quiet;
use brkit::engine::pitr::{run_pitr, PitrOptions, PitrSummary};
use brkit::engine::tables;
use brkit::engine::verify::{run_verify, Level, NoProgress, Severity, VerifyOptions};
use brkit::engine::workload;
use brkit::format::crypto::{Cipher, CipherMethod};
use brkit::format::logfile::decode_sub_file;
use brkit::format::logmeta::{DataKeyMode, LogSubFile};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const TASK: &str = "enc";
const FLUSH_MS: u64 = 300;
const MERGE_TARGET: &str = "128KiB";
/// The log data key and the snapshot key: different on purpose.
const LOG_KEY: &str = "1f2e3d4c5b6a79880f1e2d3c4b5a69788796a5b4c3d2e1f0f0e1d2c3b4a59687";
const SNAP_KEY: &str = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";

fn cipher(hex_key: &str) -> Cipher {
    Cipher::new(CipherMethod::Aes256Ctr, hex::decode(hex_key).unwrap()).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    log_url: String,
    snap_url: String,
    log_key_file: PathBuf,
    snap_key_file: PathBuf,
    snapshot_ts: u64,
    checkpoint: u64,
    /// The record value of a row written under the task (a known plaintext).
    marker: Vec<u8>,
    /// `log status` and `log status --json` output while the task ran.
    status: String,
    /// `pd.json` of the source cluster while the task ran.
    pd_json: String,
    points: Vec<(&'static str, Option<u64>, Image)>,
}

fn brtool(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_brtool"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for f in files_under(from) {
        let dst = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&f, dst).unwrap();
    }
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
            "checkpoint {ck} < {ts} after 90 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Writes one workload row of `sbtest1` far beyond the workload's ids; returns its record
/// value (the longest value of the row's KVs).
async fn write_marker_row(c: &ClusterClient) -> Vec<u8> {
    let t = tables::find_table(c, "sbtest", "sbtest1", 0).await.unwrap();
    let kvs = workload::row_kvs(&t, 900_000, SEED, 0).unwrap();
    let marker = kvs
        .iter()
        .map(|(_, v)| v.clone())
        .max_by_key(Vec::len)
        .unwrap();
    assert!(marker.len() >= 32, "a distinctive value");
    c.commit(kvs.into_iter().map(|(k, v)| (k, Some(v))).collect())
        .await
        .unwrap();
    marker
}

fn build() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let (log_url, snap_url) = (url(&root.join("log")), url(&root.join("snap")));
    let log_key_file = root.join("log.key");
    let snap_key_file = root.join("snap.key");
    std::fs::write(&log_key_file, format!("{LOG_KEY}\n")).unwrap();
    std::fs::write(&snap_key_file, format!("{SNAP_KEY}\n")).unwrap();
    rt().block_on(async {
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
        let pd = url(&root.join("src"));
        // The REAL task, through the CLI, before any write.
        let o = brtool(&[
            "log",
            "start",
            "--task-name",
            TASK,
            "--pd",
            &pd,
            "-s",
            &log_url,
            "--flush-interval",
            &format!("{FLUSH_MS}ms"),
            "--log.crypter.method",
            "aes256-ctr",
            "--log.crypter.key-file",
            log_key_file.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(
            text(&o).contains("encrypted with aes256-ctr"),
            "{}",
            text(&o)
        );
        let src = ClusterClient::connect(&running.pd_addr().to_string())
            .await
            .unwrap();
        workload::load(&src, &spec("sbtest")).await.unwrap();
        let marker = write_marker_row(&src).await;
        let snap_cipher = cipher(SNAP_KEY);
        let sc = encrypted_snapshot_mid_run_then_ddl(
            &src,
            &snap_url,
            Duration::from_millis(400),
            &snap_cipher,
        )
        .await;
        let checkpoint = wait_checkpoint(&src, sc.last_write).await;
        let status = [
            brtool(&["log", "status", "--pd", &pd]),
            brtool(&["log", "status", "--pd", &pd, "--json"]),
        ]
        .iter()
        .map(|o| {
            assert!(o.status.success(), "{}", text(o));
            text(o)
        })
        .collect::<String>();
        let pd_json = files_under(&root.join("src"))
            .into_iter()
            .find(|p| p.file_name().is_some_and(|n| n == "pd.json"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .expect("pd.json");
        let mut points = Vec::new();
        for (label, ts, wanted) in [
            (
                "just after the snapshot",
                sc.just_after,
                Some(sc.just_after),
            ),
            ("mid-run after the DDL", sc.mid, Some(sc.mid)),
            ("the global checkpoint", checkpoint, None),
        ] {
            points.push((label, wanted, image_at(&src, ts).await));
        }
        src.stop_log_task(TASK).await.unwrap();
        src.close().await;
        running.shutdown().await;
        Fixture {
            _dir: dir,
            root: root.clone(),
            log_url,
            snap_url,
            log_key_file,
            snap_key_file,
            snapshot_ts: sc.snapshot_ts,
            checkpoint,
            marker,
            status,
            pd_json,
            points,
        }
    })
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(build)
}

/// Every sub-file of the archive at `u` with the path of its object.
fn sub_files(u: &str) -> Vec<(String, LogSubFile)> {
    let a = rt()
        .block_on(LogArchive::open(storage(u).as_ref()))
        .unwrap();
    a.metas
        .iter()
        .flat_map(|m| m.meta.groups.iter())
        .flat_map(|g| g.files.iter().map(|f| (g.path.clone(), f.clone())))
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn pitr_into(dir: &Path, f: &Fixture, log_url: &str, ts: Option<u64>) -> PitrSummary {
    let dst = ClusterClient::connect(&url(dir)).await.unwrap();
    let mut o = PitrOptions::new(log_url, &f.snap_url);
    o.restored_ts = ts;
    o.snapshot_cipher = cipher(SNAP_KEY);
    o.log_cipher = cipher(LOG_KEY);
    let s = run_pitr(&dst, storage(log_url), storage(&f.snap_url), &o, &Quiet)
        .await
        .unwrap_or_else(|e| panic!("PITR from {log_url} to {ts:?}: {e}"));
    dst.close().await;
    s
}

/// PITR from `log_url` at the fixture's points `which` equals the source at that ts.
fn check_points(f: &Fixture, log_url: &str, tag: &str, which: &[usize]) {
    rt().block_on(async {
        for &i in which {
            let (label, ts, want) = &f.points[i];
            let label = format!("{tag}: {label}");
            let dir = f.root.join(format!("dst-{tag}-{i}"));
            let s = pitr_into(&dir, f, log_url, *ts).await;
            match ts {
                Some(t) => assert_eq!(s.restored_ts, *t, "{label}"),
                None => assert!(s.restored_ts >= f.checkpoint, "{label}"),
            }
            assert_eq!(s.snapshot_ts, f.snapshot_ts, "{label}");
            assert!(s.replay.events > 0, "{label}: nothing replayed");
            let dst = ClusterClient::connect(&url(&dir)).await.unwrap();
            let got = restored_image(&dst, want).await;
            assert_images_equal(&label, &got, want, &s);
            dst.close().await;
        }
    });
}

#[test]
fn log_crypt_5_pitr_with_the_log_key_and_another_snapshot_key_equals_the_source_at_each_ts() {
    check_points(fixture(), &fixture().log_url, "log", &[0, 1, 2]);
}

#[test]
fn log_crypt_3_status_never_prints_the_key_which_pd_json_keeps() {
    let f = fixture();
    assert!(f.status.contains("aes256-ctr"), "{}", f.status);
    assert!(
        f.status.contains("\"encryption\":\"aes256-ctr\""),
        "{}",
        f.status
    );
    for form in [LOG_KEY.to_string(), LOG_KEY.to_uppercase()] {
        assert!(
            !f.status.contains(&form),
            "the key is printed: {}",
            f.status
        );
    }
    assert!(f.pd_json.contains(LOG_KEY), "pd.json keeps the task's key");
}

#[test]
fn log_crypt_1_raw_objects_hold_no_plaintext_and_decrypt_to_it() {
    let f = fixture();
    let key = cipher(LOG_KEY);
    let files = sub_files(&f.log_url);
    assert!(files.len() > 10, "{} sub-files", files.len());
    let mut ivs = BTreeSet::new();
    let mut found = 0;
    for (path, sub) in &files {
        let e = sub
            .encryption
            .as_ref()
            .expect("every sub-file is encrypted");
        assert_eq!(e.method, CipherMethod::Aes256Ctr);
        assert_eq!(e.mode, DataKeyMode::PlainText);
        assert!(ivs.insert(e.iv.clone()), "IV reused in {path}");
        let object = std::fs::read(f.root.join("log").join(path)).unwrap();
        let range = sub.range_offset as usize..(sub.range_offset + sub.range_length) as usize;
        // Without the key, not even a zstd decoder finds the value (a plaintext writer's
        // frames would inflate to it).
        let mut inflated = Vec::new();
        let _ = zstd::stream::read::Decoder::new(&object[range])
            .and_then(|mut d| d.read_to_end(&mut inflated));
        assert!(
            !contains(&inflated, &f.marker),
            "{path}: plaintext behind zstd"
        );
        let plain = decode_sub_file(&object, sub, &key).unwrap();
        found += usize::from(contains(&plain, &f.marker));
    }
    assert!(found > 0, "the marker row is in the log (decrypted)");
    let objects: Vec<PathBuf> = files_under(&f.root.join("log"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    assert!(!objects.is_empty());
    for p in objects {
        let raw = std::fs::read(&p).unwrap();
        assert!(
            !contains(&raw, &f.marker),
            "{}: plaintext row value",
            p.display()
        );
    }
}

fn verify_opts(log_key: Option<Cipher>) -> VerifyOptions {
    let f = fixture();
    let mut o = VerifyOptions::new(Level::Kv);
    o.cipher = cipher(SNAP_KEY);
    o.log_cipher = log_key;
    o.full_backup = Some(storage(&f.snap_url));
    o
}

fn assert_verify_clean(u: &str, what: &str) {
    let r = rt()
        .block_on(run_verify(
            storage(u).as_ref(),
            &verify_opts(Some(cipher(LOG_KEY))),
            &NoProgress,
        ))
        .unwrap();
    let errors: Vec<_> = r
        .findings
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .map(|x| x.to_json())
        .collect();
    assert_eq!(r.archive_kind, "log", "{what}");
    assert!(r.files_read > 0, "{what}: nothing read");
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

#[test]
fn log_crypt_5_verify_is_clean_with_the_log_key_and_refuses_without_or_with_a_wrong_one() {
    let f = fixture();
    assert_verify_clean(&f.log_url, "with the key");
    let s = storage(&f.log_url);
    let no_key_at_all = VerifyOptions::new(Level::File);
    let wrong_key = verify_opts(Some(cipher(SNAP_KEY)));
    for (opts, says) in [
        (no_key_at_all, "give --log.crypter.method aes256-ctr"),
        (wrong_key, "wrong key"),
        // Compatibility: without --log.crypter.*, --crypter.* is tried on the log data.
        (
            verify_opts(None),
            "the --crypter.* key was tried on the log data",
        ),
    ] {
        let e = rt()
            .block_on(run_verify(s.as_ref(), &opts, &NoProgress))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--log.crypter.key: ") && e.contains(says),
            "{e}"
        );
    }
    // The CLI: exit 2 naming the flag; with both keys from files, exit 0.
    let snap_file = f.snap_key_file.to_str().unwrap();
    let base = [
        "verify",
        "-s",
        &f.log_url,
        "--full-backup-storage",
        &f.snap_url,
        "--level",
        "file",
        "--crypter.method",
        "aes256-ctr",
        "--crypter.key-file",
        snap_file,
    ];
    let no_key = brtool(&base);
    assert_eq!(no_key.status.code(), Some(2), "{}", text(&no_key));
    assert!(
        text(&no_key).contains("--log.crypter.key"),
        "{}",
        text(&no_key)
    );
    let mut with = base.to_vec();
    with.extend([
        "--log.crypter.method",
        "aes256-ctr",
        "--log.crypter.key-file",
        f.log_key_file.to_str().unwrap(),
    ]);
    let ok = brtool(&with);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
}

#[test]
fn log_crypt_5_restore_point_without_or_with_a_wrong_log_key_exits_2_and_creates_nothing() {
    let f = fixture();
    let dst = f.root.join("dst-refused");
    let pd = url(&dst);
    let base = [
        "restore",
        "point",
        "--pd",
        &pd,
        "-s",
        &f.log_url,
        "--full-backup-storage",
        &f.snap_url,
        "--crypter.method",
        "aes256-ctr",
        "--crypter.key-file",
        f.snap_key_file.to_str().unwrap(),
    ];
    let no_key = brtool(&base);
    assert_eq!(no_key.status.code(), Some(2), "{}", text(&no_key));
    assert!(
        text(&no_key).contains("--log.crypter.key: the log backup's data sub-files are encrypted"),
        "{}",
        text(&no_key)
    );
    let mut wrong = base.to_vec();
    wrong.extend([
        "--log.crypter.method",
        "aes256-ctr",
        "--log.crypter.key",
        SNAP_KEY,
    ]);
    let wrong = brtool(&wrong);
    assert_eq!(wrong.status.code(), Some(2), "{}", text(&wrong));
    assert!(
        text(&wrong).contains("--log.crypter.key: wrong key"),
        "{}",
        text(&wrong)
    );
    assert!(!text(&wrong).contains(SNAP_KEY), "the key is echoed");
    // Nothing was created in the target.
    rt().block_on(async {
        let c = ClusterClient::connect(&pd).await.unwrap();
        let (dbs, _) = c.list_schemas(0).await.unwrap();
        let names: Vec<String> = dbs
            .iter()
            .map(|d| DBInfo::from_json(&d.db_info).unwrap().db_name.l)
            .collect();
        assert!(
            names.iter().all(|n| !DBS.contains(&n.as_str())),
            "created: {names:?}"
        );
        c.close().await;
    });
}

#[test]
fn log_crypt_2_4_metadata_truncate_and_merge_need_no_key_and_pitr_after_the_merge_equals() {
    let f = fixture();
    // log metadata: from the plaintext .meta files alone.
    let m = brtool(&["log", "metadata", "-s", &f.log_url, "--json"]);
    assert!(m.status.success(), "{}", text(&m));
    let v: serde_json::Value = serde_json::from_slice(&m.stdout).unwrap();
    assert!(
        v["max_restorable_ts"].as_u64().unwrap() >= f.checkpoint,
        "{v}"
    );
    // log truncate on a copy, up to the snapshot: no key asked, the rest still verifies.
    let truncated = f.root.join("log-truncated");
    copy_dir(&f.root.join("log"), &truncated);
    let until = f.snapshot_ts.to_string();
    let t = brtool(&[
        "log",
        "truncate",
        "-s",
        &url(&truncated),
        "--until",
        &until,
        "-y",
    ]);
    assert!(t.status.success(), "{}", text(&t));
    assert_verify_clean(&url(&truncated), "after the truncate");
    // log merge on a copy: the encrypted sub-files move as they are (LOG-CRYPT-4).
    let merged = f.root.join("log-merged");
    copy_dir(&f.root.join("log"), &merged);
    let before: BTreeSet<(Vec<u8>, Vec<u8>, u64)> = sub_files(&f.log_url)
        .into_iter()
        .map(|(_, s)| {
            let e = s.encryption.unwrap();
            (e.iv, e.checksum, s.range_length)
        })
        .collect();
    let g = brtool(&[
        "log",
        "merge",
        "-s",
        &url(&merged),
        "--target-size",
        MERGE_TARGET,
    ]);
    assert!(g.status.success(), "{}", text(&g));
    let after_files = sub_files(&url(&merged));
    let after: BTreeSet<(Vec<u8>, Vec<u8>, u64)> = after_files
        .iter()
        .map(|(_, s)| {
            let e = s.encryption.clone().unwrap();
            (e.iv, e.checksum, s.range_length)
        })
        .collect();
    assert_eq!(after, before, "the merge changed encrypted sub-files");
    let objects = |d: &Path| {
        files_under(d)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .count()
    };
    assert!(
        objects(&merged) < objects(&f.root.join("log")),
        "the merge merged nothing: {}",
        text(&g)
    );
    assert_verify_clean(&url(&merged), "after the merge");
    check_points(f, &url(&merged), "merged", &[1, 2]);
}
