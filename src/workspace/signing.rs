//! Huawei Cloud API Gateway `SDK-HMAC-SHA256` request signing (AK/SK), for the client's signer
//! and the simulator's verifier alike.
//!
//! The algorithm (as Huawei's official SDK signers implement it): canonical request =
//! `METHOD\nCanonicalURI\nCanonicalQuery\nCanonicalHeaders\nSignedHeaders\nHex(SHA256(body))`,
//! string to sign = `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<Hex(SHA256(canonical request))>`, signature =
//! `Hex(HMAC-SHA256(secret key, string to sign))`. No crate implements this Huawei-specific
//! scheme, so it is written here on top of `hmac`/`sha2`/`percent-encoding`.

use std::time::Duration;

use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::workspace::credentials::Credentials;

type HmacSha256 = Hmac<Sha256>;

/// The algorithm name, first word of the `Authorization` header and of the string to sign.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// Hex SHA-256 of an empty body.
pub const EMPTY_BODY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The gateway rejects an `X-Sdk-Date` further than this from its own clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// Everything but the unreserved characters `A-Za-z0-9-_.~` is percent-encoded (upper-case hex).
const SIGNING_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encode one path segment, query key or query value the way the signer does.
pub fn encode(raw: &str) -> String {
    utf8_percent_encode(raw, SIGNING_ENCODE_SET).to_string()
}

fn decode(encoded: &str) -> String {
    percent_decode_str(encoded).decode_utf8_lossy().into_owned()
}

/// Canonical URI: every segment decoded then re-encoded (so a raw path and its percent-encoded
/// wire form give the same result, as in the official SDKs), with a trailing `/` always added.
pub fn canonical_uri(path: &str) -> String {
    let mut uri = path
        .split('/')
        .map(|segment| encode(&decode(segment)))
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Canonical query: decoded pairs sorted by key then value, each side encoded, joined by `&`.
/// Empty when there is no query. The client sends exactly this string as its query.
pub fn canonical_query<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut sorted: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect();
    sorted.sort_unstable();
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Split a raw query string from the wire into decoded pairs (for the verifier).
/// `+` is kept literally: the signer encodes a space as `%20`, never as `+`.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(part), String::new()),
        })
        .collect()
}

/// Canonical headers and the signed-headers list built from the headers to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalHeaders {
    /// `name:value\n` for each header, names lower-case and sorted, values trimmed.
    pub text: String,
    /// Lower-case names joined by `;`.
    pub signed_headers: String,
}

/// Build the canonical headers from `(name, value)` pairs (all of them are signed).
pub fn canonical_headers<N: AsRef<str>, V: AsRef<str>>(headers: &[(N, V)]) -> CanonicalHeaders {
    let mut lowered: Vec<(String, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_ref().trim().to_ascii_lowercase(), v.as_ref().trim()))
        .collect();
    lowered.sort();
    let text = lowered
        .iter()
        .map(|(n, v)| format!("{n}:{v}\n"))
        .collect::<String>();
    let signed_headers = lowered
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    CanonicalHeaders {
        text,
        signed_headers,
    }
}

/// Lower-case hex SHA-256 of the exact body bytes.
pub fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Assemble the canonical request from its already-canonical parts.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &CanonicalHeaders,
    body_sha256: &str,
) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        canonical_uri,
        canonical_query,
        headers.text,
        headers.signed_headers,
        body_sha256
    )
}

/// `SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex SHA-256 of the canonical request>`.
pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        hex_sha256(canonical_request.as_bytes())
    )
}

fn mac(secret_key: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails; fall back to an empty key rather
    // than panic should the crate ever change that.
    HmacSha256::new_from_slice(secret_key.as_bytes())
        .unwrap_or_else(|_| <HmacSha256 as Mac>::new(&Default::default()))
}

/// Hex HMAC-SHA256 of the string to sign, keyed by the secret key itself.
pub fn signature(secret_key: &str, string_to_sign: &str) -> String {
    let mut mac = mac(secret_key);
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time check of a hex signature (for the verifier).
pub fn verify_signature(secret_key: &str, string_to_sign: &str, signature_hex: &str) -> bool {
    let Ok(given) = hex::decode(signature_hex) else {
        return false;
    };
    let mut mac = mac(secret_key);
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// `SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<list>, Signature=<hex>`.
pub fn authorization_header(access_key: &str, signed_headers: &str, signature: &str) -> String {
    format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

/// The parts of an `Authorization: SDK-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuthorization {
    pub access: String,
    /// Lower-case header names in the order given.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parse an `Authorization` header; `None` when it is not a well-formed `SDK-HMAC-SHA256` one.
pub fn parse_authorization(value: &str) -> Option<ParsedAuthorization> {
    let rest = value.trim().strip_prefix(ALGORITHM)?;
    if !rest.starts_with(' ') {
        return None;
    }
    let (mut access, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let (key, val) = part.trim().split_once('=')?;
        let val = val.trim();
        match key.trim() {
            "Access" => access = Some(val.to_string()),
            "SignedHeaders" => {
                signed = Some(
                    val.split(';')
                        .map(|h| h.trim().to_ascii_lowercase())
                        .filter(|h| !h.is_empty())
                        .collect::<Vec<_>>(),
                )
            }
            "Signature" => sig = Some(val.to_string()),
            _ => return None,
        }
    }
    let (access, signed_headers, signature) = (access?, signed?, sig?);
    if access.is_empty() || signed_headers.is_empty() || signature.is_empty() {
        return None;
    }
    Some(ParsedAuthorization {
        access,
        signed_headers,
        signature,
    })
}

/// `YYYYMMDDTHHMMSSZ` in UTC.
pub fn format_sdk_date(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

/// Parse `YYYYMMDDTHHMMSSZ` (UTC); `None` when malformed.
pub fn parse_sdk_date(value: &str) -> Option<OffsetDateTime> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    PrimitiveDateTime::parse(value, format)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// Whether an `X-Sdk-Date` is within [`MAX_CLOCK_SKEW`] of `now` (for the verifier).
pub fn sdk_date_fresh(sdk_date: &str, now: OffsetDateTime) -> bool {
    parse_sdk_date(sdk_date).is_some_and(|at| (now - at).unsigned_abs() <= MAX_CLOCK_SKEW)
}

/// The request as the signer sees it.
#[derive(Debug, Clone, Copy)]
pub struct RequestToSign<'a> {
    pub method: &'a str,
    /// Raw or percent-encoded path, without the trailing `/` of the canonical URI.
    pub path: &'a str,
    /// Decoded query pairs.
    pub query: &'a [(String, String)],
    /// Every header to sign, including `Host` and `X-Sdk-Date` (and `X-Security-Token` for
    /// temporary credentials).
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Every intermediate product of signing, so that tests and error messages can show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signed_headers: String,
    pub signature: String,
    /// The value of the `Authorization` header.
    pub authorization: String,
}

/// Signing failed before any cryptography: the request lacks what the scheme requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("the request to sign has no X-Sdk-Date header")]
    MissingSdkDate,
    #[error("an IAM token cannot sign requests; AK/SK credentials are needed")]
    NotAkSk,
}

/// The secret-free products of signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalParts {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signed_headers: String,
}

/// The canonical request and string to sign of a request (no secret involved).
pub fn canonical_parts(request: &RequestToSign<'_>) -> Result<CanonicalParts, SigningError> {
    let sdk_date = request
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(crate::workspace::wire::headers::SDK_DATE))
        .map(|(_, value)| value.trim())
        .ok_or(SigningError::MissingSdkDate)?;
    let headers = canonical_headers(request.headers);
    let canonical = canonical_request(
        request.method,
        &canonical_uri(request.path),
        &canonical_query(request.query),
        &headers,
        &hex_sha256(request.body),
    );
    let to_sign = string_to_sign(sdk_date, &canonical);
    Ok(CanonicalParts {
        canonical_request: canonical,
        string_to_sign: to_sign,
        signed_headers: headers.signed_headers,
    })
}

/// Signs requests with one set of AK/SK credentials. `Debug` redacts as [`Credentials`] does.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Always [`Credentials::AkSk`] (checked in [`Signer::new`]).
    credentials: Credentials,
}

impl Signer {
    /// A signer for AK/SK credentials; an IAM token is [`SigningError::NotAkSk`].
    pub fn new(credentials: Credentials) -> Result<Self, SigningError> {
        match credentials {
            Credentials::AkSk { .. } => Ok(Signer { credentials }),
            Credentials::Token(_) => Err(SigningError::NotAkSk),
        }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Sign a request whose headers already hold everything to sign (see [`RequestToSign`]).
    pub fn sign(&self, request: &RequestToSign<'_>) -> Result<SignedRequest, SigningError> {
        let CanonicalParts {
            canonical_request,
            string_to_sign,
            signed_headers,
        } = canonical_parts(request)?;
        let (Some(access_key), Some(secret_key)) =
            (self.credentials.access_key(), self.credentials.secret_key())
        else {
            return Err(SigningError::NotAkSk);
        };
        let signature = signature(secret_key, &string_to_sign);
        let authorization = authorization_header(access_key, &signed_headers, &signature);
        Ok(SignedRequest {
            canonical_request,
            string_to_sign,
            signed_headers,
            signature,
            authorization,
        })
    }
}

/// A signature did not match; carries our canonical request (no secret in it) so that a
/// verifier can echo it as the gateway does (`APIGW.0301`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signature mismatch")]
pub struct SignatureMismatch {
    pub canonical_request: String,
}

/// Verifier side: recompute the signature of `request` (whose headers must be exactly the ones
/// named in `authorization.signed_headers`, with their received values) and compare it in
/// constant time.
pub fn verify(
    secret_key: &str,
    authorization: &ParsedAuthorization,
    request: &RequestToSign<'_>,
) -> Result<(), SignatureMismatch> {
    let Ok(CanonicalParts {
        canonical_request,
        string_to_sign,
        signed_headers,
    }) = canonical_parts(request)
    else {
        return Err(SignatureMismatch {
            canonical_request: String::new(),
        });
    };
    let names_match = signed_headers == authorization.signed_headers.join(";");
    if names_match && verify_signature(secret_key, &string_to_sign, &authorization.signature) {
        Ok(())
    } else {
        Err(SignatureMismatch { canonical_request })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct VectorFile {
        algorithm: String,
        access_key: String,
        secret_key: String,
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        name: String,
        method: String,
        host: String,
        path: String,
        query: Vec<(String, String)>,
        headers: serde_json::Map<String, serde_json::Value>,
        body: String,
        expected: Expected,
    }

    #[derive(Deserialize)]
    struct Expected {
        signed_headers: String,
        canonical_request: String,
        string_to_sign: String,
        authorization: String,
    }

    fn load_vectors() -> VectorFile {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/aksk-sdk-hmac-sha256.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "signing vectors missing at {}: {e} — these tests must run against them",
                path.display()
            )
        });
        serde_json::from_str(&text).expect("vectors file is valid JSON of the expected shape")
    }

    fn case_headers(case: &Case) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = case
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().expect("header value is a string").to_string(),
                )
            })
            .collect();
        headers.push(("Host".to_string(), case.host.clone()));
        headers
    }

    #[test]
    fn reproduces_every_vector() {
        let vectors = load_vectors();
        assert_eq!(vectors.algorithm, ALGORITHM);
        assert!(!vectors.cases.is_empty(), "the vectors file has no cases");
        let signer = Signer::new(Credentials::ak_sk(&vectors.access_key, &vectors.secret_key))
            .expect("AK/SK signs");
        for case in &vectors.cases {
            let headers = case_headers(case);
            let request = RequestToSign {
                method: &case.method,
                path: &case.path,
                query: &case.query,
                headers: &headers,
                body: case.body.as_bytes(),
            };
            let signed = signer.sign(&request).unwrap();
            assert_eq!(
                signed.canonical_request, case.expected.canonical_request,
                "{}",
                case.name
            );
            assert_eq!(
                signed.string_to_sign, case.expected.string_to_sign,
                "{}",
                case.name
            );
            assert_eq!(
                signed.signed_headers, case.expected.signed_headers,
                "{}",
                case.name
            );
            assert_eq!(
                signed.authorization, case.expected.authorization,
                "{}",
                case.name
            );

            // The verifier side accepts it, from the parsed header, and rejects a tampered body.
            let parsed = parse_authorization(&signed.authorization).unwrap();
            assert_eq!(parsed.access, vectors.access_key);
            assert_eq!(
                parsed.signed_headers.join(";"),
                case.expected.signed_headers
            );
            assert!(
                verify(&vectors.secret_key, &parsed, &request).is_ok(),
                "{}",
                case.name
            );
            let tampered = RequestToSign {
                body: b"{\"items\":[\"other\"],\"type\":\"SOFT\"}",
                ..request
            };
            let err = verify(&vectors.secret_key, &parsed, &tampered).unwrap_err();
            assert!(err.canonical_request.starts_with(&case.method));
            assert!(verify("wrong-secret", &parsed, &request).is_err());
        }
    }

    #[test]
    fn wire_form_of_path_and_query_canonicalises_the_same() {
        let vectors = load_vectors();
        for case in &vectors.cases {
            // The encoded request line must give the same canonical URI and query.
            let encoded_path = case
                .path
                .split('/')
                .map(encode)
                .collect::<Vec<_>>()
                .join("/");
            assert_eq!(canonical_uri(&encoded_path), canonical_uri(&case.path));
            let wire_query = canonical_query(&case.query);
            assert_eq!(canonical_query(&parse_query(&wire_query)), wire_query);
            let canonical_line = case.expected.canonical_request.lines().nth(2).unwrap();
            assert_eq!(wire_query, canonical_line, "{}", case.name);
        }
    }

    #[test]
    fn canonical_uri_rules() {
        assert_eq!(canonical_uri("/v1/p/app-servers"), "/v1/p/app-servers/");
        assert_eq!(canonical_uri("/v1/p/"), "/v1/p/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri("/a b/é"), "/a%20b/%C3%A9/");
        assert_eq!(canonical_uri("/a%20b"), "/a%20b/");
    }

    #[test]
    fn query_sorted_by_key_then_value() {
        let q = vec![("b", "2"), ("a", "z"), ("a", "y")];
        assert_eq!(canonical_query(&q), "a=y&a=z&b=2");
        assert_eq!(canonical_query::<&str, &str>(&[]), "");
        assert_eq!(
            parse_query("a=x%20y&b=1+2&c"),
            vec![
                ("a".into(), "x y".into()),
                ("b".into(), "1+2".into()),
                ("c".into(), String::new())
            ]
        );
    }

    #[test]
    fn authorization_parse_round_trip_and_rejects() {
        let header = authorization_header("AK", "host;x-sdk-date", "abcd");
        let parsed = parse_authorization(&header).unwrap();
        assert_eq!(parsed.access, "AK");
        assert_eq!(parsed.signed_headers, vec!["host", "x-sdk-date"]);
        assert_eq!(parsed.signature, "abcd");
        assert!(parse_authorization("Bearer abc").is_none());
        assert!(
            parse_authorization("SDK-HMAC-SHA256Access=a, SignedHeaders=h, Signature=s").is_none()
        );
        assert!(parse_authorization("SDK-HMAC-SHA256 Access=a, Signature=s").is_none());
        assert!(
            parse_authorization("SDK-HMAC-SHA256 Access=, SignedHeaders=h, Signature=s").is_none()
        );
        assert!(
            parse_authorization("SDK-HMAC-SHA256 Access=a, SignedHeaders=h, Signature=s, X=1")
                .is_none()
        );
    }

    #[test]
    fn sdk_date_format_and_parse() {
        let at = time::macros::datetime!(2026-11-27 10:15:00 UTC);
        assert_eq!(format_sdk_date(at), "20261127T101500Z");
        let offset = time::macros::datetime!(2026-11-27 18:15:00 +08:00);
        assert_eq!(format_sdk_date(offset), "20261127T101500Z");
        assert_eq!(parse_sdk_date("20261127T101500Z"), Some(at));
        assert_eq!(parse_sdk_date("2026-11-27T10:15:00Z"), None);
        assert_eq!(parse_sdk_date("20261127T101500"), None);
        assert!(sdk_date_fresh(
            "20261127T101500Z",
            at + Duration::from_secs(14 * 60)
        ));
        assert!(!sdk_date_fresh(
            "20261127T101500Z",
            at + Duration::from_secs(16 * 60)
        ));
        assert!(!sdk_date_fresh(
            "20261127T101500Z",
            at - Duration::from_secs(16 * 60)
        ));
        assert!(!sdk_date_fresh("garbage", at));
    }

    #[test]
    fn missing_date_is_an_error() {
        let signer = Signer::new(Credentials::ak_sk("AK", "SK")).unwrap();
        let headers = vec![("Host".to_string(), "h".to_string())];
        let request = RequestToSign {
            method: "GET",
            path: "/",
            query: &[],
            headers: &headers,
            body: b"",
        };
        assert_eq!(signer.sign(&request), Err(SigningError::MissingSdkDate));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let creds = Credentials::temporary("AKID", "very-secret-key", "session-token-xyz");
        let text = format!("{:?}", Signer::new(creds).unwrap());
        assert!(text.contains("AKID"));
        assert!(!text.contains("very-secret-key"));
        assert!(!text.contains("session-token-xyz"));
    }

    #[test]
    fn a_token_cannot_sign() {
        assert_eq!(
            Signer::new(Credentials::token("t")).unwrap_err(),
            SigningError::NotAkSk
        );
    }

    #[test]
    fn empty_body_hash() {
        assert_eq!(hex_sha256(b""), EMPTY_BODY_SHA256);
    }
}
