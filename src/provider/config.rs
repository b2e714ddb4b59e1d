//! The `provider "workspace"` block: reading it with its environment fallbacks, checking it, and
//! turning it into settings for the API client.
//!
//! Rules:
//! - A value in the configuration wins; a null or empty string falls back to the environment
//!   variable (so `access_key = var.ak` with an empty default means "use HW_ACCESS_KEY").
//! - Every problem names the argument AND its environment variable, and points at the argument.
//! - Values unknown until apply are never an error: checks that involve one are skipped and the
//!   client is built later (Terraform configures the provider again, with known values, before
//!   it applies).
//! - Secrets are never echoed, not even in part.

use std::fmt;
use std::time::Duration;

use super::duration::parse_go_duration;
use super::environment::Environment;
use crate::framework::{Attr, Model, Value};
use crate::protocol::cty::Number;
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::workspace::Credentials;

crate::model! {
    /// The `provider "workspace"` block. Every argument is optional in the schema: each may
    /// come from its environment variable instead, and configure reports what is missing.
    pub struct ProviderConfig {
        pub region: Value<String> = Attr::optional().env("HW_REGION_NAME").description(
            "Region of the Workspace APP service, e.g. `cn-north-4`. Required unless `endpoint` \
             is set.",
        ),
        pub project_id: Value<String> = Attr::optional()
            .env("HW_PROJECT_ID")
            .description("**Required**: the ID of the project the servers belong to."),
        pub access_key: Value<String> = Attr::optional()
            .sensitive()
            .env("HW_ACCESS_KEY")
            .description("Access key for AK/SK signing. Set together with `secret_key`."),
        pub secret_key: Value<String> = Attr::optional()
            .sensitive()
            .env("HW_SECRET_KEY")
            .description("Secret key for AK/SK signing. Set together with `access_key`."),
        pub security_token: Value<String> = Attr::optional()
            .sensitive()
            .env("HW_SECURITY_TOKEN")
            .description(
                "Security token of temporary AK/SK credentials. Needs `access_key` and \
                 `secret_key`.",
            ),
        pub token: Value<String> = Attr::optional()
            .sensitive()
            .env("HW_AUTH_TOKEN")
            .description("IAM token, used instead of AK/SK."),
        pub endpoint: Value<String> = Attr::optional().env("HW_WORKSPACE_ENDPOINT").description(
            "Full base URL of the Workspace API (a private endpoint, or the local simulator), \
             overriding the one derived from `region` and `cloud`.",
        ),
        pub cloud: Value<String> = Attr::optional().env("HW_CLOUD").description(
            "Cloud domain used to derive the endpoint. Default `myhuaweicloud.com` \
             (`myhuaweicloud.eu` for `eu-west-1*` regions).",
        ),
        pub insecure: Value<bool> = Attr::optional().env("HW_INSECURE").description(
            "Skip TLS certificate verification altogether: the last resort (trust a private CA \
             with `SSL_CERT_FILE` or `SSL_CERT_DIR` instead). Default `false`.",
        ),
        pub max_retries: Value<Number> = Attr::optional().env("HW_MAX_RETRIES").description(
            "How many times a failed request (500/502/503/504, a broken connection, a timeout) \
             is retried, 0 to 20; throttled requests (429) are retried until the timeout. \
             Default `5`.",
        ),
        pub max_requests_per_second: Value<Number> = Attr::optional()
            .env("HW_WORKSPACE_MAX_REQUESTS_PER_SECOND")
            .description(
                "The request budget of each API (a method and path, such as the server list \
                 or the batch reboot), as Huawei's gateway counts its quotas per API and user: \
                 every call of that API by every resource in one apply shares it, and a \
                 throttled (429) answer halves it for a while, for that API alone. A positive \
                 number; fractions allowed. Default `1.5` (90 a minute per API: below the \
                 100-200 calls a minute per API and user of Huawei's Workspace API pages, with \
                 room for the account's other tools).",
            ),
    }
}

/// One provider argument, by name, for messages and paths; its environment variable is the
/// one its declaration above gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg(pub &'static str);

pub const REGION: Arg = Arg("region");
pub const PROJECT_ID: Arg = Arg("project_id");
pub const ACCESS_KEY: Arg = Arg("access_key");
pub const SECRET_KEY: Arg = Arg("secret_key");
pub const SECURITY_TOKEN: Arg = Arg("security_token");
pub const TOKEN: Arg = Arg("token");
pub const ENDPOINT: Arg = Arg("endpoint");
pub const CLOUD: Arg = Arg("cloud");
pub const INSECURE: Arg = Arg("insecure");
pub const MAX_RETRIES: Arg = Arg("max_retries");
pub const MAX_REQUESTS_PER_SECOND: Arg = Arg("max_requests_per_second");

/// Environment-only tuning of the wait for servers to be ready (tests, impatient users); see
/// the provider module's documentation for what each one means.
pub const ENV_POLL_INTERVAL: &str = "HW_WORKSPACE_POLL_INTERVAL";
pub const ENV_SETTLE_TIME: &str = "HW_WORKSPACE_SETTLE_TIME";

pub const DEFAULT_CLOUD: &str = "myhuaweicloud.com";
pub const DEFAULT_MAX_RETRIES: u32 = 5;
pub const MAX_MAX_RETRIES: u32 = 20;

impl Arg {
    pub fn name(self) -> &'static str {
        self.0
    }

    /// The environment variable the declaration names (a test checks every argument has one).
    pub fn env(self) -> &'static str {
        ProviderConfig::declarations()
            .iter()
            .find(|decl| decl.name == self.0)
            .and_then(|decl| decl.attribute()?.env)
            .unwrap_or("(no environment variable)")
    }

    fn path(self) -> AttributePath {
        AttributePath::attribute(self.0)
    }

    /// "`region` (or the HW_REGION_NAME environment variable)"
    fn both_names(self) -> String {
        format!("`{}` (or the {} environment variable)", self.0, self.env())
    }
}

/// Where a value came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Config,
    Env(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Config => f.write_str("in the provider configuration"),
            Origin::Env(var) => write!(f, "by the {var} environment variable"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Lookup<T> {
    Unknown,
    Unset,
    Found(T, Origin),
}

impl<T> Lookup<T> {
    fn is_unknown(&self) -> bool {
        matches!(self, Lookup::Unknown)
    }

    fn found(&self) -> Option<(&T, Origin)> {
        match self {
            Lookup::Found(value, origin) => Some((value, *origin)),
            Lookup::Unknown | Lookup::Unset => None,
        }
    }
}

/// Where the API lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Derive the host from the region table and the cloud domain.
    Region { region: String, cloud: String },
    /// A full base URL (`https://…`, or `http://…` for local use).
    BaseUrl(url::Url),
}

/// Optional overrides of the client's wait behaviour, from the environment only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitTuning {
    /// The steady interval between the starts of two polling rounds (`HW_WORKSPACE_POLL_INTERVAL`).
    pub poll_interval: Option<Duration>,
    /// The settle time (`HW_WORKSPACE_SETTLE_TIME`): a rebooted server that looks running and
    /// idle but never showed a sign of the reboot is taken as rebooted once this long has
    /// passed since the wait started (right after the reboot requests were accepted).
    pub settle_time: Option<Duration>,
}

/// A complete, checked provider configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSettings {
    pub project_id: String,
    pub target: Target,
    pub credentials: Credentials,
    pub insecure: bool,
    pub max_retries: u32,
    /// `None`: the client's default budget.
    pub max_requests_per_second: Option<f64>,
    pub wait: WaitTuning,
}

/// The outcome of reading the configuration at configure time.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    Ready(Box<ProviderSettings>),
    /// Some value is unknown until apply: nothing to build yet, nothing wrong either.
    Deferred,
    /// Errors were reported.
    Invalid,
}

/// Validation before configure (`terraform validate`): only values written in the
/// configuration are checked, and only for their form and for contradictions that no
/// environment variable could fix. Missing values are configure's business — the environment
/// may provide them.
pub fn validate(config: &ProviderConfig) -> Diagnostics {
    let mut reader = Reader {
        config,
        env: None,
        diagnostics: Diagnostics::new(),
    };
    let _ = reader.read();
    reader.diagnostics
}

/// Configure time: configuration plus environment, every rule.
pub fn resolve(config: &ProviderConfig, env: &dyn Environment) -> (Resolution, Diagnostics) {
    let mut reader = Reader {
        config,
        env: Some(env),
        diagnostics: Diagnostics::new(),
    };
    let resolution = reader.read();
    (resolution, reader.diagnostics)
}

struct Reader<'a> {
    config: &'a ProviderConfig,
    /// `None` while validating: no fallbacks, no "missing" errors.
    env: Option<&'a dyn Environment>,
    diagnostics: Diagnostics,
}

impl Reader<'_> {
    fn configuring(&self) -> bool {
        self.env.is_some()
    }

    fn env_var(&self, name: &str) -> Option<String> {
        self.env
            .and_then(|env| env.var(name))
            .filter(|v| !v.is_empty())
    }

    fn error(&mut self, arg: Arg, summary: &str, detail: String) {
        self.diagnostics
            .push(Diagnostic::error(summary, detail).at(arg.path()));
    }

    fn string(&self, value: &Value<String>, arg: Arg) -> Lookup<String> {
        match value {
            Value::Unknown => Lookup::Unknown,
            Value::Known(text) if !text.is_empty() => Lookup::Found(text.clone(), Origin::Config),
            _ => match self.env_var(arg.env()) {
                Some(text) => Lookup::Found(text, Origin::Env(arg.env())),
                None => Lookup::Unset,
            },
        }
    }

    fn read(&mut self) -> Resolution {
        let config = self.config;
        let region = self.string(&config.region, REGION);
        let project_id = self.string(&config.project_id, PROJECT_ID);
        let access_key = self.string(&config.access_key, ACCESS_KEY);
        let secret_key = self.string(&config.secret_key, SECRET_KEY);
        let security_token = self.string(&config.security_token, SECURITY_TOKEN);
        let token = self.string(&config.token, TOKEN);
        let endpoint = self.string(&config.endpoint, ENDPOINT);
        let cloud = self.string(&config.cloud, CLOUD);
        let insecure = self.insecure();
        let max_retries = self.max_retries();
        let max_requests_per_second = self.max_requests_per_second();
        let wait = self.wait_tuning();

        let base_url = match &endpoint {
            Lookup::Found(text, origin) => match parse_base_url(text) {
                Ok(url) => Lookup::Found(url, *origin),
                Err(why) => {
                    self.error(
                        ENDPOINT,
                        "Invalid endpoint",
                        format!(
                            "The endpoint set {origin} is not a usable base URL: {why}. Set {} \
                             to a full URL such as https://workspace.cn-north-4.myhuaweicloud.com.",
                            ENDPOINT.both_names()
                        ),
                    );
                    Lookup::Unset
                }
            },
            Lookup::Unknown => Lookup::Unknown,
            Lookup::Unset => Lookup::Unset,
        };

        if self.configuring() && project_id == Lookup::Unset {
            self.error(
                PROJECT_ID,
                "Missing project ID",
                format!(
                    "The provider needs the ID of the project the servers belong to. Set {}.",
                    PROJECT_ID.both_names()
                ),
            );
        }
        if self.configuring() && region == Lookup::Unset && endpoint == Lookup::Unset {
            self.error(
                REGION,
                "Missing region",
                format!(
                    "The provider needs a region to find the Workspace API. Set {}, or set {} \
                     to a full base URL.",
                    REGION.both_names(),
                    ENDPOINT.both_names()
                ),
            );
        }
        self.check_credentials(&access_key, &secret_key, &security_token, &token);

        if !self.configuring() || self.diagnostics.has_errors() {
            return if self.diagnostics.has_errors() {
                Resolution::Invalid
            } else {
                Resolution::Deferred
            };
        }
        let all_known = ![
            &region,
            &project_id,
            &access_key,
            &secret_key,
            &security_token,
            &token,
            &endpoint,
            &cloud,
        ]
        .iter()
        .any(|lookup| lookup.is_unknown())
            && !insecure.is_unknown()
            && !max_retries.is_unknown()
            && !max_requests_per_second.is_unknown()
            && !base_url.is_unknown();
        if !all_known {
            return Resolution::Deferred;
        }

        // check_credentials reported every other combination.
        let Some(credentials) = credentials(access_key, secret_key, security_token, token) else {
            return Resolution::Invalid;
        };
        let target = match (base_url, region) {
            (Lookup::Found(url, _), _) => Target::BaseUrl(url),
            (_, Lookup::Found(region, _)) => Target::Region {
                region,
                cloud: cloud
                    .found()
                    .map_or_else(|| DEFAULT_CLOUD.to_owned(), |(c, _)| c.clone()),
            },
            _ => return Resolution::Invalid,
        };
        let Some((project_id, _)) = project_id.found() else {
            return Resolution::Invalid;
        };
        Resolution::Ready(Box::new(ProviderSettings {
            project_id: project_id.clone(),
            target,
            credentials,
            insecure: insecure.found().is_some_and(|(b, _)| *b),
            max_retries: max_retries.found().map_or(DEFAULT_MAX_RETRIES, |(n, _)| *n),
            max_requests_per_second: max_requests_per_second.found().map(|(rate, _)| *rate),
            wait,
        }))
    }

    /// Exactly one authentication method: AK/SK (optionally with a security token) or a token.
    /// A rule is checked only when every value it involves is known.
    fn check_credentials(
        &mut self,
        access_key: &Lookup<String>,
        secret_key: &Lookup<String>,
        security_token: &Lookup<String>,
        token: &Lookup<String>,
    ) {
        if let (Some((_, token_origin)), Some((_, key_origin))) =
            (token.found(), access_key.found().or(secret_key.found()))
        {
            self.error(
                TOKEN,
                "Conflicting credentials",
                format!(
                    "An IAM token is set {token_origin} and an AK/SK key is set {key_origin}; use \
                     exactly one authentication method: either {} or {} with {}.",
                    TOKEN.both_names(),
                    ACCESS_KEY.both_names(),
                    SECRET_KEY.both_names()
                ),
            );
            return;
        }
        if let (Some((_, st_origin)), Some(_)) = (security_token.found(), token.found()) {
            self.error(
                SECURITY_TOKEN,
                "Conflicting credentials",
                format!(
                    "A security token is set {st_origin}, but {} belongs to temporary AK/SK \
                     credentials, not to an IAM token ({}). Remove one of them.",
                    SECURITY_TOKEN.both_names(),
                    TOKEN.both_names()
                ),
            );
            return;
        }
        if !self.configuring() {
            return;
        }
        match (access_key, secret_key) {
            (Lookup::Found(_, origin), Lookup::Unset) => self.error(
                SECRET_KEY,
                "Incomplete AK/SK credentials",
                format!(
                    "An access key is set {origin} but no secret key: set {}, or remove the \
                     access key.",
                    SECRET_KEY.both_names()
                ),
            ),
            (Lookup::Unset, Lookup::Found(_, origin)) => self.error(
                ACCESS_KEY,
                "Incomplete AK/SK credentials",
                format!(
                    "A secret key is set {origin} but no access key: set {}, or remove the \
                     secret key.",
                    ACCESS_KEY.both_names()
                ),
            ),
            (Lookup::Unset, Lookup::Unset) => match (security_token, token) {
                (Lookup::Found(_, origin), _) => self.error(
                    SECURITY_TOKEN,
                    "Incomplete temporary credentials",
                    format!(
                        "A security token is set {origin}, but temporary credentials ({}) also \
                         need {} and {}.",
                        SECURITY_TOKEN.both_names(),
                        ACCESS_KEY.both_names(),
                        SECRET_KEY.both_names()
                    ),
                ),
                (_, Lookup::Unset) => self.error(
                    ACCESS_KEY,
                    "Missing credentials",
                    format!(
                        "The provider needs credentials. Set {} and {} for AK/SK signing, or {} \
                         for an IAM token.",
                        ACCESS_KEY.both_names(),
                        SECRET_KEY.both_names(),
                        TOKEN.both_names()
                    ),
                ),
                _ => {}
            },
            _ => {}
        }
    }

    fn insecure(&mut self) -> Lookup<bool> {
        match &self.config.insecure {
            Value::Unknown => Lookup::Unknown,
            Value::Known(b) => Lookup::Found(*b, Origin::Config),
            Value::Null => match self.env_var(INSECURE.env()) {
                None => Lookup::Unset,
                Some(text) => match parse_go_bool(&text) {
                    Some(b) => Lookup::Found(b, Origin::Env(INSECURE.env())),
                    None => {
                        self.error(
                            INSECURE,
                            "Invalid insecure setting",
                            format!(
                                "The {} environment variable must be true or false (got {text:?}); \
                                 it is the fallback of the `insecure` argument.",
                                INSECURE.env()
                            ),
                        );
                        Lookup::Unset
                    }
                },
            },
        }
    }

    fn max_retries(&mut self) -> Lookup<u32> {
        let (parsed, origin, shown) = match &self.config.max_retries {
            Value::Unknown => return Lookup::Unknown,
            Value::Known(number) => (number.as_i64(), Origin::Config, number_text(number)),
            Value::Null => match self.env_var(MAX_RETRIES.env()) {
                None => return Lookup::Unset,
                Some(text) => (
                    text.trim().parse::<i64>().ok(),
                    Origin::Env(MAX_RETRIES.env()),
                    format!("{text:?}"),
                ),
            },
        };
        match parsed
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n <= MAX_MAX_RETRIES)
        {
            Some(n) => Lookup::Found(n, origin),
            None => {
                let shown = match parsed {
                    Some(n) => n.to_string(),
                    None => shown,
                };
                self.error(
                    MAX_RETRIES,
                    "Invalid max_retries",
                    format!(
                        "The retry count set {origin} must be a whole number from 0 to \
                         {MAX_MAX_RETRIES} (got {shown}). It is read from {}.",
                        MAX_RETRIES.both_names()
                    ),
                );
                Lookup::Unset
            }
        }
    }

    fn max_requests_per_second(&mut self) -> Lookup<f64> {
        let (parsed, origin, shown) = match &self.config.max_requests_per_second {
            Value::Unknown => return Lookup::Unknown,
            Value::Known(number) => (number.as_f64(), Origin::Config, number_text(number)),
            Value::Null => match self.env_var(MAX_REQUESTS_PER_SECOND.env()) {
                None => return Lookup::Unset,
                Some(text) => (
                    // The grammar of `str::parse::<f64>` for finite numbers; what else that
                    // parser takes ("inf", "NaN") is no valid rate either.
                    Number::parse(text.trim()).and_then(|number| number.as_f64()),
                    Origin::Env(MAX_REQUESTS_PER_SECOND.env()),
                    format!("{text:?}"),
                ),
            },
        };
        match parsed.filter(|rate| rate.is_finite() && *rate > 0.0) {
            Some(rate) => Lookup::Found(rate, origin),
            None => {
                self.error(
                    MAX_REQUESTS_PER_SECOND,
                    "Invalid max_requests_per_second",
                    format!(
                        "The request budget set {origin} must be a positive number of requests \
                         a second, such as 1.5 or 10 (got {shown}). It is read from {}.",
                        MAX_REQUESTS_PER_SECOND.both_names()
                    ),
                );
                Lookup::Unset
            }
        }
    }

    fn wait_tuning(&mut self) -> WaitTuning {
        let mut read = |var: &'static str| -> Option<Duration> {
            let text = self.env_var(var)?;
            match parse_go_duration(text.trim()) {
                Ok(d) if !d.is_zero() || var == ENV_SETTLE_TIME => Some(d),
                Ok(_) => {
                    self.diagnostics.push(Diagnostic::error(
                        "Invalid wait tuning",
                        format!("The {var} environment variable must be a positive duration such as \"5s\"."),
                    ));
                    None
                }
                Err(why) => {
                    self.diagnostics.push(Diagnostic::error(
                        "Invalid wait tuning",
                        format!("The {var} environment variable is not a duration: {why}."),
                    ));
                    None
                }
            }
        };
        WaitTuning {
            poll_interval: read(ENV_POLL_INTERVAL),
            settle_time: read(ENV_SETTLE_TIME),
        }
    }
}

/// The workspace client's credentials from the arguments: AK/SK (with the security token of
/// temporary credentials) when both keys are there, else the IAM token. `None` for any other
/// combination, which `check_credentials` has reported.
fn credentials(
    access_key: Lookup<String>,
    secret_key: Lookup<String>,
    security_token: Lookup<String>,
    token: Lookup<String>,
) -> Option<Credentials> {
    match (access_key, secret_key, token) {
        (Lookup::Found(access_key, _), Lookup::Found(secret_key, _), _) => {
            Some(Credentials::AkSk {
                access_key,
                secret_key,
                security_token: security_token.found().map(|(t, _)| t.clone()),
            })
        }
        (_, _, Lookup::Found(token, _)) => Some(Credentials::Token(token)),
        _ => None,
    }
}

fn number_text(number: &Number) -> String {
    match number {
        Number::Int(i) => i.to_string(),
        Number::Float(f) => f.to_string(),
        Number::Decimal(d) => d.clone(),
    }
}

/// Go's `strconv.ParseBool`, which is what users of Go providers expect of `HW_INSECURE`.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A base URL override: http(s), with a host, no user name or password (which would end up in
/// logs), no query or fragment.
fn parse_base_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "the scheme must be https (or http for local use), not {:?}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("it has no host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("it must not carry a user name or password".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("it must not have a query or fragment".to_owned());
    }
    Ok(url)
}

#[cfg(test)]
mod tests;
