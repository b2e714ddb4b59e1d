//! A throwaway certificate authority and a TLS front (tokio-rustls) that terminates TLS for
//! 127.0.0.1 and forwards the plain bytes to a simulator: the client then speaks real HTTPS,
//! with real certificate verification, to a real simulator. Kept in the tests because the
//! simulator itself serves plain HTTP.

// Each TLS test binary uses a different part of this helper.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A CA made for one test, its certificate written to a PEM file, and a server certificate for
/// `127.0.0.1` that it signed.
pub struct ThrowawayCa {
    _dir: tempfile::TempDir,
    /// The CA certificate, PEM (what `SSL_CERT_FILE` names).
    pub ca_file: PathBuf,
    /// A directory holding only the CA certificate (what `SSL_CERT_DIR` names).
    pub ca_dir: PathBuf,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl ThrowawayCa {
    pub fn new() -> ThrowawayCa {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tfws throwaway test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");

        // `127.0.0.1` becomes an IP-address subject alternative name.
        let mut server_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("server params");
        server_params
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        let server_key = KeyPair::generate().expect("server key");
        let server_cert = server_params
            .signed_by(&server_key, &ca)
            .expect("server certificate");

        let dir = tempfile::tempdir().expect("temporary directory");
        let ca_file = dir.path().join("throwaway-ca.pem");
        std::fs::write(&ca_file, ca.pem()).expect("CA file written");
        let ca_dir = dir.path().join("certs");
        std::fs::create_dir(&ca_dir).expect("CA directory");
        std::fs::write(ca_dir.join("throwaway-ca.pem"), ca.pem()).expect("CA copy written");
        ThrowawayCa {
            ca_file,
            ca_dir,
            server_chain: vec![server_cert.der().clone()],
            server_key: server_key.serialize_der(),
            _dir: dir,
        }
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                self.server_chain.clone(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone())),
            )
            .expect("server TLS configuration");
        // No ALPN: the client speaks HTTP/1.1, which the simulator serves.
        Arc::new(config)
    }
}

/// A TLS front listening on 127.0.0.1, forwarding every connection to `backend`.
pub struct TlsFront {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl TlsFront {
    pub async fn start(ca: &ThrowawayCa, backend: SocketAddr) -> TlsFront {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let acceptor = TlsAcceptor::from(ca.server_config());
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that rejects the certificate ends the handshake: nothing to do.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsFront { addr, connections }
    }

    /// `https://127.0.0.1:<port>/`.
    pub fn base_url(&self) -> url::Url {
        url::Url::parse(&format!("https://{}/", self.addr)).expect("front URL")
    }

    /// TCP connections accepted so far (one per attempt that got as far as connecting).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
