//! The archive layer's pure part: every archive path, document and data file of BR's format,
//! decoded from and encoded to bytes. No I/O, no async, no clock: every decoder takes `&[u8]`
//! so it can be fuzzed. Protobuf structs (`crate::proto`) are converted here into domain types
//! named after the spec's terminology (format/terminology.md).

mod error;

pub mod backupmeta;
pub mod checksum;
pub mod crypto;
pub mod layout;
pub mod lock;
pub mod logfile;
pub mod logmeta;
pub mod merge;
pub mod naming;
pub mod sst;

pub use error::{FormatError, FormatErrorKind, Result};
