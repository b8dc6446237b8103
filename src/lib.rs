//! brkit: a toolkit for TiDB BR (Backup & Restore) archives.
//!
//! Layering (dependencies point downward only, see `../shared/STYLE.md`):
//! `codec`/`format` (pure, bytes in and typed values out) ← `storage` (object stores) ←
//! `archive` (whole archives over storage) ← `cluster` (the embedded TiKV-compatible cluster)
//! ← `engine` (backup, restore, workload) ← `cli` (thin front ends).
//! The normative description of every byte lives in `format/` at the repository root; code
//! cites its rule ids instead of restating it.
#![deny(unsafe_code)]

pub mod archive;
pub mod brfs;
pub mod cli;
pub mod cluster;
pub mod codec;
pub mod engine;
pub mod format;
pub mod fuzzing;
pub mod proto;
pub mod storage;
