//! Column-type-driven conversions: v2 value bytes → typed datum (ROW-6), flat datums from v1
//! rows and handles → typed datum (ROW-V1-3), and `origin_default` JSON → typed datum
//! (MODEL-3).

use serde_json::Value;

use crate::codec::datum::Datum;
use crate::codec::error::{CodecError, Result};
use crate::codec::model::{ColumnInfo, FieldType};
use crate::codec::mysql::{
    bit_bytes, bit_value, enum_name, is_integer_type, is_string_type, set_name, set_value, tp,
    vector::decode_vector, Decimal, Duration, Json, Time, TimeType,
};
use crate::codec::number::decode_f64;

use super::v2::{decode_int, decode_uint};

fn time_type(t: u8) -> Option<TimeType> {
    match t {
        tp::DATE | tp::NEWDATE => Some(TimeType::Date),
        tp::DATETIME => Some(TimeType::Datetime),
        tp::TIMESTAMP => Some(TimeType::Timestamp),
        _ => None,
    }
}

fn float8(b: &[u8]) -> Result<f64> {
    if b.len() != 8 {
        return Err(CodecError::invalid(
            "row v2 float value",
            format!("{} bytes (must be 8; ROW-6)", b.len()),
        ));
    }
    decode_f64(&mut &b[..])
}

/// Rounds a decimal to the column scale when it carries more digits (TiDB's chunk decoder).
fn fit_decimal(value: Decimal, prec: u8, frac: u8, ft: &FieldType) -> Datum {
    if (0..=30).contains(&ft.decimal) && i32::from(frac) > ft.decimal {
        let value = value.round_to(ft.decimal as u8);
        let (p, f) = value.prec_frac();
        return Datum::Decimal {
            value,
            prec: p.max(prec),
            frac: f,
        };
    }
    Datum::Decimal { value, prec, frac }
}

fn enum_datum(ft: &FieldType, v: u64) -> Datum {
    let name = enum_name(ft.elems(), v);
    // An index out of range reads as the empty enum, as in TiDB's decoder.
    let value = if name.is_empty() && usize::try_from(v).map_or(true, |i| i > ft.elems().len()) {
        0
    } else {
        v
    };
    Datum::Enum { value, name }
}

/// Decodes one v2 value by its column type (ROW-6). The whole slice must be used.
pub fn decode_v2_value(b: &[u8], ft: &FieldType) -> Result<Datum> {
    let t = ft.tp;
    if is_integer_type(t) {
        return Ok(if ft.is_unsigned() {
            Datum::U64(decode_uint(b)?)
        } else {
            Datum::I64(decode_int(b)?)
        });
    }
    if is_string_type(t) {
        return Ok(Datum::Bytes(b.to_vec()));
    }
    if let Some(tt) = time_type(t) {
        return Ok(Datum::Time(Time::from_packed(
            decode_uint(b)?,
            tt,
            ft.fsp(),
        )?));
    }
    Ok(match t {
        tp::YEAR => Datum::I64(decode_int(b)?),
        tp::FLOAT => Datum::F32(float8(b)? as f32),
        tp::DOUBLE => Datum::F64(float8(b)?),
        tp::NEWDECIMAL => {
            if b.len() < 2 {
                return Err(CodecError::Truncated {
                    what: "row v2 decimal header",
                    needed: 2,
                    available: b.len(),
                });
            }
            let (prec, frac) = (b[0], b[1]);
            let mut cur = &b[2..];
            let value = Decimal::from_bin(&mut cur, prec, frac)?;
            if !cur.is_empty() {
                return Err(CodecError::invalid(
                    "row v2 decimal value",
                    format!("{} bytes after the number", cur.len()),
                ));
            }
            fit_decimal(value, prec, frac, ft)
        }
        tp::DURATION => Datum::Duration(Duration::from_nanos(decode_int(b)?, ft.fsp())?),
        tp::ENUM => enum_datum(ft, decode_uint(b)?),
        tp::SET => {
            let v = decode_uint(b)?;
            Datum::Set {
                value: v,
                name: set_name(ft.elems(), v)?,
            }
        }
        tp::BIT => Datum::Bit(bit_bytes(decode_uint(b)?, ft.flen)),
        tp::JSON => {
            let (code, body) = b.split_first().ok_or(CodecError::Truncated {
                what: "row v2 json value",
                needed: 1,
                available: 0,
            })?;
            Datum::Json(Json::decode(*code, body)?)
        }
        tp::VECTOR_FLOAT32 => {
            let mut cur = b;
            let v = decode_vector(&mut cur)?;
            if !cur.is_empty() {
                return Err(CodecError::invalid(
                    "row v2 vector value",
                    format!("{} bytes after the vector", cur.len()),
                ));
            }
            Datum::VectorF32(v)
        }
        other => {
            return Err(CodecError::Unknown {
                what: "column type",
                value: u64::from(other),
            })
        }
    })
}

fn mismatch(d: &Datum, ft: &FieldType) -> CodecError {
    CodecError::invalid(
        "column value",
        format!("{d:?} does not fit column type {}", ft.tp),
    )
}

fn as_u64(d: &Datum, ft: &FieldType) -> Result<u64> {
    match d {
        Datum::U64(u) => Ok(*u),
        Datum::I64(i) => Ok(*i as u64),
        _ => Err(mismatch(d, ft)),
    }
}

fn as_i64(d: &Datum, ft: &FieldType) -> Result<i64> {
    match d {
        Datum::I64(i) => Ok(*i),
        Datum::U64(u) => Ok(*u as i64),
        Datum::Duration(x) => Ok(x.nanos),
        _ => Err(mismatch(d, ft)),
    }
}

/// Types a flat datum (from a v1 row or a handle) by its column (ROW-V1-3).
pub fn coerce_flat(d: Datum, ft: &FieldType) -> Result<Datum> {
    if d.is_null() {
        return Ok(Datum::Null);
    }
    let t = ft.tp;
    if is_integer_type(t) {
        return Ok(if ft.is_unsigned() {
            Datum::U64(as_u64(&d, ft)?)
        } else {
            Datum::I64(as_i64(&d, ft)?)
        });
    }
    if is_string_type(t) {
        return match d {
            Datum::Bytes(b) => Ok(Datum::Bytes(b)),
            other => Err(mismatch(&other, ft)),
        };
    }
    if let Some(tt) = time_type(t) {
        return Ok(Datum::Time(Time::from_packed(
            as_u64(&d, ft)?,
            tt,
            ft.fsp(),
        )?));
    }
    Ok(match (t, d) {
        (tp::YEAR, d) => Datum::I64(as_i64(&d, ft)?),
        (tp::FLOAT, Datum::F64(f)) => Datum::F32(f as f32),
        (tp::DOUBLE, Datum::F64(f)) => Datum::F64(f),
        (tp::NEWDECIMAL, Datum::Decimal { value, prec, frac }) => {
            fit_decimal(value, prec, frac, ft)
        }
        (tp::DURATION, d) => Datum::Duration(Duration::from_nanos(as_i64(&d, ft)?, ft.fsp())?),
        (tp::ENUM, d) => enum_datum(ft, as_u64(&d, ft)?),
        (tp::SET, d) => {
            let v = as_u64(&d, ft)?;
            Datum::Set {
                value: v,
                name: set_name(ft.elems(), v)?,
            }
        }
        (tp::BIT, d) => Datum::Bit(bit_bytes(as_u64(&d, ft)?, ft.flen)),
        (tp::JSON, Datum::Json(j)) => Datum::Json(j),
        (tp::VECTOR_FLOAT32, Datum::VectorF32(v)) => Datum::VectorF32(v),
        (_, d) => return Err(mismatch(&d, ft)),
    })
}

/// The typed value of a column's `origin_default` (what rows written before the column was
/// added hold; MODEL-3). TIMESTAMP defaults are kept as the stored wall clock.
pub fn parse_default(col: &ColumnInfo) -> Result<Datum> {
    let ft = &col.field_type;
    if ft.tp == tp::BIT {
        if let Some(bytes) = col.origin_default_bit_bytes()? {
            return Ok(Datum::Bit(bit_bytes(bit_value(&bytes)?, ft.flen)));
        }
    }
    let text = match &col.origin_default {
        Value::Null => return Ok(Datum::Null),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => u8::from(*b).to_string(),
        other => other.to_string(),
    };
    let bad = |e: &dyn std::fmt::Display| {
        CodecError::invalid(
            "origin_default",
            format!("column {}: {:?}: {e}", col.name.o, text),
        )
    };
    let t = ft.tp;
    if is_integer_type(t) || t == tp::YEAR {
        return if ft.is_unsigned() {
            text.parse::<u64>().map(Datum::U64).map_err(|e| bad(&e))
        } else {
            text.parse::<i64>().map(Datum::I64).map_err(|e| bad(&e))
        };
    }
    if is_string_type(t) {
        return Ok(Datum::Bytes(text.into_bytes()));
    }
    if let Some(tt) = time_type(t) {
        return Time::parse(&text, tt, ft.fsp())
            .map(Datum::Time)
            .map_err(|e| bad(&e));
    }
    match t {
        tp::FLOAT => text.parse::<f32>().map(Datum::F32).map_err(|e| bad(&e)),
        tp::DOUBLE => text.parse::<f64>().map(Datum::F64).map_err(|e| bad(&e)),
        tp::NEWDECIMAL => {
            let d = Decimal::parse(&text).map_err(|e| bad(&e))?;
            let d = if (0..=30).contains(&ft.decimal) {
                d.round_to(ft.decimal as u8)
            } else {
                d
            };
            Ok(Datum::decimal(d))
        }
        tp::DURATION => Duration::parse(&text, ft.fsp())
            .map(Datum::Duration)
            .map_err(|e| bad(&e)),
        tp::ENUM => {
            let idx = ft
                .elems()
                .iter()
                .position(|e| e.eq_ignore_ascii_case(&text))
                .ok_or_else(|| bad(&"not an enum member"))?;
            Ok(Datum::Enum {
                value: idx as u64 + 1,
                name: ft.elems()[idx].clone(),
            })
        }
        tp::SET => {
            let v = set_value(ft.elems(), &text).map_err(|e| bad(&e))?;
            Ok(Datum::Set {
                value: v,
                name: set_name(ft.elems(), v)?,
            })
        }
        tp::BIT => {
            let v = bit_value(text.as_bytes()).map_err(|e| bad(&e))?;
            Ok(Datum::Bit(bit_bytes(v, ft.flen)))
        }
        tp::JSON => {
            let v: Value = serde_json::from_str(&text).map_err(|e| bad(&e))?;
            Ok(Datum::Json(Json::from_serde(&v)))
        }
        tp::VECTOR_FLOAT32 => {
            let v: Vec<f32> = serde_json::from_str(&text).map_err(|e| bad(&e))?;
            Ok(Datum::VectorF32(v))
        }
        other => Err(CodecError::Unknown {
            what: "column type",
            value: u64::from(other),
        }),
    }
}
