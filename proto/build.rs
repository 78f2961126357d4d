//! Compiles every contract under `proto/xieshang` once, with protox (pure
//! Rust, so a fresh machine needs no `protoc`), into `OUT_DIR`, and writes a
//! descriptor set for server reflection.

use std::env;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env::var("OUT_DIR")?);
    // Every contract under xieshang/, so a new service only adds its .proto.
    let mut files = Vec::new();
    collect(&root, &root.join("xieshang"), &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed={}", root.join("xieshang").display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }

    let fds = protox::compile(&files, [&root])?;
    std::fs::write(out.join("xieshang_descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds)?;
    Ok(())
}

/// Paths (relative to `root`) of the .proto files below `dir`.
fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            let relative = path.strip_prefix(root).map_err(std::io::Error::other)?;
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}
