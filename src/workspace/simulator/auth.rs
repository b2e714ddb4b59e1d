//! The gateway's authentication, server side: AK/SK `SDK-HMAC-SHA256` signatures (rebuilt
//! from the received request with the shared signing code), security tokens and IAM tokens.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::config::CredentialsConfig;
use super::errors::{codes, ApiError};
use crate::workspace::credentials::Credentials;
use crate::workspace::signing::{self, ParsedAuthorization, RequestToSign};
use crate::workspace::wire::headers;

/// How a request tried to authenticate (logged; never the secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// Neither `Authorization` nor `X-Auth-Token`.
    None,
    /// `Authorization: SDK-HMAC-SHA256 …` with a permanent key.
    AkSk,
    /// `Authorization: SDK-HMAC-SHA256 …` plus `X-Security-Token` (temporary credentials).
    AkSkSecurityToken,
    /// `X-Auth-Token`.
    IamToken,
}

impl AuthKind {
    /// What the request presents, whether or not it turns out valid.
    pub fn presented(request_headers: &HeaderMap) -> Self {
        if request_headers.contains_key(headers::AUTHORIZATION) {
            if request_headers.contains_key(headers::SECURITY_TOKEN) {
                AuthKind::AkSkSecurityToken
            } else {
                AuthKind::AkSk
            }
        } else if request_headers.contains_key(headers::AUTH_TOKEN) {
            AuthKind::IamToken
        } else {
            AuthKind::None
        }
    }
}

/// The request as received, before any decoding.
#[derive(Clone, Copy, Debug)]
pub struct ReceivedRequest<'a> {
    pub method: &'a str,
    /// The path exactly as on the request line (percent-encoded).
    pub raw_path: &'a str,
    /// The query exactly as on the request line, without `?`.
    pub raw_query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Who the request was authenticated as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    pub kind: AuthKind,
    /// The access key of an AK/SK request (an identifier, not a secret).
    pub access_key: Option<String>,
}

/// Why a request was not authenticated. Messages never contain a secret or token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Authorization or X-Auth-Token header")]
    Missing,
    #[error("the Authorization header is not a valid SDK-HMAC-SHA256 header")]
    MalformedAuthorization,
    #[error("Get secretKey failed,ak:******,err:ak not exist")]
    UnknownAccessKey,
    #[error("header {0} must be signed")]
    HeaderNotSigned(&'static str),
    #[error("X-Sdk-Date is missing or not in the form YYYYMMDDTHHMMSSZ")]
    BadSdkDate,
    #[error("signature expired, signature time:{signature_time},server time:{server_time}")]
    Expired {
        signature_time: String,
        server_time: String,
    },
    #[error("verify aksk signature fail, canonicalRequest:{}", .canonical_request.replace('\n', "|"))]
    SignatureMismatch { canonical_request: String },
    #[error("the security token is missing, not signed or invalid")]
    BadSecurityToken,
    #[error("decrypt token fail")]
    BadToken,
}

impl AuthError {
    /// The gateway's answer: 401, `APIGW.0303` for an expired signature, `APIGW.0301` else.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            AuthError::Expired { .. } => ApiError::gateway(
                StatusCode::UNAUTHORIZED,
                codes::SIGNATURE_EXPIRED,
                format!("Incorrect IAM authentication information: {self}"),
            ),
            _ => ApiError::iam_auth_failed(self),
        }
    }
}

/// Accepts or rejects a request. `max_clock_skew` of `None` skips the date check (used to
/// replay recorded vectors); `now` is the verifier's clock.
pub fn authenticate(
    request: &ReceivedRequest<'_>,
    credentials: &CredentialsConfig,
    now: OffsetDateTime,
    max_clock_skew: Option<Duration>,
) -> Result<Authenticated, AuthError> {
    if let Some(value) = request.headers.get(headers::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| AuthError::MalformedAuthorization)?;
        let parsed =
            signing::parse_authorization(value).ok_or(AuthError::MalformedAuthorization)?;
        let credential = credentials
            .access_key(&parsed.access)
            .ok_or(AuthError::UnknownAccessKey)?;
        verify_signed(request, &parsed, credential, now, max_clock_skew)?;
        let kind = if credential.security_token().is_some() {
            AuthKind::AkSkSecurityToken
        } else {
            AuthKind::AkSk
        };
        return Ok(Authenticated {
            kind,
            access_key: Some(parsed.access),
        });
    }
    if let Some(token) = request.headers.get(headers::AUTH_TOKEN) {
        let known = token
            .to_str()
            .is_ok_and(|token| credentials.accepts_token(token));
        return if known {
            Ok(Authenticated {
                kind: AuthKind::IamToken,
                access_key: None,
            })
        } else {
            Err(AuthError::BadToken)
        };
    }
    if credentials.allow_anonymous {
        Ok(Authenticated {
            kind: AuthKind::None,
            access_key: None,
        })
    } else {
        Err(AuthError::Missing)
    }
}

fn verify_signed(
    request: &ReceivedRequest<'_>,
    parsed: &ParsedAuthorization,
    credential: &Credentials,
    now: OffsetDateTime,
    max_clock_skew: Option<Duration>,
) -> Result<(), AuthError> {
    let is_signed = |name: &str| {
        parsed
            .signed_headers
            .iter()
            .any(|signed| signed.eq_ignore_ascii_case(name))
    };
    for required in [headers::SDK_DATE, headers::HOST] {
        if !is_signed(required) {
            return Err(AuthError::HeaderNotSigned(required));
        }
    }
    let sdk_date = header_text(request.headers, headers::SDK_DATE).ok_or(AuthError::BadSdkDate)?;
    let signed_at = signing::parse_sdk_date(sdk_date.trim()).ok_or(AuthError::BadSdkDate)?;
    if let Some(limit) = max_clock_skew {
        if (now - signed_at).unsigned_abs() > limit {
            return Err(AuthError::Expired {
                signature_time: sdk_date.trim().to_owned(),
                server_time: signing::format_sdk_date(now),
            });
        }
    }

    // Rebuild the request from what was received: only the headers the client says it signed,
    // with their received values; a signed header that is absent counts as empty so the
    // mismatch shows in the echoed canonical request.
    let signed_values: Vec<(String, String)> = parsed
        .signed_headers
        .iter()
        .map(|name| {
            let value = header_text(request.headers, name).unwrap_or_default();
            (name.clone(), value)
        })
        .collect();
    let query = signing::parse_query(request.raw_query.unwrap_or(""));
    let to_verify = RequestToSign {
        method: request.method,
        path: request.raw_path,
        query: &query,
        headers: &signed_values,
        body: request.body,
    };
    let secret_key = credential.secret_key().ok_or(AuthError::UnknownAccessKey)?;
    signing::verify(secret_key, parsed, &to_verify).map_err(|mismatch| {
        AuthError::SignatureMismatch {
            canonical_request: mismatch.canonical_request,
        }
    })?;

    let presented_token = header_text(request.headers, headers::SECURITY_TOKEN);
    match (credential.security_token(), presented_token) {
        (None, None) => Ok(()),
        (Some(expected), Some(presented))
            if is_signed(headers::SECURITY_TOKEN) && expected == presented =>
        {
            Ok(())
        }
        _ => Err(AuthError::BadSecurityToken),
    }
}

fn header_text(request_headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = request_headers
        .get_all(name)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect();
    if values.is_empty() {
        None
    } else {
        Some(values.join(","))
    }
}
