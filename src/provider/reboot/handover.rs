//! Handing the unfinished work of a destroyed, tainted reboot to its replacement.
//!
//! Why: a create that fails part-way is tainted by Terraform, and the next apply replaces it.
//! Terraform drops the tainted object's private data, but sends its state value as the prior
//! state of the destroy, and — unless `create_before_destroy` is set — destroys it before it
//! creates the replacement, in the same provider process during the same apply. So:
//!
//! - **Delete** of a state whose `pending_server_ids` is known and not empty leaves a
//!   [`Handover`] here: its `server_ids`, `triggers` (fingerprint), `type`, the pending
//!   servers and its `rebooted_at`. An empty list (a complete reboot, e.g. `-replace` of a
//!   healthy resource) or a null one (a state from before the attribute existed) leaves
//!   nothing, so such a replacement reboots every server, as it always did.
//! - **Create** takes a handover whose `server_ids` (as a set), triggers and `type` equal its own
//!   exactly, and reboots only the pending servers. Anything else — another server list,
//!   other triggers, another reboot type, no handover at all (`create_before_destroy`, a new
//!   process) — reboots every listed server. A handover is taken once.
//!
//! The limit of the rule: the provider cannot tell which resource address a create belongs to,
//! so two resources declaring exactly the same servers, triggers and type, one of them being
//! replaced in the same apply, could swap the handover. Both still reboot every server they list
//! at least once in that apply or the one that failed.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use super::job::Job;
use super::model::RebootState;
use super::progress::{normalized_triggers, triggers_fingerprint};
use crate::framework::Value;

/// Unfinished work left by a destroyed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    pub server_ids: BTreeSet<String>,
    /// [`triggers_fingerprint`] of its triggers.
    pub target: String,
    pub reboot_type: String,
    /// Listed servers not done yet.
    pub pending: BTreeSet<String>,
    /// Its `rebooted_at`, kept when the replacement reboots nothing new.
    pub rebooted_at: Value<String>,
}

/// The handovers of one provider process. Cheap to clone; clones share.
#[derive(Debug, Clone, Default)]
pub struct Handovers {
    entries: Arc<Mutex<Vec<Handover>>>,
}

impl Handover {
    /// What a destroyed state leaves behind: `None` unless it lists pending servers and every
    /// value the match needs is known.
    pub fn from_state(state: &RebootState) -> Option<Handover> {
        let pending = known_ids(&state.pending_server_ids)?;
        if pending.is_empty() {
            return None;
        }
        let server_ids = known_ids(&state.server_ids)?;
        let target = triggers_fingerprint(&normalized_triggers(&state.triggers)?);
        Some(Handover {
            pending: pending.intersection(&server_ids).cloned().collect(),
            server_ids,
            target,
            reboot_type: state.r#type.known()?.clone(),
            rebooted_at: state.rebooted_at.clone(),
        })
    }

    fn matches(&self, job: &Job) -> bool {
        self.target == job.target
            && self.reboot_type == job.reboot_type.to_string()
            && self.server_ids.len() == job.server_ids.len()
            && job.server_ids.iter().all(|id| self.server_ids.contains(id))
    }
}

impl Handovers {
    /// Keeps what `state` leaves behind, if anything.
    pub fn leave(&self, state: &RebootState) {
        if let Some(handover) = Handover::from_state(state) {
            tracing::info!(
                pending = handover.pending.len(),
                "workspace_app_server_reboot: unfinished reboot kept for the replacement"
            );
            self.lock().push(handover);
        }
    }

    /// Takes the handover matching `job` exactly, if any.
    pub fn take(&self, job: &Job) -> Option<Handover> {
        let mut entries = self.lock();
        let index = entries.iter().position(|h| h.matches(job))?;
        Some(entries.remove(index))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Handover>> {
        // A poisoned lock only means another call panicked while pushing or removing; the
        // vector itself is still whole.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn known_ids(ids: &Value<crate::framework::Set<Value<String>>>) -> Option<BTreeSet<String>> {
    ids.known()?.iter().map(|id| id.known().cloned()).collect()
}
