//! Checks every `example` block of format/rows.md against the codecs (row-v2, datum-key,
//! decimal-bin, packed-time, duration, json-binary).

use crate::codec::datum::{encode_key, Datum};
use crate::codec::mysql::{Decimal, Duration, Json, Time, TimeType};
use serde_json::Value;

const SPEC: &str = include_str!("../../../format/rows.md");

/// `(kind, left, right)` of every example line.
fn examples() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut kind: Option<String> = None;
    for line in SPEC.lines() {
        if let Some(rest) = line.strip_prefix("```example kind=") {
            kind = Some(rest.trim().to_string());
        } else if line.starts_with("```") {
            kind = None;
        } else if let Some(k) = &kind {
            let (l, r) = line.split_once(" => ").expect("example line has ' => '");
            out.push((k.clone(), l.trim().to_string(), r.trim().to_string()));
        }
    }
    out
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("hex")
}

fn datum(v: &Value) -> Datum {
    let Some(obj) = v.as_object() else {
        assert!(v.is_null(), "{v}");
        return Datum::Null;
    };
    let (k, x) = obj.iter().next().expect("one key");
    match k.as_str() {
        "i64" => Datum::I64(x.as_i64().unwrap()),
        "u64" => Datum::U64(x.as_u64().unwrap()),
        "f64" => Datum::F64(x.as_f64().unwrap()),
        "bytes" => Datum::Bytes(x.as_str().unwrap().as_bytes().to_vec()),
        "decimal" => Datum::decimal(Decimal::parse(x.as_str().unwrap()).unwrap()),
        "datetime" => Datum::Time(Time::parse(x.as_str().unwrap(), TimeType::Datetime, 0).unwrap()),
        "duration" => Datum::Duration(Duration::parse(x.as_str().unwrap(), 0).unwrap()),
        "json" => Datum::Json(Json::from_serde(x)),
        other => panic!("unknown example value kind {other}"),
    }
}

#[test]
fn every_rows_md_example_matches_the_code() {
    let all = examples();
    assert!(all.len() >= 15, "examples not found");
    for (kind, l, r) in all {
        match kind.as_str() {
            "row-v2" => {
                let cols: Vec<(i64, Datum)> = serde_json::from_str::<Vec<(i64, Value)>>(&l)
                    .unwrap()
                    .iter()
                    .map(|(id, v)| (*id, datum(v)))
                    .collect();
                assert_eq!(
                    hex::encode(super::v2::encode(&cols).unwrap()),
                    hex::encode(unhex(&r)),
                    "{l}"
                );
                super::v2::RowV2::decode(&unhex(&r)).unwrap();
            }
            "datum-key" => {
                let ds: Vec<Datum> = serde_json::from_str::<Vec<Value>>(&l)
                    .unwrap()
                    .iter()
                    .map(datum)
                    .collect();
                assert_eq!(
                    hex::encode(encode_key(&ds).unwrap()),
                    hex::encode(unhex(&r)),
                    "{l}"
                );
            }
            "decimal-bin" => {
                let (v, pf) = l.split_once(' ').unwrap();
                let (p, f) = pf.split_once(',').unwrap();
                let (p, f): (u8, u8) = (p.parse().unwrap(), f.parse().unwrap());
                let b = Decimal::parse(v).unwrap().to_bin(p, f).unwrap();
                assert_eq!(hex::encode(&b), r, "{l}");
                assert_eq!(Decimal::from_bin(&mut &b[..], p, f).unwrap().to_string(), v);
            }
            "packed-time" => {
                let fsp = if l.contains('.') { 6 } else { 0 };
                let t = Time::parse(&l, TimeType::Datetime, fsp).unwrap();
                assert_eq!(t.to_packed().to_string(), r, "{l}");
            }
            "duration" => {
                assert_eq!(Duration::parse(&l, 0).unwrap().nanos.to_string(), r, "{l}");
            }
            "json-binary" => {
                let v: Value = serde_json::from_str(&l).unwrap();
                let b = Json::from_serde(&v).encode_prefixed().unwrap();
                assert_eq!(hex::encode(&b), hex::encode(unhex(&r)), "{l}");
            }
            other => panic!("unknown example kind {other}"),
        }
    }
}
