//! Known answers, damaged-input and round-trip tests of row format v2.

use super::*;
use crate::codec::mysql::{Decimal, Duration, Json, Time, TimeType};
use proptest::prelude::*;

// tikv/tikv components/tidb_query_datatype/src/codec/row/v2/encoder_for_test.rs
// `test_encode_unsigned`.
#[test]
fn row_6_tikv_test_encode_unsigned() {
    let cols = vec![(1, Datum::U64(u64::MAX)), (2, Datum::I64(-1))];
    let exp: Vec<u8> = vec![
        128, 0, 2, 0, 0, 0, 1, 2, 8, 0, 9, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    ];
    assert_eq!(encode(&cols).unwrap(), exp);
}

// Same file, `test_encode_big`: column id 335 makes the row large (ROW-2).
#[test]
fn row_2_tikv_test_encode_big_large_flag_when_id_over_255() {
    let cols = vec![
        (1, Datum::I64(1000)),
        (12, Datum::I64(2)),
        (335, Datum::Null),
        (3, Datum::I64(3)),
        (8, Datum::I64(32767)),
    ];
    let exp: Vec<u8> = vec![
        128, 1, 4, 0, 1, 0, 1, 0, 0, 0, 3, 0, 0, 0, 8, 0, 0, 0, 12, 0, 0, 0, 79, 1, 0, 0, 2, 0, 0,
        0, 3, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 232, 3, 3, 255, 127, 2,
    ];
    let b = encode(&cols).unwrap();
    assert_eq!(b, exp);
    let row = RowV2::decode(&b).unwrap();
    assert!(row.is_large());
    assert_eq!(row.get(335), Slot::Null);
    assert_eq!(row.get(8), Slot::Value(&[255, 127]));
    assert_eq!(row.get(4), Slot::Absent);
}

/// The 109-byte vector of tikv encoder_for_test.rs `test_encode`.
pub(crate) const TIKV_TEST_ENCODE: [u8; 109] = [
    128, 0, 11, 0, 1, 0, 1, 3, 6, 7, 8, 9, 12, 13, 14, 15, 16, 33, 2, 0, 3, 0, 11, 0, 14, 0, 16, 0,
    24, 0, 25, 0, 33, 0, 36, 0, 65, 0, 69, 0, 232, 3, 3, 64, 3, 51, 51, 51, 51, 51, 50, 97, 98, 99,
    255, 127, 191, 252, 204, 204, 204, 204, 204, 205, 2, 0, 0, 0, 135, 51, 230, 158, 25, 1, 0, 129,
    1, 1, 0, 0, 0, 28, 0, 0, 0, 19, 0, 0, 0, 3, 0, 12, 22, 0, 0, 0, 107, 101, 121, 5, 118, 97, 108,
    117, 101, 0, 202, 154, 59,
];

pub(crate) fn tikv_test_encode_cols() -> Vec<(i64, Datum)> {
    vec![
        (1, Datum::I64(1000)),
        (12, Datum::I64(2)),
        (33, Datum::Null),
        (3, Datum::U64(3)),
        (8, Datum::I64(32767)),
        (7, Datum::Bytes(b"abc".to_vec())),
        (9, Datum::F64(1.8)),
        (6, Datum::F64(-1.8)),
        (
            13,
            Datum::Time(Time::parse("2018-01-19 03:14:07", TimeType::Datetime, 0).unwrap()),
        ),
        (14, Datum::decimal(Decimal::parse("1").unwrap())),
        (
            15,
            Datum::Json(Json::from_serde(&serde_json::json!({"key": "value"}))),
        ),
        (
            16,
            Datum::Duration(Duration::from_nanos(1_000_000_000, 0).unwrap()),
        ),
    ]
}

// tikv encoder_for_test.rs `test_encode`: every value kind in one small row.
#[test]
fn row_6_tikv_test_encode_full_vector() {
    let b = encode(&tikv_test_encode_cols()).unwrap();
    assert_eq!(b, TIKV_TEST_ENCODE);
    let row = RowV2::decode(&b).unwrap();
    assert!(!row.is_large());
    assert_eq!(row.null_ids(), &[33]);
    assert_eq!(
        row.get(13),
        Slot::Value(&[0, 0, 0, 0x87, 0x33, 0xE6, 0x9E, 0x19])
    );
    assert_eq!(row.get(14), Slot::Value(&[1, 0, 0x81]));
    assert_eq!(row.get(16), Slot::Value(&[0, 0xCA, 0x9A, 0x3B]));
    assert_eq!(row.values().count(), 11);
}

// br-format-facts §5.1: one column id 1 holding int 1.
#[test]
fn row_1_smallest_row() {
    let b = [0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x01];
    assert_eq!(encode(&[(1, Datum::I64(1))]).unwrap(), b);
    assert_eq!(RowV2::decode(&b).unwrap().get(1), Slot::Value(&[1]));
}

#[test]
fn row_2_large_flag_when_data_over_65535_bytes() {
    let cols = vec![(1, Datum::Bytes(vec![7; 70_000])), (2, Datum::I64(5))];
    let b = encode(&cols).unwrap();
    assert_eq!(b[1] & 1, 1);
    let row = RowV2::decode(&b).unwrap();
    assert_eq!(row.get(2), Slot::Value(&[5]));
}

#[test]
fn row_6_int_widths() {
    let mut v = Vec::new();
    for (x, n) in [(0i64, 1), (-128, 1), (128, 2), (-32769, 4), (1 << 31, 8)] {
        v.clear();
        encode_int(&mut v, x);
        assert_eq!(v.len(), n, "{x}");
        assert_eq!(decode_int(&v).unwrap(), x);
    }
    for (x, n) in [(255u64, 1), (256, 2), (65536, 4), (1 << 32, 8)] {
        v.clear();
        encode_uint(&mut v, x);
        assert_eq!(v.len(), n, "{x}");
        assert_eq!(decode_uint(&v).unwrap(), x);
    }
    assert!(decode_int(&[1, 2, 3]).is_err());
    assert!(decode_uint(&[]).is_err());
}

#[test]
fn row_5_every_truncation_is_an_error() {
    for n in 0..TIKV_TEST_ENCODE.len() {
        assert!(
            RowV2::decode(&TIKV_TEST_ENCODE[..n]).is_err(),
            "prefix of {n} bytes accepted"
        );
    }
}

#[test]
fn row_1_rejects_wrong_version_and_unknown_flags() {
    let mut b = TIKV_TEST_ENCODE;
    b[0] = 127;
    assert!(matches!(
        RowV2::decode(&b),
        Err(CodecError::Unknown {
            what: "row v2 version",
            value: 127
        })
    ));
    let mut b = TIKV_TEST_ENCODE;
    b[1] = 0x04;
    assert!(matches!(
        RowV2::decode(&b),
        Err(CodecError::Unknown {
            what: "row v2 flags",
            ..
        })
    ));
}

#[test]
fn row_3_rejects_unsorted_or_duplicate_ids() {
    let mut b = TIKV_TEST_ENCODE;
    b.swap(6, 7); // not-null ids 3, 1, ...
    assert!(matches!(
        RowV2::decode(&b),
        Err(CodecError::Invalid {
            what: "row v2 not-null column ids",
            ..
        })
    ));
    let mut b = TIKV_TEST_ENCODE;
    b[17] = 16; // null id equals the last not-null id
    assert!(matches!(
        RowV2::decode(&b),
        Err(CodecError::Invalid {
            what: "row v2 null column ids",
            ..
        })
    ));
}

#[test]
fn row_5_rejects_bad_offsets_and_trailing_bytes() {
    let mut b = TIKV_TEST_ENCODE;
    b[18] = 50; // first end offset 50 > second (3)
    assert!(matches!(
        RowV2::decode(&b),
        Err(CodecError::Invalid {
            what: "row v2 offsets",
            ..
        })
    ));
    let mut b = TIKV_TEST_ENCODE.to_vec();
    b.push(0);
    assert!(matches!(
        RowV2::decode(&b),
        Err(CodecError::Invalid {
            what: "row v2 data",
            ..
        })
    ));
    let mut b = TIKV_TEST_ENCODE;
    b[38] = 200; // last end offset beyond the data
    assert!(matches!(
        RowV2::decode(&b),
        Err(CodecError::Truncated {
            what: "row v2 data",
            ..
        })
    ));
}

#[test]
fn row_7_checksum_round_trip_and_bit_flip() {
    let handle = crate::codec::number::encode_i64(42);
    let b = encode_with_checksum(&tikv_test_encode_cols(), &handle).unwrap();
    assert_eq!(b[1] & 2, 2);
    let row = RowV2::decode(&b).unwrap();
    let cs = row.checksum().unwrap();
    assert_eq!(cs.version(), 2);
    assert_eq!(
        row.verify_checksum(None, Some(&handle)).unwrap(),
        ChecksumStatus::Verified
    );
    let other = crate::codec::number::encode_i64(43);
    assert!(row.verify_checksum(None, Some(&other)).is_err());
    assert!(row.verify_checksum(None, None).is_err());
    // Flip one data bit: the layout still parses, the checksum catches it.
    let mut bad = b.clone();
    bad[45] ^= 0x01;
    let row = RowV2::decode(&bad).unwrap();
    assert!(row.verify_checksum(None, Some(&handle)).is_err());
    // A checksum header with an unknown version is rejected.
    let mut bad = b.clone();
    let h = bad.len() - 5;
    bad[h] = 3;
    assert!(matches!(
        RowV2::decode(&bad),
        Err(CodecError::Unknown {
            what: "row v2 checksum header",
            ..
        })
    ));
    // A row without the flag reports Absent.
    let plain = RowV2::decode(&TIKV_TEST_ENCODE).unwrap();
    assert_eq!(
        plain.verify_checksum(None, None).unwrap(),
        ChecksumStatus::Absent
    );
}

// Go's hash/crc32 IEEE check value.
#[test]
fn row_7_crc32_ieee_check_value() {
    assert_eq!(crc32_update(0, b"123456789"), 0xCBF4_3926);
    assert_eq!(
        crc32_update(crc32_update(0, b"1234"), b"56789"),
        0xCBF4_3926
    );
}

fn arb_datum() -> impl Strategy<Value = Datum> {
    prop_oneof![
        Just(Datum::Null),
        any::<i64>().prop_map(Datum::I64),
        any::<u64>().prop_map(Datum::U64),
        any::<f64>()
            .prop_filter("no nan", |f| !f.is_nan())
            .prop_map(Datum::F64),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Datum::Bytes),
        "[0-9]{1,20}".prop_map(|s| Datum::decimal(Decimal::parse(&s).unwrap())),
    ]
}

proptest! {
    #[test]
    fn row_4_round_trip(cols in proptest::collection::btree_map(1i64..400, arb_datum(), 0..20)) {
        let cols: Vec<(i64, Datum)> = cols.into_iter().collect();
        let b = encode(&cols).unwrap();
        let row = RowV2::decode(&b).unwrap();
        for (id, d) in &cols {
            match row.get(*id) {
                Slot::Null => prop_assert!(d.is_null()),
                Slot::Value(v) => {
                    let mut exp = Vec::new();
                    encode_value_datum(&mut exp, d).unwrap();
                    prop_assert_eq!(v, &exp[..]);
                }
                Slot::Absent => prop_assert!(false, "column {} lost", id),
            }
        }
        prop_assert_eq!(row.is_large(), cols.iter().any(|(i, _)| *i > 255));
    }

    #[test]
    fn row_5_decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
        let mut d = data;
        if let Some(first) = d.first_mut() { *first = CODEC_VER; }
        if let Ok(row) = RowV2::decode(&d) {
            for (_, v) in row.values() { let _ = v.len(); }
            let _ = row.verify_checksum(Some(&[1]), Some(&[2]));
        }
    }

    #[test]
    fn row_5_bit_flips_never_panic(pos in 0usize..109, bit in 0u8..8) {
        let mut b = TIKV_TEST_ENCODE;
        b[pos] ^= 1 << bit;
        let _ = RowV2::decode(&b);
    }
}
