//! Kinds of objects this provider offers none of: ephemeral resources, list resources and
//! functions. Each request names one, and gets the core's unknown-type diagnostic.

use super::diagnostics::diagnostics;
use super::pb;
use crate::protocol::core::{unknown_type, Kind, ProviderCore};
use crate::protocol::diagnostics::Diagnostics;
use crate::protocol::provider::Provider;
use futures::stream::BoxStream;
use futures::StreamExt;
use std::sync::Arc;

fn not_offered(kind: Kind, name: &str) -> Vec<pb::Diagnostic> {
    diagnostics(unknown_type(kind, name, []))
}

pub(crate) async fn validate_ephemeral<P: Provider>(
    _core: Arc<ProviderCore<P>>,
    request: pb::validate_ephemeral_resource_config::Request,
) -> pb::validate_ephemeral_resource_config::Response {
    pb::validate_ephemeral_resource_config::Response {
        diagnostics: not_offered(Kind::EphemeralResource, &request.type_name),
    }
}

pub(crate) async fn open_ephemeral<P: Provider>(
    _core: Arc<ProviderCore<P>>,
    request: pb::open_ephemeral_resource::Request,
) -> pb::open_ephemeral_resource::Response {
    pb::open_ephemeral_resource::Response {
        diagnostics: not_offered(Kind::EphemeralResource, &request.type_name),
        ..Default::default()
    }
}

pub(crate) async fn renew_ephemeral<P: Provider>(
    _core: Arc<ProviderCore<P>>,
    request: pb::renew_ephemeral_resource::Request,
) -> pb::renew_ephemeral_resource::Response {
    pb::renew_ephemeral_resource::Response {
        diagnostics: not_offered(Kind::EphemeralResource, &request.type_name),
        ..Default::default()
    }
}

pub(crate) async fn close_ephemeral<P: Provider>(
    _core: Arc<ProviderCore<P>>,
    request: pb::close_ephemeral_resource::Request,
) -> pb::close_ephemeral_resource::Response {
    pb::close_ephemeral_resource::Response {
        diagnostics: not_offered(Kind::EphemeralResource, &request.type_name),
    }
}

pub(crate) async fn validate_list<P: Provider>(
    _core: Arc<ProviderCore<P>>,
    request: pb::validate_list_resource_config::Request,
) -> pb::validate_list_resource_config::Response {
    pb::validate_list_resource_config::Response {
        diagnostics: not_offered(Kind::ListResource, &request.type_name),
    }
}

pub(crate) fn list<P: Provider>(
    _core: Arc<ProviderCore<P>>,
    request: pb::list_resource::Request,
) -> BoxStream<'static, pb::list_resource::Event> {
    let event = pb::list_resource::Event {
        diagnostic: not_offered(Kind::ListResource, &request.type_name),
        ..Default::default()
    };
    futures::stream::iter([event]).boxed()
}

pub(crate) async fn get_functions<P: Provider>(
    _core: Arc<ProviderCore<P>>,
    _request: pb::get_functions::Request,
) -> pb::get_functions::Response {
    pb::get_functions::Response::default()
}

/// A function error carries text, not diagnostics: the diagnostic's detail.
pub(crate) async fn call_function<P: Provider>(
    _core: Arc<ProviderCore<P>>,
    request: pb::call_function::Request,
) -> pb::call_function::Response {
    let Diagnostics(unknown) = unknown_type(Kind::Function, &request.name, []);
    let text = unknown
        .into_iter()
        .map(|diagnostic| diagnostic.detail)
        .collect::<Vec<_>>()
        .join(" ");
    pb::call_function::Response {
        result: None,
        error: Some(pb::FunctionError {
            text,
            function_argument: None,
        }),
    }
}
