//! Which certificate authorities the client trusts, and what it says when a server's
//! certificate is not trusted.
//!
//! Rules:
//!
//! - **Bundled roots, always.** Mozilla's root store compiled into the binary (reqwest's
//!   `rustls-tls` roots), so a container without any CA store still reaches Huawei Cloud.
//! - **The system store**, unless [`TrustRoots::system`] is off: loaded with
//!   `rustls-native-certs`, i.e. the platform store (on Linux the bundle and directory that
//!   OpenSSL would use). As in OpenSSL and Go, `SSL_CERT_FILE` / `SSL_CERT_DIR`, when set, take
//!   the place of the probed Linux locations.
//! - **Extra CA files and directories** ([`TrustRoots::ca_files`], [`TrustRoots::ca_dirs`]),
//!   PEM. [`TrustRoots::from_env`] fills them from `SSL_CERT_FILE` and `SSL_CERT_DIR` (a
//!   path list), so the variables every Go provider honours work here too. They are an explicit
//!   value of the client's configuration so that tests (and callers) need not touch
//!   process-wide environment variables. A file that cannot be read, or holds no certificate, is
//!   a configuration error naming it: a typo in `SSL_CERT_FILE` should not surface later as an
//!   "unknown issuer".
//! - **A certificate error is final.** It is not retried (the next attempt would meet the same
//!   certificate) and its message says how to fix it: point `SSL_CERT_FILE` / `SSL_CERT_DIR` at
//!   the CA of the corporate proxy or private endpoint; `insecure = true` (`HW_INSECURE`) turns
//!   verification off altogether and is the last resort.
//!
//! Proxies are not configured here: reqwest reads `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY`
//! and `NO_PROXY` (upper or lower case) when the client is built, and the client never turns
//! that off. A TLS-intercepting proxy then needs its CA as above.

use std::error::Error as StdError;
use std::path::PathBuf;

use crate::workspace::error::ClientError;

/// Where trusted CA certificates come from, besides the bundled roots (always trusted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRoots {
    /// Trust the operating system's store (see the module documentation).
    pub system: bool,
    /// PEM files of extra CA certificates (default: `SSL_CERT_FILE`).
    pub ca_files: Vec<PathBuf>,
    /// Directories of PEM files of extra CA certificates (default: `SSL_CERT_DIR`).
    pub ca_dirs: Vec<PathBuf>,
}

impl Default for TrustRoots {
    fn default() -> Self {
        TrustRoots::from_env()
    }
}

impl TrustRoots {
    /// The system store plus `SSL_CERT_FILE` and `SSL_CERT_DIR` (a path list: `:`-separated on
    /// Unix) when set and not empty.
    pub fn from_env() -> Self {
        let ca_files = std::env::var_os("SSL_CERT_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .into_iter()
            .collect();
        let ca_dirs = std::env::var_os("SSL_CERT_DIR")
            .map(|v| {
                std::env::split_paths(&v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        TrustRoots {
            system: true,
            ca_files,
            ca_dirs,
        }
    }

    /// Only the bundled roots (plus whatever is added to the fields afterwards).
    pub fn bundled_only() -> Self {
        TrustRoots {
            system: false,
            ca_files: Vec::new(),
            ca_dirs: Vec::new(),
        }
    }

    /// Every extra root to hand to reqwest, DER-encoded: the system store's (certificates
    /// rustls cannot use are skipped, as stores often hold ancient ones) and the extra files'.
    pub(crate) fn load(&self) -> Result<Vec<Vec<u8>>, ClientError> {
        let mut roots = Vec::new();
        if self.system {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::debug!(%error, "system CA store: skipped");
            }
            roots.extend(found.certs);
        }
        for file in &self.ca_files {
            let found = rustls_native_certs::load_certs_from_paths(Some(file), None);
            if let Some(error) = found.errors.first() {
                return Err(ca_error(file, "SSL_CERT_FILE", &error.to_string()));
            }
            if found.certs.is_empty() {
                return Err(ca_error(
                    file,
                    "SSL_CERT_FILE",
                    "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                ));
            }
            roots.extend(found.certs);
        }
        for dir in &self.ca_dirs {
            let found = rustls_native_certs::load_certs_from_paths(None, Some(dir));
            if !dir.is_dir() {
                return Err(ca_error(dir, "SSL_CERT_DIR", "it is not a directory"));
            }
            for error in &found.errors {
                tracing::debug!(%error, dir = %dir.display(), "CA directory: skipped");
            }
            roots.extend(found.certs);
        }
        let mut probe = rustls::RootCertStore::empty();
        let usable: Vec<Vec<u8>> = roots
            .into_iter()
            .filter(|der| probe.add(der.clone()).is_ok())
            .map(|der| der.as_ref().to_vec())
            .collect();
        Ok(usable)
    }
}

fn ca_error(path: &std::path::Path, variable: &str, why: &str) -> ClientError {
    ClientError::InvalidConfig(format!(
        "the CA certificates at {} (from {variable} or the client's trust settings) cannot be \
         used: {why}",
        path.display()
    ))
}

/// What to do about an untrusted certificate; the end of every [`ClientError::Tls`] message.
pub const TLS_ADVICE: &str = "If a corporate TLS proxy or a private endpoint presents \
    certificates of its own certificate authority, set SSL_CERT_FILE to a PEM file holding that \
    CA certificate (or SSL_CERT_DIR to a directory of them); the system's CA store is trusted \
    too. Only as the last resort, `insecure = true` (HW_INSECURE) turns certificate \
    verification off altogether";

/// The certificate problem behind a failed request, if that is why it failed.
pub(crate) fn certificate_problem(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(err) = current {
        if let Some(problem) = rustls_problem(err) {
            return Some(problem);
        }
        // `io::Error::source` skips the error it wraps, so look inside explicitly: rustls'
        // errors reach reqwest wrapped in an `io::Error`.
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            // The inner error may be another `io::Error` (hyper wraps rustls' one again).
            current = Some(inner);
            continue;
        }
        current = err.source();
    }
    None
}

fn rustls_problem(err: &(dyn StdError + 'static)) -> Option<String> {
    match err.downcast_ref::<rustls::Error>()? {
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
            Some(err.to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_certificate_error_inside_io_errors() {
        let rustls_error =
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        // As reqwest reports it: an `io::Error` in an `io::Error` around rustls' error.
        let io = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls_error,
        ));
        let wrapped = ClientError::InvalidConfig("outer".into());
        assert_eq!(certificate_problem(&wrapped), None);
        let problem = certificate_problem(&io).expect("found");
        assert!(problem.contains("UnknownIssuer"), "{problem}");
        let other =
            std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert_eq!(certificate_problem(&other), None);
    }

    #[test]
    fn unusable_ca_files_are_configuration_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        for file in [missing, empty] {
            let roots = TrustRoots {
                ca_files: vec![file.clone()],
                ..TrustRoots::bundled_only()
            };
            let message = roots.load().unwrap_err().to_string();
            assert!(message.contains(&file.display().to_string()), "{message}");
            assert!(message.contains("SSL_CERT_FILE"), "{message}");
        }
        let not_a_dir = TrustRoots {
            ca_dirs: vec![dir.path().join("nope")],
            ..TrustRoots::bundled_only()
        };
        assert!(not_a_dir
            .load()
            .unwrap_err()
            .to_string()
            .contains("SSL_CERT_DIR"));
        assert_eq!(TrustRoots::bundled_only().load().unwrap().len(), 0);
    }

    #[test]
    fn ca_files_and_dirs_are_loaded() {
        let ca = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, ca.pem()).unwrap();
        let roots = TrustRoots {
            ca_files: vec![file],
            ca_dirs: vec![dir.path().to_path_buf()],
            ..TrustRoots::bundled_only()
        };
        let loaded = roots.load().unwrap();
        assert!(!loaded.is_empty());
        assert!(loaded.iter().all(|der| der == ca.der().as_ref()));
    }
}
