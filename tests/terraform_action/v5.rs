//! The cases over protocol 5.

pub use tfws::protocol::proto::tfplugin5 as pb;

pub type Client = pb::provider_client::ProviderClient<tonic::transport::Channel>;

pub async fn get_schema(client: &mut Client) -> pb::get_provider_schema::Response {
    let request = pb::get_provider_schema::Request {};
    let response = client.get_schema(request).await;
    response.expect("GetSchema answers").into_inner()
}

pub async fn configure(client: &mut Client, config: Vec<u8>) -> Vec<pb::Diagnostic> {
    let request = pb::configure::Request {
        terraform_version: "1.14.0".into(),
        config: Some(pb::DynamicValue {
            msgpack: config,
            json: Vec::new(),
        }),
        client_capabilities: None,
    };
    let response = client.configure(request).await;
    response
        .expect("Configure answers")
        .into_inner()
        .diagnostics
}

pub async fn stop(client: &mut Client) -> String {
    let response = client.stop(pb::stop::Request {}).await;
    response.expect("Stop answers").into_inner().error
}

// Compiled once per protocol version, deliberately (see `terraform_action.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "cases.rs"]
mod cases;
