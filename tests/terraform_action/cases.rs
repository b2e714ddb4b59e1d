//! The cases, compiled once per protocol version: `super` supplies `pb`, `Client`,
//! `get_schema`, `configure` and `stop`.

use super::{configure, get_schema, pb, stop, Client};
use crate::support::LocalSimulator;
use crate::{action_config, all_null, msgpack, serve, Served, NAME};
use pb::invoke_action::event::Type as Event;
use std::time::{Duration, SystemTime};
use tfws::protocol::cty::Value;
use tfws::workspace::simulator::{
    FailingIdsFault, Faults, RebootTiming, ServerSpec, SessionConfig, SimulatorConfig,
};

/// Reboots that take well under a second, so that waiting is short but real.
fn quick() -> RebootTiming {
    RebootTiming {
        pending_ms: 200,
        rebooting_ms: 300,
        registering_ms: 200,
    }
}

fn ids(n: u32) -> Vec<String> {
    (1..=n).map(|i| format!("srv-{i:04}")).collect()
}

fn client(served: &Served) -> Client {
    Client::new(served.channel.clone())
}

/// A served provider, configured from the simulator's environment as Terraform would (an
/// empty provider block: every argument null).
async fn configured(simulator: &LocalSimulator) -> (Served, Client) {
    configured_with(simulator, &[]).await
}

/// [`configured`] with more environment variables.
async fn configured_with(simulator: &LocalSimulator, more: &[(&str, &str)]) -> (Served, Client) {
    let mut env = simulator.provider_env();
    env.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let served = serve(&env).await;
    let mut client = client(&served);
    let config = msgpack(&all_null(&served.provider_type), &served.provider_type);
    let diagnostics = configure(&mut client, config).await;
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    (served, client)
}

fn dynamic(served: &Served, config: &Value) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: msgpack(config, &served.action_type),
        json: Vec::new(),
    })
}

/// ValidateActionConfig of `config`.
async fn validate(
    served: &Served,
    client: &mut Client,
    config: &Value,
) -> pb::validate_action_config::Response {
    client
        .validate_action_config(pb::validate_action_config::Request {
            type_name: NAME.into(),
            config: dynamic(served, config),
        })
        .await
        .expect("ValidateActionConfig answers")
        .into_inner()
}

/// PlanAction of `config`.
async fn plan(served: &Served, client: &mut Client, config: &Value) -> pb::plan_action::Response {
    client
        .plan_action(pb::plan_action::Request {
            action_type: NAME.into(),
            config: dynamic(served, config),
            client_capabilities: None,
        })
        .await
        .expect("PlanAction answers")
        .into_inner()
}

fn errors(diagnostics: &[pb::Diagnostic]) -> Vec<&pb::Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .collect()
}

fn warnings(diagnostics: &[pb::Diagnostic]) -> Vec<&pb::Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Warning as i32)
        .collect()
}

/// The attribute names of a diagnostic's path, outermost first.
fn path(diagnostic: &pb::Diagnostic) -> Vec<String> {
    use pb::attribute_path::step::Selector;
    diagnostic
        .attribute
        .iter()
        .flat_map(|p| p.steps.iter())
        .filter_map(|step| match &step.selector {
            Some(Selector::AttributeName(name)) => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// A `drain { … }` block: the given attributes, the others null.
fn drain_block(served: &Served, set: &[(&str, Value)]) -> Value {
    let tfws::protocol::cty::Type::Object(attributes) = &served.action_type else {
        panic!("the action's configuration is an object");
    };
    let mut block = all_null(&attributes["drain"]);
    if let Value::Object(values) = &mut block {
        for (name, value) in set {
            values.insert((*name).to_owned(), value.clone());
        }
    }
    block
}

/// A simulator of `servers` (`srv-0001`, …; the ones in `in_maintenance` already in
/// maintenance mode), each with `sessions` open user sessions that never end by themselves;
/// one second of a logoff's delay lasts 5 ms.
fn with_sessions(servers: u32, sessions: u32, in_maintenance: &[u32]) -> LocalSimulator {
    let mut config = SimulatorConfig {
        servers: (1..=servers)
            .map(|i| {
                let spec = ServerSpec::with_id(format!("srv-{i:04}"));
                if in_maintenance.contains(&i) {
                    spec.in_maintenance()
                } else {
                    spec
                }
            })
            .collect(),
        reboot: quick(),
        sessions: SessionConfig {
            per_server: sessions,
            lifetime_ms: None,
            arrival_ms: None,
            max_per_server: 10,
            logoff_second_ms: 5,
        },
        ..SimulatorConfig::default()
    };
    config
        .credentials
        .access_keys
        .push(tfws::workspace::Credentials::ak_sk(
            crate::support::simulator::TEST_ACCESS_KEY,
            crate::support::simulator::TEST_SECRET_KEY,
        ));
    LocalSimulator::start(config)
}

fn in_maintenance(simulator: &LocalSimulator) -> Vec<String> {
    simulator
        .state()
        .servers
        .iter()
        .filter(|s| s.maintain_status)
        .map(|s| s.id.clone())
        .collect()
}

/// The "N/M servers ready" counts told, in order.
fn ready_counts(lines: &[String], total: u32) -> Vec<u32> {
    let suffix = format!("/{total} servers ready.");
    lines
        .iter()
        .filter_map(|line| line.strip_suffix(suffix.as_str()))
        .map(|n| n.parse().expect("a count"))
        .collect()
}

/// The figures: events streamed, and the time from the last server ready (the
/// simulator's update_time once a reboot is over) to Completed.
fn print_figures(what: &str, simulator: &LocalSimulator, servers: &[String], invoked: &Invoked) {
    let last_ready = servers
        .iter()
        .filter_map(|id| simulator.server(id))
        .filter_map(|server| {
            time::OffsetDateTime::parse(
                &server.update_time,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
        })
        .max()
        .expect("update times");
    let completed = time::OffsetDateTime::from(invoked.completed_at);
    println!(
        "figures ({}, {what}): {} events ({} progress + 1 completed), last server ready → \
         Completed: {:.3} s",
        std::any::type_name::<Client>()
            .split("::")
            .nth(3)
            .unwrap_or("?"),
        invoked.events,
        invoked.progress.len(),
        (completed - last_ready).as_seconds_f64()
    );
    for line in &invoked.progress {
        println!("  progress: {line}");
    }
}

/// What an InvokeAction stream carried: progress messages, the Completed diagnostics, and
/// when Completed arrived.
struct Invoked {
    progress: Vec<String>,
    completed: Vec<pb::Diagnostic>,
    completed_at: SystemTime,
    events: usize,
}

impl Invoked {
    fn has_progress(&self, needle: &str) -> bool {
        self.progress.iter().any(|line| line.contains(needle))
    }
}

async fn invoke(served: &Served, client: &mut Client, config: &Value) -> Invoked {
    let stream = client
        .invoke_action(pb::invoke_action::Request {
            action_type: NAME.into(),
            config: dynamic(served, config),
            client_capabilities: None,
        })
        .await
        .expect("InvokeAction starts")
        .into_inner();
    read_to_end(stream, |_| {}).await
}

/// Reads the stream to its end; `on_progress` sees each message as it arrives. Exactly one
/// Completed, and nothing after it.
async fn read_to_end(
    mut stream: tonic::Streaming<pb::invoke_action::Event>,
    mut on_progress: impl FnMut(&str),
) -> Invoked {
    let mut progress = Vec::new();
    let mut completed = None;
    let mut events = 0;
    // A guard against a hang, not a measure of speed.
    let reading = async {
        while let Some(event) = stream.message().await.expect("no gRPC error mid-stream") {
            events += 1;
            assert!(completed.is_none(), "an event after Completed: {event:?}");
            match event.r#type.expect("every event has a type") {
                Event::Progress(p) => {
                    on_progress(&p.message);
                    progress.push(p.message);
                }
                Event::Completed(done) => completed = Some((done.diagnostics, SystemTime::now())),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(300), reading)
        .await
        .expect("the stream ends");
    let (completed, completed_at) = completed.expect("exactly one Completed event");
    Invoked {
        progress,
        completed,
        completed_at,
        events,
    }
}

#[tokio::test]
async fn schema_advertises_the_action_beside_the_resource_of_the_same_name() {
    let served = serve(&[]).await;
    let mut client = client(&served);
    let metadata = client
        .get_metadata(pb::get_metadata::Request {})
        .await
        .expect("GetMetadata answers")
        .into_inner();
    let actions: Vec<_> = metadata
        .actions
        .iter()
        .map(|a| a.type_name.as_str())
        .collect();
    let resources: Vec<_> = metadata
        .resources
        .iter()
        .map(|r| r.type_name.as_str())
        .collect();
    assert_eq!(actions, [NAME]);
    assert!(resources.contains(&NAME), "{resources:?}");

    let schema = get_schema(&mut client).await;
    assert!(schema.diagnostics.is_empty(), "{:?}", schema.diagnostics);
    let action = schema.action_schemas[NAME]
        .schema
        .as_ref()
        .and_then(|s| s.block.as_ref())
        .expect("the action's schema has a block");
    let mut names: Vec<_> = action.attributes.iter().map(|a| a.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "max_unavailable",
            "server_ids",
            "timeout",
            "type",
            "wait_for_ready"
        ]
    );
    // The drain block, as on the resource: at most one.
    let drain = action
        .block_types
        .iter()
        .find(|b| b.type_name == "drain")
        .expect("a drain block");
    assert_eq!(
        drain.nesting,
        pb::schema::nested_block::NestingMode::Single as i32
    );
    let resource_drain = schema.resource_schemas[NAME]
        .block
        .as_ref()
        .and_then(|b| b.block_types.iter().find(|b| b.type_name == "drain"))
        .expect("the resource's drain block");
    assert_eq!(drain.block, resource_drain.block, "declared once for both");
    for attribute in &action.attributes {
        assert!(
            !attribute.computed,
            "{} is computed in an action",
            attribute.name
        );
        assert_eq!(
            attribute.required,
            attribute.name == "server_ids",
            "{}",
            attribute.name
        );
    }
    // No declared default (null means "not set", so the default can grow with waves); the
    // description states the rule.
    let timeout = action.attributes.iter().find(|a| a.name == "timeout");
    assert!(
        timeout.is_some_and(|a| a.description.contains("Default `\"30m\"`")
            && a.description.contains("grows to fit the rollout")),
        "{timeout:?}"
    );
    // The resource keeps its own schema under the same name.
    let resource = schema.resource_schemas[NAME]
        .block
        .as_ref()
        .expect("the resource's schema has a block");
    assert!(resource.attributes.iter().any(|a| a.name == "rebooted_at"));
    assert!(!action.attributes.iter().any(|a| a.name == "rebooted_at"));
}

#[tokio::test]
async fn validate_and_plan_check_the_configuration_and_call_no_api() {
    let simulator = LocalSimulator::with_servers(3, quick());
    let (served, mut client) = configured(&simulator).await;
    let ty = served.action_type.clone();

    let bad = action_config(
        &ty,
        &ids(2),
        &[
            ("type", Value::string("soft")),
            ("timeout", Value::string("0s")),
        ],
    );
    let validated = validate(&served, &mut client, &bad).await;
    let found = errors(&validated.diagnostics);
    assert_eq!(found.len(), 2, "{:?}", validated.diagnostics);
    assert!(found.iter().all(|d| d.attribute.is_some()), "{found:?}");
    assert!(found.iter().any(|d| d.detail.contains("write \"SOFT\"")));
    assert!(found
        .iter()
        .any(|d| d.detail.contains("timeout: \"0s\" is zero")));

    // Planned with the same bad values: the same errors, and still no request.
    let planned = plan(&served, &mut client, &bad).await;
    assert_eq!(errors(&planned.diagnostics).len(), 2);

    // A good configuration, and one whose server IDs are unknown until apply.
    for config in [
        action_config(&ty, &ids(3), &[]),
        action_config(&ty, &[], &[("server_ids", Value::unknown())]),
    ] {
        let planned = plan(&served, &mut client, &config).await;
        assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);
    }

    // Waves and draining need wait_for_ready: errors at the attribute, at validation and plan.
    let no_wait = action_config(
        &ty,
        &ids(3),
        &[
            ("wait_for_ready", Value::Bool(false)),
            ("max_unavailable", Value::string("1")),
        ],
    );
    let validated = validate(&served, &mut client, &no_wait).await;
    let found = errors(&validated.diagnostics);
    assert_eq!(found.len(), 1, "{:?}", validated.diagnostics);
    assert_eq!(found[0].summary, "max_unavailable requires wait_for_ready");
    assert_eq!(path(found[0]), ["max_unavailable"]);
    let planned = plan(&served, &mut client, &no_wait).await;
    let found = errors(&planned.diagnostics);
    assert_eq!(found.len(), 1, "{:?}", planned.diagnostics);
    assert_eq!(path(found[0]), ["max_unavailable"]);

    // An explicit timeout too short for one drained wave: an error at `timeout`.
    let short = action_config(
        &ty,
        &ids(3),
        &[
            ("max_unavailable", Value::string("1")),
            ("drain", drain_block(&served, &[])),
            ("timeout", Value::string("10m")),
        ],
    );
    let validated = validate(&served, &mut client, &short).await;
    let found = errors(&validated.diagnostics);
    assert_eq!(found.len(), 1, "{:?}", validated.diagnostics);
    assert_eq!(found[0].summary, "Timeout too short for the rollout");
    assert_eq!(path(found[0]), ["timeout"]);
    assert!(
        found[0].detail.contains("timeout = \"10m\""),
        "{}",
        found[0].detail
    );

    // A drain without max_unavailable: planning warns at `drain` (validation says nothing).
    let one_wave = action_config(
        &ty,
        &ids(3),
        &[(
            "drain",
            drain_block(&served, &[("on_timeout", Value::string("logoff"))]),
        )],
    );
    let validated = validate(&served, &mut client, &one_wave).await;
    assert!(
        validated.diagnostics.is_empty(),
        "{:?}",
        validated.diagnostics
    );
    let planned = plan(&served, &mut client, &one_wave).await;
    assert!(errors(&planned.diagnostics).is_empty());
    let found = warnings(&planned.diagnostics);
    assert_eq!(found.len(), 1, "{:?}", planned.diagnostics);
    assert_eq!(found[0].summary, "Every listed server is drained at once");
    assert_eq!(path(found[0]), ["drain"]);
    assert!(found[0].detail.contains("all 3 listed server(s)"));

    assert_eq!(simulator.requests(), [], "planning must not call the API");
    assert!(simulator.reboot_counts().values().all(|n| *n == 0));
}

#[tokio::test]
async fn invoke_reboots_40_servers_streaming_progress_then_one_completed() {
    let simulator = LocalSimulator::with_servers(40, quick());
    let (served, mut client) = configured(&simulator).await;
    let servers = ids(40);
    let config = action_config(&served.action_type, &servers, &[]);
    let invoked = invoke(&served, &mut client, &config).await;

    assert!(invoked.completed.is_empty(), "{:?}", invoked.completed);
    let counts = simulator.reboot_counts();
    assert!(
        servers.iter().all(|id| counts.get(id) == Some(&1)),
        "each server rebooted once: {counts:?}"
    );
    let lines = &invoked.progress;
    assert!(
        lines[0].starts_with(
            "Rebooting 40 server(s) (SOFT) all at once, waiting until they are ready again; \
             timeout 30m."
        ),
        "{lines:?}"
    );
    assert_eq!(lines[1], "Checking 40 server(s) before rebooting.");
    assert_eq!(lines[2], "Pre-flight: 40 servers OK, 1 wave.", "{lines:?}");
    assert!(invoked.has_progress("Wave 1/1 started: 40 servers (srv-0001, "));
    assert!(invoked
        .has_progress("Wave 1: reboot request 1/2 accepted: 20 servers (srv-0001 … srv-0020)."));
    assert!(invoked
        .has_progress("Wave 1: reboot request 2/2 accepted: 20 servers (srv-0021 … srv-0040)."));
    assert!(invoked.has_progress("Wave 1: reboot requested for 40 servers (2 requests)."));
    assert!(invoked.has_progress("Wave 1/1 finished: every server ready."));
    // Count lines: never the same count twice in a row, rising, ending at 40/40.
    let ready = ready_counts(lines, 40);
    assert_eq!(ready.last(), Some(&40), "{lines:?}");
    assert!(ready.windows(2).all(|w| w[0] < w[1]), "{ready:?}");
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("Done: 40 server(s) rebooted and ready")),
        "{lines:?}"
    );
    print_figures("all at once", &simulator, &servers, &invoked);
}

#[tokio::test]
async fn invoke_rolls_40_servers_out_in_waves_within_max_unavailable() {
    let simulator = LocalSimulator::with_servers(40, quick());
    let (served, mut client) = configured(&simulator).await;
    let servers = ids(40);
    let config = action_config(
        &served.action_type,
        &servers,
        &[("max_unavailable", Value::string("10"))],
    );
    let invoked = invoke(&served, &mut client, &config).await;

    assert!(invoked.completed.is_empty(), "{:?}", invoked.completed);
    let counts = simulator.reboot_counts();
    assert!(
        servers.iter().all(|id| counts.get(id) == Some(&1)),
        "each server rebooted once: {counts:?}"
    );
    let fleet = simulator.fleet_report();
    assert!(
        (1..=10).contains(&fleet.max_unavailable),
        "never more than 10 unavailable at once: {}",
        fleet.max_unavailable
    );
    let lines = &invoked.progress;
    // Unset, the timeout grows to fit 4 waves of 15 minutes.
    assert!(
        lines[0].starts_with(
            "Rebooting 40 server(s) (SOFT) in waves of at most 10 (max_unavailable = \"10\"), \
             waiting until they are ready again; timeout 1h."
        ),
        "{lines:?}"
    );
    assert!(invoked.has_progress("Pre-flight: 40 servers OK, 4 waves."));
    // The waves, in order: each finished before the next starts.
    let wave_lines: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| {
            l.starts_with("Wave ") && (l.contains(" started: ") || l.contains(" finished: "))
        })
        .collect();
    assert_eq!(
        wave_lines,
        [
            "Wave 1/4 started: 10 servers (srv-0001, srv-0002, srv-0003, srv-0004, srv-0005 and 5 more).",
            "Wave 1/4 finished: every server ready.",
            "Wave 2/4 started: 10 servers (srv-0011, srv-0012, srv-0013, srv-0014, srv-0015 and 5 more).",
            "Wave 2/4 finished: every server ready.",
            "Wave 3/4 started: 10 servers (srv-0021, srv-0022, srv-0023, srv-0024, srv-0025 and 5 more).",
            "Wave 3/4 finished: every server ready.",
            "Wave 4/4 started: 10 servers (srv-0031, srv-0032, srv-0033, srv-0034, srv-0035 and 5 more).",
            "Wave 4/4 finished: every server ready.",
        ]
    );
    assert!(invoked
        .has_progress("Wave 3: reboot request 1/1 accepted: 10 servers (srv-0021 … srv-0030)."));
    let ready = ready_counts(lines, 40);
    for end_of_wave in [10, 20, 30, 40] {
        assert!(ready.contains(&end_of_wave), "{ready:?}");
    }
    assert!(ready.windows(2).all(|w| w[0] < w[1]), "{ready:?}");
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("Done: 40 server(s) rebooted and ready")),
        "{lines:?}"
    );
    print_figures("max_unavailable = 10", &simulator, &servers, &invoked);
}

#[tokio::test]
async fn invoke_drains_logs_users_off_and_restores_maintenance() {
    // 6 servers with 2 sessions each that never end by themselves; srv-0002 was put into
    // maintenance by someone else and stays there.
    let simulator = with_sessions(6, 2, &[2]);
    let (served, mut client) = configured(&simulator).await;
    let servers = ids(6);
    let message = "Save your work: this server restarts shortly.";
    let config = action_config(
        &served.action_type,
        &servers,
        &[
            ("max_unavailable", Value::string("3")),
            (
                "drain",
                drain_block(
                    &served,
                    &[
                        ("timeout", Value::string("300ms")),
                        ("on_timeout", Value::string("logoff")),
                        ("message", Value::string(message)),
                        ("logoff_delay", Value::string("2s")),
                    ],
                ),
            ),
        ],
    );
    let invoked = invoke(&served, &mut client, &config).await;

    assert!(invoked.completed.is_empty(), "{:?}", invoked.completed);
    let fleet = simulator.fleet_report();
    assert_eq!(fleet.sessions_killed, 0, "{fleet:#?}");
    assert!(fleet.logoff_messages > 0, "{fleet:#?}");
    for server in &fleet.servers {
        assert_eq!(server.reboots.len(), 1, "{}", server.id);
        assert!(
            server.reboots[0].maintain_status,
            "{} rebooted outside maintenance",
            server.id
        );
        for sent in &server.logoff_messages {
            assert_eq!(sent.message.as_deref(), Some(message));
            assert_eq!(sent.title.as_deref(), Some("Server maintenance"));
            assert_eq!(sent.delay_time, 2);
        }
    }
    assert_eq!(in_maintenance(&simulator), ["srv-0002"]);
    let lines = &invoked.progress;
    assert!(
        lines[0].contains("each wave drained first (up to 0.300s, then logging the users off)"),
        "{lines:?}"
    );
    assert!(
        invoked.has_progress(
            "Wave 1: maintenance mode on for 2 servers (srv-0001, srv-0003); 1 already in \
         maintenance stay so."
        ),
        "{lines:?}"
    );
    assert!(invoked.has_progress("Wave 1: draining, 6 sessions open on 3 servers."));
    assert!(invoked.has_progress("Wave 1: drain timeout with 6 sessions open on 3 servers"));
    assert!(invoked.has_progress("Wave 1: logoff message sent to 6 sessions on 3 servers"));
    assert!(invoked.has_progress("Maintenance mode off again for 2 servers (srv-0001, srv-0003)."));
    assert!(invoked
        .has_progress("Maintenance mode off again for 3 servers (srv-0004, srv-0005, srv-0006)."));
    assert!(lines
        .last()
        .is_some_and(|l| l.starts_with("Done: 6 server(s)")));
    for line in lines {
        println!("  progress (drain): {line}");
    }
}

#[tokio::test]
async fn partial_failure_is_reported_in_the_one_completed_event() {
    let simulator = LocalSimulator::with_servers(25, quick());
    simulator.set_faults(Faults {
        failing_ids: Some(FailingIdsFault {
            ids: vec!["srv-0021".into()],
            status: 500,
            error_code: Some("WKS.00211401".into()),
            error_msg: Some("Internal error, please try again later.".into()),
        }),
        ..Faults::default()
    });
    simulator.set_error_after_reboot(&["srv-0003"]);
    // No retries, so the test does not sit through the client's back-off on the 500s.
    let (served, mut client) = configured_with(&simulator, &[("HW_MAX_RETRIES", "0")]).await;
    let config = action_config(
        &served.action_type,
        &ids(25),
        &[("type", Value::string("HARD"))],
    );
    let invoked = invoke(&served, &mut client, &config).await;

    assert!(
        invoked.has_progress(
            "Wave 1: reboot request 2/2 failed for 5 servers (srv-0021 … srv-0025): HTTP 500 \
         WKS.00211401: Internal error, please try again later."
        ),
        "{:?}",
        invoked.progress
    );
    assert!(
        invoked.has_progress("Wave 1: reboot requested for 20 servers (2 requests); 5 failed."),
        "{:?}",
        invoked.progress
    );
    assert!(
        invoked
            .has_progress("Wave 1: 1 server did not become ready: srv-0003: rebooted, then failed"),
        "{:?}",
        invoked.progress
    );
    assert!(
        invoked.has_progress("Wave 1/1 failed: "),
        "{:?}",
        invoked.progress
    );
    assert!(invoked
        .progress
        .last()
        .is_some_and(|l| l.starts_with("Failed: 19 of 25 server(s) done")));
    let found = errors(&invoked.completed);
    let summaries: Vec<&str> = found.iter().map(|d| d.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "Reboot request failed for 5 server(s)",
            "1 rebooted server(s) did not become ready",
            "Reboot incomplete"
        ],
        "{:?}",
        invoked.completed
    );
    let batch = &found[0].detail;
    assert!(batch.contains("HTTP status: 500"), "{batch}");
    assert!(batch.contains("error_code: WKS.00211401"), "{batch}");
    assert!(
        batch.contains("error_msg: Internal error, please try again later."),
        "{batch}"
    );
    assert!(batch.contains("servers (5): srv-0021, srv-0022, srv-0023, srv-0024, srv-0025"));
    assert!(
        found[1].detail.contains("- srv-0003: "),
        "{}",
        found[1].detail
    );
    assert!(found[1].detail.contains("ERROR"), "{}", found[1].detail);
    let summary = &found[2].detail;
    assert!(summary.contains("Servers listed: 25."), "{summary}");
    assert!(
        summary.contains("Rebooted and ready again (19)"),
        "{summary}"
    );
    assert!(summary.contains("Reboot accepted but not seen ready (1): srv-0003."));
    assert!(summary.contains("Not rebooted (5): srv-0021"), "{summary}");
    assert!(summary.contains("An action keeps no state"), "{summary}");
    assert!(
        summary.contains(
            "server_ids = [\"srv-0003\", \"srv-0021\", \"srv-0022\", \"srv-0023\", \"srv-0024\", \
             \"srv-0025\"]"
        ),
        "{summary}"
    );
    // The refused batch rebooted nothing, and the others rebooted once.
    let counts = simulator.reboot_counts();
    assert_eq!(counts.get("srv-0001"), Some(&1));
    assert_eq!(counts.get("srv-0021").copied().unwrap_or(0), 0);
}

#[tokio::test]
async fn a_missing_or_frozen_server_stops_the_action_before_any_reboot() {
    let simulator = LocalSimulator::with_servers(6, quick());
    simulator
        .freeze_server("srv-0002")
        .expect("srv-0002 exists");
    let (served, mut client) = configured(&simulator).await;
    let mut listed = ids(6);
    listed.push("srv-9999".into());
    let config = action_config(&served.action_type, &listed, &[]);
    let invoked = invoke(&served, &mut client, &config).await;

    let found = errors(&invoked.completed);
    assert_eq!(found.len(), 1, "{:?}", invoked.completed);
    assert_eq!(found[0].summary, "Servers cannot be rebooted");
    let detail = &found[0].detail;
    assert!(detail.contains("srv-9999"), "{detail}");
    assert!(detail.contains("srv-0002"), "{detail}");
    assert!(detail.contains("no reboot request was sent"), "{detail}");
    // The pre-flight refused before the first reboot request.
    let counts = simulator.reboot_counts();
    assert!(counts.values().all(|count| *count == 0), "{counts:?}");
}

#[tokio::test]
async fn stop_interrupts_an_invocation_with_one_completed_saying_so() {
    // Reboots that last far longer than the test: only the stop can end the wait.
    let simulator = LocalSimulator::with_servers(
        3,
        RebootTiming {
            pending_ms: 600_000,
            rebooting_ms: 1_000,
            registering_ms: 1_000,
        },
    );
    let (served, mut client) = configured(&simulator).await;
    let config = action_config(
        &served.action_type,
        &ids(3),
        &[("timeout", Value::string("1h"))],
    );
    let stream = client
        .invoke_action(pb::invoke_action::Request {
            action_type: NAME.into(),
            config: dynamic(&served, &config),
            client_capabilities: None,
        })
        .await
        .expect("InvokeAction starts")
        .into_inner();
    let (waiting_tx, waiting_rx) = tokio::sync::oneshot::channel();
    let mut waiting_tx = Some(waiting_tx);
    let reader = tokio::spawn(read_to_end(stream, move |line| {
        if line.starts_with("Wave 1: reboot requested for") {
            if let Some(tx) = waiting_tx.take() {
                let _ = tx.send(());
            }
        }
    }));
    waiting_rx.await.expect("the action reaches its wait");
    let mut other = self::client(&served);
    assert_eq!(stop(&mut other).await, "");
    let invoked = reader.await.expect("the reader ends");

    assert!(invoked.has_progress("Interrupted: Terraform asked the provider to stop."));
    let found = errors(&invoked.completed);
    let last = found.last().expect("an error");
    assert_eq!(last.summary, "Interrupted", "{:?}", invoked.completed);
    assert!(last.detail.contains("Terraform asked the provider to stop"));
    assert!(
        last.detail
            .contains("Reboot accepted but not seen ready (3): srv-0001, srv-0002, srv-0003."),
        "{}",
        last.detail
    );
    assert!(last
        .detail
        .contains("Invoking the action again tries the whole reboot again."));
}

#[tokio::test]
async fn stop_during_a_drain_wait_restores_maintenance_and_says_interrupted() {
    // Sessions that never end, and a drain that would wait an hour for them: only the stop
    // ends this wait.
    let simulator = with_sessions(4, 2, &[]);
    let (served, mut client) = configured(&simulator).await;
    let config = action_config(
        &served.action_type,
        &ids(4),
        &[
            ("max_unavailable", Value::string("2")),
            (
                "drain",
                drain_block(&served, &[("timeout", Value::string("1h"))]),
            ),
        ],
    );
    let stream = client
        .invoke_action(pb::invoke_action::Request {
            action_type: NAME.into(),
            config: dynamic(&served, &config),
            client_capabilities: None,
        })
        .await
        .expect("InvokeAction starts")
        .into_inner();
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel();
    let mut draining_tx = Some(draining_tx);
    let reader = tokio::spawn(read_to_end(stream, move |line| {
        if line.starts_with("Wave 1: draining,") {
            if let Some(tx) = draining_tx.take() {
                let _ = tx.send(());
            }
        }
    }));
    draining_rx
        .await
        .expect("the action reaches its drain wait");
    assert_eq!(in_maintenance(&simulator), ["srv-0001", "srv-0002"]);
    let mut other = self::client(&served);
    assert_eq!(stop(&mut other).await, "");
    let invoked = reader.await.expect("the reader ends");

    // Nothing rebooted, nothing left in maintenance.
    assert!(simulator.reboot_counts().values().all(|n| *n == 0));
    assert!(in_maintenance(&simulator).is_empty());
    assert!(
        invoked.has_progress("Maintenance mode off again for 2 servers (srv-0001, srv-0002)."),
        "{:?}",
        invoked.progress
    );
    assert_eq!(
        invoked.progress.last().map(String::as_str),
        Some("Interrupted: Terraform asked the provider to stop.")
    );
    let found = errors(&invoked.completed);
    let last = found.last().expect("an error");
    assert_eq!(last.summary, "Interrupted", "{:?}", invoked.completed);
    assert!(
        last.detail.contains("Terraform asked the provider to stop"),
        "{}",
        last.detail
    );
    assert!(
        !invoked
            .completed
            .iter()
            .any(|d| d.summary == "Servers left in maintenance mode"),
        "{:?}",
        invoked.completed
    );
    assert!(last
        .detail
        .contains("Invoking the action again tries the whole reboot again."));
}
