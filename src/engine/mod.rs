//! Work above whole archives and the cluster: snapshot backup and restore and point-in-time
//! restore (`pitr`) (BR's flows over the embedded cluster's gRPC services), table filters and
//! ranges, the workload generator and table readers, sample archives for the demo, and
//! re-deriving checksums from SST data. Uses `cluster`, `archive`, `format`, `codec` and
//! `storage`; knows no CLI.

pub mod backup;
pub mod error;
pub mod filter;
pub mod kv_scan;
pub mod log;
pub mod pitr;
pub mod ranges;
pub mod restore;
pub mod sample;
pub mod sample_log;
pub mod tables;
pub mod verify;
pub mod view;
pub mod workload;

pub use error::{EngineError, Result};
