//! The go-plugin start-up contract: the magic cookie, protocol version negotiation and the
//! handshake line Terraform reads from our stdout.

use base64::Engine;
use std::path::Path;

/// Terraform's go-plugin magic cookie. A binary started without it was started by a person.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// go-plugin's core protocol version: the first handshake field.
pub const CORE_PROTOCOL_VERSION: u32 = 1;

/// The plugin protocol versions this binary serves, best first.
pub const SUPPORTED_PROTOCOL_VERSIONS: [u32; 2] = [6, 5];

pub const NOT_A_PLUGIN_MESSAGE: &str =
    "This binary is a plugin. These are not meant to be executed directly.\n\
Please execute the program that consumes these plugins, which will\n\
load any plugins automatically";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandshakeError {
    #[error("{NOT_A_PLUGIN_MESSAGE}")]
    NotStartedByTerraform,
    #[error(
        "Terraform offered plugin protocol versions {offered:?}, but this provider speaks only {supported:?}; \
         use a Terraform >= 0.12 / OpenTofu release that speaks protocol 5 or 6"
    )]
    NoCommonVersion {
        offered: String,
        supported: [u32; 2],
    },
}

/// Checks the magic cookie Terraform sets in the plugin's environment.
pub fn check_magic_cookie(value: Option<&str>) -> Result<(), HandshakeError> {
    match value {
        Some(v) if v == MAGIC_COOKIE_VALUE => Ok(()),
        _ => Err(HandshakeError::NotStartedByTerraform),
    }
}

/// Picks the highest protocol version both sides speak from `PLUGIN_PROTOCOL_VERSIONS`
/// (a comma list in any order). Absent or empty means an old client that only knows 5.
pub fn negotiate_protocol_version(offered: Option<&str>) -> Result<u32, HandshakeError> {
    let offered = offered.unwrap_or("").trim();
    if offered.is_empty() {
        return Ok(5);
    }
    let versions: Vec<u32> = offered
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    SUPPORTED_PROTOCOL_VERSIONS
        .into_iter()
        .find(|v| versions.contains(v))
        .ok_or_else(|| HandshakeError::NoCommonVersion {
            offered: offered.to_owned(),
            supported: SUPPORTED_PROTOCOL_VERSIONS,
        })
}

/// The single line go-plugin reads from stdout: exactly six `|`-separated fields.
/// The certificate is standard base64 of the DER without `=` padding (go-plugin decodes with
/// `base64.RawStdEncoding`); empty when serving without TLS.
/// This provider always listens on a unix socket, as Go plugins do on Linux.
pub fn handshake_line(
    protocol_version: u32,
    socket: &Path,
    server_cert_der: Option<&[u8]>,
) -> String {
    let cert = server_cert_der
        .map(|der| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
        .unwrap_or_default();
    let socket = socket.display();
    format!("{CORE_PROTOCOL_VERSION}|{protocol_version}|unix|{socket}|grpc|{cert}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_must_match_exactly() {
        assert_eq!(check_magic_cookie(Some(MAGIC_COOKIE_VALUE)), Ok(()));
        assert_eq!(
            check_magic_cookie(None),
            Err(HandshakeError::NotStartedByTerraform)
        );
        assert_eq!(
            check_magic_cookie(Some("nope")),
            Err(HandshakeError::NotStartedByTerraform)
        );
    }

    #[test]
    fn negotiates_highest_common_version() {
        assert_eq!(negotiate_protocol_version(Some("5,6")), Ok(6));
        assert_eq!(negotiate_protocol_version(Some("6, 5")), Ok(6));
        assert_eq!(negotiate_protocol_version(Some("5")), Ok(5));
        assert_eq!(negotiate_protocol_version(Some("4,5")), Ok(5));
        assert_eq!(negotiate_protocol_version(None), Ok(5));
        assert!(matches!(
            negotiate_protocol_version(Some("4,7")),
            Err(HandshakeError::NoCommonVersion { .. })
        ));
    }

    #[test]
    fn handshake_line_has_six_fields_and_unpadded_cert() {
        let line = handshake_line(6, Path::new("/tmp/plugin1"), Some(&[1, 2, 3, 4]));
        assert_eq!(line, "1|6|unix|/tmp/plugin1|grpc|AQIDBA\n");
        let fields: Vec<&str> = line.trim_end().split('|').collect();
        assert_eq!(fields.len(), 6);
        let plain = handshake_line(5, Path::new("/tmp/plugin2"), None);
        assert_eq!(plain, "1|5|unix|/tmp/plugin2|grpc|\n");
    }
}
