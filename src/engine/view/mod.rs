//! Archive views: what a snapshot archive (optionally with its log archive) holds at one ts,
//! as databases, tables and read-only files (`schema.sql`, `table.json`, `rows.csv`,
//! `rows.jsonl`, `stats.json`), decoded lazily from the SSTs and log events without
//! restoring anything. `brfs` serves these files through FUSE and `brtool export` writes
//! them, so both give the same bytes. This module owns the file contract (`ViewFile`) and
//! its errors; the catalog at a ts and the table files are built on it.

pub mod file;

pub use file::{BytesFile, ViewError, ViewFile};
