//! Log archive maintenance over storage (format/log-merge.md, format/log.md LOG-TRUNC-*):
//! `log merge` packs small objects and keeps every sub-file's events, also when it crashes
//! after any single write or delete; `log truncate` follows BR's rule, crash-safely; `log
//! metadata` reports the window, gaps and sizes; and the CLI's exit codes.

use brkit::archive::log::LogArchive;
use brkit::engine::log::journal::list_journals;
use brkit::engine::log::merge::{merge_small_objects, plan_log_merge};
use brkit::engine::log::metadata::{log_metadata, MetadataOptions};
use brkit::engine::log::test_archive::{write_test_log_archive, TestLogArchive, TestLogSpec};
use brkit::engine::log::truncate::{execute_truncate_plan, plan_log_truncate};
use brkit::engine::log::{metas_of, referenced_objects};
use brkit::format::crypto::{Cipher, CipherMethod};
use brkit::format::logfile::decode_sub_file;
use brkit::format::merge::{dedup_sub_files, SubFileId};
use brkit::format::naming::log::{parse_log_data_path, TRUNCATE_SAFEPOINT};
use brkit::format::naming::snapshot::Cf;
use brkit::storage::fault::{FaultRule, FaultyStorage, Op, Outcome};
use brkit::storage::opendal_backend::open_url;
use brkit::storage::Storage;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT: AtomicU64 = AtomicU64::new(0);

fn mem() -> Arc<dyn Storage> {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    open_url(&format!("memory://log-ops-{}-{n}", std::process::id())).unwrap()
}

/// Every object of a storage, by name.
async fn objects(s: &dyn Storage) -> BTreeMap<String, Bytes> {
    let mut out = BTreeMap::new();
    for o in s.list("").await.unwrap() {
        let b = s.read(&o.name).await.unwrap();
        out.insert(o.name, b);
    }
    out
}

async fn copy_of(src: &BTreeMap<String, Bytes>) -> Arc<dyn Storage> {
    let s = mem();
    for (k, v) in src {
        s.write(k, v.clone()).await.unwrap();
    }
    s
}

/// What a reader restores (LOG-MERGE-11): every object a meta lists exists, and the
/// deduplicated sub-files (LOG-MERGE-5/6) decode (LOG-FILE-5) to these event streams.
async fn restorable(s: &dyn Storage, cipher: &Cipher) -> BTreeMap<SubFileId, Vec<u8>> {
    let a = LogArchive::open(s).await.unwrap();
    let metas = metas_of(&a);
    let mut objs = HashMap::new();
    for p in referenced_objects(metas.iter().map(|m| &m.1)) {
        let b = s
            .read(&p)
            .await
            .unwrap_or_else(|e| panic!("{p} is listed by a meta but unreadable: {e}"));
        objs.insert(p, b);
    }
    let mut out = BTreeMap::new();
    for (path, f) in dedup_sub_files(&metas) {
        let plain =
            decode_sub_file(&objs[&path], &f, cipher).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            out.insert(SubFileId::of(&f).unwrap(), plain).is_none(),
            "a sub-file is reachable twice after dedup"
        );
    }
    out
}

/// The objects that do not describe data: root, lock, checkpoints, safepoint.
fn documents(o: &BTreeMap<String, Bytes>) -> BTreeMap<String, Bytes> {
    o.iter()
        .filter(|(k, _)| !k.starts_with("v1/backupmeta/") && parse_log_data_path(k).is_err())
        .filter(|(k, _)| !k.starts_with(brkit::format::naming::log::JOURNAL_DIR))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Groups below `target` per (store, meta-KV?).
async fn small_groups(s: &dyn Storage, target: u64) -> BTreeMap<(i64, bool), usize> {
    let a = LogArchive::open(s).await.unwrap();
    let mut out = BTreeMap::new();
    for m in &a.metas {
        for g in &m.meta.groups {
            if g.length < target {
                let kv = g.files.iter().all(|f| f.is_meta);
                *out.entry((m.meta.store_id, kv)).or_insert(0) += 1;
            }
        }
    }
    out
}

/// Data objects no meta lists, and journals left behind.
async fn garbage(s: &dyn Storage) -> (Vec<String>, usize) {
    let a = LogArchive::open(s).await.unwrap();
    let refd = referenced_objects(a.metas.iter().map(|m| &m.meta));
    let orphans = s
        .list("v1/")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .filter(|n| parse_log_data_path(n).is_ok() && !refd.contains(n))
        .collect();
    (orphans, list_journals(s).await.unwrap().len())
}

async fn build(spec: &TestLogSpec) -> (BTreeMap<String, Bytes>, TestLogArchive) {
    let s = mem();
    let t = write_test_log_archive(s.as_ref(), spec).await.unwrap();
    (objects(s.as_ref()).await, t)
}

/// A target of about three data groups.
async fn target_for(s: &dyn Storage) -> u64 {
    let a = LogArchive::open(s).await.unwrap();
    let lens: Vec<u64> = a
        .metas
        .iter()
        .flat_map(|m| &m.meta.groups)
        .filter(|g| !g.files.iter().all(|f| f.is_meta))
        .map(|g| g.length)
        .collect();
    3 * lens.iter().sum::<u64>() / lens.len() as u64
}

fn mutating(s: &FaultyStorage) -> usize {
    s.log()
        .iter()
        .filter(|e| matches!(e.op, Op::Write | Op::WriteIfAbsent | Op::Delete))
        .count()
}

async fn merge_keeps_events_and_reaches_target(cipher: Cipher) {
    let spec = TestLogSpec {
        flushes: 10,
        cipher: cipher.clone(),
        ..Default::default()
    };
    let (base, t) = build(&spec).await;
    let s = copy_of(&base).await;
    let target = target_for(s.as_ref()).await;
    let before = restorable(s.as_ref(), &cipher).await;
    let window = LogArchive::open(s.as_ref()).await.unwrap().window;
    assert!(small_groups(s.as_ref(), target)
        .await
        .values()
        .all(|&n| n > 3));

    let sum = merge_small_objects(s.as_ref(), target).await.unwrap();
    assert!(sum.objects_written >= 2 * spec.stores as usize, "{sum}");
    assert_eq!(sum.metas_written, sum.objects_written);

    // LOG-MERGE-4: every object but the last of its (store, kind) reaches the target.
    for (bucket, n) in small_groups(s.as_ref(), target).await {
        assert!(n <= 1, "{bucket:?} keeps {n} groups below {target}");
    }
    // LOG-MERGE-9/11: the same sub-files with the same events; window and documents kept.
    assert_eq!(restorable(s.as_ref(), &cipher).await, before);
    let after = LogArchive::open(s.as_ref()).await.unwrap();
    assert_eq!(after.window, window);
    assert_eq!(after.window.max_ts, t.checkpoint);
    let now = objects(s.as_ref()).await;
    assert_eq!(documents(&now), documents(&base));
    assert!(now.len() < base.len(), "fewer objects after the merge");
    assert_eq!(garbage(s.as_ref()).await, (vec![], 0));

    // LOG-MERGE-7: a second run plans nothing and touches nothing.
    let faulty = FaultyStorage::new(s.clone(), vec![]);
    let again = merge_small_objects(&faulty, target).await.unwrap();
    assert_eq!(again.steps, 0);
    assert_eq!(mutating(&faulty), 0);
}

#[tokio::test]
async fn log_merge_4_objects_reach_target_and_every_event_stream_is_unchanged() {
    merge_keeps_events_and_reaches_target(Cipher::plaintext()).await;
}

#[tokio::test]
async fn log_merge_9_encrypted_sub_files_still_decrypt_after_the_merge() {
    let cipher = Cipher::new(CipherMethod::Aes256Ctr, vec![7; 32]).unwrap();
    merge_keeps_events_and_reaches_target(cipher).await;
}

#[tokio::test]
async fn log_merge_14_a_damaged_source_stops_the_merge_before_any_write() {
    let (base, _) = build(&TestLogSpec::default()).await;
    let s = copy_of(&base).await;
    let target = target_for(s.as_ref()).await;
    let plan = plan_log_merge(s.as_ref(), target).await.unwrap();
    let first = plan.objects[0].copies[0].clone();
    let mut bytes = base[&first.source].to_vec();
    bytes[first.range_offset as usize + first.range_length as usize / 2] ^= 0x40;
    s.write(&first.source, Bytes::from(bytes)).await.unwrap();
    let damaged = objects(s.as_ref()).await;
    let e = merge_small_objects(s.as_ref(), target).await.unwrap_err();
    assert!(e.to_string().contains(&first.source), "{e}");
    assert_eq!(objects(s.as_ref()).await, damaged, "nothing written");
}

/// A rule that breaks the k-th write or delete: `TemporaryAfter` performs it and then fails
/// (a crash right after it), `Permanent` fails before it.
fn kth_mutation(k: u64, outcome: Outcome) -> FaultRule {
    FaultRule::on(Op::Write)
        .or(Op::WriteIfAbsent)
        .or(Op::Delete)
        .nth(k)
        .outcome(outcome)
}

#[tokio::test]
async fn log_merge_3_a_crash_after_any_write_or_delete_keeps_every_ts_restorable() {
    let spec = TestLogSpec {
        stores: 2,
        flushes: 7,
        ..Default::default()
    };
    let (base, _) = build(&spec).await;
    let probe = copy_of(&base).await;
    let target = target_for(probe.as_ref()).await;
    let before = restorable(probe.as_ref(), &Cipher::plaintext()).await;
    let faulty = FaultyStorage::new(probe.clone(), vec![]);
    merge_small_objects(&faulty, target).await.unwrap();
    let n = mutating(&faulty) as u64;
    assert!(n >= 8, "a merge of this archive has {n} writes and deletes");
    let clean = objects(probe.as_ref()).await;

    for outcome in [Outcome::TemporaryAfter, Outcome::Permanent] {
        for k in 1..=n + 1 {
            let s = copy_of(&base).await;
            let f = FaultyStorage::new(s.clone(), vec![kth_mutation(k, outcome)]);
            let r = merge_small_objects(&f, target).await;
            if k > n {
                r.unwrap();
                assert_eq!(objects(s.as_ref()).await, clean);
                continue;
            }
            assert!(r.is_err(), "the fault at mutation {k} stops the merge");
            // LOG-MERGE-11: after the crash, every sub-file with the same events.
            assert_eq!(
                restorable(s.as_ref(), &Cipher::plaintext()).await,
                before,
                "after a crash at mutation {k} ({outcome:?})"
            );
            // LOG-MERGE-7, LOG-MERGE-12/13: running again completes the same merge.
            merge_small_objects(s.as_ref(), target).await.unwrap();
            assert_eq!(restorable(s.as_ref(), &Cipher::plaintext()).await, before);
            assert_eq!(garbage(s.as_ref()).await, (vec![], 0), "k={k} {outcome:?}");
            let done = objects(s.as_ref()).await;
            assert_eq!(
                done.keys().collect::<Vec<_>>(),
                clean.keys().collect::<Vec<_>>(),
                "k={k} {outcome:?}: the completed merge is the uninterrupted one"
            );
        }
    }
}

fn long_txn_spec() -> TestLogSpec {
    TestLogSpec {
        flushes: 9,
        long_txn: Some((2, 6)),
        ..Default::default()
    }
}

#[tokio::test]
async fn log_trunc_3_keeps_default_cf_of_a_txn_committing_after_until() {
    let (base, t) = build(&long_txn_spec()).await;
    let txn = t.long_txn.clone().unwrap();
    let until = t.flush_ts[4];
    assert!(txn.start_ts < until && until < txn.commit_ts);
    let s = copy_of(&base).await;
    let before = LogArchive::open(s.as_ref()).await.unwrap();

    // Dry run: the plan, and nothing changes.
    let plan = plan_log_truncate(s.as_ref(), until).await.unwrap();
    assert_eq!(plan.shift_until_ts, txn.start_ts);
    assert_eq!(objects(s.as_ref()).await, base);

    let sum = execute_truncate_plan(s.as_ref(), &plan).await.unwrap();
    assert!(sum.safepoint_written);
    assert_eq!(
        s.read(TRUNCATE_SAFEPOINT).await.unwrap(),
        Bytes::from(until.to_string())
    );
    // Exactly the groups ending before the txn's start are gone, with their objects.
    let gone: BTreeSet<String> = before
        .metas
        .iter()
        .flat_map(|m| &m.meta.groups)
        .filter(|g| g.max_ts < txn.start_ts)
        .map(|g| g.path.clone())
        .collect();
    let flushes_0_and_1: BTreeSet<String> = before
        .metas
        .iter()
        .filter(|m| m.meta.resolved_ts <= t.flush_ts[1])
        .flat_map(|m| m.meta.groups.iter().map(|g| g.path.clone()))
        .collect();
    assert_eq!(gone, flushes_0_and_1);
    let after = LogArchive::open(s.as_ref()).await.unwrap();
    let now = objects(s.as_ref()).await;
    let removed: BTreeSet<String> = base
        .keys()
        .filter(|k| !now.contains_key(*k) && !k.starts_with("v1/backupmeta/"))
        .cloned()
        .collect();
    assert_eq!(removed, gone);
    assert!(after
        .metas
        .iter()
        .all(|m| m.meta.groups.iter().all(|g| g.max_ts >= txn.start_ts)));
    // The prewrite's default-CF sub-file (max_ts = start_ts < until) is still listed.
    let kept_default = after
        .metas
        .iter()
        .flat_map(|m| m.meta.sub_files())
        .any(|(_, f)| f.table_id == 120 && f.cf == Cf::Default && f.min_ts == txn.start_ts);
    assert!(kept_default);
    assert_eq!(after.window.min_ts, until);
    assert_eq!(after.window.max_ts, before.window.max_ts);
    assert_eq!(garbage(s.as_ref()).await, (vec![], 0));

    // Without the long transaction the shift is `until` itself and flush 2 goes too.
    let (base2, t2) = build(&TestLogSpec {
        flushes: 9,
        ..Default::default()
    })
    .await;
    let s2 = copy_of(&base2).await;
    let p2 = plan_log_truncate(s2.as_ref(), t2.flush_ts[4])
        .await
        .unwrap();
    assert!(p2.shift_until_ts > t2.flush_ts[3]);
    assert!(p2.groups_removed > plan.groups_removed);
    // A second truncate to the same ts has nothing left to do.
    let again = plan_log_truncate(s.as_ref(), until).await.unwrap();
    assert!(again.is_empty(), "{again}");
}

#[tokio::test]
async fn log_trunc_4_a_crash_after_any_write_or_delete_keeps_what_restores_after_until_need() {
    let (base, t) = build(&long_txn_spec()).await;
    let until = t.flush_ts[4];
    let probe = copy_of(&base).await;
    let plan = plan_log_truncate(probe.as_ref(), until).await.unwrap();
    let shift = plan.shift_until_ts;
    let before = restorable(probe.as_ref(), &Cipher::plaintext()).await;
    let needed: BTreeMap<_, _> = before
        .iter()
        .filter(|(id, _)| id.max_ts >= shift)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let faulty = FaultyStorage::new(probe.clone(), vec![]);
    execute_truncate_plan(&faulty, &plan).await.unwrap();
    let n = mutating(&faulty) as u64;
    assert!(n >= 10, "{n}");
    let clean = objects(probe.as_ref()).await;

    for outcome in [Outcome::TemporaryAfter, Outcome::Permanent] {
        for k in 1..=n {
            let s = copy_of(&base).await;
            let f = FaultyStorage::new(s.clone(), vec![kth_mutation(k, outcome)]);
            let r = async {
                let p = plan_log_truncate(&f, until).await?;
                execute_truncate_plan(&f, &p).await
            }
            .await;
            assert!(r.is_err(), "the fault at mutation {k} stops the truncate");
            // No meta lists a deleted object, and every sub-file a restore to a ts >= until
            // needs is there with the same events (LOG-TRUNC-4).
            let now = restorable(s.as_ref(), &Cipher::plaintext()).await;
            for (id, events) in &needed {
                assert_eq!(now.get(id), Some(events), "k={k} {outcome:?}");
            }
            assert!(now.keys().all(|id| before.contains_key(id)));
            let p = plan_log_truncate(s.as_ref(), until).await.unwrap();
            assert_eq!(
                p.shift_until_ts, shift,
                "the shift ts is stable across runs"
            );
            execute_truncate_plan(s.as_ref(), &p).await.unwrap();
            assert_eq!(
                objects(s.as_ref()).await,
                clean,
                "k={k} {outcome:?}: the completed truncate is the uninterrupted one"
            );
        }
    }
}

#[tokio::test]
async fn log_metadata_reports_window_sizes_gaps_and_unreferenced_objects() {
    let spec = TestLogSpec::default();
    let (base, t) = build(&spec).await;
    let s = copy_of(&base).await;
    let r = log_metadata(s.as_ref(), MetadataOptions::default())
        .await
        .unwrap();
    assert_eq!(r.min_restorable_ts, t.start_ts);
    assert_eq!(r.max_restorable_ts, t.checkpoint);
    assert_eq!(r.metas, t.metas);
    assert_eq!(r.groups, t.objects);
    assert_eq!(r.data_objects, t.objects);
    assert_eq!(r.stores.len(), 3);
    assert_eq!(r.stores.iter().map(|s| s.metas).sum::<usize>(), t.metas);
    let data: u64 = base
        .iter()
        .filter(|(k, _)| parse_log_data_path(k).is_ok())
        .map(|(_, v)| v.len() as u64)
        .sum();
    assert_eq!(r.data_bytes, data);
    assert!(r.gaps.is_empty(), "{:?}", r.gaps);
    assert_eq!((r.unreferenced_objects, r.missing_objects.len()), (0, 0));

    // Drop the metas of flushes 2..=4: 30 s without changes and their objects unreferenced.
    let a = LogArchive::open(s.as_ref()).await.unwrap();
    let mut dropped = 0;
    for m in &a.metas {
        if m.meta.resolved_ts > t.flush_ts[1] && m.meta.resolved_ts <= t.flush_ts[4] {
            s.delete(&m.path).await.unwrap();
            dropped += m.meta.groups.len();
        }
    }
    let r = log_metadata(s.as_ref(), MetadataOptions { min_gap_ms: 20_000 })
        .await
        .unwrap();
    assert_eq!(r.gaps.len(), 1, "{:?}", r.gaps);
    assert!(r.gaps[0].from_ts > t.flush_ts[0] && r.gaps[0].to_ts < t.flush_ts[5]);
    assert_eq!(r.unreferenced_objects, dropped);
}

// ---- the CLI ----

fn brtool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brtool"))
        .args(args)
        .output()
        .expect("brtool runs")
}

fn local_archive(dir: &std::path::Path, spec: &TestLogSpec) -> (String, TestLogArchive) {
    let url = format!("local://{}", dir.join("log").display());
    let storage = open_url(&url).unwrap();
    let t = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(write_test_log_archive(storage.as_ref(), spec))
        .unwrap();
    (url, t)
}

fn listing(url: &str) -> BTreeMap<String, Bytes> {
    let s = open_url(url).unwrap();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(objects(s.as_ref()))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn cli_log_metadata_json_has_the_window_keys_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let (url, t) = local_archive(dir.path(), &TestLogSpec::default());
    let out = brtool(&["log", "metadata", "-s", &url, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["min_restorable_ts"], t.start_ts);
    assert_eq!(v["max_restorable_ts"], t.checkpoint);
    assert_eq!(v["sizes"]["metas"], t.metas);
    assert_eq!(v["sizes"]["groups"], t.objects);
    assert_eq!(v["stores"].as_array().unwrap().len(), 3);
    assert_eq!(v["gaps"].as_array().unwrap().len(), 0);
    assert_eq!(v["truncate_safepoint"], serde_json::Value::Null);
    let out = brtool(&["log", "metadata", "-s", &url]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("min restorable ts   {}", t.start_ts)),
        "{text}"
    );
}

#[test]
fn cli_log_truncate_exit_codes_dry_run_and_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let (url, t) = local_archive(dir.path(), &long_txn_spec());
    let before = listing(&url);
    let until = t.flush_ts[4].to_string();

    let out = brtool(&["log", "truncate", "-s", &url, "--until", "not a ts", "-y"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--until"), "{}", stderr(&out));
    let late = (t.checkpoint + 1).to_string();
    let out = brtool(&["log", "truncate", "-s", &url, "--until", &late, "-y"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("global checkpoint"),
        "{}",
        stderr(&out)
    );
    let out = brtool(&["log", "truncate", "-s", &url, "--until", &until, "--bogus"]);
    assert_eq!(out.status.code(), Some(2));

    let out = brtool(&[
        "log",
        "truncate",
        "-s",
        &url,
        "--until",
        &until,
        "--dry-run",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("delete object"), "{text}");
    assert!(text.contains(TRUNCATE_SAFEPOINT), "{text}");
    // Without -y and without a terminal: refused, nothing changed.
    let out = brtool(&["log", "truncate", "-s", &url, "--until", &until]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("-y"), "{}", stderr(&out));
    assert_eq!(listing(&url), before);

    let out = brtool(&["log", "truncate", "-s", &url, "--until", &until, "-y"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = listing(&url);
    assert_eq!(after[TRUNCATE_SAFEPOINT], Bytes::from(until.clone()));
    assert!(after.len() < before.len());
}

#[test]
fn cli_log_merge_dry_run_changes_nothing_then_merges() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = local_archive(dir.path(), &TestLogSpec::default());
    let before = listing(&url);
    let out = brtool(&["log", "merge", "-s", &url, "--target-size", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = brtool(&["log", "merge", "-s", &url, "--target-size", "12XB"]);
    assert_eq!(out.status.code(), Some(2));
    let out = brtool(&[
        "log",
        "merge",
        "-s",
        &url,
        "--target-size",
        "8KiB",
        "--dry-run",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("merge plan:") && text.contains("write object"),
        "{text}"
    );
    assert_eq!(listing(&url), before);
    let out = brtool(&["log", "merge", "-s", &url, "--target-size", "8KiB"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(listing(&url).len() < before.len());
    let s = open_url(&url).unwrap();
    let plan = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(plan_log_merge(s.as_ref(), 8 << 10))
        .unwrap();
    assert!(plan.is_empty(), "{plan}");
}
