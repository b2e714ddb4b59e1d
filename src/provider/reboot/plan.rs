//! PlanResourceChange for `workspace_app_server_reboot`.
//!
//! The framework has already filled in the defaults (`type`, `wait_for_ready`) and plans the
//! computed attributes by their declarations: `id` is kept once created, `rebooted_at` is
//! unknown exactly when the plan acts. What is left here is the one decision this resource
//! makes: an update acts (reboots) exactly when `triggers` changed or are not known yet — the
//! apply reads that decision back from `rebooted_at` being unknown. Configured values are
//! planned exactly as configured; nothing requires replacement.
//!
//! The same inputs always give the same plan, so the apply-time re-plan agrees with the first.

use super::model::RebootState;
use super::progress::{normalized_triggers, triggers_fingerprint, RebootProgress};
use crate::framework::PlanChange;
use crate::protocol::diagnostics::Diagnostic;

pub fn plan(change: &mut PlanChange<RebootState>) {
    let Some(prior) = &change.prior else {
        return; // a create always reboots
    };
    change.acts = reboot_planned(prior, &change.planned);
    if change.acts {
        // The progress of an unfinished reboot goes through untouched (the framework passes
        // the prior private data on); the apply decides whether it applies — see `progress`.
        if let Some(note) = resume_note(&change.planned, &change.prior_private) {
            change.diagnostics.push(note);
        }
    }
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
