//! Storage tests over the local backends: the conformance suite (tests/support/conformance.rs,
//! format/storage.md STORE-*) against fs in a tempdir and memory, plus BR URL parsing, retry
//! and fault-injection tests. The same suite against real S3, Azure Blob and GCS servers is in
//! tests/object_stores.rs.

use std::sync::Arc;

use brkit::storage::fault::{FaultRule, FaultyStorage, Op, Outcome};
use brkit::storage::retry::{RetryPolicy, RetryStorage};
use brkit::storage::url::StorageUrl;
use brkit::storage::{open, open_url, Storage, StorageErrorKind};
use bytes::Bytes;

// ---------------------------------------------------------------- conformance suite

#[path = "support/conformance.rs"]
mod conformance;
use conformance::conformance;

#[tokio::test]
async fn store_conformance_fs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("local://{}", dir.path().display());
    let s = open_url(&url).unwrap();
    assert!(s.capabilities().local_files);
    assert!(s.capabilities().atomic_create);
    conformance(s.clone(), "").await;
    // STORE-3: no temporary files are left behind.
    let left: Vec<_> = walk(dir.path());
    assert!(left.iter().all(|p| p.is_dir()), "{left:?}");
}

fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap().path();
        if e.is_dir() {
            out.extend(walk(&e));
        }
        out.push(e);
    }
    out
}

#[tokio::test]
async fn store_conformance_fs_bare_path_with_base() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_url(dir.path().to_str().unwrap()).unwrap();
    conformance(s, "run-1/").await;
}

#[tokio::test]
async fn store_conformance_memory() {
    let s = open_url("memory://conformance").unwrap();
    assert!(s.capabilities().atomic_create);
    conformance(s, "").await;
}

#[tokio::test]
async fn memory_urls_with_one_name_share_data() {
    let a = open_url("memory://shared-test").unwrap();
    let b = open_url("memory://shared-test").unwrap();
    let c = open_url("memory://other-test").unwrap();
    a.write("x", Bytes::from_static(b"1")).await.unwrap();
    assert_eq!(&b.read("x").await.unwrap()[..], b"1");
    assert_eq!(
        c.read("x").await.unwrap_err().kind,
        StorageErrorKind::NotFound
    );
}

#[tokio::test]
async fn store_3_fs_write_is_atomic_for_concurrent_readers() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_url(dir.path().to_str().unwrap()).unwrap();
    let a = Bytes::from(vec![b'a'; 1 << 20]);
    let b = Bytes::from(vec![b'b'; 1 << 20]);
    s.write("obj", a.clone()).await.unwrap();
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..20 {
                let d = if i % 2 == 0 { b.clone() } else { a.clone() };
                s.write("obj", d).await.unwrap();
            }
        })
    };
    for _ in 0..40 {
        let got = s.read("obj").await.unwrap();
        assert_eq!(got.len(), 1 << 20);
        assert!(
            got.iter().all(|&c| c == got[0]),
            "mixed old and new content"
        );
    }
    writer.await.unwrap();
}

#[tokio::test]
async fn store_6_fs_write_if_absent_has_one_winner_among_racers() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_url(dir.path().to_str().unwrap()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.write_if_absent("lock", Bytes::from(vec![i; 4096])).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => wins += 1,
            Err(e) => assert_eq!(e.kind, StorageErrorKind::AlreadyExists, "{e}"),
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn local_path_points_at_the_object_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_url(dir.path().to_str().unwrap()).unwrap();
    s.write("d/f", Bytes::from_static(b"xyz")).await.unwrap();
    let p = s.local_path("d/f").unwrap();
    assert_eq!(std::fs::read(p).unwrap(), b"xyz");
    assert!(s.local_path("../f").is_none());
    assert!(open_url("memory://lp").unwrap().local_path("d/f").is_none());
}

#[tokio::test]
async fn noop_discards_writes() {
    let s = open_url("noop://").unwrap();
    s.write("a", Bytes::from_static(b"x")).await.unwrap();
    assert_eq!(
        s.read("a").await.unwrap_err().kind,
        StorageErrorKind::NotFound
    );
    assert!(s.list("").await.unwrap().is_empty());
    assert_eq!(
        s.write("../a", Bytes::new()).await.unwrap_err().kind,
        StorageErrorKind::BadName
    );
}

#[tokio::test]
async fn open_with_retry_wraps_a_working_storage() {
    let s = brkit::storage::open_with_retry("memory://with-retry", RetryPolicy::default()).unwrap();
    s.write("k", Bytes::from_static(b"v")).await.unwrap();
    assert_eq!(&s.read("k").await.unwrap()[..], b"v");
    assert_eq!(s.display_url(), "memory://with-retry");
    assert_eq!(
        brkit::storage::open_with_retry("s4://x", RetryPolicy::default())
            .unwrap_err()
            .kind,
        StorageErrorKind::BadUrl
    );
}

#[test]
fn blocking_facade_runs_storage_calls() {
    use brkit::storage::blocking::block_on;
    let s = open_url("memory://blocking").unwrap();
    block_on(s.write("k", Bytes::from_static(b"v"))).unwrap();
    assert_eq!(&block_on(s.read("k")).unwrap()[..], b"v");
}

// ---------------------------------------------------------------- URLs

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(s: &str) -> brkit::storage::Result<StorageUrl> {
    StorageUrl::parse_with_env(s, &no_env)
}

#[test]
fn store_url_1_local_forms() {
    for (raw, path) in [
        ("local:///tmp/backup", "/tmp/backup"),
        ("file:///tmp/backup/", "/tmp/backup/"),
        ("/tmp/backup", "/tmp/backup"),
        ("local:///tmp/with%20space", "/tmp/with space"),
    ] {
        let u = parse(raw).unwrap();
        assert_eq!(u, StorageUrl::Local { path: path.into() }, "{raw}");
        assert_eq!(u.backend_name(), "local");
    }
    // A relative path is made absolute against the working directory (as BR does).
    let StorageUrl::Local { path } = parse("rel/dir").unwrap() else {
        panic!()
    };
    assert_eq!(path, std::env::current_dir().unwrap().join("rel/dir"));
}

#[test]
fn store_url_1_noop_and_memory() {
    assert_eq!(parse("noop://").unwrap(), StorageUrl::Noop);
    assert_eq!(parse("noop://").unwrap().backend_name(), "noop");
    let m = parse("memory://t1").unwrap();
    assert_eq!(m, StorageUrl::Memory { name: "t1".into() });
    assert_eq!(m.backend_name(), "memory");
}

#[test]
fn store_url_2_s3_parameters_and_aliases() {
    let u = parse(
        "s3://bucket/some/prefix/?endpoint=http://127.0.0.1:9000&access_key=AK&\
         secret-access-key=S%2Fk+y&region=us-west-2&force-path-style=false&provider=minio",
    )
    .unwrap();
    assert_eq!(u.backend_name(), "s3");
    let StorageUrl::S3(s) = u else { panic!() };
    assert_eq!(s.bucket, "bucket");
    assert_eq!(s.prefix, "some/prefix");
    assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(s.region.as_deref(), Some("us-west-2"));
    assert_eq!(s.access_key.unwrap().expose(), "AK");
    // br/pkg/storage/parse.go ParseRawURL: `+` in a secret is literal (pingcap/br#603).
    assert_eq!(s.secret_access_key.unwrap().expose(), "S/k+y");
    assert!(!s.force_path_style);
    assert_eq!(s.provider.as_deref(), Some("minio"));
    // Upper-case keys and `_` are normalised like BR's ExtractQueryParameters.
    let StorageUrl::S3(s) =
        parse("s3://b?Access_Key=a&SECRET_ACCESS_KEY=b&Session_Token=t").unwrap()
    else {
        panic!()
    };
    assert_eq!(s.access_key.unwrap().expose(), "a");
    assert_eq!(s.session_token.unwrap().expose(), "t");
}

#[test]
fn store_url_3_s3_path_style_defaults() {
    let StorageUrl::S3(s) = parse("s3://b/p").unwrap() else {
        panic!()
    };
    assert!(s.force_path_style, "BR defaults URLs to path style");
    assert_eq!(s.prefix, "p");
    for raw in [
        "s3://b?provider=alibaba",
        "s3://b?use-accelerate-endpoint=true",
    ] {
        let StorageUrl::S3(s) = parse(raw).unwrap() else {
            panic!()
        };
        assert!(!s.force_path_style, "{raw}");
    }
}

#[test]
fn store_url_2_azure_and_env_fallback() {
    for scheme in ["azure", "azblob"] {
        let u = parse(&format!(
            "{scheme}://cont/pre?account-name=devstoreaccount1&account_key=KEY%3D%3D&\
             endpoint=http://127.0.0.1:10000/devstoreaccount1"
        ))
        .unwrap();
        assert_eq!(u.backend_name(), "azure");
        let StorageUrl::Azure(a) = u else { panic!() };
        assert_eq!((a.container.as_str(), a.prefix.as_str()), ("cont", "pre"));
        assert_eq!(a.account_name.as_deref(), Some("devstoreaccount1"));
        assert_eq!(a.account_key.unwrap().expose(), "KEY==");
    }
    let env = |k: &str| match k {
        "AZURE_STORAGE_ACCOUNT" => Some("envacct".to_string()),
        "AZURE_STORAGE_KEY" => Some("envkey".to_string()),
        _ => None,
    };
    let StorageUrl::Azure(a) = StorageUrl::parse_with_env("azure://c", &env).unwrap() else {
        panic!()
    };
    assert_eq!(a.account_name.as_deref(), Some("envacct"));
    assert_eq!(a.account_key.unwrap().expose(), "envkey");
}

#[test]
fn store_url_2_gcs_both_schemes() {
    for scheme in ["gcs", "gs"] {
        let u = parse(&format!(
            "{scheme}://bkt/a/b?endpoint=http://127.0.0.1:4443&credentials-file=/k.json"
        ))
        .unwrap();
        assert_eq!(u.backend_name(), "gcs");
        let StorageUrl::Gcs(g) = u else { panic!() };
        assert_eq!((g.bucket.as_str(), g.prefix.as_str()), ("bkt", "a/b"));
        assert_eq!(g.credentials_file.as_deref(), Some("/k.json"));
        assert_eq!(g.endpoint.as_deref(), Some("http://127.0.0.1:4443"));
    }
}

#[test]
fn store_url_4_redaction_never_leaks_secrets() {
    let cases = [
        "s3://b/p?access-key=AKIDSECRETVALUE1&secret-access-key=SKSECRETVALUE2&\
         session-token=TOKENSECRET3&endpoint=http://h:1",
        "azure://c/p?account-name=acct&account-key=AZKEYSECRET4&sas-token=SASSECRET5",
        "azblob://c?account-name=acct&encryption-key=ENCSECRET6",
    ];
    let secrets = [
        "AKIDSECRETVALUE1",
        "SKSECRETVALUE2",
        "TOKENSECRET3",
        "AZKEYSECRET4",
        "SASSECRET5",
        "ENCSECRET6",
    ];
    for raw in cases {
        let u = parse(raw).unwrap();
        for shown in [u.redacted(), u.to_string(), format!("{u:?}")] {
            for s in secrets {
                assert!(!shown.contains(s), "{shown} leaks {s}");
            }
        }
        assert!(u.redacted().contains("redacted"), "{}", u.redacted());
        // An opened storage shows only the redacted URL.
        let st = open(&u).unwrap();
        let shown = format!("{} {:?}", st.display_url(), st);
        for s in secrets {
            assert!(!shown.contains(s), "{shown} leaks {s}");
        }
    }
    assert_eq!(
        parse("s3://b/p?endpoint=http://h:1&secret_access_key=x&access-key=y")
            .unwrap()
            .redacted(),
        "s3://b/p?endpoint=http://h:1&access-key=redacted&secret-access-key=redacted"
    );
}

#[test]
fn store_url_bad_urls_name_the_problem() {
    for (raw, needle) in [
        ("", "empty"),
        ("ftp://host/x", "ftp"),
        ("hdfs://nn/x", "hdfs"),
        ("s3:///prefix", "bucket"),
        ("s3://b?colour=blue", "colour"),
        ("s3://b?force-path-style=maybe", "force-path-style"),
        ("s3://b?endpoint=127.0.0.1:9000", "endpoint"),
        ("s3://b?access-key=a", "secret-access-key"),
        ("s3://b?region=a&region=b", "region"),
        ("azure://?account-name=a", "container"),
        ("gcs://b?bogus=1", "bogus"),
        ("local://host/path", "host"),
        ("local://", "absolute"),
        ("noop://?x=1", "x"),
        ("s3://b/a/../c", ".."),
        ("gs://b/a/./c", "`.`"),
        ("azure://c/%2E%2E/x", ".."),
    ] {
        let e = parse(raw).unwrap_err();
        assert_eq!(e.kind, StorageErrorKind::BadUrl, "{raw}: {e}");
        assert!(e.to_string().contains(needle), "{raw}: {e}");
    }
    // The error for a bad parameter never echoes secret values.
    let e = parse("s3://b?secret-access-key=TOPSECRET&colour=x").unwrap_err();
    assert!(!e.to_string().contains("TOPSECRET"), "{e}");
}

// ---------------------------------------------------------------- retry + faults

fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base_delay: std::time::Duration::from_millis(1),
        max_delay: std::time::Duration::from_millis(4),
        attempt_timeout: None,
    }
}

#[tokio::test]
async fn store_err_1_temporary_failure_is_retried_then_succeeds() {
    let inner = open_url("memory://retry-temp").unwrap();
    let faulty = Arc::new(FaultyStorage::new(
        inner.clone(),
        vec![FaultRule::on(Op::Write)
            .matching("obj")
            .times(2)
            .outcome(Outcome::Temporary)],
    ));
    let r = RetryStorage::new(faulty.clone(), fast_retry(5));
    r.write("obj", Bytes::from_static(b"v")).await.unwrap();
    assert_eq!(r.retries(), 2);
    assert_eq!(&inner.read("obj").await.unwrap()[..], b"v");
    assert_eq!(faulty.log().iter().filter(|e| e.op == Op::Write).count(), 3);
}

#[tokio::test]
async fn store_err_1_permanent_failure_is_not_retried() {
    let inner = open_url("memory://retry-perm").unwrap();
    let faulty = Arc::new(FaultyStorage::new(
        inner,
        vec![FaultRule::on(Op::Write).outcome(Outcome::Permanent)],
    ));
    let r = RetryStorage::new(faulty.clone(), fast_retry(5));
    let e = r.write("obj", Bytes::from_static(b"v")).await.unwrap_err();
    assert!(!e.is_temporary());
    assert_eq!(r.retries(), 0);
    assert_eq!(faulty.log().len(), 1);
    // NotFound is permanent too.
    let e = r.read("missing").await.unwrap_err();
    assert_eq!(e.kind, StorageErrorKind::NotFound);
    assert_eq!(r.retries(), 0);
}

#[tokio::test]
async fn store_err_1_retries_are_bounded() {
    let inner = open_url("memory://retry-bound").unwrap();
    let faulty = Arc::new(FaultyStorage::new(
        inner,
        vec![FaultRule::on(Op::Read).outcome(Outcome::Temporary)],
    ));
    let r = RetryStorage::new(faulty.clone(), fast_retry(3));
    let e = r.read("x").await.unwrap_err();
    assert!(e.is_temporary());
    assert_eq!(r.retries(), 2);
    assert_eq!(faulty.log().len(), 3);
}

#[tokio::test]
async fn store_err_1_a_stuck_attempt_times_out_and_is_retried() {
    let inner = open_url("memory://retry-timeout").unwrap();
    inner.write("x", Bytes::from_static(b"v")).await.unwrap();
    let faulty = Arc::new(FaultyStorage::new(
        inner,
        vec![FaultRule::on(Op::Read)
            .times(1)
            .outcome(Outcome::Delay(std::time::Duration::from_secs(30)))],
    ));
    let policy = RetryPolicy {
        attempt_timeout: Some(std::time::Duration::from_millis(20)),
        ..fast_retry(3)
    };
    let r = RetryStorage::new(faulty, policy);
    assert_eq!(&r.read("x").await.unwrap()[..], b"v");
    assert_eq!(r.retries(), 1);
}

#[tokio::test]
async fn store_6_retried_create_whose_answer_was_lost_succeeds() {
    let inner = open_url("memory://retry-lost-answer").unwrap();
    let faulty = Arc::new(FaultyStorage::new(
        inner.clone(),
        vec![FaultRule::on(Op::WriteIfAbsent)
            .times(1)
            .outcome(Outcome::TemporaryAfter)],
    ));
    let r = RetryStorage::new(faulty, fast_retry(3));
    r.write_if_absent("lock", Bytes::from_static(b"mine"))
        .await
        .unwrap();
    assert_eq!(&inner.read("lock").await.unwrap()[..], b"mine");
    // Someone else's lock is still refused.
    let e = r
        .write_if_absent("lock", Bytes::from_static(b"theirs"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, StorageErrorKind::AlreadyExists);
}

#[tokio::test]
async fn fault_short_and_corrupt_reads() {
    let inner = open_url("memory://fault-read").unwrap();
    inner
        .write("d/x", Bytes::from_static(b"0123456789"))
        .await
        .unwrap();
    let f = FaultyStorage::new(
        inner,
        vec![
            FaultRule::on(Op::Read)
                .matching("d/x")
                .outcome(Outcome::Short(4)),
            FaultRule::on(Op::ReadRange)
                .matching("d/x")
                .outcome(Outcome::FlipBit(3)),
        ],
    );
    assert_eq!(&f.read("d/x").await.unwrap()[..], b"0123");
    let r = f.read_range("d/x", 0, 10).await.unwrap();
    assert_ne!(&r[..], b"0123456789");
    assert_eq!(r[0] ^ b'0', 0b1000);
}

#[tokio::test]
async fn fault_crash_after_k_writes_fails_everything_after() {
    let inner = open_url("memory://fault-crash").unwrap();
    let f = FaultyStorage::new(inner.clone(), vec![]).crash_after_writes(2);
    f.write("a", Bytes::from_static(b"1")).await.unwrap();
    f.write("b", Bytes::from_static(b"2")).await.unwrap();
    let e = f.write("c", Bytes::from_static(b"3")).await.unwrap_err();
    assert!(!e.is_temporary());
    assert!(f.read("a").await.is_err(), "every op fails after the crash");
    assert!(inner.stat("c").await.is_err());
    assert_eq!(inner.list("").await.unwrap().len(), 2);
}

#[tokio::test]
async fn fault_nth_matching_write_fails_and_slow_list() {
    let inner = open_url("memory://fault-nth").unwrap();
    let f = FaultyStorage::new(
        inner,
        vec![
            FaultRule::on(Op::Write)
                .matching_fn(|n| n.ends_with(".sst"))
                .nth(2)
                .outcome(Outcome::Permanent),
            FaultRule::on(Op::List).outcome(Outcome::Delay(std::time::Duration::from_millis(5))),
        ],
    );
    f.write("1.sst", Bytes::new()).await.unwrap();
    f.write("meta", Bytes::new()).await.unwrap();
    assert!(f.write("2.sst", Bytes::new()).await.is_err());
    f.write("3.sst", Bytes::new()).await.unwrap();
    let t = std::time::Instant::now();
    assert_eq!(f.list("").await.unwrap().len(), 3);
    assert!(t.elapsed() >= std::time::Duration::from_millis(5));
    let log = f.log();
    assert_eq!(log.len(), 5);
    assert!(log[2].failed && log[2].name == "2.sst");
}

// ---------------------------------------------------------------- spec examples

/// Every fenced `example kind=…` block of format/storage.md, as (kind, lines).
fn spec_examples() -> Vec<(String, Vec<String>)> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/format/storage.md")).unwrap();
    let mut out = Vec::new();
    let mut cur: Option<(String, Vec<String>)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("```example kind=") {
            cur = Some((rest.trim().to_string(), Vec::new()));
        } else if line.starts_with("```") {
            if let Some(c) = cur.take() {
                out.push(c);
            }
        } else if let Some((_, lines)) = cur.as_mut() {
            if !line.trim().is_empty() {
                lines.push(line.to_string());
            }
        }
    }
    out
}

#[test]
fn spec_examples_of_format_storage_md_hold() {
    let ex = spec_examples();
    let mut kinds: Vec<&str> = ex.iter().map(|(k, _)| k.as_str()).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "object-name-bad",
            "storage-url",
            "storage-url-bad",
            "storage-url-redacted"
        ]
    );
    for (kind, lines) in &ex {
        assert!(!lines.is_empty(), "{kind}");
        for line in lines {
            match kind.as_str() {
                "storage-url" => {
                    let (url, backend) = line.split_once(" => ").unwrap();
                    let u = parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
                    assert_eq!(u.backend_name(), backend, "{url}");
                }
                "storage-url-bad" => {
                    let e = parse(line).unwrap_err();
                    assert_eq!(e.kind, StorageErrorKind::BadUrl, "{line}");
                }
                "storage-url-redacted" => {
                    let (url, red) = line.split_once(" => ").unwrap();
                    assert_eq!(parse(url).unwrap().redacted(), red);
                }
                "object-name-bad" => {
                    let e = brkit::storage::check_name(line).unwrap_err();
                    assert_eq!(e.kind, StorageErrorKind::BadName, "{line}");
                }
                k => panic!("unknown example kind {k}"),
            }
        }
    }
}

#[test]
fn spec_rules_of_format_storage_md_are_well_formed() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/format/storage.md")).unwrap();
    let mut ids = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("- **STORE")) {
        let id = line
            .strip_prefix("- **")
            .and_then(|r| r.split_once("**"))
            .map(|(id, _)| id.to_string())
            .unwrap();
        assert!(
            line.contains("** (MUST): ")
                || line.contains("** (SHOULD): ")
                || line.contains("** (MAY): "),
            "{line}"
        );
        ids.push(id);
    }
    // The rule's consequence may wrap onto later lines; each rule has one.
    assert_eq!(text.matches("*Breaking it:*").count(), ids.len());
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "duplicate rule id");
    for id in [
        "STORE-1",
        "STORE-2",
        "STORE-3",
        "STORE-4",
        "STORE-5",
        "STORE-6",
        "STORE-7",
        "STORE-8",
        "STORE-9",
        "STORE-10",
        "STORE-11",
        "STORE-ERR-1",
        "STORE-URL-1",
        "STORE-URL-2",
        "STORE-URL-3",
        "STORE-URL-4",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} not defined");
    }
}

// ---------------------------------------------------------------- model-based

mod model {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    // No name is a directory of another: a local filesystem cannot hold both `a` and `a/b`.
    const NAMES: &[&str] = &["a", "b/c", "b/d", "e/f/g", "ab", "b/c2"];
    const PREFIXES: &[&str] = &["", "a", "b/", "b/c", "e/", "x"];

    #[derive(Debug, Clone)]
    enum Step {
        Write(usize, Vec<u8>),
        WriteIfAbsent(usize, Vec<u8>),
        Delete(usize),
        Read(usize),
        ReadRange(usize, u64, u64),
        Stat(usize),
        List(usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        let n = 0..NAMES.len();
        let data = proptest::collection::vec(any::<u8>(), 0..40);
        prop_oneof![
            (n.clone(), data.clone()).prop_map(|(i, d)| Step::Write(i, d)),
            (n.clone(), data).prop_map(|(i, d)| Step::WriteIfAbsent(i, d)),
            n.clone().prop_map(Step::Delete),
            n.clone().prop_map(Step::Read),
            (n.clone(), 0..45u64, 0..45u64).prop_map(|(i, o, l)| Step::ReadRange(i, o, l)),
            n.prop_map(Step::Stat),
            (0..PREFIXES.len()).prop_map(Step::List),
        ]
    }

    async fn run(s: Arc<dyn Storage>, steps: Vec<Step>) {
        let mut m: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for st in steps {
            match st {
                Step::Write(i, d) => {
                    s.write(NAMES[i], Bytes::from(d.clone())).await.unwrap();
                    m.insert(NAMES[i].into(), d);
                }
                Step::WriteIfAbsent(i, d) => {
                    let r = s.write_if_absent(NAMES[i], Bytes::from(d.clone())).await;
                    if m.contains_key(NAMES[i]) {
                        assert_eq!(r.unwrap_err().kind, StorageErrorKind::AlreadyExists);
                    } else {
                        r.unwrap();
                        m.insert(NAMES[i].into(), d);
                    }
                }
                Step::Delete(i) => {
                    s.delete(NAMES[i]).await.unwrap();
                    m.remove(NAMES[i]);
                }
                Step::Read(i) => match (s.read(NAMES[i]).await, m.get(NAMES[i])) {
                    (Ok(b), Some(d)) => assert_eq!(&b[..], &d[..]),
                    (Err(e), None) => assert_eq!(e.kind, StorageErrorKind::NotFound),
                    (r, d) => panic!("read {}: {r:?} vs model {d:?}", NAMES[i]),
                },
                Step::ReadRange(i, o, l) => {
                    let r = s.read_range(NAMES[i], o, l).await;
                    match m.get(NAMES[i]) {
                        None => assert_eq!(r.unwrap_err().kind, StorageErrorKind::NotFound),
                        Some(d) if o + l <= d.len() as u64 => {
                            assert_eq!(&r.unwrap()[..], &d[o as usize..(o + l) as usize])
                        }
                        Some(_) => assert_eq!(r.unwrap_err().kind, StorageErrorKind::Truncated),
                    }
                }
                Step::Stat(i) => match (s.stat(NAMES[i]).await, m.get(NAMES[i])) {
                    (Ok(meta), Some(d)) => assert_eq!(meta.size, d.len() as u64),
                    (Err(e), None) => assert_eq!(e.kind, StorageErrorKind::NotFound),
                    (r, d) => panic!("stat {}: {r:?} vs model {d:?}", NAMES[i]),
                },
                Step::List(p) => {
                    let got: Vec<(String, u64)> = s
                        .list(PREFIXES[p])
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|o| (o.name, o.size))
                        .collect();
                    let want: Vec<(String, u64)> = m
                        .iter()
                        .filter(|(k, _)| k.starts_with(PREFIXES[p]))
                        .map(|(k, v)| (k.clone(), v.len() as u64))
                        .collect();
                    assert_eq!(got, want, "list {:?}", PREFIXES[p]);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn store_2_to_8_memory_behaves_like_a_map(steps in proptest::collection::vec(step(), 1..40)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let name = format!("memory://model-{}", uuid::Uuid::new_v4().simple());
            rt.block_on(run(open_url(&name).unwrap(), steps));
        }

        #[test]
        fn store_2_to_8_fs_behaves_like_a_map(steps in proptest::collection::vec(step(), 1..40)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let dir = tempfile::tempdir().unwrap();
            rt.block_on(run(open_url(dir.path().to_str().unwrap()).unwrap(), steps));
        }
    }
}

#[tokio::test]
async fn fs_root_that_does_not_exist_yet_is_created_on_first_write() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("not/yet");
    let s = open_url(root.to_str().unwrap()).unwrap();
    assert_eq!(
        s.read("x").await.unwrap_err().kind,
        StorageErrorKind::NotFound
    );
    assert!(s.list("").await.unwrap().is_empty());
    s.write("x", Bytes::from_static(b"1")).await.unwrap();
    assert_eq!(std::fs::read(root.join("x")).unwrap(), b"1");
}

mod url_props {
    use super::*;
    use proptest::prelude::*;

    fn token() -> impl Strategy<Value = String> {
        // Includes the characters that break naive URL handling in secrets: + / = & % #.
        "[A-Za-z0-9+/=&%#]{4,24}"
    }

    proptest! {
        #[test]
        fn store_url_1_parsing_any_text_never_panics(raw in "\\PC{0,60}") {
            let _ = parse(&raw);
        }

        #[test]
        fn store_url_1_parsing_url_shaped_text_never_panics(
            scheme in "(s3|gs|gcs|azure|azblob|local|file|noop|memory|x)",
            rest in "[a-zA-Z0-9/?&=%._+:#-]{0,50}",
        ) {
            if let Ok(u) = parse(&format!("{scheme}://{rest}")) {
                let _ = u.redacted();
            }
        }

        #[test]
        fn store_1_name_checks_never_panic_and_accept_only_clean_names(name in "[a-z./\\\\]{0,12}") {
            if brkit::storage::check_name(&name).is_ok() {
                prop_assert!(!name.is_empty() && !name.starts_with('/') && !name.contains('\\'));
                prop_assert!(name.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".."));
            }
        }

        #[test]
        fn store_url_4_redacted_url_reparses_and_never_shows_secrets(
            bucket in "[a-z0-9][a-z0-9-]{2,20}",
            prefix in "([a-z0-9_-][a-z0-9_.-]{0,7}/){0,3}[a-z0-9_-]{0,8}",
            ak in token(), sk in token(),
            port in 1u16..65535,
        ) {
            let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
            let raw = format!(
                "s3://{bucket}/{prefix}?endpoint=http://127.0.0.1:{port}&access-key={}&secret-access-key={}",
                enc(&ak), enc(&sk)
            );
            let u = parse(&raw).unwrap();
            let StorageUrl::S3(s) = &u else { panic!() };
            prop_assert_eq!(s.access_key.as_ref().unwrap().expose(), ak.as_str());
            prop_assert_eq!(s.secret_access_key.as_ref().unwrap().expose(), sk.as_str());
            let red = u.redacted();
            let back = parse(&red).unwrap();
            let StorageUrl::S3(b) = back else { panic!() };
            prop_assert_eq!(&b.bucket, &s.bucket);
            prop_assert_eq!(&b.prefix, &s.prefix);
            prop_assert_eq!(&b.endpoint, &s.endpoint);
            prop_assert_eq!(b.secret_access_key.as_ref().unwrap().expose(), "redacted");
            prop_assert_eq!(b.access_key.as_ref().unwrap().expose(), "redacted");
        }
    }
}

#[test]
fn store_url_4_redact_url_hides_secrets_of_urls_that_parse_or_not() {
    use brkit::storage::url::redact_url;
    let ok = "s3://b/p?endpoint=http://127.0.0.1:9000&access-key=AKSEC1&secret-access-key=SKSEC2";
    assert_eq!(
        redact_url(ok),
        "s3://b/p?endpoint=http://127.0.0.1:9000&access-key=redacted&secret-access-key=redacted"
    );
    // idempotent: a redacted URL stays as it is
    assert_eq!(redact_url(&redact_url(ok)), redact_url(ok));
    // an unknown parameter makes the URL unparseable: the whole query goes
    let bad = "s3://b/p?acces-key=AKSEC1&secret-access-key=SKSEC2";
    assert_eq!(redact_url(bad), "s3://b/p?redacted");
    assert_eq!(redact_url("s4://u:SKSEC2@h/p#SKSEC2"), "s4://h/p?redacted");
    assert_eq!(redact_url("azure://c/p"), "azure://c/p");
    // the environment is not consulted: nothing is added
    assert!(!redact_url("azure://c/p?account-name=a").contains("account-key"));
}

#[test]
fn store_url_4_expose_full_reparses_to_the_same_url_and_env_credentials_fill_s3() {
    let raw = "s3://b/p?endpoint=http://h:9&access-key=A%2Bk&secret-access-key=s/x=y+z&region=r";
    let u = parse(raw).unwrap();
    let full = u.expose_full();
    assert_eq!(parse(&full).unwrap(), u, "{full}");
    assert!(!u.redacted().contains("s/x"), "{}", u.redacted());
    let az = "azure://c/p?account-name=a&account-key=Zm9vK2Jhci9iYXo9&endpoint=http://h:1/a";
    let u = parse(az).unwrap();
    assert_eq!(parse(&u.expose_full()).unwrap(), u);
    // S3 credentials from the AWS environment, only when the URL names none.
    let env = |k: &str| match k {
        "AWS_ACCESS_KEY_ID" => Some("ENVAK".to_string()),
        "AWS_SECRET_ACCESS_KEY" => Some("ENVSK".to_string()),
        _ => None,
    };
    let mut u = parse("s3://b/p").unwrap();
    assert!(u.fill_env_credentials(&env));
    assert!(u.expose_full().contains("access-key=ENVAK"));
    assert!(u.expose_full().contains("secret-access-key=ENVSK"));
    assert!(!u.redacted().contains("ENV"));
    let mut u = parse(raw).unwrap();
    assert!(!u.fill_env_credentials(&env), "the URL's keys win");
    let mut u = parse("gcs://b/p").unwrap();
    assert!(!u.fill_env_credentials(&env));
}
