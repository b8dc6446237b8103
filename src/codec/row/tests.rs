//! RowDecoder and CSV text tests over whole tables (ROWDEC-*, CSV-1).

use super::v2::tests::{tikv_test_encode_cols, TIKV_TEST_ENCODE};
use super::*;
use crate::codec::datum::encode_key;
use crate::codec::model::{CIStr, ColumnInfo, FieldType, IndexColumn, IndexInfo, TableInfo};
use crate::codec::mysql::{flag, tp, Decimal, Json};
use proptest::prelude::*;

fn col(id: i64, name: &str, t: u8, fl: u32) -> ColumnInfo {
    let mut ft = FieldType::new(t);
    ft.flag = fl;
    ft.collate = "binary".into();
    ColumnInfo {
        id,
        name: CIStr::new(name),
        offset: id - 1,
        field_type: ft,
        state: 5,
        ..ColumnInfo::default()
    }
}

fn table(cols: Vec<ColumnInfo>) -> TableInfo {
    TableInfo {
        id: 100,
        name: CIStr::new("t"),
        cols,
        ..TableInfo::default()
    }
}

fn text(d: &[Datum], t: &RowDecoder) -> Vec<String> {
    d.iter()
        .zip(t.field_types())
        .map(|(d, ft)| {
            if d.is_null() {
                "NULL".to_string()
            } else {
                String::from_utf8_lossy(&format_csv_field(d, ft)).into_owned()
            }
        })
        .collect()
}

/// A table typed to match tikv's `test_encode` columns.
fn tikv_table() -> TableInfo {
    let mut cols = vec![
        col(1, "c1", tp::LONGLONG, 0),
        col(3, "c3", tp::LONG, flag::UNSIGNED),
        col(6, "c6", tp::DOUBLE, 0),
        col(7, "c7", tp::VARCHAR, 0),
        col(8, "c8", tp::SHORT, 0),
        col(9, "c9", tp::DOUBLE, 0),
        col(12, "c12", tp::LONG, 0),
        col(13, "c13", tp::DATETIME, 0),
        col(14, "c14", tp::NEWDECIMAL, 0),
        col(15, "c15", tp::JSON, 0),
        col(16, "c16", tp::DURATION, 0),
        col(33, "c33", tp::LONG, 0),
    ];
    cols[7].field_type.decimal = 0;
    cols[8].field_type.decimal = 0;
    cols[10].field_type.decimal = 0;
    table(cols)
}

#[test]
fn rowdec_1_decodes_tikv_vector_with_types() {
    let t = tikv_table();
    let dec = RowDecoder::new(&t).unwrap();
    let row = dec.decode(&Handle::Int(1), &TIKV_TEST_ENCODE).unwrap();
    assert_eq!(
        text(&row, &dec),
        [
            "1000",
            "3",
            "-1.8",
            "abc",
            "32767",
            "1.8",
            "2",
            "2018-01-19 03:14:07",
            "1",
            r#"{"key": "value"}"#,
            "00:00:01",
            "NULL"
        ]
    );
    // The same row in format v1 decodes to the same typed values.
    let v1 = v1::encode(&tikv_test_encode_cols()).unwrap();
    assert!(!is_new_format(&v1));
    assert_eq!(dec.decode(&Handle::Int(1), &v1).unwrap(), row);
}

#[test]
fn rowdec_3_handle_then_null_then_origin_default() {
    let t = TableInfo::from_json(crate::codec::model::tests::SAMPLE.as_bytes()).unwrap();
    let dec = RowDecoder::new(&t).unwrap();
    assert_eq!(
        dec.column_names().collect::<Vec<_>>(),
        ["id", "name", "added"]
    );
    // Written before column 3 was added: id from the handle, 3 from origin_default "7".
    let v = v2::encode(&[(2, Datum::Bytes(b"x".to_vec()))]).unwrap();
    let row = dec.decode(&Handle::Int(-5), &v).unwrap();
    assert_eq!(
        row,
        [Datum::I64(-5), Datum::Bytes(b"x".to_vec()), Datum::I64(7)]
    );
    // Explicit NULLs stay NULL even with a default.
    let v = v2::encode(&[(2, Datum::Null), (3, Datum::Null)]).unwrap();
    let row = dec.decode(&Handle::Int(1), &v).unwrap();
    assert_eq!(row, [Datum::I64(1), Datum::Null, Datum::Null]);
}

#[test]
fn rowdec_2_common_handle_columns_from_the_key() {
    let mut t = table(vec![
        col(1, "k", tp::VARCHAR, flag::PRI_KEY),
        col(2, "d", tp::DATETIME, flag::PRI_KEY),
        col(3, "v", tp::LONG, 0),
    ]);
    t.is_common_handle = true;
    t.index_info = Some(vec![IndexInfo {
        id: 1,
        idx_name: CIStr::new("primary"),
        idx_cols: vec![
            IndexColumn {
                name: CIStr::new("k"),
                offset: 0,
                length: -1,
                ..IndexColumn::default()
            },
            IndexColumn {
                name: CIStr::new("d"),
                offset: 1,
                length: -1,
                ..IndexColumn::default()
            },
        ],
        state: 5,
        is_primary: true,
        ..IndexInfo::default()
    }]);
    let when = crate::codec::mysql::Time::parse(
        "2024-02-29 12:00:00",
        crate::codec::mysql::TimeType::Datetime,
        0,
    )
    .unwrap();
    let h =
        Handle::Common(encode_key(&[Datum::Bytes(b"key".to_vec()), Datum::Time(when)]).unwrap());
    let dec = RowDecoder::new(&t).unwrap();
    let v = v2::encode(&[(3, Datum::I64(9))]).unwrap();
    let row = dec.decode(&h, &v).unwrap();
    assert_eq!(text(&row, &dec), ["key", "2024-02-29 12:00:00", "9"]);
    // A handle with the wrong number of datums is an error.
    let bad = Handle::Common(encode_key(&[Datum::Bytes(b"key".to_vec())]).unwrap());
    assert!(dec.decode(&bad, &v).is_err());
    // The stored value wins over the handle (which holds a sort key under a non-binary
    // collation).
    let stored = v2::encode(&[(1, Datum::Bytes(b"KEY".to_vec())), (3, Datum::I64(9))]).unwrap();
    assert_eq!(text(&dec.decode(&h, &stored).unwrap(), &dec)[0], "KEY");
    // A prefix primary-key column (`primary key(k(1))`) is never taken from the handle.
    t.index_info.as_mut().unwrap()[0].idx_cols[0].length = 1;
    let dec = RowDecoder::new(&t).unwrap();
    let row = dec.decode(&h, &v).unwrap();
    assert_eq!(row[0], Datum::Null);
    assert_eq!(text(&row, &dec)[1], "2024-02-29 12:00:00");
}

#[test]
fn rowdec_1_typed_enum_set_bit_year_float_decimal() {
    let mut cols = vec![
        col(1, "e", tp::ENUM, 0),
        col(2, "s", tp::SET, 0),
        col(3, "b", tp::BIT, flag::UNSIGNED),
        col(4, "y", tp::YEAR, 0),
        col(5, "f", tp::FLOAT, 0),
        col(6, "d", tp::NEWDECIMAL, 0),
        col(7, "z", tp::LONG, flag::UNSIGNED | flag::ZEROFILL),
        col(8, "g", tp::LONG, 0),
    ];
    let elems: Vec<String> = ["x", "y", "z"].iter().map(|s| s.to_string()).collect();
    cols[0].field_type.elems = Some(elems.clone());
    cols[1].field_type.elems = Some(elems);
    cols[2].field_type.flen = 12;
    cols[5].field_type.decimal = 2;
    cols[6].field_type.flen = 5;
    cols[7].generated_expr_string = "`z` + 1".into();
    let t = table(cols);
    let dec = RowDecoder::new(&t).unwrap();
    let v = v2::encode(&[
        (1, Datum::U64(2)),
        (2, Datum::U64(0b101)),
        (3, Datum::U64(0x141)),
        (4, Datum::I64(0)),
        (5, Datum::F64(f64::from(1.1f32))),
        (6, Datum::decimal(Decimal::parse("3.14159").unwrap())),
        (7, Datum::U64(42)),
        (8, Datum::I64(1)),
    ])
    .unwrap();
    let row = dec.decode(&Handle::Int(1), &v).unwrap();
    assert_eq!(row[2], Datum::Bit(vec![0x01, 0x41]));
    assert_eq!(
        row[7],
        Datum::Null,
        "virtual generated columns are not stored"
    );
    let s = text(&row, &dec);
    assert_eq!(
        &s[..7],
        ["y", "x,z", "\u{1}A", "0000", "1.1", "3.14", "00042"]
    );
}

// pingcap/tidb pkg/util/rowcodec/rowcodec_test.go `TestTypesNewRowCodec` (values and their flat
// forms) and `TestDecodeDecimalFspNotMatch` (11.9900 stored as DECIMAL(6,4), read by a scale-3
// column as 11.990).
#[test]
fn rowdec_1_tidb_rowcodec_test_values() {
    let mut cols = vec![
        col(5, "ts", tp::TIMESTAMP, 0),
        col(16, "dur", tp::DURATION, 0),
        col(8, "dec", tp::NEWDECIMAL, 0),
        col(12, "y", tp::YEAR, 0),
        col(9, "e", tp::ENUM, 0),
        col(117, "s", tp::SET, 0),
        col(118, "b", tp::BIT, flag::UNSIGNED),
        col(116, "f", tp::FLOAT, 0),
    ];
    cols[0].field_type.decimal = 6;
    cols[1].field_type.decimal = 0;
    cols[2].field_type.decimal = 3;
    cols[4].field_type.elems = Some(vec!["y".into(), "n".into()]);
    cols[5].field_type.elems = Some(vec!["n1".into(), "n2".into()]);
    cols[6].field_type.flen = 24;
    let t = table(cols);
    let dec = RowDecoder::new(&t).unwrap();
    let v = v2::encode(&[
        (5, Datum::U64(1840446893366133311)),
        (16, Datum::I64(14_400_000_000_000)),
        (
            8,
            Datum::Decimal {
                value: Decimal::parse("11.9900").unwrap(),
                prec: 6,
                frac: 4,
            },
        ),
        (12, Datum::I64(1999)),
        (9, Datum::U64(2)),
        (117, Datum::U64(1)),
        (118, Datum::U64(3223600)),
        (116, Datum::F64(6.0)),
    ])
    .unwrap();
    let row = dec.decode(&Handle::Int(-1), &v).unwrap();
    assert_eq!(
        text(&row, &dec),
        [
            "2011-11-10 11:11:11.999999",
            "04:00:00",
            "11.990",
            "1999",
            "n",
            "n1",
            "100", // 3223600 = 0x313030: the three bytes of BIT(24)
            "6"
        ]
    );
}

#[test]
fn rowdec_1_damaged_value_names_the_column() {
    let t = table(vec![col(1, "amount", tp::LONG, 0)]);
    let dec = RowDecoder::new(&t).unwrap();
    let mut v = v2::encode(&[(1, Datum::Bytes(vec![1, 2, 3]))]).unwrap();
    let err = dec.decode(&Handle::Int(1), &v).unwrap_err().to_string();
    assert!(err.contains("amount"), "{err}");
    v[0] = 0x81;
    assert!(dec.decode(&Handle::Int(1), &v).is_err());
    assert!(dec.decode(&Handle::Int(1), &[]).is_err());
}

#[test]
fn rowdec_4_checksum_verified_against_the_handle() {
    let t = tikv_table();
    let dec = RowDecoder::new(&t).unwrap();
    let h = Handle::Int(77);
    let v = v2::encode_with_checksum(&tikv_test_encode_cols(), &h.encoded()).unwrap();
    assert!(dec.decode(&h, &v).is_ok());
    assert!(dec.decode(&Handle::Int(78), &v).is_err());
}

#[test]
fn time_3_timestamps_in_utc_or_a_fixed_offset() {
    let mut c = col(1, "ts", tp::TIMESTAMP, 0);
    c.field_type.decimal = 0;
    let t = table(vec![c]);
    let utc = crate::codec::mysql::Time::parse(
        "2024-01-01 22:00:00",
        crate::codec::mysql::TimeType::Timestamp,
        0,
    )
    .unwrap();
    let v = v2::encode(&[(1, Datum::Time(utc))]).unwrap();
    let dec = RowDecoder::new(&t).unwrap();
    assert_eq!(
        text(&dec.decode(&Handle::Int(1), &v).unwrap(), &dec),
        ["2024-01-01 22:00:00"]
    );
    let dec = dec.with_time_zone_offset(8 * 3600);
    assert_eq!(
        text(&dec.decode(&Handle::Int(1), &v).unwrap(), &dec),
        ["2024-01-02 06:00:00"]
    );
}

#[test]
fn csv_1_float_and_json_text() {
    assert_eq!(format_float64(1e15), "1e15");
    assert_eq!(format_float64(123.0), "123");
    assert_eq!(format_float64(-0.5), "-0.5");
    assert_eq!(format_float64(1.5e-16), "1.5e-16");
    assert_eq!(format_float32(1.1), "1.1");
    let ft = FieldType::new(tp::JSON);
    let j = Datum::Json(Json::from_serde(&serde_json::json!([1, 2.5, "a"])));
    assert_eq!(format_csv_field(&j, &ft), br#"[1, 2.5, "a"]"#);
}

proptest! {
    #[test]
    fn rowdec_1_never_panics_on_damaged_values(pos in 0usize..109, byte: u8, cut in 0usize..110) {
        let dec = RowDecoder::new(&tikv_table()).unwrap();
        let mut v = TIKV_TEST_ENCODE.to_vec();
        v[pos] = byte;
        v.truncate(cut.max(1));
        let _ = dec.decode(&Handle::Int(1), &v);
        let _ = dec.decode(&Handle::Common(v.clone()), &v);
    }

    #[test]
    fn rowdec_1_v1_and_v2_agree(a: i64, b: u64, s in proptest::collection::vec(any::<u8>(), 0..30), null: bool) {
        let t = table(vec![
            col(1, "a", tp::LONGLONG, 0),
            col(2, "b", tp::LONGLONG, flag::UNSIGNED),
            col(3, "s", tp::BLOB, 0),
        ]);
        let dec = RowDecoder::new(&t).unwrap();
        let cols = vec![
            (1, Datum::I64(a)),
            (2, Datum::U64(b)),
            (3, if null { Datum::Null } else { Datum::Bytes(s) }),
        ];
        let r2 = dec.decode(&Handle::Int(0), &v2::encode(&cols).unwrap()).unwrap();
        let r1 = dec.decode(&Handle::Int(0), &v1::encode(&cols).unwrap()).unwrap();
        prop_assert_eq!(&r1, &r2);
        let exp: Vec<Datum> = cols.into_iter().map(|(_, d)| d).collect();
        prop_assert_eq!(r2, exp);
    }
}
