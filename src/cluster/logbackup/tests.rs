//! Unit tests of log backup inside one `ClusterState` (no gRPC, no flush loops): a region
//! that moves keeps its unflushed events, a flush's objects decode back to its events with
//! the spec's names, a broken buffer is rebuilt by a scan, and the task rules of the
//! placement driver.

use super::buffer::Buffer;
use super::flush::build;
use super::*;
use crate::cluster::pd::{log_service_id, Placement};
use crate::cluster::server::state::enc;
use crate::cluster::store::Mutation;
use crate::codec::table::record_key_int;
use crate::format::crypto::Cipher;
use crate::format::logfile::{decode_sub_file, events, key_ts};
use crate::format::logmeta::decode_log_meta;
use crate::format::naming::log::{parse_log_data_path, parse_meta_path, LogDataName};
use crate::format::naming::snapshot::Cf;
use std::collections::BTreeSet;

fn cluster(dir: &std::path::Path) -> ClusterState {
    let pd = Placement::open_or_bootstrap(&dir.join("pd"), 3).unwrap();
    let stores = (1..=3)
        .map(|id| Arc::new(Store::open(&dir.join(format!("store-{id}")), id).unwrap()))
        .collect();
    ClusterState::new(dir.to_path_buf(), pd, stores, u64::MAX)
}

fn task(state: &ClusterState) -> LogTask {
    let ts = state.tso(1).unwrap();
    let t = LogTask {
        name: "t".into(),
        storage_url: "noop://".into(),
        start_ts: ts,
        checkpoint_ts: ts,
        state: LogTaskState::Running,
        flush_interval_ms: 1000,
        store_resolved: Default::default(),
        cipher: None,
    };
    state.pd.register_log_task(t.clone()).unwrap();
    for h in &state.stores {
        state.log.observer(h.id).unwrap().activate();
    }
    t
}

/// (cf, event key) of every event in the batches taken from `store`'s observer.
fn taken_keys(state: &ClusterState, store: u64) -> BTreeSet<(Cf, Vec<u8>)> {
    let mut taken = state.log.observer(store).unwrap().take().unwrap();
    taken.seal(store);
    let mut out = BTreeSet::new();
    for b in &taken.batches {
        for p in &b.parts {
            let bytes = std::fs::read(&p.path).unwrap();
            for ev in events(&bytes) {
                out.insert((p.key.cf, ev.unwrap().0.to_vec()));
            }
        }
    }
    out
}

fn put(state: &ClusterState, keys: &[Vec<u8>], len: usize) -> u64 {
    let muts = keys
        .iter()
        .map(|k| Mutation {
            key: k.clone(),
            value: Some(vec![7; len]),
        })
        .collect();
    state.commit(muts).unwrap().1
}

#[test]
fn a_region_arriving_on_a_store_brings_its_unflushed_events() {
    let dir = tempfile::tempdir().unwrap();
    let state = cluster(dir.path());
    let _t = task(&state);
    let keys: Vec<Vec<u8>> = (1..=3).map(|t| record_key_int(100 + t, 1)).collect();
    // Long values: the default CF is observed and scanned too (MVCC-16).
    let commit_ts = put(&state, &keys, 300);
    let splits: Vec<Vec<u8>> = keys[1..].iter().map(|k| enc(k)).collect();
    let mut ids = state.split(&splits).unwrap();
    ids.push(state.pd.region_by_key(&splits[1]).id);
    state.scatter(&ids).unwrap();
    let moved: Vec<_> = keys
        .iter()
        .map(|k| state.pd.region_by_key(&enc(k)))
        .filter(|r| r.leader_store != 1)
        .collect();
    assert!(!moved.is_empty(), "the scatter moved a region off store 1");
    // Store 1 "crashes": its buffer is gone. The new leaders must have the events.
    state.log.observer(1).unwrap().deactivate();
    for r in moved {
        let got = taken_keys(&state, r.leader_store);
        let key = keys.iter().find(|k| r.contains(&enc(k))).unwrap();
        let wkey = crate::codec::mvcc::encode_mvcc_key(key, commit_ts);
        assert!(
            got.contains(&(Cf::Write, wkey)),
            "store {} lacks the write event of region {}",
            r.leader_store,
            r.id
        );
        assert!(got.iter().any(|(cf, _)| *cf == Cf::Default));
    }
}

#[test]
fn a_flush_builds_objects_that_decode_to_its_events_log_2_log_name_4() {
    let dir = tempfile::tempdir().unwrap();
    let state = cluster(dir.path());
    let _t = task(&state);
    let mut keys: Vec<Vec<u8>> = (1..=50).map(|h| record_key_int(7, h)).collect();
    keys.push(b"mDB:1\x00\x00\x00\x00\x00\x00\x00\x00\xf8".to_vec());
    put(&state, &keys[..25], 10);
    put(&state, &keys[25..], 400);
    let resolved = state.tso(1).unwrap();
    let mut taken = state.log.observer(1).unwrap().take().unwrap();
    taken.seal(1);
    // A tiny group limit: several group objects, data first, meta-KV last (schema-meta).
    let built = build(1, resolved, &taken.batches, 64, &Cipher::plaintext()).unwrap();
    assert!(built.objects.len() > 1);
    let (meta_path, meta_bytes) = built.meta.unwrap();
    assert_eq!(parse_meta_path(&meta_path).unwrap().generation(), "tagged");
    let meta = decode_log_meta(&meta_bytes).unwrap();
    assert_eq!(meta.resolved_ts, resolved);
    let mut n = 0;
    let mut seen_meta = false;
    for (g, (path, bytes)) in meta.groups.iter().zip(&built.objects) {
        assert_eq!(&g.path, path);
        let LogDataName::Group { schema_meta, .. } = parse_log_data_path(path).unwrap() else {
            panic!("not a group path: {path}")
        };
        assert_eq!(schema_meta, g.files.iter().all(|f| f.is_meta));
        for f in &g.files {
            assert!(!seen_meta || f.is_meta, "meta-KV sub-files come last");
            seen_meta |= f.is_meta;
            let stream =
                decode_sub_file(bytes, f, &crate::format::crypto::Cipher::plaintext()).unwrap();
            for ev in events(&stream) {
                let (k, _) = ev.unwrap();
                assert!(key_ts(k).unwrap() <= resolved);
                n += 1;
            }
        }
    }
    // 51 write events + 26 default events (the long values of the second commit).
    assert_eq!(n, 51 + 26);
    assert!(seen_meta);
}

#[test]
fn a_broken_buffer_is_rebuilt_by_an_incremental_scan() {
    let dir = tempfile::tempdir().unwrap();
    let state = cluster(dir.path());
    let t = task(&state);
    let keys: Vec<Vec<u8>> = (1..=5).map(|h| record_key_int(9, h)).collect();
    let ts = put(&state, &keys, 10);
    let obs = state.log.observer(1).unwrap();
    obs.mark_broken();
    let taken = obs.take().unwrap();
    assert!(taken.rescan && taken.batches.is_empty() && taken.current.is_none());
    let mut buf = Buffer::new(obs.rescan_dir());
    let n = scan_store_into(&state, 1, t.checkpoint_ts, ts, &mut buf).unwrap();
    assert_eq!(n, 5);
    assert_eq!(
        buf.seal()
            .unwrap()
            .parts
            .iter()
            .map(|p| p.events)
            .sum::<u64>(),
        5
    );
}

#[test]
fn pd_task_rules_one_task_checkpoint_is_the_min_and_gc_follows() {
    let dir = tempfile::tempdir().unwrap();
    let state = cluster(dir.path());
    let t = task(&state);
    let second = LogTask {
        name: "u".into(),
        ..t.clone()
    };
    let e = state.pd.register_log_task(second).unwrap_err().to_string();
    assert!(
        e.contains("\"t\"") && e.contains("one task at a time"),
        "{e}"
    );
    let svc = log_service_id("t");
    assert_eq!(state.pd.service_safepoints()[&svc].safepoint, t.start_ts);
    let base = t.start_ts;
    assert_eq!(state.pd.report_log_flush("t", 1, base + 10).unwrap(), base);
    assert_eq!(state.pd.report_log_flush("t", 2, base + 5).unwrap(), base);
    assert_eq!(
        state.pd.report_log_flush("t", 3, base + 7).unwrap(),
        base + 5
    );
    assert_eq!(state.pd.service_safepoints()[&svc].safepoint, base + 5);
    // Reports never move a store backwards.
    assert_eq!(
        state.pd.report_log_flush("t", 2, base + 1).unwrap(),
        base + 5
    );
    // Persisted: a reopened placement driver has the task and its checkpoint.
    drop(state);
    let pd = Placement::open_or_bootstrap(&dir.path().join("pd"), 0).unwrap();
    assert_eq!(pd.log_task("t").unwrap().checkpoint_ts, base + 5);
    pd.stop_log_task("t").unwrap();
    assert!(!pd.service_safepoints().contains_key(&svc));
}

fn aes256(b: u8) -> Cipher {
    Cipher::new(crate::format::crypto::CipherMethod::Aes256Ctr, vec![b; 32]).unwrap()
}

#[test]
fn log_crypt_1_an_encrypted_flush_gives_each_sub_file_a_fresh_iv_and_its_ciphertext_sha256() {
    use crate::format::logmeta::DataKeyMode;
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let state = cluster(dir.path());
    let _t = task(&state);
    // Several tables and long values: many sub-files (write + default CF, meta-KV).
    let mut keys: Vec<Vec<u8>> = (1..=6)
        .flat_map(|t| (1..=4).map(move |h| record_key_int(70 + t, h)))
        .collect();
    keys.push(b"mDB:1\x00\x00\x00\x00\x00\x00\x00\x00\xf8".to_vec());
    put(&state, &keys, 300);
    let resolved = state.tso(1).unwrap();
    let mut taken = state.log.observer(1).unwrap().take().unwrap();
    taken.seal(1);
    let key = aes256(0x42);
    let built = build(1, resolved, &taken.batches, 1 << 20, &key).unwrap();
    // LOG-CRYPT-2: the .meta is plaintext (it decodes with no key).
    let meta = decode_log_meta(&built.meta.unwrap().1).unwrap();
    let mut ivs = BTreeSet::new();
    let (mut files, mut events_seen) = (0, 0);
    for (g, (path, bytes)) in meta.groups.iter().zip(&built.objects) {
        assert_eq!(&g.path, path);
        for f in &g.files {
            files += 1;
            let e = f.encryption.as_ref().expect("every sub-file is encrypted");
            assert_eq!(e.method, key.method());
            assert_eq!(e.mode, DataKeyMode::PlainText);
            assert_eq!(e.iv.len(), 16);
            assert!(
                ivs.insert(e.iv.clone()),
                "IV reused: {}",
                hex::encode(&e.iv)
            );
            let stored =
                &bytes[f.range_offset as usize..(f.range_offset + f.range_length) as usize];
            // The checksum covers the stored (encrypted) bytes, not the plaintext.
            assert_eq!(e.checksum, Sha256::digest(stored).to_vec());
            assert_ne!(
                &stored[..4],
                &[0x28, 0xb5, 0x2f, 0xfd],
                "the stored bytes are not a bare zstd frame"
            );
            // Decrypt round trip: length and plaintext SHA-256 verified by decode_sub_file.
            let plain = decode_sub_file(bytes, f, &key).unwrap();
            assert_eq!(plain.len() as u64, f.length);
            assert_eq!(f.sha256.unwrap().to_vec(), Sha256::digest(&plain).to_vec());
            events_seen += events(&plain).count();
            assert!(decode_sub_file(bytes, f, &aes256(0x43)).is_err());
            assert!(decode_sub_file(bytes, f, &Cipher::plaintext()).is_err());
        }
    }
    assert!(files >= 3, "{files} sub-files");
    // 25 write events + 25 default events (300-byte values).
    assert_eq!(events_seen, 50);
}

#[test]
fn log_crypt_3_the_task_key_persists_in_pd_json_and_is_never_printed() {
    use crate::cluster::pd::TaskCipher;
    let dir = tempfile::tempdir().unwrap();
    let state = cluster(dir.path());
    let ts = state.tso(1).unwrap();
    let key = aes256(0xC3);
    let t = LogTask {
        name: "enc".into(),
        storage_url: "noop://".into(),
        start_ts: ts,
        checkpoint_ts: ts,
        state: LogTaskState::Running,
        flush_interval_ms: 1000,
        store_resolved: Default::default(),
        cipher: TaskCipher::of(&key),
    };
    state.pd.register_log_task(t.clone()).unwrap();
    let hex_key = hex::encode(key.key());
    assert!(!format!("{t:?}").contains(&hex_key), "{t:?}");
    assert_eq!(t.encryption(), "aes256-ctr");
    assert!(TaskCipher::of(&Cipher::plaintext()).is_none());
    drop(state);
    // Like BR's etcd, the placement driver's state holds the key.
    let json = std::fs::read_to_string(dir.path().join("pd").join(crate::cluster::pd::STATE_FILE))
        .unwrap();
    assert!(json.contains(&hex_key));
    let pd = Placement::open_or_bootstrap(&dir.path().join("pd"), 0).unwrap();
    assert_eq!(pd.log_task("enc").unwrap().data_cipher().unwrap(), key);
    // A hand-edited key of the wrong length is refused (CRYPT-1), naming pd.json.
    let bad = TaskCipher {
        method: "aes256-ctr".into(),
        key_hex: "00".repeat(16),
    };
    assert!(bad.cipher().unwrap_err().to_string().contains("pd.json"));
}

/// Commit-path cost of the observers (no gRPC, no flush): `cargo test --lib
/// cluster::logbackup::tests::commit_path_overhead -- --ignored --nocapture`. Prints numbers,
/// asserts nothing about time.
#[test]
#[ignore]
fn commit_path_overhead() {
    let dir = tempfile::tempdir().unwrap();
    let state = cluster(dir.path());
    let run = |state: &ClusterState, base: i64| {
        let t0 = std::time::Instant::now();
        for i in 0..3000i64 {
            let keys: Vec<Vec<u8>> = (0..16)
                .map(|j| record_key_int(50, base + i * 16 + j))
                .collect();
            put(state, &keys, 120);
        }
        t0.elapsed().as_secs_f64()
    };
    let mut off = Vec::new();
    let mut on = Vec::new();
    for round in 0..3i64 {
        off.push(run(&state, round * 1_000_000));
        let _t = task(&state);
        on.push(run(&state, round * 1_000_000 + 500_000));
        for h in &state.stores {
            state.log.observer(h.id).unwrap().deactivate();
        }
        state.pd.stop_log_task("t").unwrap();
    }
    off.sort_by(f64::total_cmp);
    on.sort_by(f64::total_cmp);
    println!(
        "3000 commits x 16 rows: without observers {:.3} s, with {:.3} s (medians), overhead {:.1} %",
        off[1],
        on[1],
        (on[1] - off[1]) / off[1] * 100.0
    );
}
