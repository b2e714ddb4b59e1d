//! Data sources: validating and reading.

use super::diagnostics::diagnostics;
use super::values::{dynamic_value, wire};
use super::{messages, pb};
use crate::protocol::core::ProviderCore;
use crate::protocol::provider::Provider;
use std::sync::Arc;

pub(crate) async fn validate_config<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: messages::validate_data_resource_config::Request,
) -> messages::validate_data_resource_config::Response {
    let config = wire(request.config);
    let answer = core
        .validate_data_source_config(&request.type_name, &config)
        .await;
    messages::validate_data_resource_config::Response {
        diagnostics: diagnostics(answer),
    }
}

pub(crate) async fn read<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::read_data_source::Request,
) -> pb::read_data_source::Response {
    let config = wire(request.config);
    let outcome = core.read_data_source(&request.type_name, &config).await;
    pb::read_data_source::Response {
        state: dynamic_value(outcome.state),
        diagnostics: diagnostics(outcome.diagnostics),
        deferred: None,
    }
}
