//! The API base URL: derived from region and cloud, or given whole.
//!
//! Host rules: the five mainland-China regions in the region table of Huawei's official
//! Workspace APP SDKs (Python `huaweicloudsdkworkspaceapp` `workspaceapp_region.py`, Go
//! `workspaceapp/v1/region`) use `appstream.{region}.{cloud}`. The other regions listed here come
//! from the *desktop* Workspace SDK table and use `workspace.{region}.{cloud}`, as the
//! international API documentation writes for the APP API too; no public source settles which
//! host serves the APP API outside mainland China, so users can override the base URL with
//! `endpoint`, and a 404 `APIGW.0101` ("API not found") answer says so. A region in neither list
//! gets `workspace.`. Regions starting with `eu-west-1` use the cloud domain `myhuaweicloud.eu`
//! unless another cloud was given explicitly.

use url::Url;

/// The cloud domain when none is configured.
pub const DEFAULT_CLOUD: &str = "myhuaweicloud.com";
/// The cloud domain of the `eu-west-1*` regions.
pub const EU_CLOUD: &str = "myhuaweicloud.eu";

/// Regions whose host starts with `appstream.`.
const APPSTREAM_REGIONS: &[&str] = &[
    "cn-north-4",
    "cn-east-3",
    "cn-south-1",
    "cn-southwest-2",
    "cn-north-9",
];

/// Regions documented with a `workspace.` host (kept to say which regions are known).
const WORKSPACE_REGIONS: &[&str] = &[
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "la-south-2",
    "la-north-2",
    "sa-brazil-1",
    "na-mexico-1",
    "cn-east-5",
    "cn-north-11",
    "me-east-1",
    "af-south-1",
    "af-north-1",
    "tr-west-1",
];

/// Why no base URL could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("region is empty")]
    EmptyRegion,
    #[error(
        "region {0:?} is not a valid region name (expected lower-case letters, digits and '-')"
    )]
    InvalidRegion(String),
    #[error("cloud domain {0:?} is not a valid domain name")]
    InvalidCloud(String),
    #[error("base URL {url:?} is not a valid URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("base URL scheme {0:?} is not supported (use https, or http for a local endpoint)")]
    UnsupportedScheme(String),
    #[error("base URL {0:?} must not carry a query, fragment or user info")]
    UnexpectedUrlParts(String),
}

/// The host prefix chosen for a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPrefix {
    Appstream,
    Workspace,
}

impl HostPrefix {
    pub fn as_str(self) -> &'static str {
        match self {
            HostPrefix::Appstream => "appstream",
            HostPrefix::Workspace => "workspace",
        }
    }
}

/// `appstream` for the regions of the table that use it, `workspace` for all others.
pub fn host_prefix(region: &str) -> HostPrefix {
    if APPSTREAM_REGIONS.contains(&region) {
        HostPrefix::Appstream
    } else {
        HostPrefix::Workspace
    }
}

/// Whether the region appears in the SDK's region table.
pub fn is_known_region(region: &str) -> bool {
    APPSTREAM_REGIONS.contains(&region) || WORKSPACE_REGIONS.contains(&region)
}

/// The cloud domain for a region: `cloud` when given (and not the default), `myhuaweicloud.eu`
/// for `eu-west-1*` regions, else `myhuaweicloud.com`.
pub fn cloud_domain(region: &str, cloud: Option<&str>) -> String {
    match cloud.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) if c != DEFAULT_CLOUD => c.to_ascii_lowercase(),
        _ if region.starts_with("eu-west-1") => EU_CLOUD.to_string(),
        _ => DEFAULT_CLOUD.to_string(),
    }
}

fn valid_label_chars(s: &str, allow_dot: bool) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (allow_dot && b == b'.')
        })
        && !s.starts_with(['-', '.'])
        && !s.ends_with(['-', '.'])
}

/// `https://{appstream|workspace}.{region}.{cloud}`
pub fn base_url_for_region(region: &str, cloud: Option<&str>) -> Result<Url, EndpointError> {
    let region = region.trim();
    if region.is_empty() {
        return Err(EndpointError::EmptyRegion);
    }
    if !valid_label_chars(region, false) {
        return Err(EndpointError::InvalidRegion(region.to_string()));
    }
    let cloud = cloud_domain(region, cloud);
    if !valid_label_chars(&cloud, true) {
        return Err(EndpointError::InvalidCloud(cloud));
    }
    let text = format!("https://{}.{region}.{cloud}", host_prefix(region).as_str());
    Url::parse(&text).map_err(|e| EndpointError::InvalidUrl {
        url: text,
        reason: e.to_string(),
    })
}

/// Parse a full base-URL override: https (or http for local use), a host, optionally a path
/// prefix; no query, fragment or credentials. A trailing `/` is dropped.
pub fn parse_base_url(text: &str) -> Result<Url, EndpointError> {
    let text = text.trim();
    let mut url = Url::parse(text).map_err(|e| EndpointError::InvalidUrl {
        url: text.to_string(),
        reason: e.to_string(),
    })?;
    validate_base_url(&url)?;
    let trimmed = url.path().trim_end_matches('/').to_string();
    url.set_path(&trimmed);
    Ok(url)
}

/// Check an already-parsed base URL (scheme, host, no extra parts).
pub fn validate_base_url(url: &Url) -> Result<(), EndpointError> {
    match url.scheme() {
        "https" | "http" => {}
        other => return Err(EndpointError::UnsupportedScheme(other.to_string())),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(EndpointError::InvalidUrl {
            url: url.to_string(),
            reason: "no host".to_string(),
        });
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        // Say which URL without echoing a password that may be in it.
        let mut shown = url.clone();
        let _ = shown.set_password(None);
        return Err(EndpointError::UnexpectedUrlParts(shown.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_table() {
        assert_eq!(
            base_url_for_region("cn-north-4", None).unwrap().as_str(),
            "https://appstream.cn-north-4.myhuaweicloud.com/"
        );
        assert_eq!(
            base_url_for_region("ap-southeast-1", None)
                .unwrap()
                .as_str(),
            "https://workspace.ap-southeast-1.myhuaweicloud.com/"
        );
        assert_eq!(
            base_url_for_region("cn-east-5", Some("myhuaweicloud.com"))
                .unwrap()
                .host_str(),
            Some("workspace.cn-east-5.myhuaweicloud.com")
        );
        // Unknown region: workspace. prefix.
        assert!(!is_known_region("xx-new-9"));
        assert_eq!(
            base_url_for_region("xx-new-9", None).unwrap().host_str(),
            Some("workspace.xx-new-9.myhuaweicloud.com")
        );
    }

    #[test]
    fn eu_and_custom_cloud() {
        assert_eq!(
            base_url_for_region("eu-west-101", None).unwrap().host_str(),
            Some("workspace.eu-west-101.myhuaweicloud.eu")
        );
        assert_eq!(
            base_url_for_region("eu-west-101", Some("myhuaweicloud.com"))
                .unwrap()
                .host_str(),
            Some("workspace.eu-west-101.myhuaweicloud.eu")
        );
        assert_eq!(
            base_url_for_region("cn-north-4", Some("example.cloud"))
                .unwrap()
                .host_str(),
            Some("appstream.cn-north-4.example.cloud")
        );
        assert_eq!(
            base_url_for_region("eu-west-0", None).unwrap().host_str(),
            Some("workspace.eu-west-0.myhuaweicloud.com")
        );
    }

    #[test]
    fn bad_region_or_cloud() {
        assert_eq!(
            base_url_for_region(" ", None),
            Err(EndpointError::EmptyRegion)
        );
        assert!(matches!(
            base_url_for_region("cn-north-4/evil", None),
            Err(EndpointError::InvalidRegion(_))
        ));
        assert!(matches!(
            base_url_for_region("cn-north-4", Some("a/b")),
            Err(EndpointError::InvalidCloud(_))
        ));
    }

    #[test]
    fn base_url_override() {
        let u = parse_base_url("http://127.0.0.1:8080/").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:8080/");
        let u = parse_base_url("https://private.example/prefix/").unwrap();
        assert_eq!(u.path(), "/prefix");
        assert_eq!(
            parse_base_url("ftp://x"),
            Err(EndpointError::UnsupportedScheme("ftp".into()))
        );
        assert!(matches!(
            parse_base_url("not a url"),
            Err(EndpointError::InvalidUrl { .. })
        ));
        assert!(matches!(
            parse_base_url("https://h/?a=1"),
            Err(EndpointError::UnexpectedUrlParts(_))
        ));
        let err = parse_base_url("https://user:hunter2@h/").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }
}
