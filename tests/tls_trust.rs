//! The client over real TLS (no mocks): a throwaway CA, a server certificate for 127.0.0.1 and
//! a TLS front before a real simulator. Trusting the CA through the client's trust settings
//! (what `SSL_CERT_FILE` / `SSL_CERT_DIR` fill in) makes calls work with verification on;
//! without it a call fails after exactly one attempt with a message naming the certificate
//! problem and how to fix it. The trust settings are explicit values here, so these tests never
//! touch process-wide environment variables (`tls_env.rs` covers the variables themselves).

mod tls_support;

use std::time::Duration;

use tfws::workspace::error::ClientError;
use tfws::workspace::simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use tfws::workspace::{Client, ClientConfig, Credentials, TrustRoots};
use tls_support::{ThrowawayCa, TlsFront};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const AK: &str = "TLSTESTAK00000000001";
const SK: &str = "tls-test-secret-key-do-not-print";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";

async fn simulator() -> SimulatorHandle {
    let mut config = SimulatorConfig {
        project_id: PROJECT.to_owned(),
        server_count: 3,
        ..SimulatorConfig::default()
    };
    config
        .credentials
        .access_keys
        .push(Credentials::ak_sk(AK, SK));
    Simulator::start(config).await.expect("simulator starts")
}

fn client(front: &TlsFront, trust: TrustRoots) -> Client {
    let mut config = ClientConfig::new(front.base_url(), PROJECT, Credentials::ak_sk(AK, SK));
    config.trust = trust;
    config.insecure = false;
    config.max_requests_per_second = 10_000.0;
    config.retry_base_delay = Duration::from_millis(5);
    config.retry_max_delay = Duration::from_millis(20);
    config.request_timeout = Duration::from_secs(10);
    Client::new(config).expect("client builds")
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

#[tokio::test]
async fn the_ca_in_the_trust_settings_makes_https_work_with_verification_on() {
    let ca = ThrowawayCa::new();
    let sim = simulator().await;
    let front = TlsFront::start(&ca, sim.addr()).await;
    for trust in [
        TrustRoots {
            ca_files: vec![ca.ca_file.clone()],
            ..TrustRoots::bundled_only()
        },
        TrustRoots {
            ca_dirs: vec![ca.ca_dir.clone()],
            ..TrustRoots::bundled_only()
        },
    ] {
        let client = client(&front, trust);
        let server = client
            .get_server("srv-0002", &CancellationToken::new(), deadline())
            .await
            .expect("the server's certificate is trusted");
        assert_eq!(server.id, "srv-0002");
        assert_eq!(client.requests_sent(), 1);
    }
    // The signed request went through the front unchanged.
    assert!(sim.requests().iter().all(|r| r.status == Some(200)));
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unknown_ca_fails_at_once_saying_how_to_fix_it() {
    let ca = ThrowawayCa::new();
    let sim = simulator().await;
    let front = TlsFront::start(&ca, sim.addr()).await;
    // Default retries are in force: a certificate error must not use them.
    let client = client(&front, TrustRoots::bundled_only());
    assert_eq!(client.config().max_retries, 5);
    let error = client
        .get_server("srv-0001", &CancellationToken::new(), deadline())
        .await
        .expect_err("the throwaway CA is not trusted");
    assert!(matches!(error, ClientError::Tls { .. }), "{error:?}");
    assert!(!error.is_retryable());
    let message = error.to_string();
    for expected in [
        "certificate",
        "UnknownIssuer",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "insecure",
    ] {
        assert!(message.contains(expected), "{expected} missing: {message}");
    }
    assert_eq!(client.requests_sent(), 1, "{message}");
    assert_eq!(front.connections(), 1);
    assert!(sim.requests().is_empty(), "nothing reached the simulator");
    sim.shutdown().await;
}

#[tokio::test]
async fn insecure_skips_verification() {
    let ca = ThrowawayCa::new();
    let sim = simulator().await;
    let front = TlsFront::start(&ca, sim.addr()).await;
    let mut config = ClientConfig::new(front.base_url(), PROJECT, Credentials::ak_sk(AK, SK));
    config.trust = TrustRoots::bundled_only();
    config.insecure = true;
    config.max_requests_per_second = 10_000.0;
    let client = Client::new(config).expect("client builds");
    let server = client
        .get_server("srv-0003", &CancellationToken::new(), deadline())
        .await
        .expect("verification is off");
    assert_eq!(server.id, "srv-0003");
    sim.shutdown().await;
}
