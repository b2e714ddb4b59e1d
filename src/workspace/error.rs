//! Typed errors of the Workspace client. No variant ever carries a secret: request headers are
//! never copied into an error, and a gateway echo of the canonical request has its
//! `x-security-token` value redacted.

use std::fmt;
use std::time::Duration;

use crate::workspace::endpoint::EndpointError;
use crate::workspace::wire::ErrorBody;

/// Error code of the gateway's "signature mismatch" answer (HTTP 401).
pub const SIGNATURE_MISMATCH_CODE: &str = "APIGW.0301";
/// Error code of the gateway's throttling answer (HTTP 429).
pub const THROTTLED_CODE: &str = "APIGW.0308";

const REDACTED: &str = "<redacted>";
const METHODS: [&str; 7] = ["GET", "PATCH", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"];

/// An HTTP error answer of the service or its gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// `error_code` (or a fallback field); `None` when the body carried none.
    pub error_code: Option<String>,
    /// `error_msg` (or a fallback field); the raw body text, shortened, when nothing parsed.
    pub error_msg: String,
    /// From the `X-Request-Id` header, else from the body.
    pub request_id: Option<String>,
    /// For `APIGW.0301`: the canonical request the gateway computed (its `|` turned back into
    /// newlines), to compare with ours.
    pub gateway_canonical_request: Option<String>,
}

/// Longest raw body text kept in an error when the body is not a known error shape.
const MAX_RAW_BODY_CHARS: usize = 512;

impl ApiError {
    /// Build from an error response: status, `X-Request-Id` header value, body bytes.
    pub fn from_response(status: u16, request_id_header: Option<&str>, body: &[u8]) -> ApiError {
        let parsed = ErrorBody::parse(body);
        let (error_code, error_msg, body_request_id) = match parsed {
            Some(b) => (
                Some(b.error_code).filter(|c| !c.is_empty()),
                b.error_msg,
                b.request_id,
            ),
            None => {
                let text = String::from_utf8_lossy(body);
                let trimmed = text.trim();
                let mut short: String = trimmed.chars().take(MAX_RAW_BODY_CHARS).collect();
                if short.len() < trimmed.len() {
                    short.push('…');
                }
                (None, short, None)
            }
        };
        let error_msg = redact_security_token(&error_msg, '|');
        let gateway_canonical_request = if error_code.as_deref() == Some(SIGNATURE_MISMATCH_CODE) {
            extract_canonical_request(&error_msg)
        } else {
            None
        };
        ApiError {
            status,
            error_code,
            error_msg,
            request_id: request_id_header
                .map(str::to_string)
                .filter(|r| !r.is_empty())
                .or(body_request_id),
            gateway_canonical_request,
        }
    }

    /// 429 and 500/502/503/504 are worth retrying; other statuses are not.
    pub fn is_retryable(&self) -> bool {
        matches!(self.status, 429 | 500 | 502 | 503 | 504)
    }

    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }

    pub fn is_signature_mismatch(&self) -> bool {
        self.error_code.as_deref() == Some(SIGNATURE_MISMATCH_CODE)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.error_code {
            write!(f, " {code}")?;
        }
        if !self.error_msg.is_empty() {
            write!(f, ": {}", self.error_msg)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Find the echoed canonical request (`METHOD|/path/|query|headers...`) in a gateway message.
fn extract_canonical_request(message: &str) -> Option<String> {
    let start = METHODS
        .iter()
        .filter_map(|m| message.find(&format!("{m}|/")))
        .min()?;
    let echoed = message[start..].trim_end_matches(['"', '\'', ' ', '.']);
    Some(echoed.replace('|', "\n"))
}

/// Replace the value of an echoed `x-security-token:` header line (lines split by `separator`).
pub(crate) fn redact_security_token(text: &str, separator: char) -> String {
    const NAME: &str = "x-security-token:";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut rest_start = 0;
    let mut search_from = 0;
    while let Some(found) = lower[search_from..].find(NAME) {
        let value_start = search_from + found + NAME.len();
        let value_end = lower[value_start..]
            .find([separator, '\n', '"'])
            .map_or(text.len(), |i| value_start + i);
        out.push_str(&text[rest_start..value_start]);
        out.push_str(REDACTED);
        rest_start = value_end;
        search_from = value_end;
    }
    out.push_str(&text[rest_start..]);
    out
}

/// Everything a client call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The service or its gateway answered with an error status.
    #[error("{0}")]
    Api(ApiError),
    /// The connection failed or broke before an answer arrived.
    #[error("transport error: {message}{}", processed_note(*.maybe_processed))]
    Transport {
        message: String,
        /// False only when the connection was never established (the request was not sent).
        maybe_processed: bool,
    },
    /// The server's TLS certificate is not trusted (never retried). The message ends with what
    /// to do about it ([`TLS_ADVICE`](crate::workspace::trust::TLS_ADVICE)).
    #[error(
        "the TLS certificate of {host} is not trusted: {problem}. {}.",
        crate::workspace::trust::TLS_ADVICE
    )]
    Tls { host: String, problem: String },
    /// No answer within the per-request timeout.
    #[error("no answer within {}: the request may or may not have been carried out by the service", humanize(*.after))]
    Timeout { after: Duration },
    /// The caller's cancellation token fired.
    #[error("cancelled{}{}", in_flight_note(*.in_flight), suffix_last(.last_error))]
    Cancelled {
        last_error: Option<Box<ClientError>>,
        /// A request had been sent and was abandoned unanswered.
        in_flight: bool,
    },
    /// The caller's deadline passed (or would pass before the next retry).
    #[error("deadline exceeded{}", suffix_last(.last_error))]
    DeadlineExceeded {
        last_error: Option<Box<ClientError>>,
    },
    /// The client configuration cannot work.
    #[error("invalid client configuration: {0}")]
    InvalidConfig(String),
    /// The endpoint could not be derived or parsed.
    #[error("invalid endpoint: {0}")]
    Endpoint(#[from] EndpointError),
    /// An argument was rejected before anything was sent (e.g. an empty server ID).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A success answer could not be decoded.
    #[error("could not decode {what}: {message}")]
    Decode { what: String, message: String },
}

fn in_flight_note(in_flight: bool) -> &'static str {
    if in_flight {
        " while a request was unanswered: it may or may not have been carried out by the service"
    } else {
        ""
    }
}

fn processed_note(maybe_processed: bool) -> &'static str {
    if maybe_processed {
        "; the request may or may not have been carried out by the service"
    } else {
        ""
    }
}

fn suffix_last(last: &Option<Box<ClientError>>) -> String {
    match last {
        Some(e) => format!(" (last error: {e})"),
        None => String::new(),
    }
}

fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

impl ClientError {
    /// The API error, also when wrapped as the last error of a cancellation or deadline.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            ClientError::Api(e) => Some(e),
            ClientError::Cancelled { last_error, .. }
            | ClientError::DeadlineExceeded { last_error } => {
                last_error.as_deref().and_then(ClientError::api_error)
            }
            _ => None,
        }
    }

    /// Worth another attempt: a retryable status, a broken connection or a timeout.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Api(e) => e.is_retryable(),
            ClientError::Transport { .. } | ClientError::Timeout { .. } => true,
            _ => false,
        }
    }
}

impl From<ApiError> for ClientError {
    fn from(e: ApiError) -> Self {
        ClientError::Api(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_service_error() {
        let e = ApiError::from_response(
            400,
            Some("req-1"),
            br#"{"error_code":"WKS.00211102","error_msg":"parameter invalid"}"#,
        );
        assert_eq!(e.status, 400);
        assert_eq!(e.error_code.as_deref(), Some("WKS.00211102"));
        assert_eq!(e.error_msg, "parameter invalid");
        assert_eq!(e.request_id.as_deref(), Some("req-1"));
        assert!(!e.is_retryable());
        assert_eq!(
            e.to_string(),
            "HTTP 400 WKS.00211102: parameter invalid (request id req-1)"
        );
    }

    #[test]
    fn falls_back_to_raw_text_and_body_request_id() {
        let e = ApiError::from_response(502, None, b"  <html>Bad Gateway</html>\n");
        assert_eq!(e.error_code, None);
        assert_eq!(e.error_msg, "<html>Bad Gateway</html>");
        assert!(e.is_retryable());
        let long = vec![b'x'; 2000];
        let e = ApiError::from_response(500, None, &long);
        assert!(e.error_msg.chars().count() <= MAX_RAW_BODY_CHARS + 1);
        let e = ApiError::from_response(
            429,
            Some(""),
            br#"{"error_code":"APIGW.0308","error_msg":"throttled","request_id":"body-id"}"#,
        );
        assert_eq!(e.request_id.as_deref(), Some("body-id"));
        assert!(e.is_retryable());
    }

    #[test]
    fn keeps_gateway_canonical_request_without_token() {
        let msg = "Incorrect IAM authentication information: verify aksk signature fail, \
            canonicalRequest: PATCH|/v1/p/app-servers/actions/batch-reboot/||content-type:application/json|\
            host:h|x-sdk-date:20261127T101500Z|x-security-token:TOPSECRET||content-type;host;x-sdk-date;x-security-token|abc";
        let body = serde_json::json!({"error_code": "APIGW.0301", "error_msg": msg});
        let e = ApiError::from_response(401, None, body.to_string().as_bytes());
        assert!(e.is_signature_mismatch());
        let canonical = e.gateway_canonical_request.clone().unwrap();
        assert!(canonical.starts_with("PATCH\n/v1/p/app-servers/actions/batch-reboot/\n\n"));
        assert!(canonical.contains("x-security-token:<redacted>\n"));
        assert!(canonical.ends_with("\nabc"));
        assert!(!e.to_string().contains("TOPSECRET"));
        assert!(!format!("{e:?}").contains("TOPSECRET"));
    }

    #[test]
    fn other_codes_have_no_canonical_request() {
        let e = ApiError::from_response(
            401,
            None,
            br#"{"error_code":"WKS.00211302","error_msg":"GET|/x"}"#,
        );
        assert_eq!(e.gateway_canonical_request, None);
    }

    #[test]
    fn display_of_wrapped_errors() {
        let inner = ClientError::Api(ApiError::from_response(
            503,
            None,
            br#"{"error_code":"WKS.1","error_msg":"busy"}"#,
        ));
        let e = ClientError::DeadlineExceeded {
            last_error: Some(Box::new(inner)),
        };
        assert_eq!(
            e.to_string(),
            "deadline exceeded (last error: HTTP 503 WKS.1: busy)"
        );
        assert_eq!(e.api_error().map(|a| a.status), Some(503));
        let t = ClientError::Timeout {
            after: Duration::from_secs(60),
        };
        assert!(t.to_string().contains("60 s"));
        assert!(t.to_string().contains("may or may not"));
        assert!(t.is_retryable());
        assert!(!ClientError::InvalidInput("x".into()).is_retryable());
        let tls = ClientError::Tls {
            host: "h:443".into(),
            problem: "invalid peer certificate: UnknownIssuer".into(),
        };
        assert!(!tls.is_retryable());
        let message = tls.to_string();
        assert!(message.starts_with(
            "the TLS certificate of h:443 is not trusted: invalid peer certificate: UnknownIssuer. "
        ));
        for fix in [
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "insecure = true",
            "HW_INSECURE",
        ] {
            assert!(message.contains(fix), "{message}");
        }
    }
}
