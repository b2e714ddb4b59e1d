//! Start-up figures of the provider binary as Terraform runs it (with `PLUGIN_CLIENT_CERT`):
//! median time from exec to the handshake line, peak RSS of an idle provider (VmHWM), and the
//! size of the stripped release binary. Prints figures; asserts nothing about speed.
//!
//! Run: `cargo bench --bench startup`

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROVIDER: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");
const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const RUNS: usize = 41;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cert_pem = support::certs::p521_certificate(dir.path(), "terraform").cert_pem;

    let mut handshake_times = Vec::with_capacity(RUNS);
    let mut idle_peaks_kib = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut child = Command::new(PROVIDER)
            .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_CLIENT_CERT", &cert_pem)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start provider");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        stdout.read_line(&mut line).expect("handshake");
        handshake_times.push(started.elapsed());
        assert!(
            line.starts_with("1|6|unix|"),
            "unexpected handshake {line:?}"
        );
        // Let it settle as an idle provider waiting for Terraform's first call.
        std::thread::sleep(Duration::from_millis(50));
        idle_peaks_kib.push(vm_hwm_kib(child.id()).unwrap_or(0));
        let _ = child.kill();
        let _ = child.wait();
    }
    handshake_times.sort();
    idle_peaks_kib.sort();
    let median = handshake_times[RUNS / 2];
    let size = std::fs::metadata(PROVIDER).map(|m| m.len()).unwrap_or(0);
    println!("startup benchmark ({RUNS} runs, PLUGIN_CLIENT_CERT = P-521 certificate)");
    println!(
        "  exec -> handshake line: median {:.2} ms (min {:.2} ms, max {:.2} ms)",
        ms(median),
        ms(handshake_times[0]),
        ms(handshake_times[RUNS - 1])
    );
    println!(
        "  idle peak RSS (VmHWM):  median {:.2} MiB (max {:.2} MiB)",
        idle_peaks_kib[RUNS / 2] as f64 / 1024.0,
        idle_peaks_kib[RUNS - 1] as f64 / 1024.0
    );
    println!(
        "  binary size:            {:.2} MB ({} bytes, {PROVIDER})",
        size as f64 / 1e6,
        size
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
