//! The embedded TiKV-compatible cluster: a placement driver (`pd`: TSO, stores, regions, GC
//! safepoints), stores on RocksDB (`store`: MVCC keys exactly as TiKV lays them out, backup and
//! import endpoints), and the gRPC server and client that connect them to the BR side
//! (`server`, `client`). Sits above `archive`/`storage`/`format`/`codec`; knows no engine or
//! CLI.

pub mod catalog;
pub mod pd;
pub mod region;
pub mod store;

pub use region::{Epoch, Region};
