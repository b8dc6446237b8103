//! Rows as text: `rows.csv` exactly as `brtool table dump` writes it (VIEW-4: the header and
//! lines of `engine::workload::write_csv_header/row`, CSV-1 text, `\N` for NULL) and
//! `rows.jsonl`, one typed JSON object per row (VIEW-5). Pure: bytes in, bytes out.

use super::file::{Result, ViewError};
use crate::codec::datum::Datum;
use crate::codec::model::{FieldType, TableInfo};
use crate::codec::mysql::tp;
use crate::codec::row::{format_csv_field, format_float32, format_float64, RowDecoder};
use crate::codec::table::{classify, KeyKind};
use crate::engine::workload::{write_csv_header, write_csv_row};
use base64::Engine as _;
use std::io::Write;

/// The two row files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RowFormat {
    Csv,
    Jsonl,
}

/// Renders one table's rows.
pub(crate) struct Renderer {
    format: RowFormat,
    decoder: RowDecoder,
    names: Vec<String>,
    table: String,
}

fn decode_err(table: &str, key: &[u8], e: impl std::fmt::Display) -> ViewError {
    ViewError::Invalid {
        context: format!("table {table}, row key {}", hex::encode(key)),
        detail: format!("does not decode with the table's schema: {e}"),
    }
}

impl Renderer {
    pub fn new(info: &TableInfo, format: RowFormat) -> Result<Renderer> {
        let decoder = RowDecoder::new(info)?;
        let names = decoder.column_names().map(str::to_string).collect();
        Ok(Renderer {
            format,
            decoder,
            names,
            table: info.name.o.clone(),
        })
    }

    /// The bytes before the first row: the CSV header line (VIEW-4); nothing for JSON Lines.
    pub fn header(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.format == RowFormat::Csv {
            write_csv_header(&mut out, &self.decoder).expect("writing to a Vec");
        }
        out
    }

    /// Appends the row of a record KV to `out`; false (nothing written) for a key that is not
    /// a record key.
    pub fn render(&self, raw_key: &[u8], value: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        let KeyKind::Record { handle, .. } = classify(raw_key) else {
            return Ok(false);
        };
        let datums = self
            .decoder
            .decode_with_key(&handle, Some(raw_key), value)
            .map_err(|e| decode_err(&self.table, raw_key, e))?;
        match self.format {
            RowFormat::Csv => write_csv_row(out, &self.decoder, &datums)?,
            RowFormat::Jsonl => self.write_json(out, &datums)?,
        }
        Ok(true)
    }

    fn write_json(&self, out: &mut Vec<u8>, datums: &[Datum]) -> std::io::Result<()> {
        out.push(b'{');
        for (i, ((d, ft), name)) in datums
            .iter()
            .zip(self.decoder.field_types())
            .zip(&self.names)
            .enumerate()
        {
            if i > 0 {
                out.push(b',');
            }
            json_string(out, name)?;
            out.push(b':');
            json_value(out, d, ft)?;
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }
}

fn json_string(out: &mut Vec<u8>, s: &str) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, s).map_err(std::io::Error::other)
}

/// Whether a string-typed column holds bytes rather than text (binary charset, VIEW-5).
fn is_binary(ft: &FieldType) -> bool {
    ft.charset == "binary" || ft.charset.is_empty()
}

/// Embeds JSON text when it parses as JSON, else writes it as a string.
fn json_raw_or_string(out: &mut Vec<u8>, text: &str) -> std::io::Result<()> {
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        out.extend_from_slice(text.as_bytes());
        Ok(())
    } else {
        json_string(out, text)
    }
}

/// One value as VIEW-5 types it.
pub(crate) fn json_value(out: &mut Vec<u8>, d: &Datum, ft: &FieldType) -> std::io::Result<()> {
    match d {
        Datum::Null | Datum::Max => out.extend_from_slice(b"null"),
        Datum::I64(i) => write!(out, "{i}")?,
        Datum::U64(u) => write!(out, "{u}")?,
        // Shortest round-trip digits, as the CSV text (CSV-1): always a valid JSON number.
        Datum::F32(f) => out.extend_from_slice(format_float32(*f).as_bytes()),
        Datum::F64(f) => out.extend_from_slice(format_float64(*f).as_bytes()),
        Datum::Bit(b) => {
            // BIT(n <= 64) as its unsigned value.
            let v = b.iter().fold(0u128, |acc, x| (acc << 8) | u128::from(*x));
            if b.len() <= 8 {
                write!(out, "{v}")?
            } else {
                json_string(out, &base64::engine::general_purpose::STANDARD.encode(b))?
            }
        }
        Datum::Bytes(b) if ft.tp == tp::JSON => {
            json_raw_or_string(out, &String::from_utf8_lossy(b))?
        }
        Datum::Bytes(b) if is_binary(ft) => {
            json_string(out, &base64::engine::general_purpose::STANDARD.encode(b))?
        }
        Datum::Bytes(b) => json_string(out, &String::from_utf8_lossy(b))?,
        Datum::Json(j) => json_raw_or_string(out, &j.to_string())?,
        Datum::VectorF32(v) => {
            json_raw_or_string(out, &crate::codec::mysql::vector::format_vector(v))?
        }
        // DECIMAL (exact, with its scale), temporal values, ENUM/SET names: their text.
        Datum::Decimal { .. } | Datum::Time(_) | Datum::Duration(_) => {
            json_string(out, &String::from_utf8_lossy(&format_csv_field(d, ft)))?
        }
        Datum::Enum { name, .. } | Datum::Set { name, .. } => json_string(out, name)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::mysql::flag;

    fn ft(t: u8, charset: &str) -> FieldType {
        FieldType {
            charset: charset.into(),
            ..FieldType::new(t)
        }
    }

    fn j(d: Datum, f: &FieldType) -> String {
        let mut out = Vec::new();
        json_value(&mut out, &d, f).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn view_5_numbers_strings_bytes_and_null_are_typed() {
        assert_eq!(j(Datum::I64(-7), &ft(tp::LONG, "binary")), "-7");
        let mut u = ft(tp::LONGLONG, "binary");
        u.flag = flag::UNSIGNED;
        assert_eq!(j(Datum::U64(u64::MAX), &u), "18446744073709551615");
        assert_eq!(j(Datum::F64(0.1), &ft(tp::DOUBLE, "binary")), "0.1");
        assert_eq!(j(Datum::F64(1e20), &ft(tp::DOUBLE, "binary")), "1e20");
        assert_eq!(j(Datum::F32(1.5), &ft(tp::FLOAT, "binary")), "1.5");
        assert_eq!(j(Datum::Null, &ft(tp::LONG, "binary")), "null");
        assert_eq!(
            j(
                Datum::Bytes(b"a\"b\n".to_vec()),
                &ft(tp::VARCHAR, "utf8mb4")
            ),
            r#""a\"b\n""#
        );
        assert_eq!(
            j(Datum::Bytes(vec![0, 0xff, 1]), &ft(tp::VARCHAR, "binary")),
            r#""AP8B""#
        );
        assert_eq!(
            j(Datum::Bit(vec![0x01, 0x02]), &ft(tp::BIT, "binary")),
            "258"
        );
        assert_eq!(
            j(
                Datum::Enum {
                    value: 2,
                    name: "green".into()
                },
                &ft(tp::ENUM, "utf8mb4")
            ),
            r#""green""#
        );
        for (v, want) in [
            (&b"{\"a\": [1, 2]}"[..], "{\"a\": [1, 2]}"),
            (b"not json", "\"not json\""),
        ] {
            assert_eq!(j(Datum::Bytes(v.to_vec()), &ft(tp::JSON, "binary")), want);
        }
    }

    #[test]
    fn view_5_every_line_is_one_json_object() {
        // Every value kind in one object parses back with serde_json.
        let mut out = Vec::new();
        out.push(b'{');
        let vals = [
            (Datum::I64(1), ft(tp::LONG, "binary")),
            (
                Datum::Bytes("é\u{0}".as_bytes().to_vec()),
                ft(tp::VARCHAR, "utf8mb4"),
            ),
            (Datum::F64(-2.5e-20), ft(tp::DOUBLE, "binary")),
        ];
        for (i, (d, f)) in vals.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_string(&mut out, &format!("c{i}")).unwrap();
            out.push(b':');
            json_value(&mut out, d, f).unwrap();
        }
        out.push(b'}');
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["c0"], 1);
        assert_eq!(v["c1"], "é\u{0}");
        assert_eq!(v["c2"].as_f64(), Some(-2.5e-20));
    }
}
