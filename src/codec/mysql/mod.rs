//! MySQL scalar sub-formats as TiDB stores them: DECIMAL, packed DATE/DATETIME/TIMESTAMP, TIME
//! (durations), binary JSON, float32 vectors, and the ENUM/SET/BIT helpers, plus the column type codes and flag
//! bits of `FieldType` (format/rows.md DEC-*, TIME-*, DUR-*, JSON-*, TYPE-*).

pub mod decimal;
pub mod duration;
pub mod json;
pub mod time;
pub mod vector;

pub use decimal::Decimal;
pub use duration::Duration;
pub use json::Json;
pub use time::{Time, TimeType};

use crate::codec::error::{CodecError, Result};

/// Column type codes (`FieldType.Tp`, TYPE-1).
pub mod tp {
    pub const TINY: u8 = 1;
    pub const SHORT: u8 = 2;
    pub const LONG: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const NULL: u8 = 6;
    pub const TIMESTAMP: u8 = 7;
    pub const LONGLONG: u8 = 8;
    pub const INT24: u8 = 9;
    pub const DATE: u8 = 10;
    pub const DURATION: u8 = 11;
    pub const DATETIME: u8 = 12;
    pub const YEAR: u8 = 13;
    pub const NEWDATE: u8 = 14;
    pub const VARCHAR: u8 = 15;
    pub const BIT: u8 = 16;
    pub const VECTOR_FLOAT32: u8 = 225;
    pub const JSON: u8 = 245;
    pub const NEWDECIMAL: u8 = 246;
    pub const ENUM: u8 = 247;
    pub const SET: u8 = 248;
    pub const TINY_BLOB: u8 = 249;
    pub const MEDIUM_BLOB: u8 = 250;
    pub const LONG_BLOB: u8 = 251;
    pub const BLOB: u8 = 252;
    pub const VAR_STRING: u8 = 253;
    pub const STRING: u8 = 254;
    pub const GEOMETRY: u8 = 255;
}

/// `FieldType.Flag` bits (TYPE-2).
pub mod flag {
    pub const NOT_NULL: u32 = 1;
    pub const PRI_KEY: u32 = 2;
    pub const UNIQUE_KEY: u32 = 4;
    pub const MULTIPLE_KEY: u32 = 8;
    pub const BLOB: u32 = 16;
    pub const UNSIGNED: u32 = 32;
    pub const ZEROFILL: u32 = 64;
    pub const BINARY: u32 = 128;
    pub const ENUM: u32 = 256;
    pub const AUTO_INCREMENT: u32 = 512;
    pub const TIMESTAMP: u32 = 1024;
    pub const SET: u32 = 2048;
}

/// Whether `t` is one of the integer types (TINYINT … BIGINT).
pub fn is_integer_type(t: u8) -> bool {
    matches!(
        t,
        tp::TINY | tp::SHORT | tp::INT24 | tp::LONG | tp::LONGLONG
    )
}

/// Whether `t` is stored as raw bytes (CHAR/VARCHAR/BINARY/BLOB/TEXT).
pub fn is_string_type(t: u8) -> bool {
    matches!(
        t,
        tp::VARCHAR
            | tp::VAR_STRING
            | tp::STRING
            | tp::TINY_BLOB
            | tp::MEDIUM_BLOB
            | tp::LONG_BLOB
            | tp::BLOB
    )
}

/// The ENUM member name of a 1-based `value`; 0 or out of range is the empty enum, as TiDB's
/// decoder reads it (TYPE-3).
pub fn enum_name(elems: &[String], value: u64) -> String {
    match value
        .checked_sub(1)
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| elems.get(i))
    {
        Some(s) => s.clone(),
        None => String::new(),
    }
}

/// The SET member names of a bitmask joined with `,`; bits beyond the members are an error
/// (TYPE-3).
pub fn set_name(elems: &[String], value: u64) -> Result<String> {
    if elems.len() < 64 && value >> elems.len() != 0 {
        return Err(CodecError::invalid(
            "set value",
            format!(
                "bitmask {value:#x} has bits beyond the {} members",
                elems.len()
            ),
        ));
    }
    let names: Vec<&str> = elems
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 64 && value & (1u64 << i) != 0)
        .map(|(_, s)| s.as_str())
        .collect();
    Ok(names.join(","))
}

/// The bitmask of comma-separated SET member names (for column defaults).
pub fn set_value(elems: &[String], names: &str) -> Result<u64> {
    let mut v = 0u64;
    for n in names.split(',').filter(|n| !n.is_empty()) {
        let i = elems
            .iter()
            .position(|e| e.eq_ignore_ascii_case(n))
            .filter(|i| *i < 64)
            .ok_or_else(|| CodecError::invalid("set value", format!("no member {n:?}")))?;
        v |= 1u64 << i;
    }
    Ok(v)
}

/// BIT(flen) bytes of a value: big-endian, `(flen + 7) / 8` bytes (TiDB
/// `NewBinaryLiteralFromUint`; TYPE-3).
pub fn bit_bytes(value: u64, flen: i32) -> Vec<u8> {
    let n = (flen.clamp(1, 64) as usize).div_ceil(8);
    value.to_be_bytes()[8 - n..].to_vec()
}

/// The unsigned value of BIT bytes (big-endian, at most 8 significant bytes).
pub fn bit_value(bytes: &[u8]) -> Result<u64> {
    let sig: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if sig.len() > 8 {
        return Err(CodecError::invalid("bit value", "wider than 64 bits"));
    }
    Ok(sig.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elems() -> Vec<String> {
        ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn type_3_enum_set_bit_helpers() {
        assert_eq!(enum_name(&elems(), 2), "b");
        assert_eq!(enum_name(&elems(), 0), "");
        assert_eq!(enum_name(&elems(), 9), "");
        assert_eq!(set_name(&elems(), 0b101).unwrap(), "a,c");
        assert_eq!(set_name(&elems(), 0).unwrap(), "");
        assert!(set_name(&elems(), 0b1000).is_err());
        assert_eq!(set_value(&elems(), "a,c").unwrap(), 0b101);
        assert!(set_value(&elems(), "z").is_err());
        assert_eq!(bit_bytes(5, 3), [5]);
        assert_eq!(bit_bytes(0x1234, 16), [0x12, 0x34]);
        assert_eq!(bit_bytes(1, 9), [0, 1]);
        assert_eq!(bit_value(&[0, 1, 2]).unwrap(), 0x102);
        assert!(bit_value(&[1; 9]).is_err());
    }
}
