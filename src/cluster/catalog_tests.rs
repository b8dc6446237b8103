//! Tests of the schema catalog over the in-memory MVCC `MetaKv`: TiDB's meta keys (KEY-5),
//! id allocation like `GenGlobalIDs`, name checks, reads at an older ts, damaged values.

use serde_json::json;

use super::*;
use crate::codec::table::{decode_meta_key, MetaField};

fn db_json(name: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"id": 0, "db_name": {"O": name, "L": ""}, "charset": "utf8mb4",
        "collate": "utf8mb4_bin", "policy_ref_info": null}),
    )
    .unwrap()
}

fn table_json(name: &str, partitions: &[&str]) -> Vec<u8> {
    let mut t = json!({"id": 0, "name": {"O": name, "L": name.to_lowercase()},
        "charset": "utf8mb4", "cols": [], "index_info": null, "pk_is_handle": false,
        "max_col_id": 3, "future_field": {"kept": [1, 2]}});
    if !partitions.is_empty() {
        let defs: Vec<_> = partitions
            .iter()
            .map(|p| json!({"id": 0, "name": {"O": p, "L": p}, "less_than": ["10"]}))
            .collect();
        t["partition"] = json!({"type": 1, "expr": "`id`", "definitions": defs, "enable": true});
    }
    serde_json::to_vec(&t).unwrap()
}

fn val(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

fn counter(kv: &MemMetaKv, key: &[u8]) -> i64 {
    read_counter(kv, key, kv.current_ts().unwrap()).unwrap()
}

#[test]
fn key_5_create_database_writes_tidb_meta_keys() {
    let kv = MemMetaKv::default();
    let stored = create_database(&kv, &db_json("Shop"), false).unwrap();
    let db = DBInfo::from_json(&stored).unwrap();
    assert_eq!(
        (db.id, db.db_name.o.as_str(), db.db_name.l.as_str()),
        (1, "Shop", "shop")
    );
    assert_eq!(val(&stored)["state"], json!(5));
    assert_eq!(
        val(&stored)["policy_ref_info"],
        json!(null),
        "unknown fields kept"
    );
    let all = kv.scan(b"", b"", kv.current_ts().unwrap()).unwrap();
    assert_eq!(
        all.len(),
        3,
        "DB:1, NextGlobalID, SchemaVersionKey: {all:?}"
    );
    let (k, v) = all.iter().find(|(k, _)| *k == db_info_key(1)).unwrap();
    assert_eq!(v, &stored);
    let mk = decode_meta_key(k).unwrap();
    assert_eq!(
        (mk.key.as_slice(), mk.parsed_field()),
        (DBS_KEY, MetaField::Db(1))
    );
    assert_eq!(counter(&kv, NEXT_GLOBAL_ID_KEY), 1);
    assert_eq!(counter(&kv, SCHEMA_VERSION_KEY), 1);
    // The counters are TiDB string keys with decimal ASCII values.
    assert_eq!(
        get(&kv, &meta_string_key(b"NextGlobalID"), 9).unwrap(),
        Some(b"1".to_vec())
    );
}

#[test]
fn create_database_duplicate_name_is_an_error_unless_if_not_exists() {
    let kv = MemMetaKv::default();
    let first = create_database(&kv, &db_json("shop"), false).unwrap();
    let e = create_database(&kv, &db_json("SHOP"), false).unwrap_err();
    assert!(
        matches!(&e, CatalogError::DatabaseExists { name, id: 1 } if name == "shop"),
        "{e}"
    );
    assert_eq!(create_database(&kv, &db_json("Shop"), true).unwrap(), first);
    assert_eq!(counter(&kv, SCHEMA_VERSION_KEY), 1, "no DDL happened");
    assert!(matches!(
        create_database(&kv, &db_json(""), false),
        Err(CatalogError::Invalid(_))
    ));
    assert!(matches!(
        create_database(&kv, b"{not json", false),
        Err(CatalogError::Json { .. })
    ));
}

#[test]
fn key_5_create_table_allocates_table_then_partition_ids() {
    let kv = MemMetaKv::default();
    let db = DBInfo::from_json(&create_database(&kv, &db_json("shop"), false).unwrap()).unwrap();
    let plain =
        TableInfo::from_json(&create_table(&kv, db.id, &table_json("Orders", &[])).unwrap())
            .unwrap();
    let stored = create_table(&kv, db.id, &table_json("events", &["p0", "p1", "p2"])).unwrap();
    let part = TableInfo::from_json(&stored).unwrap();
    assert_eq!(plain.id, 2);
    assert_eq!(part.id, 3);
    assert_eq!(part.physical_ids(), [4, 5, 6]);
    assert_eq!(counter(&kv, NEXT_GLOBAL_ID_KEY), 6);
    assert_eq!(counter(&kv, SCHEMA_VERSION_KEY), 3);
    let v = val(&stored);
    assert_eq!(
        v["future_field"],
        json!({"kept": [1, 2]}),
        "MODEL-1: unknown fields kept"
    );
    assert_eq!(v["partition"]["definitions"][1]["less_than"], json!(["10"]));
    assert_eq!(v["state"], json!(5));
    let k = table_info_key(db.id, part.id);
    let mk = decode_meta_key(&k).unwrap();
    assert_eq!(
        (mk.parsed_field(), mk.key),
        (MetaField::Table(3), b"DB:1".to_vec())
    );
    assert_eq!(
        get(&kv, &k, kv.current_ts().unwrap()).unwrap(),
        Some(stored)
    );

    let e = create_table(&kv, db.id, &table_json("ORDERS", &[])).unwrap_err();
    assert!(
        matches!(&e, CatalogError::TableExists { db, table } if db == "shop" && table == "ORDERS"),
        "{e}"
    );
    assert!(e.to_string().contains("ORDERS"));
    assert!(matches!(
        create_table(&kv, 99, &table_json("x", &[])),
        Err(CatalogError::UnknownDatabase(99))
    ));
}

#[test]
fn explicit_ids_must_be_unused_and_rebase_the_allocator() {
    let kv = MemMetaKv::default();
    create_database(&kv, &db_json("a"), false).unwrap();
    let mut t = val(&table_json("t", &["p0"]));
    t["id"] = json!(100);
    t["partition"]["definitions"][0]["id"] = json!(1);
    let e = create_table(&kv, 1, &serde_json::to_vec(&t).unwrap()).unwrap_err();
    assert!(
        matches!(&e, CatalogError::DuplicateId { id: 1, used_by, .. } if used_by.contains("database")),
        "{e}"
    );
    t["partition"]["definitions"][0]["id"] = json!(0);
    let stored =
        TableInfo::from_json(&create_table(&kv, 1, &serde_json::to_vec(&t).unwrap()).unwrap())
            .unwrap();
    assert_eq!((stored.id, stored.physical_ids()), (100, vec![101]));
    let next = TableInfo::from_json(&create_table(&kv, 1, &table_json("u", &[])).unwrap()).unwrap();
    assert_eq!(next.id, 102, "allocation continues above explicit ids");
    let mut d = val(&db_json("b"));
    d["id"] = json!(101);
    assert!(matches!(
        create_database(&kv, &serde_json::to_vec(&d).unwrap(), false),
        Err(CatalogError::DuplicateId { id: 101, .. })
    ));
}

#[test]
fn list_and_find_at_an_older_ts_do_not_see_later_ddl() {
    let kv = MemMetaKv::default();
    create_database(&kv, &db_json("shop"), false).unwrap();
    create_database(&kv, &db_json("Other"), false).unwrap();
    create_table(&kv, 1, &table_json("a", &[])).unwrap();
    let before = kv.current_ts().unwrap();
    create_table(&kv, 1, &table_json("b", &[])).unwrap();
    let after = kv.current_ts().unwrap();

    let names = |ts| -> Vec<(String, Vec<String>)> {
        list_schemas(&kv, ts)
            .unwrap()
            .into_iter()
            .map(|(d, ts)| {
                let d = DBInfo::from_json(&d).unwrap().db_name.o;
                let ts = ts
                    .iter()
                    .map(|t| TableInfo::from_json(t).unwrap().name.o)
                    .collect();
                (d, ts)
            })
            .collect()
    };
    let old = names(before);
    assert_eq!(
        old,
        [("shop".into(), vec!["a".into()]), ("Other".into(), vec![])]
    );
    assert_eq!(names(after)[0].1, ["a", "b"]);
    assert!(find_table(&kv, before, "SHOP", "B").unwrap().is_none());
    let (db, t) = find_table(&kv, after, "SHOP", "B").unwrap().unwrap();
    assert_eq!((db.id, t.name.o.as_str()), (1, "b"));
    assert!(find_table(&kv, after, "nope", "b").unwrap().is_none());
    assert_eq!(find_database(&kv, after, "other").unwrap().unwrap().id, 2);
    assert!(list_schemas(&kv, 0).unwrap().is_empty());

    drop_table(&kv, 1, t.id).unwrap();
    let now = kv.current_ts().unwrap();
    assert!(find_table(&kv, now, "shop", "b").unwrap().is_none());
    assert!(
        find_table(&kv, after, "shop", "b").unwrap().is_some(),
        "old snapshot keeps it"
    );
    assert_eq!(
        schema_version(&kv, now).unwrap(),
        5,
        "2 databases, 2 tables, 1 drop"
    );
    assert!(matches!(
        drop_table(&kv, 1, t.id),
        Err(CatalogError::UnknownTable { db_id: 1, table_id }) if table_id == t.id
    ));
    // A dropped name can be created again, with a fresh id.
    let again =
        TableInfo::from_json(&create_table(&kv, 1, &table_json("b", &[])).unwrap()).unwrap();
    assert!(again.id > t.id);
}

#[test]
fn other_hash_fields_are_ignored_and_damaged_values_are_errors() {
    let kv = MemMetaKv::default();
    create_database(&kv, &db_json("shop"), false).unwrap();
    let t = TableInfo::from_json(&create_table(&kv, 1, &table_json("a", &[])).unwrap()).unwrap();
    // TiDB's auto-id field under the same hash is not a table.
    kv.commit(vec![(
        meta_hash_key(b"DB:1", b"TID:2"),
        Some(b"5000".to_vec()),
    )])
    .unwrap();
    let ts = kv.current_ts().unwrap();
    assert_eq!(list_schemas(&kv, ts).unwrap()[0].1.len(), 1);

    kv.commit(vec![(
        table_info_key(1, t.id),
        Some(b"{\"id\": \"x\"".to_vec()),
    )])
    .unwrap();
    let e = list_schemas(&kv, kv.current_ts().unwrap()).unwrap_err();
    assert!(
        matches!(&e, CatalogError::Json { what, .. } if what.contains("table id 2")),
        "{e}"
    );

    kv.commit(vec![(
        meta_string_key(NEXT_GLOBAL_ID_KEY),
        Some(b"12a".to_vec()),
    )])
    .unwrap();
    let e = create_database(&kv, &db_json("other"), false).unwrap_err();
    assert!(
        matches!(&e, CatalogError::BadCounter { key, .. } if key == "NextGlobalID"),
        "{e}"
    );
}

#[test]
fn mem_meta_kv_reads_snapshots_and_deletes() {
    let kv = MemMetaKv::default();
    let t1 = kv
        .commit(vec![(b"a".to_vec(), Some(b"1".to_vec()))])
        .unwrap();
    let t2 = kv
        .commit(vec![
            (b"a".to_vec(), None),
            (b"b".to_vec(), Some(b"2".to_vec())),
        ])
        .unwrap();
    assert_eq!(
        kv.scan(b"", b"", t1).unwrap(),
        [(b"a".to_vec(), b"1".to_vec())]
    );
    assert_eq!(
        kv.scan(b"", b"", t2).unwrap(),
        [(b"b".to_vec(), b"2".to_vec())]
    );
    assert!(kv.scan(b"a", b"b", t2).unwrap().is_empty());
    assert_eq!(kv.current_ts().unwrap(), t2);
}
