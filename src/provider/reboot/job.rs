//! The first two steps of a reboot apply: what the plan asks for ([`Job`]), and which servers
//! that leaves to reboot ([`Targets`]) once an unfinished earlier apply is taken into account.

use std::collections::BTreeSet;
use std::time::Duration;

use super::handover::Handover;
use super::model::{known_ids, RebootState};
use super::progress::{normalized_triggers, triggers_fingerprint, RebootProgress};
use super::rolling::Rolling;
use super::validate::parse_timeout;
use crate::protocol::diagnostics::Diagnostic;
use crate::workspace::RebootType;

/// Bound on one apply step when `timeouts` says nothing (and neither waves nor a drain make
/// the rollout longer, see [`Rolling::default_timeout`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The reboot an apply carries out, read from the planned state.
#[derive(Debug, Clone)]
pub struct Job {
    pub creating: bool,
    /// Sorted, without duplicates.
    pub server_ids: Vec<String>,
    pub reboot_type: RebootType,
    pub wait: bool,
    /// Waves and draining.
    pub rolling: Rolling,
    pub timeout: Duration,
    /// "timeouts.create" or "timeouts.update", for messages.
    pub timeout_label: &'static str,
    /// Fingerprint of the planned triggers: what progress is recorded against.
    pub target: String,
}

/// The listed servers split by an unfinished earlier apply towards the same triggers.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// Listed servers already done by that earlier apply.
    pub done_before: BTreeSet<String>,
    /// The rest, in `server_ids` order.
    pub to_reboot: Vec<String>,
}

impl Job {
    /// Reads the plan. A planned state is complete and known, so every error here is a bug.
    pub fn read(planned: &RebootState, creating: bool) -> Result<Job, Diagnostic> {
        let broken = |what: &str| {
            Diagnostic::error(
                "Invalid planned state",
                format!("The planned {what} is not usable; this is a bug in the provider."),
            )
        };
        let server_ids = known_ids(&planned.server_ids).ok_or_else(|| broken("server_ids"))?;
        let reboot_type = planned
            .r#type
            .known()
            .and_then(|t| t.parse::<RebootType>().ok())
            .ok_or_else(|| broken("type"))?;
        let wait = *planned
            .wait_for_ready
            .known()
            .ok_or_else(|| broken("wait_for_ready"))?;
        let rolling = Rolling::read(&planned.max_unavailable, &planned.drain)?
            .ok_or_else(|| broken("max_unavailable or drain"))?;
        let timeouts = planned.timeouts.known();
        let (configured, timeout_label) = if creating {
            (timeouts.and_then(|t| t.create.known()), "timeouts.create")
        } else {
            (timeouts.and_then(|t| t.update.known()), "timeouts.update")
        };
        let timeout = match configured {
            None => rolling.default_timeout(server_ids.len(), DEFAULT_TIMEOUT),
            Some(text) => parse_timeout(text).map_err(|problem| {
                Diagnostic::error("Invalid timeout", format!("{timeout_label}: {problem}"))
            })?,
        };
        let target = triggers_fingerprint(
            &normalized_triggers(&planned.triggers).ok_or_else(|| broken("triggers"))?,
        );
        Ok(Job {
            creating,
            server_ids,
            reboot_type,
            wait,
            rolling,
            timeout,
            timeout_label,
            target,
        })
    }

    /// What to reboot. `progress` is the private data of an update (`None` on create: a create
    /// or replacement has no memory of earlier attempts).
    pub fn targets(&self, progress: Option<&[u8]>) -> Targets {
        let done_before: BTreeSet<String> = progress
            .map(|bytes| RebootProgress::done_for(bytes, &self.target))
            .unwrap_or_default()
            .into_iter()
            .filter(|id| self.server_ids.contains(id))
            .collect();
        let to_reboot = self
            .server_ids
            .iter()
            .filter(|id| !done_before.contains(*id))
            .cloned()
            .collect();
        Targets {
            done_before,
            to_reboot,
        }
    }

    /// What to reboot when a destroyed object of the same `server_ids`, triggers and type
    /// handed over its unfinished work: only its pending servers.
    pub fn targets_after(&self, handover: &Handover) -> Targets {
        let (to_reboot, done): (Vec<String>, Vec<String>) = self
            .server_ids
            .iter()
            .cloned()
            .partition(|id| handover.pending.contains(id));
        Targets {
            done_before: done.into_iter().collect(),
            to_reboot,
        }
    }
}
