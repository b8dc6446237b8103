//! Row format v1 (`tablecodec.EncodeOldRow`): value-encoded datums alternating column id and
//! flattened value (format/rows.md ROW-V1-1 … ROW-V1-3).

use crate::codec::datum::{decode_one, encode_value_to, flag, Datum};
use crate::codec::error::{CodecError, Result};

/// Decodes a v1 row into `(column id, flat datum)` pairs in stored order (ROW-V1-1). The
/// single byte `00` is the empty row (ROW-V1-2). Ids must be integers and unique.
pub fn decode(raw: &[u8]) -> Result<Vec<(i64, Datum)>> {
    if raw == [flag::NIL] {
        return Ok(Vec::new());
    }
    if raw.is_empty() {
        return Err(CodecError::Truncated {
            what: "row v1",
            needed: 1,
            available: 0,
        });
    }
    let mut cur = raw;
    let mut out: Vec<(i64, Datum)> = Vec::new();
    while !cur.is_empty() {
        let id = match decode_one(&mut cur)? {
            Datum::I64(i) => i,
            Datum::U64(u) => i64::try_from(u)
                .map_err(|_| CodecError::invalid("row v1 column id", format!("{u} overflows")))?,
            other => {
                return Err(CodecError::invalid(
                    "row v1 column id",
                    format!("expected an integer datum, got {other:?} (ROW-V1-1)"),
                ))
            }
        };
        if cur.is_empty() {
            return Err(CodecError::Truncated {
                what: "row v1 value",
                needed: 1,
                available: 0,
            });
        }
        let v = decode_one(&mut cur)?;
        if out.iter().any(|(i, _)| *i == id) {
            return Err(CodecError::invalid(
                "row v1 column id",
                format!("column {id} appears twice (ROW-V1-1)"),
            ));
        }
        out.push((id, v));
    }
    Ok(out)
}

/// Flattens a typed datum as TiDB's `flatten` does before value encoding (ROW-V1-3).
pub fn flatten(d: &Datum) -> Result<Datum> {
    Ok(match d {
        Datum::Time(t) => Datum::U64(t.to_packed()),
        Datum::Duration(x) => Datum::I64(x.nanos),
        Datum::Enum { value, .. } | Datum::Set { value, .. } => Datum::U64(*value),
        Datum::Bit(b) => Datum::U64(crate::codec::mysql::bit_value(b)?),
        other => other.clone(),
    })
}

/// Encodes a v1 row (for tests and writers of old-format data; ROW-V1-1 … ROW-V1-3).
pub fn encode(cols: &[(i64, Datum)]) -> Result<Vec<u8>> {
    if cols.is_empty() {
        return Ok(vec![flag::NIL]);
    }
    let mut out = Vec::new();
    for (id, d) in cols {
        encode_value_to(&mut out, &Datum::I64(*id))?;
        encode_value_to(&mut out, &flatten(d)?)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::mysql::{Decimal, Duration, Time, TimeType};
    use proptest::prelude::*;

    #[test]
    fn row_v1_2_empty_row_is_nil_byte() {
        assert_eq!(encode(&[]).unwrap(), [0]);
        assert!(decode(&[0]).unwrap().is_empty());
        assert!(decode(&[]).is_err());
    }

    #[test]
    fn row_v1_1_known_layout() {
        // col 1 = int 1, col 2 = "ab": varint ids, varint/compact-bytes values.
        let b = encode(&[(1, Datum::I64(1)), (2, Datum::Bytes(b"ab".to_vec()))]).unwrap();
        assert_eq!(b, [8, 2, 8, 2, 8, 4, 2, 4, b'a', b'b']);
        assert_eq!(
            decode(&b).unwrap(),
            vec![(1, Datum::I64(1)), (2, Datum::Bytes(b"ab".to_vec()))]
        );
    }

    #[test]
    fn row_v1_3_flattens_typed_values() {
        let t = Time::parse("2011-11-10 11:11:11.999999", TimeType::Datetime, 6).unwrap();
        let d = Duration::parse("4:00:00", 0).unwrap();
        let b = encode(&[(1, Datum::Time(t)), (2, Datum::Duration(d))]).unwrap();
        assert_eq!(
            decode(&b).unwrap(),
            vec![
                (1, Datum::U64(1840446893366133311)),
                (2, Datum::I64(14_400_000_000_000))
            ]
        );
    }

    #[test]
    fn row_v1_1_rejects_damaged_rows() {
        let b = encode(&[(1, Datum::I64(1)), (2, Datum::I64(2))]).unwrap();
        // v1 has no length field: a cut exactly between two pairs is a shorter valid row, so
        // only cuts inside a pair are detectable.
        for n in (1..b.len()).filter(|n| *n != 4) {
            assert!(decode(&b[..n]).is_err(), "prefix {n} accepted");
        }
        assert_eq!(decode(&b[..4]).unwrap(), vec![(1, Datum::I64(1))]);
        let dup = encode(&[(1, Datum::I64(1)), (1, Datum::I64(2))]).unwrap();
        assert!(decode(&dup).is_err());
        assert!(decode(&[2, 0, 8, 2]).is_err(), "bytes as a column id");
    }

    proptest! {
        #[test]
        fn row_v1_round_trip(vals in proptest::collection::vec((any::<i64>(), any::<u64>(), proptest::collection::vec(any::<u8>(), 0..10), "[0-9]{1,10}"), 0..5)) {
            let mut cols = Vec::new();
            for (i, (a, b, c, d)) in vals.into_iter().enumerate() {
                let base = (i as i64) * 4 + 1;
                cols.push((base, Datum::I64(a)));
                cols.push((base + 1, Datum::U64(b)));
                cols.push((base + 2, Datum::Bytes(c)));
                cols.push((base + 3, Datum::decimal(Decimal::parse(&d).unwrap())));
            }
            let b = encode(&cols).unwrap();
            prop_assert_eq!(decode(&b).unwrap(), cols);
        }

        #[test]
        fn row_v1_decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..48)) {
            let _ = decode(&data);
        }
    }
}
