//! The last step of a reboot apply: what is saved, so that the state tells the truth and the
//! next apply finishes the job.
//!
//! - Success: the planned values, with `rebooted_at`.
//! - Failed create with something rebooted: the state (with `rebooted_at` set). Terraform
//!   taints a create that reports errors, so the next apply replaces it and reboots all servers
//!   again — a replacement is a new create, with no memory of the old one.
//! - Failed create with nothing rebooted: nothing, so the next apply simply creates again (a
//!   tainted object would claim a reboot that never happened).
//! - Failed update: the planned values but with the PRIOR `triggers`, so the next plan still
//!   sees the trigger change and plans the reboot again; `rebooted_at` is the time of this
//!   attempt if it rebooted anything, else the prior one. The servers done so far are recorded
//!   in the private state for this target triggers value (see `progress`), so the next apply
//!   reboots only the rest.
//!
//! A server counts as done when its reboot was accepted and, if waiting was asked, it was seen
//! ready again. Anything less (a request that got no answer, a server in ERROR, a wait cut
//! short) is not done and will be rebooted again by the next apply.

use std::collections::BTreeSet;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::job::{Job, Targets};
use super::model::RebootState;
use super::progress::RebootProgress;
use super::report::{failure_diagnostics, Outcome};
use super::run::Ran;
use crate::framework::{Applied, Value};
use crate::protocol::diagnostics::Diagnostics;
use crate::workspace::WaitOutcome;

pub fn record(
    job: &Job,
    targets: &Targets,
    ran: &Ran,
    prior: Option<&RebootState>,
    mut state: RebootState,
) -> Applied<RebootState> {
    let done = done(targets, ran);
    let pending: Vec<String> = job
        .server_ids
        .iter()
        .filter(|id| !done.contains(*id))
        .cloned()
        .collect();
    let rebooted_any = !ran.report.rebooted.is_empty();
    state.rebooted_at = rebooted_at(prior, ran.requested_at, rebooted_any, pending.is_empty());
    if pending.is_empty() {
        tracing::info!(
            rebooted = ran.report.rebooted.len(),
            "workspace_app_server_reboot: done"
        );
        return saved(state, Vec::new(), Diagnostics::new());
    }
    let diagnostics = failure(job, targets, ran, &pending);
    match prior {
        // Nothing happened: save nothing, so the next apply creates again.
        None if !rebooted_any => Applied {
            state: None,
            private: Vec::new(),
            diagnostics,
        },
        // Terraform taints the object; the replacement reboots everything.
        None => saved(state, Vec::new(), diagnostics),
        Some(prior) => {
            // Keep the prior triggers so the change is planned again, and remember progress.
            state.triggers = prior.triggers.clone();
            let private = if done.is_empty() {
                Vec::new()
            } else {
                RebootProgress::new(job.target.clone(), done).encode()
            };
            saved(state, private, diagnostics)
        }
    }
}

/// The diagnostics of an apply that left `pending` servers not done.
fn failure(job: &Job, targets: &Targets, ran: &Ran, pending: &[String]) -> Diagnostics {
    tracing::warn!(
        rebooted = ran.report.rebooted.len(),
        pending = pending.len(),
        interrupted = ran.interrupted,
        "workspace_app_server_reboot: incomplete"
    );
    failure_diagnostics(&Outcome {
        creating: job.creating,
        listed: &job.server_ids,
        done_before: &targets.done_before,
        reboot: &ran.report,
        wait: ran.wait.as_ref(),
        interrupted: ran.interrupted,
        timeout_label: job.timeout_label,
        timeout: job.timeout,
        pending,
    })
}

/// Servers done for this target: by the earlier apply, or now (accepted and, when waiting was
/// asked, seen ready).
fn done(targets: &Targets, ran: &Ran) -> BTreeSet<String> {
    let done_now = ran.report.rebooted.iter().filter(|id| {
        ran.wait
            .as_ref()
            .is_none_or(|wait| wait.outcome(id) == Some(&WaitOutcome::Ready))
    });
    targets
        .done_before
        .iter()
        .chain(done_now)
        .cloned()
        .collect()
}

/// The time of this attempt when it rebooted anything (or completed without a prior time);
/// otherwise the prior time stands.
fn rebooted_at(
    prior: Option<&RebootState>,
    requested_at: OffsetDateTime,
    rebooted_any: bool,
    complete: bool,
) -> Value<String> {
    let prior_time = prior.map_or(Value::Null, |prior| prior.rebooted_at.clone());
    if rebooted_any || (complete && !prior_time.is_known()) {
        Value::Known(rfc3339_seconds(requested_at))
    } else {
        prior_time
    }
}

fn saved(state: RebootState, private: Vec<u8>, diagnostics: Diagnostics) -> Applied<RebootState> {
    Applied {
        state: Some(state),
        private,
        diagnostics,
    }
}

/// `2024-05-01T12:00:00Z`: UTC, whole seconds.
fn rfc3339_seconds(at: OffsetDateTime) -> String {
    let whole = at.replace_nanosecond(0).unwrap_or(at);
    whole
        .format(&Rfc3339)
        .unwrap_or_else(|_| whole.unix_timestamp().to_string())
}
