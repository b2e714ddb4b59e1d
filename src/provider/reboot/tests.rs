//! Pure resource logic: validation, plans, upgrades, read and import. Applies against the
//! simulator are in `provider::tests`.

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::framework::resource::{AnyResource, Erased};
use crate::framework::{Context, Typed};
use crate::protocol::cty::Value;
use crate::protocol::diagnostics::{AttributePath, PathStep, Severity};
use crate::protocol::provider::{
    ImportResponse, PlanRequest, PlanResponse, ReadResponse, UpgradeResponse,
};
use crate::provider::ClientState;

// The resource as the registry drives it: cty values in and out, through the framework.

fn resource() -> Erased<RebootResource> {
    Erased(RebootResource)
}

fn context() -> Context<ClientState> {
    Context {
        data: ClientState::NotConfigured,
        cancel: CancellationToken::new(),
    }
}

fn validate(config: &Value) -> Diagnostics {
    resource().validate(config)
}

fn plan(request: &PlanRequest) -> PlanResponse {
    futures::executor::block_on(resource().plan(&context(), request.clone()))
}

fn upgrade(version: i64, raw_state: &serde_json::Value) -> UpgradeResponse {
    resource().upgrade(version, raw_state)
}

fn read(state: Value, private: Vec<u8>) -> ReadResponse {
    futures::executor::block_on(resource().read(&context(), state, private))
}

fn import(id: &str) -> ImportResponse {
    resource().import(id)
}

/// A triggers value as the model holds it.
fn typed_triggers(value: &Value) -> progress::Triggers {
    progress::Triggers::from_cty(value, &AttributePath::root())
        .unwrap_or(crate::framework::Value::Unknown)
}

/// Sets a top-level attribute of an object value.
fn set_attr(object: &mut Value, name: &str, value: Value) {
    if let Value::Object(attributes) = object {
        attributes.insert(name.to_owned(), value);
    }
}

static NULL: Value = Value::Null;

/// A resource configuration, as Terraform sends it (computed-only attributes null).
#[derive(Clone)]
pub(crate) struct Config {
    pub server_ids: Value,
    pub reboot_type: Value,
    pub triggers: Value,
    pub wait_for_ready: Value,
    pub max_unavailable: Value,
    pub drain: Value,
    pub timeouts: Value,
}

impl Config {
    pub fn ids(ids: &[&str]) -> Self {
        Config {
            server_ids: Value::Set(ids.iter().map(|id| Value::string(*id)).collect()),
            reboot_type: Value::Null,
            triggers: Value::Null,
            wait_for_ready: Value::Null,
            max_unavailable: Value::Null,
            drain: Value::Null,
            timeouts: Value::Null,
        }
    }

    pub fn triggers(mut self, entries: &[(&str, &str)]) -> Self {
        self.triggers = Value::Map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), Value::string(*v)))
                .collect(),
        );
        self
    }

    pub fn reboot_type(mut self, text: &str) -> Self {
        self.reboot_type = Value::string(text);
        self
    }

    pub fn wait(mut self, wait: bool) -> Self {
        self.wait_for_ready = Value::Bool(wait);
        self
    }

    pub fn max_unavailable(mut self, text: &str) -> Self {
        self.max_unavailable = Value::string(text);
        self
    }

    /// A `drain` block with these attributes set (the rest null).
    pub fn drain(mut self, set: &[(&str, &str)]) -> Self {
        let names = ["timeout", "on_timeout", "title", "message", "logoff_delay"];
        self.drain = Value::object(names.map(|name| {
            let value = set
                .iter()
                .find(|(key, _)| *key == name)
                .map_or(Value::Null, |(_, v)| Value::string(*v));
            (name, value)
        }));
        self
    }

    pub fn timeouts(mut self, create: Option<&str>, update: Option<&str>) -> Self {
        let slot = |t: Option<&str>| t.map_or(Value::Null, Value::string);
        self.timeouts = Value::object([("create", slot(create)), ("update", slot(update))]);
        self
    }

    pub fn value(&self) -> Value {
        Value::object([
            ("id", Value::Null),
            ("server_ids", self.server_ids.clone()),
            ("type", self.reboot_type.clone()),
            ("triggers", self.triggers.clone()),
            ("wait_for_ready", self.wait_for_ready.clone()),
            ("max_unavailable", self.max_unavailable.clone()),
            ("drain", self.drain.clone()),
            ("rebooted_at", Value::Null),
            ("pending_server_ids", Value::Null),
            ("timeouts", self.timeouts.clone()),
        ])
    }
}

/// Terraform's proposed new state for top-level attributes: computed-only attributes and
/// optional+computed ones left null in the configuration take the prior value; everything else
/// is the configuration.
pub(crate) fn proposed(prior: &Value, config: &Value) -> Value {
    let mut out = config.clone();
    if prior.is_null() {
        return out;
    }
    for name in ["id", "rebooted_at", "pending_server_ids"] {
        set_attr(&mut out, name, get(prior, name).clone());
    }
    for name in ["type", "wait_for_ready"] {
        if get(config, name).is_null() {
            set_attr(&mut out, name, get(prior, name).clone());
        }
    }
    out
}

pub(crate) fn plan_request(prior: &Value, config: &Value, prior_private: &[u8]) -> PlanRequest {
    PlanRequest {
        type_name: REBOOT_RESOURCE_NAME.to_owned(),
        prior_state: prior.clone(),
        proposed_new_state: if config.is_null() {
            Value::Null
        } else {
            proposed(prior, config)
        },
        config: config.clone(),
        prior_private: prior_private.to_vec(),
    }
}

const REBOOT_RESOURCE_NAME: &str = REBOOT_RESOURCE;

pub(crate) fn get<'a>(value: &'a Value, name: &str) -> &'a Value {
    value.get_attr(name).unwrap_or(&NULL)
}

fn error_paths(diagnostics: &Diagnostics) -> Vec<String> {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            d.attribute
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), ToString::to_string)
        })
        .collect()
}

/// A prior state as an earlier successful apply would have left it.
fn prior_state(config: &Config, rebooted_at: &str) -> Value {
    let mut state = config.value();
    set_attr(&mut state, "id", Value::string("id-1"));
    set_attr(&mut state, "rebooted_at", Value::string(rebooted_at));
    if state.get_attr("type").is_some_and(Value::is_null) {
        set_attr(&mut state, "type", Value::string("SOFT"));
    }
    if state.get_attr("wait_for_ready").is_some_and(Value::is_null) {
        set_attr(&mut state, "wait_for_ready", Value::Bool(true));
    }
    state
}

fn plan_of(prior: &Value, config: &Config) -> PlanResponse {
    plan(&plan_request(prior, &config.value(), &[]))
}

// ---- schema ----

#[test]
fn reboot_schema_shape() {
    let schema = resource().schema();
    assert_eq!(schema.version, 1);
    let block = &schema.block;
    let attr = |name: &str| {
        block
            .attribute(name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert!(attr("server_ids").required);
    assert_eq!(
        attr("server_ids").ty,
        crate::protocol::cty::Type::set(crate::protocol::cty::Type::String)
    );
    assert!(attr("type").optional && attr("type").computed);
    assert!(attr("wait_for_ready").optional && attr("wait_for_ready").computed);
    assert_eq!(
        attr("triggers").ty,
        crate::protocol::cty::Type::map(crate::protocol::cty::Type::String)
    );
    assert!(attr("triggers").optional && !attr("triggers").computed);
    for computed in ["id", "rebooted_at", "pending_server_ids"] {
        assert!(attr(computed).computed && !attr(computed).optional && !attr(computed).required);
    }
    assert!(attr("max_unavailable").optional && !attr("max_unavailable").computed);
    assert_eq!(block.block_types.len(), 2);
    let drain = &block.block_types[0];
    assert_eq!(drain.type_name, "drain");
    assert_eq!(drain.nesting, crate::protocol::schema::Nesting::Single);
    for name in ["timeout", "on_timeout", "title", "message", "logoff_delay"] {
        assert!(drain
            .block
            .attribute(name)
            .is_some_and(|a| a.optional && !a.computed));
    }
    let timeouts = &block.block_types[1];
    assert_eq!(timeouts.type_name, "timeouts");
    assert_eq!(timeouts.nesting, crate::protocol::schema::Nesting::Single);
    assert!(timeouts
        .block
        .attribute("create")
        .is_some_and(|a| a.optional));
    assert!(timeouts
        .block
        .attribute("update")
        .is_some_and(|a| a.optional));
    let crate::protocol::cty::Type::Object(fields) = schema.value_type() else {
        panic!("a block is an object");
    };
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "drain",
            "id",
            "max_unavailable",
            "pending_server_ids",
            "rebooted_at",
            "server_ids",
            "timeouts",
            "triggers",
            "type",
            "wait_for_ready"
        ]
    );
}

#[test]
fn documented_timeout_defaults_are_the_applied_ones() {
    let shown = format!(
        "Default `\"{}\"`",
        crate::provider::duration::format_go_duration(DEFAULT_TIMEOUT)
    );
    for decl in <Timeouts as crate::framework::Model>::declarations() {
        assert!(decl.full_description().contains(&shown), "{}", decl.name);
    }
}

// ---- validation ----

#[test]
fn valid_configurations_pass() {
    for config in [
        Config::ids(&["a"]),
        Config::ids(&["a", "b"])
            .reboot_type("HARD")
            .wait(false)
            .timeouts(Some("1h30m"), Some("90s")),
        Config::ids(&[&"x".repeat(128)]).triggers(&[("k", "v")]),
    ] {
        let diagnostics = validate(&config.value());
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    }
}

#[test]
fn each_validation_error_points_at_its_attribute() {
    let cases: Vec<(Config, &str)> = vec![
        (Config::ids(&[]), "server_ids"),
        (Config::ids(&[""]), "server_ids"),
        (Config::ids(&[&"x".repeat(129)]), "server_ids"),
        (Config::ids(&["a"]).reboot_type("soft"), "type"),
        (Config::ids(&["a"]).reboot_type("MEDIUM"), "type"),
        (
            Config::ids(&["a"]).timeouts(Some("30 minutes"), None),
            "timeouts.create",
        ),
        (
            Config::ids(&["a"]).timeouts(None, Some("0s")),
            "timeouts.update",
        ),
        (
            Config::ids(&["a"]).timeouts(None, Some("-5m")),
            "timeouts.update",
        ),
    ];
    for (config, path) in cases {
        let diagnostics = validate(&config.value());
        assert_eq!(
            error_paths(&diagnostics),
            vec![path.to_owned()],
            "{diagnostics:#?}"
        );
    }
    // The path of a nested attribute is two steps, as Terraform expects.
    let diagnostics = validate(&Config::ids(&["a"]).timeouts(Some("x"), None).value());
    assert_eq!(
        diagnostics.0[0].attribute,
        Some(AttributePath(vec![
            PathStep::Attribute("timeouts".into()),
            PathStep::Attribute("create".into())
        ]))
    );
    // Every bad ID gets its own diagnostic.
    assert_eq!(
        error_paths(&validate(
            &Config::ids(&["", &"y".repeat(200), "ok"]).value()
        ))
        .len(),
        2
    );
    // A suggestion for the wrong case.
    let diagnostics = validate(&Config::ids(&["a"]).reboot_type("hard").value());
    assert!(diagnostics.0[0].detail.contains("\"HARD\""));
}

#[test]
fn waves_and_drain_are_validated_at_their_attributes() {
    let cases: Vec<(Config, &str)> = vec![
        (Config::ids(&["a"]).max_unavailable("0"), "max_unavailable"),
        (
            Config::ids(&["a"]).max_unavailable("25 %"),
            "max_unavailable",
        ),
        (
            Config::ids(&["a"]).max_unavailable("120%"),
            "max_unavailable",
        ),
        (
            Config::ids(&["a"]).max_unavailable("2").wait(false),
            "max_unavailable",
        ),
        (Config::ids(&["a"]).drain(&[]).wait(false), "drain"),
        (
            Config::ids(&["a"]).drain(&[("on_timeout", "wait")]),
            "drain.on_timeout",
        ),
        (
            Config::ids(&["a"]).drain(&[("timeout", "ten minutes")]),
            "drain.timeout",
        ),
        (
            Config::ids(&["a"]).drain(&[("logoff_delay", "-1m")]),
            "drain.logoff_delay",
        ),
    ];
    for (config, path) in cases {
        let diagnostics = validate(&config.value());
        assert_eq!(
            error_paths(&diagnostics),
            vec![path.to_owned()],
            "{diagnostics:#?}"
        );
    }
    let fine = Config::ids(&["a", "b"]).max_unavailable("25%").drain(&[
        ("timeout", "2m"),
        ("on_timeout", "logoff"),
        ("message", "Save"),
    ]);
    assert!(validate(&fine.value()).is_empty());
}

#[test]
fn rollout_plan_checks() {
    // A drain without waves: one warning at `drain`; nothing else (no provider, no lookup).
    let response = plan_of(&Value::Null, &Config::ids(&["a", "b"]).drain(&[]));
    let warnings: Vec<&Diagnostic> = response.diagnostics.iter().collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0].severity, Severity::Warning);
    assert!(warnings[0]
        .detail
        .contains("all 2 listed server(s) are one wave"));
    // With waves, no warning.
    let config = Config::ids(&["a", "b"]).drain(&[]).max_unavailable("1");
    assert!(plan_of(&Value::Null, &config).diagnostics.is_empty());
    // An explicit timeout shorter than one drained wave: an error at it.
    let short = config.clone().timeouts(Some("10m"), None);
    let response = plan_of(&Value::Null, &short);
    assert_eq!(error_paths(&response.diagnostics), ["timeouts.create"]);
    assert!(
        response.diagnostics.0[0]
            .detail
            .contains("at least \"15m\""),
        "{:#?}",
        response.diagnostics
    );
    // Long enough, or no rollout settings: fine.
    let long = config.timeouts(Some("16m"), None);
    assert!(plan_of(&Value::Null, &long).diagnostics.is_empty());
    let plain = Config::ids(&["a"]).timeouts(Some("1s"), None);
    assert!(plan_of(&Value::Null, &plain).diagnostics.is_empty());
}

#[test]
fn unknown_values_are_not_validated() {
    let mut config = Config::ids(&["a"]);
    config.server_ids = Value::unknown();
    config.reboot_type = Value::unknown();
    config.timeouts = Value::object([("create", Value::unknown()), ("update", Value::Null)]);
    assert!(validate(&config.value()).is_empty());
    // An unknown element next to a bad one: only the bad one is reported.
    config.server_ids = Value::Set(vec![Value::unknown(), Value::string("")]);
    assert_eq!(error_paths(&validate(&config.value())), ["server_ids"]);
    // An unknown timeouts block.
    config.timeouts = Value::unknown();
    config.server_ids = Value::Set(vec![Value::unknown()]);
    assert!(validate(&config.value()).is_empty());
}

// ---- plans ----

#[test]
fn create_plan_fills_defaults_and_leaves_computed_unknown() {
    let config = Config::ids(&["a", "b"]);
    let response = plan_of(&Value::Null, &config);
    assert!(
        response.diagnostics.is_empty(),
        "{:#?}",
        response.diagnostics
    );
    assert!(response.requires_replace.is_empty());
    let planned = &response.planned_state;
    assert!(get(planned, "id").is_unknown());
    assert!(get(planned, "rebooted_at").is_unknown());
    assert_eq!(get(planned, "type"), &Value::string("SOFT"));
    assert_eq!(get(planned, "wait_for_ready"), &Value::Bool(true));
    assert_eq!(get(planned, "server_ids"), &config.server_ids);
    assert!(get(planned, "triggers").is_null());
    assert!(get(planned, "timeouts").is_null());
    assert!(response.planned_private.is_empty());

    // Configured values are planned exactly as configured.
    let config = Config::ids(&["a"])
        .reboot_type("HARD")
        .wait(false)
        .triggers(&[("k", "v")]);
    let planned = plan_of(&Value::Null, &config).planned_state;
    assert_eq!(get(&planned, "type"), &Value::string("HARD"));
    assert_eq!(get(&planned, "wait_for_ready"), &Value::Bool(false));
    assert_eq!(get(&planned, "triggers"), &config.triggers);
}

#[test]
fn unchanged_configuration_plans_the_prior_state() {
    let config = Config::ids(&["a", "b"]).triggers(&[("image", "v1")]);
    let prior = prior_state(&config, "2024-05-01T12:00:00Z");
    let response = plan_of(&prior, &config);
    assert_eq!(
        response.planned_state, prior,
        "no change must plan exactly the prior state"
    );
}

#[test]
fn trigger_change_plans_a_reboot() {
    let before = Config::ids(&["a"]).triggers(&[("image", "v1")]);
    let prior = prior_state(&before, "2024-05-01T12:00:00Z");
    for after in [
        Config::ids(&["a"]).triggers(&[("image", "v2")]),
        Config::ids(&["a"]).triggers(&[("image", "v1"), ("extra", "x")]),
        Config::ids(&["a"]).triggers(&[]),
        Config::ids(&["a"]),
    ] {
        let planned = plan_of(&prior, &after).planned_state;
        assert!(
            get(&planned, "rebooted_at").is_unknown(),
            "{:?}",
            after.triggers
        );
        assert_eq!(get(&planned, "id"), &Value::string("id-1"));
        assert_eq!(get(&planned, "triggers"), &after.triggers);
    }
}

#[test]
fn unknown_triggers_plan_a_reboot() {
    let before = Config::ids(&["a"]).triggers(&[("image", "v1")]);
    let prior = prior_state(&before, "2024-05-01T12:00:00Z");
    let mut after = before.clone();
    after.triggers = Value::unknown();
    let planned = plan_of(&prior, &after).planned_state;
    assert!(get(&planned, "rebooted_at").is_unknown());
    assert!(get(&planned, "triggers").is_unknown());

    after.triggers = Value::Map(BTreeMap::from([("image".to_owned(), Value::unknown())]));
    assert!(get(&plan_of(&prior, &after).planned_state, "rebooted_at").is_unknown());
}

#[test]
fn null_and_empty_triggers_are_the_same() {
    let prior = prior_state(&Config::ids(&["a"]), "2024-05-01T12:00:00Z");
    let planned = plan_of(&prior, &Config::ids(&["a"]).triggers(&[])).planned_state;
    assert_eq!(
        get(&planned, "rebooted_at"),
        &Value::string("2024-05-01T12:00:00Z")
    );
    assert_eq!(get(&planned, "triggers"), &Value::Map(BTreeMap::new()));
}

#[test]
fn changes_other_than_triggers_plan_no_reboot() {
    let before = Config::ids(&["a", "b"]).triggers(&[("image", "v1")]);
    let prior = prior_state(&before, "2024-05-01T12:00:00Z");
    for after in [
        Config::ids(&["a", "c"]).triggers(&[("image", "v1")]),
        Config::ids(&["a", "b"])
            .triggers(&[("image", "v1")])
            .reboot_type("HARD"),
        Config::ids(&["a", "b"])
            .triggers(&[("image", "v1")])
            .wait(false),
        Config::ids(&["a", "b"])
            .triggers(&[("image", "v1")])
            .timeouts(Some("5m"), None),
        // Waves and draining decide how, never whether.
        Config::ids(&["a", "b"])
            .triggers(&[("image", "v1")])
            .max_unavailable("1"),
        Config::ids(&["a", "b"])
            .triggers(&[("image", "v1")])
            .drain(&[("on_timeout", "logoff")]),
    ] {
        let planned = plan_of(&prior, &after).planned_state;
        assert_eq!(
            get(&planned, "rebooted_at"),
            &Value::string("2024-05-01T12:00:00Z")
        );
        assert_eq!(get(&planned, "id"), &Value::string("id-1"));
        assert_eq!(get(&planned, "server_ids"), &after.server_ids);
        assert_eq!(get(&planned, "timeouts"), &after.timeouts);
    }
    // Removing `type = "HARD"` from the configuration plans the default again, not the prior.
    let hard = Config::ids(&["a"]).reboot_type("HARD");
    let prior = prior_state(&hard, "2024-05-01T12:00:00Z");
    let planned = plan_of(&prior, &Config::ids(&["a"])).planned_state;
    assert_eq!(get(&planned, "type"), &Value::string("SOFT"));
}

#[test]
fn destroy_plans_null() {
    let prior = prior_state(&Config::ids(&["a"]), "2024-05-01T12:00:00Z");
    let response = plan(&plan_request(&prior, &Value::Null, b"whatever"));
    assert_eq!(response.planned_state, Value::Null);
    assert!(response.diagnostics.is_empty());
}

#[test]
fn plan_is_stable_between_plan_and_apply_time() {
    let before = Config::ids(&["a"]).triggers(&[("image", "v1")]);
    let prior = prior_state(&before, "2024-05-01T12:00:00Z");
    let mut first_config = Config::ids(&["a"]).triggers(&[("image", "v1")]);
    first_config.triggers = Value::unknown();
    first_config.server_ids = Value::unknown();
    let first = plan_of(&prior, &first_config).planned_state;
    // At apply time the triggers turn out unchanged: the values known at first stay the same.
    let second = plan_of(&prior, &before).planned_state;
    for name in ["id", "type", "wait_for_ready", "timeouts"] {
        assert_eq!(get(&first, name), get(&second, name), "{name}");
    }
    assert!(get(&first, "rebooted_at").is_unknown());
    // And the same inputs always give the same plan.
    assert_eq!(plan_of(&prior, &before).planned_state, second);
    let create = Config::ids(&["a"]).timeouts(Some("10m"), None);
    assert_eq!(
        plan_of(&Value::Null, &create).planned_state,
        plan_of(&Value::Null, &create).planned_state
    );
}

#[test]
fn plan_rejects_invalid_final_values() {
    let response = plan_of(&Value::Null, &Config::ids(&["a"]).reboot_type("soft"));
    assert_eq!(error_paths(&response.diagnostics), ["type"]);
}

#[test]
fn plan_passes_progress_through_and_announces_a_resume() {
    let before = Config::ids(&["a", "b", "c"]).triggers(&[("image", "v1")]);
    let after = Config::ids(&["a", "b", "c"]).triggers(&[("image", "v2")]);
    let prior = prior_state(&before, "2024-05-01T12:00:00Z");
    let target = triggers_fingerprint(
        &normalized_triggers(&typed_triggers(&after.triggers)).unwrap_or_default(),
    );
    let progress = RebootProgress::new(target, ["a".to_owned()].into()).encode();
    let response = plan(&plan_request(&prior, &after.value(), &progress));
    assert_eq!(response.planned_private, progress);
    let warning = response
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Warning);
    assert!(
        warning.is_some_and(|w| w.detail.contains("1 of the 3")),
        "{:#?}",
        response.diagnostics
    );
    // Progress towards other triggers is not announced.
    let other = Config::ids(&["a", "b", "c"]).triggers(&[("image", "v3")]);
    assert!(plan(&plan_request(&prior, &other.value(), &progress))
        .diagnostics
        .is_empty());
}

// ---- upgrade, read, import ----

#[test]
fn upgrade_from_version_0_and_1() {
    let raw = serde_json::json!({
        "id": "id-1",
        "server_ids": ["b", "a"],
        "type": "HARD",
        "triggers": {"image": "v1"},
        "wait_for_ready": false,
        "rebooted_at": "2024-05-01T12:00:00Z",
        "timeouts": {"create": "10m"},
        "removed_attribute": 1
    });
    for version in [0, 1] {
        let response = upgrade(version, &raw);
        assert!(
            response.diagnostics.is_empty(),
            "{:#?}",
            response.diagnostics
        );
        let state = &response.upgraded_state;
        assert_eq!(get(state, "id"), &Value::string("id-1"));
        assert_eq!(
            get(state, "server_ids"),
            &Value::Set(vec![Value::string("a"), Value::string("b")])
        );
        assert_eq!(get(state, "type"), &Value::string("HARD"));
        assert_eq!(get(state, "wait_for_ready"), &Value::Bool(false));
        assert_eq!(get(get(state, "timeouts"), "create"), &Value::string("10m"));
        assert!(get(get(state, "timeouts"), "update").is_null());
        assert_eq!(
            get(state, "triggers"),
            &Value::Map(BTreeMap::from([("image".to_owned(), Value::string("v1"))]))
        );
        assert!(state.get_attr("removed_attribute").is_none());
        // Written before `pending_server_ids` existed: null, "not recorded", which hands
        // nothing over to a replacement.
        assert!(get(state, "pending_server_ids").is_null());
    }
    // Missing attributes are null; the object has exactly the current attributes.
    let response = upgrade(0, &serde_json::json!({"id": "x", "server_ids": ["a"]}));
    let Value::Object(attributes) = &response.upgraded_state else {
        panic!("an object: {response:#?}");
    };
    assert_eq!(attributes.len(), 10);
    assert!(attributes["triggers"].is_null() && attributes["timeouts"].is_null());
    // A current state with the attribute keeps it.
    let mut current = raw.clone();
    current["pending_server_ids"] = serde_json::json!(["b"]);
    let response = upgrade(1, &current);
    assert!(response.diagnostics.is_empty(), "{response:#?}");
    assert_eq!(
        get(&response.upgraded_state, "pending_server_ids"),
        &Value::Set(vec![Value::string("b")])
    );
}

#[test]
fn upgrade_refuses_what_it_cannot_read() {
    let future = upgrade(2, &serde_json::json!({}));
    assert!(
        future.diagnostics.has_errors() && future.diagnostics.0[0].detail.contains("version 2")
    );
    assert!(upgrade(1, &serde_json::json!([1])).diagnostics.has_errors());
    let wrong = upgrade(1, &serde_json::json!({"server_ids": "a"}));
    assert_eq!(error_paths(&wrong.diagnostics), ["server_ids"]);
}

#[test]
fn read_returns_state_and_private_unchanged() {
    let state = prior_state(&Config::ids(&["a"]), "2024-05-01T12:00:00Z");
    let response = read(state.clone(), b"progress".to_vec());
    assert_eq!(response.new_state, state);
    assert_eq!(response.private, b"progress");
    assert!(response.diagnostics.is_empty());
}

#[test]
fn import_is_refused_with_an_explanation() {
    let response = import("anything");
    assert!(response.imported.is_empty());
    assert!(response.diagnostics.has_errors());
    assert!(response.diagnostics.0[0].detail.contains("nothing to"));
}
