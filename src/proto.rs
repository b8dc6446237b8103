//! Generated protobuf types (prost) and gRPC stubs (tonic) for the kvproto-compatible schema in
//! `proto/`.
//! These structs stay at the edge: `format` converts them into domain types.
#![allow(clippy::all, missing_docs, nonstandard_style)]

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
/// `package errorpb`: region errors.
pub mod errorpb {
    include!(concat!(env!("OUT_DIR"), "/errorpb.rs"));
}
/// `package pdpb`: the placement driver's service.
pub mod pdpb {
    include!(concat!(env!("OUT_DIR"), "/pdpb.rs"));
}
/// `package brkitpb`: brkit's transaction, catalog and admin services.
pub mod brkitpb {
    include!(concat!(env!("OUT_DIR"), "/brkitpb.rs"));
}
/// `package logbackuppb`: brkit's log backup task service.
pub mod logbackuppb {
    include!(concat!(env!("OUT_DIR"), "/logbackuppb.rs"));
}
