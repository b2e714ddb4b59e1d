//! Generates the gRPC code for the plugin protocol from `proto/`.
//!
//! `protox` parses the `.proto` files in pure Rust (it also bundles the Google well-known
//! types), so building needs no `protoc` on the machine.

use std::error::Error;

const PROTO_DIR: &str = "proto";

const PROTO_FILES: &[&str] = &[
    "proto/tfplugin5.proto",
    "proto/tfplugin6.proto",
    "proto/plugin/grpc_controller.proto",
    "proto/plugin/grpc_stdio.proto",
    "proto/plugin/grpc_broker.proto",
    "proto/health.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={PROTO_DIR}");
    for file in PROTO_FILES {
        println!("cargo:rerun-if-changed={file}");
    }

    // Imports resolve against proto/ itself; google/protobuf/*.proto come from protox.
    let descriptors = protox::compile(PROTO_FILES, [PROTO_DIR])?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
