//! Managed resources: validation, state upgrades, the plan/apply lifecycle and import, plus
//! the optional resource features this provider does not implement.

use super::diagnostics::{attribute_path, diagnostics};
use super::values::{dynamic_value, wire};
use super::{messages, pb};
use crate::protocol::core::ProviderCore;
use crate::protocol::provider::Provider;
use std::sync::Arc;

pub(crate) async fn validate_config<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: messages::validate_resource_config::Request,
) -> messages::validate_resource_config::Response {
    let config = wire(request.config);
    let answer = core
        .validate_resource_config(&request.type_name, &config)
        .await;
    messages::validate_resource_config::Response {
        diagnostics: diagnostics(answer),
    }
}

pub(crate) async fn upgrade_state<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::upgrade_resource_state::Request,
) -> pb::upgrade_resource_state::Response {
    let raw = request.raw_state.unwrap_or_default();
    let outcome = core
        .upgrade_resource_state(
            &request.type_name,
            request.version,
            &raw.json,
            !raw.flatmap.is_empty(),
        )
        .await;
    pb::upgrade_resource_state::Response {
        upgraded_state: dynamic_value(outcome.state),
        diagnostics: diagnostics(outcome.diagnostics),
    }
}

pub(crate) async fn read<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::read_resource::Request,
) -> pb::read_resource::Response {
    let current_state = wire(request.current_state);
    let outcome = core
        .read_resource(&request.type_name, &current_state, request.private)
        .await;
    pb::read_resource::Response {
        new_state: dynamic_value(outcome.state),
        diagnostics: diagnostics(outcome.diagnostics),
        private: outcome.private,
        deferred: None,
        new_identity: None,
    }
}

pub(crate) async fn plan_change<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::plan_resource_change::Request,
) -> pb::plan_resource_change::Response {
    let outcome = core
        .plan_resource_change(
            &request.type_name,
            &wire(request.prior_state),
            &wire(request.proposed_new_state),
            &wire(request.config),
            request.prior_private,
        )
        .await;
    pb::plan_resource_change::Response {
        planned_state: dynamic_value(outcome.planned_state),
        requires_replace: outcome
            .requires_replace
            .iter()
            .map(attribute_path)
            .collect(),
        planned_private: outcome.planned_private,
        diagnostics: diagnostics(outcome.diagnostics),
        ..Default::default()
    }
}

pub(crate) async fn apply_change<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::apply_resource_change::Request,
) -> pb::apply_resource_change::Response {
    let outcome = core
        .apply_resource_change(
            &request.type_name,
            &wire(request.prior_state),
            &wire(request.planned_state),
            &wire(request.config),
            request.planned_private,
        )
        .await;
    pb::apply_resource_change::Response {
        new_state: dynamic_value(outcome.state),
        private: outcome.private,
        diagnostics: diagnostics(outcome.diagnostics),
        ..Default::default()
    }
}

pub(crate) async fn import_state<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::import_resource_state::Request,
) -> pb::import_resource_state::Response {
    let outcome = core
        .import_resource_state(&request.type_name, &request.id)
        .await;
    let imported_resources = outcome
        .imported
        .into_iter()
        .map(|resource| pb::import_resource_state::ImportedResource {
            type_name: resource.type_name,
            state: dynamic_value(Some(resource.state)),
            private: resource.private,
            identity: None,
        })
        .collect();
    pb::import_resource_state::Response {
        imported_resources,
        diagnostics: diagnostics(outcome.diagnostics),
        deferred: None,
    }
}

pub(crate) async fn move_state<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::move_resource_state::Request,
) -> pb::move_resource_state::Response {
    let answer = core.unsupported_for_resource(
        &request.target_type_name,
        "moving state from another resource type",
    );
    pb::move_resource_state::Response {
        diagnostics: diagnostics(answer),
        ..Default::default()
    }
}

pub(crate) async fn generate_config<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::generate_resource_config::Request,
) -> pb::generate_resource_config::Response {
    let answer = core.unsupported_for_resource(&request.type_name, "configuration generation");
    pb::generate_resource_config::Response {
        config: None,
        diagnostics: diagnostics(answer),
    }
}

/// No resource type has an identity.
pub(crate) async fn identity_schemas<P: Provider>(
    _core: Arc<ProviderCore<P>>,
    _request: pb::get_resource_identity_schemas::Request,
) -> pb::get_resource_identity_schemas::Response {
    pb::get_resource_identity_schemas::Response::default()
}

pub(crate) async fn upgrade_identity<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: pb::upgrade_resource_identity::Request,
) -> pb::upgrade_resource_identity::Response {
    let answer = core.unsupported_for_resource(&request.type_name, "resource identity");
    pb::upgrade_resource_identity::Response {
        upgraded_identity: None,
        diagnostics: diagnostics(answer),
    }
}
