//! PlanResourceChange for `workspace_app_server_reboot`.
//!
//! The framework has already filled in the defaults (`type`, `wait_for_ready`) and plans the
//! computed attributes by their declarations: `id` is kept once created, `rebooted_at` is
//! unknown exactly when the plan acts. What is left here is the one decision this resource
//! makes: an update acts (reboots) exactly when `triggers` changed or are not known yet — the
//! apply reads that decision back from `rebooted_at` being unknown. Configured values are
//! planned exactly as configured; nothing requires replacement.
//!
//! `max_unavailable` and `drain` never decide whether a step reboots (changing only them
//! reboots nothing); when a step reboots, the plan checks the rollout they ask for:
//! - an explicit `timeouts.create|update` too short for even one wave is an error at it;
//! - `drain` without `max_unavailable` warns that every listed server is drained at once;
//! - without `drain`, the servers' open user sessions are counted with one cheap lookup
//!   through the shared poller — the process's shared project listing when it is less than a
//!   minute old, so a plan of many resources costs one listing — (skipped quietly when the
//!   provider is not configured yet or the lookup fails or takes longer than a few seconds)
//!   and a warning says how many end without notice.
//!
//! The same inputs always give the same plan, so the apply-time re-plan agrees with the first
//! (the session warning may count differently: it is a warning, never a change).

use std::time::Duration;

use tokio::time::Instant;

use super::model::{known_ids, RebootState};
use super::progress::{normalized_triggers, triggers_fingerprint, RebootProgress};
use super::rolling::{drain_without_waves, Rolling};
use super::validate::parse_timeout;
use crate::framework::{Context, PlanChange};
use crate::protocol::diagnostics::{AttributePath, Diagnostic};
use crate::provider::ClientState;

/// How long the plan's session count may take before it is skipped.
const SESSION_LOOKUP_BUDGET: Duration = Duration::from_secs(10);
/// How old a shared project listing may be to count sessions from.
const SESSION_COUNT_MAX_AGE: Duration = Duration::from_secs(60);

pub async fn plan(context: &Context<ClientState>, change: &mut PlanChange<RebootState>) {
    if let Some(prior) = &change.prior {
        change.acts = reboot_planned(prior, &change.planned);
        if change.acts {
            // The progress of an unfinished reboot goes through untouched (the framework
            // passes the prior private data on); the apply decides whether it applies — see
            // `progress`.
            if let Some(note) = resume_note(&change.planned, &change.prior_private) {
                change.diagnostics.push(note);
            }
        }
    }
    if change.acts {
        check_rollout(context, change).await;
    }
}

/// The rollout checks of a step that reboots (see the module docs).
async fn check_rollout(context: &Context<ClientState>, change: &mut PlanChange<RebootState>) {
    let planned = &change.planned;
    let rolling = match Rolling::read(&planned.max_unavailable, &planned.drain) {
        Ok(Some(rolling)) => rolling,
        Ok(None) => return, // values unknown until apply: checked again then
        Err(diagnostic) => {
            change.diagnostics.push(diagnostic);
            return;
        }
    };
    let Some(servers) = known_ids(&planned.server_ids) else {
        return;
    };
    let creating = change.prior.is_none();
    let (label, configured) = timeout_of(planned, creating);
    if let Some(Ok(timeout)) = configured.map(|text| parse_timeout(&text)) {
        if let Some(problem) = rolling.too_short(servers.len(), timeout, label) {
            let (block, name) = label.split_once('.').unwrap_or(("timeouts", label));
            change
                .diagnostics
                .push(problem.at(AttributePath::attribute(block).then_attribute(name)));
        }
    }
    if rolling.drain.is_some() {
        if rolling.max_unavailable.is_none() {
            change.diagnostics.push(drain_without_waves(servers.len()));
        }
    } else if let Some(warning) = open_sessions_warning(context, &servers).await {
        change.diagnostics.push(warning);
    }
}

/// "timeouts.create" or "timeouts.update", and its configured text.
fn timeout_of(planned: &RebootState, creating: bool) -> (&'static str, Option<String>) {
    let timeouts = planned.timeouts.known();
    if creating {
        let text = timeouts.and_then(|t| t.create.known().cloned());
        ("timeouts.create", text)
    } else {
        let text = timeouts.and_then(|t| t.update.known().cloned());
        ("timeouts.update", text)
    }
}

/// "N user sessions are open…" when the lookup finds any; None when it finds none or cannot
/// look (see the module docs).
async fn open_sessions_warning(
    context: &Context<ClientState>,
    servers: &[String],
) -> Option<Diagnostic> {
    let session = context.data.session().ok()?;
    // A pre-flight's lookup (one project listing when that is cheaper than a GET per server),
    // or the process's shared listing when it is less than a minute old: a warning need not
    // be fresher, and a plan of many resources then costs one listing, not one each.
    let counts = match session
        .poller
        .session_counts(
            servers,
            SESSION_COUNT_MAX_AGE,
            &context.cancel,
            Instant::now() + SESSION_LOOKUP_BUDGET,
        )
        .await
    {
        Ok(counts) => counts,
        Err(error) => {
            tracing::debug!(%error, "plan: session count skipped");
            return None;
        }
    };
    let counts: Vec<u64> = counts.into_values().filter(|count| *count > 0).collect();
    let sessions: u64 = counts.iter().sum();
    let holding = counts.len();
    (sessions > 0).then(|| {
        Diagnostic::warning(
            "User sessions will end without notice",
            format!(
                "{sessions} user sessions are open on the servers this plan reboots; without \
                 `drain` they end without notice ({holding} of the {} server(s) hold \
                 sessions). Add a drain block to wait for them to end, or to log the users off \
                 with a message first.",
                servers.len()
            ),
        )
        .at(AttributePath::attribute("server_ids"))
    })
}

/// An update reboots when the triggers differ from the prior ones (null and `{}` being the
/// same), or are not known yet.
pub fn reboot_planned(prior: &RebootState, planned: &RebootState) -> bool {
    match (
        normalized_triggers(&prior.triggers),
        normalized_triggers(&planned.triggers),
    ) {
        (Some(before), Some(after)) => before != after,
        _ => true,
    }
}

/// When an earlier apply towards the same triggers stopped part-way, say what this one will
/// do: the plan itself can only show that a reboot happens, not of which servers.
fn resume_note(planned: &RebootState, prior_private: &[u8]) -> Option<Diagnostic> {
    let target = triggers_fingerprint(&normalized_triggers(&planned.triggers)?);
    let done = RebootProgress::done_for(prior_private, &target);
    let listed: Vec<&String> = planned
        .server_ids
        .known()?
        .iter()
        .filter_map(|id| id.known())
        .collect();
    let already = listed
        .iter()
        .filter(|id| done.contains(id.as_str()))
        .count();
    if already == 0 {
        return None;
    }
    Some(Diagnostic::warning(
        "Resuming an unfinished reboot",
        format!(
            "An earlier apply towards these triggers stopped part-way: {already} of the {} listed \
             servers are already rebooted and will not be rebooted again; the other {} will be.",
            listed.len(),
            listed.len() - already
        ),
    ))
}
