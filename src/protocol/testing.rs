//! A small provider for the protocol layer's own tests, unit and end to end: it knows nothing
//! of Huawei Cloud, records what it was called with, and offers one of each kind of object.
//!
//! - resource `test_thing`: its plan fills in the computed `id`, its apply sets it;
//! - data source `test_lookup`: reads back its `name` with `id = "found-<name>"`;
//! - action `test_thing` (sharing the resource's name: kinds are separate name spaces): sends
//!   `count` progress messages `step 1 of N` … then returns a warning;
//! - action `test_fail`: sends one progress message, then returns an error on `reason`;
//! - action `test_wait`: sends `waiting for stop`, then waits until [`Provider::stop`] and
//!   returns an "Interrupted" error;
//! - action `test_panic`: panics.
//!
//! Not used by the provider binary; it is public so that integration tests can serve it.

use super::cty::{Type, Value};
use super::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use super::provider::*;
use super::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

pub const RESOURCE: &str = "test_thing";
pub const DATA_SOURCE: &str = "test_lookup";
/// The action that shares its name with the resource.
pub const ACTION: &str = RESOURCE;
pub const FAILING_ACTION: &str = "test_fail";
pub const WAITING_ACTION: &str = "test_wait";
pub const PANICKING_ACTION: &str = "test_panic";

#[derive(Default)]
pub struct TestProvider {
    pub stops: AtomicUsize,
    stopping: CancellationToken,
    pub configured_with: Mutex<Option<(Value, String)>>,
    pub upgraded_from: Mutex<Option<(i64, serde_json::Value)>>,
    pub planned: Mutex<Option<PlanRequest>>,
    pub applied: Mutex<Option<ApplyRequest>>,
    /// Every call of an action method, in order: `(method, type name, config)`.
    pub action_calls: Mutex<Vec<(&'static str, String, Value)>>,
    pub data_source_reads: Mutex<Vec<(String, Value)>>,
}

impl TestProvider {
    fn record_action(&self, method: &'static str, type_name: &str, config: &Value) {
        lock(&self.action_calls).push((method, type_name.to_owned(), config.clone()));
    }

    /// The action methods called so far, as `(method, type name)`.
    pub fn action_methods(&self) -> Vec<(&'static str, String)> {
        lock(&self.action_calls)
            .iter()
            .map(|(method, type_name, _)| (*method, type_name.clone()))
            .collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn resource_schema() -> Schema {
    Schema {
        version: 2,
        block: Block {
            attributes: vec![
                Attribute::required("name", Type::String, "The **name**."),
                Attribute::optional("secret", Type::String, "A secret.").sensitive(),
                Attribute::computed("id", Type::String, "Set by the provider."),
                Attribute::optional("tags", Type::map(Type::String), "Tags."),
            ],
            block_types: vec![NestedBlock {
                type_name: "rule".into(),
                block: Block {
                    attributes: vec![Attribute::required("port", Type::Number, "Port.")],
                    ..Block::default()
                },
                nesting: Nesting::List,
                min_items: 0,
                max_items: 3,
            }],
            description: "A thing.".into(),
            deprecated: false,
        },
    }
}

/// A version 0 schema of top-level attributes.
fn flat_schema(description: &str, attributes: Vec<Attribute>) -> Schema {
    Schema {
        version: 0,
        block: Block {
            attributes,
            description: description.into(),
            ..Block::default()
        },
    }
}

pub fn data_source_schema() -> Schema {
    flat_schema(
        "Looks a thing up.",
        vec![
            Attribute::required("name", Type::String, "What to look up."),
            Attribute::computed("id", Type::String, "What was found."),
        ],
    )
}

/// The schema of every test action: how many progress messages to send, and why to fail.
pub fn action_schema() -> Schema {
    flat_schema(
        "Does a thing.",
        vec![
            Attribute::optional("count", Type::Number, "Progress messages to send."),
            Attribute::optional("reason", Type::String, "Why to fail."),
        ],
    )
}

/// A value of [`action_schema`]'s type.
pub fn action_config(count: Option<i64>, reason: Option<&str>) -> Value {
    Value::object([
        (
            "count",
            count.map_or(Value::Null, |n| Value::Number(n.into())),
        ),
        ("reason", reason.map_or(Value::Null, Value::string)),
    ])
}

pub fn action_type() -> Type {
    action_schema().value_type()
}

pub fn data_source_type() -> Type {
    data_source_schema().value_type()
}

#[async_trait::async_trait]
impl Provider for TestProvider {
    fn schemas(&self) -> ProviderSchemas {
        let actions = [ACTION, FAILING_ACTION, WAITING_ACTION, PANICKING_ACTION];
        ProviderSchemas {
            provider: Schema {
                version: 0,
                block: Block {
                    attributes: vec![Attribute::optional("region", Type::String, "Region.")],
                    ..Block::default()
                },
            },
            resources: BTreeMap::from([(RESOURCE.to_owned(), resource_schema())]),
            data_sources: BTreeMap::from([(DATA_SOURCE.to_owned(), data_source_schema())]),
            actions: actions
                .into_iter()
                .map(|name| (name.to_owned(), action_schema()))
                .collect(),
        }
    }

    async fn validate_provider_config(&self, config: &Value) -> Diagnostics {
        match config.get_attr("region").and_then(Value::as_str) {
            Some("nowhere") => Diagnostic::error("Bad region", "No such region.")
                .at(AttributePath::attribute("region"))
                .into(),
            _ => Diagnostics::new(),
        }
    }

    async fn configure(&self, config: &Value, terraform_version: &str) -> Diagnostics {
        *lock(&self.configured_with) = Some((config.clone(), terraform_version.to_owned()));
        Diagnostics::new()
    }

    async fn validate_resource_config(&self, _type_name: &str, config: &Value) -> Diagnostics {
        match config.get_attr("name").and_then(Value::as_str) {
            Some("") => Diagnostic::warning("Empty name", "Names should not be empty.")
                .at(AttributePath::attribute("rule")
                    .then_index(1)
                    .then_attribute("port")
                    .then_key("k"))
                .into(),
            _ => Diagnostics::new(),
        }
    }

    async fn upgrade_resource_state(
        &self,
        _type_name: &str,
        version: i64,
        raw_state: &serde_json::Value,
    ) -> UpgradeResponse {
        *lock(&self.upgraded_from) = Some((version, raw_state.clone()));
        let name = raw_state
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        UpgradeResponse {
            upgraded_state: thing(name, Value::string("id-1")),
            diagnostics: Diagnostics::new(),
        }
    }

    async fn read_resource(
        &self,
        _type_name: &str,
        current_state: Value,
        private: Vec<u8>,
    ) -> ReadResponse {
        ReadResponse {
            new_state: current_state,
            private,
            diagnostics: Diagnostics::new(),
        }
    }

    async fn plan_resource_change(&self, request: PlanRequest) -> PlanResponse {
        *lock(&self.planned) = Some(request.clone());
        let planned_state = match request.proposed_new_state {
            Value::Object(mut attributes) => {
                attributes.insert("id".into(), Value::unknown());
                Value::Object(attributes)
            }
            other => other,
        };
        PlanResponse {
            planned_state,
            requires_replace: vec![AttributePath::attribute("name")],
            planned_private: b"plan-private".to_vec(),
            diagnostics: Diagnostics::new(),
        }
    }

    async fn apply_resource_change(&self, request: ApplyRequest) -> ApplyResponse {
        *lock(&self.applied) = Some(request.clone());
        let new_state = match request.planned_state {
            Value::Object(mut attributes) => {
                attributes.insert("id".into(), Value::string("id-42"));
                Value::Object(attributes)
            }
            other => other,
        };
        ApplyResponse {
            new_state,
            private: request.planned_private,
            diagnostics: Diagnostics::new(),
        }
    }

    async fn import_resource_state(&self, type_name: &str, id: &str) -> ImportResponse {
        ImportResponse {
            imported: vec![ImportedResource {
                type_name: type_name.to_owned(),
                state: thing("imported", Value::string(id)),
                private: Vec::new(),
            }],
            diagnostics: Diagnostics::new(),
        }
    }

    async fn validate_data_source_config(&self, _type_name: &str, config: &Value) -> Diagnostics {
        match config.get_attr("name").and_then(Value::as_str) {
            Some("") => Diagnostic::error("Empty name", "Say what to look up.")
                .at(AttributePath::attribute("name"))
                .into(),
            _ => Diagnostics::new(),
        }
    }

    async fn read_data_source(&self, type_name: &str, config: Value) -> ReadDataSourceResponse {
        lock(&self.data_source_reads).push((type_name.to_owned(), config.clone()));
        let name = config
            .get_attr("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        ReadDataSourceResponse {
            state: Value::object([
                ("name", Value::string(&name)),
                ("id", Value::string(format!("found-{name}"))),
            ]),
            diagnostics: Diagnostics::new(),
        }
    }

    async fn validate_action_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        self.record_action("validate", type_name, config);
        check_count(config)
    }

    async fn plan_action(&self, type_name: &str, config: &Value) -> Diagnostics {
        self.record_action("plan", type_name, config);
        check_count(config)
    }

    async fn invoke_action(
        &self,
        type_name: &str,
        config: Value,
        progress: ActionProgress,
    ) -> Diagnostics {
        self.record_action("invoke", type_name, &config);
        match type_name {
            FAILING_ACTION => {
                progress.send("about to fail");
                let reason = config.get_attr("reason").and_then(Value::as_str);
                Diagnostic::error("Action failed", reason.unwrap_or("no reason given"))
                    .at(AttributePath::attribute("reason"))
                    .into()
            }
            WAITING_ACTION => {
                progress.send("waiting for stop");
                self.stopping.cancelled().await;
                Diagnostic::error("Interrupted", "Terraform asked the provider to stop.").into()
            }
            PANICKING_ACTION => panic!("the test action panics, as asked"),
            _ => {
                let count = config_count(&config).unwrap_or(0);
                for step in 1..=count {
                    progress.send(format!("step {step} of {count}"));
                    // Let the other side run, so that messages and completion interleave.
                    tokio::task::yield_now().await;
                }
                Diagnostic::warning("Done", format!("{count} steps taken.")).into()
            }
        }
    }

    fn stop(&self) {
        self.stops.fetch_add(1, Ordering::SeqCst);
        self.stopping.cancel();
    }
}

fn config_count(config: &Value) -> Option<i64> {
    config
        .get_attr("count")
        .and_then(Value::as_number)
        .and_then(|n| n.as_i64())
}

fn check_count(config: &Value) -> Diagnostics {
    match config_count(config) {
        Some(count) if count < 0 => Diagnostic::error("Negative count", "Count from zero up.")
            .at(AttributePath::attribute("count"))
            .into(),
        _ => Diagnostics::new(),
    }
}

/// A full object of the resource type.
pub fn thing(name: &str, id: Value) -> Value {
    Value::object([
        ("name", Value::string(name)),
        ("secret", Value::Null),
        ("id", id),
        ("tags", Value::Null),
        ("rule", Value::List(Vec::new())),
    ])
}

pub fn resource_type() -> Type {
    resource_schema().value_type()
}

/// A fresh test provider and the server core over it.
pub fn core() -> (
    Arc<TestProvider>,
    Arc<super::core::ProviderCore<TestProvider>>,
) {
    let provider = Arc::new(TestProvider::default());
    let core = Arc::new(super::core::ProviderCore::new(provider.clone()));
    (provider, core)
}

/// What the provider recorded of its last call of one kind.
pub fn recorded<T: Clone>(slot: &Mutex<Option<T>>) -> T {
    lock(slot).clone().expect("the provider was called")
}
