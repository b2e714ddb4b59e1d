//! PlanResourceChange for `workspace_app_server_reboot`.
//!
//! - Create: `id` and `rebooted_at` unknown, defaults filled in.
//! - Update: a reboot is planned exactly when `triggers` changed or are not known yet; the plan
//!   says so by making `rebooted_at` unknown, and the apply reads that decision back from it.
//!   Otherwise `rebooted_at` keeps its prior value. `id` never changes.
//! - Configured values are planned exactly as configured; nothing requires replacement.
//! - Destroy (proposed null) plans null.
//!
//! The same inputs always give the same plan, so the apply-time re-plan agrees with the first.

use super::progress::{normalized_triggers, triggers_fingerprint, RebootProgress};
use super::validate::validate;
use super::{DEFAULT_TYPE, DEFAULT_WAIT_FOR_READY};
use crate::protocol::cty::Value;
use crate::protocol::diagnostics::Diagnostic;
use crate::protocol::provider::{PlanRequest, PlanResponse};
use crate::provider::schema::reboot_attrs as attrs;
use crate::provider::values::{attr, set_attr};

pub fn plan(request: &PlanRequest) -> PlanResponse {
    if request.proposed_new_state.is_null() {
        return PlanResponse {
            planned_state: Value::Null,
            ..PlanResponse::default()
        };
    }
    // Terraform validates before planning, but only with the values known then; the plan at
    // apply time sees the final ones.
    let diagnostics = validate(&request.config);
    if diagnostics.has_errors() {
        return PlanResponse {
            planned_state: request.proposed_new_state.clone(),
            diagnostics,
            ..PlanResponse::default()
        };
    }

    let mut planned = request.proposed_new_state.clone();
    // Optional+computed attributes left out of the configuration get their default — not the
    // prior value, so removing `type = "HARD"` from the configuration means SOFT again.
    if attr(&request.config, attrs::TYPE).is_null() {
        set_attr(&mut planned, attrs::TYPE, Value::string(DEFAULT_TYPE));
    }
    if attr(&request.config, attrs::WAIT_FOR_READY).is_null() {
        set_attr(
            &mut planned,
            attrs::WAIT_FOR_READY,
            Value::Bool(DEFAULT_WAIT_FOR_READY),
        );
    }

    let prior = &request.prior_state;
    if prior.is_null() {
        set_attr(&mut planned, attrs::ID, Value::unknown());
        set_attr(&mut planned, attrs::REBOOTED_AT, Value::unknown());
        return PlanResponse {
            planned_state: planned,
            diagnostics,
            ..PlanResponse::default()
        };
    }

    let prior_id = attr(prior, attrs::ID);
    let id = if prior_id.as_str().is_some() {
        prior_id.clone()
    } else {
        Value::unknown()
    };
    set_attr(&mut planned, attrs::ID, id);

    let mut response = PlanResponse {
        diagnostics,
        ..PlanResponse::default()
    };
    if reboot_planned(prior, &planned) {
        set_attr(&mut planned, attrs::REBOOTED_AT, Value::unknown());
        if let Some(note) = resume_note(&planned, &request.prior_private) {
            response.diagnostics.push(note);
        }
    } else {
        set_attr(
            &mut planned,
            attrs::REBOOTED_AT,
            attr(prior, attrs::REBOOTED_AT).clone(),
        );
    }
    // The progress of an unfinished reboot goes through untouched; the apply decides whether it
    // applies (same target triggers) — see `progress`.
    response.planned_private = request.prior_private.clone();
    response.planned_state = planned;
    response
}

/// An update reboots when the triggers differ from the prior ones (null and `{}` being the
/// same), or are not known yet.
pub fn reboot_planned(prior: &Value, planned: &Value) -> bool {
    match (
        normalized_triggers(attr(prior, attrs::TRIGGERS)),
        normalized_triggers(attr(planned, attrs::TRIGGERS)),
    ) {
        (Some(before), Some(after)) => before != after,
        _ => true,
    }
}

/// When an earlier apply towards the same triggers stopped part-way, say what this one will
/// do: the plan itself can only show that a reboot happens, not of which servers.
fn resume_note(planned: &Value, prior_private: &[u8]) -> Option<Diagnostic> {
    let target = triggers_fingerprint(&normalized_triggers(attr(planned, attrs::TRIGGERS))?);
    let done = RebootProgress::done_for(prior_private, &target);
    let server_ids = attr(planned, attrs::SERVER_IDS).elements()?;
    let listed: Vec<&str> = server_ids.iter().filter_map(Value::as_str).collect();
    let already = listed.iter().filter(|id| done.contains(**id)).count();
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
