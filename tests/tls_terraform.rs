//! A real `terraform apply` against the simulator behind TLS with a throwaway CA: with
//! `SSL_CERT_FILE` naming the CA, apply works with certificate verification on; without it,
//! apply fails at once (one connection, no retry) with a message about the certificate and how
//! to trust it.

#[path = "support/mod.rs"]
mod support;
mod tls_support;

use std::path::Path;

use support::{env_refs, terraform_1_0_3, LocalSimulator, TestWorkdir, TERRAFORM_BLOCK};
use tfws::workspace::simulator::RebootTiming;
use tls_support::{ThrowawayCa, TlsFront};

const PROVIDER: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");

fn resource(ids: &[&str]) -> String {
    let ids = serde_json::to_string(ids).expect("IDs as HCL");
    format!(
        "{TERRAFORM_BLOCK}resource \"workspace_app_server_reboot\" \"test\" {{\n  server_ids = {ids}\n}}\n"
    )
}

#[test]
fn apply_trusts_ssl_cert_file_and_reports_an_untrusted_certificate_at_once() {
    let simulator = LocalSimulator::with_servers(
        3,
        RebootTiming {
            pending_ms: 50,
            rebooting_ms: 100,
            registering_ms: 50,
        },
    );
    // The TLS front runs on a runtime of its own: `terraform` blocks this thread.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let ca = ThrowawayCa::new();
    let front = runtime.block_on(TlsFront::start(&ca, simulator.addr()));

    let mut env = simulator.provider_env();
    for (key, value) in &mut env {
        if key == "HW_WORKSPACE_ENDPOINT" {
            *value = front.base_url().to_string();
        }
    }
    // With dev_overrides (the workdir's default) `terraform init` is not needed.
    let cli = terraform_1_0_3();

    // Trusted through SSL_CERT_FILE: the reboot goes through, verification on.
    let trusted = TestWorkdir::new(Path::new(PROVIDER));
    trusted.write_main_tf(&resource(&["srv-0001", "srv-0002"]));
    let mut trusted_env = env.clone();
    trusted_env.push(("SSL_CERT_FILE".to_owned(), ca.ca_file.display().to_string()));
    trusted
        .apply(&cli, &[], &env_refs(&trusted_env))
        .assert_success();
    let counts = simulator.reboot_counts();
    assert_eq!(counts.get("srv-0001"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("srv-0002"), Some(&1), "{counts:?}");

    // Not trusted: one connection, no retry, and the message says what to do.
    let untrusted = TestWorkdir::new(Path::new(PROVIDER));
    untrusted.write_main_tf(&resource(&["srv-0003"]));
    let requests_before = simulator.requests().len();
    let connections_before = front.connections();
    let output = untrusted.apply(&cli, &[], &env_refs(&env));
    output.assert_failure();
    let text = output
        .combined()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for expected in ["not trusted", "UnknownIssuer", "SSL_CERT_FILE", "insecure"] {
        assert!(text.contains(expected), "{expected} missing: {text}");
    }
    // One connection per lookup, none retried: the plan's count of open sessions (skipped
    // quietly), the apply-time plan's, and the pre-flight, whose error is the one reported.
    assert_eq!(front.connections() - connections_before, 3, "{text}");
    assert_eq!(text.matches("is not trusted").count(), 1, "{text}");
    assert_eq!(simulator.requests().len(), requests_before);
    let untouched = simulator.reboot_counts().get("srv-0003").copied();
    assert_eq!(untouched.unwrap_or(0), 0);
}
