//! The schema at the restored ts: snapshot schemas seeded, meta-KV write records replayed by
//! commit ts (KEY-5 keys), Put values from the short value or the default CF.

use super::*;
use crate::codec::mvcc::encode_mvcc_key;
use crate::codec::write::Write;
use crate::format::logfile::encode_event;

fn db_json(id: i64, name: &str) -> Vec<u8> {
    format!(r#"{{"id":{id},"db_name":{{"O":"{name}","L":"{name}"}},"state":5}}"#).into_bytes()
}

/// A TableInfo JSON longer than a short value (255 bytes) when `pad`.
fn table_json(id: i64, name: &str, pad: bool) -> Vec<u8> {
    let comment = if pad { "x".repeat(300) } else { String::new() };
    format!(r#"{{"id":{id},"name":{{"O":"{name}","L":"{name}"}},"comment":"{comment}","state":5}}"#)
        .into_bytes()
}

fn snapshot() -> Vec<SchemaEntry> {
    ["a", "b"]
        .iter()
        .enumerate()
        .map(|(i, n)| SchemaEntry {
            db_json: db_json(1, "d"),
            table_json: Some(table_json(10 + i as i64, n, false)),
            checksum: Default::default(),
            tiflash_replicas: 0,
        })
        .collect()
}

fn stream(events: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in events {
        encode_event(&mut out, k, v).unwrap();
    }
    out
}

fn put(key: &[u8], start: u64, commit: u64, short: Option<&[u8]>) -> (Vec<u8>, Vec<u8>) {
    let w = Write::new(WriteType::Put, start, short.map(|s| s.to_vec()));
    (encode_mvcc_key(key, commit), w.encode().unwrap())
}

fn names(kv: &ReplayKv, ts: u64) -> Vec<(i64, String)> {
    kv.tables_at(ts)
        .unwrap()
        .into_iter()
        .map(|t| (t.info.id, t.info.name.o))
        .collect()
}

/// Snapshot at 100; create `c` (id 12, long JSON in the default CF, started at 95) at 120,
/// drop `b` at 130, truncate `a` (drop 10, create `a` as 13) at 140, a rollback at 150.
fn log() -> Vec<(Cf, Vec<u8>)> {
    let c_key = catalog::table_info_key(1, 12);
    let c_json = table_json(12, "c", true);
    let a2_key = catalog::table_info_key(1, 13);
    let drop_b = (
        encode_mvcc_key(&catalog::table_info_key(1, 11), 130),
        Write::new(WriteType::Delete, 125, None).encode().unwrap(),
    );
    let drop_a = (
        encode_mvcc_key(&catalog::table_info_key(1, 10), 140),
        Write::new(WriteType::Delete, 135, None).encode().unwrap(),
    );
    let rollback = (
        encode_mvcc_key(&catalog::table_info_key(1, 12), 150),
        Write::new(WriteType::Rollback, 150, None).encode().unwrap(),
    );
    let before = put(
        &catalog::table_info_key(1, 99),
        80,
        90,
        Some(&table_json(99, "old", false)),
    );
    let writes = vec![
        before,
        put(&c_key, 95, 120, None),
        drop_b,
        drop_a,
        put(&a2_key, 138, 140, Some(&table_json(13, "a", false))),
        rollback,
        put(b"mBrkitWorkloadState/d", 141, 142, Some(b"{}")),
    ];
    let defaults = vec![(encode_mvcc_key(&c_key, 95), c_json)];
    vec![
        (Cf::Write, stream(&writes)),
        (Cf::Default, stream(&defaults)),
    ]
}

#[test]
fn created_dropped_and_truncated_tables_at_each_restored_ts() {
    let snap = snapshot();
    let streams = log();
    let at = |ts| {
        let mut kv = ReplayKv::from_snapshot(&snap, 100).unwrap();
        kv.replay(&streams, 100, ts).unwrap();
        names(&kv, ts)
    };
    assert_eq!(at(100), vec![(10, "a".into()), (11, "b".into())]);
    assert_eq!(
        at(120),
        vec![(10, "a".into()), (11, "b".into()), (12, "c".into())],
        "created after the snapshot, its JSON from the default CF"
    );
    assert_eq!(
        at(130),
        vec![(10, "a".into()), (12, "c".into())],
        "b dropped"
    );
    assert_eq!(
        at(u64::MAX - 1),
        vec![(12, "c".into()), (13, "a".into())],
        "a truncated: new id only; rollback and non-schema meta keys change nothing"
    );
}

#[test]
fn events_at_or_before_the_snapshot_do_not_change_the_seeded_schema() {
    let mut kv = ReplayKv::from_snapshot(&snapshot(), 100).unwrap();
    kv.replay(&log(), 100, 100).unwrap();
    assert_eq!(kv.replayed, 0);
    assert_eq!(
        names(&kv, 100).len(),
        2,
        "the ts-90 table is not resurrected"
    );
}

#[test]
fn a_long_meta_value_missing_from_the_default_cf_is_an_error_naming_the_key() {
    let mut streams = log();
    streams.retain(|(cf, _)| *cf == Cf::Write);
    let mut kv = ReplayKv::from_snapshot(&snapshot(), 100).unwrap();
    let e = kv.replay(&streams, 100, 200).unwrap_err().to_string();
    assert!(
        e.contains("committed at 120") && e.contains("start ts 95"),
        "{e}"
    );
}

#[test]
fn damaged_meta_stream_is_an_error_not_a_panic() {
    let (_, mut s) = log().remove(0);
    s.truncate(s.len() - 3);
    let mut kv = ReplayKv::default();
    assert!(kv.replay(&[(Cf::Write, s)], 0, 1000).is_err());
}
