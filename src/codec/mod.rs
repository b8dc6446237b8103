//! TiKV and TiDB codecs (pure: bytes in, typed values out; no I/O, no clock).
//!
//! Owns: memcomparable bytes and numbers, MVCC keys with timestamps and Write records, TSOs,
//! TiDB table/index/meta keys, datums, row formats v1/v2, the MySQL scalar sub-formats and the
//! TiDB schema model JSON. Rules cited are in `format/` (chapters `mvcc.md`, `tidb-keys.md`,
//! `rows.md`).

mod error;

pub mod bytes;
pub mod datum;
pub mod index;
pub mod model;
pub mod mvcc;
pub mod mysql;
pub mod number;
pub mod row;
pub mod table;
pub mod tso;
pub mod write;

pub use error::{CodecError, Result};
