//! The `workspace_app_server_reboot` action as Terraform 1.14 drives it — no Terraform 1.14
//! binary can be installed here, so a tonic client plays Terraform's part: the real tfplugin5
//! and tfplugin6 services, served in-process on a unix socket for the real
//! `WorkspaceProvider`, pointed at the API simulator.
//!
//! The cases are written once (`terraform_action/cases.rs`) and compiled for each protocol
//! version (`terraform_action/v5.rs`, `terraform_action/v6.rs`), which supply their generated
//! module as `pb` and the calls whose names differ between versions.
//!
//! Run with `--nocapture` to see the figures of the 40-server invocation.

#[path = "support/mod.rs"]
mod support;

use hyper_util::rt::TokioIo;
use std::path::PathBuf;
use std::sync::Arc;
use tfws::framework::environment::MapEnvironment;
use tfws::protocol::cty::{encode_msgpack, Type, Value};
use tfws::protocol::provider::Provider;
use tfws::protocol::v5::ProviderServerV5;
use tfws::protocol::v6::ProviderServerV6;
use tfws::provider::WorkspaceProvider;
use tonic::transport::{Channel, Endpoint, Server};

#[path = "terraform_action/v5.rs"]
mod v5;
#[path = "terraform_action/v6.rs"]
mod v6;

/// The action's (and the resource's) type name.
pub const NAME: &str = "workspace_app_server_reboot";

/// Both protocol versions served for one provider, and a channel to them.
pub struct Served {
    pub channel: Channel,
    /// The provider configuration type and the action configuration type.
    pub provider_type: Type,
    pub action_type: Type,
    _socket_dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves a fresh `WorkspaceProvider` whose environment is `env` (the simulator's `HW_*`).
pub async fn serve(env: &[(String, String)]) -> Served {
    let socket_dir = tempfile::tempdir().expect("temporary directory");
    let socket: PathBuf = socket_dir.path().join("plugin.sock");
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind the socket");
    let provider = Arc::new(WorkspaceProvider::with_environment(Arc::new(
        MapEnvironment::new(env.iter().cloned()),
    )));
    let schemas = provider.schemas();
    let provider_type = schemas.provider.value_type();
    let action_type = schemas.actions[NAME].value_type();
    let router = Server::builder()
        .add_service(ProviderServerV6::new(provider.clone()).into_service())
        .add_service(ProviderServerV5::new(provider).into_service());
    let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
    let server = tokio::spawn(async move {
        router
            .serve_with_incoming(incoming)
            .await
            .expect("the test server runs until aborted");
    });
    let channel = Endpoint::try_from("http://localhost")
        .expect("static URI")
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        }))
        .await
        .expect("connect to the test server");
    Served {
        channel,
        provider_type,
        action_type,
        _socket_dir: socket_dir,
        server,
    }
}

/// An object of `ty` with every attribute null (Terraform's value for an empty block).
pub fn all_null(ty: &Type) -> Value {
    match ty {
        Type::Object(attributes) => {
            Value::object(attributes.keys().map(|k| (k.clone(), Value::Null)))
        }
        _ => Value::Null,
    }
}

/// The action configuration: `server_ids`, and the other attributes as given (null when left
/// out, as Terraform sends them).
pub fn action_config(ty: &Type, servers: &[String], set: &[(&str, Value)]) -> Value {
    let mut config = all_null(ty);
    if let Value::Object(attributes) = &mut config {
        attributes.insert(
            "server_ids".into(),
            Value::Set(servers.iter().map(|id| Value::string(id.clone())).collect()),
        );
        for (name, value) in set {
            attributes.insert((*name).to_owned(), value.clone());
        }
    }
    config
}

pub fn msgpack(value: &Value, ty: &Type) -> Vec<u8> {
    encode_msgpack(value, ty).expect("test value fits its type")
}
