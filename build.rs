//! Generates the gRPC code for the plugin protocol from `proto/`.
//!
//! `protox` parses the `.proto` files in pure Rust (it also bundles the Google well-known
//! types), so building needs no `protoc` on the machine.
//!
//! It also records the git commit the binary is built from as `TFWS_GIT_COMMIT` (shown by
//! `--version`): the value of the `TFWS_GIT_COMMIT` environment variable when set (for builds
//! from a source archive), else `git rev-parse HEAD` when this crate is the top of a git
//! checkout, else `unknown`. It never fails the build.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    emit_git_commit();
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

/// Sets `TFWS_GIT_COMMIT` for the crate and asks cargo to rerun when the checked-out commit
/// moves (HEAD, the branch it points to, packed refs).
fn emit_git_commit() {
    println!("cargo:rerun-if-env-changed=TFWS_GIT_COMMIT");
    let commit = match std::env::var("TFWS_GIT_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => git_commit().unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=TFWS_GIT_COMMIT={commit}");
}

fn git_commit() -> Option<String> {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    // Only our own checkout: a crate vendored inside another repository must not report that
    // repository's commit.
    let top = PathBuf::from(git(&root, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != root.canonicalize().ok()? {
        return None;
    }
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&root, &["rev-parse", "--symbolic-full-name", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&root, &["rev-parse", "--git-path", &name]) {
            let path = root.join(path);
            // A missing path would make cargo rerun this script on every build.
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    git(&root, &["rev-parse", "HEAD"])
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}
