//! The last step of a reboot apply: what is saved, so that the state tells the truth and the
//! next apply finishes the job.
//!
//! - Success: the planned values, with `rebooted_at` and an empty `pending_server_ids`.
//! - Failed create with something done (now, or by the destroyed tainted object it took over):
//!   the state, with `rebooted_at` and `pending_server_ids` listing the servers not done.
//!   Terraform taints a create that reports errors, so the next apply replaces it; when the
//!   replacement is created right after the tainted object is destroyed, in the same process,
//!   with the same `server_ids`, triggers and type, it reboots only those (see `handover`).
//! - Failed create with nothing done: nothing, so the next apply simply creates again (a
//!   tainted object would claim a reboot that never happened).
//! - Failed update: the planned values but with the PRIOR `triggers` and `pending_server_ids`,
//!   so the next plan still sees the trigger change and plans the reboot again; `rebooted_at`
//!   is the time of this attempt if it rebooted anything, else the prior one. The servers done
//!   so far are recorded in the private state for this target triggers value (see
//!   `progress`), so the next apply reboots only the rest.
//!
//! A server counts as done when its reboot was accepted and, if waiting was asked, it was seen
//! ready again. Anything less (a request that got no answer, a server in ERROR, a wait cut
//! short) is not done and will be rebooted again by the next apply.

use std::collections::BTreeSet;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::handover::Handover;
use super::job::{Job, Targets};
use super::model::RebootState;
use super::progress::RebootProgress;
use super::report::{failure_diagnostics, Outcome};
use super::run::Ran;
use crate::framework::{Applied, Set, Value};
use crate::protocol::diagnostics::Diagnostics;

/// What came before this apply step.
pub enum Earlier<'a> {
    /// A create with nothing to resume.
    Nothing,
    /// A create resuming the unfinished work of a destroyed tainted object.
    Replaced(Handover),
    /// An update: the prior state and the private progress it came with.
    Update {
        prior: &'a RebootState,
        private: Vec<u8>,
    },
}

pub fn record(
    job: &Job,
    targets: &Targets,
    ran: &Ran,
    earlier: &Earlier<'_>,
    mut state: RebootState,
) -> Applied<RebootState> {
    let done = done(targets, ran);
    let pending: Vec<String> = job
        .server_ids
        .iter()
        .filter(|id| !done.contains(*id))
        .cloned()
        .collect();
    let rebooted_any = ran.report.rebooted_any();
    let prior_time = match earlier {
        Earlier::Nothing => Value::Null,
        Earlier::Replaced(handover) => handover.rebooted_at.clone(),
        Earlier::Update { prior, .. } => prior.rebooted_at.clone(),
    };
    state.rebooted_at = rebooted_at(
        prior_time,
        ran.requested_at,
        rebooted_any,
        pending.is_empty(),
    );
    if pending.is_empty() {
        tracing::info!(
            rebooted = ran.report.done().count(),
            "workspace_app_server_reboot: done"
        );
        state.pending_server_ids = Value::Known(Set::default());
        return saved(state, Vec::new(), Diagnostics::new());
    }
    let diagnostics = failure(job, targets, ran, &pending);
    match earlier {
        // Nothing happened: save nothing, so the next apply creates again.
        Earlier::Nothing | Earlier::Replaced(_) if !rebooted_any && done.is_empty() => Applied {
            state: None,
            private: Vec::new(),
            diagnostics,
        },
        // Terraform taints the object; its replacement takes over the pending servers.
        Earlier::Nothing | Earlier::Replaced(_) => {
            state.pending_server_ids =
                Value::Known(Set::new(pending.iter().cloned().map(Value::Known)));
            saved(state, Vec::new(), diagnostics)
        }
        Earlier::Update { prior, .. } => {
            // Keep the prior triggers so the change is planned again, and remember progress.
            state.triggers = prior.triggers.clone();
            state.pending_server_ids = prior.pending_server_ids.clone();
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
        rebooted = ran.report.done().count(),
        pending = pending.len(),
        interrupted = ran.interrupted,
        "workspace_app_server_reboot: incomplete"
    );
    failure_diagnostics(&Outcome {
        creating: job.creating,
        listed: &job.server_ids,
        done_before: &targets.done_before,
        rollout: &ran.report,
        waited: job.wait,
        interrupted: ran.interrupted,
        timeout_label: job.timeout_label,
        timeout: job.timeout,
        pending,
    })
}

/// Servers done for this target: by the earlier apply, or now (accepted and, when waiting was
/// asked, seen ready).
fn done(targets: &Targets, ran: &Ran) -> BTreeSet<String> {
    targets
        .done_before
        .iter()
        .map(String::as_str)
        .chain(ran.report.done())
        .map(str::to_owned)
        .collect()
}

/// The time of this attempt when it rebooted anything (or completed without a prior time);
/// otherwise the prior time stands.
fn rebooted_at(
    prior_time: Value<String>,
    requested_at: OffsetDateTime,
    rebooted_any: bool,
    complete: bool,
) -> Value<String> {
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
