//! TiDB datums: the typed value enum, its flag bytes, the comparable key encoding
//! (`codec.EncodeKey`, used by common handles and index keys) and the value encoding
//! (`codec.EncodeValue`, used by row format v1) (format/rows.md DATUM-1 … DATUM-6).

use super::bytes::{decode_bytes, encode_bytes_to};
use super::error::{take, CodecError, Result};
use super::mysql::{Decimal, Duration, Json, Time};
use super::number::{
    decode_f64, decode_i64, decode_u64, decode_var_i64, decode_var_u64, encode_f64, encode_i64,
    encode_u64, encode_var_i64, encode_var_u64,
};

/// Datum flag bytes (DATUM-1).
pub mod flag {
    pub const NIL: u8 = 0;
    pub const BYTES: u8 = 1;
    pub const COMPACT_BYTES: u8 = 2;
    pub const INT: u8 = 3;
    pub const UINT: u8 = 4;
    pub const FLOAT: u8 = 5;
    pub const DECIMAL: u8 = 6;
    pub const DURATION: u8 = 7;
    pub const VARINT: u8 = 8;
    pub const UVARINT: u8 = 9;
    pub const JSON: u8 = 10;
    pub const VECTOR_FLOAT32: u8 = 20;
    pub const MAX: u8 = 250;
}

/// One TiDB value. Decoding a key or v1 value yields only the "flat" kinds (Null, I64, U64,
/// F64, Bytes, Decimal, Duration, Json, Max); the typed kinds (Time, Enum, Set, Bit, F32) come
/// from a column type (see `row::RowDecoder`).
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    Null,
    I64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    Bytes(Vec<u8>),
    /// A decimal with the precision/scale it is (or will be) encoded with (DATUM-4).
    Decimal {
        value: Decimal,
        prec: u8,
        frac: u8,
    },
    Time(Time),
    Duration(Duration),
    Json(Json),
    /// ENUM: 1-based member index and its name (empty for 0).
    Enum {
        value: u64,
        name: String,
    },
    /// SET: member bitmask and the joined member names.
    Set {
        value: u64,
        name: String,
    },
    /// BIT(n): big-endian bytes, `(n + 7) / 8` of them.
    Bit(Vec<u8>),
    /// VECTOR(FLOAT32) elements (flag 20, VEC-1).
    VectorF32(Vec<f32>),
    /// The key-range sentinel above every value (flag 250).
    Max,
}

impl Datum {
    /// A decimal datum encoded with the value's own precision and scale.
    pub fn decimal(value: Decimal) -> Datum {
        let (prec, frac) = value.prec_frac();
        Datum::Decimal { value, prec, frac }
    }

    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    /// The flat unsigned value of a time/enum/set/bit, as TiDB's `flatten` makes it.
    fn flat_u64(&self) -> Result<Option<u64>> {
        Ok(match self {
            Datum::Time(t) => Some(t.to_packed()),
            Datum::Enum { value, .. } | Datum::Set { value, .. } => Some(*value),
            Datum::Bit(b) => Some(super::mysql::bit_value(b)?),
            _ => None,
        })
    }
}

/// Appends the comparable encoding of `d` (DATUM-2): `EncodeKey` of one datum.
pub fn encode_key_to(out: &mut Vec<u8>, d: &Datum) -> Result<()> {
    if let Some(u) = d.flat_u64()? {
        out.push(flag::UINT);
        out.extend_from_slice(&encode_u64(u));
        return Ok(());
    }
    match d {
        Datum::Null => out.push(flag::NIL),
        Datum::I64(i) => {
            out.push(flag::INT);
            out.extend_from_slice(&encode_i64(*i));
        }
        Datum::U64(u) => {
            out.push(flag::UINT);
            out.extend_from_slice(&encode_u64(*u));
        }
        Datum::Bytes(b) => {
            out.push(flag::BYTES);
            encode_bytes_to(out, b);
        }
        Datum::Max => out.push(flag::MAX),
        other => encode_common(out, other)?,
    }
    Ok(())
}

/// Appends the value (non-comparable) encoding of `d` (DATUM-3): `EncodeValue` of one datum.
pub fn encode_value_to(out: &mut Vec<u8>, d: &Datum) -> Result<()> {
    match d {
        Datum::Null => out.push(flag::NIL),
        Datum::I64(i) => {
            out.push(flag::VARINT);
            encode_var_i64(out, *i);
        }
        Datum::U64(u) => {
            out.push(flag::UVARINT);
            encode_var_u64(out, *u);
        }
        Datum::Bytes(b) => {
            out.push(flag::COMPACT_BYTES);
            encode_var_i64(out, b.len() as i64);
            out.extend_from_slice(b);
        }
        // TiDB writes a time as uintFlag + 8-byte packed value even in value encoding.
        Datum::Time(t) => {
            out.push(flag::UINT);
            out.extend_from_slice(&encode_u64(t.to_packed()));
        }
        Datum::Enum { value, .. } | Datum::Set { value, .. } => {
            out.push(flag::UVARINT);
            encode_var_u64(out, *value);
        }
        Datum::Bit(b) => {
            out.push(flag::UVARINT);
            encode_var_u64(out, super::mysql::bit_value(b)?);
        }
        Datum::Max => out.push(flag::MAX),
        other => encode_common(out, other)?,
    }
    Ok(())
}

/// Kinds encoded the same way in keys and values.
fn encode_common(out: &mut Vec<u8>, d: &Datum) -> Result<()> {
    match d {
        Datum::F32(f) => {
            out.push(flag::FLOAT);
            out.extend_from_slice(&encode_f64(f64::from(*f)));
        }
        Datum::F64(f) => {
            out.push(flag::FLOAT);
            out.extend_from_slice(&encode_f64(*f));
        }
        Datum::Decimal { value, prec, frac } => {
            out.push(flag::DECIMAL);
            out.push(*prec);
            out.push(*frac);
            out.extend_from_slice(&value.to_bin(*prec, *frac)?);
        }
        Datum::Duration(d) => {
            out.push(flag::DURATION);
            out.extend_from_slice(&encode_i64(d.nanos));
        }
        Datum::Json(j) => {
            out.push(flag::JSON);
            out.extend_from_slice(&j.encode_prefixed()?);
        }
        Datum::VectorF32(v) => {
            out.push(flag::VECTOR_FLOAT32);
            super::mysql::vector::encode_vector(out, v);
        }
        other => {
            return Err(CodecError::invalid(
                "datum",
                format!("{other:?} has no shared key/value encoding"),
            ))
        }
    }
    Ok(())
}

/// `codec.EncodeKey` of several datums (common handles, index values; DATUM-2).
pub fn encode_key(datums: &[Datum]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for d in datums {
        encode_key_to(&mut out, d)?;
    }
    Ok(out)
}

/// `codec.EncodeValue` of several datums (row v1; DATUM-3).
pub fn encode_value(datums: &[Datum]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for d in datums {
        encode_value_to(&mut out, d)?;
    }
    Ok(out)
}

/// Decodes one datum of either encoding from the front of `input` (DATUM-5).
pub fn decode_one(input: &mut &[u8]) -> Result<Datum> {
    let f = take(input, 1, "datum flag")?[0];
    Ok(match f {
        flag::NIL => Datum::Null,
        flag::INT => Datum::I64(decode_i64(input)?),
        flag::UINT => Datum::U64(decode_u64(input)?),
        flag::VARINT => Datum::I64(decode_var_i64(input)?),
        flag::UVARINT => Datum::U64(decode_var_u64(input)?),
        flag::FLOAT => Datum::F64(decode_f64(input)?),
        flag::BYTES => Datum::Bytes(decode_bytes(input)?),
        flag::COMPACT_BYTES => {
            let n = decode_var_i64(input)?;
            let n = usize::try_from(n).map_err(|_| {
                CodecError::invalid("compact bytes length", format!("negative length {n}"))
            })?;
            Datum::Bytes(take(input, n, "compact bytes")?.to_vec())
        }
        flag::DECIMAL => {
            let h = take(input, 2, "decimal precision/scale")?;
            let (prec, frac) = (h[0], h[1]);
            let value = Decimal::from_bin(input, prec, frac)?;
            Datum::Decimal { value, prec, frac }
        }
        flag::DURATION => Datum::Duration(Duration::from_nanos(decode_i64(input)?, 6)?),
        flag::JSON => Datum::Json(Json::decode_prefixed(input)?),
        flag::VECTOR_FLOAT32 => Datum::VectorF32(super::mysql::vector::decode_vector(input)?),
        flag::MAX => Datum::Max,
        other => {
            return Err(CodecError::Unknown {
                what: "datum flag",
                value: u64::from(other),
            })
        }
    })
}

/// Decodes every datum of a key part (common handle, index values; DATUM-5).
pub fn decode_key(mut input: &[u8]) -> Result<Vec<Datum>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        out.push(decode_one(&mut input)?);
    }
    Ok(out)
}

/// Decodes every datum of a value-encoded sequence (DATUM-5).
pub fn decode_value(input: &[u8]) -> Result<Vec<Datum>> {
    decode_key(input)
}

/// Splits an encoded key into the encoded bytes of each datum (TiDB `EncodedCol(i)`).
pub fn split_key(mut input: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let before = input;
        decode_one(&mut input)?;
        out.push(&before[..before.len() - input.len()]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::mysql::TimeType;
    use proptest::prelude::*;

    #[test]
    fn datum_2_key_known_answers() {
        // §4.1 of the facts: an int handle datum is 03 + EncodeInt.
        assert_eq!(
            encode_key(&[Datum::I64(1)]).unwrap(),
            [3, 0x80, 0, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(
            encode_key(&[Datum::Bytes(b"abc".to_vec()), Datum::Null]).unwrap(),
            [1, b'a', b'b', b'c', 0, 0, 0, 0, 0, 0xFA, 0]
        );
        let t = Time::parse("2018-01-19 03:14:07", TimeType::Datetime, 0).unwrap();
        assert_eq!(
            encode_key(&[Datum::Time(t)]).unwrap(),
            [4, 0x19, 0x9E, 0xE6, 0x33, 0x87, 0, 0, 0]
        );
        assert_eq!(
            encode_key(&[Datum::decimal(Decimal::parse("1").unwrap())]).unwrap(),
            [6, 1, 0, 0x81]
        );
    }

    #[test]
    fn datum_3_value_known_answers() {
        assert_eq!(encode_value(&[Datum::I64(-1)]).unwrap(), [8, 1]);
        assert_eq!(encode_value(&[Datum::U64(300)]).unwrap(), [9, 0xAC, 2]);
        assert_eq!(
            encode_value(&[Datum::Bytes(b"ab".to_vec())]).unwrap(),
            [2, 4, b'a', b'b']
        );
    }

    #[test]
    fn datum_5_rejects_damaged_input() {
        assert!(matches!(
            decode_key(&[0x63]),
            Err(CodecError::Unknown {
                what: "datum flag",
                value: 0x63
            })
        ));
        assert!(decode_key(&[3, 0x80, 0]).is_err());
        assert!(decode_key(&[2, 1]).is_err()); // negative compact length
        assert!(decode_key(&[2, 200, 1, b'a']).is_err()); // length beyond input
        assert!(decode_key(&[6, 0, 0]).is_err()); // DECIMAL(0,0)
        assert!(decode_key(&[1, b'a', 0, 0]).is_err());
        assert!(decode_key(&[20, 1, 0, 0, 0]).is_err());
    }

    fn arb_flat() -> impl Strategy<Value = Datum> {
        prop_oneof![
            Just(Datum::Null),
            any::<i64>().prop_map(Datum::I64),
            any::<u64>().prop_map(Datum::U64),
            any::<f64>()
                .prop_filter("no nan", |f| !f.is_nan())
                .prop_map(Datum::F64),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(Datum::Bytes),
            (any::<bool>(), "[0-9]{1,20}", "[0-9]{0,10}").prop_map(|(n, i, f)| {
                let s = format!("{}{}.{}", if n { "-" } else { "" }, i, f);
                Datum::decimal(Decimal::parse(s.trim_end_matches('.')).unwrap())
            }),
            (-3_000_000_000_000i64..3_000_000_000_000)
                .prop_map(|n| Datum::Duration(Duration::from_nanos(n, 6).unwrap())),
            Just(Datum::Json(Json::from_serde(
                &serde_json::json!({"a": [1, "x"]})
            ))),
            proptest::collection::vec(-1e6f32..1e6, 0..4).prop_map(Datum::VectorF32),
        ]
    }

    proptest! {
        #[test]
        fn datum_2_key_round_trip(ds in proptest::collection::vec(arb_flat(), 0..6)) {
            let k = encode_key(&ds).unwrap();
            prop_assert_eq!(decode_key(&k).unwrap(), ds.clone());
            prop_assert_eq!(split_key(&k).unwrap().concat(), k);
            let v = encode_value(&ds).unwrap();
            prop_assert_eq!(decode_value(&v).unwrap(), ds);
        }

        #[test]
        fn datum_2_key_order_preserved(a: i64, b: i64, x: u64, y: u64,
                                        s in proptest::collection::vec(any::<u8>(), 0..20),
                                        t in proptest::collection::vec(any::<u8>(), 0..20)) {
            let k = |d: Datum| encode_key(&[d]).unwrap();
            prop_assert_eq!(a.cmp(&b), k(Datum::I64(a)).cmp(&k(Datum::I64(b))));
            prop_assert_eq!(x.cmp(&y), k(Datum::U64(x)).cmp(&k(Datum::U64(y))));
            prop_assert_eq!(s.cmp(&t), k(Datum::Bytes(s.clone())).cmp(&k(Datum::Bytes(t.clone()))));
            prop_assert!(k(Datum::Null) < k(Datum::I64(a)));
            prop_assert!(k(Datum::Bytes(s)) < k(Datum::Max));
        }

        #[test]
        fn datum_2_float_duration_decimal_order_preserved(
            f in any::<f64>().prop_filter("no nan", |f| !f.is_nan()),
            g in any::<f64>().prop_filter("no nan", |f| !f.is_nan()),
            a in -3_000_000_000_000i64..3_000_000_000_000,
            b in -3_000_000_000_000i64..3_000_000_000_000,
            x in -1_000_000_000i64..1_000_000_000, y in -1_000_000_000i64..1_000_000_000,
        ) {
            let k = |d: Datum| encode_key(&[d]).unwrap();
            if f != g {
                prop_assert_eq!(f < g, k(Datum::F64(f)) < k(Datum::F64(g)));
            }
            let dur = |n| Datum::Duration(Duration::from_nanos(n, 6).unwrap());
            prop_assert_eq!(a.cmp(&b), k(dur(a)).cmp(&k(dur(b))));
            // Same precision and scale: binary decimals sort like the numbers (DEC-3).
            let dec = |v: i64| {
                let s = format!("{}{}.{:02}", if v < 0 { "-" } else { "" }, v.abs() / 100, v.abs() % 100);
                Datum::Decimal { value: Decimal::parse(&s).unwrap(), prec: 12, frac: 2 }
            };
            prop_assert_eq!(x.cmp(&y), k(dec(x)).cmp(&k(dec(y))));
        }

        #[test]
        fn datum_5_decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..48)) {
            let _ = decode_key(&data);
        }
    }
}
