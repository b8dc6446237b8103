//! The embedded TiKV-compatible cluster: a placement driver (`pd`: TSO, stores, regions, GC
//! safepoints), stores on RocksDB (`store`: MVCC keys exactly as TiKV lays them out, backup and
//! import endpoints), the schema catalog under TiDB's meta keys (`catalog`), and the gRPC
//! server and client that connect them to the BR side (`server`, `client`), and log backup's
//! observers and flushes inside the store servers (`logbackup`). Sits above
//! `archive`/`storage`/`format`/`codec`; knows no engine or CLI.

pub mod catalog;
pub mod client;
pub mod error;
pub mod logbackup;
pub mod pd;
pub mod region;
pub mod server;
pub mod storage_backend;
pub mod store;

pub use client::ClusterClient;
pub use error::{ClusterError, Result};
pub use region::{Epoch, Region};
