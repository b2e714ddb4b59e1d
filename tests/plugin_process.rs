//! The provider binary as a process, the way go-plugin starts it: the cookie check, the
//! handshake line, AutoMTLS that admits only the pinned client certificate (P-521, like
//! Terraform's), the side services, and Shutdown.

#[path = "support/mod.rs"]
mod support;

use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tfws::protocol::proto::{health, plugin, tfplugin6};
use tonic::transport::{Channel, Endpoint};

const PROVIDER: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");
const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

#[test]
fn run_by_hand_explains_and_exits_1() {
    let output = Command::new(PROVIDER)
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .expect("run provider");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output.stdout.is_empty(),
        "nothing on stdout: {:?}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("This binary is a plugin"), "{stderr}");
}

/// A client identity like Terraform's: a self-signed P-521 CA certificate and its key.
struct ClientIdentity {
    cert_pem: String,
    cert_der: Vec<u8>,
    key: p521::ecdsa::SigningKey,
}

fn p521_identity(dir: &Path, name: &str) -> ClientIdentity {
    identity_of(support::certs::p521_certificate(dir, name))
}

fn identity_of(made: support::certs::P521Certificate) -> ClientIdentity {
    use p521::pkcs8::DecodePrivateKey;
    use rustls::pki_types::pem::PemObject;
    let cert_der = CertificateDer::from_pem_slice(made.cert_pem.as_bytes())
        .unwrap()
        .to_vec();
    let secret = p521::SecretKey::from_pkcs8_pem(&made.key_pem).expect("P-521 PKCS#8 key");
    let key = p521::ecdsa::SigningKey::from_bytes(&secret.to_bytes()).expect("P-521 signing key");
    ClientIdentity {
        cert_pem: made.cert_pem,
        cert_der,
        key,
    }
}

struct RunningProvider {
    child: Child,
    socket: PathBuf,
    server_cert_der: Vec<u8>,
    handshake: String,
}

impl Drop for RunningProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_provider(client_cert_pem: &str, versions: &str) -> RunningProvider {
    use base64::Engine;
    let mut child = Command::new(PROVIDER)
        .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
        .env("PLUGIN_PROTOCOL_VERSIONS", versions)
        .env("PLUGIN_CLIENT_CERT", client_cert_pem)
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start provider");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("handshake line");
    let handshake = line.trim_end().to_owned();
    let fields: Vec<&str> = handshake.split('|').collect();
    assert_eq!(fields.len(), 6, "six handshake fields: {handshake}");
    let server_cert_der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(fields[5])
        .expect("unpadded standard base64 certificate");
    RunningProvider {
        socket: PathBuf::from(fields[3]),
        server_cert_der,
        handshake: handshake.clone(),
        child,
    }
}

/// Pins the provider's certificate from the handshake line, as go-plugin does.
#[derive(Debug)]
struct PinnedServer(Vec<u8>);

impl rustls::client::danger::ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_slice() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "unexpected server certificate".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Client-side P-521 signing, which ring cannot do.
struct P521Key(p521::ecdsa::SigningKey);

impl std::fmt::Debug for P521Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("P521Key")
    }
}

impl rustls::sign::SigningKey for P521Key {
    fn choose_scheme(
        &self,
        offered: &[rustls::SignatureScheme],
    ) -> Option<Box<dyn rustls::sign::Signer>> {
        offered
            .contains(&rustls::SignatureScheme::ECDSA_NISTP521_SHA512)
            .then(|| Box::new(P521Signer(self.0.clone())) as Box<dyn rustls::sign::Signer>)
    }

    fn algorithm(&self) -> rustls::SignatureAlgorithm {
        rustls::SignatureAlgorithm::ECDSA
    }
}

struct P521Signer(p521::ecdsa::SigningKey);

impl std::fmt::Debug for P521Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("P521Signer")
    }
}

impl rustls::sign::Signer for P521Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        use p521::ecdsa::signature::Signer;
        let signature: p521::ecdsa::Signature = self.0.sign(message);
        Ok(signature.to_der().as_bytes().to_vec())
    }

    fn scheme(&self) -> rustls::SignatureScheme {
        rustls::SignatureScheme::ECDSA_NISTP521_SHA512
    }
}

#[derive(Debug)]
struct FixedIdentity(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for FixedIdentity {
    fn resolve(
        &self,
        _: &[&[u8]],
        _: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

async fn connect(
    provider: &RunningProvider,
    identity: Option<&ClientIdentity>,
) -> Result<Channel, tonic::transport::Error> {
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(PinnedServer(provider.server_cert_der.clone())));
    let mut config = match identity {
        Some(id) => builder.with_client_cert_resolver(Arc::new(FixedIdentity(Arc::new(
            rustls::sign::CertifiedKey::new(
                vec![CertificateDer::from(id.cert_der.clone())],
                Arc::new(P521Key(id.key.clone())),
            ),
        )))),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let socket = provider.socket.clone();
    Endpoint::try_from("http://localhost")?
        .connect_with_connector(tower::service_fn(move |_| {
            let connector = connector.clone();
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                let tls = connector
                    .connect(ServerName::try_from("localhost").unwrap(), stream)
                    .await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await
}

async fn health_check(channel: Channel) -> Result<i32, tonic::Status> {
    let mut client = health::health_client::HealthClient::new(channel);
    let answer = client
        .check(health::HealthCheckRequest {
            service: "plugin".into(),
        })
        .await?;
    Ok(answer.into_inner().status)
}

#[tokio::test]
async fn handshake_mtls_health_schema_and_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let terraform_like = p521_identity(dir.path(), "terraform");
    let provider = start_provider(&terraform_like.cert_pem, "5,6");
    assert!(
        provider.handshake.starts_with("1|6|unix|"),
        "{}",
        provider.handshake
    );
    assert!(
        provider.handshake.contains("|grpc|"),
        "{}",
        provider.handshake
    );
    assert!(provider.socket.exists(), "socket file exists while serving");

    let channel = connect(&provider, Some(&terraform_like))
        .await
        .expect("mTLS connection with the pinned P-521 certificate");
    assert_eq!(
        health_check(channel.clone()).await.expect("health"),
        1,
        "SERVING"
    );

    let mut tf = tfplugin6::provider_client::ProviderClient::new(channel.clone());
    let schema = tf
        .get_provider_schema(tfplugin6::get_provider_schema::Request::default())
        .await
        .expect("schema")
        .into_inner();
    assert!(schema.provider.is_some(), "provider schema always present");
    assert!(schema
        .resource_schemas
        .contains_key("workspace_app_server_reboot"));

    let mut controller = plugin::grpc_controller_client::GrpcControllerClient::new(channel);
    let asked = Instant::now();
    controller
        .shutdown(plugin::Empty {})
        .await
        .expect("shutdown answered");
    let mut provider = provider;
    // Terraform kills a plugin 2 s after asking it to shut down; we must be gone well before.
    loop {
        if let Some(status) = provider.child.try_wait().unwrap() {
            assert!(status.success(), "clean exit: {status:?}");
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "provider still running 2 s after Shutdown"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!provider.socket.exists(), "socket removed on exit");
}

#[tokio::test]
async fn protocol_5_when_only_5_offered() {
    let dir = tempfile::tempdir().unwrap();
    let id = p521_identity(dir.path(), "terraform");
    let provider = start_provider(&id.cert_pem, "5");
    assert!(
        provider.handshake.starts_with("1|5|unix|"),
        "{}",
        provider.handshake
    );
}

#[tokio::test]
async fn clients_without_the_pinned_certificate_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let terraform_cert = support::certs::p521_certificate(dir.path(), "terraform");
    let terraform_like = identity_of(terraform_cert.clone());
    let impostor = p521_identity(dir.path(), "impostor");
    // Holds Terraform's key but presents another certificate: only the DER pin stops it.
    let same_key = identity_of(support::certs::p521_certificate_with_key_of(
        dir.path(),
        "same-key",
        &terraform_cert,
    ));
    assert_ne!(same_key.cert_der, terraform_like.cert_der);
    let provider = start_provider(&terraform_like.cert_pem, "6");

    // In TLS 1.3 the client may finish its side before the server rejects its certificate, so
    // refusal shows either at connect time or on the first call.
    for (label, identity) in [
        ("no certificate", None),
        ("another certificate", Some(&impostor)),
        ("another certificate for the pinned key", Some(&same_key)),
    ] {
        let refused = match connect(&provider, identity).await {
            Err(_) => true,
            Ok(channel) => health_check(channel).await.is_err(),
        };
        assert!(refused, "a client with {label} must be refused");
    }
    // The rightful client still gets in afterwards.
    let channel = connect(&provider, Some(&terraform_like))
        .await
        .expect("pinned client connects");
    assert_eq!(health_check(channel).await.expect("health"), 1);
}

#[tokio::test]
async fn sigint_is_ignored_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let id = p521_identity(dir.path(), "terraform");
    let mut provider = start_provider(&id.cert_pem, "6");
    let pid = provider.child.id().to_string();

    // Ctrl-C reaches the whole process group; Terraform handles it through StopProvider, so
    // the provider must keep serving.
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());
    let channel = connect(&provider, Some(&id))
        .await
        .expect("still accepting after SIGINT");
    assert_eq!(
        health_check(channel)
            .await
            .expect("still serving after SIGINT"),
        1
    );
    assert!(
        provider.child.try_wait().unwrap().is_none(),
        "SIGINT must not stop the provider"
    );

    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let asked = Instant::now();
    let status = loop {
        if let Some(status) = provider.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "provider ignored SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
    assert!(!provider.socket.exists(), "socket removed on SIGTERM");
}
