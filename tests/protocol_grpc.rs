//! The tfplugin5 and tfplugin6 services over the real gRPC transport: an in-process tonic
//! server on a unix socket, serving the protocol layer's test provider
//! (`tfws::protocol::testing`), and the generated tonic clients.
//!
//! The cases are written once (`protocol_grpc/cases.rs`) and compiled for each protocol
//! version (`protocol_grpc/v5.rs`, `protocol_grpc/v6.rs`), which supply their generated module
//! as `pb` and the two calls whose names differ between versions.

use hyper_util::rt::TokioIo;
use std::path::PathBuf;
use std::sync::Arc;
use tfws::protocol::testing::TestProvider;
use tfws::protocol::v5::ProviderServerV5;
use tfws::protocol::v6::ProviderServerV6;
use tonic::transport::{Channel, Endpoint, Server};

#[path = "protocol_grpc/v5.rs"]
mod v5;
#[path = "protocol_grpc/v6.rs"]
mod v6;

/// Both protocol versions served for one test provider, and a channel to them.
pub struct Served {
    pub provider: Arc<TestProvider>,
    pub channel: Channel,
    _socket_dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn serve() -> Served {
    let socket_dir = tempfile::tempdir().expect("temporary directory");
    let socket: PathBuf = socket_dir.path().join("plugin.sock");
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind the socket");
    let provider = Arc::new(TestProvider::default());
    let router = Server::builder()
        .add_service(ProviderServerV6::new(provider.clone()).into_service())
        .add_service(ProviderServerV5::new(provider.clone()).into_service());
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
        provider,
        channel,
        _socket_dir: socket_dir,
        server,
    }
}

/// Calls `path` with an empty request of type `Req` and answers with the gRPC status code.
async fn status_of<Req, Resp>(served: &Served, path: &'static str) -> tonic::Code
where
    Req: prost::Message + Default + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(served.channel.clone());
    grpc.ready().await.expect("the channel is ready");
    let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
    let path = http::uri::PathAndQuery::from_static(path);
    match grpc
        .unary(tonic::Request::new(Req::default()), path, codec)
        .await
    {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

/// Each service answers only its own version's methods: protocol 6's names under protocol 5
/// (and the reverse) are Unimplemented, as from generated code, not quietly served.
#[tokio::test]
async fn each_version_answers_only_its_own_method_names() {
    use tfws::protocol::proto::{tfplugin5, tfplugin6};
    let served = serve().await;
    let code = status_of::<
        tfplugin6::validate_provider_config::Request,
        tfplugin6::validate_provider_config::Response,
    >(&served, "/tfplugin5.Provider/ValidateProviderConfig")
    .await;
    assert_eq!(code, tonic::Code::Unimplemented);
    let code = status_of::<
        tfplugin5::prepare_provider_config::Request,
        tfplugin5::prepare_provider_config::Response,
    >(&served, "/tfplugin6.Provider/PrepareProviderConfig")
    .await;
    assert_eq!(code, tonic::Code::Unimplemented);
    let code = status_of::<
        tfplugin5::get_provider_schema::Request,
        tfplugin5::get_provider_schema::Response,
    >(&served, "/tfplugin5.Provider/GetSchema")
    .await;
    assert_eq!(code, tonic::Code::Ok);
    let code = status_of::<
        tfplugin6::get_provider_schema::Request,
        tfplugin6::get_provider_schema::Response,
    >(&served, "/tfplugin6.Provider/GetSchema")
    .await;
    assert_eq!(code, tonic::Code::Unimplemented);
}

/// A client-streaming call (WriteStateBytes, protocol 6) reads the request chunks as sent:
/// the store named in the first chunk is the one the answer says is not offered.
#[tokio::test]
async fn write_state_bytes_reads_the_streamed_chunks() {
    use tfws::protocol::proto::tfplugin6 as pb;
    let served = serve().await;
    let mut client = pb::provider_client::ProviderClient::new(served.channel.clone());
    let chunk = |type_name: &str, bytes: &[u8]| pb::write_state_bytes::RequestChunk {
        type_name: type_name.into(),
        state_id: "default".into(),
        bytes: bytes.to_vec(),
        ..Default::default()
    };
    let chunks = futures::stream::iter([chunk("test_store", b"{"), chunk("", b"}")]);
    let response = client
        .write_state_bytes(chunks)
        .await
        .expect("WriteStateBytes answers")
        .into_inner();
    assert_eq!(response.diagnostics.len(), 1, "{:?}", response.diagnostics);
    let error = &response.diagnostics[0];
    assert_eq!(error.summary, "Unknown state store type");
    assert!(error.detail.contains("\"test_store\""), "{}", error.detail);
}

/// A request whose bytes are not its message is answered with `Internal` and prost's reason,
/// as tonic's generated servers answer it, and the provider is not called.
#[tokio::test]
async fn a_malformed_request_is_internal() {
    use tfws::protocol::proto::tfplugin6 as pb;
    let served = serve().await;
    let mut grpc = tonic::client::Grpc::new(served.channel.clone());
    grpc.ready().await.expect("the channel is ready");
    // `Schema.version` is field 1 as a varint; ValidateResourceConfig's field 1 is the type
    // name, a string, so these bytes cannot decode as its request.
    let not_the_request = pb::Schema {
        version: 3,
        ..Default::default()
    };
    let codec =
        tonic_prost::ProstCodec::<pb::Schema, pb::validate_resource_config::Response>::default();
    let path = http::uri::PathAndQuery::from_static("/tfplugin6.Provider/ValidateResourceConfig");
    let status = grpc
        .unary(tonic::Request::new(not_the_request), path, codec)
        .await
        .expect_err("the request cannot be decoded");
    assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
    assert!(
        status.message().contains("wire type"),
        "prost's reason: {status:?}"
    );
}
