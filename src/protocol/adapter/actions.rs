//! Actions (Terraform 1.14): validating, planning and invoking.
//!
//! InvokeAction answers with a stream: one Progress event per message the action sent, in
//! order, then exactly one Completed event carrying the action's diagnostics. The core runs
//! the action and produces those events; here they only become messages.

use super::diagnostics::diagnostics;
use super::pb;
use super::values::wire;
use crate::protocol::core::{ActionEvent, ProviderCore};
use crate::protocol::provider::Provider;
use futures::stream::BoxStream;
use futures::StreamExt;
use std::sync::Arc;

pub(crate) async fn validate_config<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::validate_action_config::Request,
) -> pb::validate_action_config::Response {
    let config = wire(request.config);
    let answer = core
        .validate_action_config(&request.type_name, &config)
        .await;
    pb::validate_action_config::Response {
        diagnostics: diagnostics(answer),
    }
}

pub(crate) async fn plan<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::plan_action::Request,
) -> pb::plan_action::Response {
    let config = wire(request.config);
    let answer = core.plan_action(&request.action_type, &config).await;
    pb::plan_action::Response {
        diagnostics: diagnostics(answer),
        deferred: None,
    }
}

pub(crate) fn invoke<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::invoke_action::Request,
) -> BoxStream<'static, pb::invoke_action::Event> {
    use pb::invoke_action::event::{Completed, Progress, Type};
    let config = wire(request.config);
    core.invoke_action(&request.action_type, &config)
        .map(|event| pb::invoke_action::Event {
            r#type: Some(match event {
                ActionEvent::Progress(message) => Type::Progress(Progress { message }),
                ActionEvent::Completed(answer) => Type::Completed(Completed {
                    diagnostics: diagnostics(answer),
                }),
            }),
        })
        .boxed()
}
