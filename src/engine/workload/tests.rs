//! Workload tests: schemas parse as TiDB's model (MODEL-*), generated rows dump back to the
//! generated values (ROWDEC-*, CSV-1), index keys classify to their index (KEY-4/KEY-6),
//! partition routing (MODEL-6), update/delete key sets, determinism, and RANGE-4 coverage.

use std::collections::BTreeMap;

use super::*;
use crate::codec::datum::Datum;
use crate::codec::index::split_index_value;
use crate::codec::model::{HandleKind, TableInfo};
use crate::codec::row::RowDecoder;
use crate::codec::table::{classify, decode_table_id, Handle, KeyKind};

const SEED: u64 = 42;

fn spec() -> WorkloadSpec {
    WorkloadSpec {
        db: "sbtest".into(),
        tables: 2,
        rows: 30,
        seed: SEED,
    }
}

/// Parses every table, allocating ids as the placement service would (table, then partitions).
fn tables() -> Vec<TableInfo> {
    let mut next = 100;
    schema(&spec())
        .into_iter()
        .map(|def| {
            let mut v = def.info.clone();
            assert_eq!(v["id"], 0, "{}: table id left to the allocator", def.name);
            v["id"] = next.into();
            next += 1;
            let defs = v
                .get_mut("partition")
                .and_then(|p| p.get_mut("definitions"));
            if let Some(defs) = defs.and_then(|d| d.as_array_mut()) {
                for d in defs {
                    assert_eq!(d["id"], 0);
                    d["id"] = next.into();
                    next += 1;
                }
            }
            next += 10;
            TableInfo::from_json(&serde_json::to_vec(&v).unwrap()).unwrap()
        })
        .collect()
}

fn table(name: &str) -> TableInfo {
    tables().into_iter().find(|t| t.name.o == name).unwrap()
}

/// The store after loading rows 1..=n at `version(row)`.
fn load(t: &TableInfo, n: u64, version: impl Fn(u64) -> u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    (1..=n)
        .flat_map(|r| row_kvs(t, r, SEED, version(r)).unwrap())
        .collect()
}

fn apply(state: &mut BTreeMap<Vec<u8>, Vec<u8>>, m: Mutation) {
    for k in m.deletes {
        assert!(
            state.remove(&k).is_some(),
            "deleting a key that is not there"
        );
    }
    state.extend(m.puts);
}

fn records(state: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    state
        .iter()
        .filter(|(k, _)| matches!(classify(k), KeyKind::Record { .. }))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn dump(t: &TableInfo, state: &BTreeMap<Vec<u8>, Vec<u8>>) -> String {
    let mut out = Vec::new();
    dump_csv(t, records(state), &mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// The CSV the generated rows should dump to, in record-key order.
fn expected(t: &TableInfo, rows: impl Iterator<Item = (u64, u64)>) -> String {
    let decoder = RowDecoder::new(t).unwrap();
    let mut lines: Vec<(Vec<u8>, Vec<u8>)> = rows
        .map(|(r, v)| {
            let g = generate_row(t, r, SEED, v).unwrap();
            let key = encode_row(t, &g).unwrap().remove(0).0;
            let mut line = Vec::new();
            write_csv_row(&mut line, &decoder, &g.datums).unwrap();
            (key, line)
        })
        .collect();
    lines.sort();
    let mut out = Vec::new();
    write_csv_header(&mut out, &decoder).unwrap();
    for (_, l) in lines {
        out.extend(l);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn model_4_every_table_parses_with_the_right_handle_kind() {
    let ts = tables();
    let names: Vec<&str> = ts.iter().map(|t| t.name.o.as_str()).collect();
    assert_eq!(
        names,
        ["sbtest1", "sbtest2", ORDERS, EVENTS, METRICS, ALL_TYPES]
    );
    let kind = |n: &str| table(n).handle_kind().unwrap();
    assert_eq!(kind("sbtest1"), HandleKind::IntPk { column: 0 });
    assert_eq!(
        kind(ORDERS),
        HandleKind::Common {
            columns: vec![0, 1]
        }
    );
    assert_eq!(kind(EVENTS), HandleKind::RowId);
    assert_eq!(kind(METRICS), HandleKind::IntPk { column: 0 });
    assert_eq!(kind(ALL_TYPES), HandleKind::IntPk { column: 0 });
    assert_eq!(
        table(METRICS).physical_ids().len(),
        METRICS_PARTITIONS as usize
    );
    for def in schema(&spec()) {
        // MODEL-1: our JSON survives TiDB's model round trip unchanged.
        let t = TableInfo::from_json(&serde_json::to_vec(&def.info).unwrap()).unwrap();
        let back: serde_json::Value = serde_json::from_slice(&t.to_json()).unwrap();
        assert_eq!(back, def.info, "{}", def.name);
        let ids: Vec<i64> = t.cols.iter().map(|c| c.id).collect();
        assert_eq!(ids, (1..=t.cols.len() as i64).collect::<Vec<_>>());
        assert_eq!(t.extra["max_col_id"], t.cols.len());
    }
}

#[test]
fn rowdec_3_generated_rows_dump_back_to_the_generated_values() {
    for t in tables() {
        let state = load(&t, 30, |_| 0);
        assert_eq!(
            dump(&t, &state),
            expected(&t, (1..=30).map(|r| (r, 0))),
            "{}",
            t.name.o
        );
    }
}

#[test]
fn csv_1_sysbench_rows_look_like_sysbench() {
    let t = table("sbtest1");
    let out = dump(&t, &load(&t, 3, |_| 0));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("id,k,c,pad"));
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(first[0], "1");
    assert_eq!((first[2].len(), first[3].len()), (119, 59));
    assert!(first[2]
        .split('-')
        .all(|g| g.len() == 11 && g.bytes().all(|b| b.is_ascii_digit())));
}

#[test]
fn row_2_all_types_has_nulls_in_every_nullable_column_and_long_text() {
    let t = table(ALL_TYPES);
    let state = load(&t, 14, |_| 0);
    let out = dump(&t, &state);
    let header: Vec<&str> = out.lines().next().unwrap().split(',').collect();
    assert_eq!(header.len(), 29);
    for (j, name) in header.iter().enumerate().skip(1) {
        let g = (1..=14).any(|r| generate_row(&t, r, SEED, 0).unwrap().datums[j].is_null());
        assert!(g, "column {name} never NULL");
    }
    // Long text: some record value exceeds TiKV's 255-byte short-value limit (default CF).
    assert!(records(&state).iter().any(|(_, v)| v.len() > 255));
    assert!(out.contains(".") && out.contains("\"needs \"\"quoting\"\""));
    assert!(out.contains(r#""\N""#), "a literal \\N string is quoted");
    // Explicit NULL of a column with a non-NULL default is listed as null (ROW-4) and reads
    // back NULL, not the default.
    let r = (1..=14)
        .find(|r| generate_row(&t, *r, SEED, 0).unwrap().datums[15].is_null())
        .unwrap();
    let v = &state[&row_kvs(&t, r, SEED, 0).unwrap()[0].0];
    let row = crate::codec::row::v2::RowV2::decode(v).unwrap();
    assert_eq!(row.null_ids(), [16]);
}

#[test]
fn key_4_index_keys_classify_to_their_index_and_physical_table() {
    for t in tables() {
        let stored: Vec<i64> = t
            .public_indexes()
            .filter(|i| !(t.is_common_handle && i.is_primary))
            .map(|i| i.id)
            .collect();
        for r in 1..=20 {
            let g = generate_row(&t, r, SEED, 0).unwrap();
            let kvs = encode_row(&t, &g).unwrap();
            assert_eq!(kvs.len(), 1 + stored.len());
            match classify(&kvs[0].0) {
                KeyKind::Record { table_id, handle } => {
                    assert_eq!((table_id, &handle), (g.physical_id, &g.handle))
                }
                other => panic!("{other:?}"),
            }
            for ((k, v), id) in kvs[1..].iter().zip(&stored) {
                let idx = t.indexes().iter().find(|i| i.id == *id).unwrap();
                let want_table = if idx.is_global { t.id } else { g.physical_id };
                match classify(k) {
                    KeyKind::Index {
                        table_id, index_id, ..
                    } => {
                        assert_eq!((table_id, index_id), (want_table, *id))
                    }
                    other => panic!("{other:?}"),
                }
                let seg = split_index_value(v).unwrap();
                if idx.is_global {
                    assert_eq!(seg.partition_id, Some(g.physical_id));
                }
                if idx.is_unique && !t.is_common_handle && !kvs[0].1.is_empty() {
                    if let (Handle::Int(h), Some(vh)) = (&g.handle, seg.int_handle) {
                        assert_eq!(vh, *h);
                    }
                }
            }
        }
    }
}

#[test]
fn model_6_partitioned_rows_go_to_hash_partitions() {
    let t = table(METRICS);
    let ids = t.physical_ids();
    for r in 1..=12u64 {
        let kvs = row_kvs(&t, r, SEED, 0).unwrap();
        assert_eq!(decode_table_id(&kvs[0].0), Some(ids[(r % 4) as usize]));
    }
    // Every partition's rows dump, in key order across partitions.
    let state = load(&t, 12, |_| 0);
    assert_eq!(dump(&t, &state).lines().count(), 13);
}

#[test]
fn update_and_delete_produce_exactly_the_new_key_sets() {
    for t in tables() {
        let mut state = load(&t, 20, |_| 0);
        for r in [2u64, 5, 7, 11] {
            let m = update_kvs(&t, r, SEED, 0, 1).unwrap();
            assert!(m
                .deletes
                .iter()
                .all(|k| !matches!(classify(k), KeyKind::Record { .. })));
            apply(&mut state, m);
        }
        let updated = |r: u64| u64::from([2, 5, 7, 11].contains(&r));
        assert_eq!(state, load(&t, 20, updated), "{} update", t.name.o);
        assert_eq!(
            dump(&t, &state),
            expected(&t, (1..=20).map(|r| (r, updated(r))))
        );
        for r in [5u64, 6] {
            apply(&mut state, delete_kvs(&t, r, SEED, updated(r)).unwrap());
        }
        let mut want = load(&t, 20, updated);
        for r in [5u64, 6] {
            for (k, _) in row_kvs(&t, r, SEED, updated(r)).unwrap() {
                want.remove(&k);
            }
        }
        assert_eq!(state, want, "{} delete", t.name.o);
    }
}

#[test]
fn key_4_clustered_update_moves_the_unique_index_entry() {
    let t = table(ORDERS);
    let r = (1..100)
        .find(|r| {
            let a = generate_row(&t, *r, SEED, 0).unwrap().datums[2].clone();
            a != generate_row(&t, *r, SEED, 1).unwrap().datums[2]
        })
        .unwrap();
    let m = update_kvs(&t, r, SEED, 0, 1).unwrap();
    let uk = |k: &Vec<u8>| matches!(classify(k), KeyKind::Index { index_id: 2, .. });
    assert_eq!(m.deletes.iter().filter(|k| uk(k)).count(), 1);
    assert_eq!(m.puts.iter().filter(|(k, _)| uk(k)).count(), 1);
}

#[test]
fn rows_are_deterministic_per_seed() {
    for t in tables() {
        let a = row_kvs(&t, 3, SEED, 4).unwrap();
        assert_eq!(a, row_kvs(&t, 3, SEED, 4).unwrap());
        assert_ne!(a, row_kvs(&t, 3, SEED + 1, 4).unwrap(), "{}", t.name.o);
        assert_ne!(a, row_kvs(&t, 3, SEED, 5).unwrap(), "{}", t.name.o);
    }
    assert_ne!(
        row_kvs(&table("sbtest1"), 1, SEED, 0).unwrap()[0].1,
        row_kvs(&table("sbtest2"), 1, SEED, 0).unwrap()[0].1
    );
}

#[test]
fn range_4_checksum_ranges_cover_every_kv_once() {
    for t in tables() {
        let ranges = checksum_ranges(&t).unwrap();
        let per_phys = 1 + t.public_indexes().filter(|i| !i.is_global).count();
        let globals = t.public_indexes().filter(|i| i.is_global).count();
        assert_eq!(ranges.len(), t.physical_ids().len() * per_phys + globals);
        for (k, _) in load(&t, 20, |_| 0) {
            let n = ranges.iter().filter(|r| r.start <= k && k < r.end).count();
            assert_eq!(n, 1, "{}: key {} in {n} ranges", t.name.o, hex::encode(&k));
        }
    }
    let o = table(ORDERS);
    assert_eq!(
        checksum_ranges(&o).unwrap()[0],
        crate::codec::table::record_range_common(o.id)
    );
    let m = table(METRICS);
    assert_eq!(
        checksum_ranges(&m).unwrap().last().unwrap(),
        &crate::codec::table::index_range(m.id, 2)
    );
}

#[test]
fn csv_writer_quotes_only_what_needs_it() {
    let f = |s: &[u8]| {
        let mut o = Vec::new();
        write_csv_field(&mut o, s).unwrap();
        String::from_utf8(o).unwrap()
    };
    assert_eq!(f(b"plain"), "plain");
    assert_eq!(f(b""), "");
    assert_eq!(f(b"a,b"), "\"a,b\"");
    assert_eq!(f(b"say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(f(b"x\ny"), "\"x\ny\"");
    assert_eq!(f(br"\N"), r#""\N""#);
}

#[test]
fn unknown_tables_and_foreign_keys_are_errors() {
    let mut t = table("sbtest1");
    t.name = crate::codec::model::CIStr::new("other");
    assert!(matches!(
        row_kvs(&t, 1, SEED, 0),
        Err(WorkloadError::UnknownTable(_))
    ));
    let s1 = table("sbtest1");
    let foreign = row_kvs(&table("sbtest2"), 1, SEED, 0).unwrap();
    let err = dump_csv(&s1, foreign, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, WorkloadError::ForeignKey { .. }));
    // A damaged row value is an error naming the key, never a panic.
    let mut kvs = row_kvs(&s1, 1, SEED, 0).unwrap();
    kvs[0].1.truncate(5);
    let err = dump_csv(&s1, kvs.into_iter().take(1), &mut Vec::new()).unwrap_err();
    assert!(matches!(err, WorkloadError::Row { .. }));
    assert!(matches!(
        row_kvs(&s1, u64::MAX, SEED, 0),
        Err(WorkloadError::RowOutOfRange(_))
    ));
}

#[test]
fn csv_1_orders_row_text_is_tidb_text() {
    let t = table(ORDERS);
    let out = dump(&t, &load(&t, 1, |_| 0));
    assert_eq!(
        out.lines().next(),
        Some("order_no,line,customer,status,amount,created_at,note")
    );
    let f: Vec<&str> = out.lines().nth(1).unwrap().split(',').collect();
    assert_eq!((f[0], f[1]), ("ORD-00000001", "2"));
    assert!(["new", "paid", "shipped", "cancelled"].contains(&f[3]));
    assert_eq!(
        f[4].split('.').nth(1).map(str::len),
        Some(2),
        "DECIMAL(12,2)"
    );
    assert_eq!(f[5].len(), "2020-01-01 00:00:00".len());
    let g = generate_row(&t, 1, SEED, 0).unwrap();
    assert_eq!(g.datums[1], Datum::I64(2));
}
