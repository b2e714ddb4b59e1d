//! The gRPC service that serves one protocol version over a [`ProviderCore`].
//!
//! tonic's generated server traits differ between tfplugin5 and tfplugin6 (five RPCs are named
//! differently, and each version has RPCs of its own), so implementing them would mean writing
//! every RPC twice. Instead, [`ProviderServer`] is one tower service for both: it takes the
//! method name from the request path and asks the version's [`Protocol::route`] for the
//! handler, and the helpers here ([`unary`], [`server_streaming`], [`client_streaming`]) run a
//! handler with tonic's own codec and message size limits, just as generated code would. A
//! method no handler answers gets gRPC's `Unimplemented`, as from generated code.

use super::core::{ProviderCore, MAX_MESSAGE_SIZE};
use super::provider::Provider;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::body::Body;
use tonic::{Status, Streaming};

/// An HTTP request carrying one gRPC call.
pub type Call = http::Request<Body>;

/// The HTTP response to one gRPC call, once the handler has run.
pub type Reply = BoxFuture<'static, Result<http::Response<Body>, Infallible>>;

/// One protocol version: its gRPC service name and which handler answers which method.
pub trait Protocol: Send + Sync + 'static {
    /// The gRPC service name, e.g. `tfplugin6.Provider`.
    const SERVICE: &'static str;

    /// The handler for `method` (the last path segment, e.g. `GetMetadata`), run on `call`;
    /// `None` for a method this version does not have.
    fn route<P: Provider>(core: &Arc<ProviderCore<P>>, method: &str, call: Call) -> Option<Reply>;
}

/// Serves protocol `V` for a provider.
pub struct ProviderServer<V, P: Provider> {
    core: Arc<ProviderCore<P>>,
    version: PhantomData<V>,
}

impl<V: Protocol, P: Provider> ProviderServer<V, P> {
    pub fn new(provider: Arc<P>) -> Self {
        Self {
            core: Arc::new(ProviderCore::new(provider)),
            version: PhantomData,
        }
    }

    /// The tower service to add to a tonic server; it accepts and sends messages of up to
    /// 256 MiB (see [`MAX_MESSAGE_SIZE`]).
    pub fn into_service(self) -> Self {
        self
    }
}

impl<V, P: Provider> Clone for ProviderServer<V, P> {
    fn clone(&self) -> Self {
        Self {
            core: Arc::clone(&self.core),
            version: PhantomData,
        }
    }
}

impl<V: Protocol, P: Provider> tonic::server::NamedService for ProviderServer<V, P> {
    const NAME: &'static str = V::SERVICE;
}

impl<V: Protocol, P: Provider> tower::Service<Call> for ProviderServer<V, P> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Reply;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, call: Call) -> Reply {
        let path = call.uri().path();
        let method = path
            .strip_prefix('/')
            .and_then(|path| path.strip_prefix(V::SERVICE))
            .and_then(|path| path.strip_prefix('/'))
            .unwrap_or_default()
            .to_owned();
        V::route(&self.core, &method, call).unwrap_or_else(|| {
            let status = Status::unimplemented(format!("{} has no method {method:?}", V::SERVICE));
            async move { Ok(status.into_http()) }.boxed()
        })
    }
}

fn grpc<Reply, Request>() -> tonic::server::Grpc<tonic_prost::ProstCodec<Reply, Request>>
where
    Reply: prost::Message + Send + 'static,
    Request: prost::Message + Default + Send + 'static,
{
    tonic::server::Grpc::new(tonic_prost::ProstCodec::default())
        .apply_max_message_size_config(Some(MAX_MESSAGE_SIZE), Some(MAX_MESSAGE_SIZE))
}

/// Answers a unary call with `handler(context, request)`.
pub fn unary<C, Req, Resp, H, F>(call: Call, context: C, handler: H) -> Reply
where
    C: Clone + Send + 'static,
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    H: Fn(C, Req) -> F + Send + 'static,
    F: Future<Output = Resp> + Send + 'static,
{
    let service = tower::service_fn(move |request: tonic::Request<Req>| {
        handler(context.clone(), request.into_inner())
            .map(|reply| Ok::<_, Status>(tonic::Response::new(reply)))
    });
    async move { Ok(grpc().unary(service, call).await) }.boxed()
}

/// Answers a call with a stream of replies, `handler(context, request)`.
pub fn server_streaming<C, Req, Resp, H>(call: Call, context: C, handler: H) -> Reply
where
    C: Clone + Send + 'static,
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    H: Fn(C, Req) -> BoxStream<'static, Resp> + Send + 'static,
{
    let service = tower::service_fn(move |request: tonic::Request<Req>| {
        let replies = handler(context.clone(), request.into_inner()).map(Ok::<_, Status>);
        futures::future::ready(Ok::<_, Status>(tonic::Response::new(replies)))
    });
    async move { Ok(grpc().server_streaming(service, call).await) }.boxed()
}

/// Answers a call that sends a stream of requests with `handler(context, requests)`.
pub fn client_streaming<C, Req, Resp, H, F>(call: Call, context: C, handler: H) -> Reply
where
    C: Clone + Send + 'static,
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    H: Fn(C, Streaming<Req>) -> F + Send + 'static,
    F: Future<Output = Resp> + Send + 'static,
{
    let service = tower::service_fn(move |requests: tonic::Request<Streaming<Req>>| {
        handler(context.clone(), requests.into_inner())
            .map(|reply| Ok::<_, Status>(tonic::Response::new(reply)))
    });
    async move { Ok(grpc().client_streaming(service, call).await) }.boxed()
}
