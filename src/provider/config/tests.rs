use super::*;
use crate::framework::Model;
use crate::protocol::cty::{Number, Value as Cty};
use crate::protocol::diagnostics::{PathStep, Severity};
use crate::provider::environment::MapEnvironment;

const ALL_ARGS: [&str; 11] = [
    "region",
    "project_id",
    "access_key",
    "secret_key",
    "security_token",
    "token",
    "endpoint",
    "cloud",
    "insecure",
    "max_retries",
    "max_requests_per_second",
];

/// A provider configuration: every argument null except the ones given, decoded as the
/// framework decodes what Terraform sends.
fn config(set: &[(&str, Cty)]) -> ProviderConfig {
    let mut object: std::collections::BTreeMap<String, Cty> = ALL_ARGS
        .iter()
        .map(|name| (name.to_string(), Cty::Null))
        .collect();
    for (name, value) in set {
        object.insert(name.to_string(), value.clone());
    }
    match ProviderConfig::decode(&Cty::Object(object)) {
        Ok(config) => config,
        Err(diagnostics) => panic!("not a provider configuration: {diagnostics:#?}"),
    }
}

fn s(text: &str) -> Cty {
    Cty::string(text)
}

fn no_env() -> MapEnvironment {
    MapEnvironment::default()
}

fn errors(diagnostics: &Diagnostics) -> Vec<&Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

/// The single error diagnostic, which must point at `argument` and mention its env var.
fn single_error_at(diagnostics: &Diagnostics, arg: Arg) -> Diagnostic {
    let errs = errors(diagnostics);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    let d = errs[0].clone();
    assert_eq!(
        d.attribute,
        Some(AttributePath(vec![PathStep::Attribute(
            arg.name().to_owned()
        )])),
        "{d:#?}"
    );
    let text = format!("{} {}", d.summary, d.detail);
    assert!(
        text.contains(&format!("`{}`", arg.name())),
        "argument not named: {text}"
    );
    assert!(text.contains(arg.env()), "env var not named: {text}");
    d
}

fn ready(config_value: &ProviderConfig, env: &MapEnvironment) -> ProviderSettings {
    match resolve(config_value, env) {
        (Resolution::Ready(settings), diagnostics) => {
            assert!(diagnostics.is_empty(), "{diagnostics:#?}");
            *settings
        }
        other => panic!("expected ready settings, got {other:#?}"),
    }
}

#[test]
fn aksk_configuration_with_defaults() {
    let settings = ready(
        &config(&[
            ("region", s("cn-north-4")),
            ("project_id", s("p1")),
            ("access_key", s("AK")),
            ("secret_key", s("SK")),
        ]),
        &no_env(),
    );
    assert_eq!(settings.project_id, "p1");
    assert_eq!(
        settings.target,
        Target::Region {
            region: "cn-north-4".into(),
            cloud: DEFAULT_CLOUD.into()
        }
    );
    assert_eq!(
        settings.credentials,
        Credentials::AkSk {
            access_key: "AK".into(),
            secret_key: "SK".into(),
            security_token: None
        }
    );
    assert!(!settings.insecure);
    assert_eq!(settings.max_retries, 5);
    assert_eq!(settings.wait, WaitTuning::default());
}

#[test]
fn everything_from_the_environment() {
    let env = MapEnvironment::new([
        ("HW_PROJECT_ID", "p-env"),
        ("HW_WORKSPACE_ENDPOINT", "http://127.0.0.1:8080"),
        ("HW_ACCESS_KEY", "AK"),
        ("HW_SECRET_KEY", "SK"),
        ("HW_SECURITY_TOKEN", "ST"),
        ("HW_INSECURE", "true"),
        ("HW_MAX_RETRIES", "0"),
        ("HW_WORKSPACE_POLL_INTERVAL", "100ms"),
        ("HW_WORKSPACE_SETTLE_TIME", "0s"),
    ]);
    let settings = ready(&config(&[]), &env);
    assert_eq!(settings.project_id, "p-env");
    assert!(
        matches!(&settings.target, Target::BaseUrl(url) if url.as_str() == "http://127.0.0.1:8080/")
    );
    assert_eq!(
        settings.credentials,
        Credentials::AkSk {
            access_key: "AK".into(),
            secret_key: "SK".into(),
            security_token: Some("ST".into())
        }
    );
    assert!(settings.insecure);
    assert_eq!(settings.max_retries, 0);
    assert_eq!(
        settings.wait.poll_interval,
        Some(Duration::from_millis(100))
    );
    assert_eq!(settings.wait.settle_time, Some(Duration::ZERO));
}

#[test]
fn configuration_wins_over_environment_and_empty_string_falls_back() {
    let env = MapEnvironment::new([
        ("HW_PROJECT_ID", "p-env"),
        ("HW_REGION_NAME", "cn-east-3"),
        ("HW_AUTH_TOKEN", "tok-env"),
        ("HW_CLOUD", "example.com"),
        ("HW_MAX_RETRIES", "7"),
    ]);
    let settings = ready(
        &config(&[
            ("project_id", s("p-config")),
            ("region", s("")),
            ("max_retries", Cty::Number(Number::Int(3))),
        ]),
        &env,
    );
    assert_eq!(settings.project_id, "p-config");
    assert_eq!(
        settings.target,
        Target::Region {
            region: "cn-east-3".into(),
            cloud: "example.com".into()
        }
    );
    assert_eq!(settings.credentials, Credentials::Token("tok-env".into()));
    assert_eq!(settings.max_retries, 3);
}

#[test]
fn missing_project_names_argument_and_variable() {
    let (resolution, diagnostics) = resolve(
        &config(&[("region", s("cn-north-4")), ("token", s("t"))]),
        &no_env(),
    );
    assert_eq!(resolution, Resolution::Invalid);
    single_error_at(&diagnostics, PROJECT_ID);
}

#[test]
fn missing_region_without_endpoint() {
    let (_, diagnostics) = resolve(
        &config(&[("project_id", s("p")), ("token", s("t"))]),
        &no_env(),
    );
    let d = single_error_at(&diagnostics, REGION);
    assert!(d.detail.contains("HW_WORKSPACE_ENDPOINT"), "{}", d.detail);
}

#[test]
fn missing_credentials() {
    let (_, diagnostics) = resolve(
        &config(&[("project_id", s("p")), ("region", s("r"))]),
        &no_env(),
    );
    let d = single_error_at(&diagnostics, ACCESS_KEY);
    for name in ["HW_SECRET_KEY", "HW_AUTH_TOKEN", "`token`"] {
        assert!(d.detail.contains(name), "{name} not in {}", d.detail);
    }
}

#[test]
fn access_key_without_secret_key_and_the_reverse() {
    let base = [("project_id", s("p")), ("region", s("r"))];
    let (_, diagnostics) = resolve(
        &config(&[base[0].clone(), base[1].clone(), ("access_key", s("AK"))]),
        &no_env(),
    );
    single_error_at(&diagnostics, SECRET_KEY);

    let env = MapEnvironment::new([("HW_SECRET_KEY", "SK")]);
    let (_, diagnostics) = resolve(&config(&base), &env);
    let d = single_error_at(&diagnostics, ACCESS_KEY);
    assert!(
        d.detail
            .contains("by the HW_SECRET_KEY environment variable"),
        "{}",
        d.detail
    );
}

#[test]
fn security_token_needs_aksk() {
    let (_, diagnostics) = resolve(
        &config(&[
            ("project_id", s("p")),
            ("region", s("r")),
            ("security_token", s("ST")),
        ]),
        &no_env(),
    );
    single_error_at(&diagnostics, SECURITY_TOKEN);

    let (_, diagnostics) = resolve(
        &config(&[
            ("project_id", s("p")),
            ("region", s("r")),
            ("security_token", s("ST")),
            ("token", s("T")),
        ]),
        &no_env(),
    );
    single_error_at(&diagnostics, SECURITY_TOKEN);
}

#[test]
fn token_and_aksk_conflict_even_across_sources() {
    let env = MapEnvironment::new([("HW_AUTH_TOKEN", "tok")]);
    let (resolution, diagnostics) = resolve(
        &config(&[
            ("project_id", s("p")),
            ("region", s("r")),
            ("access_key", s("AK")),
            ("secret_key", s("SK")),
        ]),
        &env,
    );
    assert_eq!(resolution, Resolution::Invalid);
    let d = single_error_at(&diagnostics, TOKEN);
    assert!(
        d.detail
            .contains("by the HW_AUTH_TOKEN environment variable"),
        "{}",
        d.detail
    );
    assert!(
        d.detail.contains("in the provider configuration"),
        "{}",
        d.detail
    );
}

#[test]
fn bad_numbers_bools_and_urls() {
    let base = || {
        vec![
            ("project_id", s("p")),
            ("region", s("r")),
            ("token", s("t")),
        ]
    };

    let mut set = base();
    set.push(("max_retries", Cty::Number(Number::Int(21))));
    let (_, diagnostics) = resolve(&config(&set), &no_env());
    assert!(single_error_at(&diagnostics, MAX_RETRIES)
        .detail
        .contains("got 21"));

    let mut set = base();
    set.push(("max_retries", Cty::Number(Number::Float(2.5))));
    let (_, diagnostics) = resolve(&config(&set), &no_env());
    single_error_at(&diagnostics, MAX_RETRIES);

    let (_, diagnostics) = resolve(
        &config(&base()),
        &MapEnvironment::new([("HW_MAX_RETRIES", "many")]),
    );
    single_error_at(&diagnostics, MAX_RETRIES);

    let (_, diagnostics) = resolve(
        &config(&base()),
        &MapEnvironment::new([("HW_INSECURE", "maybe")]),
    );
    single_error_at(&diagnostics, INSECURE);

    for bad in [
        "ftp://host",
        "not a url",
        "https://user:pw@host",
        "https://host/?q=1",
    ] {
        let mut set = base();
        set.push(("endpoint", s(bad)));
        let (_, diagnostics) = resolve(&config(&set), &no_env());
        let d = single_error_at(&diagnostics, ENDPOINT);
        assert!(
            !d.detail.contains("pw"),
            "URL secrets must not be echoed: {}",
            d.detail
        );
    }
}

#[test]
fn wait_tuning_errors_name_the_variable() {
    let base = config(&[
        ("project_id", s("p")),
        ("region", s("r")),
        ("token", s("t")),
    ]);
    for (var, value) in [
        ("HW_WORKSPACE_POLL_INTERVAL", "soon"),
        ("HW_WORKSPACE_POLL_INTERVAL", "0s"),
        ("HW_WORKSPACE_SETTLE_TIME", "-1s"),
    ] {
        let (resolution, diagnostics) = resolve(&base, &MapEnvironment::new([(var, value)]));
        assert_eq!(resolution, Resolution::Invalid);
        let errs = errors(&diagnostics);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].detail.contains(var), "{}", errs[0].detail);
    }
}

#[test]
fn unknown_values_defer_without_errors() {
    // Everything unknown: nothing to check, nothing to build.
    let all_unknown: Vec<(&str, Cty)> = ALL_ARGS.iter().map(|n| (*n, Cty::unknown())).collect();
    assert_eq!(
        resolve(&config(&all_unknown), &no_env()),
        (Resolution::Deferred, Diagnostics::new())
    );

    // An unknown secret key with a known access key is not "incomplete".
    let (resolution, diagnostics) = resolve(
        &config(&[
            ("project_id", s("p")),
            ("region", s("r")),
            ("access_key", s("AK")),
            ("secret_key", Cty::unknown()),
        ]),
        &no_env(),
    );
    assert_eq!(
        (resolution, diagnostics),
        (Resolution::Deferred, Diagnostics::new())
    );

    // An unknown endpoint excuses a missing region; an unknown token excuses missing AK/SK.
    let (resolution, diagnostics) = resolve(
        &config(&[
            ("project_id", s("p")),
            ("endpoint", Cty::unknown()),
            ("token", Cty::unknown()),
        ]),
        &no_env(),
    );
    assert_eq!(
        (resolution, diagnostics),
        (Resolution::Deferred, Diagnostics::new())
    );

    // A known bad value is still reported next to an unknown one.
    let (resolution, diagnostics) = resolve(
        &config(&[
            ("project_id", Cty::unknown()),
            ("max_retries", Cty::Number(Number::Int(-1))),
        ]),
        &MapEnvironment::new([("HW_REGION_NAME", "r"), ("HW_AUTH_TOKEN", "t")]),
    );
    assert_eq!(resolution, Resolution::Invalid);
    single_error_at(&diagnostics, MAX_RETRIES);
}

#[test]
fn validate_checks_form_and_config_contradictions_only() {
    // Missing everything is fine before configure: the environment may provide it.
    assert!(validate(&config(&[])).is_empty());
    assert!(validate(&config(&[("access_key", s("AK"))])).is_empty());
    single_error_at(&validate(&config(&[("endpoint", s("ftp://x"))])), ENDPOINT);
    single_error_at(
        &validate(&config(&[("token", s("t")), ("secret_key", s("SK"))])),
        TOKEN,
    );
    assert!(validate(&config(&[
        ("token", Cty::unknown()),
        ("secret_key", s("SK"))
    ]))
    .is_empty());
}

#[test]
fn secrets_never_appear_in_diagnostics_or_debug() {
    let secret = "SUPERSECRETVALUE";
    let cases = [
        config(&[
            ("access_key", s(secret)),
            ("token", s(secret)),
            ("secret_key", s(secret)),
        ]),
        config(&[("security_token", s(secret)), ("token", s(secret))]),
        config(&[("access_key", s(secret))]),
        config(&[("secret_key", s(secret))]),
        config(&[("security_token", s(secret))]),
    ];
    for case in &cases {
        let (_, diagnostics) = resolve(case, &no_env());
        assert!(!diagnostics.is_empty());
        assert!(!format!("{diagnostics:?}").contains(secret));
        assert!(!format!("{:?}", validate(case)).contains(secret));
    }
    // The decoded configuration hides every sensitive argument, the access key included.
    let everything = config(&[
        ("project_id", s("p")),
        ("region", s("r")),
        ("access_key", s(secret)),
        ("secret_key", s(secret)),
        ("security_token", s(secret)),
        ("token", s(secret)),
    ]);
    assert!(!format!("{everything:?}").contains(secret));
    // The workspace credentials' rule: secret key, security token and token are never
    // printed; the access key is an identifier and may be.
    let settings = ready(
        &config(&[
            ("project_id", s("p")),
            ("region", s("r")),
            ("access_key", s("AK-IDENTIFIER")),
            ("secret_key", s(secret)),
            ("security_token", s(secret)),
        ]),
        &no_env(),
    );
    assert!(!format!("{settings:?}").contains(secret));
    assert!(!format!("{:?}", Credentials::Token(secret.into())).contains(secret));
}

#[test]
fn provider_schema_secrets_are_sensitive_and_all_optional() {
    let schema = crate::provider::WorkspaceProvider::default().provider_schema();
    for attribute in &schema.block.attributes {
        assert!(
            attribute.optional && !attribute.required,
            "{}",
            attribute.name
        );
        let secret = ["access_key", "secret_key", "security_token", "token"]
            .contains(&attribute.name.as_str());
        assert_eq!(attribute.sensitive, secret, "{}", attribute.name);
    }
    assert_eq!(schema.block.attributes.len(), 11);
    assert_eq!(
        schema.block.attribute("insecure").map(|a| &a.ty),
        Some(&crate::protocol::cty::Type::Bool)
    );
    assert_eq!(
        schema.block.attribute("max_retries").map(|a| &a.ty),
        Some(&crate::protocol::cty::Type::Number)
    );
}

#[test]
fn every_argument_declares_its_environment_variable() {
    // The huaweicloud provider's names: interface, so spelled out here.
    let expected = [
        (REGION, "HW_REGION_NAME"),
        (PROJECT_ID, "HW_PROJECT_ID"),
        (ACCESS_KEY, "HW_ACCESS_KEY"),
        (SECRET_KEY, "HW_SECRET_KEY"),
        (SECURITY_TOKEN, "HW_SECURITY_TOKEN"),
        (TOKEN, "HW_AUTH_TOKEN"),
        (ENDPOINT, "HW_WORKSPACE_ENDPOINT"),
        (CLOUD, "HW_CLOUD"),
        (INSECURE, "HW_INSECURE"),
        (MAX_RETRIES, "HW_MAX_RETRIES"),
        (
            MAX_REQUESTS_PER_SECOND,
            "HW_WORKSPACE_MAX_REQUESTS_PER_SECOND",
        ),
    ];
    let declared: Vec<(&str, Option<&str>)> = ProviderConfig::declarations()
        .iter()
        .map(|decl| (decl.name, decl.attribute().and_then(|a| a.env)))
        .collect();
    assert_eq!(
        declared,
        expected
            .iter()
            .map(|(arg, env)| (arg.name(), Some(*env)))
            .collect::<Vec<_>>()
    );
    for (arg, env) in expected {
        assert_eq!(arg.env(), env);
    }
    assert_eq!(
        declared.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        ALL_ARGS
    );
    // The schema description names the variable, as the docs do.
    for decl in ProviderConfig::declarations() {
        let env = decl.attribute().and_then(|a| a.env).unwrap_or_default();
        assert!(decl.full_description().contains(env), "{}", decl.name);
    }
}

#[test]
fn max_requests_per_second_from_configuration_or_environment() {
    let base = [
        ("project_id", s("p")),
        ("region", s("r")),
        ("token", s("t")),
    ];
    let from_env = ready(
        &config(&base),
        &MapEnvironment::new([("HW_WORKSPACE_MAX_REQUESTS_PER_SECOND", "2.5")]),
    );
    assert_eq!(from_env.max_requests_per_second, Some(2.5));
    let mut with_arg = base.to_vec();
    with_arg.push(("max_requests_per_second", Cty::Number(Number::Int(10))));
    let configured = ready(
        &config(&with_arg),
        &MapEnvironment::new([("HW_WORKSPACE_MAX_REQUESTS_PER_SECOND", "2.5")]),
    );
    assert_eq!(configured.max_requests_per_second, Some(10.0));
    assert_eq!(
        ready(&config(&base), &no_env()).max_requests_per_second,
        None
    );
    // Every way of writing a number Rust's float parser takes.
    for (text, rate) in [(" .5 ", 0.5), ("+2", 2.0), ("1.5e1", 15.0), ("3.", 3.0)] {
        let from_env = ready(
            &config(&base),
            &MapEnvironment::new([("HW_WORKSPACE_MAX_REQUESTS_PER_SECOND", text)]),
        );
        assert_eq!(from_env.max_requests_per_second, Some(rate), "{text:?}");
    }
    let mut decimal = base.to_vec();
    decimal.push((
        "max_requests_per_second",
        Cty::Number(Number::Decimal("0.25".into())),
    ));
    assert_eq!(
        ready(&config(&decimal), &no_env()).max_requests_per_second,
        Some(0.25)
    );

    for (bad_arg, bad_env) in [
        (Some(Cty::Number(Number::Int(0))), None),
        (Some(Cty::Number(Number::Decimal("1e400".into()))), None),
        (None, Some("fast")),
        (None, Some("-1")),
        (None, Some("inf")),
        (None, Some("NaN")),
        (None, Some("0")),
    ] {
        let mut values = base.to_vec();
        if let Some(value) = bad_arg {
            values.push(("max_requests_per_second", value));
        }
        let vars: Vec<(&str, &str)> = bad_env
            .map(|text| vec![("HW_WORKSPACE_MAX_REQUESTS_PER_SECOND", text)])
            .unwrap_or_default();
        let (resolution, diagnostics) = resolve(&config(&values), &MapEnvironment::new(vars));
        assert_eq!(resolution, Resolution::Invalid);
        single_error_at(&diagnostics, MAX_REQUESTS_PER_SECOND);
    }
}
