//! Running a child process with a sanitised environment and a hard timeout, never hanging.
//!
//! Each command runs in its own process group so that a timeout kills everything it started
//! (Terraform's provider plugins included), and so that [`RunningCommand::interrupt`] behaves
//! like Ctrl-C in a terminal: SIGINT reaches the CLI and its plugins together.

use std::fmt;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// Default bound on one command; override with `TFWS_TEST_COMMAND_TIMEOUT_SECS`.
pub fn command_timeout() -> Duration {
    let seconds = std::env::var("TFWS_TEST_COMMAND_TIMEOUT_SECS")
        .ok()
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or(300);
    Duration::from_secs(seconds)
}

/// Environment variable prefixes never inherited from the test process: logging switches,
/// reattach settings, `TF_VAR_*`/`TF_CLI_ARGS*` and real cloud credentials must not leak into a
/// test run.
const DROPPED_PREFIXES: [&str; 4] = ["TF_", "TOFU_", "HW_", "CHECKPOINT_"];

/// The inherited environment minus everything in [`DROPPED_PREFIXES`], plus the settings every
/// test run wants. Callers' own variables are applied on top of this.
pub fn sanitized_env<I>(inherited: I) -> Vec<(String, String)>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut env: Vec<(String, String)> = inherited
        .into_iter()
        .filter(|(key, _)| {
            !DROPPED_PREFIXES
                .iter()
                .any(|prefix| key.starts_with(prefix))
        })
        .collect();
    for (key, value) in [
        ("TF_IN_AUTOMATION", "1"),
        ("TF_INPUT", "0"),
        ("CHECKPOINT_DISABLE", "1"),
    ] {
        env.push((key.to_string(), value.to_string()));
    }
    env
}

/// What a finished command did.
#[derive(Clone, Debug)]
pub struct CommandOutput {
    /// The command line, for messages.
    pub command: String,
    /// Exit status; a timed-out command reports the kill.
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// True when the command was killed for running past its timeout.
    pub timed_out: bool,
}

impl CommandOutput {
    pub fn success(&self) -> bool {
        self.status.success() && !self.timed_out
    }

    /// Exit code, `None` when killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// stdout followed by stderr.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Panics with the whole transcript unless the command succeeded.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "expected success:\n{self}");
        self
    }

    /// Panics with the whole transcript unless the command failed on its own (a timeout is not
    /// the failure a test expects).
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(!self.timed_out, "command timed out:\n{self}");
        assert!(!self.status.success(), "expected failure:\n{self}");
        self
    }

    /// Panics with the transcript unless stdout or stderr contains `needle`.
    #[track_caller]
    pub fn assert_output_contains(&self, needle: &str) -> &Self {
        assert!(
            self.combined().contains(needle),
            "expected output to contain {needle:?}:\n{self}"
        );
        self
    }
}

impl fmt::Display for CommandOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        if self.timed_out {
            writeln!(f, "(killed after running past its timeout)")?;
        }
        writeln!(f, "exit status: {}", self.status)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

/// A command still running. Dropping it kills its process group.
pub struct RunningCommand {
    child: Child,
    command: String,
    deadline: Instant,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers_done: mpsc::Receiver<()>,
    finished: bool,
}

impl RunningCommand {
    /// Starts `program args...` in `cwd` with exactly `env` (nothing else is inherited).
    pub fn spawn(
        program: &Path,
        args: &[&str],
        cwd: &Path,
        env: &[(String, String)],
        timeout: Duration,
    ) -> std::io::Result<RunningCommand> {
        let command = std::iter::once(program.display().to_string())
            .chain(args.iter().map(|arg| arg.to_string()))
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = Command::new(program)
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .envs(env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (done_sender, readers_done) = mpsc::channel();
        if let Some(pipe) = child.stdout.take() {
            spawn_reader(pipe, Arc::clone(&stdout), done_sender.clone());
        }
        if let Some(pipe) = child.stderr.take() {
            spawn_reader(pipe, Arc::clone(&stderr), done_sender);
        }
        Ok(RunningCommand {
            child,
            command,
            deadline: Instant::now() + timeout,
            stdout,
            stderr,
            readers_done,
            finished: false,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT to the whole process group, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) {
        self.signal_group(Signal::SIGINT);
    }

    /// What the command has written to stdout so far.
    pub fn stdout_so_far(&self) -> String {
        lossy(&self.stdout)
    }

    /// What the command has written to stderr so far.
    pub fn stderr_so_far(&self) -> String {
        lossy(&self.stderr)
    }

    /// Waits until stdout or stderr contains `needle`; false if the command exits first or
    /// `within` passes.
    pub fn wait_for_output(&mut self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.stdout_so_far().contains(needle) || self.stderr_so_far().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline || !matches!(self.child.try_wait(), Ok(None)) {
                return self.stdout_so_far().contains(needle)
                    || self.stderr_so_far().contains(needle);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the command to exit, killing its process group at the deadline.
    pub fn wait(mut self) -> CommandOutput {
        let mut timed_out = false;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= self.deadline => {
                    timed_out = true;
                    self.signal_group(Signal::SIGKILL);
                    break self
                        .child
                        .wait()
                        .unwrap_or_else(|_| ExitStatus::from_raw(9));
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(error) => panic!("waiting for `{}` failed: {error}", self.command),
            }
        };
        self.finished = true;
        // Both readers end when every holder of the pipes has exited. Anything of this command
        // still holding them after a grace period is killed so that the test cannot hang.
        for _ in 0..2 {
            if self
                .readers_done
                .recv_timeout(Duration::from_secs(10))
                .is_err()
            {
                self.signal_group(Signal::SIGKILL);
                let _ = self.readers_done.recv_timeout(Duration::from_secs(5));
            }
        }
        CommandOutput {
            command: self.command.clone(),
            status,
            stdout: lossy(&self.stdout),
            stderr: lossy(&self.stderr),
            timed_out,
        }
    }

    fn signal_group(&self, signal: Signal) {
        if let Ok(raw) = i32::try_from(self.child.id()) {
            // ESRCH (the group is gone) is fine: there is nothing left to signal.
            let _ = killpg(Pid::from_raw(raw), signal);
        }
    }
}

impl Drop for RunningCommand {
    fn drop(&mut self) {
        if !self.finished {
            self.signal_group(Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// Runs a command to completion (see [`RunningCommand::spawn`]); a failure to start panics.
pub fn run_command(
    program: &Path,
    args: &[&str],
    cwd: &Path,
    env: &[(String, String)],
    timeout: Duration,
) -> CommandOutput {
    RunningCommand::spawn(program, args, cwd, env, timeout)
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()))
        .wait()
}

fn spawn_reader<R: Read + Send + 'static>(
    mut pipe: R,
    sink: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Sender<()>,
) {
    thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => match sink.lock() {
                    Ok(mut bytes) => bytes.extend_from_slice(&buffer[..read]),
                    Err(poisoned) => poisoned.into_inner().extend_from_slice(&buffer[..read]),
                },
            }
        }
        let _ = done.send(());
    });
}

fn lossy(bytes: &Arc<Mutex<Vec<u8>>>) -> String {
    match bytes.lock() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(poisoned) => String::from_utf8_lossy(&poisoned.into_inner()).into_owned(),
    }
}
