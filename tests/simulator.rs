//! The workspace simulator over real HTTP: requests are crafted with raw reqwest and the shared
//! signing code, then checked against the simulator's answers, state and request log.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use tfws::workspace::readiness::{self, Condition};
use tfws::workspace::signing::{self, RequestToSign, Signer};
use tfws::workspace::simulator::{
    authenticate, AuthError, AuthKind, CredentialsConfig, FailingIdsFault, FaultScope, Faults,
    FreezeEntry, InjectedFault, Operation, QuotaFault, RebootPhase, RebootTiming, ReceivedRequest,
    RequestLogEntry, ServerErrorFault, ServerGroupSpec, ServerSpec, SessionConfig, Simulator,
    SimulatorConfig, SimulatorHandle, SimulatorState, StatusOverride, ThrottleFault,
};
use tfws::workspace::wire::{self, AppServer, ListAppServersResponse, RebootType};
use tfws::workspace::Credentials;
use time::OffsetDateTime;

const AK: &str = "SIMULATORTESTAK00001";
const SK: &str = "simulator-test-secret-key-0001";
const TEMP_AK: &str = "SIMULATORTEMPAK00002";
const TEMP_SK: &str = "simulator-temp-secret-key-0002";
const SECURITY_TOKEN: &str = "security-token-for-temp-key";
const IAM_TOKEN: &str = "iam-token-accepted-by-simulator";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";
/// Upper bound for polling loops; generous so that a slow CI machine never flakes.
const POLL_ROUNDS: usize = 2_000;
const POLL_PAUSE: Duration = Duration::from_millis(10);

fn credentials() -> CredentialsConfig {
    CredentialsConfig {
        access_keys: vec![
            Credentials::ak_sk(AK, SK),
            Credentials::ak_sk(TEMP_AK, TEMP_SK).with_security_token(SECURITY_TOKEN),
        ],
        iam_tokens: vec![Credentials::token(IAM_TOKEN)],
        allow_anonymous: false,
    }
}

fn config(server_count: u32) -> SimulatorConfig {
    SimulatorConfig {
        project_id: PROJECT.to_owned(),
        credentials: credentials(),
        server_count,
        ..SimulatorConfig::default()
    }
}

async fn start(config: SimulatorConfig) -> SimulatorHandle {
    Simulator::start(config).await.expect("simulator starts")
}

/// How a test request authenticates.
#[derive(Clone)]
enum Auth {
    Sign {
        access_key: &'static str,
        secret_key: &'static str,
        security_token: Option<&'static str>,
    },
    Token(&'static str),
    None,
}

const SIGNED: Auth = Auth::Sign {
    access_key: AK,
    secret_key: SK,
    security_token: None,
};

/// A request under construction; `send` signs it (unless told otherwise) and sends it.
struct Call<'a> {
    simulator: &'a SimulatorHandle,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<String>,
    auth: Auth,
    sdk_date: OffsetDateTime,
    /// Changes applied to the headers after signing (to tamper with a signed request).
    after_signing: Vec<(String, String)>,
    project_header: Option<String>,
    timeout: Option<Duration>,
}

impl<'a> Call<'a> {
    fn new(simulator: &'a SimulatorHandle, method: Method, path: String) -> Self {
        Self {
            simulator,
            method,
            path,
            query: Vec::new(),
            body: None,
            auth: SIGNED,
            sdk_date: OffsetDateTime::now_utc(),
            after_signing: Vec::new(),
            project_header: Some(PROJECT.to_owned()),
            timeout: None,
        }
    }

    fn list(simulator: &'a SimulatorHandle) -> Self {
        Self::new(simulator, Method::GET, wire::servers_path(PROJECT))
    }

    fn show(simulator: &'a SimulatorHandle, id: &str) -> Self {
        Self::new(simulator, Method::GET, wire::server_path(PROJECT, id))
    }

    fn reboot(simulator: &'a SimulatorHandle, body: Value) -> Self {
        Self::reboot_raw(simulator, body.to_string())
    }

    fn reboot_raw(simulator: &'a SimulatorHandle, body: String) -> Self {
        let mut call = Self::new(simulator, Method::PATCH, wire::batch_reboot_path(PROJECT));
        call.body = Some(body);
        call
    }

    fn query(mut self, key: &str, value: &str) -> Self {
        self.query.push((key.to_owned(), value.to_owned()));
        self
    }

    fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    fn dated(mut self, at: OffsetDateTime) -> Self {
        self.sdk_date = at;
        self
    }

    fn then_header(mut self, name: &str, value: &str) -> Self {
        self.after_signing.push((name.to_owned(), value.to_owned()));
        self
    }

    fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    async fn send(self) -> Result<reqwest::Response, reqwest::Error> {
        let host = self.simulator.addr().to_string();
        let mut headers: Vec<(String, String)> = vec![
            ("Host".to_owned(), host),
            (
                "X-Sdk-Date".to_owned(),
                signing::format_sdk_date(self.sdk_date),
            ),
        ];
        if let Some(project) = &self.project_header {
            headers.push(("X-Project-Id".to_owned(), project.clone()));
        }
        if self.body.is_some() {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        let mut send_headers = headers.clone();
        match &self.auth {
            Auth::Sign {
                access_key,
                secret_key,
                security_token,
            } => {
                if let Some(token) = security_token {
                    headers.push(("X-Security-Token".to_owned(), (*token).to_owned()));
                    send_headers.push(("X-Security-Token".to_owned(), (*token).to_owned()));
                }
                let signer =
                    Signer::new(Credentials::ak_sk(*access_key, *secret_key)).expect("AK/SK signs");
                let signed = signer
                    .sign(&RequestToSign {
                        method: self.method.as_str(),
                        path: &self.path,
                        query: &self.query,
                        headers: &headers,
                        body: self.body.as_deref().unwrap_or("").as_bytes(),
                    })
                    .expect("request signs");
                send_headers.push(("Authorization".to_owned(), signed.authorization));
            }
            Auth::Token(token) => {
                send_headers.push(("X-Auth-Token".to_owned(), (*token).to_owned()))
            }
            Auth::None => {}
        }
        for (name, value) in &self.after_signing {
            send_headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
            send_headers.push((name.clone(), value.clone()));
        }
        let query = signing::canonical_query(&self.query);
        let mut url = format!("{}{}", self.simulator.base_url(), self.path);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        let client = reqwest::Client::new();
        let mut request = client.request(self.method.clone(), url);
        for (name, value) in send_headers {
            // reqwest sets Host from the URL itself (to the same value that was signed).
            if !name.eq_ignore_ascii_case("host") {
                request = request.header(name, value);
            }
        }
        if let Some(body) = self.body {
            request = request.body(body);
        }
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        request.send().await
    }

    async fn answer(self) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let response = self.send().await.expect("the simulator answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body reads");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, body)
    }
}

fn assert_error(answer: &(StatusCode, reqwest::header::HeaderMap, Value), status: u16, code: &str) {
    let (got_status, _, body) = answer;
    assert_eq!(got_status.as_u16(), status, "{body}");
    assert_eq!(body["error_code"], code, "{body}");
    assert!(
        body["error_msg"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

fn request_id(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("X-Request-Id")
        .and_then(|value| value.to_str().ok())
        .expect("every answer has X-Request-Id")
        .to_owned()
}

async fn poll_until<T>(mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..POLL_ROUNDS {
        if let Some(done) = check() {
            return done;
        }
        tokio::time::sleep(POLL_PAUSE).await;
    }
    panic!("condition not reached after {POLL_ROUNDS} rounds");
}

// ---------------------------------------------------------------- verifier and vectors

#[derive(Deserialize)]
struct VectorFile {
    access_key: String,
    secret_key: String,
    cases: Vec<VectorCase>,
}

#[derive(Deserialize)]
struct VectorCase {
    name: String,
    method: String,
    host: String,
    path: String,
    query: Vec<(String, String)>,
    headers: BTreeMap<String, String>,
    body: String,
    expected: VectorExpected,
}

#[derive(Deserialize)]
struct VectorExpected {
    canonical_request: String,
    authorization: String,
}

fn vectors() -> VectorFile {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/aksk-sdk-hmac-sha256.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("vectors at {}: {error}", path.display()));
    serde_json::from_str(&text).expect("vectors parse")
}

struct VectorRequest {
    headers: reqwest::header::HeaderMap,
    raw_path: String,
    raw_query: String,
    credentials: CredentialsConfig,
    signed_at: OffsetDateTime,
}

/// The request of a vector case as it would arrive on the wire.
fn vector_request(file: &VectorFile, case: &VectorCase, authorization: &str) -> VectorRequest {
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in &case.headers {
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    headers.insert("host", case.host.parse().unwrap());
    headers.insert("authorization", authorization.parse().unwrap());
    let raw_path = case
        .path
        .split('/')
        .map(signing::encode)
        .collect::<Vec<_>>()
        .join("/");
    let mut credential = Credentials::ak_sk(&file.access_key, &file.secret_key);
    if let Some(token) = case.headers.get("X-Security-Token") {
        credential = credential.with_security_token(token);
    }
    let signed_at = signing::parse_sdk_date(&case.headers["X-Sdk-Date"]).unwrap();
    VectorRequest {
        headers,
        raw_path,
        raw_query: signing::canonical_query(&case.query),
        credentials: CredentialsConfig {
            access_keys: vec![credential],
            ..CredentialsConfig::default()
        },
        signed_at,
    }
}

fn verify_vector(
    request: &VectorRequest,
    case: &VectorCase,
    now: OffsetDateTime,
) -> Result<tfws::workspace::simulator::Authenticated, AuthError> {
    authenticate(
        &ReceivedRequest {
            method: &case.method,
            raw_path: &request.raw_path,
            raw_query: Some(&request.raw_query)
                .filter(|query| !query.is_empty())
                .map(String::as_str),
            headers: &request.headers,
            body: case.body.as_bytes(),
        },
        &request.credentials,
        now,
        Some(Duration::from_secs(15 * 60)),
    )
}

#[test]
fn verifier_accepts_every_vector_and_rejects_tampering_and_stale_dates() {
    let file = vectors();
    assert!(!file.cases.is_empty());
    for case in &file.cases {
        let request = vector_request(&file, case, &case.expected.authorization);
        let accepted = verify_vector(&request, case, request.signed_at + Duration::from_secs(60))
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));
        assert_eq!(
            accepted.access_key.as_deref(),
            Some(file.access_key.as_str())
        );
        let expected_kind = if case.headers.contains_key("X-Security-Token") {
            AuthKind::AkSkSecurityToken
        } else {
            AuthKind::AkSk
        };
        assert_eq!(accepted.kind, expected_kind, "{}", case.name);

        // One signature digit changed: rejected, and the echoed canonical request is the one
        // the official SDK computed.
        let signature_at = case.expected.authorization.len() - 1;
        let mut tampered = case.expected.authorization.clone();
        let last = if tampered.ends_with('0') { "1" } else { "0" };
        tampered.replace_range(signature_at.., last);
        let request = vector_request(&file, case, &tampered);
        match verify_vector(&request, case, request.signed_at) {
            Err(AuthError::SignatureMismatch { canonical_request }) => {
                assert_eq!(
                    canonical_request, case.expected.canonical_request,
                    "{}",
                    case.name
                )
            }
            other => panic!("{}: tampered signature gave {other:?}", case.name),
        }

        // Signed 16 minutes before (and after) the verifier's clock.
        let request = vector_request(&file, case, &case.expected.authorization);
        for now in [
            request.signed_at + Duration::from_secs(16 * 60),
            request.signed_at - Duration::from_secs(16 * 60),
        ] {
            assert!(
                matches!(
                    verify_vector(&request, case, now),
                    Err(AuthError::Expired { .. })
                ),
                "{}",
                case.name
            );
        }
    }
}

#[test]
fn verifier_rejects_a_changed_body_and_a_missing_security_token() {
    let file = vectors();
    let case = file
        .cases
        .iter()
        .find(|case| case.headers.contains_key("X-Security-Token"))
        .expect("a vector with a security token");
    let mut request = vector_request(&file, case, &case.expected.authorization);
    let changed = VectorCase {
        body: case.body.replace("SOFT", "HARD"),
        ..clone_case(case)
    };
    assert!(matches!(
        verify_vector(&request, &changed, request.signed_at),
        Err(AuthError::SignatureMismatch { .. })
    ));
    request.credentials.access_keys[0] =
        Credentials::temporary(&file.access_key, &file.secret_key, "another-token");
    assert_eq!(
        verify_vector(&request, case, request.signed_at),
        Err(AuthError::BadSecurityToken)
    );
}

fn clone_case(case: &VectorCase) -> VectorCase {
    VectorCase {
        name: case.name.clone(),
        method: case.method.clone(),
        host: case.host.clone(),
        path: case.path.clone(),
        query: case.query.clone(),
        headers: case.headers.clone(),
        body: case.body.clone(),
        expected: VectorExpected {
            canonical_request: case.expected.canonical_request.clone(),
            authorization: case.expected.authorization.clone(),
        },
    }
}

// ---------------------------------------------------------------- authentication over HTTP

#[tokio::test]
async fn signed_requests_are_served_with_a_request_id() {
    let simulator = start(config(3)).await;
    let (status, headers, body) = Call::list(&simulator).answer().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list: ListAppServersResponse = serde_json::from_value(body).unwrap();
    assert_eq!(list.count, 3);
    let id = request_id(&headers);
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    let entry = simulator.requests().pop().unwrap();
    assert_eq!(entry.request_id, id);
    assert_eq!(entry.auth, AuthKind::AkSk);
    assert_eq!(entry.access_key.as_deref(), Some(AK));
    assert_eq!(entry.operation, Operation::ListServers);
    simulator.shutdown().await;
}

#[tokio::test]
async fn tampered_signature_is_rejected_with_the_gateways_canonical_request() {
    let simulator = start(config(1)).await;
    // Signed with another secret: the signature does not match the gateway's.
    let answer = Call::list(&simulator)
        .query("limit", "5")
        .auth(Auth::Sign {
            access_key: AK,
            secret_key: "not-the-secret",
            security_token: None,
        })
        .answer()
        .await;
    assert_error(&answer, 401, "APIGW.0301");
    let (_, headers, body) = &answer;
    let message = body["error_msg"].as_str().unwrap();
    let host = simulator.addr().to_string();
    let expected = format!(
        "Incorrect IAM authentication information: verify aksk signature fail, canonicalRequest:GET|/v1/{PROJECT}/app-servers/|limit=5|host:{host}|x-project-id:{PROJECT}|x-sdk-date:"
    );
    assert!(message.starts_with(&expected), "{message}");
    assert!(message.ends_with("||host;x-project-id;x-sdk-date|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "{message}");
    assert!(!message.contains(SK));
    assert_eq!(body["request_id"], request_id(headers));
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_signed_header_changed_after_signing_is_rejected() {
    let simulator = start(config(1)).await;
    let answer = Call::list(&simulator)
        .then_header("X-Project-Id", "ffffffffffffffffffffffffffffffff")
        .answer()
        .await;
    assert_error(&answer, 401, "APIGW.0301");
    assert!(answer.2["error_msg"]
        .as_str()
        .unwrap()
        .contains("x-project-id:ffffffffffffffffffffffffffffffff"));
    simulator.shutdown().await;
}

#[tokio::test]
async fn stale_sdk_date_is_rejected() {
    let simulator = start(config(1)).await;
    let stale = OffsetDateTime::now_utc() - Duration::from_secs(20 * 60);
    let answer = Call::list(&simulator).dated(stale).answer().await;
    assert_error(&answer, 401, "APIGW.0303");
    assert!(answer.2["error_msg"]
        .as_str()
        .unwrap()
        .contains("signature expired"));
    let future = OffsetDateTime::now_utc() + Duration::from_secs(20 * 60);
    assert_error(
        &Call::list(&simulator).dated(future).answer().await,
        401,
        "APIGW.0303",
    );
    // With the check turned off at runtime the same request passes.
    simulator.set_max_clock_skew(None);
    assert_eq!(
        Call::list(&simulator).dated(stale).answer().await.0,
        StatusCode::OK
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn iam_tokens_are_checked() {
    let simulator = start(config(1)).await;
    let ok = Call::list(&simulator)
        .auth(Auth::Token(IAM_TOKEN))
        .answer()
        .await;
    assert_eq!(ok.0, StatusCode::OK);
    let wrong = Call::list(&simulator)
        .auth(Auth::Token("not-a-token"))
        .answer()
        .await;
    assert_error(&wrong, 401, "APIGW.0301");
    assert!(!wrong.2["error_msg"]
        .as_str()
        .unwrap()
        .contains("not-a-token"));
    assert_error(
        &Call::list(&simulator).auth(Auth::None).answer().await,
        401,
        "APIGW.0301",
    );
    let kinds: Vec<AuthKind> = simulator.requests().iter().map(|e| e.auth).collect();
    assert_eq!(
        kinds,
        [AuthKind::IamToken, AuthKind::IamToken, AuthKind::None]
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn security_tokens_must_be_signed_and_match() {
    let simulator = start(config(1)).await;
    let temporary = |token| Auth::Sign {
        access_key: TEMP_AK,
        secret_key: TEMP_SK,
        security_token: token,
    };
    let ok = Call::list(&simulator)
        .auth(temporary(Some(SECURITY_TOKEN)))
        .answer()
        .await;
    assert_eq!(ok.0, StatusCode::OK, "{}", ok.2);
    assert_error(
        &Call::list(&simulator)
            .auth(temporary(Some("wrong-token")))
            .answer()
            .await,
        401,
        "APIGW.0301",
    );
    assert_error(
        &Call::list(&simulator).auth(temporary(None)).answer().await,
        401,
        "APIGW.0301",
    );
    // Sent but left out of the signature.
    assert_error(
        &Call::list(&simulator)
            .auth(temporary(None))
            .then_header("X-Security-Token", SECURITY_TOKEN)
            .answer()
            .await,
        401,
        "APIGW.0301",
    );
    // Unknown access key.
    assert_error(
        &Call::list(&simulator)
            .auth(Auth::Sign {
                access_key: "UNKNOWNAK",
                secret_key: SK,
                security_token: None,
            })
            .answer()
            .await,
        401,
        "APIGW.0301",
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn project_must_match() {
    let simulator = start(config(1)).await;
    let mut call = Call::new(
        &simulator,
        Method::GET,
        wire::servers_path("someotherproject"),
    );
    call.project_header = Some("someotherproject".to_owned());
    assert_error(&call.answer().await, 403, "WKS.00081102");
    let mut call = Call::list(&simulator);
    call.project_header = Some("someotherproject".to_owned());
    assert_error(&call.answer().await, 403, "WKS.00081102");
    simulator.shutdown().await;
}

#[tokio::test]
async fn unknown_api_paths_are_gateway_404s() {
    let simulator = start(config(1)).await;
    let answer = Call::new(&simulator, Method::POST, wire::batch_reboot_path(PROJECT))
        .answer()
        .await;
    assert_error(&answer, 404, "APIGW.0101");
    assert!(answer.2["request_id"].is_string());
    simulator.shutdown().await;
}

// ---------------------------------------------------------------- validation and reading

#[tokio::test]
async fn batch_bodies_are_validated_like_the_real_api() {
    let simulator = start(config(3)).await;
    let twenty_one: Vec<String> = (1..=21).map(|n| format!("srv-{n:04}")).collect();
    let long_id = "x".repeat(129);
    for body in [
        json!({"items": [], "type": "SOFT"}).to_string(),
        json!({"items": twenty_one, "type": "SOFT"}).to_string(),
        json!({"items": ["srv-0001", "srv-0001"], "type": "SOFT"}).to_string(),
        json!({"items": [""], "type": "SOFT"}).to_string(),
        json!({"items": [long_id], "type": "SOFT"}).to_string(),
        json!({"items": ["srv-0001"], "type": "MEDIUM"}).to_string(),
        json!({"items": ["srv-0001"]}).to_string(),
        json!({"type": "HARD"}).to_string(),
        "{\"items\": [\"srv-0001\"".to_owned(),
        "null".to_owned(),
    ] {
        let answer = Call::reboot_raw(&simulator, body.clone()).answer().await;
        assert_error(&answer, 400, "WKS.00211102");
        assert!(
            answer.2.get("request_id").is_none(),
            "service errors carry no request_id"
        );
    }
    assert!(simulator.reboot_counts().values().all(|count| *count == 0));
    simulator.shutdown().await;
}

#[tokio::test]
async fn unknown_servers_are_404() {
    let simulator = start(config(2)).await;
    assert_error(
        &Call::show(&simulator, "srv-9999").answer().await,
        404,
        "WKS.00211902",
    );
    let answer = Call::reboot(
        &simulator,
        json!({"items": ["srv-0001", "srv-9999"], "type": "SOFT"}),
    )
    .answer()
    .await;
    assert_error(&answer, 404, "WKS.00211902");
    assert!(answer.2["error_msg"].as_str().unwrap().contains("srv-9999"));
    assert_eq!(
        simulator.reboot_counts()["srv-0001"],
        0,
        "a rejected batch reboots nothing"
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn show_returns_one_server_and_ids_are_path_encoded() {
    let mut config = config(1);
    config.servers.push(ServerSpec::with_id("srv:a b~c"));
    let simulator = start(config).await;
    let (status, _, body) = Call::show(&simulator, "srv:a b~c").answer().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let server: AppServer = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(server.id, "srv:a b~c");
    assert_eq!(server.vm_status.as_deref(), Some("ACTIVE"));
    // The idle task status is the string "null", not JSON null.
    assert_eq!(body["task_status"], "null");
    assert!(server.task_idle());
    simulator.shutdown().await;
}

#[tokio::test]
async fn list_paginates_and_filters() {
    let mut config = config(25);
    config.servers = vec![
        ServerSpec::with_id("g-1").in_group("group-a"),
        ServerSpec::with_id("g-2").in_group("group-a"),
    ];
    let simulator = start(config).await;
    let first = list_of(Call::list(&simulator)).await;
    assert_eq!(
        (first.count, first.items.len()),
        (27, 10),
        "default limit is 10"
    );
    let last = list_of(
        Call::list(&simulator)
            .query("offset", "20")
            .query("limit", "10"),
    )
    .await;
    assert_eq!(last.items.len(), 7);
    assert_eq!(last.items.last().unwrap().id, "srv-0025");
    let everything = list_of(Call::list(&simulator).query("limit", "100")).await;
    let ids: Vec<String> = everything.items.iter().map(|s| s.id.clone()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!((ids.len(), unique.len()), (27, 27));
    let one = list_of(Call::list(&simulator).query("server_id", "srv-0007")).await;
    assert_eq!(one.count, 1);
    assert_eq!(one.items[0].id, "srv-0007");
    let prefix_is_not_enough = list_of(Call::list(&simulator).query("server_id", "srv-000")).await;
    assert_eq!(prefix_is_not_enough.count, 0);
    let group = list_of(Call::list(&simulator).query("server_group_id", "group-a")).await;
    let ids: Vec<&str> = group.items.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["g-1", "g-2"]);
    for (key, value) in [
        ("limit", "0"),
        ("limit", "101"),
        ("offset", "-1"),
        ("limit", "ten"),
    ] {
        assert_error(
            &Call::list(&simulator).query(key, value).answer().await,
            400,
            "WKS.00211102",
        );
    }
    simulator.shutdown().await;
}

async fn list_of(call: Call<'_>) -> ListAppServersResponse {
    let (status, _, body) = call.answer().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

// ---------------------------------------------------------------- reboot state machine

async fn show(simulator: &SimulatorHandle, id: &str) -> AppServer {
    let (status, _, body) = Call::show(simulator, id).answer().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

fn phase_timing(pending_ms: u64, rebooting_ms: u64) -> RebootTiming {
    RebootTiming {
        pending_ms,
        rebooting_ms,
        registering_ms: 0,
    }
}

#[tokio::test]
async fn accepted_reboot_first_looks_idle_but_pending() {
    let mut config = config(1);
    // Phases far longer than the test: the observed state cannot move on.
    config.reboot = phase_timing(3_600_000, 3_600_000);
    let simulator = start(config).await;
    let before = show(&simulator, "srv-0001").await;
    let (status, headers, body) =
        Call::reboot(&simulator, json!({"items": ["srv-0001"], "type": "SOFT"}))
            .answer()
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, Value::Null, "success body is JSON null");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let pending = show(&simulator, "srv-0001").await;
    assert_eq!(pending.status.as_deref(), Some("REGISTERED"));
    assert_eq!(pending.vm_status.as_deref(), Some("ACTIVE"));
    assert_eq!(pending.task_status.as_deref(), Some("reboot_pending"));
    assert!(pending.update_time >= before.update_time);
    let snapshot = simulator.server("srv-0001").unwrap();
    assert_eq!(snapshot.phase, RebootPhase::Pending);
    assert_eq!(snapshot.reboot_count, 1);
    assert_eq!(snapshot.last_reboot_type, Some(RebootType::Soft));
    simulator.shutdown().await;
}

#[tokio::test]
async fn an_accepted_reboot_can_keep_looking_idle() {
    let mut config = config(1);
    config.faults.unchanged_after_accept_ms = 3_600_000;
    let simulator = start(config).await;
    let before = show(&simulator, "srv-0001").await;
    let answer = Call::reboot(&simulator, json!({"items": ["srv-0001"], "type": "SOFT"}))
        .answer()
        .await;
    assert_eq!(answer.0, StatusCode::OK);
    let after = show(&simulator, "srv-0001").await;
    assert_eq!(after, before, "nothing visible changed yet");
    let snapshot = simulator.server("srv-0001").unwrap();
    assert_eq!(snapshot.phase, RebootPhase::Accepted);
    assert_eq!(snapshot.reboot_count, 1);
    simulator.shutdown().await;
}

#[tokio::test]
async fn rebooting_phase_shows_soft_and_hard_states() {
    let mut config = config(2);
    config.reboot = phase_timing(0, 3_600_000);
    let simulator = start(config).await;
    for (id, kind, vm, task) in [
        ("srv-0001", "SOFT", "REBOOT", "rebooting"),
        ("srv-0002", "HARD", "HARD_REBOOT", "rebooting_hard"),
    ] {
        let answer = Call::reboot(&simulator, json!({"items": [id], "type": kind}))
            .answer()
            .await;
        assert_eq!(answer.0, StatusCode::OK);
        let server = show(&simulator, id).await;
        assert_eq!(server.vm_status.as_deref(), Some(vm));
        assert_eq!(server.task_status.as_deref(), Some(task));
    }
    let state = simulator.state();
    assert_eq!(
        state.server("srv-0002").unwrap().last_reboot_type,
        Some(RebootType::Hard)
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn reboot_ends_active_with_null_task_after_the_phases_in_order() {
    let mut config = config(3);
    config.reboot = RebootTiming {
        pending_ms: 40,
        rebooting_ms: 40,
        registering_ms: 40,
    };
    let simulator = start(config).await;
    let before = show(&simulator, "srv-0002").await;
    let answer = Call::reboot(
        &simulator,
        json!({"items": ["srv-0002", "srv-0003"], "type": "HARD"}),
    )
    .answer()
    .await;
    assert_eq!(answer.0, StatusCode::OK);
    // (task_status, status): the agent unregisters while the VM reboots and registers again
    // only after the VM is back.
    let order = [
        "reboot_pending/REGISTERED",
        "rebooting_hard/UNREGISTER",
        "null/UNREGISTER",
        "null/REGISTERED",
    ];
    let mut seen: Vec<String> = Vec::new();
    let mut last_update = before.update_time.clone();
    for _ in 0..POLL_ROUNDS {
        let server = show(&simulator, "srv-0002").await;
        let task = server.task_status.clone().unwrap();
        let step = format!("{task}/{}", server.status.clone().unwrap());
        assert!(order.contains(&step.as_str()), "unexpected state {step}");
        if task == "rebooting_hard" {
            assert_eq!(server.vm_status.as_deref(), Some("HARD_REBOOT"));
        } else {
            assert_eq!(server.vm_status.as_deref(), Some("ACTIVE"));
        }
        assert!(
            server.update_time >= last_update,
            "update_time never goes back"
        );
        last_update = server.update_time.clone();
        if seen.last() != Some(&step) {
            seen.push(step.clone());
        }
        if step == "null/REGISTERED" {
            break;
        }
        tokio::time::sleep(POLL_PAUSE).await;
    }
    assert_eq!(
        seen.last().map(String::as_str),
        Some("null/REGISTERED"),
        "the reboot finished"
    );
    let positions: Vec<usize> = seen
        .iter()
        .map(|step| order.iter().position(|o| o == step).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "phases in order: {seen:?}"
    );
    assert!(last_update > before.update_time, "update_time advanced");
    let counts = simulator.reboot_counts();
    assert_eq!(
        (counts["srv-0001"], counts["srv-0002"], counts["srv-0003"]),
        (0, 1, 1)
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_server_can_end_its_reboot_in_error_or_be_forced_into_error() {
    let mut config = config(3);
    config.reboot = phase_timing(0, 0);
    config.faults.error_after_reboot_ids = vec!["srv-0002".to_owned()];
    let simulator = start(config).await;
    let answer = Call::reboot(
        &simulator,
        json!({"items": ["srv-0001", "srv-0002"], "type": "SOFT"}),
    )
    .answer()
    .await;
    assert_eq!(answer.0, StatusCode::OK);
    let state = poll_until(|| {
        let state = simulator.state();
        state
            .servers
            .iter()
            .all(|server| server.phase == RebootPhase::Idle)
            .then_some(state)
    })
    .await;
    assert_eq!(state.server("srv-0001").unwrap().vm_status, "ACTIVE");
    assert_eq!(state.server("srv-0002").unwrap().vm_status, "ERROR");
    assert_eq!(
        show(&simulator, "srv-0002").await.vm_status.as_deref(),
        Some("ERROR")
    );

    simulator
        .set_server_status("srv-0003", StatusOverride::error())
        .unwrap();
    assert_eq!(
        show(&simulator, "srv-0003").await.vm_status.as_deref(),
        Some("ERROR")
    );
    assert!(simulator
        .set_server_status("nope", StatusOverride::error())
        .is_err());
    simulator.shutdown().await;
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn first_requests_are_throttled_with_retry_after() {
    let mut config = config(1);
    config.faults.throttle = Some(ThrottleFault {
        first_n: 2,
        retry_after_secs: Some(3),
        scope: FaultScope::All,
    });
    let simulator = start(config).await;
    for _ in 0..2 {
        let answer = Call::list(&simulator).answer().await;
        assert_error(&answer, 429, "APIG.0308");
        assert_eq!(
            answer.2["error_msg"],
            "The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 minute"
        );
        assert_eq!(answer.1["retry-after"], "3");
        assert_eq!(answer.2["request_id"], request_id(&answer.1));
    }
    assert_eq!(Call::list(&simulator).answer().await.0, StatusCode::OK);
    let faults: Vec<Option<InjectedFault>> = simulator.requests().iter().map(|e| e.fault).collect();
    assert_eq!(
        faults,
        [
            Some(InjectedFault::Throttled),
            Some(InjectedFault::Throttled),
            None
        ]
    );
    assert_eq!(simulator.state().counters.throttled, 2);
    simulator.shutdown().await;
}

#[tokio::test]
async fn scoped_throttling_spares_other_calls() {
    let mut config = config(1);
    config.faults.throttle = Some(ThrottleFault {
        first_n: 1,
        retry_after_secs: None,
        scope: FaultScope::BatchReboot,
    });
    let simulator = start(config).await;
    let list = Call::list(&simulator).answer().await;
    assert_eq!(list.0, StatusCode::OK);
    let reboot = json!({"items": ["srv-0001"], "type": "SOFT"});
    let throttled = Call::reboot(&simulator, reboot.clone()).answer().await;
    assert_error(&throttled, 429, "APIG.0308");
    assert!(throttled.1.get("retry-after").is_none());
    assert_eq!(
        Call::reboot(&simulator, reboot).answer().await.0,
        StatusCode::OK
    );
    assert_eq!(
        simulator.reboot_counts()["srv-0001"],
        1,
        "the throttled batch rebooted nothing"
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn first_requests_fail_with_the_configured_5xx() {
    let mut config = config(1);
    config.faults.server_errors = Some(ServerErrorFault {
        first_n: 1,
        status: 503,
        error_code: None,
        error_msg: None,
        scope: FaultScope::All,
    });
    let simulator = start(config).await;
    assert_error(&Call::list(&simulator).answer().await, 503, "WKS.00050902");
    assert_eq!(Call::list(&simulator).answer().await.0, StatusCode::OK);

    for (status, code) in [
        (500, "WKS.00211401"),
        (502, "APIGW.0202"),
        (504, "APIGW.0203"),
    ] {
        simulator.set_faults(Faults {
            server_errors: Some(ServerErrorFault {
                first_n: 1,
                status,
                error_code: None,
                error_msg: None,
                scope: FaultScope::All,
            }),
            ..Faults::default()
        });
        assert_error(&Call::list(&simulator).answer().await, status, code);
        assert_eq!(Call::list(&simulator).answer().await.0, StatusCode::OK);
    }
    let custom = Faults {
        server_errors: Some(ServerErrorFault {
            first_n: 1,
            status: 500,
            error_code: Some("WKS.00000001".to_owned()),
            error_msg: Some("custom failure".to_owned()),
            scope: FaultScope::Reads,
        }),
        ..Faults::default()
    };
    simulator.set_faults(custom);
    let answer = Call::list(&simulator).answer().await;
    assert_error(&answer, 500, "WKS.00000001");
    assert_eq!(answer.2["error_msg"], "custom failure");
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_failing_id_fails_only_its_batch() {
    let mut config = config(4);
    config.faults.failing_ids = Some(FailingIdsFault {
        ids: vec!["srv-0002".to_owned()],
        status: 500,
        error_code: None,
        error_msg: None,
    });
    let simulator = start(config).await;
    let failing = Call::reboot(
        &simulator,
        json!({"items": ["srv-0001", "srv-0002"], "type": "SOFT"}),
    )
    .answer()
    .await;
    assert_error(&failing, 500, "WKS.00211401");
    let fine = Call::reboot(
        &simulator,
        json!({"items": ["srv-0003", "srv-0004"], "type": "SOFT"}),
    )
    .answer()
    .await;
    assert_eq!(fine.0, StatusCode::OK);
    let counts = simulator.reboot_counts();
    assert_eq!(
        counts.values().copied().collect::<Vec<_>>(),
        [0, 0, 1, 1],
        "the failing batch rebooted nothing"
    );
    let log = simulator.requests();
    assert_eq!(log[0].fault, Some(InjectedFault::FailingId));
    assert_eq!(
        log[0].items.as_deref(),
        Some(&["srv-0001".to_owned(), "srv-0002".to_owned()][..])
    );
    assert!(log[1].is_accepted_reboot());
    simulator.shutdown().await;
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let mut config = config(1);
    config.faults.latency_ms = 150;
    let simulator = start(config).await;
    assert_eq!(Call::list(&simulator).answer().await.0, StatusCode::OK);
    // A lower bound only: the simulator slept at least this long before answering.
    assert!(simulator.requests()[0].duration_ms >= 150);
    simulator.shutdown().await;
}

#[tokio::test]
async fn requests_over_the_in_flight_cap_are_throttled() {
    let mut config = config(3);
    config.faults.max_in_flight = Some(2);
    config.faults.hang_ids = vec!["srv-0001".to_owned(), "srv-0002".to_owned()];
    let simulator = start(config).await;
    // Two hanging requests hold both slots.
    let mut hanging = Vec::new();
    for id in ["srv-0001", "srv-0002"] {
        let call = Call::show(&simulator, id);
        let future = call.timeout(Duration::from_secs(60)).send();
        // Each future borrows the handle; drive them on this task with join below.
        hanging.push(future);
    }
    let hold = futures::future::join_all(hanging);
    let probe = async {
        poll_until(|| (simulator.state().in_flight == 2).then_some(())).await;
        let answer = Call::show(&simulator, "srv-0003").answer().await;
        assert_error(&answer, 429, "APIG.0308");
        let state = simulator.state();
        assert_eq!(state.counters.concurrency_rejections, 1);
        assert_eq!(state.peak_in_flight, 2, "never more than the cap in flight");
        let rejected = simulator
            .requests()
            .into_iter()
            .find(|e| e.fault == Some(InjectedFault::ConcurrencyCap));
        assert!(rejected.is_some());
    };
    tokio::select! {
        _ = hold => panic!("hanging requests were answered"),
        () = probe => {}
    }
    simulator.shutdown().await;
}

#[tokio::test]
async fn hanging_ids_are_never_answered() {
    let mut config = config(3);
    config.faults.hang_ids = vec!["srv-0003".to_owned()];
    let simulator = start(config).await;
    let result = Call::reboot(
        &simulator,
        json!({"items": ["srv-0001", "srv-0003"], "type": "SOFT"}),
    )
    .timeout(Duration::from_millis(300))
    .send()
    .await;
    let error = result.expect_err("a hanging request never answers");
    assert!(error.is_timeout(), "{error}");
    let entry = poll_until(|| {
        simulator
            .requests()
            .into_iter()
            .find(|e| e.fault == Some(InjectedFault::Hang))
    })
    .await;
    assert_eq!(entry.status, None);
    assert_eq!(simulator.reboot_counts()["srv-0001"], 0);
    // The client gave up and closed its connection: the request no longer counts in flight.
    poll_until(|| (simulator.state().in_flight == 0).then_some(())).await;
    // The other ids are still served, and reading the hanging id hangs too.
    assert_eq!(
        Call::show(&simulator, "srv-0001").answer().await.0,
        StatusCode::OK
    );
    let read = Call::show(&simulator, "srv-0003")
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(read.expect_err("hangs").is_timeout());
    // Shutting down releases whatever still hangs.
    simulator.shutdown().await;
}

// ---------------------------------------------------------------- control endpoints and log

#[tokio::test]
async fn control_endpoints_need_no_auth() {
    let simulator = start(config(2)).await;
    let http = reqwest::Client::new();
    let base = simulator.base_url();
    let faults = json!({"throttle": {"first_n": 1}, "latency_ms": 0});
    let put = http
        .put(format!("{base}/_simulator/faults"))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    assert_error(&Call::list(&simulator).answer().await, 429, "APIG.0308");

    let status = http
        .post(format!("{base}/_simulator/servers/srv-0002/status"))
        .json(&json!({"vm_status": "SHUTOFF"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    let missing = http
        .post(format!("{base}/_simulator/servers/nope/status"))
        .json(&json!({"vm_status": "SHUTOFF"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let added = http
        .post(format!("{base}/_simulator/servers"))
        .json(&json!("late-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);

    let state: SimulatorState = http
        .get(format!("{base}/_simulator/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state.project_id, PROJECT);
    assert_eq!(state.server("srv-0002").unwrap().vm_status, "SHUTOFF");
    assert!(state.server("late-server").is_some());
    assert_eq!(state.counters.throttled, 1);

    let log: Vec<RequestLogEntry> = http
        .get(format!("{base}/_simulator/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "control requests are not logged");
    assert_eq!(log[0].status, Some(429));
    simulator.shutdown().await;
}

#[tokio::test]
async fn request_log_file_has_one_json_line_per_request_and_no_secrets() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("requests.jsonl");
    let mut config = config(2);
    config.request_log = Some(path.clone());
    let simulator = start(config).await;
    Call::reboot(&simulator, json!({"items": ["srv-0001"], "type": "HARD"}))
        .answer()
        .await;
    Call::list(&simulator)
        .auth(Auth::Sign {
            access_key: TEMP_AK,
            secret_key: TEMP_SK,
            security_token: Some(SECURITY_TOKEN),
        })
        .answer()
        .await;
    Call::list(&simulator)
        .auth(Auth::Token(IAM_TOKEN))
        .answer()
        .await;
    simulator.shutdown().await;
    let text = std::fs::read_to_string(&path).unwrap();
    for secret in [SK, TEMP_SK, SECURITY_TOKEN, IAM_TOKEN] {
        assert!(!text.contains(secret));
    }
    let entries: Vec<RequestLogEntry> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(entries.len(), 3);
    assert!(entries[0].is_accepted_reboot());
    assert_eq!(entries[0].reboot_type, Some(RebootType::Hard));
    assert_eq!(
        entries[0].items.as_deref(),
        Some(&["srv-0001".to_owned()][..])
    );
    let kinds: Vec<AuthKind> = entries.iter().map(|e| e.auth).collect();
    assert_eq!(
        kinds,
        [
            AuthKind::AkSk,
            AuthKind::AkSkSecurityToken,
            AuthKind::IamToken
        ]
    );
}

// ---------------------------------------------------------------- the real API's shape

/// The SDK-shaped example answers (tests/data/app-server.example.json: every field of Huawei's
/// SDK models in its declared JSON type).
fn sdk_example() -> Value {
    serde_json::from_str(include_str!("data/app-server.example.json")).unwrap()
}

/// The JSON type of `value`; integers and other numbers apart.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every difference in field names and JSON types between `got` and `want`, recursively;
/// each element of a list is held to the example's first element. With `allow_empty`, an
/// empty list in `got` passes (a server that is not frozen has `"freeze": []`).
fn shape_differences(path: &str, got: &Value, want: &Value, allow_empty: bool) -> Vec<String> {
    let mut out = Vec::new();
    if json_type(got) != json_type(want) {
        out.push(format!(
            "{path}: {} where the SDK has {}",
            json_type(got),
            json_type(want)
        ));
        return out;
    }
    match (got, want) {
        (Value::Object(got), Value::Object(want)) => {
            for key in want.keys().filter(|key| !got.contains_key(*key)) {
                out.push(format!("{path}.{key}: missing"));
            }
            for key in got.keys().filter(|key| !want.contains_key(*key)) {
                out.push(format!("{path}.{key}: not in the SDK model"));
            }
            for (key, value) in got {
                if let Some(wanted) = want.get(key) {
                    out.extend(shape_differences(
                        &format!("{path}.{key}"),
                        value,
                        wanted,
                        allow_empty,
                    ));
                }
            }
        }
        (Value::Array(got), Value::Array(want)) => match want.first() {
            Some(template) => {
                if got.is_empty() && !allow_empty {
                    out.push(format!("{path}: empty, so its elements' shape is untested"));
                }
                for (i, element) in got.iter().enumerate() {
                    out.extend(shape_differences(
                        &format!("{path}[{i}]"),
                        element,
                        template,
                        allow_empty,
                    ));
                }
            }
            None => out.push(format!("{path}: the example list is empty")),
        },
        _ => {}
    }
    out
}

#[tokio::test]
async fn show_and_list_answers_have_the_sdk_models_fields_and_types() {
    let example = sdk_example();
    let show_example = &example["GET /v1/{project_id}/app-servers/{server_id}"];
    let list_example = &example["GET /v1/{project_id}/app-servers"];
    let mut config = config(1);
    // A frozen, tagged server fills every list, so every element's shape is compared.
    let mut full = ServerSpec::with_id("full").in_group("sg-shape").frozen();
    full.tags.insert("department".into(), "finance".into());
    full.session_count = 2;
    config.servers = vec![full];
    let simulator = start(config).await;

    let (status, _, show) = Call::show(&simulator, "full").answer().await;
    assert_eq!(status, StatusCode::OK, "{show}");
    let differences = shape_differences("show", &show, show_example, false);
    assert!(differences.is_empty(), "{differences:#?}");
    let (status, _, list) = Call::list(&simulator)
        .query("server_id", "full")
        .answer()
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let differences = shape_differences("list", &list, list_example, false);
    assert!(differences.is_empty(), "{differences:#?}");

    // A plain server differs only by its empty lists (`freeze`, `tags`).
    let (_, _, plain_show) = Call::show(&simulator, "srv-0001").answer().await;
    let differences = shape_differences("show", &plain_show, show_example, true);
    assert!(differences.is_empty(), "{differences:#?}");
    assert_eq!(plain_show["freeze"], json!([]));
    let (_, _, plain_list) = Call::list(&simulator)
        .query("server_id", "srv-0001")
        .answer()
        .await;
    let differences = shape_differences("list", &plain_list, list_example, true);
    assert!(differences.is_empty(), "{differences:#?}");

    // And the client's decoding reads the simulator's state out of them.
    let decoded: AppServer = serde_json::from_value(show.clone()).unwrap();
    assert_eq!(decoded.server_group_id.as_deref(), Some("sg-shape"));
    assert_eq!(decoded.status.as_deref(), Some("FREEZE"));
    assert_eq!(decoded.session_count, Some(2));
    assert!(decoded.is_frozen());
    assert!(readiness::assess(&decoded).is_dead_end());
    let plain: AppServer = serde_json::from_value(plain_show).unwrap();
    assert_eq!(readiness::assess(&plain), Condition::Up);
    simulator.shutdown().await;
}

/// `2024-03-07T10:40:43.858Z`: date, `T`, time, exactly three fraction digits, `Z`.
fn is_api_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits =
        |range: std::ops::Range<usize>| range.into_iter().all(|i| bytes[i].is_ascii_digit());
    bytes.len() == 24
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19)
        && bytes[19] == b'.'
        && digits(20..23)
        && bytes[23] == b'Z'
}

#[tokio::test]
async fn timestamps_are_utc_with_milliseconds() {
    let mut config = config(1);
    config.reboot = phase_timing(0, 3_600_000);
    let simulator = start(config).await;
    Call::reboot(&simulator, json!({"items": ["srv-0001"], "type": "SOFT"}))
        .answer()
        .await;
    let (_, _, show) = Call::show(&simulator, "srv-0001").answer().await;
    for field in ["create_time", "update_time", "job_time"] {
        let text = show[field].as_str().unwrap();
        assert!(is_api_timestamp(text), "{field} = {text}");
    }
    assert!(is_api_timestamp(
        show["product_info"]["expire_time"].as_str().unwrap()
    ));
    assert!(!is_api_timestamp("2024-03-07T10:40:43Z"));
    assert!(!is_api_timestamp("2024-03-07T10:40:43.858+00:00"));
    simulator.shutdown().await;
}

#[tokio::test]
async fn the_agent_registers_only_after_the_vm_is_back() {
    let mut config = config(2);
    // The VM is back at once; the agent takes (far) longer than the test.
    config.reboot = RebootTiming {
        pending_ms: 0,
        rebooting_ms: 0,
        registering_ms: 3_600_000,
    };
    let simulator = start(config).await;
    Call::reboot(&simulator, json!({"items": ["srv-0001"], "type": "SOFT"}))
        .answer()
        .await;
    let server = show(&simulator, "srv-0001").await;
    assert_eq!(
        (
            server.status.as_deref(),
            server.vm_status.as_deref(),
            server.task_status.as_deref()
        ),
        (Some("UNREGISTER"), Some("ACTIVE"), Some("null"))
    );
    assert_eq!(
        simulator.server("srv-0001").unwrap().phase,
        RebootPhase::Registering
    );
    match readiness::assess(&server) {
        Condition::Pending { reason } => assert!(reason.contains("UNREGISTER"), "{reason}"),
        other => panic!("not pending: {other:?}"),
    }
    // The other server was never rebooted.
    assert_eq!(
        readiness::assess(&show(&simulator, "srv-0002").await),
        Condition::Up
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn frozen_servers_read_freeze_and_refuse_reboots_until_unfrozen() {
    let mut config = config(3);
    config.reboot = phase_timing(3_600_000, 0);
    config.servers = vec![ServerSpec::with_id("cold").frozen()];
    let simulator = start(config).await;
    let cold = show(&simulator, "cold").await;
    assert_eq!(cold.status.as_deref(), Some("FREEZE"));
    assert_eq!(cold.freeze.len(), 1);
    assert_eq!(cold.freeze[0].scene.as_deref(), Some("ARREAR"));

    let refused = Call::reboot(
        &simulator,
        json!({"items": ["srv-0001", "cold"], "type": "SOFT"}),
    )
    .answer()
    .await;
    assert_error(&refused, 400, "WKS.00211102");
    assert!(
        refused.2["error_msg"].as_str().unwrap().contains("cold"),
        "{}",
        refused.2
    );
    assert_eq!(
        simulator.reboot_counts()["srv-0001"],
        0,
        "no server of it rebooted"
    );

    // Frozen at runtime through the handle, and over the control endpoint.
    simulator.freeze_server("srv-0002").unwrap();
    let http = reqwest::Client::new();
    let frozen = http
        .post(format!(
            "{}/_simulator/servers/srv-0003/status",
            simulator.base_url()
        ))
        .json(&json!({"freeze": [{"effect": 2, "scene": "POLICE"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(frozen.status(), StatusCode::NO_CONTENT);
    for id in ["srv-0002", "srv-0003"] {
        let server = show(&simulator, id).await;
        assert!(readiness::assess(&server).is_dead_end(), "{server:?}");
    }
    assert_eq!(
        simulator.server("srv-0003").unwrap().freeze,
        vec![FreezeEntry {
            effect: 2,
            scene: "POLICE".into()
        }]
    );

    simulator.repair_server("cold").unwrap();
    let accepted = Call::reboot(&simulator, json!({"items": ["cold"], "type": "SOFT"}))
        .answer()
        .await;
    assert_eq!(accepted.0, StatusCode::OK, "{}", accepted.2);
    assert_eq!(simulator.reboot_counts()["cold"], 1);
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_reboot_can_end_in_a_dead_end() {
    let mut config = config(2);
    config.reboot = phase_timing(0, 0);
    let simulator = start(config).await;
    simulator.set_error_after_reboot(&["srv-0002"]);
    Call::reboot(
        &simulator,
        json!({"items": ["srv-0001", "srv-0002"], "type": "SOFT"}),
    )
    .answer()
    .await;
    let broken = show(&simulator, "srv-0002").await;
    match readiness::assess(&broken) {
        Condition::DeadEnd { reason } => {
            assert!(reason.contains("vm_status ERROR"), "{reason}");
            assert!(reason.contains("status NONE"), "{reason}");
        }
        other => panic!("not a dead end: {other:?}"),
    }
    assert_eq!(
        readiness::assess(&show(&simulator, "srv-0001").await),
        Condition::Up
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn list_filters_count_every_match_and_groups_scale() {
    // 2,500 servers in 25 groups of 100, plus named ones.
    let mut config = config(0);
    for group in 0..25 {
        config = config.with_group(format!("group-{group:02}"), 100);
    }
    config.servers = vec![
        ServerSpec::with_id("alpha")
            .named("finance-alpha")
            .in_group("group-00"),
        ServerSpec::with_id("beta")
            .named("finance-beta")
            .in_maintenance(),
        ServerSpec::with_id("gamma").named("sales-gamma"),
    ];
    let simulator = start(config).await;
    assert_eq!(simulator.state().servers.len(), 2_503);

    let first = list_of(Call::list(&simulator).query("limit", "1")).await;
    assert_eq!(
        (first.count, first.items.len()),
        (2_503, 1),
        "count ignores paging"
    );
    let group = list_of(
        Call::list(&simulator)
            .query("server_group_id", "group-00")
            .query("limit", "100"),
    )
    .await;
    assert_eq!((group.count, group.items.len()), (101, 100));
    assert!(group
        .items
        .iter()
        .all(|s| s.server_group_id.as_deref() == Some("group-00")));
    let rest = list_of(
        Call::list(&simulator)
            .query("server_group_id", "group-00")
            .query("offset", "100")
            .query("limit", "100"),
    )
    .await;
    assert_eq!((rest.count, rest.items.len()), (101, 1));
    let other = list_of(
        Call::list(&simulator)
            .query("server_group_id", "group-24")
            .query("limit", "1"),
    )
    .await;
    assert_eq!(other.count, 100);
    assert_eq!(other.items[0].id, "srv-2401");

    let finance = list_of(Call::list(&simulator).query("server_name", "finance")).await;
    let mut ids: Vec<&str> = finance.items.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!((finance.count, ids), (2, vec!["alpha", "beta"]));
    let maintained = list_of(Call::list(&simulator).query("maintain_status", "true")).await;
    assert_eq!(maintained.count, 1);
    assert_eq!(maintained.items[0].id, "beta");
    assert_eq!(maintained.items[0].status.as_deref(), Some("MAINTAINING"));
    assert_eq!(
        readiness::assess(&maintained.items[0]),
        Condition::Up,
        "MAINTAINING in maintenance mode is up"
    );
    let not_maintained = list_of(
        Call::list(&simulator)
            .query("maintain_status", "false")
            .query("limit", "1"),
    )
    .await;
    assert_eq!(not_maintained.count, 2_502);
    let combined = list_of(
        Call::list(&simulator)
            .query("server_name", "finance")
            .query("server_group_id", "group-00"),
    )
    .await;
    assert_eq!(combined.count, 1);

    for limit in ["0", "101", "1000"] {
        let answer = Call::list(&simulator).query("limit", limit).answer().await;
        assert_error(&answer, 400, "WKS.00211102");
        let message = answer.2["error_msg"].as_str().unwrap();
        assert!(message.contains("limit"), "{message}");
        assert!(
            answer.2.get("request_id").is_none(),
            "a service error: {}",
            answer.2
        );
    }
    let at_most = list_of(Call::list(&simulator).query("limit", "100")).await;
    assert_eq!(at_most.items.len(), 100);

    // Groups grow at runtime too.
    let added = simulator.add_group("group-late", 3);
    assert_eq!(added.len(), 3);
    let late = list_of(Call::list(&simulator).query("server_group_id", "group-late")).await;
    assert_eq!(late.count, 3);
    assert_eq!(simulator.request_count(Operation::ListServers), 13);
    simulator.shutdown().await;
}

#[tokio::test]
async fn the_quota_is_per_api_and_answers_429_with_the_gateways_body() {
    let mut config = config(1);
    // Three requests a minute: the bucket cannot refill a whole token during the test.
    config.faults.quota = Some(QuotaFault::per_minute(3));
    let simulator = start(config).await;
    for _ in 0..3 {
        assert_eq!(Call::list(&simulator).answer().await.0, StatusCode::OK);
    }
    let throttled = Call::list(&simulator).answer().await;
    assert_error(&throttled, 429, "APIG.0308");
    assert_eq!(
        throttled.2["error_msg"],
        "The throttling threshold has been reached: policy user over ratelimit,limit:3,time:1 minute"
    );
    assert_eq!(throttled.2["request_id"], request_id(&throttled.1));
    // Another API has a bucket of its own.
    assert_eq!(
        Call::show(&simulator, "srv-0001").answer().await.0,
        StatusCode::OK
    );
    // Every credential of the account shares the bucket of an API.
    let by_token = Call::list(&simulator)
        .auth(Auth::Token(IAM_TOKEN))
        .answer()
        .await;
    assert_error(&by_token, 429, "APIG.0308");
    // An unauthenticated request is refused before it reaches the quota.
    let anonymous = Call::list(&simulator).auth(Auth::None).answer().await;
    assert_eq!(anonymous.0, StatusCode::UNAUTHORIZED);

    let log = simulator.requests();
    let quota_hits = log
        .iter()
        .filter(|entry| entry.fault == Some(InjectedFault::Quota))
        .count();
    assert_eq!(quota_hits, 2);
    assert_eq!(simulator.state().counters.quota_rejections, 2);
    // Counted per API by the client's names, 429s apart.
    assert_eq!(
        simulator.requests_by_api(),
        BTreeMap::from([
            ("list-servers".to_owned(), 6),
            ("show-server".to_owned(), 1)
        ])
    );
    assert_eq!(
        simulator.throttled_by_api(),
        BTreeMap::from([("list-servers".to_owned(), 2)])
    );

    // Lifted through the control endpoint (full buckets of 1 per second).
    let http = reqwest::Client::new();
    let put = http
        .put(format!("{}/_simulator/quota", simulator.base_url()))
        .json(&json!({"limit": 1, "period_secs": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        simulator.faults().quota,
        Some(QuotaFault::per_second(1)),
        "per API unless told otherwise"
    );
    assert_eq!(Call::list(&simulator).answer().await.0, StatusCode::OK);
    simulator.set_quota(None);
    for _ in 0..5 {
        assert_eq!(Call::list(&simulator).answer().await.0, StatusCode::OK);
    }
    assert_eq!(simulator.faults().quota, None);
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_quota_per_account_is_shared_by_every_api() {
    let mut config = config(1);
    config.faults.quota = Some(QuotaFault::per_minute(3).per_account());
    let simulator = start(config).await;
    for _ in 0..2 {
        assert_eq!(Call::list(&simulator).answer().await.0, StatusCode::OK);
    }
    assert_eq!(
        Call::show(&simulator, "srv-0001").answer().await.0,
        StatusCode::OK
    );
    // The account's bucket is empty, whatever the API.
    assert_error(
        &Call::show(&simulator, "srv-0001").answer().await,
        429,
        "APIG.0308",
    );
    let reboot = Call::reboot(&simulator, json!({"items": ["srv-0001"], "type": "SOFT"}))
        .answer()
        .await;
    assert_error(&reboot, 429, "APIG.0308");
    assert_eq!(simulator.reboot_counts()["srv-0001"], 0);
    assert_eq!(
        simulator.throttled_by_api(),
        BTreeMap::from([
            ("batch-reboot".to_owned(), 1),
            ("show-server".to_owned(), 1)
        ])
    );
    // The JSON form names the scope.
    let faults: Value = reqwest::get(format!("{}/_simulator/faults", simulator.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["quota"]["per_api"], json!(false));
    simulator.shutdown().await;
}

#[tokio::test]
async fn busy_servers_answer_409_the_set_number_of_times_then_accept() {
    let mut config = config(3);
    config.faults = serde_json::from_value(json!({
        "busy_ids": {"ids": ["srv-0001", "srv-0002"], "times": 2}
    }))
    .unwrap();
    let simulator = start(config).await;
    let reboot = |ids: Value| Call::reboot(&simulator, json!({"items": ids, "type": "SOFT"}));
    // A batch naming one busy server is refused as a whole, in the service's words.
    let busy = reboot(json!(["srv-0001", "srv-0003"])).answer().await;
    assert_error(&busy, 409, "WKS.00211409");
    let message = busy.2["error_msg"].as_str().unwrap();
    assert!(
        message.contains("busy") && message.contains("srv-0001"),
        "{message}"
    );
    assert!(!message.contains("srv-0003"), "{message}");
    assert!(
        busy.2.get("request_id").is_none(),
        "a service error: {}",
        busy.2
    );
    assert_eq!(simulator.reboot_counts()["srv-0003"], 0);
    // batch-maint counts too: srv-0001's second and last 409, srv-0002's first.
    let mut maint = Call::new(&simulator, Method::PATCH, path_of("maint"));
    maint.body =
        Some(json!({"items": ["srv-0001", "srv-0002"], "maintain_status": true}).to_string());
    assert_error(&maint.answer().await, 409, "WKS.00211409");
    assert!(!simulator.server("srv-0001").unwrap().maintain_status);
    let second = reboot(json!(["srv-0001", "srv-0002"])).answer().await;
    assert_error(&second, 409, "WKS.00211409");
    let named = second.2["error_msg"].as_str().unwrap();
    assert!(
        named.contains("srv-0002") && !named.contains("srv-0001"),
        "{named}"
    );
    // Both have had their 409s: accepted.
    let accepted = reboot(json!(["srv-0001", "srv-0002", "srv-0003"]))
        .answer()
        .await;
    assert_eq!(accepted.0, StatusCode::OK, "{}", accepted.2);
    assert_eq!(
        simulator.reboot_counts(),
        BTreeMap::from([
            ("srv-0001".to_owned(), 1),
            ("srv-0002".to_owned(), 1),
            ("srv-0003".to_owned(), 1)
        ])
    );
    assert_eq!(simulator.state().counters.busy_rejections, 3);
    let faults: Vec<Option<InjectedFault>> = simulator.requests().iter().map(|r| r.fault).collect();
    assert_eq!(
        faults,
        [
            Some(InjectedFault::Busy),
            Some(InjectedFault::Busy),
            Some(InjectedFault::Busy),
            None
        ]
    );
    assert_eq!(
        simulator.requests_by_api(),
        BTreeMap::from([
            ("batch-maint".to_owned(), 1),
            ("batch-reboot".to_owned(), 3)
        ])
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn lists_can_leave_out_count() {
    let mut config = config(3);
    config.sessions = SessionConfig {
        per_server: 1,
        ..SessionConfig::default()
    };
    config.faults.list_without_count = true;
    let simulator = start(config).await;
    let (status, _, servers) = Call::list(&simulator).query("limit", "2").answer().await;
    assert_eq!(status, StatusCode::OK);
    assert!(servers.get("count").is_none(), "{servers}");
    assert_eq!(servers["items"].as_array().map(Vec::len), Some(2));
    let (_, _, groups) = Call::new(&simulator, Method::GET, path_of("groups"))
        .answer()
        .await;
    assert!(groups.get("count").is_none(), "{groups}");
    assert_eq!(groups["items"].as_array().map(Vec::len), Some(1));
    let (_, _, sessions) = window_call(&simulator).answer().await;
    assert!(sessions.get("count").is_none(), "{sessions}");
    assert_eq!(sessions["items"].as_array().map(Vec::len), Some(3));
    // Turned off at runtime: `count` is back.
    simulator.set_faults(Faults::default());
    let (_, _, servers) = Call::list(&simulator).query("limit", "2").answer().await;
    assert_eq!(servers["count"], json!(3));
    simulator.shutdown().await;
}

#[tokio::test]
async fn the_timeline_ends_with_the_requests_per_api() {
    let mut config = config(2);
    config.faults.quota = Some(QuotaFault::per_minute(1));
    let simulator = start(config).await;
    let http = reqwest::Client::new();
    let timeline = |simulator: &SimulatorHandle| {
        http.get(format!("{}/_simulator/timeline", simulator.base_url()))
            .send()
    };
    let before = timeline(&simulator).await.unwrap().text().await.unwrap();
    assert!(before.ends_with("requests by API: none\n"), "{before}");
    assert_eq!(Call::list(&simulator).answer().await.0, StatusCode::OK);
    assert_eq!(Call::list(&simulator).answer().await.0.as_u16(), 429);
    let reboot = Call::reboot(&simulator, json!({"items": ["srv-0001"], "type": "SOFT"}))
        .answer()
        .await;
    assert_eq!(reboot.0, StatusCode::OK);
    let after = timeline(&simulator).await.unwrap().text().await.unwrap();
    assert!(
        after.ends_with("requests by API: batch-reboot 1 · list-servers 2 (429: 1)\n"),
        "{after}"
    );
    // The state carries the same counters.
    let state = simulator.state();
    assert_eq!(state.counters.requests_by_api["list-servers"], 2);
    assert_eq!(state.counters.throttled_by_api["list-servers"], 1);
    simulator.shutdown().await;
}

// ---------------------------------------------------------------- the binary

#[tokio::test]
async fn binary_prints_the_listening_line_and_serves_until_sigterm() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_workspace-simulator"))
        .args([
            "--servers",
            "2",
            "--project-id",
            PROJECT,
            "--access-key",
            AK,
            "--token",
            IAM_TOKEN,
            "--group",
            "sg-flag=3",
            "--frozen-id",
            "srv-0001",
            "--error-after-reboot-id",
            "srv-0002",
            "--pending-ms",
            "10",
            "--rebooting-ms",
            "20",
            "--registering-ms",
            "30",
            "--quota",
            "1000",
            "--quota-period-secs",
            "60",
        ])
        .env("SIMULATOR_SECRET_KEY", SK)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let first = lines.next_line().await.unwrap().expect("a first line");
    let base_url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    assert!(base_url.starts_with("http://127.0.0.1:"));

    let http = reqwest::Client::new();
    let answer = http
        .get(format!(
            "{base_url}{}",
            wire::server_path(PROJECT, "srv-0002")
        ))
        .header("X-Auth-Token", IAM_TOKEN)
        .header("X-Project-Id", PROJECT)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let server: AppServer = answer.json().await.unwrap();
    assert_eq!(server.id, "srv-0002");
    let unauthenticated = http
        .get(format!("{base_url}{}", wire::servers_path(PROJECT)))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let state: SimulatorState = http
        .get(format!("{base_url}/_simulator/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let in_group: Vec<&str> = state
        .servers
        .iter()
        .filter(|server| server.server_group_id == "sg-flag")
        .map(|server| server.id.as_str())
        .collect();
    assert_eq!(in_group, ["srv-0003", "srv-0004", "srv-0005"]);
    assert_eq!(state.server("srv-0001").unwrap().status, "FREEZE");
    assert_eq!(state.faults.error_after_reboot_ids, ["srv-0002"]);
    assert_eq!(state.faults.quota, Some(QuotaFault::per_minute(1000)));
    assert_eq!(
        state.reboot_timing,
        RebootTiming {
            pending_ms: 10,
            rebooting_ms: 20,
            registering_ms: 30
        }
    );

    let pid = child.id().expect("still running").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = child.wait().await.unwrap();
    assert!(status.success(), "exits cleanly on SIGTERM: {status:?}");
}

// ---------------------------------------------------------------- fleet calls (issue 9)

fn path_of(kind: &str) -> String {
    match kind {
        "groups" => wire::server_groups_path(PROJECT),
        "sessions" => wire::list_sessions_path(PROJECT),
        "logoff" => wire::logoff_path(PROJECT),
        "maint" => wire::batch_maint_path(PROJECT),
        other => panic!("unknown kind {other}"),
    }
}

fn window_call<'a>(simulator: &'a SimulatorHandle) -> Call<'a> {
    let now = OffsetDateTime::now_utc();
    Call::new(simulator, Method::GET, path_of("sessions"))
        .query(
            "query_begin_time",
            &wire::format_api_time(now - time::Duration::days(30)),
        )
        .query(
            "query_end_time",
            &wire::format_api_time(now + time::Duration::seconds(1)),
        )
}

#[tokio::test]
async fn group_and_session_answers_have_the_sdk_models_fields_and_types() {
    let example = sdk_example();
    let mut config = config(0);
    config.server_groups = vec![ServerGroupSpec {
        id: "g1".into(),
        name: Some("Finance".into()),
        server_count: 2,
    }];
    config.sessions = SessionConfig {
        per_server: 3,
        ..SessionConfig::default()
    };
    let simulator = start(config).await;

    let (status, _, groups) = Call::new(&simulator, Method::GET, path_of("groups"))
        .answer()
        .await;
    assert_eq!(status, StatusCode::OK, "{groups}");
    let differences = shape_differences(
        "groups",
        &groups,
        &example["GET /v1/{project_id}/app-server-groups"],
        true,
    );
    assert!(differences.is_empty(), "{differences:#?}");
    assert_eq!(groups["count"], json!(1));
    assert_eq!(groups["items"][0]["name"], json!("Finance"));
    assert_eq!(groups["items"][0]["app_server_count"], json!(2));

    let (status, _, sessions) = window_call(&simulator).answer().await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    let differences = shape_differences(
        "sessions",
        &sessions,
        &example["GET /v1/{project_id}/session/list-sessions"],
        false,
    );
    assert!(differences.is_empty(), "{differences:#?}");
    assert_eq!(sessions["count"], json!(6));
    assert_eq!(sessions["items"].as_array().map(Vec::len), Some(6));
    let first = &sessions["items"][0];
    assert_eq!(first["app_server_group_id"], json!("g1"));
    assert_eq!(first["app_server_group_name"], json!("Finance"));
    assert!(is_api_timestamp(first["start_time"].as_str().unwrap()));
    // The servers show their group's name and their sessions.
    let (_, _, server) = Call::show(&simulator, "srv-0001").answer().await;
    assert_eq!(server["server_group_name"], json!("Finance"));
    assert_eq!(server["session_count"], json!(3));

    // The client's decoding reads them.
    let decoded: wire::ListSessionsResponse = serde_json::from_value(sessions).unwrap();
    assert_eq!(decoded.count, 6);
    assert_eq!(
        decoded.items[0].machine_name.as_deref(),
        Some("APP-SERVER-0001")
    );
    let decoded: wire::ListServerGroupsResponse = serde_json::from_value(groups).unwrap();
    assert_eq!(decoded.items[0].app_server_count, Some(2));
    simulator.shutdown().await;
}

#[tokio::test]
async fn list_sessions_requires_its_window_and_honours_filters_and_paging() {
    let mut config = config(3);
    config.sessions = SessionConfig {
        per_server: 5,
        ..SessionConfig::default()
    };
    let simulator = start(config).await;
    let missing_end = Call::new(&simulator, Method::GET, path_of("sessions"))
        .query("query_begin_time", "2024-02-27T03:47:51.182Z")
        .answer()
        .await;
    assert_error(&missing_end, 400, "WKS.00211102");
    assert!(missing_end.2["error_msg"]
        .as_str()
        .unwrap()
        .contains("query_end_time"));
    let nothing = Call::new(&simulator, Method::GET, path_of("sessions"))
        .answer()
        .await;
    assert_error(&nothing, 400, "WKS.00211102");
    let garbled = Call::new(&simulator, Method::GET, path_of("sessions"))
        .query("query_begin_time", "yesterday")
        .query("query_end_time", "today")
        .answer()
        .await;
    assert_error(&garbled, 400, "WKS.00211102");

    let (_, _, page) = window_call(&simulator)
        .query("limit", "4")
        .query("offset", "12")
        .answer()
        .await;
    assert_eq!(page["count"], json!(15));
    assert_eq!(page["items"].as_array().map(Vec::len), Some(3));
    let (_, _, one_server) = window_call(&simulator)
        .query("machine_name", "app-server-0002")
        .answer()
        .await;
    assert_eq!(one_server["count"], json!(5));
    let (_, _, disconnected) = window_call(&simulator)
        .query("session_state", "Disconnected")
        .answer()
        .await;
    let (_, _, open) = window_call(&simulator)
        .query("session_state", "Active,Disconnected")
        .answer()
        .await;
    assert_eq!(open["count"], json!(15));
    let disconnected_count = disconnected["count"].as_u64().unwrap();
    assert!(disconnected_count > 0 && disconnected_count < 15);
    assert_error(
        &window_call(&simulator).query("limit", "101").answer().await,
        400,
        "WKS.00211102",
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn maintenance_bodies_are_validated_and_the_single_patch_works() {
    let simulator = start(config(3)).await;
    let maint = |body: Value| {
        let mut call = Call::new(&simulator, Method::PATCH, path_of("maint"));
        call.body = Some(body.to_string());
        call
    };
    let too_many: Vec<String> = (0..21).map(|n| format!("s{n}")).collect();
    for bad in [
        json!({"items": ["srv-0001"]}),
        json!({"items": ["srv-0001"], "maintain_status": "yes"}),
        json!({"items": [], "maintain_status": true}),
        json!({"items": too_many, "maintain_status": true}),
        json!({"items": ["srv-0001", "srv-0001"], "maintain_status": true}),
        json!({"maintain_status": true}),
    ] {
        assert_error(&maint(bad.clone()).answer().await, 400, "WKS.00211102");
    }
    let (status, _, _) = maint(json!({"items": ["srv-0001", "srv-0002"], "maintain_status": true}))
        .answer()
        .await;
    assert_eq!(status, StatusCode::OK);
    let maintained = simulator.server("srv-0001").unwrap();
    assert!(maintained.maintain_status);
    assert_eq!(maintained.status, "MAINTAINING");
    let unknown = maint(json!({"items": ["srv-0003", "ghost"], "maintain_status": true}))
        .answer()
        .await;
    assert_eq!(unknown.0.as_u16(), 404);
    assert!(!simulator.server("srv-0003").unwrap().maintain_status);

    let mut single = Call::new(
        &simulator,
        Method::PATCH,
        wire::server_path(PROJECT, "srv-0001"),
    );
    single.body = Some(json!({"maintain_status": false}).to_string());
    let (status, _, server) = single.answer().await;
    assert_eq!(status, StatusCode::OK, "{server}");
    assert_eq!(server["maintain_status"], json!(false));
    assert_eq!(server["status"], json!("REGISTERED"));
    let report = simulator.fleet_report();
    let changes: Vec<bool> = report
        .server("srv-0001")
        .unwrap()
        .maintenance
        .iter()
        .map(|c| c.maintain_status)
        .collect();
    assert_eq!(changes, [true, false]);
    assert_eq!(simulator.request_count(Operation::BatchMaint), 8);
    assert_eq!(simulator.request_count(Operation::UpdateServer), 1);
    simulator.shutdown().await;
}

#[tokio::test]
async fn logoff_bodies_are_validated_and_unknown_sessions_ignored() {
    let mut config = config(1);
    config.sessions = SessionConfig {
        per_server: 1,
        logoff_second_ms: 1,
        ..SessionConfig::default()
    };
    let simulator = start(config).await;
    let logoff = |body: Value| {
        let mut call = Call::new(&simulator, Method::POST, path_of("logoff"));
        call.body = Some(body.to_string());
        call
    };
    let too_many: Vec<String> = (0..1_000).map(|n| format!("s{n}")).collect();
    for bad in [
        json!({"session_ids": ["a"], "delay_time": 0}),
        json!({"session_ids": ["a"], "message_type": 5, "delay_time": 0}),
        json!({"session_ids": ["a"], "message_type": 0}),
        json!({"session_ids": ["a"], "message_type": 0, "delay_time": 1_000_000}),
        json!({"session_ids": [], "message_type": 0, "delay_time": 0}),
        json!({"session_ids": too_many, "message_type": 0, "delay_time": 0}),
        json!({"session_ids": [""], "message_type": 0, "delay_time": 0}),
        json!({"message_type": 0, "delay_time": 0}),
    ] {
        assert_error(&logoff(bad.clone()).answer().await, 400, "WKS.00211102");
    }
    let (status, _, _) =
        logoff(json!({"session_ids": ["gone"], "message_type": 0, "delay_time": 0}))
            .answer()
            .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, sessions) = window_call(&simulator).answer().await;
    let id = sessions["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, _, _) = logoff(json!({
        "session_ids": [id], "message_type": 2, "title": "T", "message": "M", "delay_time": 3
    }))
    .answer()
    .await;
    assert_eq!(status, StatusCode::OK);
    let report = poll_until(|| {
        let report = simulator.fleet_report();
        (report.sessions_open == 0).then_some(report)
    })
    .await;
    assert_eq!(report.sessions_logged_off, 1);
    let messages = &report.server("srv-0001").unwrap().logoff_messages;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].session_id, id);
    assert_eq!((messages[0].message_type, messages[0].delay_time), (2, 3));
    simulator.shutdown().await;
}

#[tokio::test]
async fn fleet_and_session_control_endpoints() {
    let mut config = config(2);
    config.sessions = SessionConfig {
        per_server: 1,
        ..SessionConfig::default()
    };
    let simulator = start(config).await;
    let http = reqwest::Client::new();
    let base = simulator.base_url();
    let fleet: Value = http
        .get(format!("{base}/_simulator/fleet"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fleet["sessions_open"], json!(2));
    assert_eq!(fleet["max_unavailable"], json!(0));
    let put = http
        .put(format!("{base}/_simulator/sessions"))
        .json(&json!({"per_server": 0, "arrival_ms": 1, "max_per_server": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let rules: SessionConfig = http
        .get(format!("{base}/_simulator/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((rules.arrival_ms, rules.max_per_server), (Some(1), 2));
    poll_until(|| (simulator.fleet_report().sessions_open == 4).then_some(())).await;
    let added = http
        .post(format!("{base}/_simulator/groups"))
        .json(&json!({"id": "g-new", "name": "New group", "server_count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);
    let (_, _, groups) = Call::new(&simulator, Method::GET, path_of("groups"))
        .query("server_group_name", "New")
        .answer()
        .await;
    assert_eq!(groups["count"], json!(1));
    assert_eq!(groups["items"][0]["id"], json!("g-new"));
    let state: SimulatorState = http
        .get(format!("{base}/_simulator/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state.fleet.servers.len(), 3);
    simulator.shutdown().await;
}
