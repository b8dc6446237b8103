//! Known answers, damaged documents and round trips of binary JSON (JSON-2 … JSON-6).

use super::*;
use proptest::prelude::*;

// tikv encoder_for_test.rs `test_encode`: {"key":"value"} is stored as type 01 and this body.
const KEY_VALUE: [u8; 28] = [
    1, 0, 0, 0, 28, 0, 0, 0, 19, 0, 0, 0, 3, 0, 12, 22, 0, 0, 0, b'k', b'e', b'y', 5, b'v', b'a',
    b'l', b'u', b'e',
];

#[test]
fn json_3_key_value_known_answer() {
    let v = Json::from_serde(&serde_json::json!({"key": "value"}));
    assert_eq!(v.type_code(), tc::OBJECT);
    assert_eq!(v.encode_body().unwrap(), KEY_VALUE);
    let back = Json::decode(tc::OBJECT, &KEY_VALUE).unwrap();
    assert_eq!(back, v);
    assert_eq!(back.to_string(), r#"{"key": "value"}"#);
}

#[test]
fn json_6_prints_like_tidb() {
    let v = Json::from_serde(&serde_json::json!(
        {"b": [1, -2, 18446744073709551615u64, 1.5, 2.0, null, true, false], "a": "x\"\n\u{1}<"}
    ));
    assert_eq!(
        v.to_string(),
        r#"{"a": "x\"\n\u0001<", "b": [1, -2, 18446744073709551615, 1.5, 2.0, null, true, false]}"#
    );
    assert_eq!(format_json_double(1e15), "1e15");
    assert_eq!(format_json_double(1.5e-20), "1.5e-20");
    assert_eq!(format_json_double(0.000001), "0.000001");
    assert_eq!(format_json_double(-0.0), "-0.0");
    assert_eq!(format_json_double(123456789012345.0), "123456789012345.0");
    let o = Json::Opaque {
        field_type: 15,
        data: b"ab".to_vec(),
    };
    assert_eq!(o.to_string(), "\"base64:type15:YWI=\"");
    let t = Json::Time(Time::parse("2020-01-02 03:04:05", TimeType::Datetime, 0).unwrap());
    assert_eq!(t.to_string(), "\"2020-01-02 03:04:05.000000\"");
}

#[test]
fn json_4_rejects_damaged_documents() {
    let mut bad = KEY_VALUE;
    bad[4] = 200; // size beyond input
    assert!(Json::decode(tc::OBJECT, &bad).is_err());
    let mut bad = KEY_VALUE;
    bad[15] = 27; // value offset pointing at the last byte: string runs past the end
    assert!(Json::decode(tc::OBJECT, &bad).is_err());
    let mut bad = KEY_VALUE;
    bad[0] = 0xFF; // element count far beyond the size
    assert!(Json::decode(tc::OBJECT, &bad).is_err());
    let mut bad = KEY_VALUE;
    bad[14] = 0x05; // inline int16 is not a TiDB type code
    assert!(matches!(
        Json::decode(tc::OBJECT, &bad),
        Err(CodecError::Unknown {
            what: "json type code",
            value: 5
        })
    ));
    assert!(Json::decode(tc::OBJECT, &KEY_VALUE[..20]).is_err());
    assert!(Json::decode(tc::LITERAL, &[7]).is_err());
    assert!(Json::decode(0x02, &[]).is_err());
}

#[test]
fn json_5_rejects_excessive_depth() {
    let mut v = Json::Null;
    for _ in 0..150 {
        v = Json::Array(vec![v]);
    }
    let b = v.encode_body().unwrap();
    assert!(Json::decode(tc::ARRAY, &b).is_err());
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|i| serde_json::json!(i)),
        any::<u64>().prop_map(|i| serde_json::json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        ".{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(".{0,6}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn json_2_round_trip(v in arb_json()) {
        let j = Json::from_serde(&v);
        let b = j.encode_prefixed().unwrap();
        let mut cur = &b[..];
        let back = Json::decode_prefixed(&mut cur).unwrap();
        prop_assert!(cur.is_empty());
        prop_assert_eq!(&back, &j);
        prop_assert_eq!(back.encode_prefixed().unwrap(), b);
        // TiDB's text is valid JSON.
        let text = j.to_string();
        prop_assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "{}", text);
    }

    #[test]
    fn json_4_decode_never_panics(t in 0u8..20, data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = Json::decode(t, &data);
    }
}
