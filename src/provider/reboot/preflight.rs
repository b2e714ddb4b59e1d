//! The pre-flight step of a reboot apply: before the first reboot request, look up exactly the
//! servers about to be rebooted (on an update, or a create resuming a handover, only those),
//! through the process's shared [`Poller`] (its view is fresh enough to be reused, and it
//! learns the servers' groups for the wait).
//!
//! If any of them does not exist, is frozen or is in a dead end (ERROR, SHUTOFF, …), or the
//! lookup itself fails, **no reboot request is sent at all**: rebooting the others would leave
//! the apply half done for a reason known beforehand (a typo in `server_ids`, a server that
//! needs repair). The error, at `server_ids`, names every such server with its state. The state
//! stays as it was: a create saves nothing (or, when it resumed a handover, the unfinished
//! record again), an update keeps the prior state and its private progress, so the next apply
//! tries again.

use std::fmt::Write as _;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::job::{Job, Targets};
use super::model::RebootState;
use super::record::Earlier;
use super::report::error_lines;
use crate::framework::{Applied, Set, Value};
use crate::protocol::diagnostics::{AttributePath, Diagnostic};
use crate::provider::duration::format_go_duration;
use crate::workspace::preflight::Preflight;
use crate::workspace::{ClientError, Poller};

/// What was found when every server about to be rebooted may be rebooted.
pub async fn check(
    poller: &Poller,
    job: &Job,
    targets: &Targets,
    cancel: &CancellationToken,
    deadline: Instant,
) -> Result<Preflight, Diagnostic> {
    let at = AttributePath::attribute("server_ids");
    check_servers(poller, &targets.to_reboot, cancel, deadline)
        .await
        .map_err(|refusal| match refusal {
            Refusal::Problems(diagnostic) => diagnostic.at(at.clone()),
            Refusal::Lookup(error) => lookup_failed(
                &error,
                targets.to_reboot.len(),
                job.timeout_label,
                job.timeout,
            )
            .at(at.clone()),
        })
}

/// Why a pre-flight refused.
pub enum Refusal {
    /// Some servers cannot be rebooted; the diagnostic names each with its state.
    Problems(Diagnostic),
    /// The lookup itself did not finish.
    Lookup(ClientError),
}

/// The pre-flight of any reboot (the resource's and the action's): every one of `servers` looked
/// up through the shared poller; `Ok` with what was found when all may be rebooted (the
/// rollout then plans its waves from it instead of looking again).
pub async fn check_servers(
    poller: &Poller,
    servers: &[String],
    cancel: &CancellationToken,
    deadline: Instant,
) -> Result<Preflight, Refusal> {
    if servers.is_empty() {
        return Ok(Preflight::default());
    }
    tracing::info!(
        servers = servers.len(),
        "workspace_app_server_reboot: pre-flight check before rebooting"
    );
    let preflight = poller
        .preflight(servers, cancel, deadline)
        .await
        .map_err(Refusal::Lookup)?;
    tracing::debug!(
        servers = servers.len(),
        requests = preflight.requests_sent,
        problems = preflight.problems.len(),
        "workspace_app_server_reboot: pre-flight done"
    );
    if preflight.is_clear() {
        return Ok(preflight);
    }
    let mut detail = format!(
        "{} of the {} server(s) about to be rebooted cannot be rebooted into readiness, so no \
         reboot request was sent at all:\n",
        preflight.problems.len(),
        servers.len()
    );
    for problem in &preflight.problems {
        let _ = writeln!(detail, "- {problem}");
    }
    detail.push_str(
        "Fix these servers (a frozen server must be unfrozen, one in ERROR or SHUTOFF repaired \
         or started) or remove them from server_ids; the next apply checks again.",
    );
    Err(Refusal::Problems(Diagnostic::error(
        "Servers cannot be rebooted",
        detail,
    )))
}

/// The lookup of `servers` servers itself failed: the provider knows nothing, so it reboots
/// nothing. "Interrupted" when Terraform asked the provider to stop; the bound (`timeout_label`,
/// `timeout`) named when it ran out. Shared by the resource and the action.
pub fn lookup_failed(
    error: &ClientError,
    servers: usize,
    timeout_label: &str,
    timeout: Duration,
) -> Diagnostic {
    let mut detail = format!(
        "Before rebooting, the provider looks up the {servers} server(s) about to be rebooted; \
         that lookup did not finish, so no reboot request was sent at all.\n"
    );
    error_lines(error, &mut detail);
    let summary = match error {
        ClientError::Cancelled { .. } => {
            detail.insert_str(0, "Terraform asked the provider to stop. ");
            "Interrupted"
        }
        ClientError::DeadlineExceeded { .. } => {
            let _ = write!(
                detail,
                "The {timeout_label} bound of {} ran out.",
                format_go_duration(timeout)
            );
            "Pre-flight check failed"
        }
        _ => "Pre-flight check failed",
    };
    Diagnostic::error(summary, detail)
}

/// What is saved when the pre-flight refused: the state as it was before this apply.
pub fn refused(
    diagnostic: Diagnostic,
    earlier: &Earlier<'_>,
    mut state: RebootState,
) -> Applied<RebootState> {
    let (state, private) = match earlier {
        Earlier::Nothing => (None, Vec::new()),
        // The destroyed tainted object's record, again under the new ID: tainted again, the
        // next apply hands it over once more.
        Earlier::Replaced(handover) => {
            state.rebooted_at = handover.rebooted_at.clone();
            state.pending_server_ids =
                Value::Known(Set::new(handover.pending.iter().cloned().map(Value::Known)));
            (Some(state), Vec::new())
        }
        Earlier::Update { prior, private } => (Some((*prior).clone()), private.clone()),
    };
    Applied {
        state,
        private,
        diagnostics: diagnostic.into(),
    }
}
