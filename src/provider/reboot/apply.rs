//! ApplyResourceChange for `workspace_app_server_reboot`.
//!
//! - Delete: no API call, null state.
//! - Update whose plan kept `rebooted_at` known: no API call; the new settings are recorded.
//! - Create, or update whose plan made `rebooted_at` unknown (triggers changed): reboot every
//!   listed server — minus those an unfinished earlier apply towards the same triggers already
//!   did — and wait for them when `wait_for_ready`, all within `timeouts.create|update`.
//!
//! When that fails part-way, the saved state must tell the truth and the next apply must finish
//! the job:
//! - Failed create with something rebooted: return the state (with `rebooted_at` set). Terraform
//!   taints a create that reports errors, so the next apply replaces it and reboots all servers
//!   again — a replacement is a new create, with no memory of the old one.
//! - Failed create with nothing rebooted: return null, so nothing is saved and the next apply
//!   simply creates again (a tainted object would claim a reboot that never happened).
//! - Failed update: return the planned values but with the PRIOR `triggers`, so the next plan
//!   still sees the trigger change and plans the reboot again; `rebooted_at` is the time of this
//!   attempt if it rebooted anything, else the prior one. The servers done so far are recorded in
//!   the private state for this target triggers value (see `progress`), so the next apply
//!   reboots only the rest.
//!
//! A server counts as done when its reboot was accepted and, if waiting was asked, it was seen
//! ready again. Anything less (a request that got no answer, a server in ERROR, a wait cut short)
//! is not done and will be rebooted again by the next apply.

use std::collections::BTreeSet;
use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::progress::{normalized_triggers, triggers_fingerprint, RebootProgress};
use super::report::{failure_diagnostics, Outcome};
use super::validate::parse_timeout;
use super::DEFAULT_TIMEOUT;
use crate::protocol::cty::Value;
use crate::protocol::diagnostics::{Diagnostic, Diagnostics};
use crate::protocol::provider::{ApplyRequest, ApplyResponse};
use crate::provider::schema::reboot_attrs as attrs;
use crate::provider::values::{attr, set_attr};
use crate::workspace::{Client, RebootReport, RebootType, WaitOptions, WaitOutcome};

/// What an apply may use besides the request.
pub struct ApplyContext {
    /// The configured client, or why there is none.
    pub client: Result<Client, Diagnostic>,
    pub wait_options: WaitOptions,
    /// Cancelled when Terraform asks the provider to stop.
    pub cancel: CancellationToken,
}

/// The reboot an apply carries out, read from the planned state.
struct Job {
    server_ids: Vec<String>,
    reboot_type: RebootType,
    wait: bool,
    timeout: Duration,
    timeout_label: &'static str,
    /// Fingerprint of the planned triggers.
    target: String,
}

pub async fn apply(request: ApplyRequest, context: ApplyContext) -> ApplyResponse {
    let ApplyRequest {
        prior_state,
        planned_state,
        planned_private,
        ..
    } = request;
    if planned_state.is_null() {
        // Destroying forgets the record of the reboots; there is nothing to undo.
        return ApplyResponse::default();
    }
    let creating = prior_state.is_null();
    let mut state = planned_state.clone();
    if attr(&state, attrs::ID).as_str().is_none() {
        set_attr(&mut state, attrs::ID, Value::string(new_id()));
    }
    // The plan decided: `rebooted_at` is unknown exactly when this step reboots.
    let rebooting = creating || attr(&planned_state, attrs::REBOOTED_AT).is_unknown();
    if !rebooting {
        tracing::debug!("workspace_app_server_reboot: settings changed, no reboot");
        // Any unfinished progress was towards triggers the configuration no longer asks for.
        return ApplyResponse {
            new_state: state,
            private: Vec::new(),
            diagnostics: Diagnostics::new(),
        };
    }

    let job = match Job::read(&planned_state, creating) {
        Ok(job) => job,
        Err(diagnostic) => return nothing_done(diagnostic),
    };
    let client = match context.client {
        Ok(client) => client,
        Err(diagnostic) => return nothing_done(diagnostic),
    };

    let listed: BTreeSet<&String> = job.server_ids.iter().collect();
    let done_before: BTreeSet<String> = if creating {
        BTreeSet::new()
    } else {
        RebootProgress::done_for(&planned_private, &job.target)
            .into_iter()
            .filter(|id| listed.contains(id))
            .collect()
    };
    let to_reboot: Vec<String> = job
        .server_ids
        .iter()
        .filter(|id| !done_before.contains(*id))
        .cloned()
        .collect();

    let cancel = context.cancel;
    let deadline = Instant::now() + job.timeout;
    let requested_at = OffsetDateTime::now_utc();
    tracing::info!(
        servers = to_reboot.len(),
        already_done = done_before.len(),
        reboot_type = %job.reboot_type,
        wait = job.wait,
        "workspace_app_server_reboot: rebooting"
    );
    let report = if to_reboot.is_empty() {
        RebootReport::default()
    } else {
        client
            .batch_reboot(&to_reboot, job.reboot_type, &cancel, deadline)
            .await
    };
    let wait = if job.wait && !report.rebooted.is_empty() {
        let options = WaitOptions {
            reboot_requested_at: Some(requested_at),
            ..context.wait_options
        };
        Some(
            client
                .wait_until_ready(&report.rebooted, &options, &cancel, deadline)
                .await,
        )
    } else {
        None
    };

    let done_now = report.rebooted.iter().filter(|id| {
        wait.as_ref()
            .is_none_or(|w| w.outcome(id) == Some(&WaitOutcome::Ready))
    });
    let done: BTreeSet<String> = done_before
        .iter()
        .cloned()
        .chain(done_now.cloned())
        .collect();
    let pending: Vec<String> = job
        .server_ids
        .iter()
        .filter(|id| !done.contains(*id))
        .cloned()
        .collect();

    let prior_rebooted_at = attr(&prior_state, attrs::REBOOTED_AT);
    let rebooted_at = if !report.rebooted.is_empty() || prior_rebooted_at.as_str().is_none() {
        Value::string(rfc3339_seconds(requested_at))
    } else {
        prior_rebooted_at.clone()
    };

    if pending.is_empty() {
        tracing::info!(
            rebooted = report.rebooted.len(),
            "workspace_app_server_reboot: done"
        );
        set_attr(&mut state, attrs::REBOOTED_AT, rebooted_at);
        return ApplyResponse {
            new_state: state,
            private: Vec::new(),
            diagnostics: Diagnostics::new(),
        };
    }

    let interrupted = cancel.is_cancelled();
    let diagnostics = failure_diagnostics(&Outcome {
        creating,
        listed: &job.server_ids,
        done_before: &done_before,
        reboot: &report,
        wait: wait.as_ref(),
        interrupted,
        timeout_label: job.timeout_label,
        timeout: job.timeout,
        pending: &pending,
    });
    tracing::warn!(
        rebooted = report.rebooted.len(),
        pending = pending.len(),
        interrupted,
        "workspace_app_server_reboot: incomplete"
    );

    if creating {
        if report.rebooted.is_empty() {
            return ApplyResponse {
                new_state: Value::Null,
                private: Vec::new(),
                diagnostics,
            };
        }
        set_attr(&mut state, attrs::REBOOTED_AT, rebooted_at);
        return ApplyResponse {
            new_state: state,
            private: Vec::new(),
            diagnostics,
        };
    }

    // Update: keep the prior triggers so the change is planned again, and remember progress.
    set_attr(
        &mut state,
        attrs::TRIGGERS,
        attr(&prior_state, attrs::TRIGGERS).clone(),
    );
    let rebooted_at = if report.rebooted.is_empty() {
        prior_rebooted_at.clone()
    } else {
        rebooted_at
    };
    set_attr(&mut state, attrs::REBOOTED_AT, rebooted_at);
    let private = if done.is_empty() {
        Vec::new()
    } else {
        RebootProgress::new(job.target, done).encode()
    };
    ApplyResponse {
        new_state: state,
        private,
        diagnostics,
    }
}

impl Job {
    fn read(planned: &Value, creating: bool) -> Result<Job, Diagnostic> {
        let broken = |what: &str| {
            Diagnostic::error(
                "Invalid planned state",
                format!("The planned {what} is not usable; this is a bug in the provider."),
            )
        };
        let mut server_ids: Vec<String> = attr(planned, attrs::SERVER_IDS)
            .elements()
            .ok_or_else(|| broken("server_ids"))?
            .iter()
            .map(|id| id.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| broken("server_ids"))?;
        server_ids.sort();
        server_ids.dedup();
        let reboot_type = attr(planned, attrs::TYPE)
            .as_str()
            .and_then(|t| t.parse::<RebootType>().ok())
            .ok_or_else(|| broken("type"))?;
        let wait = attr(planned, attrs::WAIT_FOR_READY)
            .as_bool()
            .ok_or_else(|| broken("wait_for_ready"))?;
        let (kind, timeout_label) = if creating {
            (attrs::TIMEOUT_CREATE, "timeouts.create")
        } else {
            (attrs::TIMEOUT_UPDATE, "timeouts.update")
        };
        let timeout = match attr(attr(planned, attrs::TIMEOUTS), kind).as_str() {
            None => DEFAULT_TIMEOUT,
            Some(text) => parse_timeout(text).map_err(|problem| {
                Diagnostic::error("Invalid timeout", format!("{timeout_label}: {problem}"))
            })?,
        };
        let target = triggers_fingerprint(
            &normalized_triggers(attr(planned, attrs::TRIGGERS))
                .ok_or_else(|| broken("triggers"))?,
        );
        Ok(Job {
            server_ids,
            reboot_type,
            wait,
            timeout,
            timeout_label,
            target,
        })
    }
}

/// An error before anything was sent: a null new state keeps whatever was saved before
/// (nothing, for a create).
fn nothing_done(diagnostic: Diagnostic) -> ApplyResponse {
    ApplyResponse {
        new_state: Value::Null,
        private: Vec::new(),
        diagnostics: diagnostic.into(),
    }
}

/// A random 128-bit identity: the resource has no remote ID of its own.
fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// `2024-05-01T12:00:00Z`: UTC, whole seconds.
fn rfc3339_seconds(at: OffsetDateTime) -> String {
    let whole = at.replace_nanosecond(0).unwrap_or(at);
    whole
        .format(&Rfc3339)
        .unwrap_or_else(|_| whole.unix_timestamp().to_string())
}
