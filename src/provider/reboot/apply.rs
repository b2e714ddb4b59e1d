//! ApplyResourceChange for `workspace_app_server_reboot`, in four steps:
//! read the plan ([`Job`]) → what to reboot ([`Job::targets`]) → run ([`run`]) → record the
//! outcome ([`record`]).
//!
//! - Delete: no API call (the framework's default), null state.
//! - Update whose plan kept `rebooted_at` known: no API call; the new settings are recorded.
//! - Create, or update whose plan made `rebooted_at` unknown (triggers changed): reboot every
//!   listed server — minus those an unfinished earlier apply towards the same triggers already
//!   did — and wait for them when `wait_for_ready`, all within `timeouts.create|update`.
//!
//! What is saved when that fails part-way is `record`'s business.
//!
//! [`run`]: super::run::run
//! [`record`]: super::record::record

use super::job::Job;
use super::model::RebootState;
use super::record::record;
use super::run::run;
use crate::framework::{Applied, Context, Create, Update, Value};
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
    let (client, wait_options) = match context.data.client() {
        Ok(client) => client,
        Err(diagnostic) => return Applied::nothing(diagnostic),
    };
    let targets = job.targets(prior.map(|_| private));
    let ran = run(&client, wait_options, &job, &targets, &context.cancel).await;
    record(&job, &targets, &ran, prior, state)
}

/// A random 128-bit identity: the resource has no remote ID of its own.
fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}
