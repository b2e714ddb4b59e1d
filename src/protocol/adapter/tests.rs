//! Tests of the shared RPCs, run once per protocol version (this file is compiled within
//! `v5` and within `v6`). They call the handlers directly; `tests/protocol_*.rs` go through
//! the real gRPC transport.

use super::{actions, data_sources, messages, pb, provider, resources, unoffered};
use crate::protocol::core::ProviderCore;
use crate::protocol::cty::{decode_msgpack, encode_msgpack, Type, Value};
use crate::protocol::testing::TestProvider;
use crate::protocol::testing::{
    action_config, action_type, core, data_source_type, recorded, resource_type, thing, ACTION,
    DATA_SOURCE, FAILING_ACTION, PANICKING_ACTION, RESOURCE, WAITING_ACTION,
};
use futures::StreamExt;
use pb::attribute_path::step::Selector;
use pb::invoke_action::event::Type as Event;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Calls one handler with a clone of `core`: `rpc!(core, resources::read(request))`.
macro_rules! rpc {
    ($core:ident, $($handler:ident)::+ ( $request:expr $(,)? )) => {
        $($handler)::+($core.clone(), $request).await
    };
}

fn msgpack(value: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    let bytes = encode_msgpack(value, ty).expect("test value fits its type");
    Some(pb::DynamicValue {
        msgpack: bytes,
        json: Vec::new(),
    })
}

fn decoded(value: Option<pb::DynamicValue>, ty: &Type) -> Value {
    decode_msgpack(&value.expect("a value was returned").msgpack, ty).expect("valid msgpack")
}

fn steps(path: &pb::AttributePath) -> Vec<Selector> {
    path.steps
        .iter()
        .map(|s| s.selector.clone().expect("step has a selector"))
        .collect()
}

fn only_error(diagnostics: &[pb::Diagnostic]) -> &pb::Diagnostic {
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0].severity,
        pb::diagnostic::Severity::Error as i32
    );
    &diagnostics[0]
}

#[tokio::test]
async fn schema_carries_types_flags_nesting_and_capabilities() {
    let (_, core) = core();
    let response = rpc!(
        core,
        provider::get_provider_schema(pb::get_provider_schema::Request {})
    );

    let provider = response
        .provider
        .expect("provider schema is always present");
    let region = &provider.block.expect("block").attributes[0];
    assert_eq!(
        (region.name.as_str(), region.r#type.as_slice()),
        ("region", &b"\"string\""[..])
    );

    let resource = &response.resource_schemas[RESOURCE];
    assert_eq!(resource.version, 2);
    let block = resource.block.as_ref().expect("block");
    assert_eq!(block.description, "A thing.");
    assert_eq!(block.description_kind, pb::StringKind::Markdown as i32);
    let attribute = |name: &str| {
        block
            .attributes
            .iter()
            .find(|a| a.name == name)
            .expect("attribute present")
    };
    assert!(attribute("name").required && !attribute("name").optional);
    assert!(attribute("secret").sensitive && attribute("secret").optional);
    assert!(!attribute("name").sensitive);
    assert!(attribute("id").computed && !attribute("id").optional);
    assert_eq!(attribute("tags").r#type, br#"["map","string"]"#.to_vec());
    assert_eq!(attribute("name").description, "The **name**.");
    assert_eq!(
        attribute("name").description_kind,
        pb::StringKind::Markdown as i32
    );
    assert!(!attribute("name").write_only);

    let rule = &block.block_types[0];
    assert_eq!(rule.type_name, "rule");
    assert_eq!(
        rule.nesting,
        pb::schema::nested_block::NestingMode::List as i32
    );
    assert_eq!((rule.min_items, rule.max_items), (0, 3));
    let port = &rule.block.as_ref().expect("nested block").attributes[0];
    assert_eq!(
        (port.name.as_str(), port.r#type.as_slice()),
        ("port", &b"\"number\""[..])
    );

    assert!(response.functions.is_empty() && response.ephemeral_resource_schemas.is_empty());
    assert!(response.list_resource_schemas.is_empty() && response.diagnostics.is_empty());
    let capabilities = response.server_capabilities.expect("capabilities");
    assert!(!capabilities.plan_destroy);
    assert!(!capabilities.get_provider_schema_optional);
    assert!(!capabilities.move_resource_state);
}

#[tokio::test]
async fn metadata_lists_resource_types_data_sources_and_actions() {
    let (_, core) = core();
    let response = rpc!(core, provider::get_metadata(pb::get_metadata::Request {}));
    let names: Vec<_> = response
        .resources
        .iter()
        .map(|r| r.type_name.as_str())
        .collect();
    assert_eq!(names, [RESOURCE]);
    let names: Vec<_> = response
        .data_sources
        .iter()
        .map(|d| d.type_name.as_str())
        .collect();
    assert_eq!(names, [DATA_SOURCE]);
    let mut names: Vec<_> = response
        .actions
        .iter()
        .map(|a| a.type_name.as_str())
        .collect();
    names.sort_unstable();
    let mut expected = [ACTION, FAILING_ACTION, PANICKING_ACTION, WAITING_ACTION];
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert!(response.functions.is_empty() && response.ephemeral_resources.is_empty());
}

#[tokio::test]
async fn diagnostics_keep_severity_and_attribute_path() {
    let (_, core) = core();
    let config = thing("", Value::Null);
    let response = rpc!(
        core,
        resources::validate_config(messages::validate_resource_config::Request {
            type_name: RESOURCE.into(),
            config: msgpack(&config, &resource_type()),
            client_capabilities: None,
        })
    );
    assert_eq!(response.diagnostics.len(), 1);
    let warning = &response.diagnostics[0];
    assert_eq!(warning.severity, pb::diagnostic::Severity::Warning as i32);
    assert_eq!(warning.summary, "Empty name");
    let path = warning.attribute.as_ref().expect("diagnostic has a path");
    assert_eq!(
        steps(path),
        [
            Selector::AttributeName("rule".into()),
            Selector::ElementKeyInt(1),
            Selector::AttributeName("port".into()),
            Selector::ElementKeyString("k".into()),
        ]
    );
}

#[tokio::test]
async fn plan_and_apply_round_trip_msgpack() {
    let (provider, core) = core();
    let ty = resource_type();
    let config = thing("web", Value::Null);

    let planned = rpc!(
        core,
        resources::plan_change(pb::plan_resource_change::Request {
            type_name: RESOURCE.into(),
            prior_state: msgpack(&Value::Null, &ty),
            proposed_new_state: msgpack(&config, &ty),
            config: msgpack(&config, &ty),
            ..Default::default()
        })
    );
    assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);
    let seen = recorded(&provider.planned);
    assert_eq!(
        (seen.prior_state, seen.proposed_new_state),
        (Value::Null, config.clone())
    );
    let planned_state = decoded(planned.planned_state.clone(), &ty);
    assert!(planned_state.get_attr("id").is_some_and(Value::is_unknown));
    assert_eq!(planned_state.get_attr("name"), Some(&Value::string("web")));
    assert_eq!(
        steps(&planned.requires_replace[0]),
        [Selector::AttributeName("name".into())]
    );
    assert_eq!(planned.planned_private, b"plan-private");
    assert!(!planned.legacy_type_system);

    let applied = rpc!(
        core,
        resources::apply_change(pb::apply_resource_change::Request {
            type_name: RESOURCE.into(),
            prior_state: None,
            planned_state: planned.planned_state,
            config: msgpack(&config, &ty),
            planned_private: planned.planned_private,
            ..Default::default()
        })
    );
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let seen = recorded(&provider.applied);
    assert_eq!(
        seen.prior_state,
        Value::Null,
        "an absent DynamicValue decodes as null"
    );
    assert_eq!(
        decoded(applied.new_state, &ty),
        thing("web", Value::string("id-42"))
    );
    assert_eq!(applied.private, b"plan-private");
}

#[tokio::test]
async fn json_dynamic_values_are_accepted() {
    let (provider, core) = core();
    let config = br#"{"name":"from-json","rule":[]}"#.to_vec();
    let response = rpc!(
        core,
        resources::plan_change(pb::plan_resource_change::Request {
            type_name: RESOURCE.into(),
            proposed_new_state: Some(pb::DynamicValue {
                msgpack: Vec::new(),
                json: config.clone(),
            }),
            config: Some(pb::DynamicValue {
                msgpack: Vec::new(),
                json: config,
            }),
            ..Default::default()
        })
    );
    assert!(
        response.diagnostics.is_empty(),
        "{:?}",
        response.diagnostics
    );
    let seen = recorded(&provider.planned);
    assert_eq!(seen.config, thing("from-json", Value::Null));
}

#[tokio::test]
async fn undecodable_values_become_error_diagnostics() {
    let (_, core) = core();
    let response = rpc!(
        core,
        resources::read(pb::read_resource::Request {
            type_name: RESOURCE.into(),
            current_state: Some(pb::DynamicValue {
                msgpack: vec![0xc1],
                json: Vec::new(),
            }),
            ..Default::default()
        })
    );
    assert_eq!(
        only_error(&response.diagnostics).summary,
        "Invalid current state"
    );
    assert!(response.new_state.is_none());
}

#[tokio::test]
async fn unknown_resource_types_are_rejected_before_the_provider() {
    let (provider, core) = core();
    let unknown = "test_nothing".to_owned();
    let plan = rpc!(
        core,
        resources::plan_change(pb::plan_resource_change::Request {
            type_name: unknown.clone(),
            ..Default::default()
        })
    );
    let error = only_error(&plan.diagnostics);
    assert_eq!(error.summary, "Unknown resource type");
    assert!(error.detail.contains("test_nothing") && error.detail.contains(RESOURCE));
    assert!(provider.planned.lock().expect("lock").is_none());

    let read = rpc!(
        core,
        resources::read(pb::read_resource::Request {
            type_name: unknown.clone(),
            ..Default::default()
        })
    );
    assert_eq!(
        only_error(&read.diagnostics).summary,
        "Unknown resource type"
    );

    let import = rpc!(
        core,
        resources::import_state(pb::import_resource_state::Request {
            type_name: unknown.clone(),
            id: "x".into(),
            ..Default::default()
        })
    );
    assert_eq!(
        only_error(&import.diagnostics).summary,
        "Unknown resource type"
    );
    assert!(import.imported_resources.is_empty());

    let upgrade = rpc!(
        core,
        resources::upgrade_state(pb::upgrade_resource_state::Request {
            type_name: unknown,
            version: 0,
            raw_state: Some(pb::RawState {
                json: b"{}".to_vec(),
                flatmap: Default::default(),
            }),
        })
    );
    assert_eq!(
        only_error(&upgrade.diagnostics).summary,
        "Unknown resource type"
    );
}

#[tokio::test]
async fn upgrade_passes_raw_json_and_answers_in_msgpack() {
    let (provider, core) = core();
    let response = rpc!(
        core,
        resources::upgrade_state(pb::upgrade_resource_state::Request {
            type_name: RESOURCE.into(),
            version: 1,
            raw_state: Some(pb::RawState {
                json: br#"{"name":"old","gone":true}"#.to_vec(),
                flatmap: Default::default(),
            }),
        })
    );
    assert!(
        response.diagnostics.is_empty(),
        "{:?}",
        response.diagnostics
    );
    let (version, raw) = recorded(&provider.upgraded_from);
    assert_eq!(
        (version, raw),
        (1, serde_json::json!({"name": "old", "gone": true}))
    );
    assert_eq!(
        decoded(response.upgraded_state, &resource_type()),
        thing("old", Value::string("id-1"))
    );

    let flatmap_only = rpc!(
        core,
        resources::upgrade_state(pb::upgrade_resource_state::Request {
            type_name: RESOURCE.into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: Vec::new(),
                flatmap: [("id".to_owned(), "1".to_owned())].into(),
            }),
        })
    );
    assert!(only_error(&flatmap_only.diagnostics)
        .detail
        .contains("flatmap"));
}

#[tokio::test]
async fn import_encodes_each_object_with_its_schema() {
    let (_, core) = core();
    let response = rpc!(
        core,
        resources::import_state(pb::import_resource_state::Request {
            type_name: RESOURCE.into(),
            id: "abc".into(),
            ..Default::default()
        })
    );
    assert!(response.diagnostics.is_empty());
    let imported = &response.imported_resources[0];
    assert_eq!(imported.type_name, RESOURCE);
    assert_eq!(
        decoded(imported.state.clone(), &resource_type()),
        thing("imported", Value::string("abc"))
    );
}

#[tokio::test]
async fn configure_passes_config_and_terraform_version() {
    let (provider, core) = core();
    let ty = Type::object([("region", Type::String)]);
    let config = Value::object([("region", Value::string("eu-west-101"))]);
    let response = rpc!(
        core,
        provider::configure_provider(messages::configure_provider::Request {
            terraform_version: "1.14.0".into(),
            config: msgpack(&config, &ty),
            client_capabilities: None,
        })
    );
    assert!(response.diagnostics.is_empty());
    let seen = provider.configured_with.lock().expect("lock").clone();
    assert_eq!(seen, Some((config, "1.14.0".to_owned())));
}

#[tokio::test]
async fn stop_provider_calls_stop() {
    let (provider, core) = core();
    let response = rpc!(
        core,
        provider::stop_provider(messages::stop_provider::Request {})
    );
    assert_eq!(response.error, "");
    assert_eq!(provider.stops.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn schema_advertises_the_data_source_and_the_action_sharing_the_resource_name() {
    let (_, core) = core();
    let response = rpc!(
        core,
        provider::get_provider_schema(pb::get_provider_schema::Request {})
    );
    let lookup = response.data_source_schemas[DATA_SOURCE]
        .block
        .as_ref()
        .expect("block");
    assert_eq!(lookup.description, "Looks a thing up.");
    let action = response.action_schemas[ACTION]
        .schema
        .as_ref()
        .and_then(|schema| schema.block.as_ref())
        .expect("action schema block");
    assert_eq!(action.description, "Does a thing.");
    let resource = response.resource_schemas[ACTION]
        .block
        .as_ref()
        .expect("block");
    assert_eq!(resource.description, "A thing.", "same name, other kind");
}

#[tokio::test]
async fn data_sources_are_validated_and_read_with_their_own_type() {
    let (provider, core) = core();
    let ty = data_source_type();
    let config = Value::object([("name", Value::string("")), ("id", Value::Null)]);
    let validated = rpc!(
        core,
        data_sources::validate_config(messages::validate_data_resource_config::Request {
            type_name: DATA_SOURCE.into(),
            config: msgpack(&config, &ty),
        })
    );
    let error = only_error(&validated.diagnostics);
    assert_eq!(
        steps(error.attribute.as_ref().expect("path")),
        [Selector::AttributeName("name".into())]
    );

    let config = Value::object([("name", Value::string("web")), ("id", Value::Null)]);
    let read = rpc!(
        core,
        data_sources::read(pb::read_data_source::Request {
            type_name: DATA_SOURCE.into(),
            config: msgpack(&config, &ty),
            ..Default::default()
        })
    );
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    assert_eq!(
        decoded(read.state, &ty),
        Value::object([
            ("name", Value::string("web")),
            ("id", Value::string("found-web"))
        ])
    );
    let reads = provider.data_source_reads.lock().expect("lock").clone();
    assert_eq!(reads, [(DATA_SOURCE.to_owned(), config)]);
}

#[tokio::test]
async fn plan_action_decodes_unknowns_and_calls_only_plan() {
    let (provider, core) = core();
    let config = Value::object([("count", Value::unknown()), ("reason", Value::Null)]);
    let planned = rpc!(
        core,
        actions::plan(pb::plan_action::Request {
            action_type: ACTION.into(),
            config: msgpack(&config, &action_type()),
            client_capabilities: None,
        })
    );
    assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);
    assert_eq!(provider.action_methods(), [("plan", ACTION.to_owned())]);
    let calls = provider.action_calls.lock().expect("lock").clone();
    assert_eq!(calls[0].2, config);

    let validated = rpc!(
        core,
        actions::validate_config(pb::validate_action_config::Request {
            type_name: ACTION.into(),
            config: msgpack(&action_config(Some(-1), None), &action_type()),
        })
    );
    let error = only_error(&validated.diagnostics);
    assert_eq!(error.summary, "Negative count");
}

/// Every event of an invocation, as (progress messages, completed diagnostics); fails unless
/// exactly one Completed comes, last.
async fn invoke(
    core: &Arc<ProviderCore<TestProvider>>,
    name: &str,
    config: &Value,
) -> (Vec<String>, Vec<pb::Diagnostic>) {
    let events: Vec<_> = actions::invoke(
        core.clone(),
        pb::invoke_action::Request {
            action_type: name.into(),
            config: msgpack(config, &action_type()),
            client_capabilities: None,
        },
    )
    .collect()
    .await;
    let mut progress = Vec::new();
    let mut completed = None;
    for event in events {
        assert!(completed.is_none(), "an event after Completed: {event:?}");
        match event.r#type.expect("event has a type") {
            Event::Progress(p) => progress.push(p.message),
            Event::Completed(done) => completed = Some(done.diagnostics),
        }
    }
    (progress, completed.expect("one Completed event"))
}

#[tokio::test]
async fn invoke_streams_progress_in_order_then_one_completed() {
    let (provider, core) = core();
    let (progress, completed) = invoke(&core, ACTION, &action_config(Some(5), None)).await;
    let expected: Vec<String> = (1..=5).map(|n| format!("step {n} of 5")).collect();
    assert_eq!(progress, expected);
    assert_eq!(completed.len(), 1);
    assert_eq!(
        completed[0].severity,
        pb::diagnostic::Severity::Warning as i32
    );
    assert_eq!(completed[0].detail, "5 steps taken.");
    assert_eq!(provider.action_methods(), [("invoke", ACTION.to_owned())]);
}

#[tokio::test]
async fn invoke_carries_error_diagnostics_with_their_path() {
    let (_, core) = core();
    let (progress, completed) = invoke(
        &core,
        FAILING_ACTION,
        &action_config(None, Some("disk full")),
    )
    .await;
    assert_eq!(progress, ["about to fail"]);
    let error = only_error(&completed);
    assert_eq!(
        (error.summary.as_str(), error.detail.as_str()),
        ("Action failed", "disk full")
    );
    assert_eq!(
        steps(error.attribute.as_ref().expect("path")),
        [Selector::AttributeName("reason".into())]
    );
}

#[tokio::test]
async fn a_panicking_action_still_ends_in_one_completed_error() {
    let (_, core) = core();
    let (progress, completed) = invoke(&core, PANICKING_ACTION, &action_config(None, None)).await;
    assert!(progress.is_empty());
    assert!(only_error(&completed).detail.contains("panicked"));
}

#[tokio::test]
async fn stop_ends_a_waiting_action_with_one_completed() {
    let (provider, core) = core();
    let mut events = actions::invoke(
        core.clone(),
        pb::invoke_action::Request {
            action_type: WAITING_ACTION.into(),
            config: msgpack(&action_config(None, None), &action_type()),
            client_capabilities: None,
        },
    );
    let first = events.next().await.expect("a first event").r#type;
    assert!(
        matches!(&first, Some(Event::Progress(p)) if p.message == "waiting for stop"),
        "{first:?}"
    );
    rpc!(
        core,
        provider::stop_provider(messages::stop_provider::Request {})
    );
    let rest: Vec<_> = events.collect().await;
    assert_eq!(rest.len(), 1, "{rest:?}");
    match &rest[0].r#type {
        Some(Event::Completed(done)) => {
            assert_eq!(only_error(&done.diagnostics).summary, "Interrupted")
        }
        other => panic!("expected Completed, got {other:?}"),
    }
    assert_eq!(provider.stops.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unknown_names_get_the_one_diagnostic_for_every_kind() {
    let (provider, core) = core();
    let data = rpc!(
        core,
        data_sources::read(pb::read_data_source::Request {
            type_name: "test_nothing".into(),
            ..Default::default()
        })
    );
    let error = only_error(&data.diagnostics);
    assert_eq!(error.summary, "Unknown data source type");
    assert!(error.detail.contains("test_nothing") && error.detail.contains(DATA_SOURCE));

    let planned = rpc!(
        core,
        actions::plan(pb::plan_action::Request {
            action_type: "test_nothing".into(),
            ..Default::default()
        })
    );
    let error = only_error(&planned.diagnostics);
    assert_eq!(error.summary, "Unknown action type");
    assert!(error.detail.contains("test_nothing") && error.detail.contains(WAITING_ACTION));

    // The data source's name is no action.
    let (progress, completed) = invoke(&core, DATA_SOURCE, &action_config(None, None)).await;
    assert!(progress.is_empty());
    assert_eq!(only_error(&completed).summary, "Unknown action type");
    assert!(provider.action_methods().is_empty());
    assert!(provider.data_source_reads.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn unoffered_kinds_answer_with_diagnostics_naming_the_type() {
    let (_, core) = core();
    let mut events = unoffered::list(
        core.clone(),
        pb::list_resource::Request {
            type_name: "test_list".into(),
            ..Default::default()
        },
    );
    let event = events.next().await.expect("one event");
    assert!(only_error(&event.diagnostic).detail.contains("test_list"));
    assert!(events.next().await.is_none());

    let ephemeral = rpc!(
        core,
        unoffered::open_ephemeral(pb::open_ephemeral_resource::Request {
            type_name: "test_secret".into(),
            ..Default::default()
        })
    );
    assert_eq!(
        only_error(&ephemeral.diagnostics).summary,
        "Unknown ephemeral resource type"
    );

    let call = rpc!(
        core,
        unoffered::call_function(pb::call_function::Request {
            name: "f".into(),
            arguments: Vec::new(),
        })
    );
    assert!(call.error.expect("function error").text.contains("\"f\""));

    let moved = rpc!(
        core,
        resources::move_state(pb::move_resource_state::Request {
            target_type_name: RESOURCE.into(),
            ..Default::default()
        })
    );
    assert_eq!(
        only_error(&moved.diagnostics).summary,
        "Not supported by this provider"
    );

    let identities = rpc!(
        core,
        resources::identity_schemas(pb::get_resource_identity_schemas::Request {})
    );
    assert!(identities.identity_schemas.is_empty() && identities.diagnostics.is_empty());
}
