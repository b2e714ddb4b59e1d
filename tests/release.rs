//! The release files `scripts/release.sh` writes, checked the way their users meet them.
//!
//! - The files themselves: SHA256SUMS verifies and covers exactly the zips and the manifest;
//!   the zip holds one executable, `terraform-provider-workspace_v<VERSION>`, whose
//!   `--version` names the version and commit; the manifest lists exactly the protocol
//!   versions the binary agrees to in the go-plugin handshake (and serves: the schema is read
//!   over each); the mirror documents carry the `h1:` hash computed here independently from
//!   the zip; a second run gives byte-identical files; with a throwaway GPG key the signature
//!   is a binary detached signature that verifies (skipped with a note when `gpg` is missing).
//! - The install path: the mirror tree is served over HTTPS on 127.0.0.1 under a throwaway CA
//!   (trusted through `SSL_CERT_FILE`), a real Terraform 1.0.3 `init` installs the provider
//!   from it as a network mirror (for `tfws/workspace`, and for the OpenTofu half of the tree
//!   through the full source `registry.opentofu.org/tfws/workspace`), the lock file records
//!   the `h1:` hash, and `apply` against the simulator works with the installed copy.
//!
//! Which binary is packaged: by default the test's own build of the provider, handed to the
//! script as `TFWS_RELEASE_BINARY`, so the suite does not pay for a size-optimised fat-LTO
//! release build (minutes); the packaging, hashing and installing are the same for any binary.
//! The copy packaged is run through `strip` when that is installed (symbols and debug info
//! only: about 160 MB down to 23 MB, which every zip, hash and `init` here handles). Set
//! `TFWS_TEST_RELEASE_BUILD=1` to let the script run its own `cargo build --release --locked`.

#[path = "support/https_files.rs"]
mod https_files;
#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::process::{run_command, CommandOutput};
use support::{InstallMethod, LocalSimulator, TestWorkdir};
use tempfile::TempDir;
use tfws::protocol::proto::{tfplugin5, tfplugin6};
use tfws::workspace::simulator::RebootTiming;

const PROVIDER: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const REPO: &str = env!("CARGO_MANIFEST_DIR");
const PREFIX: &str = "terraform-provider-workspace";
const PLATFORM: &str = "linux_amd64";
/// go-plugin's cookie for Terraform providers (hashicorp/terraform `plugin.Handshake`).
const MAGIC_COOKIE: (&str, &str) = (
    "TF_PLUGIN_MAGIC_COOKIE",
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
);
const REGISTRY_HOSTS: [&str; 2] = ["registry.terraform.io", "registry.opentofu.org"];

/// Variables of the script that must come from the test alone.
const SCRIPT_VARIABLES: [&str; 8] = [
    "TFWS_DIST_DIR",
    "TFWS_RELEASE_BINARY",
    "TFWS_RELEASE_PLATFORMS",
    "GPG_FINGERPRINT",
    "GNUPGHOME",
    "SOURCE_DATE_EPOCH",
    "TFWS_GIT_COMMIT",
    "TF_CLI_CONFIG_FILE",
];

// ------------------------------------------------------------------------------- fixtures

/// True when the script is to build the release binary itself.
fn script_builds() -> bool {
    std::env::var("TFWS_TEST_RELEASE_BUILD").as_deref() == Ok("1")
}

/// One run of `scripts/release.sh` into a temporary directory.
struct Dist {
    dir: TempDir,
    /// The binary that went into the zip.
    binary: PathBuf,
    /// Holds the stripped copy of the provider, when one was made.
    _binary_dir: Option<TempDir>,
    output: CommandOutput,
}

impl Dist {
    /// Runs the script (host platform only) with `extra` variables.
    fn make(extra: &[(&str, &str)]) -> Dist {
        let dir = tempfile::Builder::new()
            .prefix("tfws-dist-")
            .tempdir()
            .expect("temp dir");
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(key, _)| !SCRIPT_VARIABLES.contains(&key.as_str()))
            .collect();
        let dist_dir = dir.path().display().to_string();
        env.push(("TFWS_DIST_DIR".into(), dist_dir));
        env.push(("TFWS_RELEASE_PLATFORMS".into(), PLATFORM.into()));
        let (binary, binary_dir) = if script_builds() {
            (cargo_target_directory().join("release").join(PREFIX), None)
        } else {
            let (binary, binary_dir) = prebuilt_binary();
            env.push(("TFWS_RELEASE_BINARY".into(), binary.display().to_string()));
            (binary, binary_dir)
        };
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        // A cold size-optimised fat-LTO build takes minutes; packaging takes seconds.
        let timeout = Duration::from_secs(if script_builds() { 3600 } else { 300 });
        let output = run_command(
            Path::new("bash"),
            &["scripts/release.sh"],
            Path::new(REPO),
            &env,
            timeout,
        );
        output.assert_success();
        Dist {
            dir,
            binary,
            _binary_dir: binary_dir,
            output,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    fn zip_name() -> String {
        format!("{PREFIX}_{VERSION}_{PLATFORM}.zip")
    }

    fn manifest_name() -> String {
        format!("{PREFIX}_{VERSION}_manifest.json")
    }

    fn sums_name() -> String {
        format!("{PREFIX}_{VERSION}_SHA256SUMS")
    }

    fn provider_dir(&self, host: &str) -> PathBuf {
        self.path()
            .join("mirror")
            .join(host)
            .join("tfws")
            .join("workspace")
    }
}

/// The test's own provider binary, stripped into a temp dir when `strip` is installed.
fn prebuilt_binary() -> (PathBuf, Option<TempDir>) {
    if support::cli::find_executable("strip").is_none() {
        eprintln!("note: strip is not installed: packaging the unstripped {PROVIDER}");
        return (PathBuf::from(PROVIDER), None);
    }
    let dir = tempfile::Builder::new()
        .prefix("tfws-stripped-")
        .tempdir()
        .expect("temp dir");
    let stripped = dir.path().join(PREFIX);
    let status = Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(PROVIDER)
        .status()
        .expect("run strip");
    assert!(
        status.success(),
        "strip -o {} {PROVIDER} failed",
        stripped.display()
    );
    (stripped, Some(dir))
}

fn cargo_target_directory() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(REPO)
        .output()
        .expect("cargo metadata");
    assert!(output.status.success(), "cargo metadata failed");
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    PathBuf::from(
        metadata["target_directory"]
            .as_str()
            .expect("target_directory"),
    )
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&read(path))
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The files in a zip: name → (unix mode, content).
fn zip_entries(path: &Path) -> BTreeMap<String, (Option<u32>, Vec<u8>)> {
    let file = std::fs::File::open(path).expect("open zip");
    let mut archive = zip::ZipArchive::new(file).expect("a readable zip");
    let mut entries = BTreeMap::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).expect("zip entry");
        if entry.is_dir() {
            continue;
        }
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("zip entry content");
        entries.insert(entry.name().to_owned(), (entry.unix_mode(), content));
    }
    entries
}

/// Go's dirhash Hash1 (golang.org/x/mod/sumdb/dirhash) over the files in a zip: the `h1:`
/// hash Terraform and OpenTofu record in `.terraform.lock.hcl`.
fn hash1(entries: &BTreeMap<String, (Option<u32>, Vec<u8>)>) -> String {
    use base64::Engine;
    let mut summary = String::new();
    // BTreeMap iterates in byte order of the names, as dirhash sorts them.
    for (name, (_, content)) in entries {
        summary.push_str(&format!("{}  {name}\n", sha256_hex(content)));
    }
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(summary.as_bytes()))
    )
}

/// The zip's binary written out with the mode the zip gives it.
fn extract_binary(dist: &Dist, into: &Path) -> PathBuf {
    let entries = zip_entries(&dist.file(&Dist::zip_name()));
    let name = format!("{PREFIX}_v{VERSION}");
    let (mode, content) = entries
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} in the zip: {:?}", entries.keys()));
    let path = into.join(&name);
    std::fs::write(&path, content).expect("write the binary");
    let mode = mode.expect("the zip entry carries a unix mode") & 0o7777;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

// ------------------------------------------------------------------------------- handshake

/// How the binary answered a go-plugin start offering some protocol versions.
enum Handshake {
    /// It printed the handshake line (and is serving on the socket named there).
    Served { line: String, child: Child },
    /// It exited without one.
    Refused { stderr: String },
}

/// Starts `binary` as go-plugin does (cookie, offered versions, no client certificate, so it
/// serves plaintext gRPC on its unix socket).
fn start_plugin(binary: &Path, offered: &str) -> Handshake {
    let mut child = Command::new(binary)
        .env_clear()
        .env(MAGIC_COOKIE.0, MAGIC_COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", offered)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the provider");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = receiver
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_default();
    if line.trim().is_empty() {
        let _ = child.kill();
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        let _ = child.wait();
        Handshake::Refused { stderr }
    } else {
        Handshake::Served {
            line: line.trim_end().to_owned(),
            child,
        }
    }
}

/// The resource types a plugin serving `protocol` on `socket` (plaintext) reports.
async fn resource_types(socket: PathBuf, protocol: u32) -> Vec<String> {
    let channel = tonic::transport::Endpoint::try_from("http://localhost")
        .expect("endpoint")
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await
        .expect("connect to the plugin socket");
    let mut types: Vec<String> = match protocol {
        5 => tfplugin5::provider_client::ProviderClient::new(channel)
            .get_schema(tfplugin5::get_provider_schema::Request::default())
            .await
            .expect("tfplugin5 GetSchema")
            .into_inner()
            .resource_schemas
            .into_keys()
            .collect(),
        6 => tfplugin6::provider_client::ProviderClient::new(channel)
            .get_provider_schema(tfplugin6::get_provider_schema::Request::default())
            .await
            .expect("tfplugin6 GetProviderSchema")
            .into_inner()
            .resource_schemas
            .into_keys()
            .collect(),
        other => panic!("no client for protocol {other}"),
    };
    types.sort();
    types
}

/// The protocol major versions a manifest lists (`"5.0"` → 5).
fn manifest_majors(manifest: &Value) -> Vec<u32> {
    manifest["metadata"]["protocol_versions"]
        .as_array()
        .unwrap_or_else(|| panic!("no protocol_versions in {manifest}"))
        .iter()
        .map(|version| {
            let text = version.as_str().expect("a version string");
            let major = text
                .strip_suffix(".0")
                .unwrap_or_else(|| panic!("{text:?} is not MAJOR.0"));
            major.parse().expect("a numeric major version")
        })
        .collect()
}

/// The binary agrees to exactly the versions the manifest lists, picks the highest when offered
/// all of them, and serves the provider schema over each.
fn check_manifest_against_binary(binary: &Path, manifest: &Value) {
    let listed = manifest_majors(manifest);
    assert!(!listed.is_empty(), "the manifest lists no protocol version");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for offered in 1..=9u32 {
        match start_plugin(binary, &offered.to_string()) {
            Handshake::Served { line, mut child } => {
                let fields: Vec<&str> = line.split('|').collect();
                assert_eq!(fields.len(), 6, "handshake line {line:?}");
                assert!(
                    listed.contains(&offered),
                    "the binary serves protocol {offered}, which the manifest {manifest} does not list"
                );
                assert_eq!(fields[1], offered.to_string(), "handshake line {line:?}");
                let types = runtime.block_on(resource_types(PathBuf::from(fields[3]), offered));
                assert!(
                    types.iter().any(|t| t == support::REBOOT_RESOURCE_TYPE),
                    "protocol {offered}: resource types {types:?}"
                );
                let _ = child.kill();
                let _ = child.wait();
            }
            Handshake::Refused { stderr } => assert!(
                !listed.contains(&offered),
                "the manifest lists protocol {offered}, but the binary refused it: {stderr}"
            ),
        }
    }
    let all = listed
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    match start_plugin(binary, &all) {
        Handshake::Served { line, mut child } => {
            let highest = listed.iter().max().copied().unwrap_or_default();
            assert_eq!(line.split('|').nth(1), Some(highest.to_string().as_str()));
            let _ = child.kill();
            let _ = child.wait();
        }
        Handshake::Refused { stderr } => panic!("offered {all}, the binary refused: {stderr}"),
    }
}

// ------------------------------------------------------------------------------- GPG

/// A throwaway signing key in its own GNUPGHOME; the agent it starts is stopped on drop.
struct ThrowawayGpg {
    home: TempDir,
    fingerprint: String,
}

impl ThrowawayGpg {
    /// `None` when gpg is not installed.
    fn create() -> Option<ThrowawayGpg> {
        support::cli::find_executable("gpg")?;
        // Short path: gpg-agent's socket path must fit in a unix socket address.
        let home = tempfile::Builder::new()
            .prefix("tfws-gpg-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod GNUPGHOME");
        let mut gpg = ThrowawayGpg {
            home,
            fingerprint: String::new(),
        };
        gpg.run(&[
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            "tfws release test <release-test@example.invalid>",
            "rsa2048",
            "sign",
            "1d",
        ])
        .assert_success();
        let listing = gpg.run(&["--with-colons", "--list-secret-keys"]);
        listing.assert_success();
        gpg.fingerprint = listing
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix("fpr:"))
            .map(|rest| rest.trim_matches(':').to_owned())
            .unwrap_or_else(|| panic!("no fingerprint in:\n{listing}"));
        Some(gpg)
    }

    fn home(&self) -> String {
        self.home.path().display().to_string()
    }

    fn run(&self, args: &[&str]) -> CommandOutput {
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(key, _)| key != "GNUPGHOME")
            .collect();
        env.push(("GNUPGHOME".into(), self.home()));
        let mut all = vec!["--batch"];
        all.extend_from_slice(args);
        run_command(
            Path::new("gpg"),
            &all,
            self.home.path(),
            &env,
            Duration::from_secs(120),
        )
    }
}

impl Drop for ThrowawayGpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", self.home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

// ------------------------------------------------------------------------------- the tests

#[test]
fn release_files_verify_describe_the_binary_and_repeat_byte_for_byte() {
    let first = Dist::make(&[]);
    let listed: Vec<String> = {
        let mut names: Vec<String> = std::fs::read_dir(first.path())
            .expect("read dist")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into())
            .collect();
        names.sort();
        names
    };
    let mut expected = vec![
        Dist::zip_name(),
        Dist::sums_name(),
        Dist::manifest_name(),
        "mirror".to_owned(),
    ];
    expected.sort();
    assert_eq!(
        listed, expected,
        "dist holds exactly these (no signature without a key)\n{}",
        first.output
    );
    assert!(
        first.output.stderr.contains("GPG_FINGERPRINT is not set"),
        "the missing signature is noted:\n{}",
        first.output
    );

    // SHA256SUMS: the zips and the manifest, each hash right, in sha256sum's own format.
    let sums = String::from_utf8(read(&first.file(&Dist::sums_name()))).expect("UTF-8");
    let mut summed = Vec::new();
    for line in sums.lines() {
        let (hash, name) = line
            .split_once("  ")
            .unwrap_or_else(|| panic!("not a sha256sum line: {line:?}"));
        assert_eq!(
            hash,
            sha256_hex(&read(&first.file(name))),
            "SHA256SUMS hash of {name}"
        );
        summed.push(name.to_owned());
    }
    summed.sort();
    let mut covered = vec![Dist::zip_name(), Dist::manifest_name()];
    covered.sort();
    assert_eq!(summed, covered, "what SHA256SUMS covers");
    run_command(
        Path::new("sha256sum"),
        &["--check", "--strict", &Dist::sums_name()],
        first.path(),
        &std::env::vars().collect::<Vec<_>>(),
        Duration::from_secs(120),
    )
    .assert_success();

    // The zip: exactly one file, the binary under its registry name, executable.
    let entries = zip_entries(&first.file(&Dist::zip_name()));
    let binary_name = format!("{PREFIX}_v{VERSION}");
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        vec![&binary_name],
        "zip entries"
    );
    let (mode, content) = &entries[&binary_name];
    assert_eq!(*mode, Some(0o100755), "a regular file with mode 0755");
    assert!(
        *content == read(&first.binary),
        "the zip holds {} unchanged",
        first.binary.display()
    );
    let scratch = TempDir::new().expect("temp dir");
    let extracted = extract_binary(&first, scratch.path());
    let version_output = Command::new(&extracted)
        .arg("--version")
        .output()
        .expect("run --version");
    assert!(version_output.status.success());
    let version_line = String::from_utf8_lossy(&version_output.stdout)
        .trim()
        .to_owned();
    let commit = version_line
        .strip_prefix(&format!("{PREFIX} {VERSION} (commit "))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("--version printed {version_line:?}"));
    match git_head() {
        Some(head) => assert_eq!(commit, head, "--version names the checked-out commit"),
        None => assert_eq!(commit, "unknown"),
    }

    // The manifest: the repository's protocol versions, which the binary negotiates exactly.
    let manifest = read_json(&first.file(&Dist::manifest_name()));
    let top_level = read_json(&Path::new(REPO).join("terraform-registry-manifest.json"));
    assert_eq!(
        manifest, top_level,
        "the release manifest is the repository's"
    );
    assert_eq!(
        manifest,
        json!({"version": 1, "metadata": {"protocol_versions": ["5.0", "6.0"]}})
    );
    check_manifest_against_binary(&extracted, &manifest);

    // The mirror tree: both hosts, the version, the zip beside its document, the h1: hash.
    let h1 = hash1(&entries);
    for host in REGISTRY_HOSTS {
        let dir = first.provider_dir(host);
        assert_eq!(
            read_json(&dir.join("index.json")),
            json!({"versions": {VERSION: {}}}),
            "{host} index.json"
        );
        let document = read_json(&dir.join(format!("{VERSION}.json")));
        let archives = document["archives"]
            .as_object()
            .unwrap_or_else(|| panic!("{host}: no archives in {document}"));
        assert_eq!(
            archives.keys().collect::<Vec<_>>(),
            vec![PLATFORM],
            "{host}"
        );
        let archive = &archives[PLATFORM];
        assert_eq!(archive["hashes"], json!([h1]), "{host}: h1 of the zip");
        let url = archive["url"].as_str().expect("url");
        assert!(
            !url.contains("://") && !url.starts_with('/'),
            "{host}: relative URL, got {url}"
        );
        assert!(
            read(&dir.join(url)) == read(&first.file(&Dist::zip_name())),
            "{host}: the zip the URL names is the released one"
        );
    }

    // A second run, signing with a throwaway key when gpg is here: the same bytes.
    let gpg = ThrowawayGpg::create();
    let second = match &gpg {
        Some(gpg) => {
            let home = gpg.home();
            Dist::make(&[
                ("GNUPGHOME", home.as_str()),
                ("GPG_FINGERPRINT", gpg.fingerprint.as_str()),
            ])
        }
        None => {
            eprintln!("note: gpg is not installed: the SHA256SUMS signature is not tested");
            Dist::make(&[])
        }
    };
    for name in [Dist::zip_name(), Dist::sums_name(), Dist::manifest_name()] {
        assert!(
            read(&first.file(&name)) == read(&second.file(&name)),
            "{name} differs between two runs"
        );
    }
    for host in REGISTRY_HOSTS {
        for document in ["index.json".to_owned(), format!("{VERSION}.json")] {
            assert_eq!(
                read(&first.provider_dir(host).join(&document)),
                read(&second.provider_dir(host).join(&document)),
                "{host}/{document} differs between two runs"
            );
        }
    }

    if let Some(gpg) = &gpg {
        let sums_path = second.file(&Dist::sums_name());
        let signature_path = second.file(&format!("{}.sig", Dist::sums_name()));
        let signature = read(&signature_path);
        // A binary OpenPGP packet has its top bit set; ASCII armour starts with "-----BEGIN".
        assert!(
            signature.first().is_some_and(|byte| byte & 0x80 != 0),
            "the signature is binary, not armoured"
        );
        let (sig, data) = (
            signature_path.display().to_string(),
            sums_path.display().to_string(),
        );
        gpg.run(&["--verify", &sig, &data]).assert_success();
        // …and it is a signature of that file: a changed SHA256SUMS does not verify.
        let tampered = scratch.path().join("tampered_SHA256SUMS");
        let mut bytes = read(&sums_path);
        bytes.extend_from_slice(b"0000  extra.zip\n");
        std::fs::write(&tampered, bytes).expect("write");
        gpg.run(&["--verify", &sig, &tampered.display().to_string()])
            .assert_failure();
    }
}

fn git_head() -> Option<String> {
    let output = Command::new("git")
        .args(["-C", REPO, "rev-parse", "--show-toplevel", "HEAD"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let mut lines = text.lines();
    let top = PathBuf::from(lines.next()?);
    // Same rule as build.rs: only when this crate is the top of the checkout.
    if top.canonicalize().ok()? != Path::new(REPO).canonicalize().ok()? {
        return None;
    }
    lines.next().map(str::to_owned)
}

/// Where `terraform init` gets the provider from.
enum Mirror<'a> {
    /// `network_mirror { url = … }`, the CA trusted through `SSL_CERT_FILE`.
    Network(&'a https_files::HttpsFileServer),
    /// `filesystem_mirror { path = … }`.
    Filesystem(&'a Path),
}

/// A working directory whose CLI config installs only from `mirror`, with a configuration
/// requiring this version from `source` and rebooting srv-0001 and srv-0003.
fn mirror_workdir(mirror: &Mirror<'_>, source: &str) -> TestWorkdir {
    // ReattachOnly leaves no way to install the provider; the config written below adds one.
    let workdir = TestWorkdir::with_install(Path::new(PROVIDER), InstallMethod::ReattachOnly);
    let installation = match mirror {
        Mirror::Network(server) => format!(
            "  network_mirror {{\n    url = {}\n  }}\n",
            json!(server.base_url())
        ),
        Mirror::Filesystem(path) => format!(
            "  filesystem_mirror {{\n    path = {}\n  }}\n",
            json!(path.display().to_string())
        ),
    };
    std::fs::write(
        workdir.cli_config_path(),
        format!("provider_installation {{\n{installation}}}\n"),
    )
    .expect("write the CLI config");
    workdir.write_main_tf(&format!(
        r#"terraform {{
  required_providers {{
    workspace = {{
      source  = "{source}"
      version = "{VERSION}"
    }}
  }}
}}

provider "workspace" {{}}

resource "workspace_app_server_reboot" "r" {{
  server_ids = ["srv-0001", "srv-0003"]
}}
"#
    ));
    workdir
}

/// The hashes the lock file records for `address`, after checking its version.
fn locked_hashes(workdir: &TestWorkdir, address: &str) -> Vec<String> {
    let lock = String::from_utf8(read(&workdir.path().join(".terraform.lock.hcl")))
        .expect("UTF-8 lock file");
    let block = lock
        .split_once(&format!("provider \"{address}\" {{"))
        .map(|(_, rest)| rest.split_once("\n}").map_or(rest, |(block, _)| block))
        .unwrap_or_else(|| panic!("no block for {address} in:\n{lock}"));
    assert!(
        block.contains(&format!("version     = \"{VERSION}\"")),
        "{address}: version in\n{lock}"
    );
    block
        .split('"')
        .filter(|piece| piece.starts_with("h1:") || piece.starts_with("zh:"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn terraform_installs_the_release_from_https_and_filesystem_mirrors_and_applies() {
    let dist = Dist::make(&[]);
    let h1 = hash1(&zip_entries(&dist.file(&Dist::zip_name())));
    let certificates = TempDir::new().expect("temp dir");
    let mirror_root = dist.path().join("mirror");
    let server = https_files::HttpsFileServer::start(&mirror_root, certificates.path());
    let ssl_cert_file = server.ca_pem_path().display().to_string();
    let cli = support::terraform_1_0_3();
    let released_binary = read(&dist.binary);

    let cases = [
        (
            Mirror::Network(&server),
            support::PROVIDER_SOURCE,
            support::TERRAFORM_PROVIDER_ADDRESS,
        ),
        (
            Mirror::Network(&server),
            support::OPENTOFU_PROVIDER_ADDRESS,
            support::OPENTOFU_PROVIDER_ADDRESS,
        ),
        (
            Mirror::Filesystem(&mirror_root),
            support::PROVIDER_SOURCE,
            support::TERRAFORM_PROVIDER_ADDRESS,
        ),
    ];
    for (mirror, source, address) in cases {
        let (kind, host) = match mirror {
            Mirror::Network(_) => ("HTTPS network mirror", address.split('/').next()),
            Mirror::Filesystem(_) => ("filesystem mirror", None),
        };
        let workdir = mirror_workdir(&mirror, source);
        let tls_env = [("SSL_CERT_FILE", ssl_cert_file.as_str())];

        let started = Instant::now();
        let init = workdir.init(&cli, &tls_env);
        let init_time = started.elapsed();
        init.assert_success();
        eprintln!(
            "figure: terraform {} init of {address} from the {kind}: {:.2} s",
            cli.version,
            init_time.as_secs_f64()
        );

        // Installed from this mirror, through this host's half of the tree.
        if let Some(host) = host {
            let requests = server.requests();
            for fetched in [
                format!("/{host}/tfws/workspace/index.json"),
                format!("/{host}/tfws/workspace/{VERSION}.json"),
                format!("/{host}/tfws/workspace/{}", Dist::zip_name()),
            ] {
                assert!(
                    requests.contains(&fetched),
                    "{address}: {fetched} was not fetched; requests: {requests:?}\n{init}"
                );
            }
        }
        let installed = workdir
            .path()
            .join(".terraform/providers")
            .join(address)
            .join(VERSION)
            .join(PLATFORM)
            .join(format!("{PREFIX}_v{VERSION}"));
        assert!(
            read(&installed) == released_binary,
            "{} is the released binary",
            installed.display()
        );

        // The lock file records the h1: hash of the zip's contents, and nothing else.
        assert_eq!(
            locked_hashes(&workdir, address),
            vec![h1.clone()],
            "{kind}, {address}"
        );

        // The installed copy works: a real apply against the simulator.
        let simulator = LocalSimulator::with_servers(
            3,
            RebootTiming {
                pending_ms: 50,
                rebooting_ms: 100,
                registering_ms: 50,
            },
        );
        let env = simulator.provider_env();
        let apply = workdir.apply(&cli, &[], &support::env_refs(&env));
        apply.assert_success();
        let counts = simulator.reboot_counts();
        assert_eq!(counts.get("srv-0001"), Some(&1), "{counts:?}\n{apply}");
        assert_eq!(counts.get("srv-0002"), Some(&0), "{counts:?}\n{apply}");
        assert_eq!(counts.get("srv-0003"), Some(&1), "{counts:?}\n{apply}");
    }
}

#[test]
fn terraform_refuses_a_mirrored_zip_whose_h1_hash_does_not_match() {
    let dist = Dist::make(&[]);
    let provider_dir = dist.provider_dir("registry.terraform.io");
    let document_path = provider_dir.join(format!("{VERSION}.json"));
    let mut document = read_json(&document_path);
    let good = hash1(&zip_entries(&dist.file(&Dist::zip_name())));
    // The h1: of something else: the zip itself is untouched.
    let wrong = hash1(&BTreeMap::from([(
        format!("{PREFIX}_v{VERSION}"),
        (None, b"not the released binary".to_vec()),
    )]));
    assert_ne!(good, wrong);
    document["archives"][PLATFORM]["hashes"] = json!([wrong]);
    std::fs::write(&document_path, document.to_string()).expect("rewrite the document");

    let certificates = TempDir::new().expect("temp dir");
    let server =
        https_files::HttpsFileServer::start(&dist.path().join("mirror"), certificates.path());
    let ssl_cert_file = server.ca_pem_path().display().to_string();
    let cli = support::terraform_1_0_3();
    let workdir = mirror_workdir(&Mirror::Network(&server), support::PROVIDER_SOURCE);
    let init = workdir.init(&cli, &[("SSL_CERT_FILE", ssl_cert_file.as_str())]);
    init.assert_failure();
    assert!(
        server.requests().contains(&format!(
            "/registry.terraform.io/tfws/workspace/{}",
            Dist::zip_name()
        )),
        "the zip was fetched (the refusal is the hash check): {:?}\n{init}",
        server.requests()
    );
    assert!(
        init.combined().to_lowercase().contains("checksum"),
        "refused for its checksum:\n{init}"
    );
    assert!(
        !workdir
            .path()
            .join(".terraform/providers")
            .join(support::TERRAFORM_PROVIDER_ADDRESS)
            .exists(),
        "nothing installed"
    );
}
