//! Helpers shared by integration tests: the tokio runtime they drive the async library with,
//! and RocksDB's own `sst_dump` as the reference reader. Each test binary uses a subset.
#![allow(dead_code)]

/// Two workers, as the CLI runs.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[path = "sst_dump.rs"]
mod sst_dump;
#[allow(unused_imports)] // each test binary uses a subset
pub use sst_dump::sst_dump_scan;
