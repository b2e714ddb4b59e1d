//! The cases over protocol 6.

pub use tfws::protocol::proto::tfplugin6 as pb;

pub type Client = pb::provider_client::ProviderClient<tonic::transport::Channel>;

pub async fn get_schema(client: &mut Client) -> pb::get_provider_schema::Response {
    let request = pb::get_provider_schema::Request {};
    let response = client.get_provider_schema(request).await;
    response.expect("GetProviderSchema answers").into_inner()
}

pub async fn configure(client: &mut Client, config: Vec<u8>) -> Vec<pb::Diagnostic> {
    let request = pb::configure_provider::Request {
        terraform_version: "1.14.0".into(),
        config: Some(pb::DynamicValue {
            msgpack: config,
            json: Vec::new(),
        }),
        client_capabilities: None,
    };
    let response = client.configure_provider(request).await;
    response
        .expect("ConfigureProvider answers")
        .into_inner()
        .diagnostics
}

pub async fn stop(client: &mut Client) -> String {
    let response = client.stop_provider(pb::stop_provider::Request {}).await;
    response.expect("StopProvider answers").into_inner().error
}

// Compiled once per protocol version, deliberately (see `terraform_action.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "cases.rs"]
mod cases;
