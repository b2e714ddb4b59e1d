//! `terraform apply` of many `workspace_app_server_reboot` resources with a real Terraform 1.0.3
//! against the in-process simulator: 100 resources of 20 servers each (2,000 servers),
//! `-parallelism=10`, no simulated latency, short reboots. Measured twice: with
//! `wait_for_ready = true` (polling every 50 ms) and with `wait_for_ready = false`.
//!
//! Prints per run: the apply's wall time; the API requests the simulator saw (batch reboots,
//! server polls, lists); how many provider processes Terraform started and their total CPU time
//! (user + system), also per resource; Terraform's own CPU time; and the CPU time of this
//! process, which serves the simulator.
//!
//! How provider CPU is measured: the CLI config's `dev_overrides` points at a temporary
//! directory whose `terraform-provider-workspace` is a shell script that execs this bench binary
//! in wrapper mode. The wrapper starts the real (bench-profile) provider, reaps it with `wait4`
//! and writes the provider's `rusage` to a file, one per process, before exiting with the
//! provider's status. Terraform's own CPU is the `RUSAGE_CHILDREN` growth of this process over
//! the apply (Terraform reaps its plugins, so that includes them) minus the providers and the
//! wrappers.
//!
//! A third mode measures the figures of issue 8 for the 100-resource apply against a quota per
//! API, as Huawei's gateway counts: the simulator answers 429 `APIG.0308` beyond 10 requests a
//! second to one API (a token bucket per API), the provider's budget of each API is set just
//! below it (`max_requests_per_second` 9), the poll interval is 2 s; printed: wall time, all API
//! requests, the 429 answers and their share of all requests. One run (it takes minutes: every
//! request of one API in the apply shares that API's budget).
//!
//! Asserts correctness only, never speed: the apply exits 0, every server was rebooted exactly
//! once by one batch request per resource, with `wait_for_ready` every server is idle again when
//! the apply returns, and every provider process reported its CPU time.
//!
//! Run: `cargo bench --features simulator --bench terraform_apply` (3 runs per mode; `TFWS_BENCH_QUICK=1` for one).
//! Under `cargo test --all-targets` it runs one small smoke apply (5 resources) instead.

#[path = "../tests/support/mod.rs"]
mod support;

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::{
    terraform_1_0_3, LocalSimulator, TerraformCli, TestWorkdir, REBOOT_RESOURCE_TYPE,
    TERRAFORM_BLOCK,
};
use tfws::workspace::simulator::{
    CredentialsConfig, InjectedFault, Operation, QuotaFault, RebootPhase, RebootTiming,
    SimulatorConfig, SimulatorHandle,
};
use tfws::workspace::Credentials;

const PROVIDER: &str = env!("CARGO_BIN_EXE_terraform-provider-workspace");
/// First argument that turns this binary into the provider wrapper (see the module docs).
const WRAPPER_FLAG: &str = "--provider-wrapper";
/// Name Terraform looks for in a `dev_overrides` directory.
const PROVIDER_FILE_NAME: &str = "terraform-provider-workspace";

const ACCESS_KEY: &str = "BENCHAPPLYAK00000001";
const SECRET_KEY: &str = "bench-apply-secret-key";
const SERVERS_PER_RESOURCE: usize = 20;
const PARALLELISM: u32 = 10;
const POLL_INTERVAL: &str = "50ms";
/// The quota mode: the quota per API, the provider's budget per API and its poll interval.
const QUOTA_PER_SECOND: u32 = 10;
const QUOTA_BUDGET: &str = "9";
const QUOTA_POLL_INTERVAL: &str = "2s";
const REBOOT_TIMING: RebootTiming = RebootTiming {
    pending_ms: 50,
    rebooting_ms: 100,
    registering_ms: 50,
};

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|arg| arg == WRAPPER_FLAG) {
        std::process::exit(wrapper::run(&args[2..]));
    }
    let bench_mode = args.iter().any(|arg| arg == "--bench");
    let quick = std::env::var_os("TFWS_BENCH_QUICK").is_some_and(|value| value != "0");

    let cli = terraform_1_0_3();

    if !bench_mode {
        // Test mode: one small apply checks the plumbing (wrapper, accounting, assertions).
        let scenario = Scenario {
            resources: 5,
            wait_for_ready: true,
            quota: None,
        };
        let run = run_apply(&cli, &scenario);
        println!("terraform_apply smoke ({cli}): {}", run.summary(&scenario));
        return;
    }

    let runs = if quick { 1 } else { 3 };
    println!(
        "terraform apply benchmark: {cli}, 100 {REBOOT_RESOURCE_TYPE} x {SERVERS_PER_RESOURCE} \
         servers, -parallelism={PARALLELISM}, simulator latency 0 ms, reboot {} ms pending + {} \
         ms rebooting, HW_WORKSPACE_POLL_INTERVAL={POLL_INTERVAL}, {runs} run(s) per mode",
        REBOOT_TIMING.pending_ms, REBOOT_TIMING.rebooting_ms
    );
    println!("  provider: {PROVIDER}");
    for wait_for_ready in [true, false] {
        let scenario = Scenario {
            resources: 100,
            wait_for_ready,
            quota: None,
        };
        println!("  wait_for_ready = {wait_for_ready}:");
        let mut measured = Vec::with_capacity(runs);
        for run_number in 1..=runs {
            let run = run_apply(&cli, &scenario);
            println!("    run {run_number}: {}", run.summary(&scenario));
            measured.push(run);
        }
        if runs > 1 {
            println!("    median: {}", Run::median(&measured).summary(&scenario));
        }
    }
    let scenario = Scenario {
        resources: 100,
        wait_for_ready: true,
        quota: Some(QUOTA_PER_SECOND),
    };
    println!(
        "  quota {QUOTA_PER_SECOND} requests/s per API, max_requests_per_second = {QUOTA_BUDGET}, \
         HW_WORKSPACE_POLL_INTERVAL={QUOTA_POLL_INTERVAL}, wait_for_ready = true (1 run):"
    );
    let run = run_apply(&cli, &scenario);
    println!("    run 1: {}", run.summary(&scenario));
}

struct Scenario {
    resources: usize,
    wait_for_ready: bool,
    /// The quota in requests per second per API, if any.
    quota: Option<u32>,
}

impl Scenario {
    fn server_count(&self) -> usize {
        self.resources * SERVERS_PER_RESOURCE
    }
}

/// What one apply cost.
#[derive(Clone)]
struct Run {
    wall: Duration,
    batch_reboots: usize,
    polls: usize,
    lists: usize,
    other_requests: usize,
    /// Every request the simulator logged, and those answered 429 by the quota.
    all_requests: usize,
    throttled: usize,
    provider_processes: usize,
    provider_cpu: Duration,
    provider_peak_rss_kib: u64,
    terraform_cpu: Duration,
    simulator_cpu: Duration,
}

impl Run {
    fn requests(&self) -> usize {
        self.batch_reboots + self.polls + self.lists + self.other_requests
    }

    fn summary(&self, scenario: &Scenario) -> String {
        let per_resource = self.provider_cpu / u32::try_from(scenario.resources).unwrap_or(1);
        format!(
            "wall {:.2} s | API requests {} ({} batch reboots, {} polls, {} lists, {} other) | \
             429 answers {} ({:.1} % of {} requests) | \
             {} provider processes: CPU {:.3} s total, {:.2} ms per resource, peak RSS {:.1} MiB | \
             terraform CPU {:.2} s | simulator (bench process) CPU {:.2} s",
            self.wall.as_secs_f64(),
            self.requests(),
            self.batch_reboots,
            self.polls,
            self.lists,
            self.other_requests,
            self.throttled,
            100.0 * self.throttled as f64 / self.all_requests.max(1) as f64,
            self.all_requests,
            self.provider_processes,
            self.provider_cpu.as_secs_f64(),
            per_resource.as_secs_f64() * 1000.0,
            self.provider_peak_rss_kib as f64 / 1024.0,
            self.terraform_cpu.as_secs_f64(),
            self.simulator_cpu.as_secs_f64(),
        )
    }

    /// Median of each figure separately (runs are few, figures independent enough to show).
    fn median(runs: &[Run]) -> Run {
        fn mid<T: Ord + Copy>(runs: &[Run], pick: impl Fn(&Run) -> T) -> T {
            let mut values: Vec<T> = runs.iter().map(pick).collect();
            values.sort();
            values[values.len() / 2]
        }
        Run {
            wall: mid(runs, |r| r.wall),
            batch_reboots: mid(runs, |r| r.batch_reboots),
            polls: mid(runs, |r| r.polls),
            lists: mid(runs, |r| r.lists),
            other_requests: mid(runs, |r| r.other_requests),
            all_requests: mid(runs, |r| r.all_requests),
            throttled: mid(runs, |r| r.throttled),
            provider_processes: mid(runs, |r| r.provider_processes),
            provider_cpu: mid(runs, |r| r.provider_cpu),
            provider_peak_rss_kib: mid(runs, |r| r.provider_peak_rss_kib),
            terraform_cpu: mid(runs, |r| r.terraform_cpu),
            simulator_cpu: mid(runs, |r| r.simulator_cpu),
        }
    }
}

/// One `terraform apply` against a fresh simulator and a fresh working directory.
fn run_apply(cli: &TerraformCli, scenario: &Scenario) -> Run {
    let sim = LocalSimulator::start(simulator_config(scenario));
    let server_ids: Vec<String> = sim.state().servers.into_iter().map(|s| s.id).collect();
    assert_eq!(server_ids.len(), scenario.server_count());

    let wrapper = ProviderWrapper::create();
    let workdir = TestWorkdir::new(&wrapper.script);
    workdir.write_main_tf(&configuration(&server_ids, scenario.wait_for_ready));
    let env = provider_env(&sim, scenario);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let parallelism = format!("-parallelism={PARALLELISM}");

    let children_before = usage::children();
    let self_before = usage::this_process();
    let started = Instant::now();
    let output = workdir.apply(cli, &[&parallelism], &env);
    let wall = started.elapsed();
    let children_cpu = usage::children().saturating_sub(children_before);
    let simulator_cpu = usage::this_process().saturating_sub(self_before);
    output.assert_success();

    check_reboots(&sim, scenario);
    let records = wrapper.records();
    let provider_cpu: Duration = records.iter().map(|r| r.provider_cpu).sum();
    let wrapper_cpu: Duration = records.iter().map(|r| r.wrapper_cpu).sum();
    let requests = sim.requests();
    let count = |operation: Operation| {
        requests
            .iter()
            .filter(|entry| entry.operation == operation)
            .count()
    };
    let run = Run {
        wall,
        batch_reboots: count(Operation::BatchReboot),
        polls: count(Operation::ShowServer),
        lists: count(Operation::ListServers),
        other_requests: count(Operation::Unknown),
        all_requests: requests.len(),
        throttled: requests
            .iter()
            .filter(|entry| entry.fault == Some(InjectedFault::Quota))
            .count(),
        provider_processes: records.len(),
        provider_cpu,
        provider_peak_rss_kib: records.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0),
        terraform_cpu: children_cpu
            .saturating_sub(provider_cpu)
            .saturating_sub(wrapper_cpu),
        simulator_cpu,
    };
    drop(sim);
    run
}

fn simulator_config(scenario: &Scenario) -> SimulatorConfig {
    let mut config = SimulatorConfig {
        credentials: CredentialsConfig {
            access_keys: vec![Credentials::ak_sk(ACCESS_KEY, SECRET_KEY)],
            ..CredentialsConfig::default()
        },
        server_count: u32::try_from(scenario.server_count()).expect("server count fits u32"),
        reboot: REBOOT_TIMING,
        ..SimulatorConfig::default()
    };
    config.faults.quota = scenario.quota.map(QuotaFault::per_second);
    config
}

fn provider_env(sim: &SimulatorHandle, scenario: &Scenario) -> Vec<(&'static str, String)> {
    if scenario.quota.is_some() {
        return vec![
            ("HW_WORKSPACE_ENDPOINT", sim.base_url()),
            ("HW_PROJECT_ID", sim.project_id()),
            ("HW_ACCESS_KEY", ACCESS_KEY.to_owned()),
            ("HW_SECRET_KEY", SECRET_KEY.to_owned()),
            ("HW_WORKSPACE_POLL_INTERVAL", QUOTA_POLL_INTERVAL.to_owned()),
            (
                "HW_WORKSPACE_MAX_REQUESTS_PER_SECOND",
                QUOTA_BUDGET.to_owned(),
            ),
        ];
    }
    vec![
        ("HW_WORKSPACE_ENDPOINT", sim.base_url()),
        ("HW_PROJECT_ID", sim.project_id()),
        ("HW_ACCESS_KEY", ACCESS_KEY.to_owned()),
        ("HW_SECRET_KEY", SECRET_KEY.to_owned()),
        ("HW_WORKSPACE_POLL_INTERVAL", POLL_INTERVAL.to_owned()),
        // The bench measures the provider and the simulator, not the request budget.
        ("HW_WORKSPACE_MAX_REQUESTS_PER_SECOND", "1000000".to_owned()),
    ]
}

/// One resource block per 20 servers, IDs written out literally.
fn configuration(server_ids: &[String], wait_for_ready: bool) -> String {
    let mut hcl = format!("{TERRAFORM_BLOCK}\nprovider \"workspace\" {{}}\n");
    for (index, chunk) in server_ids.chunks(SERVERS_PER_RESOURCE).enumerate() {
        let ids = chunk
            .iter()
            .map(|id| format!("{id:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        hcl.push_str(&format!(
            "\nresource \"{REBOOT_RESOURCE_TYPE}\" \"group_{:03}\" {{\n  server_ids     = [{ids}]\n  wait_for_ready = {wait_for_ready}\n}}\n",
            index + 1
        ));
    }
    hcl
}

/// Every server rebooted exactly once, by one accepted batch per resource; with
/// `wait_for_ready` every server is idle again.
fn check_reboots(sim: &SimulatorHandle, scenario: &Scenario) {
    let counts = sim.reboot_counts();
    assert_eq!(counts.len(), scenario.server_count());
    let not_once: Vec<_> = counts.iter().filter(|(_, &count)| count != 1).collect();
    assert!(
        not_once.is_empty(),
        "servers not rebooted exactly once: {not_once:?}"
    );
    let requests = sim.requests();
    let batches: Vec<_> = requests
        .iter()
        .filter(|entry| entry.operation == Operation::BatchReboot)
        .collect();
    let accepted = batches
        .iter()
        .filter(|entry| entry.is_accepted_reboot())
        .count();
    assert_eq!(
        accepted, scenario.resources,
        "accepted batch reboot requests"
    );
    if scenario.quota.is_none() {
        // Without a quota nothing is refused, so nothing is sent twice.
        assert_eq!(batches.len(), scenario.resources, "batch reboot requests");
    }
    if scenario.wait_for_ready {
        let busy: Vec<String> = sim
            .state()
            .servers
            .into_iter()
            .filter(|server| server.phase != RebootPhase::Idle)
            .map(|server| server.id)
            .collect();
        assert!(
            busy.is_empty(),
            "apply returned before these servers were ready: {busy:?}"
        );
    }
}

/// The `dev_overrides` directory holding the wrapper script, and where wrappers write their
/// records. Created per run in a temp dir; nothing is committed.
struct ProviderWrapper {
    _root: tempfile::TempDir,
    script: PathBuf,
    records_dir: PathBuf,
}

impl ProviderWrapper {
    fn create() -> ProviderWrapper {
        let root = tempfile::Builder::new()
            .prefix("tfws-bench-wrapper-")
            .tempdir()
            .expect("temp dir");
        let bin_dir = root.path().join("bin");
        let records_dir = root.path().join("records");
        std::fs::create_dir_all(&bin_dir).expect("create bin dir");
        std::fs::create_dir_all(&records_dir).expect("create records dir");
        let this_binary = std::env::current_exe().expect("path of the bench binary");
        let script = bin_dir.join(PROVIDER_FILE_NAME);
        let text = format!(
            "#!/bin/sh\nexec {} {WRAPPER_FLAG} {} {} \"$@\"\n",
            shell_quote(&this_binary),
            shell_quote(Path::new(PROVIDER)),
            shell_quote(&records_dir)
        );
        std::fs::write(&script, text).expect("write wrapper script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .expect("make wrapper executable");
        ProviderWrapper {
            _root: root,
            script,
            records_dir,
        }
    }

    /// One record per provider process; panics if a process started but left none (it was
    /// killed, so its CPU time is unknown).
    fn records(&self) -> Vec<wrapper::Record> {
        let mut started = 0usize;
        let mut records = Vec::new();
        for entry in std::fs::read_dir(&self.records_dir).expect("read records dir") {
            let path = entry.expect("records dir entry").path();
            match path.extension().and_then(|e| e.to_str()) {
                Some(wrapper::STARTED_EXTENSION) => started += 1,
                Some(wrapper::RECORD_EXTENSION) => {
                    let text = std::fs::read_to_string(&path).expect("read record");
                    records.push(
                        wrapper::Record::parse(&text)
                            .unwrap_or_else(|| panic!("bad record {}: {text:?}", path.display())),
                    );
                }
                _ => {}
            }
        }
        assert!(
            started > 0,
            "Terraform started no provider through the wrapper"
        );
        assert_eq!(
            records.len(),
            started,
            "provider processes that reported their CPU time, of those started"
        );
        records
    }
}

/// Single-quoted for `sh`.
fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// `getrusage` / `wait4` figures. Hand-written over `libc` because std exposes no resource
/// usage and the dev-dependency `nix` is built without its `resource` feature.
mod usage {
    use std::time::Duration;

    pub fn cpu_time(usage: &libc::rusage) -> Duration {
        timeval(usage.ru_utime) + timeval(usage.ru_stime)
    }

    fn timeval(tv: libc::timeval) -> Duration {
        let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
        let micros = u64::try_from(tv.tv_usec).unwrap_or(0);
        Duration::from_secs(secs) + Duration::from_micros(micros)
    }

    fn get(who: libc::c_int) -> libc::rusage {
        // SAFETY: rusage is plain old data; getrusage fills it and cannot fail for these `who`.
        unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut usage);
            usage
        }
    }

    /// CPU time of every reaped descendant so far.
    pub fn children() -> Duration {
        cpu_time(&get(libc::RUSAGE_CHILDREN))
    }

    /// CPU time of this process (all its threads).
    pub fn this_process() -> Duration {
        cpu_time(&get(libc::RUSAGE_SELF))
    }

    pub fn this_process_raw() -> libc::rusage {
        get(libc::RUSAGE_SELF)
    }

    /// Reaps `pid`, returning its raw wait status and resource usage.
    pub fn wait4(pid: libc::pid_t) -> std::io::Result<(libc::c_int, libc::rusage)> {
        loop {
            // SAFETY: both out-pointers refer to live, writable locals.
            let (result, status, usage) = unsafe {
                let mut status: libc::c_int = 0;
                let mut usage: libc::rusage = std::mem::zeroed();
                let result = libc::wait4(pid, &mut status, 0, &mut usage);
                (result, status, usage)
            };
            if result == pid {
                return Ok((status, usage));
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}

/// Wrapper mode: `<bench> --provider-wrapper <provider> <records dir> [provider args...]`.
mod wrapper {
    use std::ffi::OsString;
    use std::path::Path;
    use std::process::Command;
    use std::time::Duration;

    use super::usage;

    pub const STARTED_EXTENSION: &str = "started";
    pub const RECORD_EXTENSION: &str = "cpu";

    /// What one provider process cost, and what its wrapper cost on top.
    #[derive(Debug)]
    pub struct Record {
        pub provider_cpu: Duration,
        pub peak_rss_kib: u64,
        pub wrapper_cpu: Duration,
    }

    impl Record {
        fn format(&self) -> String {
            format!(
                "{} {} {}\n",
                self.provider_cpu.as_micros(),
                self.peak_rss_kib,
                self.wrapper_cpu.as_micros()
            )
        }

        pub fn parse(text: &str) -> Option<Record> {
            let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
            let provider_cpu = Duration::from_micros(fields.next()??);
            let peak_rss_kib = fields.next()??;
            let wrapper_cpu = Duration::from_micros(fields.next()??);
            Some(Record {
                provider_cpu,
                peak_rss_kib,
                wrapper_cpu,
            })
        }
    }

    /// Runs the provider with the inherited stdio and environment, records its usage, and
    /// returns the exit code to leave with (the provider's; 128 + signal if it was killed).
    pub fn run(args: &[OsString]) -> i32 {
        let [provider, records_dir, provider_args @ ..] = args else {
            eprintln!("usage: <bench> --provider-wrapper <provider> <records dir> [args...]");
            return 2;
        };
        let records_dir = Path::new(records_dir);
        let id = std::process::id();
        let marker = records_dir.join(format!("{id}.{STARTED_EXTENSION}"));
        if let Err(error) = std::fs::write(&marker, b"") {
            eprintln!(
                "provider wrapper: cannot write {}: {error}",
                marker.display()
            );
            return 1;
        }
        let child = match Command::new(provider).args(provider_args).spawn() {
            Ok(child) => child,
            Err(error) => {
                eprintln!("provider wrapper: cannot start {provider:?}: {error}");
                return 1;
            }
        };
        let pid = match libc::pid_t::try_from(child.id()) {
            Ok(pid) => pid,
            Err(_) => return 1,
        };
        let (status, child_usage) = match usage::wait4(pid) {
            Ok(reaped) => reaped,
            Err(error) => {
                eprintln!("provider wrapper: wait4 failed: {error}");
                return 1;
            }
        };
        let record = Record {
            provider_cpu: usage::cpu_time(&child_usage),
            peak_rss_kib: u64::try_from(child_usage.ru_maxrss).unwrap_or(0),
            wrapper_cpu: usage::cpu_time(&usage::this_process_raw()),
        };
        // Written under a temporary name first so a reader never sees half a record.
        let partial = records_dir.join(format!("{id}.partial"));
        let done = records_dir.join(format!("{id}.{RECORD_EXTENSION}"));
        if let Err(error) = std::fs::write(&partial, record.format())
            .and_then(|()| std::fs::rename(&partial, &done))
        {
            eprintln!("provider wrapper: cannot write {}: {error}", done.display());
        }
        if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else if libc::WIFSIGNALED(status) {
            128 + libc::WTERMSIG(status)
        } else {
            1
        }
    }
}
