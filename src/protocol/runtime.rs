//! Serving a provider the way go-plugin expects: negotiate, listen on a unix socket, print the
//! handshake line, serve tfplugin5/6 plus go-plugin's side services over (mutual) TLS, and stop
//! on `GRPCController.Shutdown` or SIGTERM.

use super::handshake::{self, HandshakeError};
use super::proto::{health, plugin};
use super::provider::Provider;
use super::tls::{self, TlsSetupError};
use super::v5::ProviderServerV5;
use super::v6::ProviderServerV6;
use std::io::Write;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// How long in-flight calls get to finish after a shutdown request before we exit anyway;
/// Terraform kills the process 2 s after asking.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    #[error("could not listen on {path}: {source}")]
    Listen {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not write the handshake to stdout: {0}")]
    Stdout(std::io::Error),
    #[error("could not install a signal handler: {0}")]
    Signal(std::io::Error),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("debug mode supports protocol 5 or 6, not {0}")]
    DebugProtocol(u32),
}

/// The environment go-plugin hands a plugin, read once at start-up.
#[derive(Clone, Debug, Default)]
pub struct PluginEnvironment {
    pub magic_cookie: Option<String>,
    pub protocol_versions: Option<String>,
    pub client_cert_pem: Option<String>,
}

impl PluginEnvironment {
    pub fn from_process() -> Self {
        Self {
            magic_cookie: std::env::var(handshake::MAGIC_COOKIE_KEY).ok(),
            protocol_versions: std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok(),
            client_cert_pem: std::env::var("PLUGIN_CLIENT_CERT")
                .ok()
                .filter(|c| !c.trim().is_empty()),
        }
    }
}

/// Serves `provider` for a Terraform that started us. Returns after shutdown.
pub async fn serve<P: Provider>(
    provider: Arc<P>,
    env: PluginEnvironment,
) -> Result<(), ServeError> {
    handshake::check_magic_cookie(env.magic_cookie.as_deref())?;
    let version = handshake::negotiate_protocol_version(env.protocol_versions.as_deref())?;
    let server_tls = env
        .client_cert_pem
        .as_deref()
        .map(tls::server_tls)
        .transpose()?;

    let (socket, listener) = SocketFile::bind()?;
    // Signal handlers go in before Terraform learns we exist, so no early Ctrl-C kills us.
    let shutdown = CancellationToken::new();
    watch_signals(shutdown.clone(), false)?;
    let cert = server_tls.as_ref().map(|t| t.certificate_der.as_slice());
    print_stdout(&handshake::handshake_line(version, &socket.path, cert))?;
    tracing::debug!(protocol = version, socket = %socket.path.display(), tls = server_tls.is_some(), "plugin server started");

    let incoming = match server_tls {
        Some(server_tls) => tls_incoming(
            listener,
            tokio_rustls::TlsAcceptor::from(server_tls.config),
            shutdown.clone(),
        ),
        None => plain_incoming(listener),
    };
    run(provider, incoming, shutdown).await
}

/// Debug mode: plaintext gRPC, a `TF_REATTACH_PROVIDERS` value on stdout, serve until
/// interrupted. Terraform started with that value attaches to us instead of starting a process.
pub async fn serve_debug<P: Provider>(
    provider: Arc<P>,
    provider_address: &str,
    protocol_version: u32,
) -> Result<(), ServeError> {
    if !handshake::SUPPORTED_PROTOCOL_VERSIONS.contains(&protocol_version) {
        return Err(ServeError::DebugProtocol(protocol_version));
    }
    let (socket, listener) = SocketFile::bind()?;
    let shutdown = CancellationToken::new();
    watch_signals(shutdown.clone(), true)?;
    let reattach = serde_json::json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": protocol_version,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": { "Network": "unix", "String": socket.path.to_string_lossy() },
        }
    });
    print_stdout(&format!(
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable \
         with the following:\n\n\tTF_REATTACH_PROVIDERS='{reattach}'\n\nServing protocol {protocol_version} \
         until interrupted (Ctrl-C).\n"
    ))?;
    run(provider, plain_incoming(listener), shutdown).await
}

async fn run<P: Provider>(
    provider: Arc<P>,
    incoming: Incoming,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let router = tonic::transport::Server::builder()
        // Every call is named at debug level (`TF_LOG=debug`), with its protocol version in
        // the path, e.g. `/tfplugin5.Provider/GetSchema`.
        .layer(tower::util::MapRequestLayer::new(
            |request: http::Request<tonic::body::Body>| {
                tracing::debug!(rpc = %request.uri().path(), "gRPC call");
                request
            },
        ))
        .add_service(ProviderServerV6::new(provider.clone()).into_service())
        .add_service(ProviderServerV5::new(provider).into_service())
        .add_service(health::health_server::HealthServer::new(HealthService))
        .add_service(plugin::grpc_controller_server::GrpcControllerServer::new(
            Controller {
                shutdown: shutdown.clone(),
            },
        ))
        .add_service(plugin::grpc_stdio_server::GrpcStdioServer::new(Stdio))
        .add_service(plugin::grpc_broker_server::GrpcBrokerServer::new(Broker));
    let stopping = shutdown.clone();
    let server =
        router.serve_with_incoming_shutdown(incoming, async move { stopping.cancelled().await });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result?,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => tracing::debug!("connections still open after the shutdown grace period; exiting anyway"),
    }
    tracing::debug!("plugin server stopped");
    Ok(())
}

fn print_stdout(text: &str) -> Result<(), ServeError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(ServeError::Stdout)
}

/// SIGTERM always stops the server. SIGINT is caught and ignored when Terraform started us: we
/// share its process group, and Terraform handles Ctrl-C itself through StopProvider. In debug
/// mode a person started us, and Ctrl-C stops the server.
fn watch_signals(shutdown: CancellationToken, interrupt_stops: bool) -> Result<(), ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).map_err(ServeError::Signal)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(ServeError::Signal)?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = terminate.recv() => {
                    tracing::debug!("SIGTERM received; shutting down");
                    break;
                }
                _ = interrupt.recv() => {
                    if interrupt_stops {
                        break;
                    }
                    tracing::debug!("SIGINT ignored; Terraform stops providers through StopProvider");
                }
                () = shutdown.cancelled() => return,
            }
        }
        shutdown.cancel();
    });
    Ok(())
}

/// The unix socket's path, removed again when dropped (the process is about to exit).
struct SocketFile {
    path: PathBuf,
}

impl SocketFile {
    fn bind() -> Result<(Self, UnixListener), ServeError> {
        let dir = std::env::temp_dir();
        // go-plugin names its sockets `plugin<random>` in the temp dir; a collision just retries.
        let mut attempts = 0;
        loop {
            let path = dir.join(format!("plugin{}", rand::random::<u32>()));
            match UnixListener::bind(&path) {
                Ok(listener) => return Ok((Self { path }, listener)),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && attempts < 8 => {
                    attempts += 1
                }
                Err(source) => return Err(ServeError::Listen { path, source }),
            }
        }
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The connections the gRPC server serves, TLS or plain alike.
///
/// One type for both, so that tonic, hyper and h2 compile their server once: served as two
/// stream and connection types, each of them is compiled twice, which costs the binary (and
/// every provider start, which maps it) some 60 kB of code for nothing.
type Incoming = futures::stream::BoxStream<'static, Result<Connection, std::io::Error>>;

/// Plain connections from the unix listener (no `PLUGIN_CLIENT_CERT`, or debug mode).
fn plain_incoming(listener: UnixListener) -> Incoming {
    tokio_stream::wrappers::UnixListenerStream::new(listener)
        .map(|accepted| accepted.map(Connection::Plain))
        .boxed()
}

/// TLS connections from the unix listener. Handshakes run in their own tasks so a slow or
/// hostile client cannot stall the accept loop; failed handshakes (wrong or missing client
/// certificate) are logged and dropped.
fn tls_incoming(
    listener: UnixListener,
    acceptor: tokio_rustls::TlsAcceptor,
    shutdown: CancellationToken,
) -> Incoming {
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = shutdown.cancelled() => return,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            };
            let acceptor = acceptor.clone();
            let sender = sender.clone();
            tokio::spawn(async move {
                match acceptor.accept(stream).await {
                    Ok(tls) => {
                        let _ = sender.send(Ok(Connection::Tls(Box::new(tls)))).await;
                    }
                    Err(e) => tracing::warn!(error = %e, "TLS handshake refused"),
                }
            });
        }
    });
    ReceiverStream::new(receiver).boxed()
}

/// A connection on the unix socket: mutually authenticated TLS when Terraform sent its
/// certificate, plain otherwise.
pub enum Connection {
    Tls(Box<tokio_rustls::server::TlsStream<UnixStream>>),
    Plain(UnixStream),
}

impl tonic::transport::server::Connected for Connection {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Connection::Tls(tls) => Pin::new(tls).poll_read(cx, buf),
            Connection::Plain(plain) => Pin::new(plain).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Connection::Tls(tls) => Pin::new(tls).poll_write(cx, buf),
            Connection::Plain(plain) => Pin::new(plain).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Connection::Tls(tls) => Pin::new(tls).poll_flush(cx),
            Connection::Plain(plain) => Pin::new(plain).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Connection::Tls(tls) => Pin::new(tls).poll_shutdown(cx),
            Connection::Plain(plain) => Pin::new(plain).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Connection::Tls(tls) => Pin::new(tls).poll_write_vectored(cx, bufs),
            Connection::Plain(plain) => Pin::new(plain).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Connection::Tls(tls) => tls.is_write_vectored(),
            Connection::Plain(plain) => plain.is_write_vectored(),
        }
    }
}

/// grpc.health.v1: go-plugin asks for the service named "plugin".
struct HealthService;

type BoxStream<T> = Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl health::health_server::Health for HealthService {
    async fn check(
        &self,
        request: Request<health::HealthCheckRequest>,
    ) -> Result<Response<health::HealthCheckResponse>, Status> {
        serving_status(&request.get_ref().service).map(Response::new)
    }

    type WatchStream = BoxStream<health::HealthCheckResponse>;

    async fn watch(
        &self,
        request: Request<health::HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let status = serving_status(&request.get_ref().service)?;
        // Report once, then keep the stream open as the health protocol expects.
        let stream =
            futures::stream::once(async move { Ok(status) }).chain(futures::stream::pending());
        Ok(Response::new(Box::pin(stream)))
    }
}

use futures::StreamExt;

fn serving_status(service: &str) -> Result<health::HealthCheckResponse, Status> {
    match service {
        "" | "plugin" => Ok(health::HealthCheckResponse {
            status: health::health_check_response::ServingStatus::Serving as i32,
        }),
        other => Err(Status::not_found(format!("unknown service {other:?}"))),
    }
}

/// go-plugin's controller: Terraform calls Shutdown when it is done with us.
struct Controller {
    shutdown: CancellationToken,
}

#[tonic::async_trait]
impl plugin::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(
        &self,
        _request: Request<plugin::Empty>,
    ) -> Result<Response<plugin::Empty>, Status> {
        tracing::debug!("shutdown requested by Terraform");
        self.shutdown.cancel();
        Ok(Response::new(plugin::Empty {}))
    }
}

/// go-plugin's stdio forwarding: this provider writes nothing to stdout/stderr that needs
/// forwarding (logs go to stderr directly), so the stream ends at once.
struct Stdio;

#[tonic::async_trait]
impl plugin::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = BoxStream<plugin::StdioData>;

    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(Box::pin(futures::stream::empty())))
    }
}

/// go-plugin's connection broker: providers never open sub-connections.
struct Broker;

#[tonic::async_trait]
impl plugin::grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = BoxStream<plugin::ConnInfo>;

    async fn start_stream(
        &self,
        _request: Request<tonic::Streaming<plugin::ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        Ok(Response::new(Box::pin(futures::stream::empty())))
    }
}
