//! Generated protobuf types (prost) for the kvproto-compatible schema in `proto/`.
//! These structs stay at the edge: `format` converts them into domain types.
#![allow(clippy::all, missing_docs)]

/// `package backup` (kvproto brpb.proto).
pub mod backup {
    include!(concat!(env!("OUT_DIR"), "/backup.rs"));
}
/// `package encryptionpb`.
pub mod encryptionpb {
    include!(concat!(env!("OUT_DIR"), "/encryptionpb.rs"));
}
/// `package metapb`.
pub mod metapb {
    include!(concat!(env!("OUT_DIR"), "/metapb.rs"));
}
/// `package kvrpcpb`.
pub mod kvrpcpb {
    include!(concat!(env!("OUT_DIR"), "/kvrpcpb.rs"));
}
/// `package import_sstpb`.
pub mod import_sstpb {
    include!(concat!(env!("OUT_DIR"), "/import_sstpb.rs"));
}
