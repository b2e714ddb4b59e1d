//! The one credential type of the crate: an AK/SK pair (with the security token of temporary
//! credentials), or an IAM token.
//!
//! The provider configuration builds it, the client authenticates with it, the signer signs
//! with it and the simulator lists the credentials it accepts as values of it — so there is
//! one redaction rule, in [`Credentials`]'s `Debug`:
//!
//! - the **secret key**, the **security token** and the **IAM token** are never printed (only
//!   whether a security token is present);
//! - the **access key is shown**: it is an identifier, not a secret (the gateway itself echoes
//!   it in its error answers, and IAM lists it in the console), and seeing which key was used is
//!   what makes an authentication failure debuggable.
//!
//! `Display` is deliberately not implemented, so a credential cannot end up in a message by
//! accident; use [`Credentials::kind`] to name the method.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Printed in place of a secret.
const REDACTED: &str = "<redacted>";

/// How requests are authenticated. `Debug` shows the access key and never a secret.
///
/// In JSON (the simulator's configuration) an AK/SK credential is an object
/// `{"access_key": …, "secret_key": …, "security_token": …?}` and an IAM token a bare string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Credentials {
    /// AK/SK `SDK-HMAC-SHA256` signing; `security_token` for temporary credentials (sent and
    /// signed as `X-Security-Token`).
    AkSk {
        access_key: String,
        secret_key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        security_token: Option<String>,
    },
    /// An IAM token, sent as `X-Auth-Token`.
    Token(String),
}

impl Credentials {
    /// A permanent access key / secret key pair.
    pub fn ak_sk(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials::AkSk {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: None,
        }
    }

    /// Temporary credentials: an AK/SK pair that must be used with its security token.
    pub fn temporary(
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
        security_token: impl Into<String>,
    ) -> Self {
        Credentials::AkSk {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: Some(security_token.into()),
        }
    }

    /// An IAM token.
    pub fn token(token: impl Into<String>) -> Self {
        Credentials::Token(token.into())
    }

    /// The same AK/SK pair with `security_token` set (an IAM token is returned unchanged).
    pub fn with_security_token(self, token: impl Into<String>) -> Self {
        match self {
            Credentials::AkSk {
                access_key,
                secret_key,
                ..
            } => Credentials::AkSk {
                access_key,
                secret_key,
                security_token: Some(token.into()),
            },
            token_credentials => token_credentials,
        }
    }

    /// The access key of AK/SK credentials (an identifier, not a secret).
    pub fn access_key(&self) -> Option<&str> {
        match self {
            Credentials::AkSk { access_key, .. } => Some(access_key),
            Credentials::Token(_) => None,
        }
    }

    /// The secret key of AK/SK credentials; for signing only. Never log it.
    pub fn secret_key(&self) -> Option<&str> {
        match self {
            Credentials::AkSk { secret_key, .. } => Some(secret_key),
            Credentials::Token(_) => None,
        }
    }

    /// The security token of temporary credentials. Never log it.
    pub fn security_token(&self) -> Option<&str> {
        match self {
            Credentials::AkSk { security_token, .. } => security_token.as_deref(),
            Credentials::Token(_) => None,
        }
    }

    /// Who the gateway counts calls against, as far as the credentials tell: the access key
    /// (`ak:AK…`, trimmed), or a SHA-256 digest of the IAM token (`token:` and 16 hex digits;
    /// the token itself is a secret). Clients with the same identity share request budgets.
    pub fn identity(&self) -> String {
        use sha2::{Digest, Sha256};
        match self {
            Credentials::AkSk { access_key, .. } => format!("ak:{}", access_key.trim()),
            Credentials::Token(token) => {
                let digest = Sha256::digest(token.trim().as_bytes());
                format!("token:{}", hex::encode(&digest[..8]))
            }
        }
    }

    /// The method in words, for logs: `ak/sk`, `ak/sk with security token` or `token`.
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::AkSk {
                security_token: None,
                ..
            } => "ak/sk",
            Credentials::AkSk { .. } => "ak/sk with security token",
            Credentials::Token(_) => "token",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::AkSk {
                access_key,
                security_token,
                ..
            } => f
                .debug_struct("AkSk")
                .field("access_key", access_key)
                .field("secret_key", &REDACTED)
                .field("security_token", &security_token.as_ref().map(|_| REDACTED))
                .finish(),
            Credentials::Token(_) => f.debug_tuple("Token").field(&REDACTED).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_names_the_access_key_and_never_the_token() {
        assert_eq!(Credentials::ak_sk(" AK1 ", "s").identity(), "ak:AK1");
        assert_eq!(
            Credentials::temporary("AK1", "other", "tok").identity(),
            "ak:AK1"
        );
        let token = Credentials::token("iam-token-secret").identity();
        assert!(
            token.starts_with("token:") && token.len() == 6 + 16,
            "{token}"
        );
        assert!(!token.contains("secret"));
        assert_eq!(token, Credentials::token("iam-token-secret").identity());
        assert_ne!(token, Credentials::token("another-token").identity());
    }

    const AK: &str = "AKIDVISIBLE";
    const SK: &str = "secret-key-never-printed";
    const ST: &str = "security-token-never-printed";
    const TOKEN: &str = "iam-token-never-printed";

    #[test]
    fn debug_of_every_variant_hides_the_secrets_and_shows_the_access_key() {
        let every = [
            Credentials::ak_sk(AK, SK),
            Credentials::temporary(AK, SK, ST),
            Credentials::ak_sk(AK, SK).with_security_token(ST),
            Credentials::token(TOKEN),
        ];
        for credentials in &every {
            for text in [format!("{credentials:?}"), format!("{credentials:#?}")] {
                for secret in [SK, ST, TOKEN] {
                    assert!(!text.contains(secret), "{secret} printed in {text}");
                }
                if credentials.access_key().is_some() {
                    assert!(text.contains(AK), "{text}");
                }
            }
        }
        assert!(format!("{:?}", every[1]).contains("security_token: Some"));
        assert!(format!("{:?}", every[0]).contains("security_token: None"));
        // Inside other values too (the simulator's configuration holds a list of them).
        assert!(!format!("{every:?}").contains(SK));
    }

    #[test]
    fn accessors_and_kind() {
        let temporary = Credentials::temporary(AK, SK, ST);
        assert_eq!(temporary.access_key(), Some(AK));
        assert_eq!(temporary.secret_key(), Some(SK));
        assert_eq!(temporary.security_token(), Some(ST));
        assert_eq!(temporary.kind(), "ak/sk with security token");
        assert_eq!(Credentials::ak_sk(AK, SK).kind(), "ak/sk");
        let token = Credentials::token(TOKEN);
        assert_eq!(token.access_key(), None);
        assert_eq!(token.secret_key(), None);
        assert_eq!(token.kind(), "token");
        assert_eq!(token.clone().with_security_token(ST), token);
    }

    #[test]
    fn json_forms() {
        let parsed: Vec<Credentials> = serde_json::from_str(
            r#"[{"access_key":"A","secret_key":"S"},
                {"access_key":"B","secret_key":"S","security_token":"T"},
                "tok"]"#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            vec![
                Credentials::ak_sk("A", "S"),
                Credentials::temporary("B", "S", "T"),
                Credentials::token("tok"),
            ]
        );
        let round: Vec<Credentials> =
            serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
        assert_eq!(round, parsed);
    }
}
