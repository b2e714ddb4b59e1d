//! The provider as a whole: what it offers, its configuration, and stopping.

use super::diagnostics::diagnostics;
use super::schema::{schema, schemas, server_capabilities};
use super::values::wire;
use super::{messages, pb};
use crate::protocol::core::ProviderCore;
use crate::protocol::provider::Provider;
use crate::protocol::schema::Schema;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) async fn get_metadata<P: Provider>(
    core: Arc<ProviderCore<P>>,
    _request: pb::get_metadata::Request,
) -> pb::get_metadata::Response {
    use pb::get_metadata::{ActionMetadata, DataSourceMetadata, ResourceMetadata};
    let offered = core.schemas();
    pb::get_metadata::Response {
        server_capabilities: Some(server_capabilities()),
        resources: names(&offered.resources, |type_name| ResourceMetadata {
            type_name,
        }),
        data_sources: names(&offered.data_sources, |type_name| DataSourceMetadata {
            type_name,
        }),
        actions: names(&offered.actions, |type_name| ActionMetadata { type_name }),
        ..Default::default()
    }
}

/// The type names of one kind, as metadata messages.
fn names<T>(schemas: &BTreeMap<String, Schema>, metadata: impl Fn(String) -> T) -> Vec<T> {
    schemas.keys().cloned().map(metadata).collect()
}

pub(crate) async fn get_provider_schema<P: Provider>(
    core: Arc<ProviderCore<P>>,
    _request: pb::get_provider_schema::Request,
) -> pb::get_provider_schema::Response {
    let offered = core.schemas();
    pb::get_provider_schema::Response {
        provider: Some(schema(&offered.provider)),
        resource_schemas: schemas(&offered.resources, |schema| schema),
        data_source_schemas: schemas(&offered.data_sources, |schema| schema),
        action_schemas: schemas(&offered.actions, |schema| pb::ActionSchema {
            schema: Some(schema),
        }),
        server_capabilities: Some(server_capabilities()),
        ..Default::default()
    }
}

pub(crate) async fn configure_provider<P: Provider>(
    core: Arc<ProviderCore<P>>,
    request: messages::configure_provider::Request,
) -> messages::configure_provider::Response {
    let config = wire(request.config);
    let answer = core
        .configure_provider(&config, &request.terraform_version)
        .await;
    messages::configure_provider::Response {
        diagnostics: diagnostics(answer),
    }
}

pub(crate) async fn stop_provider<P: Provider>(
    core: Arc<ProviderCore<P>>,
    _request: messages::stop_provider::Request,
) -> messages::stop_provider::Response {
    core.stop();
    messages::stop_provider::Response {
        error: String::new(),
    }
}
