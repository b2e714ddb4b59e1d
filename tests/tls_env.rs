//! `SSL_CERT_FILE` and `SSL_CERT_DIR` reach the client's default trust settings. Environment
//! variables are process-wide, so this is a test binary of its own with a single test.

mod tls_support;

use std::time::Duration;

use tfws::workspace::simulator::{Simulator, SimulatorConfig};
use tfws::workspace::{Client, ClientConfig, Credentials, TrustRoots};
use tls_support::{ThrowawayCa, TlsFront};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const AK: &str = "TLSENVAK000000000001";
const SK: &str = "tls-env-secret-key-do-not-print";

#[tokio::test]
async fn ssl_cert_file_and_dir_are_the_default_extra_roots() {
    let ca = ThrowawayCa::new();
    let mut config = SimulatorConfig {
        server_count: 1,
        ..SimulatorConfig::default()
    };
    config
        .credentials
        .access_keys
        .push(Credentials::ak_sk(AK, SK));
    let sim = Simulator::start(config).await.expect("simulator starts");
    let front = TlsFront::start(&ca, sim.addr()).await;
    let call = |trust: Option<TrustRoots>| {
        let mut config = ClientConfig::new(
            front.base_url(),
            sim.project_id(),
            Credentials::ak_sk(AK, SK),
        );
        if let Some(trust) = trust {
            config.trust = trust;
        }
        config.max_requests_per_second = 10_000.0;
        config.retry_base_delay = Duration::from_millis(5);
        let client = Client::new(config).expect("client builds");
        async move {
            client
                .get_server(
                    "srv-0001",
                    &CancellationToken::new(),
                    Instant::now() + Duration::from_secs(60),
                )
                .await
        }
    };

    // Only this test runs in this process, so changing the environment races with nothing.
    std::env::remove_var("SSL_CERT_DIR");
    std::env::set_var("SSL_CERT_FILE", &ca.ca_file);
    let from_env = TrustRoots::from_env();
    assert_eq!(from_env.ca_files, vec![ca.ca_file.clone()]);
    assert!(from_env.system);
    call(None).await.expect("SSL_CERT_FILE names the CA");

    std::env::remove_var("SSL_CERT_FILE");
    std::env::set_var("SSL_CERT_DIR", &ca.ca_dir);
    assert_eq!(TrustRoots::from_env().ca_dirs, vec![ca.ca_dir.clone()]);
    call(None).await.expect("SSL_CERT_DIR holds the CA");

    std::env::remove_var("SSL_CERT_DIR");
    assert!(TrustRoots::from_env().ca_files.is_empty());
    let error = call(None)
        .await
        .expect_err("the system store lacks the throwaway CA");
    assert!(error.to_string().contains("SSL_CERT_FILE"), "{error}");
    // One connection per call: the certificate error was not retried.
    assert_eq!(front.connections(), 3);
    println!("{error}");
    sim.shutdown().await;
}
