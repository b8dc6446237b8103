//! Issue 7, real object stores: brkit against the servers of scripts/test-servers.sh (moto for
//! `s3://`, Azurite for `azure://`, gcp-storage-emulator for `gcs://`), each named by
//! `BRKIT_TEST_{S3,AZURE,GCS}_URL` (tests/support/servers.rs; a loud skip when unset, a
//! failure when `BRKIT_REQUIRE_SERVERS` is set as in `.ci/run`). Against each server:
//! - the storage conformance suite (tests/support/conformance.rs, STORE-*);
//! - a snapshot round trip as users run it: `brtool backup full` to the server, `verify
//!   --level kv` clean, `restore full` into a fresh cluster, every table equal (rows and
//!   checksum) to the source at the backup ts;
//! - a log round trip: a REAL log backup task of a running cluster flushes to the server,
//!   with a snapshot to the server mid-run and DDL after it, then `brtool log merge` on the
//!   server, `verify` of the log archive, and `brtool restore point` from the server equal to
//!   the source at the restored ts (the PITR oracle of tests/support/pitr_oracle.rs).
//!
//! And credentials (STORE-URL-4): secrets given in the URL or in BR's environment variables
//! reach the server but never any output: `inspect` (human and `--json`), `backup --json`,
//! `verify --json`, `log status`, and the errors of a wrong key and an unreachable endpoint.

mod support;
use support::rt;

#[path = "support/servers.rs"]
mod servers;
use servers::{with_prefix, Server};

#[path = "support/conformance.rs"]
mod conformance;

#[path = "support/pitr_oracle.rs"]
mod pitr_oracle;
use pitr_oracle::{image_at, restored_image, snapshot_mid_run_then_ddl, spec, Image};

use brkit::cluster::logbackup::LogBackupConfig;
use brkit::cluster::server::{ClusterConfig, RunningCluster};
use brkit::cluster::ClusterClient;
use brkit::engine::workload;
use brkit::storage::open_url;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn local(p: &Path) -> String {
    format!("local://{}", p.display())
}

/// One brtool run: (exit code, stdout, stderr), with extra environment.
fn brtool_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_brtool"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let o: Output = c.output().expect("running brtool");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs brtool, asserts success and that no secret of `urls` is in its output; stdout.
fn brtool_ok(args: &[&str], urls: &[&str]) -> String {
    let (code, out, err) = brtool_env(args, &[]);
    assert_eq!(
        code,
        0,
        "brtool {}\nstdout: {out}\nstderr: {err}",
        shown(args)
    );
    assert_no_secret(&[&out, &err], urls, args);
    out
}

/// The args with secret values replaced, for assertion messages.
fn shown(args: &[&str]) -> String {
    let mut s = args.join(" ");
    for a in args {
        for secret in servers::secrets_of(a) {
            s = s.replace(&secret, "<secret>");
        }
    }
    s
}

/// STORE-URL-4: no secret of any of `urls` appears in any of `outputs`, as given or
/// percent-encoded.
fn assert_no_secret(outputs: &[&str], urls: &[&str], args: &[&str]) {
    for u in urls {
        for secret in servers::secrets_of(u) {
            let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            for o in outputs {
                assert!(
                    !o.contains(&secret) && !o.contains(&encoded),
                    "STORE-URL-4: a secret was printed by brtool {}:\n{o}",
                    shown(args)
                );
            }
        }
    }
}

fn timed(label: &str, f: impl FnOnce()) {
    let t = Instant::now();
    f();
    eprintln!("{label}: {:.1} s", t.elapsed().as_secs_f64());
}

/// Asserts the restored tables equal the source's: the same tables, rows and checksums.
fn assert_same_tables(label: &str, got: &Image, want: &Image) {
    let names = |m: &Image| m.keys().cloned().collect::<Vec<_>>();
    assert!(!want.is_empty(), "{label}: the source has no table");
    assert_eq!(names(got), names(want), "{label}: tables differ");
    for (k, (csv, sum, _)) in want {
        let (gcsv, gsum, _) = &got[k];
        assert!(gcsv == csv, "{label}: rows of {k:?} differ");
        assert_eq!(gsum, sum, "{label}: checksum of {k:?}");
    }
}

/// The verify JSON Lines: no finding of severity error, and a summary line.
fn assert_verify_clean(out: &str, what: &str) {
    let mut summary = false;
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["type"] == "finding" {
            assert_ne!(v["severity"], "error", "{what}: verify found {line}");
            eprintln!("{what}: {line}");
        }
        summary |= v["type"] == "summary";
    }
    assert!(summary, "{what}: no summary line in {out}");
}

// ---------------------------------------------------------------- conformance

fn conformance_on(s: Server) {
    let Some(url) = s.fresh_url("conformance") else {
        return;
    };
    timed(&format!("conformance {}", s.name()), || {
        rt().block_on(async {
            let st = open_url(&url).unwrap_or_else(|e| panic!("{}: {e}", s.var()));
            conformance::conformance(st, "").await;
        })
    });
}

#[test]
fn store_conformance_s3_moto() {
    conformance_on(Server::S3);
}

#[test]
fn store_conformance_azure_azurite() {
    conformance_on(Server::Azure);
}

#[test]
fn store_conformance_gcs_emulator() {
    conformance_on(Server::Gcs);
}

/// STORE-5 past one listing page (1000 keys on S3): every object, sorted. Azure's page is
/// 5000 keys, too many objects for Azurite in the test budget, and the GCS emulator took
/// 200 s for 1100 objects.
fn list_past_one_page(s: Server) {
    use futures::StreamExt;
    let Some(url) = s.fresh_url("listing") else {
        return;
    };
    timed(&format!("listing 1100 objects {}", s.name()), || {
        rt().block_on(async {
            let st = open_url(&url).unwrap();
            let names: Vec<String> = (0..1100)
                .map(|i| format!("d/{:05}.sst", i * 7 % 1100))
                .collect();
            futures::stream::iter(names.iter())
                .map(|n| {
                    let st = st.clone();
                    async move { st.write(n, bytes::Bytes::from(n.clone())).await }
                })
                .buffer_unordered(16)
                .for_each(|r| async move { r.unwrap() })
                .await;
            let got = st.list("d/").await.unwrap();
            let mut want = names.clone();
            want.sort();
            let got_names: Vec<&str> = got.iter().map(|m| m.name.as_str()).collect();
            assert_eq!(
                got_names,
                want.iter().map(String::as_str).collect::<Vec<_>>()
            );
            assert!(got.iter().all(|m| m.size == 11), "sizes");
            futures::stream::iter(names.iter())
                .map(|n| {
                    let st = st.clone();
                    async move { st.delete(n).await }
                })
                .buffer_unordered(16)
                .for_each(|r| async move { r.unwrap() })
                .await;
            assert!(st.list("").await.unwrap().is_empty());
        })
    });
}

#[test]
fn store_5_listing_past_one_page_s3_moto() {
    list_past_one_page(Server::S3);
}

// ---------------------------------------------------------------- snapshot round trip

/// `backup full` → `verify --level kv` → `restore full` through the server, as a user runs it.
fn snapshot_round_trip(s: Server) {
    let Some(url) = s.fresh_url("snapshot") else {
        return;
    };
    let t = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (
        local(&dir.path().join("src")),
        local(&dir.path().join("dst")),
    );
    rt().block_on(async {
        let c = ClusterClient::connect(&src).await.unwrap();
        workload::load(&c, &spec("sbtest")).await.unwrap();
        c.close().await;
    });
    let urls = [url.as_str()];
    let out = brtool_ok(
        &["backup", "full", "--pd", &src, "-s", &url, "--json"],
        &urls,
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let backup_ts = v["backup_ts"].as_u64().unwrap();
    assert!(v["files"].as_u64().unwrap() > 0, "{out}");
    let out = brtool_ok(&["verify", "-s", &url, "--level", "kv", "--json"], &urls);
    assert_verify_clean(&out, "verify of the snapshot");
    brtool_ok(
        &["restore", "full", "--pd", &dst, "-s", &url, "--json"],
        &urls,
    );
    rt().block_on(async {
        let c = ClusterClient::connect(&src).await.unwrap();
        let want = image_at(&c, backup_ts).await;
        c.close().await;
        let c = ClusterClient::connect(&dst).await.unwrap();
        let got = restored_image(&c, &want).await;
        c.close().await;
        assert_same_tables(&format!("snapshot via {}", s.name()), &got, &want);
    });
    eprintln!(
        "snapshot round trip {}: {:.1} s",
        s.name(),
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn snapshot_backup_verify_restore_through_s3_moto() {
    snapshot_round_trip(Server::S3);
}

#[test]
fn snapshot_backup_verify_restore_through_azure_azurite() {
    snapshot_round_trip(Server::Azure);
}

#[test]
fn snapshot_backup_verify_restore_through_gcs_emulator() {
    snapshot_round_trip(Server::Gcs);
}

// ---------------------------------------------------------------- log round trip

const TASK: &str = "objstore";
const FLUSH_MS: u64 = 300;

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

/// Number of objects below a URL.
fn count_objects(url: &str) -> usize {
    rt().block_on(async { open_url(url).unwrap().list("").await.unwrap().len() })
}

/// A real log task flushing to the server → `log merge` → `verify` → `restore point`.
fn log_round_trip(s: Server) {
    let Some(base) = s.base_url("log round trip") else {
        return;
    };
    let t = Instant::now();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let log_url = with_prefix(&base, &format!("log-{id}"));
    let snap_url = with_prefix(&base, &format!("snap-{id}"));
    let urls = [log_url.as_str(), snap_url.as_str()];
    let dir = tempfile::tempdir().unwrap();
    let (mid, want) = rt().block_on(async {
        let cfg = ClusterConfig {
            region_split_bytes: 96 << 10,
            write_addr_file: true,
            ..ClusterConfig::embedded(dir.path().join("src"))
        };
        // Small flushes: several objects per store for the merge; no automatic merge.
        let log = LogBackupConfig {
            size_limit: 64 << 10,
            group_limit: 32 << 10,
            merge_after_objects: 0,
            merge_target_bytes: 128 << 10,
        };
        let running = RunningCluster::start_with(cfg, log).await.unwrap();
        let pd = running.pd_addr().to_string();
        let src = ClusterClient::connect(&pd).await.unwrap();
        // Started as users start it; STORE-URL-4: `log start` and `log status` show the
        // task's storage redacted.
        let flush = format!("{FLUSH_MS}ms");
        let out = tokio::task::block_in_place(|| {
            brtool_ok(
                &[
                    "log",
                    "start",
                    "--pd",
                    &pd,
                    "--task-name",
                    TASK,
                    "-s",
                    &log_url,
                    "--flush-interval",
                    &flush,
                ],
                &urls,
            )
        });
        assert!(out.contains("started"), "{out}");
        for json in [true, false] {
            let mut args = vec!["log", "status", "--pd", &pd, "--task-name", TASK];
            if json {
                args.push("--json");
            }
            let out = tokio::task::block_in_place(|| brtool_ok(&args, &urls));
            assert!(out.contains(TASK), "{out}");
        }
        workload::load(&src, &spec("sbtest")).await.unwrap();
        let sc = snapshot_mid_run_then_ddl(&src, &snap_url, Duration::from_millis(300)).await;
        wait_checkpoint(&src, sc.last_write).await;
        let want = image_at(&src, sc.mid).await;
        src.stop_log_task(TASK).await.unwrap();
        src.close().await;
        running.shutdown().await;
        (sc.mid, want)
    });
    let before = count_objects(&log_url);
    let out = brtool_ok(
        &["log", "merge", "-s", &log_url, "--target-size", "128KiB"],
        &urls,
    );
    let after = count_objects(&log_url);
    assert!(after < before, "log merge merged nothing: {out}");
    let out = brtool_ok(
        &[
            "verify",
            "-s",
            &log_url,
            "--full-backup-storage",
            &snap_url,
            "--level",
            "kv",
            "--json",
        ],
        &urls,
    );
    assert_verify_clean(&out, "verify of the merged log archive");
    let dst = local(&dir.path().join("dst"));
    let ts = mid.to_string();
    brtool_ok(
        &[
            "restore",
            "point",
            "--pd",
            &dst,
            "-s",
            &log_url,
            "--full-backup-storage",
            &snap_url,
            "--restored-ts",
            &ts,
            "--json",
        ],
        &urls,
    );
    rt().block_on(async {
        let c = ClusterClient::connect(&dst).await.unwrap();
        let got = restored_image(&c, &want).await;
        c.close().await;
        assert_same_tables(&format!("PITR via {}", s.name()), &got, &want);
        // The DDL after the snapshot came from the log: the dropped table is gone.
        assert!(
            !got.contains_key(&("sbtest".into(), workload::EVENTS.into())),
            "the table dropped after the snapshot is restored"
        );
    });
    eprintln!(
        "log round trip {}: {:.1} s ({before} objects, {after} after the merge)",
        s.name(),
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn log_backup_merge_pitr_through_s3_moto() {
    log_round_trip(Server::S3);
}

#[test]
fn log_backup_merge_pitr_through_azure_azurite() {
    log_round_trip(Server::Azure);
}

#[test]
fn log_backup_merge_pitr_through_gcs_emulator() {
    log_round_trip(Server::Gcs);
}

// ---------------------------------------------------------------- credentials

/// Distinctive secrets: moto accepts any key pair, so these reach a working server.
const AK: &str = "AKIABRKITLEAKCHECK1";
const SK: &str = "brkitSecretAccessKeyLeakCheck2";

/// Writes a small sample snapshot archive (4 tables, both column families) to `url`.
fn write_sample(url: &str) {
    use brkit::archive::sst_writer::SstCompression;
    use brkit::engine::sample::{write_sample_archive, SampleSpec};
    use brkit::format::backupmeta::MetaVersion;
    use brkit::format::crypto::Cipher;
    let tmp = tempfile::tempdir().unwrap();
    let backend = brkit::storage::url::StorageUrl::parse(url)
        .unwrap()
        .backend_name()
        .to_string();
    let spec = SampleSpec {
        rows_per_table: 20,
        compression: SstCompression::Zstd,
        cipher: Cipher::plaintext(),
        meta_version: MetaVersion::V2,
        backend,
        seed: 7,
    };
    rt().block_on(async {
        let s = open_url(url).unwrap();
        write_sample_archive(s.as_ref(), tmp.path(), &spec)
            .await
            .unwrap();
    });
}

/// The S3 base URL with the test credentials replaced by [`AK`]/[`SK`].
fn s3_with_distinct_keys(base: &str) -> String {
    let (head, query) = base.split_once('?').unwrap_or((base, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| {
            let k = kv.split('=').next().unwrap_or("");
            !k.is_empty() && !brkit::storage::url::is_secret_param(k)
        })
        .collect();
    format!(
        "{head}?{}&access-key={AK}&secret-access-key={SK}",
        kept.join("&")
    )
}

#[test]
fn store_url_4_secrets_in_the_url_reach_the_server_and_are_never_printed() {
    let Some(base) = Server::S3.base_url("secrets in the URL") else {
        return;
    };
    let t = Instant::now();
    let url = with_prefix(
        &s3_with_distinct_keys(&base),
        &format!("secrets-{}", uuid::Uuid::new_v4().simple()),
    );
    let dir = tempfile::tempdir().unwrap();
    let src = local(&dir.path().join("src"));
    rt().block_on(async {
        let c = ClusterClient::connect(&src).await.unwrap();
        workload::load(
            &c,
            &workload::WorkloadSpec {
                db: "sbtest".into(),
                tables: 1,
                rows: 20,
                seed: 3,
            },
        )
        .await
        .unwrap();
        c.close().await;
    });
    let urls = [url.as_str()];
    // human output (progress notes name the storage) and JSON
    brtool_ok(&["backup", "full", "--pd", &src, "-s", &url], &urls);
    let out = brtool_ok(&["inspect", "-s", &url], &urls);
    assert!(out.contains("access-key=redacted"), "{out}");
    let out = brtool_ok(&["inspect", "-s", &url, "--json"], &urls);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let shown = v["storage"].as_str().unwrap_or_default().to_string();
    assert!(
        shown.contains("secret-access-key=redacted") || !out.contains("secret-access-key"),
        "{out}"
    );
    brtool_ok(&["verify", "-s", &url, "--level", "meta"], &urls);
    brtool_ok(&["verify", "-s", &url, "--level", "meta", "--json"], &urls);
    eprintln!("secrets in the URL: {:.1} s", t.elapsed().as_secs_f64());
}

#[test]
fn store_url_4_a_wrong_key_or_an_unreachable_endpoint_fails_clearly_without_the_secret() {
    let t = Instant::now();
    // Unreachable endpoint (nothing listens on port 1), secrets in the URL: needs no server.
    let url =
        format!("s3://b/p?endpoint=http://127.0.0.1:1&access-key={AK}&secret-access-key={SK}");
    for args in [
        vec!["inspect", "-s", &url],
        vec!["inspect", "-s", &url, "--json"],
        vec!["verify", "-s", &url, "--json"],
        vec!["log", "metadata", "-s", &url],
    ] {
        let (code, out, err) = brtool_env(&args, &[]);
        assert_eq!(code, 2, "brtool {}: {out}{err}", shown(&args));
        assert_no_secret(&[&out, &err], &[&url], &args);
        assert!(
            err.contains("127.0.0.1:1"),
            "the error names the endpoint: {err}"
        );
    }
    // A wrong account key: Azurite checks Shared Key signatures.
    if let Some(base) = Server::Azure.base_url("wrong azure key") {
        let good = with_prefix(
            &base,
            &format!("wrongkey-{}", uuid::Uuid::new_v4().simple()),
        );
        write_sample(&good);
        let wrong_key = "YnJraXRXcm9uZ0tleUxlYWtDaGVja0JyS2l0V3JvbmdLZXk=";
        let bad = servers::replace_param(&good, "account-key", wrong_key);
        for args in [
            vec!["inspect", "-s", &bad],
            vec!["inspect", "-s", &bad, "--json"],
            vec!["verify", "-s", &bad, "--level", "meta", "--json"],
        ] {
            let (code, out, err) = brtool_env(&args, &[]);
            assert_eq!(code, 2, "brtool {}: {out}{err}", shown(&args));
            assert_no_secret(&[&out, &err], &[&bad, &good], &args);
            assert!(
                err.contains("403") || err.to_lowercase().contains("permission"),
                "the error says access was denied: {err}"
            );
        }
        // the same key from the environment (URL without a key): also refused, also unseen
        let no_key = servers::replace_param(&good, "account-key", "");
        let args = ["inspect", "-s", no_key.as_str()];
        let (code, out, err) = brtool_env(&args, &[("AZURE_STORAGE_KEY", wrong_key)]);
        assert_eq!(code, 2, "{out}{err}");
        assert!(
            !out.contains(wrong_key) && !err.contains(wrong_key),
            "{err}"
        );
    }
    eprintln!(
        "wrong key / unreachable endpoint: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn credentials_from_brs_environment_variables() {
    // Azure: AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY when the URL names neither (BR's
    // azblob.go fallback).
    if let Some(base) = Server::Azure.base_url("azure credentials from env") {
        let t = Instant::now();
        let url = with_prefix(&base, &format!("envcred-{}", uuid::Uuid::new_v4().simple()));
        write_sample(&url);
        let q = servers::query_of(&url);
        let account = servers::param(q, "account-name").unwrap();
        let key = servers::param(q, "account-key").unwrap();
        let bare = servers::replace_param(
            &servers::replace_param(&url, "account-key", ""),
            "account-name",
            "",
        );
        let args = ["inspect", "-s", bare.as_str(), "--json"];
        let (code, out, err) = brtool_env(
            &args,
            &[
                ("AZURE_STORAGE_ACCOUNT", &account),
                ("AZURE_STORAGE_KEY", &key),
                NO_METADATA[0],
                NO_METADATA[1],
            ],
        );
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("\"snapshot\""), "{out}");
        assert!(!out.contains(&key) && !err.contains(&key));
        eprintln!("azure env credentials: {:.1} s", t.elapsed().as_secs_f64());
    }
    // S3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when the URL has no keys (the AWS SDK's
    // default chain, which BR uses).
    if let Some(base) = Server::S3.base_url("s3 credentials from env") {
        let url = with_prefix(&base, &format!("envcred-{}", uuid::Uuid::new_v4().simple()));
        write_sample(&url);
        let bare = servers::replace_param(
            &servers::replace_param(&url, "access-key", ""),
            "secret-access-key",
            "",
        );
        let args = ["inspect", "-s", bare.as_str()];
        let (code, out, err) = brtool_env(
            &args,
            &[
                ("AWS_ACCESS_KEY_ID", AK),
                ("AWS_SECRET_ACCESS_KEY", SK),
                NO_METADATA[0],
                NO_METADATA[1],
            ],
        );
        assert_eq!(code, 0, "{out}{err}");
        assert!(!out.contains(SK) && !err.contains(SK) && !out.contains(AK));
    }
}

/// A `brtool cluster start` server process, killed on drop.
struct ClusterProcess(std::process::Child);
impl Drop for ClusterProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Keeps every credential chain away from cloud metadata services (tests talk to loopback
/// only): a regression that lost the credentials fails fast instead.
const NO_METADATA: [(&str, &str); 2] = [
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AZURE_IMDS_ENDPOINT", "http://127.0.0.1:1/"),
];

#[test]
fn credentials_from_the_environment_reach_a_cluster_in_another_process() {
    let (Some(az), Some(s3)) = (
        Server::Azure.base_url("env credentials to a cluster process"),
        Server::S3.base_url("env credentials to a cluster process"),
    ) else {
        return;
    };
    let t = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("c");
    // The server process has no credentials in its environment.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_brtool"));
    cmd.args(["cluster", "start", "--dir", d.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for k in [
        "AZURE_STORAGE_ACCOUNT",
        "AZURE_STORAGE_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        cmd.env_remove(k);
    }
    cmd.envs(NO_METADATA);
    let _server = ClusterProcess(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !d.join("cluster.addr").exists() {
        assert!(Instant::now() < deadline, "cluster server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pd = local(&d);
    brtool_ok(
        &[
            "workload", "load", "--pd", &pd, "--tables", "1", "--rows", "20",
        ],
        &[],
    );
    let id = uuid::Uuid::new_v4().simple().to_string();
    // Azure: account and key only in the CLI's environment.
    let url = with_prefix(&az, &format!("envcluster-{id}"));
    let q = servers::query_of(&url);
    let (account, key) = (
        servers::param(q, "account-name").unwrap(),
        servers::param(q, "account-key").unwrap(),
    );
    let bare = servers::replace_param(
        &servers::replace_param(&url, "account-key", ""),
        "account-name",
        "",
    );
    let mut env = vec![
        ("AZURE_STORAGE_ACCOUNT", account.as_str()),
        ("AZURE_STORAGE_KEY", key.as_str()),
    ];
    env.extend(NO_METADATA);
    for args in [
        vec!["backup", "full", "--pd", &pd, "-s", &bare],
        vec!["verify", "-s", &bare, "--level", "meta"],
    ] {
        let (code, out, err) = brtool_env(&args, &env);
        assert_eq!(code, 0, "brtool {}: {out}{err}", shown(&args));
        assert!(!out.contains(&key) && !err.contains(&key));
    }
    // S3: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY only in the CLI's environment.
    let url = with_prefix(&s3, &format!("envcluster-{id}"));
    let bare = servers::replace_param(
        &servers::replace_param(&url, "access-key", ""),
        "secret-access-key",
        "",
    );
    let mut env = vec![("AWS_ACCESS_KEY_ID", AK), ("AWS_SECRET_ACCESS_KEY", SK)];
    env.extend(NO_METADATA);
    let args = ["backup", "full", "--pd", &pd, "-s", &bare];
    let (code, out, err) = brtool_env(&args, &env);
    assert_eq!(code, 0, "brtool {}: {out}{err}", shown(&args));
    assert!(!out.contains(SK) && !err.contains(SK));
    brtool_ok(&["cluster", "stop", "--pd", &pd], &[]);
    eprintln!(
        "env credentials to a cluster process: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}
