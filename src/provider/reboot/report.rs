//! Diagnostics for an apply that did not finish: every failed batch with the API's own words,
//! every server that is not ready, what was done, and what the next apply will do. Server IDs
//! are listed in full; nothing secret is in these reports (the client redacts its errors).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use crate::protocol::diagnostics::{Diagnostic, Diagnostics};
use crate::provider::duration::format_go_duration;
use crate::workspace::{BatchFailure, ClientError, RebootReport, WaitOutcome, WaitReport};

/// Everything known about an apply step that reboots.
pub struct Outcome<'a> {
    pub creating: bool,
    /// Every server listed in `server_ids`.
    pub listed: &'a [String],
    /// Done by an earlier, unfinished apply towards the same triggers.
    pub done_before: &'a BTreeSet<String>,
    pub reboot: &'a RebootReport,
    /// `None` when waiting was not asked (or nothing was rebooted).
    pub wait: Option<&'a WaitReport>,
    /// Terraform asked the provider to stop.
    pub interrupted: bool,
    /// "timeouts.create" or "timeouts.update", and its value.
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
    for failure in &outcome.reboot.failed {
        diagnostics.push(batch_failure(failure, outcome));
    }
    if !outcome.interrupted && !outcome.reboot.not_attempted.is_empty() {
        diagnostics.push(Diagnostic::error(
            "Timed out before every reboot was requested",
            format!(
                "The {} bound of {} ran out before the reboot of these {} server(s) was \
                 requested: {}.",
                outcome.timeout_label,
                format_go_duration(outcome.timeout),
                outcome.reboot.not_attempted.len(),
                list(&outcome.reboot.not_attempted)
            ),
        ));
    }
    if let Some(wait) = outcome.wait {
        if let Some(diagnostic) = not_ready(wait, outcome) {
            diagnostics.push(diagnostic);
        }
    }
    diagnostics.push(summary(outcome, next));
    diagnostics
}

fn batch_failure(failure: &BatchFailure, outcome: &Outcome<'_>) -> Diagnostic {
    let count = failure.server_ids.len();
    let mut detail = String::new();
    error_lines(&failure.error, &mut detail);
    if matches!(failure.error, ClientError::DeadlineExceeded { .. }) {
        let _ = writeln!(
            detail,
            "The {} bound of {} ran out.",
            outcome.timeout_label,
            format_go_duration(outcome.timeout)
        );
    }
    let _ = write!(detail, "servers ({count}): {}", list(&failure.server_ids));
    Diagnostic::error(
        format!("Reboot request failed for {count} server(s)"),
        detail,
    )
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

fn not_ready(wait: &WaitReport, outcome: &Outcome<'_>) -> Option<Diagnostic> {
    let mut lines = Vec::new();
    for server in wait.not_ready() {
        let line = match &server.outcome {
            WaitOutcome::Ready => continue,
            // Interrupted waits are told in the summary.
            WaitOutcome::Cancelled => continue,
            WaitOutcome::Failed { reason } => format!("- {}: {reason}", server.server_id),
            WaitOutcome::TimedOut { last_status } => format!(
                "- {}: not ready when the {} bound of {} ran out ({last_status})",
                server.server_id,
                outcome.timeout_label,
                format_go_duration(outcome.timeout)
            ),
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
    let waited = outcome.wait.is_some();
    let ready = |id: &str| {
        outcome
            .wait
            .is_none_or(|w| w.outcome(id) == Some(&WaitOutcome::Ready))
    };
    let rebooted_ready: Vec<String> = outcome
        .reboot
        .rebooted
        .iter()
        .filter(|id| ready(id))
        .cloned()
        .collect();
    let rebooted_unconfirmed: Vec<String> = outcome
        .reboot
        .rebooted
        .iter()
        .filter(|id| !ready(id))
        .cloned()
        .collect();
    let not_rebooted: Vec<String> = outcome
        .reboot
        .failed_ids()
        .map(str::to_owned)
        .chain(outcome.reboot.not_attempted.iter().cloned())
        .collect();

    let mut detail = String::new();
    if outcome.interrupted {
        detail.push_str("Terraform asked the provider to stop, so the apply ended early.\n");
    }
    let _ = writeln!(detail, "Servers listed: {}.", outcome.listed.len());
    if !outcome.done_before.is_empty() {
        let _ = writeln!(
            detail,
            "Already done by an earlier unfinished apply of the same reboot ({}): {}.",
            outcome.done_before.len(),
            list(outcome.done_before)
        );
    }
    let done_label = if waited {
        "Rebooted and ready again"
    } else {
        "Rebooted"
    };
    let _ = writeln!(
        detail,
        "{done_label} ({}): {}.",
        rebooted_ready.len(),
        list(&rebooted_ready)
    );
    if !rebooted_unconfirmed.is_empty() {
        let _ = writeln!(
            detail,
            "Reboot accepted but not seen ready ({}): {}.",
            rebooted_unconfirmed.len(),
            list(&rebooted_unconfirmed)
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
    detail.push_str(next);
    let summary = if outcome.interrupted {
        "Interrupted"
    } else {
        "Reboot incomplete"
    };
    Diagnostic::error(summary, detail)
}

/// What the resource's next apply does (the state it leaves is `record`'s business).
fn resource_next_step(outcome: &Outcome<'_>) -> String {
    let anything_rebooted = !outcome.reboot.rebooted.is_empty();
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
