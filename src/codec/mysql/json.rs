//! TiDB binary JSON (MySQL 5.7 layout as TiDB writes it): decode into a tree, print it exactly
//! as TiDB does, and encode a tree back (format/rows.md JSON-1 … JSON-6).

use std::fmt::{self, Write as _};

use super::duration::Duration;
use super::time::{Time, TimeType};
use crate::codec::error::{take, CodecError, Result};
use crate::codec::number::{decode_var_u64, encode_var_u64};

/// Type codes (JSON-1).
pub mod type_code {
    pub const OBJECT: u8 = 0x01;
    pub const ARRAY: u8 = 0x03;
    pub const LITERAL: u8 = 0x04;
    pub const INT64: u8 = 0x09;
    pub const UINT64: u8 = 0x0A;
    pub const FLOAT64: u8 = 0x0B;
    pub const STRING: u8 = 0x0C;
    pub const OPAQUE: u8 = 0x0D;
    pub const DATE: u8 = 0x0E;
    pub const DATETIME: u8 = 0x0F;
    pub const TIMESTAMP: u8 = 0x10;
    pub const DURATION: u8 = 0x11;
}
use type_code as tc;

const LIT_NULL: u8 = 0;
const LIT_TRUE: u8 = 1;
const LIT_FALSE: u8 = 2;
/// TiDB's `maxJSONDepth` (JSON-5).
pub const MAX_DEPTH: usize = 100;

/// A decoded JSON document. Object members keep their stored order (TiDB sorts keys by bytes
/// when it writes, JSON-3).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    /// UTF-8 in practice; kept as bytes so damaged text still prints (as `\ufffd`).
    String(Vec<u8>),
    Opaque {
        field_type: u8,
        data: Vec<u8>,
    },
    Time(Time),
    Duration(Duration),
    Array(Vec<Json>),
    Object(Vec<(Vec<u8>, Json)>),
}

impl Json {
    /// Decodes a complete value: `type_code` then `body` (JSON-2). Trailing bytes after a
    /// scalar are an error; a container must fill exactly its declared size.
    pub fn decode(type_code: u8, body: &[u8]) -> Result<Json> {
        let (v, used) = decode_value(type_code, body, 0)?;
        if used != body.len() {
            return Err(CodecError::invalid(
                "json",
                format!("{} trailing bytes after the value", body.len() - used),
            ));
        }
        Ok(v)
    }

    /// Decodes `type byte + body` from the front of `input` (the datum form, flag 10),
    /// advancing it past the value.
    pub fn decode_prefixed(input: &mut &[u8]) -> Result<Json> {
        let t = take(input, 1, "json type code")?[0];
        let (v, used) = decode_value(t, input, 0)?;
        *input = &input[used..];
        Ok(v)
    }

    /// The type code of this value (JSON-1).
    pub fn type_code(&self) -> u8 {
        match self {
            Json::Null | Json::Bool(_) => tc::LITERAL,
            Json::I64(_) => tc::INT64,
            Json::U64(_) => tc::UINT64,
            Json::F64(_) => tc::FLOAT64,
            Json::String(_) => tc::STRING,
            Json::Opaque { .. } => tc::OPAQUE,
            Json::Time(t) => match t.tp {
                TimeType::Date => tc::DATE,
                TimeType::Datetime => tc::DATETIME,
                TimeType::Timestamp => tc::TIMESTAMP,
            },
            Json::Duration(_) => tc::DURATION,
            Json::Array(_) => tc::ARRAY,
            Json::Object(_) => tc::OBJECT,
        }
    }

    /// Encodes the body (without the type code) as TiDB's `appendBinaryJSON` does (JSON-3).
    pub fn encode_body(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        encode_value(self, &mut out)?;
        Ok(out)
    }

    /// Type code followed by the body: the form stored in row v2 values and datums.
    pub fn encode_prefixed(&self) -> Result<Vec<u8>> {
        let mut out = vec![self.type_code()];
        encode_value(self, &mut out)?;
        Ok(out)
    }

    /// Converts a serde value the way TiDB parses JSON text: integers that fit i64 become
    /// INT64, larger ones UINT64, everything else DOUBLE; object keys are sorted by bytes.
    pub fn from_serde(v: &serde_json::Value) -> Json {
        match v {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(*b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Json::I64(i)
                } else if let Some(u) = n.as_u64() {
                    Json::U64(u)
                } else {
                    Json::F64(n.as_f64().unwrap_or(0.0))
                }
            }
            serde_json::Value::String(s) => Json::String(s.as_bytes().to_vec()),
            serde_json::Value::Array(a) => Json::Array(a.iter().map(Json::from_serde).collect()),
            serde_json::Value::Object(m) => {
                let mut fields: Vec<(Vec<u8>, Json)> = m
                    .iter()
                    .map(|(k, v)| (k.as_bytes().to_vec(), Json::from_serde(v)))
                    .collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Json::Object(fields)
            }
        }
    }
}

fn invalid(detail: impl Into<String>) -> CodecError {
    CodecError::invalid("json", detail)
}

fn slice_at<'a>(body: &'a [u8], off: usize, len: usize, what: &'static str) -> Result<&'a [u8]> {
    let end = off
        .checked_add(len)
        .ok_or_else(|| invalid("offset overflow"))?;
    body.get(off..end).ok_or(CodecError::Truncated {
        what,
        needed: end,
        available: body.len(),
    })
}

fn u32_at(body: &[u8], off: usize, what: &'static str) -> Result<usize> {
    let b = slice_at(body, off, 4, what)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

fn u64_at(body: &[u8], what: &'static str) -> Result<u64> {
    let b = slice_at(body, 0, 8, what)?;
    Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

/// Decodes one value whose body starts at `body[0]`; returns it and the bytes it used.
fn decode_value(t: u8, body: &[u8], depth: usize) -> Result<(Json, usize)> {
    if depth > MAX_DEPTH {
        return Err(invalid("nested deeper than 100 levels (JSON-5)"));
    }
    Ok(match t {
        tc::LITERAL => {
            let b = slice_at(body, 0, 1, "json literal")?[0];
            (decode_literal(b)?, 1)
        }
        tc::INT64 => (Json::I64(u64_at(body, "json int64")? as i64), 8),
        tc::UINT64 => (Json::U64(u64_at(body, "json uint64")?), 8),
        tc::FLOAT64 => (Json::F64(f64::from_bits(u64_at(body, "json double")?)), 8),
        tc::STRING => {
            let mut cur = body;
            let n = decode_var_u64(&mut cur)?;
            let hdr = body.len() - cur.len();
            let n = usize::try_from(n).map_err(|_| invalid("string length overflow"))?;
            let s = slice_at(body, hdr, n, "json string")?;
            (Json::String(s.to_vec()), hdr + n)
        }
        tc::OPAQUE => {
            let ft = slice_at(body, 0, 1, "json opaque type")?[0];
            let mut cur = &body[1..];
            let n = decode_var_u64(&mut cur)?;
            let hdr = body.len() - cur.len();
            let n = usize::try_from(n).map_err(|_| invalid("opaque length overflow"))?;
            let s = slice_at(body, hdr, n, "json opaque")?;
            (
                Json::Opaque {
                    field_type: ft,
                    data: s.to_vec(),
                },
                hdr + n,
            )
        }
        tc::DATE | tc::DATETIME | tc::TIMESTAMP => {
            let tp = match t {
                tc::DATE => TimeType::Date,
                tc::DATETIME => TimeType::Datetime,
                _ => TimeType::Timestamp,
            };
            (
                Json::Time(Time::from_packed(u64_at(body, "json time")?, tp, 6)?),
                8,
            )
        }
        tc::DURATION => {
            let nanos = u64_at(body, "json duration")? as i64;
            let fsp = u32_at(body, 8, "json duration fsp")?;
            (
                Json::Duration(Duration::from_nanos(nanos, fsp.min(6) as u8)?),
                12,
            )
        }
        tc::ARRAY | tc::OBJECT => decode_container(t, body, depth)?,
        other => {
            return Err(CodecError::Unknown {
                what: "json type code",
                value: u64::from(other),
            })
        }
    })
}

fn decode_literal(b: u8) -> Result<Json> {
    match b {
        LIT_NULL => Ok(Json::Null),
        LIT_TRUE => Ok(Json::Bool(true)),
        LIT_FALSE => Ok(Json::Bool(false)),
        other => Err(CodecError::Unknown {
            what: "json literal",
            value: u64::from(other),
        }),
    }
}

/// Object/array (JSON-2): count, size, [key entries], value entries, then data. Offsets are
/// relative to the container start and must stay inside its declared size (JSON-4).
fn decode_container(t: u8, body: &[u8], depth: usize) -> Result<(Json, usize)> {
    let count = u32_at(body, 0, "json element count")?;
    let size = u32_at(body, 4, "json container size")?;
    if size > body.len() || size < 8 {
        return Err(invalid(format!(
            "container size {size} outside the {} available bytes (JSON-4)",
            body.len()
        )));
    }
    let doc = &body[..size];
    let is_obj = t == tc::OBJECT;
    let entries = if is_obj { 6 + 5 } else { 5 };
    let table = count
        .checked_mul(entries)
        .and_then(|n| n.checked_add(8))
        .ok_or_else(|| invalid("element count overflow"))?;
    if table > size {
        return Err(invalid(format!(
            "{count} elements do not fit a {size}-byte container (JSON-4)"
        )));
    }
    let val_base = 8 + if is_obj { count * 6 } else { 0 };
    let mut vals = Vec::with_capacity(count);
    for i in 0..count {
        let e = val_base + i * 5;
        let vt = doc[e];
        let v = if vt == tc::LITERAL {
            decode_literal(doc[e + 1])?
        } else {
            let off = u32_at(doc, e + 1, "json value offset")?;
            if off < table || off >= size {
                return Err(invalid(format!(
                    "value offset {off} outside the data area {table}..{size} (JSON-4)"
                )));
            }
            decode_value(vt, &doc[off..], depth + 1)?.0
        };
        vals.push(v);
    }
    let json = if is_obj {
        let mut fields = Vec::with_capacity(count);
        for (i, v) in vals.into_iter().enumerate() {
            let e = 8 + i * 6;
            let off = u32_at(doc, e, "json key offset")?;
            let len = u16::from_le_bytes([doc[e + 4], doc[e + 5]]) as usize;
            if off < table {
                return Err(invalid(format!("key offset {off} inside the entry table")));
            }
            let key = slice_at(doc, off, len, "json key")?;
            fields.push((key.to_vec(), v));
        }
        Json::Object(fields)
    } else {
        Json::Array(vals)
    };
    Ok((json, size))
}

fn encode_value(v: &Json, out: &mut Vec<u8>) -> Result<()> {
    match v {
        Json::Null => out.push(LIT_NULL),
        Json::Bool(true) => out.push(LIT_TRUE),
        Json::Bool(false) => out.push(LIT_FALSE),
        Json::I64(i) => out.extend_from_slice(&i.to_le_bytes()),
        Json::U64(u) => out.extend_from_slice(&u.to_le_bytes()),
        Json::F64(f) => out.extend_from_slice(&f.to_bits().to_le_bytes()),
        Json::String(s) => {
            encode_var_u64(out, s.len() as u64);
            out.extend_from_slice(s);
        }
        Json::Opaque { field_type, data } => {
            out.push(*field_type);
            encode_var_u64(out, data.len() as u64);
            out.extend_from_slice(data);
        }
        Json::Time(t) => out.extend_from_slice(&t.to_packed().to_le_bytes()),
        Json::Duration(d) => {
            out.extend_from_slice(&d.nanos.to_le_bytes());
            out.extend_from_slice(&u32::from(d.fsp).to_le_bytes());
        }
        Json::Array(items) => {
            let refs: Vec<&Json> = items.iter().collect();
            encode_container(out, None, &refs)?
        }
        Json::Object(fields) => {
            let keys: Vec<&[u8]> = fields.iter().map(|(k, _)| k.as_slice()).collect();
            let vals: Vec<&Json> = fields.iter().map(|(_, v)| v).collect();
            encode_container(out, Some(&keys), &vals)?
        }
    }
    Ok(())
}

fn put_u32(out: &mut [u8], at: usize, v: usize) -> Result<()> {
    let v = u32::try_from(v).map_err(|_| invalid("document larger than 4 GiB"))?;
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
    Ok(())
}

fn encode_container(out: &mut Vec<u8>, keys: Option<&[&[u8]]>, vals: &[&Json]) -> Result<()> {
    let doc = out.len();
    out.extend_from_slice(&(vals.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let key_base = out.len();
    if keys.is_some() {
        out.resize(out.len() + vals.len() * 6, 0);
    }
    let val_base = out.len();
    out.resize(out.len() + vals.len() * 5, 0);
    if let Some(keys) = keys {
        for (i, k) in keys.iter().enumerate() {
            let len =
                u16::try_from(k.len()).map_err(|_| invalid("object key longer than 64 KiB"))?;
            let off = out.len() - doc;
            put_u32(out, key_base + i * 6, off)?;
            out[key_base + i * 6 + 4..key_base + i * 6 + 6].copy_from_slice(&len.to_le_bytes());
            out.extend_from_slice(k);
        }
    }
    for (i, v) in vals.iter().enumerate() {
        let e = val_base + i * 5;
        out[e] = v.type_code();
        match v {
            Json::Null => out[e + 1] = LIT_NULL,
            Json::Bool(true) => out[e + 1] = LIT_TRUE,
            Json::Bool(false) => out[e + 1] = LIT_FALSE,
            _ => {
                let off = out.len() - doc;
                put_u32(out, e + 1, off)?;
                encode_value(v, out)?;
            }
        }
    }
    let size = out.len() - doc;
    put_u32(out, doc + 4, size)
}

impl fmt::Display for Json {
    /// TiDB's `BinaryJSON.String()`: `", "` and `": "` separators, Go-style string escapes,
    /// doubles as in JSON-6, times and durations quoted with 6 fraction digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_json(self, &mut s);
        f.write_str(&s)
    }
}

fn write_json(v: &Json, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::I64(i) => {
            let _ = write!(out, "{i}");
        }
        Json::U64(u) => {
            let _ = write!(out, "{u}");
        }
        Json::F64(x) => out.push_str(&format_json_double(*x)),
        Json::String(s) => write_json_string(s, out),
        Json::Opaque { field_type, data } => {
            let _ = write!(out, "\"base64:type{field_type}:{}\"", base64_std(data));
        }
        Json::Time(t) => {
            let mut t = *t;
            t.fsp = 6;
            write_json_string(t.to_string().as_bytes(), out);
        }
        Json::Duration(d) => {
            let mut d = *d;
            d.fsp = 6;
            write_json_string(d.to_string().as_bytes(), out);
        }
        Json::Array(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(it, out);
            }
            out.push(']');
        }
        Json::Object(fields) => {
            out.push('{');
            for (i, (k, val)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_string(k, out);
                out.push_str(": ");
                write_json(val, out);
            }
            out.push('}');
        }
    }
}

/// A double as TiDB prints it in JSON (JSON-6): shortest round-trip digits, plain notation
/// with a trailing `.0` for whole numbers when 1e-15 <= |x| < 1e15 (or 0), otherwise
/// exponent notation without `+` or padding (`1e15`, `1.5e-20`).
pub fn format_json_double(x: f64) -> String {
    if !x.is_finite() {
        return "null".to_string();
    }
    let abs = x.abs();
    if abs != 0.0 && !(1e-15..1e15).contains(&abs) {
        return format!("{x:e}");
    }
    let mut s = format!("{x}");
    if !s.contains('.') {
        s.push_str(".0");
    }
    s
}

/// Go `encoding/json` string escaping as copied into TiDB (`jsonMarshalStringTo`).
fn write_json_string(s: &[u8], out: &mut String) {
    out.push('"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u00{:02x}", c as u32);
                }
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                c => out.push(c),
            }
        }
        for _ in chunk.invalid() {
            out.push_str("\\ufffd");
        }
    }
    out.push('"');
}

fn base64_std(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        s.push(A[(n >> 18) as usize & 63] as char);
        s.push(A[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        s.push(if c.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    s
}

#[cfg(test)]
mod tests;
