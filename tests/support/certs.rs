//! Client certificates like the one Terraform makes for AutoMTLS: a self-signed ECDSA P-521 CA
//! certificate for `localhost`. Made with the `openssl` command because no pure-Rust certificate
//! builder available here can sign with P-521 (ring lacks the curve).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A P-521 certificate and its PKCS#8 key, as PEM files in a directory.
#[derive(Clone)]
pub struct P521Certificate {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

/// Writes `<name>.pem` and `<name>.key` into `dir`; panics loudly when openssl is missing.
pub fn p521_certificate(dir: &Path, name: &str) -> P521Certificate {
    make(dir, name, None)
}

/// Another certificate for the key of `existing`: same key, different certificate bytes.
pub fn p521_certificate_with_key_of(
    dir: &Path,
    name: &str,
    existing: &P521Certificate,
) -> P521Certificate {
    make(dir, name, Some(&existing.key_path))
}

fn make(dir: &Path, name: &str, existing_key: Option<&Path>) -> P521Certificate {
    let key_path = dir.join(format!("{name}.key"));
    let cert_path = dir.join(format!("{name}.pem"));
    let mut command = Command::new("openssl");
    command.args(["req", "-x509", "-nodes"]);
    match existing_key {
        Some(key) => {
            std::fs::copy(key, &key_path)
                .unwrap_or_else(|error| panic!("cannot copy the key: {error}"));
            command.arg("-key").arg(&key_path);
        }
        None => {
            command
                .args([
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-521",
                    "-keyout",
                ])
                .arg(&key_path);
        }
    }
    let status = command
        .args([
            "-days",
            "1",
            "-sha512",
            "-subj",
            &format!("/O=HashiCorp/CN=localhost/OU={name}"),
        ])
        .args(["-addext", "subjectAltName=DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE", "-out"])
        .arg(&cert_path)
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|error| {
            panic!("openssl is needed to make a P-521 test certificate: {error}")
        });
    assert!(
        status.success(),
        "openssl could not make a P-521 certificate"
    );
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
    };
    P521Certificate {
        cert_pem: read(&cert_path),
        key_pem: read(&key_path),
        cert_path,
        key_path,
    }
}
