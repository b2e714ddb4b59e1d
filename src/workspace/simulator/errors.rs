//! Error answers with the codes, statuses and messages the real service and gateway use.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::workspace::wire::{headers, ErrorBody};

/// Service error codes (`WKS.*`, answered by Workspace itself).
pub mod codes {
    pub const PARAMETER_INVALID: &str = "WKS.00211102";
    pub const SERVER_NOT_FOUND: &str = "WKS.00211902";
    pub const PERMISSION_DENIED: &str = "WKS.00081102";
    pub const INTERNAL_ERROR: &str = "WKS.00211401";
    pub const SERVICE_UNAVAILABLE: &str = "WKS.00050902";
    /// A server of the request is busy with another task (409). Not documented: the code is
    /// the simulator's invention; the existing Go provider only shows that 409 happens.
    pub const SERVER_BUSY: &str = "WKS.00211409";
    /// Gateway: no such API (unknown path or method).
    pub const API_NOT_FOUND: &str = "APIGW.0101";
    /// Gateway: backend unavailable (502).
    pub const BACKEND_UNAVAILABLE: &str = "APIGW.0202";
    /// Gateway: backend timeout (504).
    pub const BACKEND_TIMEOUT: &str = "APIGW.0203";
    /// Gateway: IAM authentication failed (bad signature, unknown key, bad token).
    pub const IAM_AUTH_FAILED: &str = "APIGW.0301";
    /// Gateway: signature expired (`X-Sdk-Date` too far from the gateway's clock).
    pub const SIGNATURE_EXPIRED: &str = "APIGW.0303";
    /// Gateway: throttled (the code the API reference gives; some gateways write
    /// `APIGW.0308`).
    pub const THROTTLED: &str = "APIG.0308";
}

/// The gateway's throttling message for a quota of `limit` requests per `period_secs`
/// seconds, in its own words: "The throttling threshold has been reached: policy user over
/// ratelimit,limit:10,time:1 second" (or `time:1 minute`).
pub fn throttled_message(limit: u32, period_secs: u64) -> String {
    let period = match period_secs {
        60 => "1 minute".to_owned(),
        n => format!("{n} second"),
    };
    format!("The throttling threshold has been reached: policy user over ratelimit,limit:{limit},time:{period}")
}

/// Who produced an error: gateway errors carry `request_id` in the body too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorSource {
    Gateway,
    Service,
}

/// An error answer before the request id is attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub error_code: String,
    pub error_msg: String,
    pub source: ErrorSource,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn service(status: StatusCode, code: &str, msg: impl Into<String>) -> Self {
        Self {
            status,
            error_code: code.to_owned(),
            error_msg: msg.into(),
            source: ErrorSource::Service,
            retry_after_secs: None,
        }
    }

    pub fn gateway(status: StatusCode, code: &str, msg: impl Into<String>) -> Self {
        Self {
            source: ErrorSource::Gateway,
            ..Self::service(status, code, msg)
        }
    }

    pub fn invalid_parameter(msg: impl Into<String>) -> Self {
        Self::service(StatusCode::BAD_REQUEST, codes::PARAMETER_INVALID, msg)
    }

    pub fn server_not_found(id: &str) -> Self {
        Self::service(
            StatusCode::NOT_FOUND,
            codes::SERVER_NOT_FOUND,
            format!("The server does not exist: {id}"),
        )
    }

    /// 409: servers of a batch action are busy with another task; nothing of it was done.
    pub fn server_busy(ids: &[&str]) -> Self {
        Self::service(
            StatusCode::CONFLICT,
            codes::SERVER_BUSY,
            format!(
                "The server is busy with another task, try again later: {}",
                ids.join(",")
            ),
        )
    }

    pub fn api_not_found() -> Self {
        Self::gateway(
            StatusCode::NOT_FOUND,
            codes::API_NOT_FOUND,
            "The API does not exist or has not been published in the environment",
        )
    }

    /// 429 `APIG.0308` for a quota of `limit` requests per `period_secs` seconds.
    pub fn throttled(limit: u32, period_secs: u64, retry_after_secs: Option<u64>) -> Self {
        Self {
            retry_after_secs,
            ..Self::gateway(
                StatusCode::TOO_MANY_REQUESTS,
                codes::THROTTLED,
                throttled_message(limit, period_secs),
            )
        }
    }

    pub fn iam_auth_failed(detail: impl std::fmt::Display) -> Self {
        Self::gateway(
            StatusCode::UNAUTHORIZED,
            codes::IAM_AUTH_FAILED,
            format!("Incorrect IAM authentication information: {detail}"),
        )
    }

    /// A 5xx; code and message default to the ones the service uses for that status.
    pub fn server_error(status: u16, code: Option<&str>, msg: Option<&str>) -> Self {
        let status = StatusCode::from_u16(status)
            .ok()
            .filter(StatusCode::is_server_error)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (default_code, default_msg, source) = match status {
            StatusCode::BAD_GATEWAY => (
                codes::BACKEND_UNAVAILABLE,
                "Backend unavailable",
                ErrorSource::Gateway,
            ),
            StatusCode::SERVICE_UNAVAILABLE => (
                codes::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable, please try again later",
                ErrorSource::Service,
            ),
            StatusCode::GATEWAY_TIMEOUT => (
                codes::BACKEND_TIMEOUT,
                "Backend timeout",
                ErrorSource::Gateway,
            ),
            _ => (
                codes::INTERNAL_ERROR,
                "Internal error, please try again later",
                ErrorSource::Service,
            ),
        };
        Self {
            status,
            error_code: code.unwrap_or(default_code).to_owned(),
            error_msg: msg.unwrap_or(default_msg).to_owned(),
            source,
            retry_after_secs: None,
        }
    }

    /// The HTTP answer, with `X-Request-Id` (and `Retry-After` when set).
    pub fn into_response_with_id(self, request_id: &str) -> Response {
        let body = ErrorBody {
            error_code: self.error_code,
            error_msg: self.error_msg,
            request_id: match self.source {
                ErrorSource::Gateway => Some(request_id.to_owned()),
                ErrorSource::Service => None,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(headers::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Ok(value) = HeaderValue::from_str(request_id) {
            response.headers_mut().insert(headers::REQUEST_ID, value);
        }
        response
    }
}
