//! Text of typed datums as TiDB prints them in query results (MySQL text protocol), for CSV
//! export (format/rows.md CSV-1). Quoting and escaping belong to the CSV writer, and NULL to
//! the caller.

use crate::codec::datum::Datum;
use crate::codec::model::FieldType;
use crate::codec::mysql::{flag, tp};

/// A DOUBLE as TiDB prints it (`util.AppendFormatFloat`, CSV-1): shortest round-trip digits,
/// plain notation when 1e-15 <= |x| < 1e15 (or 0), exponent notation without `+` otherwise.
pub fn format_float64(x: f64) -> String {
    if !x.is_finite() {
        return "0".to_string();
    }
    let abs = x.abs();
    if abs != 0.0 && !(1e-15..1e15).contains(&abs) {
        return format!("{x:e}");
    }
    format!("{x}")
}

/// A FLOAT as TiDB prints it: the same rules with float32 shortest digits (CSV-1).
pub fn format_float32(x: f32) -> String {
    if !x.is_finite() {
        return "0".to_string();
    }
    let abs = x.abs();
    if abs != 0.0 && !(1e-15..1e15).contains(&abs) {
        return format!("{x:e}");
    }
    format!("{x}")
}

fn zerofill(s: String, ft: &FieldType) -> String {
    if ft.flag & flag::ZEROFILL != 0 && ft.flen > 0 && s.len() < ft.flen as usize {
        format!("{s:0>width$}", width = ft.flen as usize)
    } else {
        s
    }
}

/// The text of `d` in column `ft` as TiDB/MySQL prints it (CSV-1): integers in decimal
/// (ZEROFILL padded, YEAR as 4 digits), floats as above, DECIMAL with its scale, temporal
/// values with the column fsp, JSON as TiDB prints it, ENUM/SET by name, strings and BIT as
/// raw bytes. `Datum::Null` and `Datum::Max` give empty bytes (the caller writes NULL).
pub fn format_csv_field(d: &Datum, ft: &FieldType) -> Vec<u8> {
    let s = match d {
        Datum::Null | Datum::Max => return Vec::new(),
        Datum::I64(i) if ft.tp == tp::YEAR => format!("{i:04}"),
        Datum::I64(i) => zerofill(i.to_string(), ft),
        Datum::U64(u) => zerofill(u.to_string(), ft),
        Datum::F32(f) => format_float32(*f),
        Datum::F64(f) => format_float64(*f),
        Datum::Bytes(b) | Datum::Bit(b) => return b.clone(),
        Datum::Decimal { value, .. } => value.to_string(),
        Datum::Time(t) => t.to_string(),
        Datum::Duration(x) => x.to_string(),
        Datum::Json(j) => j.to_string(),
        Datum::VectorF32(v) => crate::codec::mysql::vector::format_vector(v),
        Datum::Enum { name, .. } | Datum::Set { name, .. } => name.clone(),
    };
    s.into_bytes()
}
