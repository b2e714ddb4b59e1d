//! The HTTP client: configuration, authentication, and one request with its retries.
//!
//! Rules of one call ([`Client::execute`]):
//!
//! - Every attempt waits for one of the client's `max_concurrency` slots and then for the
//!   process-wide request budget of its API ([`limiter`](crate::workspace::limiter): one per
//!   [`Api`], as the gateway counts quotas), then is signed afresh and sent.
//! - **429** (throttled): every call of that API in the process slows down (its shared budget
//!   halves its rate; other APIs keep theirs), and the call is retried with exponential backoff
//!   and jitter — `retry_base_delay` doubling, at most [`THROTTLE_MAX_DELAY`], or the answer's
//!   `Retry-After` — for as long as the caller's deadline allows, however many times that is:
//!   quota windows last up to a minute.
//! - **409 to a batch action on servers** (`batch-reboot`, `batch-maint`: a server is busy with
//!   another task; [`Api::conflict_means_busy`]): the request was not carried out, so it is
//!   retried the same way, backoff capped at [`BUSY_MAX_DELAY`], until the deadline; then the
//!   call fails with the deadline and the service's last answer (its words: busy).
//! - **5xx, broken connections and timeouts** are retried at most `max_retries` times, with
//!   backoff up to `retry_max_delay`.
//! - **A request that is not idempotent** (a reboot) is never sent again after an attempt that
//!   may have reached the service (a timeout or a connection broken after sending): it is
//!   reported as failed instead of being sent blindly a second time. Error answers and failed
//!   connects are safe to repeat.
//! - **TLS certificate errors and other 4xx** end the call at once.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use time::OffsetDateTime;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::workspace::credentials::Credentials;
use crate::workspace::endpoint;
use crate::workspace::error::{ApiError, ClientError};
use crate::workspace::limiter::{
    ApiBudgets, ApiStats, RateLimiter, Ticket, DEFAULT_MAX_REQUESTS_PER_SECOND,
};
use crate::workspace::retry::{self, Interrupted, RetryPolicy};
use crate::workspace::signing::{self, RequestToSign, Signer};
use crate::workspace::trust::{self, TrustRoots};
use crate::workspace::wire::{
    self, headers, Api, AppServer, ListAppServersResponse, ListQuery, MAX_SERVER_ID_LEN,
};

/// Default retries after the first attempt (as `HW_MAX_RETRIES` in the existing provider).
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// Default time for one attempt, answer body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default number of requests in flight at once.
///
/// Why 4: the rate is the process-wide limiter's business
/// ([`DEFAULT_MAX_REQUESTS_PER_SECOND`]); this only bounds how many answers one client awaits
/// at once, so that a slow gateway does not pile up open connections. A batch reboot of 1,000
/// servers is only 50 requests, and 4 in flight cover the limiter's default rate even at a
/// few seconds per answer.
pub const DEFAULT_MAX_CONCURRENCY: usize = 4;
/// Default delay before the first retry.
pub const DEFAULT_RETRY_BASE_DELAY: Duration = Duration::from_secs(1);
/// Default cap on a computed retry delay of a 5xx or connection error.
pub const DEFAULT_RETRY_MAX_DELAY: Duration = Duration::from_secs(30);
/// Cap on a computed delay between retries of a throttled (429) call: quota windows last up to
/// a minute, so waiting longer gains nothing.
pub const THROTTLE_MAX_DELAY: Duration = Duration::from_secs(60);
/// Cap on a computed delay between retries of a batch action answered 409 (a server busy with
/// another task): the existing Go provider's users see such tasks end within seconds to
/// minutes, and a retry every 30 s at most notices the end soon enough.
pub const BUSY_MAX_DELAY: Duration = Duration::from_secs(30);

const JSON: &str = "application/json";

/// `terraform-provider-workspace/<version>`.
pub fn default_user_agent() -> String {
    format!("terraform-provider-workspace/{}", env!("CARGO_PKG_VERSION"))
}

/// Everything the client needs. Build with [`ClientConfig::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// API root, e.g. `https://appstream.cn-north-4.myhuaweicloud.com` (see [`endpoint`]).
    pub base_url: Url,
    pub project_id: String,
    pub credentials: Credentials,
    /// Skip TLS certificate verification altogether (the last resort; see [`TrustRoots`] for
    /// trusting a private CA instead).
    pub insecure: bool,
    /// CA certificates trusted besides the bundled roots; defaults from the system store,
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR` ([`TrustRoots::from_env`]).
    pub trust: TrustRoots,
    /// Ceiling of the request rate of each API, shared by every client of this process with the
    /// same base URL, project and credentials (see [`DEFAULT_MAX_REQUESTS_PER_SECOND`] for the
    /// default's reasoning).
    pub max_requests_per_second: f64,
    /// Retries after the first attempt of a 5xx, a broken connection or a timeout. Throttled
    /// (429) calls are retried until the deadline instead.
    pub max_retries: u32,
    /// Time allowed for one attempt, answer body included.
    pub request_timeout: Duration,
    /// Requests in flight at once across all calls of this client; see
    /// [`DEFAULT_MAX_CONCURRENCY`] for the choice of default.
    pub max_concurrency: usize,
    pub user_agent: String,
    /// Backoff before the first retry (doubles each retry, with jitter).
    pub retry_base_delay: Duration,
    /// Cap on a computed backoff delay.
    pub retry_max_delay: Duration,
}

impl ClientConfig {
    pub fn new(base_url: Url, project_id: impl Into<String>, credentials: Credentials) -> Self {
        ClientConfig {
            base_url,
            project_id: project_id.into(),
            credentials,
            insecure: false,
            trust: TrustRoots::from_env(),
            max_requests_per_second: DEFAULT_MAX_REQUESTS_PER_SECOND,
            max_retries: DEFAULT_MAX_RETRIES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            user_agent: default_user_agent(),
            retry_base_delay: DEFAULT_RETRY_BASE_DELAY,
            retry_max_delay: DEFAULT_RETRY_MAX_DELAY,
        }
    }
}

enum AuthMode {
    Signed(Signer),
    Token(HeaderValue),
}

struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    /// `host[:port]` exactly as reqwest sends it in `Host` (default ports omitted).
    host: String,
    /// Path prefix of the base URL without trailing `/` (usually empty).
    base_path: String,
    auth: AuthMode,
    permits: Semaphore,
    /// The process-wide budgets, one per API, shared with every client of the same base URL,
    /// project and credentials.
    budgets: Arc<ApiBudgets>,
    retry: RetryPolicy,
    throttle_retry: RetryPolicy,
    busy_retry: RetryPolicy,
    requests_sent: AtomicUsize,
}

/// A Workspace APP API client. Cheap to clone; clones share the concurrency limit, and every
/// client of the process with the same base URL, project and credentials shares the request
/// budgets (one per API).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// One API call before signing.
#[derive(Debug, Clone)]
pub(crate) struct ApiRequest {
    /// Which API: its budget, its name in logs, and whether a 409 means "busy, retry".
    pub api: Api,
    pub method: Method,
    /// Absolute API path with percent-encoded segments (from [`wire`]'s path builders).
    pub path: String,
    /// Decoded query pairs; sent exactly as the signer canonicalises them.
    pub query: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Whether an attempt that may have reached the service can be repeated safely. A reboot
    /// is not: after a timeout it is reported as failed instead of being sent again.
    pub idempotent: bool,
}

/// A success answer.
#[derive(Debug, Clone)]
pub(crate) struct ApiResponse {
    pub body: Vec<u8>,
}

/// The result of a call and how many attempts were sent for it.
pub(crate) struct Attempted<T> {
    pub result: Result<T, ClientError>,
    pub sent: usize,
}

fn config_error(message: impl Into<String>) -> ClientError {
    ClientError::InvalidConfig(message.into())
}

fn sensitive_header(value: &str, what: &str) -> Result<HeaderValue, ClientError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        config_error(format!(
            "{what} contains characters not allowed in an HTTP header"
        ))
    })?;
    header.set_sensitive(true);
    Ok(header)
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        endpoint::validate_base_url(&config.base_url)?;
        let host = match (config.base_url.host_str(), config.base_url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(config_error("base URL has no host")),
        };
        let project_id = config.project_id.trim().to_string();
        if project_id.is_empty() {
            return Err(config_error("project_id is empty"));
        }
        if !project_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(config_error(
                "project_id must be printable ASCII without spaces",
            ));
        }
        if config.max_concurrency == 0 {
            return Err(config_error("max_concurrency must be at least 1"));
        }
        if config.request_timeout.is_zero() {
            return Err(config_error("request_timeout must be more than zero"));
        }
        if config.retry_max_delay < config.retry_base_delay {
            return Err(config_error(
                "retry_max_delay must not be less than retry_base_delay",
            ));
        }
        HeaderValue::from_str(&config.user_agent)
            .map_err(|_| config_error("user_agent is not a valid header value"))?;
        let rate = config.max_requests_per_second;
        if !(rate.is_finite() && rate > 0.0) {
            return Err(config_error(
                "max_requests_per_second must be a number above zero",
            ));
        }
        let auth = auth_mode(&config.credentials)?;
        let http = http_client(&config)?;
        let retry = RetryPolicy {
            max_retries: config.max_retries,
            base_delay: config.retry_base_delay,
            max_delay: config.retry_max_delay,
        };
        let throttle_retry = RetryPolicy {
            max_retries: u32::MAX,
            base_delay: config.retry_base_delay,
            max_delay: THROTTLE_MAX_DELAY.max(config.retry_base_delay),
        };
        let busy_retry = RetryPolicy {
            max_delay: BUSY_MAX_DELAY.max(config.retry_base_delay),
            ..throttle_retry
        };
        // The gateway counts calls per API and user: clients of the same user share budgets.
        let budgets = ApiBudgets::shared(
            &format!(
                "{} {} {}",
                config.base_url,
                project_id,
                config.credentials.identity()
            ),
            config.max_requests_per_second,
        );
        let base_path = config.base_url.path().trim_end_matches('/').to_string();
        let mut config = config;
        config.project_id = project_id;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                host,
                base_path,
                auth,
                permits: Semaphore::new(config.max_concurrency),
                budgets,
                retry,
                throttle_retry,
                busy_retry,
                requests_sent: AtomicUsize::new(0),
                config,
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub fn project_id(&self) -> &str {
        &self.inner.config.project_id
    }

    /// The process-wide request budgets (one per API) this client draws on.
    pub fn budgets(&self) -> &Arc<ApiBudgets> {
        &self.inner.budgets
    }

    /// Per API: requests sent, 429 answers and time spent waiting for the budget, by every
    /// client sharing this client's budgets (the process's totals for its endpoint, project and
    /// credentials).
    pub fn api_stats(&self) -> Vec<ApiStats> {
        self.inner.budgets.stats()
    }

    /// Logs [`Client::api_stats`] at INFO, one line per API used so far (see
    /// [`ApiBudgets::log_stats`]).
    pub fn log_api_stats(&self) {
        self.inner.budgets.log_stats();
    }

    /// HTTP attempts this client (and its clones) has sent so far.
    pub fn requests_sent(&self) -> usize {
        self.inner.requests_sent.load(Ordering::Relaxed)
    }

    /// `GET .../app-servers/{server_id}`. A missing server is `ClientError::Api` with status 404.
    pub async fn get_server(
        &self,
        server_id: &str,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<AppServer, ClientError> {
        self.get_server_attempted(server_id, cancel, deadline)
            .await
            .result
    }

    pub(crate) async fn get_server_attempted(
        &self,
        server_id: &str,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Attempted<AppServer> {
        if let Err(e) = check_server_id(server_id) {
            return Attempted {
                result: Err(e),
                sent: 0,
            };
        }
        let request = ApiRequest {
            api: Api::ShowServer,
            method: Method::GET,
            path: wire::server_path(self.project_id(), server_id),
            query: Vec::new(),
            body: None,
            idempotent: true,
        };
        let attempted = self.execute(&request, cancel, deadline).await;
        Attempted {
            result: attempted.result.and_then(|r| decode_server(&r.body)),
            sent: attempted.sent,
        }
    }

    /// `GET .../app-servers` with the given filters (one page). The service validates the
    /// values (`limit` 1..=[`MAX_LIST_LIMIT`]) and answers 400 otherwise.
    pub async fn list_servers(
        &self,
        query: &ListQuery,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<ListAppServersResponse, ClientError> {
        let request = ApiRequest {
            api: Api::ListServers,
            method: Method::GET,
            path: wire::servers_path(self.project_id()),
            query: query.to_pairs(),
            body: None,
            idempotent: true,
        };
        let response = self.execute(&request, cancel, deadline).await.result?;
        serde_json::from_slice(&response.body).map_err(|e| ClientError::Decode {
            what: "the server list".to_string(),
            message: e.to_string(),
        })
    }

    /// Send `request`, retrying as the policy allows, within `deadline` and until `cancel`.
    pub(crate) async fn execute(
        &self,
        request: &ApiRequest,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Attempted<ApiResponse> {
        let mut sent = 0usize;
        let mut last_error: Option<ClientError> = None;
        let mut retries = RetryCounts::default();
        loop {
            let outcome = self
                .attempt(request, cancel, deadline, retries.total(), &mut sent)
                .await;
            let (error, retry_after) = match outcome {
                AttemptOutcome::Done(response) => {
                    return Attempted {
                        result: Ok(response),
                        sent,
                    }
                }
                AttemptOutcome::Stop(error) => {
                    let error = attach_last(error, last_error.take());
                    return Attempted {
                        result: Err(error),
                        sent,
                    };
                }
                AttemptOutcome::Failed { error, retry_after } => (error, retry_after),
            };
            let Some(kind) = self.retry_kind(request, &error, &retries) else {
                return Attempted {
                    result: Err(error),
                    sent,
                };
            };
            let delay = self.policy(kind).delay(retries.of(kind), retry_after);
            tracing::debug!(
                api = %request.api,
                method = %request.method,
                path = %request.path,
                attempt = retries.total().saturating_add(1),
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "workspace API: retrying"
            );
            if let Err(interrupted) = retry::sleep_before_retry(delay, cancel, deadline).await {
                let last_error = Some(Box::new(error));
                let error = match interrupted {
                    Interrupted::Cancelled => ClientError::Cancelled {
                        last_error,
                        in_flight: false,
                    },
                    Interrupted::Deadline => ClientError::DeadlineExceeded { last_error },
                };
                return Attempted {
                    result: Err(error),
                    sent,
                };
            }
            last_error = Some(error);
            retries.count(kind);
        }
    }

    /// Whether the failed attempt of `request` is retried, and by which rule; `None`: the call
    /// ends with `error`.
    fn retry_kind(
        &self,
        request: &ApiRequest,
        error: &ClientError,
        retries: &RetryCounts,
    ) -> Option<RetryKind> {
        // An error answer proves the request was not carried out, so these are safe to repeat.
        match error {
            ClientError::Api(answer) if answer.status == 429 => return Some(RetryKind::Throttled),
            ClientError::Api(answer)
                if answer.status == 409 && request.api.conflict_means_busy() =>
            {
                return Some(RetryKind::Busy)
            }
            _ => {}
        }
        let may_repeat = request.idempotent
            || matches!(
                error,
                ClientError::Api(_)
                    | ClientError::Transport {
                        maybe_processed: false,
                        ..
                    }
            );
        let budget_left = retries.failure < self.inner.retry.max_retries;
        (error.is_retryable() && may_repeat && budget_left).then_some(RetryKind::Failure)
    }

    fn policy(&self, kind: RetryKind) -> &RetryPolicy {
        match kind {
            RetryKind::Failure => &self.inner.retry,
            RetryKind::Throttled => &self.inner.throttle_retry,
            RetryKind::Busy => &self.inner.busy_retry,
        }
    }

    /// One attempt: wait for a concurrency slot and the request budget, sign afresh, send, read
    /// the answer.
    async fn attempt(
        &self,
        request: &ApiRequest,
        cancel: &CancellationToken,
        deadline: Instant,
        retry: u32,
        sent: &mut usize,
    ) -> AttemptOutcome {
        let inner = &self.inner;
        let (permit, ticket) = match self.admit(request.api, cancel, deadline).await {
            Ok(admitted) => admitted,
            Err(stop) => return AttemptOutcome::Stop(stop),
        };
        let now = Instant::now();
        if now >= deadline {
            return AttemptOutcome::Stop(ClientError::DeadlineExceeded { last_error: None });
        }
        let remaining = deadline - now;
        let timeout = inner.config.request_timeout.min(remaining);
        let cut_by_deadline = remaining < inner.config.request_timeout;

        let built = match self.build(request) {
            Ok(b) => b,
            Err(e) => return AttemptOutcome::Stop(e),
        };
        *sent += 1;
        inner.requests_sent.fetch_add(1, Ordering::Relaxed);
        let limiter = inner.budgets.limiter(request.api);
        limiter.sent();
        let exchange = async {
            let response = built.send().await?;
            let status = response.status().as_u16();
            let request_id = header_text(response.headers(), headers::REQUEST_ID);
            let retry_after = header_text(response.headers(), headers::RETRY_AFTER);
            let body = response.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>(Answer {
                status,
                request_id,
                retry_after,
                body,
            })
        };
        let answered = tokio::select! {
            biased;
            _ = cancel.cancelled() => return AttemptOutcome::Stop(ClientError::Cancelled { last_error: None, in_flight: true }),
            answered = tokio::time::timeout(timeout, exchange) => answered,
        };
        drop(permit);
        match answered {
            Err(_elapsed) => {
                tracing::debug!(api = %request.api, method = %request.method, path = %request.path, attempt = retry.saturating_add(1), "workspace API: no answer in time");
                let error = ClientError::Timeout { after: timeout };
                if cut_by_deadline {
                    AttemptOutcome::Stop(ClientError::DeadlineExceeded {
                        last_error: Some(Box::new(error)),
                    })
                } else {
                    AttemptOutcome::Failed {
                        error,
                        retry_after: None,
                    }
                }
            }
            Ok(Err(e)) => {
                tracing::debug!(api = %request.api, method = %request.method, path = %request.path, attempt = retry.saturating_add(1), error = %e, "workspace API: transport error");
                match trust::certificate_problem(&e) {
                    // The next attempt would meet the same certificate: stop, and say what to do.
                    Some(problem) => AttemptOutcome::Stop(ClientError::Tls {
                        host: inner.host.clone(),
                        problem,
                    }),
                    None => AttemptOutcome::Failed {
                        error: transport_error(&e),
                        retry_after: None,
                    },
                }
            }
            Ok(Ok(answer)) => judge_answer(request, answer, limiter, ticket, retry),
        }
    }

    /// Wait for one of the client's concurrency slots, then for a slot of `api`'s budget.
    async fn admit(
        &self,
        api: Api,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<(SemaphorePermit<'_>, Ticket), ClientError> {
        let cancelled = ClientError::Cancelled {
            last_error: None,
            in_flight: false,
        };
        let too_late = ClientError::DeadlineExceeded { last_error: None };
        let permit = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(cancelled),
            _ = tokio::time::sleep_until(deadline) => return Err(too_late),
            permit = self.inner.permits.acquire() => permit
                .map_err(|_| config_error("the client's request limiter was closed"))?,
        };
        match self
            .inner
            .budgets
            .limiter(api)
            .acquire(cancel, deadline)
            .await
        {
            Ok(ticket) => Ok((permit, ticket)),
            Err(Interrupted::Cancelled) => Err(cancelled),
            Err(Interrupted::Deadline) => Err(too_late),
        }
    }

    /// Build the HTTP request with fresh authentication headers.
    fn build(&self, request: &ApiRequest) -> Result<reqwest::RequestBuilder, ClientError> {
        let inner = &self.inner;
        let path = format!("{}{}", inner.base_path, request.path);
        let query = signing::canonical_query(&request.query);
        let mut url = inner.config.base_url.clone();
        url.set_path(&path);
        url.set_query(if query.is_empty() { None } else { Some(&query) });

        // Names from `wire::headers`; reqwest lower-cases them.
        let mut extra: Vec<(&'static str, HeaderValue)> = vec![(
            headers::PROJECT_ID,
            HeaderValue::from_str(&inner.config.project_id)
                .map_err(|_| config_error("project_id is not a valid header value"))?,
        )];
        if request.body.is_some() {
            extra.push((headers::CONTENT_TYPE, HeaderValue::from_static(JSON)));
        }
        match &inner.auth {
            AuthMode::Token(token) => extra.push((headers::AUTH_TOKEN, token.clone())),
            AuthMode::Signed(signer) => {
                let sdk_date = signing::format_sdk_date(OffsetDateTime::now_utc());
                let mut to_sign = vec![
                    (headers::HOST.to_string(), inner.host.clone()),
                    (
                        headers::PROJECT_ID.to_string(),
                        inner.config.project_id.clone(),
                    ),
                    (headers::SDK_DATE.to_string(), sdk_date.clone()),
                ];
                if request.body.is_some() {
                    to_sign.push((headers::CONTENT_TYPE.to_string(), JSON.to_string()));
                }
                if let Some(token) = signer.credentials().security_token() {
                    to_sign.push((headers::SECURITY_TOKEN.to_string(), token.to_string()));
                    extra.push((
                        headers::SECURITY_TOKEN,
                        sensitive_header(token, "security_token")?,
                    ));
                }
                let signed = signer
                    .sign(&RequestToSign {
                        method: request.method.as_str(),
                        path: &path,
                        query: &request.query,
                        headers: &to_sign,
                        body: request.body.as_deref().unwrap_or_default(),
                    })
                    .map_err(|e| config_error(e.to_string()))?;
                // What we signed, for comparing with the gateway's echo on APIGW.0301 (see the
                // README's troubleshooting); the security token's value is never logged.
                tracing::debug!(
                    canonical_request = %crate::workspace::error::redact_security_token(&signed.canonical_request, '\n'),
                    "workspace API: signed request"
                );
                extra.push((
                    headers::SDK_DATE,
                    HeaderValue::from_str(&sdk_date)
                        .map_err(|_| config_error("X-Sdk-Date is not a valid header value"))?,
                ));
                extra.push((
                    headers::AUTHORIZATION,
                    sensitive_header(&signed.authorization, "the Authorization header")?,
                ));
            }
        }
        let mut builder = inner.http.request(request.method.clone(), url);
        for (name, value) in extra {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        Ok(builder)
    }
}

/// The HTTP client: rustls with the bundled roots and the configured trust, the user agent,
/// the connect timeout and the idle pool.
fn http_client(config: &ClientConfig) -> Result<reqwest::Client, ClientError> {
    // Proxies: reqwest reads HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY here, because
    // `no_proxy()` is never called (see `trust`).
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(true)
        .danger_accept_invalid_certs(config.insecure)
        .user_agent(config.user_agent.clone())
        .connect_timeout(config.request_timeout)
        .pool_max_idle_per_host(config.max_concurrency);
    if !config.insecure {
        for der in config.trust.load()? {
            let certificate = reqwest::Certificate::from_der(&der)
                .map_err(|e| config_error(format!("unusable CA certificate: {e}")))?;
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder
        .build()
        .map_err(|e| config_error(format!("cannot build the HTTP client: {e}")))
}

/// Check the credentials and turn them into what each request needs.
fn auth_mode(credentials: &Credentials) -> Result<AuthMode, ClientError> {
    match credentials {
        Credentials::AkSk {
            access_key,
            secret_key,
            security_token,
        } => {
            if access_key.trim().is_empty() || secret_key.is_empty() {
                return Err(config_error("access_key and secret_key must both be set"));
            }
            sensitive_header(access_key, "access_key")?;
            if let Some(token) = security_token {
                sensitive_header(token, "security_token")?;
            }
            let trimmed = Credentials::AkSk {
                access_key: access_key.trim().to_owned(),
                secret_key: secret_key.clone(),
                security_token: security_token.clone().filter(|t| !t.is_empty()),
            };
            let signer = Signer::new(trimmed).map_err(|e| config_error(e.to_string()))?;
            Ok(AuthMode::Signed(signer))
        }
        Credentials::Token(token) => {
            if token.trim().is_empty() {
                return Err(config_error("token is empty"));
            }
            Ok(AuthMode::Token(sensitive_header(token.trim(), "token")?))
        }
    }
}

/// Why a call is retried: each reason has its own backoff and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryKind {
    /// A 5xx, a broken connection or a timeout: at most `max_retries` times.
    Failure,
    /// A 429: until the deadline.
    Throttled,
    /// A 409 to a batch action (a server busy with another task): until the deadline.
    Busy,
}

/// Retries of one call so far, per [`RetryKind`].
#[derive(Debug, Default)]
struct RetryCounts {
    failure: u32,
    throttled: u32,
    busy: u32,
}

impl RetryCounts {
    fn of(&self, kind: RetryKind) -> u32 {
        match kind {
            RetryKind::Failure => self.failure,
            RetryKind::Throttled => self.throttled,
            RetryKind::Busy => self.busy,
        }
    }

    fn count(&mut self, kind: RetryKind) {
        let counter = match kind {
            RetryKind::Failure => &mut self.failure,
            RetryKind::Throttled => &mut self.throttled,
            RetryKind::Busy => &mut self.busy,
        };
        *counter = counter.saturating_add(1);
    }

    fn total(&self) -> u32 {
        self.failure
            .saturating_add(self.throttled)
            .saturating_add(self.busy)
    }
}

/// An HTTP answer as read.
struct Answer {
    status: u16,
    request_id: Option<String>,
    retry_after: Option<String>,
    body: Vec<u8>,
}

/// What an answer to `request` means: a success, or an API error (retried or not by the
/// caller's rules). A 429 also slows down the budget of the request's API.
fn judge_answer(
    request: &ApiRequest,
    answer: Answer,
    limiter: &RateLimiter,
    ticket: Ticket,
    retry: u32,
) -> AttemptOutcome {
    tracing::debug!(
        api = %request.api,
        method = %request.method,
        path = %request.path,
        status = answer.status,
        request_id = answer.request_id.as_deref().unwrap_or("-"),
        attempt = retry.saturating_add(1),
        "workspace API answer"
    );
    if (200..300).contains(&answer.status) {
        return AttemptOutcome::Done(ApiResponse { body: answer.body });
    }
    if answer.status == 429 {
        limiter.throttled(ticket);
    }
    let error = ApiError::from_response(answer.status, answer.request_id.as_deref(), &answer.body);
    let retry_after = answer
        .retry_after
        .as_deref()
        .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
    AttemptOutcome::Failed {
        error: ClientError::Api(error),
        retry_after,
    }
}

enum AttemptOutcome {
    Done(ApiResponse),
    /// Retryable or not, as the error says.
    Failed {
        error: ClientError,
        retry_after: Option<Duration>,
    },
    /// Stop now: cancelled, deadline, or the request could not be built.
    Stop(ClientError),
}

/// Put the error of the previous attempt into a cancellation or deadline error without one.
fn attach_last(error: ClientError, last: Option<ClientError>) -> ClientError {
    match (error, last) {
        (
            ClientError::Cancelled {
                last_error: None,
                in_flight,
            },
            Some(last),
        ) => ClientError::Cancelled {
            last_error: Some(Box::new(last)),
            in_flight,
        },
        (ClientError::DeadlineExceeded { last_error: None }, Some(last)) => {
            ClientError::DeadlineExceeded {
                last_error: Some(Box::new(last)),
            }
        }
        (error, _) => error,
    }
}

fn header_text(map: &HeaderMap, name: &str) -> Option<String> {
    map.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn transport_error(e: &reqwest::Error) -> ClientError {
    // reqwest's message names the URL (host, path, query: server IDs at most), never headers.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ClientError::Transport {
        message,
        maybe_processed: !e.is_connect(),
    }
}

pub(crate) fn check_server_id(server_id: &str) -> Result<(), ClientError> {
    if server_id.is_empty() {
        return Err(ClientError::InvalidInput("server ID is empty".to_string()));
    }
    if server_id.chars().count() > MAX_SERVER_ID_LEN {
        return Err(ClientError::InvalidInput(format!(
            "server ID is longer than {MAX_SERVER_ID_LEN} characters"
        )));
    }
    Ok(())
}

/// The show answer is the server object itself; accept a `{"server": {...}}` wrapper too.
fn decode_server(body: &[u8]) -> Result<AppServer, ClientError> {
    let decode_error = |message: String| ClientError::Decode {
        what: "the server".to_string(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| decode_error(e.to_string()))?;
    let object = match value.get("id") {
        Some(_) => value,
        None => ["server", "app_server"]
            .iter()
            .find_map(|key| value.get(*key).filter(|v| v.is_object()).cloned())
            .ok_or_else(|| decode_error("the answer has no server object".to_string()))?,
    };
    serde_json::from_value(object).map_err(|e| decode_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://127.0.0.1:9/").unwrap()
    }

    #[test]
    fn config_and_client_debug_are_redacted() {
        let aksk = Credentials::temporary("AKID", "s3cr3t-value", "tok-value");
        let token = Credentials::token("iam-token-value");
        let text = format!(
            "{aksk:?} {token:?} {:?}",
            ClientConfig::new(url(), "p", aksk.clone())
        );
        assert!(text.contains("AKID"));
        for secret in ["s3cr3t-value", "tok-value", "iam-token-value"] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
        let client = Client::new(ClientConfig::new(url(), "p", aksk)).unwrap();
        assert!(!format!("{client:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn config_defaults() {
        let c = ClientConfig::new(url(), "p", Credentials::token("t"));
        assert_eq!(c.max_retries, 5);
        assert_eq!(c.request_timeout, Duration::from_secs(60));
        assert_eq!(c.max_concurrency, 4);
        assert!(c.user_agent.starts_with("terraform-provider-workspace/"));
        assert!(!c.insecure);
        assert_eq!(c.max_requests_per_second, DEFAULT_MAX_REQUESTS_PER_SECOND);
        assert!(c.trust.system);
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let ok = ClientConfig::new(url(), "p", Credentials::token("t"));
        let cases: Vec<ClientConfig> = vec![
            ClientConfig {
                project_id: " ".into(),
                ..ok.clone()
            },
            ClientConfig {
                project_id: "a b".into(),
                ..ok.clone()
            },
            ClientConfig {
                max_concurrency: 0,
                ..ok.clone()
            },
            ClientConfig {
                request_timeout: Duration::ZERO,
                ..ok.clone()
            },
            ClientConfig {
                credentials: Credentials::token(""),
                ..ok.clone()
            },
            ClientConfig {
                credentials: Credentials::token("bad\nsecret-token"),
                ..ok.clone()
            },
            ClientConfig {
                credentials: Credentials::ak_sk("AK", ""),
                ..ok.clone()
            },
            ClientConfig {
                base_url: Url::parse("ftp://h/").unwrap(),
                ..ok.clone()
            },
            ClientConfig {
                max_requests_per_second: 0.0,
                ..ok.clone()
            },
            ClientConfig {
                max_requests_per_second: f64::NAN,
                ..ok.clone()
            },
            ClientConfig {
                trust: TrustRoots {
                    ca_files: vec!["/nonexistent/ca.pem".into()],
                    ..TrustRoots::bundled_only()
                },
                ..ok.clone()
            },
        ];
        for config in cases {
            let err = Client::new(config).unwrap_err();
            assert!(!err.to_string().contains("secret-token"));
        }
        assert!(Client::new(ok).is_ok());
    }

    #[test]
    fn a_409_is_retried_only_for_batch_actions_on_servers() {
        let client = Client::new(ClientConfig::new(url(), "p", Credentials::token("t"))).unwrap();
        let request = |api: Api, idempotent: bool| ApiRequest {
            api,
            method: Method::PATCH,
            path: "/".into(),
            query: Vec::new(),
            body: None,
            idempotent,
        };
        let answer = |status: u16| {
            ClientError::Api(ApiError::from_response(
                status,
                None,
                br#"{"error_code":"WKS.1","error_msg":"busy"}"#,
            ))
        };
        let none = RetryCounts::default();
        let kind = |api, idempotent, status| {
            client.retry_kind(&request(api, idempotent), &answer(status), &none)
        };
        assert_eq!(kind(Api::BatchReboot, false, 409), Some(RetryKind::Busy));
        assert_eq!(kind(Api::BatchMaint, true, 409), Some(RetryKind::Busy));
        assert_eq!(kind(Api::Logoff, false, 409), None);
        assert_eq!(kind(Api::ShowServer, true, 409), None);
        assert_eq!(
            kind(Api::BatchReboot, false, 429),
            Some(RetryKind::Throttled)
        );
        assert_eq!(kind(Api::BatchReboot, false, 503), Some(RetryKind::Failure));
        assert_eq!(kind(Api::BatchReboot, false, 400), None);
        // A request that may have been carried out is not repeated unless idempotent.
        let unanswered = ClientError::Timeout {
            after: Duration::from_secs(1),
        };
        assert_eq!(
            client.retry_kind(&request(Api::BatchReboot, false), &unanswered, &none),
            None
        );
        assert_eq!(
            client.retry_kind(&request(Api::ListServers, true), &unanswered, &none),
            Some(RetryKind::Failure)
        );
        // 5xx retries are bounded by `max_retries`; 429 and 409 only by the deadline.
        let spent = RetryCounts {
            failure: DEFAULT_MAX_RETRIES,
            throttled: 1_000,
            busy: 1_000,
        };
        let after =
            |status| client.retry_kind(&request(Api::BatchReboot, false), &answer(status), &spent);
        assert_eq!(after(503), None);
        assert_eq!(after(429), Some(RetryKind::Throttled));
        assert_eq!(after(409), Some(RetryKind::Busy));
        assert_eq!(spent.total(), DEFAULT_MAX_RETRIES + 2_000);
    }

    #[test]
    fn server_ids_checked() {
        assert!(check_server_id("").is_err());
        assert!(check_server_id(&"x".repeat(129)).is_err());
        assert!(check_server_id(&"x".repeat(128)).is_ok());
    }

    #[test]
    fn decode_server_shapes() {
        assert_eq!(decode_server(br#"{"id":"a"}"#).unwrap().id, "a");
        assert_eq!(decode_server(br#"{"server":{"id":"b"}}"#).unwrap().id, "b");
        assert!(matches!(
            decode_server(b"null"),
            Err(ClientError::Decode { .. })
        ));
        assert!(matches!(
            decode_server(b"{"),
            Err(ClientError::Decode { .. })
        ));
    }
}
