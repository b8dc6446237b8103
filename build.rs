//! Generates the protobuf types from `proto/` with prost. `protoc` comes from the
//! `protoc-bin-vendored` crate, so a fresh machine needs no system protobuf compiler.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    let protos = [
        "proto/brpb.proto",
        "proto/encryptionpb.proto",
        "proto/metapb.proto",
        "proto/kvrpcpb.proto",
        "proto/import_sstpb.proto",
    ];
    for p in &protos {
        println!("cargo:rerun-if-changed={p}");
    }
    prost_build::Config::new().compile_protos(&protos, &["proto"])?;
    Ok(())
}
