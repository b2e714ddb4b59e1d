//! Diagnostics for an apply that did not finish: every failed reboot request with the API's
//! own words, every server that is not ready, the wave that failed and why, servers left in
//! maintenance mode, what was done, each unfinished server's last seen state, and what the
//! next run will do. Server IDs are listed in full; nothing secret is in these reports (the
//! client redacts its errors).
//!
//! Built from the rollout engine's report alone, so the resource and the action of the same
//! name (which ends with a different next step: it keeps no state) say the same things.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use crate::protocol::diagnostics::{Diagnostic, Diagnostics};
use crate::provider::duration::format_go_duration;
use crate::workspace::rollout::{
    RolloutFailure, RolloutReport, ServerOutcome, ServerReport, WaveFailure,
};
use crate::workspace::{ClientError, WaitOutcome};

/// Everything known about an apply step that reboots.
pub struct Outcome<'a> {
    pub creating: bool,
    /// Every server listed in `server_ids`.
    pub listed: &'a [String],
    /// Done by an earlier, unfinished apply towards the same triggers.
    pub done_before: &'a BTreeSet<String>,
    /// What the rollout did with the servers left to reboot.
    pub rollout: &'a RolloutReport,
    /// Waiting for readiness was asked.
    pub waited: bool,
    /// Terraform asked the provider to stop.
    pub interrupted: bool,
    /// "timeouts.create" or "timeouts.update" (the action: "timeout"), and its value.
    pub timeout_label: &'a str,
    pub timeout: Duration,
    /// Listed servers not done: to be rebooted by the next apply.
    pub pending: &'a [String],
}

pub fn failure_diagnostics(outcome: &Outcome<'_>) -> Diagnostics {
    failure_diagnostics_then(outcome, &resource_next_step(outcome))
}

/// The same diagnostics, with `next` (what the next run will do) ending the summary: the
/// action of the same name keeps no state, so its next step differs from the resource's.
pub fn failure_diagnostics_then(outcome: &Outcome<'_>, next: &str) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    for (error, server_ids) in request_failures(outcome.rollout) {
        diagnostics.push(request_failure(error, &server_ids, outcome));
    }
    if let Some(diagnostic) = out_of_time(outcome) {
        diagnostics.push(diagnostic);
    }
    if let Some(diagnostic) = not_ready(outcome) {
        diagnostics.push(diagnostic);
    }
    if let Some(diagnostic) = stopped_before_rebooting(outcome.rollout) {
        diagnostics.push(diagnostic);
    }
    if let Some(advice) = outcome.rollout.maintenance_advice() {
        diagnostics.push(Diagnostic::error(
            "Servers left in maintenance mode",
            advice,
        ));
    }
    diagnostics.push(summary(outcome, next));
    diagnostics
}

/// Servers whose reboot request failed, grouped by the error (one group per failed request,
/// in rollout order; requests failing the same way share a group).
fn request_failures(rollout: &RolloutReport) -> Vec<(&ClientError, Vec<String>)> {
    let mut groups: Vec<(&ClientError, Vec<String>)> = Vec::new();
    for server in &rollout.servers {
        let ServerOutcome::RequestFailed(error) = &server.outcome else {
            continue;
        };
        match groups.iter_mut().find(|(seen, _)| *seen == error) {
            Some((_, ids)) => ids.push(server.server_id.clone()),
            None => groups.push((error, vec![server.server_id.clone()])),
        }
    }
    groups
}

fn request_failure(
    error: &ClientError,
    server_ids: &[String],
    outcome: &Outcome<'_>,
) -> Diagnostic {
    let count = server_ids.len();
    let mut detail = String::new();
    error_lines(error, &mut detail);
    if matches!(error, ClientError::DeadlineExceeded { .. }) {
        let _ = writeln!(
            detail,
            "The {} bound of {} ran out.",
            outcome.timeout_label,
            format_go_duration(outcome.timeout)
        );
    }
    let _ = write!(detail, "servers ({count}): {}", list(server_ids));
    Diagnostic::error(
        format!("Reboot request failed for {count} server(s)"),
        detail,
    )
}

/// The bound ran out before every reboot was requested (not told when Terraform stopped the
/// provider: the summary says so).
fn out_of_time(outcome: &Outcome<'_>) -> Option<Diagnostic> {
    let ran_out = matches!(
        outcome.rollout.failure,
        Some(RolloutFailure::Wave {
            reason: WaveFailure::DeadlineExceeded { .. },
            ..
        })
    );
    if outcome.interrupted || !ran_out {
        return None;
    }
    let never: Vec<&str> = outcome
        .rollout
        .servers
        .iter()
        .filter(|s| {
            matches!(
                s.outcome,
                ServerOutcome::NotRebooted { .. } | ServerOutcome::NotStarted
            )
        })
        .map(|s| s.server_id.as_str())
        .collect();
    if never.is_empty() {
        return None;
    }
    Some(Diagnostic::error(
        "Timed out before every reboot was requested",
        format!(
            "The {} bound of {} ran out before the reboot of these {} server(s) was \
             requested: {}.",
            outcome.timeout_label,
            format_go_duration(outcome.timeout),
            never.len(),
            list(&never)
        ),
    ))
}

/// Why the rollout stopped when no failed request, timeout or unready server says it: the
/// drain (maintenance mode, sessions, logoff) or a refusal before anything was sent.
fn stopped_before_rebooting(rollout: &RolloutReport) -> Option<Diagnostic> {
    let failure = rollout.failure.as_ref()?;
    let summary = match failure {
        RolloutFailure::Wave { reason, .. } => match reason {
            WaveFailure::MaintenanceOn { .. }
            | WaveFailure::DrainLookup(_)
            | WaveFailure::SessionsRemain { .. }
            | WaveFailure::Logoff(_) => "Drain failed",
            // Told by "Servers left in maintenance mode".
            WaveFailure::MaintenanceOff { .. } => return None,
            // Told by the request failures, the unready servers, the timeout or "Interrupted".
            WaveFailure::RebootRequest { .. }
            | WaveFailure::NotReady { .. }
            | WaveFailure::Cancelled { .. }
            | WaveFailure::DeadlineExceeded { .. } => return None,
        },
        RolloutFailure::InvalidPlan(_)
        | RolloutFailure::Preflight { .. }
        | RolloutFailure::PreflightLookup(_) => "Reboot not started",
    };
    Some(Diagnostic::error(summary, format!("{failure}.")))
}

/// The API's own words for `error` — HTTP status, `error_code`, `error_msg`, request id and,
/// for a signature mismatch, the gateway's canonical request — or the client's message for
/// anything else; with a hint where the answer points at the configuration.
pub fn error_lines(error: &ClientError, detail: &mut String) {
    match error.api_error() {
        Some(api) if matches!(error, ClientError::Api(_)) => {
            let _ = writeln!(detail, "HTTP status: {}", api.status);
            let _ = writeln!(
                detail,
                "error_code: {}",
                api.error_code.as_deref().unwrap_or("(none)")
            );
            let _ = writeln!(detail, "error_msg: {}", api.error_msg);
            let _ = writeln!(
                detail,
                "request id: {}",
                api.request_id.as_deref().unwrap_or("(none)")
            );
            if let Some(canonical) = &api.gateway_canonical_request {
                let _ = writeln!(
                    detail,
                    "The gateway computed this canonical request; compare it with the one the \
                     provider signed (a different host, path or header usually means a proxy or \
                     a wrong endpoint changed the request):\n{canonical}"
                );
            }
            if let Some(hint) = hint_for(api.status, api.error_code.as_deref()) {
                let _ = writeln!(detail, "{hint}");
            }
        }
        _ => {
            let _ = writeln!(detail, "error: {error}");
        }
    }
}

/// What to do about an answer that points at the provider's configuration.
pub fn hint_for(status: u16, error_code: Option<&str>) -> Option<String> {
    match (status, error_code) {
        // The gateway does not know this API at this host: most likely the host derived from
        // `region` is not the one serving the APP API there (no public source settles the
        // host outside mainland China).
        (404, Some("APIGW.0101")) => Some(format!(
            "The API gateway at this address does not know the Workspace APP API. Outside \
             mainland China the host serving it is not settled by any public source: set \
             `endpoint` ({}) to the base URL your console or Huawei support gives for the \
             Workspace APP API in your region, e.g. \"https://appstream.<region>.<cloud>\" or \
             \"https://workspace.<region>.<cloud>\".",
            crate::provider::config::ENDPOINT.env()
        )),
        _ => None,
    }
}

fn not_ready(outcome: &Outcome<'_>) -> Option<Diagnostic> {
    let mut lines = Vec::new();
    for server in &outcome.rollout.servers {
        let line = match &server.outcome {
            ServerOutcome::NotReady(WaitOutcome::Failed { reason }) => {
                format!("- {}: {reason}", server.server_id)
            }
            ServerOutcome::NotReady(WaitOutcome::TimedOut { last_status }) => format!(
                "- {}: not ready when the {} bound of {} ran out ({last_status})",
                server.server_id,
                outcome.timeout_label,
                format_go_duration(outcome.timeout)
            ),
            // Interrupted waits are told in the summary.
            _ => continue,
        };
        lines.push(line);
    }
    if lines.is_empty() {
        return None;
    }
    Some(Diagnostic::error(
        format!("{} rebooted server(s) did not become ready", lines.len()),
        format!(
            "The reboot of these servers was accepted, but they are not running normally again:\n{}",
            lines.join("\n")
        ),
    ))
}

fn summary(outcome: &Outcome<'_>, next: &str) -> Diagnostic {
    let rollout = outcome.rollout;
    let with = |keep: fn(&ServerOutcome) -> bool| -> Vec<&str> {
        rollout
            .servers
            .iter()
            .filter(|s| keep(&s.outcome))
            .map(|s| s.server_id.as_str())
            .collect()
    };
    let done = with(|o| matches!(o, ServerOutcome::Ready | ServerOutcome::Rebooted));
    let unconfirmed = with(|o| matches!(o, ServerOutcome::NotReady(_)));
    let not_rebooted = with(|o| {
        matches!(
            o,
            ServerOutcome::RequestFailed(_) | ServerOutcome::NotRebooted { .. }
        )
    });
    let not_started = with(|o| matches!(o, ServerOutcome::NotStarted));

    let mut detail = String::new();
    if outcome.interrupted {
        detail.push_str("Terraform asked the provider to stop, so the apply ended early.\n");
    }
    let _ = writeln!(detail, "Servers listed: {}.", outcome.listed.len());
    if rollout.waves.len() > 1 {
        let _ = writeln!(
            detail,
            "Waves planned: {} (at most {} server(s) each that were up).",
            rollout.waves.len(),
            rollout
                .waves
                .iter()
                .map(|w| w.server_ids.len())
                .max()
                .unwrap_or(0)
        );
    }
    if let Some(RolloutFailure::Wave {
        wave,
        waves,
        reason,
    }) = &rollout.failure
    {
        let _ = writeln!(detail, "Wave {wave} of {waves} failed: {reason}.");
    }
    if !outcome.done_before.is_empty() {
        let _ = writeln!(
            detail,
            "Already done by an earlier unfinished apply of the same reboot ({}): {}.",
            outcome.done_before.len(),
            list(outcome.done_before)
        );
    }
    let done_label = if outcome.waited {
        "Rebooted and ready again"
    } else {
        "Rebooted"
    };
    let _ = writeln!(detail, "{done_label} ({}): {}.", done.len(), list(&done));
    if !unconfirmed.is_empty() {
        let _ = writeln!(
            detail,
            "Reboot accepted but not seen ready ({}): {}.",
            unconfirmed.len(),
            list(&unconfirmed)
        );
    }
    if !not_rebooted.is_empty() {
        let _ = writeln!(
            detail,
            "Not rebooted ({}): {}.",
            not_rebooted.len(),
            list(&not_rebooted)
        );
    }
    if !not_started.is_empty() {
        let _ = writeln!(
            detail,
            "Not started, untouched (a wave before theirs did not finish) ({}): {}.",
            not_started.len(),
            list(&not_started)
        );
    }
    let last_states: Vec<String> = rollout
        .servers
        .iter()
        .filter(|s| {
            !matches!(
                s.outcome,
                ServerOutcome::Ready | ServerOutcome::Rebooted | ServerOutcome::NotStarted
            )
        })
        .map(last_state)
        .collect();
    if !last_states.is_empty() {
        let _ = writeln!(
            detail,
            "Last seen state of the servers not done:\n{}",
            last_states.join("\n")
        );
    }
    detail.push_str(next);
    let summary = if outcome.interrupted {
        "Interrupted"
    } else {
        "Reboot incomplete"
    };
    Diagnostic::error(summary, detail)
}

/// `- id (wave N): outcome; last seen status …, vm_status …, task_status …, N session(s)[; left
/// in maintenance mode]`.
fn last_state(server: &ServerReport) -> String {
    let mut line = format!("- {}", server.server_id);
    if server.wave > 0 {
        let _ = write!(line, " (wave {})", server.wave);
    }
    let _ = write!(line, ": {}", server.outcome);
    if let Some(seen) = &server.last_seen {
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
        let _ = write!(
            line,
            "; last seen status {}, vm_status {}, task_status {}",
            text(&seen.status),
            text(&seen.vm_status),
            text(&seen.task_status)
        );
        if let Some(sessions) = seen.session_count {
            let _ = write!(line, ", {sessions} session(s)");
        }
    }
    // Not the maintenance flag of the last answer: the rollout takes the servers it put into
    // maintenance out again after that answer, so only a failure to do so is worth saying.
    if server.left_in_maintenance {
        line.push_str("; left in maintenance mode");
    }
    line
}

/// What the resource's next apply does (the state it leaves is `record`'s business).
fn resource_next_step(outcome: &Outcome<'_>) -> String {
    let anything_rebooted = outcome.rollout.rebooted_any();
    if outcome.creating && (anything_rebooted || !outcome.done_before.is_empty()) {
        format!(
            "Terraform marks this resource as tainted and the state lists the servers not done \
             in pending_server_ids. The next apply replaces the resource: when it destroys the \
             tainted object first (the default; not with create_before_destroy) and the \
             replacement has the same server_ids, triggers and type, the replacement reboots \
             only the {} server(s) not done: {}. Otherwise it reboots all {} listed servers.",
            outcome.pending.len(),
            list(outcome.pending),
            outcome.listed.len()
        )
    } else if outcome.creating {
        "Nothing was saved in the state: the next apply tries the whole reboot again.".to_owned()
    } else {
        format!(
            "The state keeps the previous triggers, so the next plan shows the trigger change \
             again, and the next apply reboots only the {} server(s) not done: {}. (Changing the \
             triggers again starts over and reboots all listed servers.)",
            outcome.pending.len(),
            list(outcome.pending)
        )
    }
}

/// `a, b, c`, or `(none)`.
pub fn list<I, S>(ids: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let joined = ids
        .into_iter()
        .map(|id| id.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ");
    if joined.is_empty() {
        "(none)".to_owned()
    } else {
        joined
    }
}
