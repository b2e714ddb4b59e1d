//! Client certificates like the one Terraform makes for AutoMTLS: a self-signed ECDSA P-521 CA
//! certificate for `localhost`. Made with the `openssl` command because no pure-Rust certificate
//! builder available here can sign with P-521 (ring lacks the curve).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A P-521 certificate and its PKCS#8 key, as PEM files in a directory.
pub struct P521Certificate {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_path: PathBuf,
}

/// Writes `<name>.pem` and `<name>.key` into `dir`; panics loudly when openssl is missing.
pub fn p521_certificate(dir: &Path, name: &str) -> P521Certificate {
    let key_path = dir.join(format!("{name}.key"));
    let cert_path = dir.join(format!("{name}.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
            "-nodes",
        ])
        .args([
            "-days",
            "1",
            "-sha512",
            "-subj",
            "/O=HashiCorp/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE", "-keyout"])
        .arg(&key_path)
        .arg("-out")
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
    }
}
