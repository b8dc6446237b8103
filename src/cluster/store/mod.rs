//! Stores: one RocksDB per store (filled in by the store work).
