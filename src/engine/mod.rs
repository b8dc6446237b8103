//! Work above whole archives: producing SSTs with RocksDB, sample archives for the demo, and
//! re-deriving checksums from SST data. Backup, restore and PITR grow here. Uses `archive`,
//! `format`, `codec` and `storage`; knows no CLI.

pub mod kv_check;
pub mod kv_scan;
pub mod sample;
pub mod workload;
