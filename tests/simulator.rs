//! The workspace simulator over real HTTP: requests are crafted with raw reqwest and the shared
//! signing code, then checked against the simulator's answers, state and request log.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use tfws::workspace::signing::{self, RequestToSign, Signer};
use tfws::workspace::simulator::{
    authenticate, AuthError, AuthKind, CredentialsConfig, FailingIdsFault, FaultScope, Faults,
    InjectedFault, Operation, RebootPhase, RebootTiming, ReceivedRequest, RequestLogEntry,
    ServerErrorFault, ServerSpec, Simulator, SimulatorConfig, SimulatorHandle, SimulatorState,
    StatusOverride, ThrottleFault,
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
    config.reboot = phase_timing(40, 40);
    let simulator = start(config).await;
    let before = show(&simulator, "srv-0002").await;
    let answer = Call::reboot(
        &simulator,
        json!({"items": ["srv-0002", "srv-0003"], "type": "HARD"}),
    )
    .answer()
    .await;
    assert_eq!(answer.0, StatusCode::OK);
    let order = ["reboot_pending", "rebooting_hard", "null"];
    let mut seen: Vec<String> = Vec::new();
    let mut last_update = before.update_time.clone();
    for _ in 0..POLL_ROUNDS {
        let server = show(&simulator, "srv-0002").await;
        let task = server.task_status.clone().unwrap();
        assert!(
            order.contains(&task.as_str()),
            "unexpected task_status {task}"
        );
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
        if seen.last() != Some(&task) {
            seen.push(task.clone());
        }
        if task == "null" {
            break;
        }
        tokio::time::sleep(POLL_PAUSE).await;
    }
    assert_eq!(
        seen.last().map(String::as_str),
        Some("null"),
        "the reboot finished"
    );
    let positions: Vec<usize> = seen
        .iter()
        .map(|task| order.iter().position(|o| o == task).unwrap())
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
        assert_error(&answer, 429, "APIGW.0308");
        assert_eq!(
            answer.2["error_msg"],
            "The throttling threshold has been reached: policy user over ratelimit,limit:200,time:5 minute"
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
    assert_error(&throttled, 429, "APIGW.0308");
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
        assert_error(&answer, 429, "APIGW.0308");
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
    assert_error(&Call::list(&simulator).answer().await, 429, "APIGW.0308");

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
