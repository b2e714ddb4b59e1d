//! ApplyResourceChange for `workspace_app_server_reboot`, in five steps:
//! read the plan ([`Job`]) → what to reboot ([`Job::targets`]) → check those
//! servers ([`preflight`]) → run ([`run`]) → record the outcome ([`record`]).
//!
//! - Delete: no API call; a state with pending servers leaves a handover for its
//!   replacement (see `handover`). Null state.
//! - Update whose plan kept `rebooted_at` known: no API call; the new settings are recorded.
//! - Create, or update whose plan made `rebooted_at` unknown (triggers changed): reboot every
//!   listed server — minus those an unfinished earlier apply towards the same triggers already
//!   did (the private progress of an update, the handover of a destroyed tainted object for a
//!   create, see `handover`) — and wait for them when `wait_for_ready`, all within `timeouts.create|update`.
//! - Before the first reboot request the servers about to be rebooted (only those) are looked
//!   up; if any does not exist, is frozen or is in a dead end, no reboot is sent at all and the
//!   state stays as it was (see `preflight`).
//!
//! What is saved when that fails part-way is `record`'s business.
//!
//! [`run`]: super::run::run
//! [`record`]: super::record::record
//! [`preflight`]: super::preflight::check

use tokio::time::Instant;

use super::job::Job;
use super::model::RebootState;
use super::preflight::{check, refused};
use super::record::{record, Earlier};
use super::run::run;
use crate::framework::{Applied, Context, Create, Update, Value};
use crate::protocol::diagnostics::Diagnostics;
use crate::provider::ClientState;

pub async fn create(
    context: &Context<ClientState>,
    request: Create<RebootState>,
) -> Applied<RebootState> {
    let mut state = request.planned;
    if !state.id.is_known() {
        state.id = Value::Known(new_id());
    }
    reboot(context, None, state, &[]).await
}

pub async fn update(
    context: &Context<ClientState>,
    request: Update<RebootState>,
) -> Applied<RebootState> {
    let state = request.planned;
    // The plan decided: `rebooted_at` is unknown exactly when this step reboots.
    if !state.rebooted_at.is_unknown() {
        tracing::debug!("workspace_app_server_reboot: settings changed, no reboot");
        // Any unfinished progress was towards triggers the configuration no longer asks for.
        return Applied {
            state: Some(state),
            private: Vec::new(),
            diagnostics: Default::default(),
        };
    }
    reboot(context, Some(&request.prior), state, &request.private).await
}

/// Leaves the unfinished work of a destroyed object for its replacement.
pub fn delete(context: &Context<ClientState>, prior: &RebootState) -> Diagnostics {
    // Without a configured provider there is no process-wide place to leave it: then the
    // replacement reboots every server, as without a handover.
    if let Ok(session) = context.data.session() {
        session.handovers.leave(prior);
    }
    Diagnostics::new()
}

/// The reboot step of a create (`prior` is `None`) or an update.
async fn reboot(
    context: &Context<ClientState>,
    prior: Option<&RebootState>,
    state: RebootState,
    private: &[u8],
) -> Applied<RebootState> {
    let job = match Job::read(&state, prior.is_none()) {
        Ok(job) => job,
        Err(diagnostic) => return Applied::nothing(diagnostic),
    };
    let session = match context.data.session() {
        Ok(session) => session,
        Err(diagnostic) => return Applied::nothing(diagnostic),
    };
    let deadline = Instant::now() + job.timeout;
    let (targets, earlier) = match prior {
        Some(prior) => (
            job.targets(Some(private)),
            Earlier::Update {
                prior,
                private: private.to_vec(),
            },
        ),
        None => match session.handovers.take(&job) {
            Some(handover) => (job.targets_after(&handover), Earlier::Replaced(handover)),
            None => (job.targets(None), Earlier::Nothing),
        },
    };
    let checked = match check(&session.poller, &job, &targets, &context.cancel, deadline).await {
        Ok(checked) => checked,
        Err(diagnostic) => return refused(diagnostic, &earlier, state),
    };
    let ran = run(&session, &job, &targets, checked, &context.cancel, deadline).await;
    record(&job, &targets, &ran, &earlier, state)
}

/// A random 128-bit identity: the resource has no remote ID of its own.
fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}
