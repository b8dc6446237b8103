//! TiDB row values: format v2 and v1, the row handle, the schema-driven [`RowDecoder`] and
//! CSV text of values (format/rows.md ROW-*, ROW-V1-*, ROWDEC-*).

mod csv;
mod decoder;
mod typed;
pub mod v1;
pub mod v2;

#[cfg(test)]
mod spec_examples;
#[cfg(test)]
mod tests;

pub use csv::{format_csv_field, format_float32, format_float64};
pub use decoder::RowDecoder;
pub use typed::{coerce_flat, decode_v2_value, parse_default};

use super::datum::{decode_key, Datum};
use super::error::Result;
use super::number::encode_i64;

/// Whether a row value is format v2 (first byte 128, ROW-1); otherwise it is v1.
pub fn is_new_format(value: &[u8]) -> bool {
    value.first() == Some(&v2::CODEC_VER)
}

/// The handle of a record key: the one type shared with the key codec (KEY-*).
pub use crate::codec::table::Handle;

impl Handle {
    /// The handle bytes as they appear in the record key (TiDB `Handle.Encoded()`).
    pub fn encoded(&self) -> Vec<u8> {
        match self {
            Handle::Int(i) => encode_i64(*i).to_vec(),
            Handle::Common(b) => b.clone(),
        }
    }

    /// The primary-key datums of a common handle.
    pub fn datums(&self) -> Result<Vec<Datum>> {
        match self {
            Handle::Int(i) => Ok(vec![Datum::I64(*i)]),
            Handle::Common(b) => decode_key(b),
        }
    }
}
