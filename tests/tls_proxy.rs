//! `HTTPS_PROXY` and `NO_PROXY` reach the client: an HTTPS call goes through a CONNECT proxy
//! (as behind a corporate proxy) with the private CA trusted, and a host in `NO_PROXY` is
//! reached directly. Environment variables are process-wide, so this is a test binary of its
//! own with a single test.

mod tls_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tfws::workspace::simulator::{Simulator, SimulatorConfig};
use tfws::workspace::{Client, ClientConfig, Credentials, TrustRoots};
use tls_support::{ThrowawayCa, TlsFront};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const AK: &str = "PROXYTESTAK000000001";
const SK: &str = "proxy-test-secret-key-do-not-print";

/// A minimal HTTP CONNECT proxy on 127.0.0.1; remembers the target of every CONNECT.
async fn connect_proxy() -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read_exact(&mut byte).await.is_err() || head.len() > 8192 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let mut words = head.split_whitespace();
                let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
                    let _ = client
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                        .await;
                    return;
                };
                log.lock().expect("log").push(target.to_owned());
                let Ok(mut upstream) = TcpStream::connect(target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn https_proxy_is_used_and_no_proxy_bypasses_it() {
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
    let (proxy, seen) = connect_proxy().await;
    let call = || {
        let mut config = ClientConfig::new(
            front.base_url(),
            sim.project_id(),
            Credentials::ak_sk(AK, SK),
        );
        config.trust = TrustRoots {
            ca_files: vec![ca.ca_file.clone()],
            ..TrustRoots::bundled_only()
        };
        config.max_requests_per_second = 10_000.0;
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
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "no_proxy",
        "https_proxy",
    ] {
        std::env::remove_var(name);
    }
    std::env::set_var("HTTPS_PROXY", format!("http://{proxy}"));
    std::env::remove_var("NO_PROXY");
    call().await.expect("through the proxy");
    assert_eq!(*seen.lock().expect("log"), vec![front.addr.to_string()]);

    std::env::set_var("NO_PROXY", "127.0.0.1");
    call().await.expect("directly");
    assert_eq!(
        seen.lock().expect("log").len(),
        1,
        "NO_PROXY bypasses the proxy"
    );
    assert_eq!(front.connections(), 2);
    sim.shutdown().await;
}
