//! The provider started by the test in debug mode, for `TF_REATTACH_PROVIDERS`.
//!
//! `terraform-provider-workspace --debug --protocol-version 5|6` serves plaintext gRPC and
//! prints a line `TF_REATTACH_PROVIDERS='{"<address>":{...}}'`, then serves until killed.
//! Terraform then talks to that process instead of starting its own, which is how the tests
//! drive protocol 5 with a Terraform that would choose 6.
//!
//! The provider process belongs to the test, so environment fallbacks the provider reads
//! (`HW_*`) must be given to [`ReattachedProvider::start_with_env`], not to `terraform`.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{Map, Value};

use super::process::sanitized_env;
use super::PROVIDER_ADDRESSES;

const REATTACH_PREFIX: &str = "TF_REATTACH_PROVIDERS=";
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct ReattachedProvider {
    child: Child,
    reattach_value: String,
    protocol_version: u8,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl ReattachedProvider {
    /// Starts `provider_binary --debug --protocol-version <protocol_version>`.
    pub fn start(provider_binary: &Path, protocol_version: u8) -> ReattachedProvider {
        ReattachedProvider::start_with_env(provider_binary, protocol_version, &[])
    }

    /// As [`ReattachedProvider::start`], with extra environment for the provider process.
    pub fn start_with_env(
        provider_binary: &Path,
        protocol_version: u8,
        env: &[(&str, &str)],
    ) -> ReattachedProvider {
        let protocol_arg = protocol_version.to_string();
        let mut child = Command::new(provider_binary)
            .args(["--debug", "--protocol-version", &protocol_arg])
            .env_clear()
            .envs(sanitized_env(std::env::vars()))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start {} --debug: {error}",
                    provider_binary.display()
                )
            });

        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            thread::spawn(move || drain(pipe, Some(sink)));
        }
        let Some(stdout) = child.stdout.take() else {
            panic!("the provider's stdout was not captured");
        };
        let (line_sender, line_receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if let Some(rest) = line.trim().strip_prefix(REATTACH_PREFIX) {
                            let _ = line_sender.send(rest.to_string());
                            break;
                        }
                    }
                }
            }
            // Keep reading so that the provider never blocks on a full stdout pipe.
            drain(reader, None);
        });

        let mut provider = ReattachedProvider {
            child,
            reattach_value: String::new(),
            protocol_version,
            stderr,
        };
        let raw = match line_receiver.recv_timeout(START_TIMEOUT) {
            Ok(raw) => raw,
            Err(_) => panic!(
                "{} --debug printed no {REATTACH_PREFIX} line within {START_TIMEOUT:?}; stderr:\n{}",
                provider_binary.display(),
                provider.stderr()
            ),
        };
        provider.reattach_value = reattach_value_for_all_addresses(&raw, protocol_version)
            .unwrap_or_else(|message| {
                panic!(
                    "bad {REATTACH_PREFIX} line {raw:?}: {message}; stderr:\n{}",
                    provider.stderr()
                )
            });
        provider
    }

    /// The value for `TF_REATTACH_PROVIDERS`, keyed by both provider addresses.
    pub fn reattach_value(&self) -> &str {
        &self.reattach_value
    }

    /// `("TF_REATTACH_PROVIDERS", value)`, ready to pass as a command's environment.
    pub fn env(&self) -> (&'static str, &str) {
        ("TF_REATTACH_PROVIDERS", &self.reattach_value)
    }

    pub fn protocol_version(&self) -> u8 {
        self.protocol_version
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the provider wrote to stderr so far (its logs).
    pub fn stderr(&self) -> String {
        match self.stderr.lock() {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(poisoned) => String::from_utf8_lossy(&poisoned.into_inner()).into_owned(),
        }
    }
}

impl Drop for ReattachedProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses what follows `TF_REATTACH_PROVIDERS=` (a single-quoted, or bare, JSON object with one
/// entry), checks the protocol version, and returns a JSON object giving the same entry under
/// every address in [`PROVIDER_ADDRESSES`], so that the value works whatever address the
/// provider itself printed and whichever CLI (Terraform or OpenTofu) reads it.
pub fn reattach_value_for_all_addresses(raw: &str, protocol_version: u8) -> Result<String, String> {
    let trimmed = raw.trim();
    let json_text = trimmed
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap_or(trimmed);
    let parsed: Value =
        serde_json::from_str(json_text).map_err(|error| format!("not JSON: {error}"))?;
    let entries = parsed.as_object().ok_or("not a JSON object")?;
    let mut values = entries.values();
    let (Some(entry), None) = (values.next(), values.next()) else {
        return Err(format!(
            "expected exactly one provider, found {}",
            entries.len()
        ));
    };
    let printed_version = entry.get("ProtocolVersion").and_then(Value::as_u64);
    if printed_version != Some(u64::from(protocol_version)) {
        return Err(format!(
            "ProtocolVersion is {printed_version:?}, expected {protocol_version}"
        ));
    }
    let address = entry.pointer("/Addr/String").and_then(Value::as_str);
    if address.is_none_or(str::is_empty) {
        return Err("Addr.String is missing".to_string());
    }
    let mut rekeyed = Map::new();
    for address in PROVIDER_ADDRESSES {
        rekeyed.insert(address.to_string(), entry.clone());
    }
    Ok(Value::Object(rekeyed).to_string())
}

fn drain<R: Read>(mut pipe: R, sink: Option<Arc<Mutex<Vec<u8>>>>) {
    let mut buffer = [0u8; 8192];
    loop {
        match pipe.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(read) => {
                if let Some(sink) = &sink {
                    match sink.lock() {
                        Ok(mut bytes) => bytes.extend_from_slice(&buffer[..read]),
                        Err(poisoned) => poisoned.into_inner().extend_from_slice(&buffer[..read]),
                    }
                }
            }
        }
    }
}
