//! UpgradeResourceState: stored JSON of schema version 0 or 1 → a value of the current type.
//! Version 0 had the same attributes as version 1; the path exists so that upgrading is
//! exercised from the first release on. Missing attributes read as null; attributes this
//! provider no longer knows are dropped.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::protocol::cty::Value;
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::protocol::provider::UpgradeResponse;
use crate::provider::schema::{reboot_attrs as attrs, REBOOT_SCHEMA_VERSION};

pub fn upgrade(version: i64, raw_state: &Json) -> UpgradeResponse {
    if !(0..=REBOOT_SCHEMA_VERSION).contains(&version) {
        return failure(Diagnostic::error(
            "Unsupported state version",
            format!(
                "This workspace_app_server_reboot state was written with schema version {version}, \
                 but this provider knows versions 0 to {REBOOT_SCHEMA_VERSION}. Use the provider \
                 version that wrote it, or a newer one."
            ),
        ));
    }
    let Some(object) = raw_state.as_object() else {
        return failure(Diagnostic::error(
            "Unreadable state",
            "The stored workspace_app_server_reboot state is not a JSON object.",
        ));
    };

    let mut diagnostics = Diagnostics::new();
    let mut read = |name: &str, convert: fn(&Json) -> Option<Value>| -> Value {
        match object.get(name) {
            None | Some(Json::Null) => Value::Null,
            Some(json) => convert(json).unwrap_or_else(|| {
                diagnostics.push(
                    Diagnostic::error(
                        "Unreadable state",
                        format!("The stored attribute {name:?} does not have the expected type."),
                    )
                    .at(AttributePath::attribute(name)),
                );
                Value::Null
            }),
        }
    };
    let upgraded = Value::object([
        (attrs::ID, read(attrs::ID, string)),
        (attrs::SERVER_IDS, read(attrs::SERVER_IDS, string_set)),
        (attrs::TYPE, read(attrs::TYPE, string)),
        (attrs::TRIGGERS, read(attrs::TRIGGERS, string_map)),
        (attrs::WAIT_FOR_READY, read(attrs::WAIT_FOR_READY, boolean)),
        (attrs::REBOOTED_AT, read(attrs::REBOOTED_AT, string)),
        (attrs::TIMEOUTS, read(attrs::TIMEOUTS, timeouts)),
    ]);
    if diagnostics.has_errors() {
        return UpgradeResponse {
            upgraded_state: Value::Null,
            diagnostics,
        };
    }
    UpgradeResponse {
        upgraded_state: upgraded,
        diagnostics,
    }
}

fn failure(diagnostic: Diagnostic) -> UpgradeResponse {
    UpgradeResponse {
        upgraded_state: Value::Null,
        diagnostics: diagnostic.into(),
    }
}

fn string(json: &Json) -> Option<Value> {
    json.as_str().map(Value::string)
}

fn boolean(json: &Json) -> Option<Value> {
    json.as_bool().map(Value::Bool)
}

fn string_set(json: &Json) -> Option<Value> {
    let mut items: Vec<String> = json
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect::<Option<_>>()?;
    items.sort();
    items.dedup();
    Some(Value::Set(items.into_iter().map(Value::String).collect()))
}

fn string_map(json: &Json) -> Option<Value> {
    let entries: BTreeMap<String, Value> = json
        .as_object()?
        .iter()
        .map(|(key, item)| match item {
            Json::Null => Some((key.clone(), Value::Null)),
            other => other.as_str().map(|s| (key.clone(), Value::string(s))),
        })
        .collect::<Option<_>>()?;
    Some(Value::Map(entries))
}

fn timeouts(json: &Json) -> Option<Value> {
    let object = json.as_object()?;
    let slot = |name: &str| match object.get(name) {
        None | Some(Json::Null) => Some(Value::Null),
        Some(other) => string(other),
    };
    Some(Value::object([
        (attrs::TIMEOUT_CREATE, slot(attrs::TIMEOUT_CREATE)?),
        (attrs::TIMEOUT_UPDATE, slot(attrs::TIMEOUT_UPDATE)?),
    ]))
}
