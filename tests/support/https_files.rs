//! A static-file HTTPS server on 127.0.0.1 with a throwaway certificate authority, for serving
//! a network-mirror tree to a real `terraform init`.
//!
//! - The CA and the server certificate (for the IP address 127.0.0.1) are made with rcgen for
//!   each server and written as a PEM file; hand it to Terraform as `SSL_CERT_FILE` (Go then
//!   trusts exactly that file instead of the system roots).
//! - `GET /a/b/c` answers the file `<root>/a/b/c`; a path with an empty, `.` or `..` segment,
//!   or naming no regular file, is 404. `.json` is served as `application/json`, everything
//!   else as `application/octet-stream`.
//! - Every request path is recorded, so a test can show what was actually fetched.
//! - It runs on a tokio runtime of its own (the test thread blocks on `terraform`), and stops
//!   when dropped.
//!
//! Include it from a test crate with `#[path = "support/https_files.rs"] mod https_files;`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub struct HttpsFileServer {
    runtime: Option<tokio::runtime::Runtime>,
    address: SocketAddr,
    ca_pem_path: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
}

impl HttpsFileServer {
    /// Serves the files under `root`; the CA certificate goes to `<ca_dir>/ca.pem`.
    pub fn start(root: &Path, ca_dir: &Path) -> HttpsFileServer {
        let (ca_pem, chain, key) = throwaway_certificates();
        let ca_pem_path = ca_dir.join("ca.pem");
        std::fs::write(&ca_pem_path, ca_pem)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", ca_pem_path.display()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .unwrap_or_else(|error| panic!("cannot configure TLS: {error}"));
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|error| panic!("cannot listen on 127.0.0.1: {error}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|error| panic!("cannot make the listener non-blocking: {error}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("no local address: {error}"));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-https-files")
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("cannot build the file server's runtime: {error}"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let root = root.to_path_buf();
        let log = Arc::clone(&requests);
        runtime.spawn(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => listener,
                Err(error) => panic!("cannot adopt the listener: {error}"),
            };
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let root = root.clone();
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    // A client that gives up on the handshake is its own business.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |request: Request<_>| {
                        let response = respond(&root, &log, &request);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        HttpsFileServer {
            runtime: Some(runtime),
            address,
            ca_pem_path,
            requests,
        }
    }

    /// `https://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> String {
        format!("https://{}/", self.address)
    }

    /// The PEM file of the CA that signed the server certificate.
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem_path
    }

    /// Every request path so far, in order.
    pub fn requests(&self) -> Vec<String> {
        match self.requests.lock() {
            Ok(log) => log.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl Drop for HttpsFileServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn respond<B>(
    root: &Path,
    log: &Mutex<Vec<String>>,
    request: &Request<B>,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    match log.lock() {
        Ok(mut log) => log.push(path.clone()),
        Err(poisoned) => poisoned.into_inner().push(path.clone()),
    }
    let file = file_for(root, &path).and_then(|file| std::fs::read(&file).ok());
    match (request.method() == hyper::Method::GET, file) {
        (true, Some(bytes)) => {
            let content_type = if path.ends_with(".json") {
                "application/json"
            } else {
                "application/octet-stream"
            };
            Response::builder()
                .header(hyper::header::CONTENT_TYPE, content_type)
                .body(Full::new(Bytes::from(bytes)))
                .unwrap_or_else(|error| panic!("cannot build a response: {error}"))
        }
        _ => {
            let mut response = Response::new(Full::new(Bytes::from_static(b"not found\n")));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}

/// The regular file a URL path names under `root`, refusing anything that could leave it.
fn file_for(root: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = url_path.strip_prefix('/')?;
    let mut file = root.to_path_buf();
    for segment in relative.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains('\\') {
            return None;
        }
        file.push(segment);
    }
    file.is_file().then_some(file)
}

/// A CA certificate (PEM) and a server chain plus key for 127.0.0.1 signed by it.
fn throwaway_certificates() -> (String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let made = || -> Result<_, rcgen::Error> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tfws test mirror CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let mut server_params = CertificateParams::new(vec!["127.0.0.1".to_owned()])?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate()?;
        let server_cert = server_params.signed_by(&server_key, &issuer)?;
        Ok((
            ca_cert.pem(),
            vec![server_cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        ))
    };
    made().unwrap_or_else(|error| panic!("cannot make the test certificates: {error}"))
}
