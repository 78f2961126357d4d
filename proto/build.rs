//! Compiles every contract under `proto/xieshang` once, with protox (pure
//! Rust, so a fresh machine needs no `protoc`), into `OUT_DIR`, and writes a
//! descriptor set for server reflection.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let files =
        ["xieshang/common/v1/common.proto", "xieshang/events/v1/events.proto", "xieshang/tenants/v1/tenants.proto"];
    println!("cargo:rerun-if-changed={}", root.join("xieshang").display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }

    let fds = protox::compile(files, [&root])?;
    std::fs::write(out.join("xieshang_descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds)?;
    Ok(())
}
