//! The cases, compiled once per protocol version: `super` supplies `pb`, `Client`,
//! `get_schema` and `stop`.

use super::{get_schema, pb, stop, Client};
use crate::{serve, Served};
use pb::invoke_action::event::Type as Event;
use std::sync::atomic::Ordering;
use tfws::protocol::cty::{decode_msgpack, encode_msgpack, Type, Value};
use tfws::protocol::testing::{
    action_config, action_type, data_source_type, resource_type, thing, ACTION, DATA_SOURCE,
    FAILING_ACTION, RESOURCE, WAITING_ACTION,
};

fn client(served: &Served) -> Client {
    // Terraform accepts answers of up to 256 MiB as well; tonic's client default is 4 MiB.
    Client::new(served.channel.clone()).max_decoding_message_size(64 << 20)
}

fn msgpack(value: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: encode_msgpack(value, ty).expect("test value fits its type"),
        json: Vec::new(),
    })
}

fn only_error(diagnostics: &[pb::Diagnostic]) -> &pb::Diagnostic {
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let error = &diagnostics[0];
    assert_eq!(error.severity, pb::diagnostic::Severity::Error as i32);
    error
}

fn invoke_request(name: &str, config: &Value) -> pb::invoke_action::Request {
    pb::invoke_action::Request {
        action_type: name.into(),
        config: msgpack(config, &action_type()),
        client_capabilities: None,
    }
}

/// Reads an InvokeAction stream to its end: the progress messages, and the diagnostics of the
/// Completed event, which must come exactly once and last.
async fn events(
    mut stream: tonic::Streaming<pb::invoke_action::Event>,
) -> (Vec<String>, Vec<pb::Diagnostic>) {
    let mut progress = Vec::new();
    let mut completed = None;
    while let Some(event) = stream.message().await.expect("no gRPC error mid-stream") {
        assert!(completed.is_none(), "an event after Completed: {event:?}");
        match event.r#type.expect("every event has a type") {
            Event::Progress(p) => progress.push(p.message),
            Event::Completed(done) => completed = Some(done.diagnostics),
        }
    }
    (progress, completed.expect("exactly one Completed event"))
}

#[tokio::test]
async fn metadata_and_schema_advertise_the_data_source_and_the_actions() {
    let served = serve().await;
    let mut client = client(&served);
    let metadata = client
        .get_metadata(pb::get_metadata::Request {})
        .await
        .expect("GetMetadata answers")
        .into_inner();
    let names = |names: Vec<String>| {
        let mut names = names;
        names.sort();
        names
    };
    let actions = names(metadata.actions.into_iter().map(|a| a.type_name).collect());
    assert!(actions.contains(&ACTION.to_owned()), "{actions:?}");
    assert!(actions.contains(&WAITING_ACTION.to_owned()), "{actions:?}");
    let resources = names(
        metadata
            .resources
            .into_iter()
            .map(|r| r.type_name)
            .collect(),
    );
    assert_eq!(resources, [RESOURCE]);
    let data_sources = names(
        metadata
            .data_sources
            .into_iter()
            .map(|d| d.type_name)
            .collect(),
    );
    assert_eq!(data_sources, [DATA_SOURCE]);

    let schema = get_schema(&mut client).await;
    assert!(schema.diagnostics.is_empty(), "{:?}", schema.diagnostics);
    let action = schema.action_schemas[ACTION]
        .schema
        .as_ref()
        .and_then(|schema| schema.block.as_ref())
        .expect("the action's schema has a block");
    let attributes: Vec<_> = action.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(attributes, ["count", "reason"]);
    // Same type name, other kind: the resource keeps its own schema.
    let resource = schema.resource_schemas[ACTION]
        .block
        .as_ref()
        .expect("the resource's schema has a block");
    assert!(resource.attributes.iter().any(|a| a.name == "secret"));
    assert!(schema.data_source_schemas.contains_key(DATA_SOURCE));
}

#[tokio::test]
async fn plan_action_calls_only_plan_action() {
    let served = serve().await;
    let config = Value::object([("count", Value::unknown()), ("reason", Value::Null)]);
    let planned = client(&served)
        .plan_action(pb::plan_action::Request {
            action_type: ACTION.into(),
            config: msgpack(&config, &action_type()),
            client_capabilities: None,
        })
        .await
        .expect("PlanAction answers")
        .into_inner();
    assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);
    assert_eq!(
        served.provider.action_methods(),
        [("plan", ACTION.to_owned())]
    );
}

#[tokio::test]
async fn validate_action_config_points_at_the_attribute() {
    let served = serve().await;
    let validated = client(&served)
        .validate_action_config(pb::validate_action_config::Request {
            type_name: ACTION.into(),
            config: msgpack(&action_config(Some(-2), None), &action_type()),
        })
        .await
        .expect("ValidateActionConfig answers")
        .into_inner();
    let error = only_error(&validated.diagnostics);
    assert_eq!(error.summary, "Negative count");
    assert!(error.attribute.is_some());
}

#[tokio::test]
async fn invoke_streams_progress_in_order_then_one_completed() {
    let served = serve().await;
    let stream = client(&served)
        .invoke_action(invoke_request(ACTION, &action_config(Some(25), None)))
        .await
        .expect("InvokeAction starts")
        .into_inner();
    let (progress, completed) = events(stream).await;
    let expected: Vec<String> = (1..=25).map(|n| format!("step {n} of 25")).collect();
    assert_eq!(progress, expected);
    assert_eq!(completed.len(), 1, "{completed:?}");
    assert_eq!(
        completed[0].severity,
        pb::diagnostic::Severity::Warning as i32
    );
    assert_eq!(completed[0].detail, "25 steps taken.");
    assert_eq!(
        served.provider.action_methods(),
        [("invoke", ACTION.to_owned())]
    );
}

#[tokio::test]
async fn invoke_carries_error_diagnostics() {
    let served = serve().await;
    let stream = client(&served)
        .invoke_action(invoke_request(
            FAILING_ACTION,
            &action_config(None, Some("disk full")),
        ))
        .await
        .expect("InvokeAction starts")
        .into_inner();
    let (progress, completed) = events(stream).await;
    assert_eq!(progress, ["about to fail"]);
    let error = only_error(&completed);
    assert_eq!(
        (error.summary.as_str(), error.detail.as_str()),
        ("Action failed", "disk full")
    );
}

#[tokio::test]
async fn unknown_action_and_data_source_types_get_the_one_diagnostic() {
    let served = serve().await;
    let mut client = client(&served);
    let stream = client
        .invoke_action(invoke_request("test_nothing", &action_config(None, None)))
        .await
        .expect("InvokeAction starts")
        .into_inner();
    let (progress, completed) = events(stream).await;
    assert!(progress.is_empty());
    let error = only_error(&completed);
    assert_eq!(error.summary, "Unknown action type");
    assert!(error.detail.contains("\"test_nothing\"") && error.detail.contains(WAITING_ACTION));

    let planned = client
        .plan_action(pb::plan_action::Request {
            action_type: DATA_SOURCE.into(),
            ..Default::default()
        })
        .await
        .expect("PlanAction answers")
        .into_inner();
    assert_eq!(
        only_error(&planned.diagnostics).summary,
        "Unknown action type"
    );

    let read = client
        .read_data_source(pb::read_data_source::Request {
            type_name: "test_nothing".into(),
            ..Default::default()
        })
        .await
        .expect("ReadDataSource answers")
        .into_inner();
    let error = only_error(&read.diagnostics);
    assert_eq!(error.summary, "Unknown data source type");
    assert!(error.detail.contains(DATA_SOURCE));
    assert!(served.provider.action_methods().is_empty());
}

#[tokio::test]
async fn read_data_source_answers_in_its_own_type() {
    let served = serve().await;
    let ty = data_source_type();
    let config = Value::object([("name", Value::string("db")), ("id", Value::Null)]);
    let read = client(&served)
        .read_data_source(pb::read_data_source::Request {
            type_name: DATA_SOURCE.into(),
            config: msgpack(&config, &ty),
            ..Default::default()
        })
        .await
        .expect("ReadDataSource answers")
        .into_inner();
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    let state = decode_msgpack(&read.state.expect("a state").msgpack, &ty).expect("valid");
    assert_eq!(state.get_attr("id"), Some(&Value::string("found-db")));
}

#[tokio::test]
async fn stop_during_an_invoke_ends_it_with_one_completed() {
    let served = serve().await;
    let mut client = client(&served);
    let mut stream = client
        .invoke_action(invoke_request(WAITING_ACTION, &action_config(None, None)))
        .await
        .expect("InvokeAction starts")
        .into_inner();
    // The action is running once its first message arrives.
    let first = stream.message().await.expect("no gRPC error");
    let first = first.and_then(|event| event.r#type);
    assert!(
        matches!(&first, Some(Event::Progress(p)) if p.message == "waiting for stop"),
        "{first:?}"
    );
    assert_eq!(stop(&mut client).await, "");
    let (progress, completed) = events(stream).await;
    assert!(progress.is_empty(), "{progress:?}");
    assert_eq!(only_error(&completed).summary, "Interrupted");
    assert_eq!(served.provider.stops.load(Ordering::SeqCst), 1);
}

/// Larger than tonic's 4 MiB default, in both directions: ReadResource hands the state back.
#[tokio::test]
async fn messages_larger_than_4_mib_go_through() {
    let served = serve().await;
    let ty = resource_type();
    let state = thing(&"x".repeat(5 << 20), Value::string("id-1"));
    let read = client(&served)
        .read_resource(pb::read_resource::Request {
            type_name: RESOURCE.into(),
            current_state: msgpack(&state, &ty),
            ..Default::default()
        })
        .await
        .expect("a 5 MiB request and answer are accepted")
        .into_inner();
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    let answer = read.new_state.expect("a state");
    assert!(answer.msgpack.len() > 5 << 20);
    assert_eq!(decode_msgpack(&answer.msgpack, &ty).expect("valid"), state);
}
