//! The gRPC service that serves one protocol version over a [`ProviderCore`].
//!
//! tonic's generated server traits differ between tfplugin5 and tfplugin6 (five RPCs are named
//! differently, and each version has RPCs of its own), so implementing them would mean writing
//! every RPC twice. Instead, [`ProviderServer`] is one tower service for both: it takes the
//! method name from the request path and asks the version's [`Protocol::route`] for the
//! handler, and the helpers here ([`unary`], [`server_streaming`], [`client_streaming`]) run a
//! handler with tonic's message size limits and gRPC framing, just as generated code would. A
//! method no handler answers gets gRPC's `Unimplemented`, as from generated code.
//!
//! All RPCs share one codec that passes request bytes through (see [`Outgoing`]): each
//! helper's typed part only decodes the request and calls the handler, so tonic's call path
//! is compiled once per call shape rather than once per RPC.

use super::core::{ProviderCore, MAX_MESSAGE_SIZE};
use super::provider::Provider;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryFutureExt};
use prost::bytes::{Buf, Bytes};
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::body::Body;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
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

/// A response message of any type, encoded only when tonic writes it out.
///
/// This and [`RawCodec`] keep the gRPC machinery out of the generics: tonic's `Grpc` is
/// generic over the codec, so serving every RPC with `ProstCodec<Response, Request>` (as
/// generated code does) compiles tonic's whole decode / call / encode / body path once per
/// RPC — some 60 copies over tfplugin5 and tfplugin6, about a third of the provider binary's own
/// code. With one codec for all calls that path is compiled three times (unary, server
/// streaming, client streaming), and what stays per RPC is decoding its request and calling
/// its handler. Smaller code is what Terraform pays for at every provider start.
trait Outgoing: Send {
    fn encode_into(&self, buf: &mut EncodeBuf<'_>) -> Result<(), Status>;
}

impl<M: prost::Message> Outgoing for M {
    fn encode_into(&self, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        // tonic's buffer grows as needed; prost only fails when it cannot.
        self.encode(buf)
            .map_err(|e| Status::internal(format!("could not encode the response: {e}")))
    }
}

/// A response message ready for [`RawCodec`]. A struct rather than a bare box: a trait object's
/// lifetime inside tonic's async blocks trips the compiler's higher-ranked lifetime check.
struct Response(Box<dyn Outgoing>);

impl Response {
    fn new(message: impl prost::Message + 'static) -> Response {
        Response(Box::new(message))
    }
}

/// The codec of every provider RPC: requests pass as the bytes of one message (the typed
/// wrapper decodes them), responses are encoded by their own type.
#[derive(Clone, Copy, Debug, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Response;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Response;
    type Error = Status;

    fn encode(&mut self, item: Response, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.0.encode_into(dst)
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// A request message from its bytes; a malformed one is `Internal`, as tonic's prost codec
/// answers it.
fn decode<Req: prost::Message + Default>(bytes: Bytes) -> Result<Req, Status> {
    Req::decode(bytes).map_err(|e| Status::internal(e.to_string()))
}

fn grpc() -> tonic::server::Grpc<RawCodec> {
    tonic::server::Grpc::new(RawCodec)
        .apply_max_message_size_config(Some(MAX_MESSAGE_SIZE), Some(MAX_MESSAGE_SIZE))
}

/// Status for a call tonic made twice; tonic calls each call's service once.
fn called_twice() -> Status {
    Status::internal("a gRPC call was answered twice")
}

type UnaryHandler = Box<dyn FnOnce(Bytes) -> BoxFuture<'static, Result<Response, Status>> + Send>;

/// Answers a unary call with `handler(context, request)`.
pub fn unary<C, Req, Resp, H, F>(call: Call, context: C, handler: H) -> Reply
where
    C: Send + 'static,
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    H: FnOnce(C, Req) -> F + Send + 'static,
    F: Future<Output = Resp> + Send + 'static,
{
    serve_unary(
        call,
        Box::new(move |request| match decode(request) {
            Ok(request) => handler(context, request)
                .map(|reply| Ok(Response::new(reply)))
                .boxed(),
            Err(status) => futures::future::ready(Err(status)).boxed(),
        }),
    )
}

fn serve_unary(call: Call, handler: UnaryHandler) -> Reply {
    let mut handler = Some(handler);
    let service = tower::service_fn(move |request: tonic::Request<Bytes>| {
        let reply = match handler.take() {
            Some(handler) => handler(request.into_inner()),
            None => futures::future::ready(Err(called_twice())).boxed(),
        };
        reply.map_ok(tonic::Response::new)
    });
    async move { Ok(grpc().unary(service, call).await) }.boxed()
}

type Replies = BoxStream<'static, Result<Response, Status>>;
type StreamingHandler = Box<dyn FnOnce(Bytes) -> Result<Replies, Status> + Send>;

/// Answers a call with a stream of replies, `handler(context, request)`.
pub fn server_streaming<C, Req, Resp, H>(call: Call, context: C, handler: H) -> Reply
where
    C: Send + 'static,
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    H: FnOnce(C, Req) -> BoxStream<'static, Resp> + Send + 'static,
{
    serve_server_streaming(
        call,
        Box::new(move |request| {
            let replies = handler(context, decode(request)?);
            Ok(replies.map(|reply| Ok(Response::new(reply))).boxed())
        }),
    )
}

fn serve_server_streaming(call: Call, handler: StreamingHandler) -> Reply {
    let mut handler = Some(handler);
    let service = tower::service_fn(move |request: tonic::Request<Bytes>| {
        let replies = match handler.take() {
            Some(handler) => handler(request.into_inner()),
            None => Err(called_twice()),
        };
        futures::future::ready(replies.map(tonic::Response::new))
    });
    async move { Ok(grpc().server_streaming(service, call).await) }.boxed()
}

/// The request messages of a client-streaming call, each decoded in turn.
pub type Requests<Req> = BoxStream<'static, Result<Req, Status>>;

type ClientStreamingHandler =
    Box<dyn FnOnce(Streaming<Bytes>) -> BoxFuture<'static, Response> + Send>;

/// Answers a call that sends a stream of requests with `handler(context, requests)`.
pub fn client_streaming<C, Req, Resp, H, F>(call: Call, context: C, handler: H) -> Reply
where
    C: Send + 'static,
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    H: FnOnce(C, Requests<Req>) -> F + Send + 'static,
    F: Future<Output = Resp> + Send + 'static,
{
    serve_client_streaming(
        call,
        Box::new(move |requests| {
            let requests = requests
                .map(|request| request.and_then(decode::<Req>))
                .boxed();
            handler(context, requests)
                .map(|reply| Response::new(reply))
                .boxed()
        }),
    )
}

fn serve_client_streaming(call: Call, handler: ClientStreamingHandler) -> Reply {
    let mut handler = Some(handler);
    let service = tower::service_fn(move |requests: tonic::Request<Streaming<Bytes>>| {
        match handler.take() {
            Some(handler) => handler(requests.into_inner()).map(Ok).boxed(),
            None => futures::future::ready(Err(called_twice())).boxed(),
        }
        .map_ok(tonic::Response::new)
    });
    async move { Ok(grpc().client_streaming(service, call).await) }.boxed()
}
