//! AutoMTLS as go-plugin does it: we present a fresh self-signed server certificate (sent to
//! Terraform in the handshake line) and accept exactly one client: the holder of the
//! certificate Terraform put in `PLUGIN_CLIENT_CERT`.
//!
//! Terraform's client certificate is a self-signed ECDSA P-521 CA certificate. rustls' `ring`
//! provider cannot verify P-521 signatures and webpki will not accept a CA certificate as an
//! end entity, so client authentication is done by [`PinnedClientCertVerifier`]: the
//! certificate must be byte-for-byte the pinned one, and its handshake signature is verified
//! (P-521 with RustCrypto's `p521`, everything else with ring).

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate: {0}")]
    BadClientCertificate(String),
    #[error("could not generate the server certificate: {0}")]
    CertificateGeneration(#[from] rcgen::Error),
    #[error("could not build the TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Our side of AutoMTLS: the TLS configuration and the DER of the certificate to announce.
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
    pub certificate_der: Vec<u8>,
}

/// Builds the server TLS configuration that requires the client certificate given as PEM.
pub fn server_tls(client_cert_pem: &str) -> Result<ServerTls, TlsSetupError> {
    let client_cert = CertificateDer::from_pem_slice(client_cert_pem.as_bytes())
        .map_err(|e| TlsSetupError::BadClientCertificate(e.to_string()))?;
    let (certificate_der, key_der) = generate_server_certificate()?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = PinnedClientCertVerifier::new(
        client_cert.into_owned(),
        provider.signature_verification_algorithms,
    )?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            vec![CertificateDer::from(certificate_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
        )?;
    // grpc-go (Terraform >= 1.12, OpenTofu >= 1.11) drops TLS connections that did not
    // negotiate HTTP/2 through ALPN.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(ServerTls {
        config: Arc::new(config),
        certificate_der,
    })
}

/// A fresh P-256 key and a self-signed certificate for `localhost`, valid from a little before
/// now. go-plugin's client uses this very certificate as its only root, so it is also a CA.
fn generate_server_certificate() -> Result<(Vec<u8>, Vec<u8>), rcgen::Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "HashiCorp");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let now = time::OffsetDateTime::now_utc();
    // Clock differences between us and Terraform are zero (same machine), but Go compares with
    // second precision: start a little in the past.
    params.not_before = now - time::Duration::seconds(30);
    params.not_after = now + time::Duration::days(365);
    let cert = params.self_signed(&key)?;
    Ok((cert.der().to_vec(), key.serialize_der()))
}

/// Accepts exactly one client certificate and verifies handshake signatures made with it.
pub struct PinnedClientCertVerifier {
    pinned: CertificateDer<'static>,
    /// The pinned certificate's P-521 key, when it has one.
    p521_key: Option<p521::ecdsa::VerifyingKey>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCertVerifier {
    pub fn new(
        pinned: CertificateDer<'static>,
        algorithms: WebPkiSupportedAlgorithms,
    ) -> Result<Self, TlsSetupError> {
        let p521_key = p521_key_of(&pinned)?;
        Ok(Self {
            pinned,
            p521_key,
            algorithms,
        })
    }

    fn verify_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
        tls13: bool,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if cert.as_ref() != self.pinned.as_ref() {
            return Err(rustls::Error::General(
                "handshake signed with an unexpected certificate".into(),
            ));
        }
        if dss.scheme == SignatureScheme::ECDSA_NISTP521_SHA512 {
            use p521::ecdsa::signature::Verifier;
            let key = self
                .p521_key
                .as_ref()
                .ok_or(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::BadSignature,
                ))?;
            let signature = p521::ecdsa::Signature::from_der(dss.signature()).map_err(|_| {
                rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature)
            })?;
            // p521's verifier hashes the message with SHA-512, as the scheme requires.
            return key
                .verify(message, &signature)
                .map(|()| HandshakeSignatureValid::assertion())
                .map_err(|_| {
                    rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature)
                });
        }
        if tls13 {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        } else {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
        }
    }
}

/// The P-521 public key of a certificate, or `None` when its key is of another kind.
fn p521_key_of(
    cert: &CertificateDer<'_>,
) -> Result<Option<p521::ecdsa::VerifyingKey>, TlsSetupError> {
    use x509_cert::der::Decode;
    let parsed = x509_cert::Certificate::from_der(cert.as_ref())
        .map_err(|e| TlsSetupError::BadClientCertificate(e.to_string()))?;
    let spki = &parsed.tbs_certificate.subject_public_key_info;
    let Some(key_bytes) = spki.subject_public_key.as_bytes() else {
        return Ok(None);
    };
    Ok(p521::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes).ok())
}

impl std::fmt::Debug for PinnedClientCertVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinnedClientCertVerifier")
            .field("pinned_len", &self.pinned.len())
            .field("p521", &self.p521_key.is_some())
            .finish()
    }
}

impl ClientCertVerifier for PinnedClientCertVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "client certificate is not the one given in PLUGIN_CLIENT_CERT".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify_signature(message, cert, dss, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify_signature(message, cert, dss, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let mut schemes = self.algorithms.supported_schemes();
        if self.p521_key.is_some() {
            schemes.insert(0, SignatureScheme::ECDSA_NISTP521_SHA512);
        }
        schemes
    }
}
