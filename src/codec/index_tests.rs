//! Index entry layouts (KEY-4; TiDB tablecodec `GenIndexKey` / `GenIndexValuePortal`, facts
//! §4.1). Expected bytes are assembled by hand from the layout comment on
//! `GenIndexValuePortal` in pingcap/tidb pkg/tablecodec/tablecodec.go.

use super::*;
use crate::codec::datum::encode_key;
use crate::codec::model::{CIStr, IndexColumn};
use proptest::prelude::*;

fn ft(t: u8, flag: u32, collate: &str) -> FieldType {
    FieldType {
        tp: t,
        flag,
        collate: collate.into(),
        charset: if collate == "binary" {
            "binary"
        } else {
            "utf8mb4"
        }
        .into(),
        ..FieldType::new(t)
    }
}

fn col(id: i64, name: &str, offset: i64, ft: FieldType) -> ColumnInfo {
    ColumnInfo {
        id,
        name: CIStr::new(name),
        offset,
        field_type: ft,
        state: 5,
        ..Default::default()
    }
}

fn idx(id: i64, offsets: &[usize], unique: bool, primary: bool, global: bool) -> IndexInfo {
    IndexInfo {
        id,
        idx_cols: offsets
            .iter()
            .map(|o| IndexColumn {
                offset: *o,
                length: -1,
                ..Default::default()
            })
            .collect(),
        state: 5,
        is_unique: unique,
        is_primary: primary,
        is_global: global,
        ..Default::default()
    }
}

/// (a INT, b VARCHAR(10) utf8mb4_bin, c CHAR(4) utf8mb4_bin), table id 100.
fn int_table(indexes: Vec<IndexInfo>) -> TableInfo {
    TableInfo {
        id: 100,
        cols: vec![
            col(1, "a", 0, ft(tp::LONG, 0, "binary")),
            col(2, "b", 1, ft(tp::VARCHAR, 0, "utf8mb4_bin")),
            col(3, "c", 2, ft(tp::STRING, 0, "utf8mb4_bin")),
        ],
        index_info: Some(indexes),
        ..Default::default()
    }
}

fn row() -> Vec<Datum> {
    vec![
        Datum::I64(7),
        Datum::Bytes(b"ab ".to_vec()),
        Datum::Bytes(b"xy".to_vec()),
    ]
}

#[test]
fn key_4_old_encoding_unique_int_handle_in_value_non_unique_in_key() {
    let t = int_table(vec![
        idx(1, &[0], true, false, false),
        idx(2, &[0], false, false, false),
    ]);
    let (k, v) = index_entry(&t, &t.indexes()[0], 100, &row(), &Handle::Int(5)).unwrap();
    assert_eq!(k, index_key(100, 1, &encode_key(&[Datum::I64(7)]).unwrap()));
    assert_eq!(v, [0, 0, 0, 0, 0, 0, 0, 5]);
    assert_eq!(split_index_value(&v).unwrap().int_handle, Some(5));
    let (k, v) = index_entry(&t, &t.indexes()[1], 100, &row(), &Handle::Int(5)).unwrap();
    let suffix = encode_key(&[Datum::I64(7), Datum::I64(5)]).unwrap();
    assert_eq!(k, index_key(100, 2, &suffix));
    assert_eq!(v, b"0");
    assert_eq!(split_index_value(&v).unwrap(), IndexValue::default());
}

#[test]
fn key_4_unique_index_with_null_is_not_distinct() {
    let t = int_table(vec![idx(1, &[0], true, false, false)]);
    let mut r = row();
    r[0] = Datum::Null;
    let (k, v) = index_entry(&t, &t.indexes()[0], 100, &r, &Handle::Int(9)).unwrap();
    assert_eq!(
        k,
        index_key(100, 1, &encode_key(&[Datum::Null, Datum::I64(9)]).unwrap())
    );
    assert_eq!(v, b"0");
}

#[test]
fn key_4_varchar_bin_uses_sort_key_and_version0_restored_data() {
    // VARCHAR under utf8mb4_bin needs restored data; CHAR under a _bin collation does not.
    assert!(need_restored_data(&ft(tp::VARCHAR, 0, "utf8mb4_bin")));
    assert!(!need_restored_data(&ft(tp::STRING, 0, "utf8mb4_bin")));
    assert!(!need_restored_data(&ft(tp::VARCHAR, 0, "binary")));
    assert!(!need_restored_data(&ft(tp::VARCHAR, 0, "utf8mb4_0900_bin")));
    assert!(need_restored_data(&ft(tp::STRING, 0, "utf8mb4_general_ci")));
    assert!(!need_restored_data(&ft(tp::LONG, 0, "binary")));

    let t = int_table(vec![idx(1, &[1], true, false, false)]);
    let (k, v) = index_entry(&t, &t.indexes()[0], 100, &row(), &Handle::Int(5)).unwrap();
    // The key holds the PAD SPACE sort key "ab", not "ab ".
    assert_eq!(
        k,
        index_key(
            100,
            1,
            &encode_key(&[Datum::Bytes(b"ab".to_vec())]).unwrap()
        )
    );
    let restored = v2::encode(&[(2, Datum::Bytes(b"ab ".to_vec()))]).unwrap();
    let mut want = vec![8];
    want.extend_from_slice(&restored);
    want.extend_from_slice(&5u64.to_be_bytes());
    assert_eq!(v, want);
    let s = split_index_value(&v).unwrap();
    assert_eq!((s.int_handle, s.restored), (Some(5), Some(restored)));
}

#[test]
fn key_4_global_index_keyed_by_logical_table_with_partition_id() {
    let t = int_table(vec![
        idx(1, &[0], true, false, true),
        idx(2, &[0], false, false, true),
    ]);
    let (k, v) = index_entry(&t, &t.indexes()[0], 103, &row(), &Handle::Int(5)).unwrap();
    assert_eq!(k, index_key(100, 1, &encode_key(&[Datum::I64(7)]).unwrap()));
    let mut want = vec![8, PARTITION_ID_FLAG];
    want.extend_from_slice(&encode_i64(103));
    want.extend_from_slice(&5u64.to_be_bytes());
    assert_eq!(v, want);
    let s = split_index_value(&v).unwrap();
    assert_eq!((s.partition_id, s.int_handle), (Some(103), Some(5)));
    // Non-unique: 1 + 9 bytes already reach the 10-byte minimum, so no padding.
    let (_, v) = index_entry(&t, &t.indexes()[1], 103, &row(), &Handle::Int(5)).unwrap();
    let mut want = vec![0, PARTITION_ID_FLAG];
    want.extend_from_slice(&encode_i64(103));
    assert_eq!(v, want);
}

#[test]
fn key_4_clustered_v1_values_carry_handle_and_tail_space_counts() {
    // PRIMARY KEY (b, a) CLUSTERED; UNIQUE (c, b); INDEX (a).
    let mut t = int_table(vec![
        idx(1, &[1, 0], true, true, false),
        idx(2, &[2, 1], true, false, false),
        idx(3, &[0], false, false, false),
    ]);
    t.is_common_handle = true;
    t.extra.insert("common_handle_version".into(), 1.into());
    t.cols[0].field_type.flag |= flag::PRI_KEY;
    t.cols[1].field_type.flag |= flag::PRI_KEY;
    assert!(!is_stored_index(&t, &t.indexes()[0]));
    let h = encode_key(&[Datum::Bytes(b"ab".to_vec()), Datum::I64(7)]).unwrap();
    let handle = Handle::Common(h.clone());
    let (k, v) = index_entry(&t, &t.indexes()[1], 100, &row(), &handle).unwrap();
    let vals = encode_key(&[Datum::Bytes(b"xy".to_vec()), Datum::Bytes(b"ab".to_vec())]).unwrap();
    assert_eq!(k, index_key(100, 2, &vals));
    // c is CHAR _bin (no restored data); b is a PK column: its tail count comes with the handle.
    let restored = v2::encode(&[(2, Datum::U64(1))]).unwrap();
    let mut want = vec![
        0,
        INDEX_VERSION_FLAG,
        1,
        COMMON_HANDLE_FLAG,
        0,
        h.len() as u8,
    ];
    want.extend_from_slice(&h);
    want.extend_from_slice(&restored);
    assert_eq!(v, want);
    let s = split_index_value(&v).unwrap();
    assert_eq!(
        (s.version, s.common_handle, s.restored),
        (1, Some(h.clone()), Some(restored.clone()))
    );
    let (k, v) = index_entry(&t, &t.indexes()[2], 100, &row(), &handle).unwrap();
    let mut suffix = encode_key(&[Datum::I64(7)]).unwrap();
    suffix.extend_from_slice(&h);
    assert_eq!(k, index_key(100, 3, &suffix));
    let mut want = vec![0, INDEX_VERSION_FLAG, 1];
    want.extend_from_slice(&restored);
    assert_eq!(v, want);
}

#[test]
fn key_4_unknown_collation_is_an_error_not_a_guess() {
    assert!(collation_key("utf8mb4_general_ci", b"a").is_err());
    assert_eq!(collation_key("binary", b"a  ").unwrap(), b"a  ");
    assert_eq!(collation_key("utf8mb4_bin", b"a  ").unwrap(), b"a");
    assert_eq!(tail_space_count(b"a  "), 2);
}

#[test]
fn key_4_split_rejects_damaged_values() {
    assert!(split_index_value(&[]).is_err());
    // Tail length beyond the value.
    assert!(split_index_value(&[200, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    // Version flag with an unknown version.
    assert!(matches!(
        split_index_value(&[0, INDEX_VERSION_FLAG, 9, 0, 0, 0, 0, 0, 0, 0]),
        Err(CodecError::Unknown { .. })
    ));
    // Common handle segment longer than the value.
    assert!(split_index_value(&[0, COMMON_HANDLE_FLAG, 0, 50, 1, 2, 3, 4, 5, 6]).is_err());
    // Garbage that is neither a segment nor restored data.
    assert!(split_index_value(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).is_err());
}

proptest! {
    #[test]
    fn key_4_split_never_panics(v in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = split_index_value(&v);
    }

    #[test]
    fn key_4_int_handle_round_trips_through_values(h: i64, pid: i64, global: bool) {
        let t = int_table(vec![idx(1, &[1], true, false, global)]);
        let (_, v) = index_entry(&t, &t.indexes()[0], pid, &row(), &Handle::Int(h)).unwrap();
        let s = split_index_value(&v).unwrap();
        prop_assert_eq!(s.int_handle, Some(h));
        prop_assert_eq!(s.partition_id, global.then_some(pid));
    }
}
