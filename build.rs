//! Generates the protobuf types and gRPC stubs from `proto/` with prost and tonic. `protoc`
//! comes from the `protoc-bin-vendored` crate, so a fresh machine needs no system protobuf
//! compiler.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    let protos = [
        "proto/brpb.proto",
        "proto/encryptionpb.proto",
        "proto/metapb.proto",
        "proto/kvrpcpb.proto",
        "proto/errorpb.proto",
        "proto/import_sstpb.proto",
        "proto/pdpb.proto",
        "proto/brkitpb.proto",
        "proto/logbackuppb.proto",
    ];
    for p in &protos {
        println!("cargo:rerun-if-changed={p}");
    }
    tonic_prost_build::configure().compile_protos(&protos, &["proto"])?;
    Ok(())
}
