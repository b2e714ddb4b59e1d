//! The provider driven through its `Provider` trait against the real in-process simulator:
//! configuration, then plan → apply cycles as Terraform runs them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::environment::MapEnvironment;
use super::reboot::tests::{get, plan_request, Config};
use super::reboot::REBOOT_RESOURCE;
use super::*;
use crate::framework::Model;
use crate::protocol::cty::Value;
use crate::protocol::diagnostics::{PathStep, Severity};
use crate::protocol::provider::{ApplyRequest, ApplyResponse, PlanResponse, Provider};
use crate::workspace::simulator::{
    CredentialsConfig, FailingIdsFault, Faults, Operation, RebootTiming, ServerSpec, Simulator,
    SimulatorConfig, SimulatorHandle, StatusOverride,
};
use crate::workspace::Credentials;

const AK: &str = "AK-PROVIDER-TEST";
const SK: &str = "SK-provider-test-secret-0123456789";
const TOKEN: &str = "iam-token-provider-test-secret";
const SECURITY_TOKEN: &str = "security-token-provider-test-secret";

/// Reboots that finish quickly; polls every 10 ms.
const QUICK: RebootTiming = RebootTiming {
    pending_ms: 20,
    rebooting_ms: 40,
    registering_ms: 20,
};

async fn simulator(ids: &[String], timing: RebootTiming) -> SimulatorHandle {
    let config = SimulatorConfig {
        servers: ids
            .iter()
            .map(|id| ServerSpec::with_id(id.clone()))
            .collect(),
        credentials: CredentialsConfig {
            access_keys: vec![
                Credentials::ak_sk(AK, SK),
                Credentials::ak_sk("AK-TEMP", SK).with_security_token(SECURITY_TOKEN),
            ],
            iam_tokens: vec![Credentials::token(TOKEN)],
            allow_anonymous: false,
        },
        reboot: timing,
        ..SimulatorConfig::default()
    };
    match Simulator::start(config).await {
        Ok(handle) => handle,
        Err(e) => panic!("simulator did not start: {e}"),
    }
}

fn ids(prefix: &str, count: usize) -> Vec<String> {
    (1..=count).map(|n| format!("{prefix}-{n:03}")).collect()
}

fn str_refs(ids: &[String]) -> Vec<&str> {
    ids.iter().map(String::as_str).collect()
}

fn provider() -> WorkspaceProvider {
    WorkspaceProvider::with_environment(Arc::new(MapEnvironment::new([(
        "HW_WORKSPACE_POLL_INTERVAL",
        "10ms",
    )])))
}

/// A provider configuration object with every argument, null unless given.
fn provider_config(set: &[(&str, Value)]) -> Value {
    let mut object: BTreeMap<String, Value> = ProviderConfig::declarations()
        .iter()
        .map(|decl| (decl.name.to_owned(), Value::Null))
        .collect();
    for (name, value) in set {
        object.insert((*name).to_owned(), value.clone());
    }
    Value::Object(object)
}

fn aksk_config(sim: &SimulatorHandle) -> Value {
    provider_config(&[
        ("endpoint", Value::string(sim.base_url())),
        ("project_id", Value::string(sim.project_id())),
        ("access_key", Value::string(AK)),
        ("secret_key", Value::string(SK)),
        ("max_retries", Value::Number(0.into())),
    ])
}

async fn configured(sim: &SimulatorHandle) -> WorkspaceProvider {
    let provider = provider();
    let diagnostics = provider.configure(&aksk_config(sim), "1.0.3").await;
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    provider
}

/// What Terraform keeps between runs.
#[derive(Clone, Debug)]
struct Saved {
    state: Value,
    private: Vec<u8>,
}

impl Saved {
    fn none() -> Self {
        Saved {
            state: Value::Null,
            private: Vec::new(),
        }
    }
}

/// Plan then apply `config` over `saved`, as `terraform apply` does; returns the plan too.
async fn plan_and_apply(
    provider: &WorkspaceProvider,
    saved: &Saved,
    config: &Value,
) -> (PlanResponse, ApplyResponse) {
    let planned = provider
        .plan_resource_change(plan_request(&saved.state, config, &saved.private))
        .await;
    assert!(
        !planned.diagnostics.has_errors(),
        "{:#?}",
        planned.diagnostics
    );
    let applied = provider
        .apply_resource_change(ApplyRequest {
            type_name: REBOOT_RESOURCE.to_owned(),
            prior_state: saved.state.clone(),
            planned_state: planned.planned_state.clone(),
            config: config.clone(),
            planned_private: planned.planned_private.clone(),
        })
        .await;
    (planned, applied)
}

fn all_text(diagnostics: &Diagnostics) -> String {
    diagnostics
        .iter()
        .map(|d| format!("{}\n{}\n", d.summary, d.detail))
        .collect()
}

/// Every known planned value came back unchanged and nothing is unknown.
fn assert_conforms(planned: &Value, new_state: &Value) {
    assert!(new_state.is_wholly_known(), "{new_state:#?}");
    let (Some(planned), Some(new)) = (planned.entries(), new_state.entries()) else {
        panic!("objects expected: {planned:#?} {new_state:#?}");
    };
    for (name, value) in planned {
        if value.is_wholly_known() {
            assert_eq!(
                Some(value),
                new.get(name),
                "attribute {name} changed during apply"
            );
        }
    }
}

fn counts(sim: &SimulatorHandle, ids: &[String]) -> Vec<u64> {
    let all = sim.reboot_counts();
    ids.iter()
        .map(|id| all.get(id).copied().unwrap_or(0))
        .collect()
}

fn accepted_reboots(sim: &SimulatorHandle) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.is_accepted_reboot())
        .count()
}

// ---- configuration through the trait ----

#[tokio::test]
async fn configure_reports_missing_settings_by_argument_and_variable() {
    let provider = provider();
    let diagnostics = provider
        .configure(
            &provider_config(&[
                ("region", Value::string("cn-north-4")),
                ("token", Value::string("t")),
            ]),
            "1.0.3",
        )
        .await;
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{diagnostics:#?}");
    assert_eq!(
        errors[0].attribute.as_ref().map(|p| p.0.clone()),
        Some(vec![PathStep::Attribute("project_id".into())])
    );
    assert!(
        errors[0].detail.contains("`project_id`") && errors[0].detail.contains("HW_PROJECT_ID")
    );
    assert!(provider
        .validate_provider_config(&provider_config(&[]))
        .await
        .is_empty());
}

#[tokio::test]
async fn unknown_configuration_plans_but_cannot_apply() {
    let provider = provider();
    let unknown = provider_config(&[
        ("project_id", Value::unknown()),
        ("endpoint", Value::unknown()),
        ("token", Value::unknown()),
    ]);
    assert!(provider.configure(&unknown, "1.0.3").await.is_empty());
    let config = Config::ids(&["a"]).value();
    let planned = provider
        .plan_resource_change(plan_request(&Value::Null, &config, &[]))
        .await;
    assert!(planned.diagnostics.is_empty(), "{:#?}", planned.diagnostics);
    let applied = provider
        .apply_resource_change(ApplyRequest {
            type_name: REBOOT_RESOURCE.to_owned(),
            prior_state: Value::Null,
            planned_state: planned.planned_state,
            config,
            planned_private: Vec::new(),
        })
        .await;
    assert!(applied.diagnostics.has_errors());
    assert!(
        applied.diagnostics.0[0].summary.contains("not known"),
        "{:#?}",
        applied.diagnostics
    );
    assert_eq!(applied.new_state, Value::Null);
}

#[tokio::test]
async fn unknown_resource_types_are_refused() {
    let provider = provider();
    assert!(provider
        .validate_resource_config("workspace_other", &Value::Null)
        .await
        .has_errors());
    assert!(provider
        .import_resource_state("workspace_other", "x")
        .await
        .diagnostics
        .has_errors());
    let schemas = provider.schemas();
    assert_eq!(
        schemas.resources.keys().collect::<Vec<_>>(),
        ["workspace_app_server_reboot"]
    );
    assert_eq!(schemas.resources["workspace_app_server_reboot"].version, 1);
}

// ---- the life of a resource ----

#[tokio::test]
async fn create_update_and_destroy_against_the_simulator() {
    let servers = ids("srv", 3);
    let sim = simulator(&servers, QUICK).await;
    let provider = configured(&sim).await;
    let ids = str_refs(&servers);

    // Create: every server rebooted once, and running again when the apply returns.
    let config = Config::ids(&ids).triggers(&[("image", "v1")]);
    let (planned, applied) = plan_and_apply(&provider, &Saved::none(), &config.value()).await;
    assert!(applied.diagnostics.is_empty(), "{:#?}", applied.diagnostics);
    assert_conforms(&planned.planned_state, &applied.new_state);
    assert_eq!(counts(&sim, &servers), [1, 1, 1]);
    for id in &servers {
        let snapshot = sim.server(id).unwrap_or_else(|| panic!("{id} exists"));
        assert_eq!(
            (snapshot.vm_status.as_str(), snapshot.task_status.as_str()),
            ("ACTIVE", "null")
        );
    }
    let state = applied.new_state.clone();
    let id = get(&state, "id").as_str().unwrap_or_default().to_owned();
    assert_eq!(id.len(), 32);
    let rebooted_at = get(&state, "rebooted_at")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        time::OffsetDateTime::parse(&rebooted_at, &time::format_description::well_known::Rfc3339)
            .is_ok()
            && rebooted_at.ends_with('Z')
            && !rebooted_at.contains('.'),
        "{rebooted_at}"
    );
    let saved = Saved {
        state,
        private: applied.private,
    };

    // Nothing changed: the plan is the state itself, so Terraform plans no action.
    let again = provider
        .plan_resource_change(plan_request(&saved.state, &config.value(), &saved.private))
        .await;
    assert_eq!(again.planned_state, saved.state);

    // Read calls no API.
    let requests = sim.requests().len();
    let read = provider
        .read_resource(REBOOT_RESOURCE, saved.state.clone(), saved.private.clone())
        .await;
    assert_eq!(read.new_state, saved.state);
    assert_eq!(sim.requests().len(), requests);

    // Only the IDs change: state updated, nothing rebooted, no request at all.
    let fewer = Config::ids(&ids[..2]).triggers(&[("image", "v1")]);
    let (planned, applied) = plan_and_apply(&provider, &saved, &fewer.value()).await;
    assert!(applied.diagnostics.is_empty(), "{:#?}", applied.diagnostics);
    assert_conforms(&planned.planned_state, &applied.new_state);
    assert_eq!(sim.requests().len(), requests);
    assert_eq!(
        get(&applied.new_state, "rebooted_at"),
        &Value::string(rebooted_at.clone())
    );
    let saved = Saved {
        state: applied.new_state,
        private: applied.private,
    };

    // A trigger change reboots the listed servers again, as HARD when asked; the ID stays.
    let hard = Config::ids(&ids[..2])
        .triggers(&[("image", "v2")])
        .reboot_type("HARD");
    let (planned, applied) = plan_and_apply(&provider, &saved, &hard.value()).await;
    assert!(applied.diagnostics.is_empty(), "{:#?}", applied.diagnostics);
    assert!(get(&planned.planned_state, "rebooted_at").is_unknown());
    assert_conforms(&planned.planned_state, &applied.new_state);
    assert_eq!(counts(&sim, &servers), [2, 2, 1]);
    assert_eq!(get(&applied.new_state, "id"), &Value::string(id));
    let types: Vec<_> = sim
        .requests()
        .iter()
        .filter(|r| r.is_accepted_reboot())
        .filter_map(|r| r.reboot_type)
        .collect();
    assert_eq!(types.last().map(|t| t.as_str()), Some("HARD"));
    let saved = Saved {
        state: applied.new_state,
        private: applied.private,
    };

    // Destroy: null plan, null state, no request.
    let requests = sim.requests().len();
    let (planned, applied) = plan_and_apply(&provider, &saved, &Value::Null).await;
    assert_eq!(
        (planned.planned_state, applied.new_state),
        (Value::Null, Value::Null)
    );
    assert!(applied.diagnostics.is_empty());
    assert_eq!(sim.requests().len(), requests);
    sim.shutdown().await;
}

#[tokio::test]
async fn forty_five_servers_in_three_batches_without_waiting() {
    let servers = ids("many", 45);
    let sim = simulator(&servers, QUICK).await;
    let provider = configured(&sim).await;
    let config = Config::ids(&str_refs(&servers)).wait(false);
    let (planned, applied) = plan_and_apply(&provider, &Saved::none(), &config.value()).await;
    assert!(applied.diagnostics.is_empty(), "{:#?}", applied.diagnostics);
    assert_conforms(&planned.planned_state, &applied.new_state);
    assert_eq!(counts(&sim, &servers), vec![1; 45]);
    assert_eq!(accepted_reboots(&sim), 3);
    // No waiting: besides the three reboot requests only the pre-flight's lookups were sent,
    // all of them before the first reboot request.
    let requests = sim.requests();
    let first_reboot = requests
        .iter()
        .filter(|r| r.operation == Operation::BatchReboot)
        .map(|r| r.seq)
        .min();
    let others: Vec<_> = requests
        .iter()
        .filter(|r| r.operation != Operation::BatchReboot)
        .collect();
    assert_eq!(requests.len() - others.len(), 3, "{requests:#?}");
    assert!(!others.is_empty());
    assert!(
        others.iter().all(|r| Some(r.seq) < first_reboot),
        "{requests:#?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn token_and_temporary_credentials_pass_and_a_wrong_secret_fails_with_the_api_message() {
    let servers = ids("auth", 1);
    let sim = simulator(&servers, QUICK).await;
    let config = Config::ids(&str_refs(&servers)).wait(false).value();
    let base = |extra: &[(&str, Value)]| {
        let mut set = vec![
            ("endpoint", Value::string(sim.base_url())),
            ("project_id", Value::string(sim.project_id())),
            ("max_retries", Value::Number(0.into())),
        ];
        set.extend(extra.iter().cloned());
        provider_config(&set)
    };
    for credentials in [
        vec![("token", Value::string(TOKEN))],
        vec![
            ("access_key", Value::string("AK-TEMP")),
            ("secret_key", Value::string(SK)),
            ("security_token", Value::string(SECURITY_TOKEN)),
        ],
    ] {
        let provider = provider();
        assert!(provider
            .configure(&base(&credentials), "1.0.3")
            .await
            .is_empty());
        let (_, applied) = plan_and_apply(&provider, &Saved::none(), &config).await;
        assert!(applied.diagnostics.is_empty(), "{:#?}", applied.diagnostics);
    }
    assert_eq!(counts(&sim, &servers), [2]);

    let wrong_secret = "WRONG-secret-value-that-must-not-leak";
    let provider = provider();
    let bad = base(&[
        ("access_key", Value::string(AK)),
        ("secret_key", Value::string(wrong_secret)),
    ]);
    assert!(provider.configure(&bad, "1.0.3").await.is_empty());
    let (_, applied) = plan_and_apply(&provider, &Saved::none(), &config).await;
    let text = all_text(&applied.diagnostics);
    // The pre-flight lookup is the first request, so it meets the refusal.
    assert!(
        text.contains("Pre-flight check failed")
            && text.contains("401")
            && text.contains("APIGW.0301"),
        "{text}"
    );
    assert!(!text.contains(wrong_secret) && !text.contains(SK));
    // Nothing was rebooted by a failed create: nothing is saved.
    assert_eq!(applied.new_state, Value::Null);
    assert_eq!(counts(&sim, &servers), [2]);
    sim.shutdown().await;
}

// ---- partial failure ----

fn failing(ids: &[&str]) -> Faults {
    Faults {
        failing_ids: Some(FailingIdsFault {
            ids: ids.iter().map(|id| (*id).to_owned()).collect(),
            // A 5xx (the simulator fails batches only that way); the provider is configured
            // with max_retries = 0, so it is not retried.
            status: 500,
            error_code: Some("WKS.00211401".to_owned()),
            error_msg: Some("simulated internal error".to_owned()),
        }),
        ..Faults::default()
    }
}

#[tokio::test]
async fn failed_create_reports_every_batch_and_is_replaced_by_the_next_apply() {
    // 25 servers: batch 1 = the first 20 (sorted), batch 2 = the last 5. One ID fails batch 2.
    let servers = ids("pf", 25);
    let sim = simulator(&servers, QUICK).await;
    sim.set_faults(failing(&["pf-023"]));
    let provider = configured(&sim).await;
    let config = Config::ids(&str_refs(&servers));
    let (planned, applied) = plan_and_apply(&provider, &Saved::none(), &config.value()).await;

    let failures: Vec<_> = applied
        .diagnostics
        .iter()
        .filter(|d| d.summary.starts_with("Reboot request failed"))
        .collect();
    assert_eq!(failures.len(), 1, "{:#?}", applied.diagnostics);
    let detail = &failures[0].detail;
    for expected in [
        "HTTP status: 500",
        "error_code: WKS.00211401",
        "simulated internal error",
        "request id: ",
        "pf-021, pf-022, pf-023, pf-024, pf-025",
    ] {
        assert!(
            detail.contains(expected),
            "{expected:?} missing in {detail}"
        );
    }
    assert!(!detail.contains("request id: (none)"), "{detail}");
    let summary = applied
        .diagnostics
        .0
        .last()
        .map(|d| d.detail.clone())
        .unwrap_or_default();
    assert!(
        summary.contains("Rebooted and ready again (20)") && summary.contains("tainted"),
        "{summary}"
    );
    // The state saved for the tainted object is complete and says when the reboot happened.
    assert!(applied.new_state.is_wholly_known());
    assert!(get(&applied.new_state, "rebooted_at").as_str().is_some());
    assert_eq!(
        get(&applied.new_state, "server_ids"),
        get(&planned.planned_state, "server_ids")
    );
    let mut expected = vec![1; 20];
    expected.extend([0; 5]);
    assert_eq!(counts(&sim, &servers), expected);
    let pending = set_of(&servers[20..]);
    assert_eq!(get(&applied.new_state, "pending_server_ids"), &pending);

    // Terraform replaces a tainted object: it destroys it first, then the replacement takes
    // over its pending servers and reboots only those.
    sim.set_faults(Faults::default());
    destroy(&provider, &applied.new_state).await;
    let (_, replaced) = plan_and_apply(&provider, &Saved::none(), &config.value()).await;
    assert!(
        replaced.diagnostics.is_empty(),
        "{:#?}",
        replaced.diagnostics
    );
    assert_eq!(counts(&sim, &servers), vec![1; 25]);
    assert_eq!(get(&replaced.new_state, "pending_server_ids"), &set_of(&[]));

    // A handover is taken once: another create of the same servers reboots all of them.
    let (_, again) = plan_and_apply(&provider, &Saved::none(), &config.value()).await;
    assert!(again.diagnostics.is_empty(), "{:#?}", again.diagnostics);
    assert_eq!(counts(&sim, &servers), vec![2; 25]);
    sim.shutdown().await;
}

/// A set of strings as cty.
fn set_of(ids: &[String]) -> Value {
    Value::Set(ids.iter().map(|id| Value::string(id.as_str())).collect())
}

/// Destroys `state` as Terraform does: planned null, the state as prior.
async fn destroy(provider: &WorkspaceProvider, state: &Value) {
    let applied = provider
        .apply_resource_change(ApplyRequest {
            type_name: REBOOT_RESOURCE.to_owned(),
            prior_state: state.clone(),
            planned_state: Value::Null,
            config: Value::Null,
            planned_private: Vec::new(),
        })
        .await;
    assert!(applied.diagnostics.is_empty(), "{:#?}", applied.diagnostics);
    assert_eq!(applied.new_state, Value::Null);
}

/// Only a replacement with the same server_ids, triggers and type, created after the tainted
/// object was destroyed, skips the servers it had done; a complete state hands nothing over.
#[tokio::test]
async fn the_handover_goes_only_to_a_matching_replacement() {
    let servers = ids("ho", 3);
    let sim = simulator(&servers, QUICK).await;
    let provider = configured(&sim).await;
    let config = Config::ids(&str_refs(&servers))
        .triggers(&[("image", "v1")])
        .wait(false);
    // A tainted object's state as a failed create leaves it: ho-003 pending.
    let (_, created) = plan_and_apply(&provider, &Saved::none(), &config.value()).await;
    assert!(created.diagnostics.is_empty(), "{:#?}", created.diagnostics);
    assert_eq!(get(&created.new_state, "pending_server_ids"), &set_of(&[]));
    let mut tainted = created.new_state.clone();
    if let Value::Object(attributes) = &mut tainted {
        attributes.insert("pending_server_ids".into(), set_of(&servers[2..]));
    }
    assert_eq!(counts(&sim, &servers), [1, 1, 1]);

    // create_before_destroy: the replacement comes first and reboots everything.
    let (_, first) = plan_and_apply(&provider, &Saved::none(), &config.value()).await;
    assert!(first.diagnostics.is_empty(), "{:#?}", first.diagnostics);
    assert_eq!(counts(&sim, &servers), [2, 2, 2]);

    // Other triggers, another type, another server list: each reboots every listed server.
    let others = [
        config.clone().triggers(&[("image", "v2")]),
        config.clone().reboot_type("HARD"),
        Config::ids(&str_refs(&servers[..2]))
            .triggers(&[("image", "v1")])
            .wait(false),
    ];
    let mut expected = vec![2u64, 2, 2];
    for other in others {
        destroy(&provider, &tainted).await;
        let (_, applied) = plan_and_apply(&provider, &Saved::none(), &other.value()).await;
        assert!(applied.diagnostics.is_empty(), "{:#?}", applied.diagnostics);
        let listed = match get(&other.value(), "server_ids") {
            Value::Set(ids) => ids.len(),
            _ => 0,
        };
        for count in expected.iter_mut().take(listed) {
            *count += 1;
        }
        assert_eq!(counts(&sim, &servers), expected);
        // The unmatched handover is still there; take it with the matching create.
        let (_, matching) = plan_and_apply(&provider, &Saved::none(), &config.value()).await;
        assert!(
            matching.diagnostics.is_empty(),
            "{:#?}",
            matching.diagnostics
        );
        expected[2] += 1;
        assert_eq!(counts(&sim, &servers), expected);
    }

    // A complete state (e.g. `-replace` of a healthy resource) hands nothing over.
    destroy(&provider, &created.new_state).await;
    plan_and_apply(&provider, &Saved::none(), &config.value()).await;
    for count in &mut expected {
        *count += 1;
    }
    assert_eq!(counts(&sim, &servers), expected);
    sim.shutdown().await;
}

#[tokio::test]
async fn failed_update_keeps_prior_triggers_and_the_next_apply_reboots_only_the_rest() {
    let servers = ids("up", 25);
    let sim = simulator(&servers, QUICK).await;
    let provider = configured(&sim).await;
    let ids = str_refs(&servers);
    let v1 = Config::ids(&ids).triggers(&[("image", "v1")]).wait(false);
    let (_, created) = plan_and_apply(&provider, &Saved::none(), &v1.value()).await;
    assert!(created.diagnostics.is_empty(), "{:#?}", created.diagnostics);
    let saved = Saved {
        state: created.new_state.clone(),
        private: created.private,
    };

    // The trigger change fails for the first batch (up-001 … up-020).
    sim.set_faults(failing(&["up-007"]));
    let v2 = Config::ids(&ids).triggers(&[("image", "v2")]).wait(false);
    let (_, failed) = plan_and_apply(&provider, &saved, &v2.value()).await;
    assert!(failed.diagnostics.has_errors());
    let text = all_text(&failed.diagnostics);
    assert!(
        text.contains("next apply reboots only the 20 server(s) not done"),
        "{text}"
    );
    assert_eq!(
        get(&failed.new_state, "triggers"),
        get(&created.new_state, "triggers")
    );
    assert_eq!(get(&failed.new_state, "id"), get(&created.new_state, "id"));
    assert!(failed.new_state.is_wholly_known());
    assert!(!failed.private.is_empty());
    let mut expected = vec![1; 20];
    expected.extend([2; 5]);
    assert_eq!(counts(&sim, &servers), expected);
    let saved = Saved {
        state: failed.new_state,
        private: failed.private,
    };

    // Next run, fault gone: the change is planned again, and only the 20 pending servers reboot.
    sim.set_faults(Faults::default());
    let (planned, resumed) = plan_and_apply(&provider, &saved, &v2.value()).await;
    assert!(get(&planned.planned_state, "rebooted_at").is_unknown());
    assert!(planned
        .diagnostics
        .iter()
        .any(|d| d.summary.contains("Resuming")));
    assert!(resumed.diagnostics.is_empty(), "{:#?}", resumed.diagnostics);
    assert_conforms(&planned.planned_state, &resumed.new_state);
    assert_eq!(counts(&sim, &servers), vec![2; 25]);
    assert!(resumed.private.is_empty());
    let saved = Saved {
        state: resumed.new_state,
        private: resumed.private,
    };

    // And then the configuration and the state agree: no change.
    let settled = provider
        .plan_resource_change(plan_request(&saved.state, &v2.value(), &saved.private))
        .await;
    assert_eq!(settled.planned_state, saved.state);
    sim.shutdown().await;
}

fn sessions(count: u32) -> StatusOverride {
    StatusOverride {
        session_count: Some(count),
        ..StatusOverride::default()
    }
}

#[tokio::test]
async fn a_failed_wave_stops_the_rollout_and_the_next_apply_reboots_only_what_is_left() {
    // 8 servers, 2 per wave: waves are (001, 002), (003, 004), (005, 006), (007, 008).
    let servers = ids("wave", 8);
    let sim = simulator(&servers, QUICK).await;
    // A server that was in maintenance before: it stays there.
    sim.set_maintenance("wave-001", true)
        .unwrap_or_else(|e| panic!("{e}"));
    // A rollout makes a dozen requests a wave: lift the default request budget (1.5/s).
    let provider = provider();
    let mut settings = aksk_config(&sim);
    if let Value::Object(arguments) = &mut settings {
        arguments.insert(
            "max_requests_per_second".to_owned(),
            Value::Number(1000.into()),
        );
    }
    let diagnostics = provider.configure(&settings, "1.0.3").await;
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let ids = str_refs(&servers);
    let config = |image: &str| {
        Config::ids(&ids)
            .triggers(&[("image", image)])
            .max_unavailable("2")
            .drain(&[("timeout", "200ms"), ("on_timeout", "fail")])
    };
    let (_, created) = plan_and_apply(&provider, &Saved::none(), &config("v1").value()).await;
    assert!(created.diagnostics.is_empty(), "{:#?}", created.diagnostics);
    let report = sim.fleet_report();
    let maintenance_before = report.server("wave-007").map_or(0, |h| h.maintenance.len());
    assert!(report.max_unavailable <= 2, "{}", report.max_unavailable);
    assert_eq!(counts(&sim, &servers), vec![1; 8]);
    let saved = Saved {
        state: created.new_state,
        private: created.private,
    };

    // Sessions that never end on wave-004 (wave 2 of 4): the drain fails there.
    sim.set_server_status("wave-004", sessions(3))
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, failed) = plan_and_apply(&provider, &saved, &config("v2").value()).await;
    let text = all_text(&failed.diagnostics);
    assert!(text.contains("Wave 2 of 4 failed"), "{text}");
    assert!(text.contains("wave-004 (3)"), "{text}");
    assert!(
        text.contains("Not started, untouched (a wave before theirs did not finish) (4): wave-005, wave-006, wave-007, wave-008"),
        "{text}"
    );
    assert!(
        text.contains("next apply reboots only the 6 server(s) not done"),
        "{text}"
    );
    assert_eq!(counts(&sim, &servers), [2, 2, 1, 1, 1, 1, 1, 1]);
    // Maintenance restored: only the server that was in maintenance before still is.
    let in_maintenance: Vec<String> = servers
        .iter()
        .filter(|id| sim.server(id).is_some_and(|s| s.maintain_status))
        .cloned()
        .collect();
    assert_eq!(in_maintenance, ["wave-001"]);
    let report = sim.fleet_report();
    assert!(report
        .server("wave-007")
        .is_some_and(|h| h.maintenance.len() == maintenance_before && h.reboots.len() == 1));
    let saved = Saved {
        state: failed.new_state,
        private: failed.private,
    };

    // The sessions end; the next apply finishes only waves 2 to 4.
    sim.set_server_status("wave-004", sessions(0))
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, resumed) = plan_and_apply(&provider, &saved, &config("v2").value()).await;
    assert!(resumed.diagnostics.is_empty(), "{:#?}", resumed.diagnostics);
    assert_eq!(counts(&sim, &servers), vec![2; 8]);
    assert!(sim.fleet_report().max_unavailable <= 2);
    assert!(sim.server("wave-001").is_some_and(|s| s.maintain_status));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_server_that_ends_in_error_fails_the_wait() {
    let servers = ids("err", 2);
    let sim = simulator(&servers, QUICK).await;
    sim.set_faults(Faults {
        error_after_reboot_ids: vec!["err-002".to_owned()],
        ..Faults::default()
    });
    let provider = configured(&sim).await;
    let (_, applied) = plan_and_apply(
        &provider,
        &Saved::none(),
        &Config::ids(&str_refs(&servers)).value(),
    )
    .await;
    let text = all_text(&applied.diagnostics);
    assert!(
        text.contains("1 rebooted server(s) did not become ready"),
        "{text}"
    );
    // The dead end is named with all three status fields.
    assert!(
        text.contains("err-002: the server's VM is broken (status NONE, vm_status ERROR"),
        "{text}"
    );
    assert!(
        text.contains("Reboot accepted but not seen ready (1): err-002"),
        "{text}"
    );
    // Something was rebooted: the (tainted) state is saved.
    assert!(get(&applied.new_state, "rebooted_at").as_str().is_some());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_timeout_bounds_the_apply() {
    // Two servers: the pre-flight then lists the project (no request names an ID), and the
    // reboot request naming `slow-001` is the one that hangs.
    let servers = ids("slow", 2);
    let sim = simulator(&servers, QUICK).await;
    sim.set_faults(Faults {
        hang_ids: servers[..1].to_vec(),
        ..Faults::default()
    });
    let provider = configured(&sim).await;
    let config = Config::ids(&str_refs(&servers)).timeouts(Some("300ms"), None);
    let (_, applied) = plan_and_apply(&provider, &Saved::none(), &config.value()).await;
    let text = all_text(&applied.diagnostics);
    assert!(
        text.contains("timeouts.create bound of 0.300s ran out"),
        "{text}"
    );
    assert_eq!(applied.new_state, Value::Null);
    sim.shutdown().await;
}

// ---- stop ----

/// Polls (bounded) until `done` holds; the simulator and the apply run meanwhile.
async fn eventually(mut done: impl FnMut() -> bool) {
    for _ in 0..2_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the condition never held");
}

#[tokio::test]
async fn stop_interrupts_the_wait_and_says_what_was_done() {
    let servers = ids("stop", 2);
    // The reboot takes ten minutes: only a stop ends this apply.
    let sim = simulator(
        &servers,
        RebootTiming {
            pending_ms: 10,
            rebooting_ms: 600_000,
            registering_ms: 0,
        },
    )
    .await;
    let provider = Arc::new(configured(&sim).await);
    let config = Config::ids(&str_refs(&servers)).value();
    let running = {
        let provider = Arc::clone(&provider);
        tokio::spawn(async move { plan_and_apply(&provider, &Saved::none(), &config).await })
    };
    // Stop once the wait is under way: a poll of a server proves the reboot answers arrived
    // (a stop between the simulator counting a reboot and the client reading its answer
    // rightly reports the reboot as not confirmed, which is another test's business).
    eventually(|| {
        let requests = sim.requests();
        let last_reboot = requests
            .iter()
            .filter(|r| r.operation == Operation::BatchReboot)
            .map(|r| r.seq)
            .max();
        counts(&sim, &servers) == [1, 1]
            && requests.iter().any(|r| {
                matches!(r.operation, Operation::ShowServer | Operation::ListServers)
                    && Some(r.seq) > last_reboot
            })
    })
    .await;
    provider.stop();
    let (_, applied) = match running.await {
        Ok(result) => result,
        Err(e) => panic!("apply task failed: {e}"),
    };
    let last = applied.diagnostics.0.last().cloned();
    assert_eq!(
        last.as_ref().map(|d| d.summary.as_str()),
        Some("Interrupted"),
        "{:#?}",
        applied.diagnostics
    );
    let detail = last.map(|d| d.detail).unwrap_or_default();
    assert!(
        detail.contains("Reboot accepted but not seen ready (2): stop-001, stop-002"),
        "{detail}"
    );
    assert!(detail.contains("Rebooted and ready again (0)"), "{detail}");
    assert!(get(&applied.new_state, "rebooted_at").as_str().is_some());
    sim.shutdown().await;
}

#[tokio::test]
async fn stop_while_a_request_hangs_saves_nothing() {
    // Two servers, so that the pre-flight lists the project and only the reboot request
    // (naming `hang-001`) hangs.
    let servers = ids("hang", 2);
    let sim = simulator(&servers, QUICK).await;
    sim.set_faults(Faults {
        hang_ids: servers[..1].to_vec(),
        ..Faults::default()
    });
    let provider = Arc::new(configured(&sim).await);
    let config = Config::ids(&str_refs(&servers)).value();
    let running = {
        let provider = Arc::clone(&provider);
        tokio::spawn(async move { plan_and_apply(&provider, &Saved::none(), &config).await })
    };
    eventually(|| {
        let state = sim.state();
        // The hanging request itself (the plan's session lookup and the pre-flight are in flight
        // before it, briefly).
        state.counters.hung > 0
    })
    .await;
    provider.stop();
    let (_, applied) = match running.await {
        Ok(result) => result,
        Err(e) => panic!("apply task failed: {e}"),
    };
    let text = all_text(&applied.diagnostics);
    assert!(
        text.contains("Interrupted") && text.contains("Not rebooted (2): hang-001, hang-002"),
        "{text}"
    );
    assert_eq!(applied.new_state, Value::Null);
    assert_eq!(counts(&sim, &servers), [0, 0]);
    sim.shutdown().await;
}

// ---- secrets ----

/// Collects everything the tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_in_trace_output_or_diagnostics() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    // Thread-local default: this single-threaded runtime runs the provider, the client and the
    // simulator on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);

    let servers = ids("sec", 2);
    let sim = simulator(&servers, QUICK).await;
    let mut diagnostics_text = String::new();
    for credentials in [
        vec![
            ("access_key", Value::string(AK)),
            ("secret_key", Value::string(SK)),
        ],
        vec![
            ("access_key", Value::string("AK-TEMP")),
            ("secret_key", Value::string(SK)),
            ("security_token", Value::string(SECURITY_TOKEN)),
        ],
        vec![("token", Value::string(TOKEN))],
        // Wrong secrets and a wrong token: the failures are logged and reported too.
        vec![
            ("access_key", Value::string(AK)),
            ("secret_key", Value::string("WRONG-SK-SECRET")),
        ],
        vec![("token", Value::string("WRONG-TOKEN-SECRET"))],
        // Contradictory settings are reported at configure time.
        vec![
            ("token", Value::string(TOKEN)),
            ("secret_key", Value::string(SK)),
        ],
    ] {
        let mut set = vec![
            ("endpoint", Value::string(sim.base_url())),
            ("project_id", Value::string(sim.project_id())),
            ("max_retries", Value::Number(0.into())),
        ];
        set.extend(credentials);
        let provider = provider();
        let config = provider_config(&set);
        diagnostics_text += &all_text(&provider.validate_provider_config(&config).await);
        diagnostics_text += &all_text(&provider.configure(&config, "1.0.3").await);
        let (_, applied) = plan_and_apply(
            &provider,
            &Saved::none(),
            &Config::ids(&str_refs(&servers)).value(),
        )
        .await;
        diagnostics_text += &all_text(&applied.diagnostics);
    }
    sim.shutdown().await;

    let logs = String::from_utf8_lossy(
        &captured
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned();
    assert!(logs.contains("rebooting"), "the capture works: {logs}");
    assert!(
        diagnostics_text.contains("APIGW.0301"),
        "a wrong secret fails: {diagnostics_text}"
    );
    for secret in [
        SK,
        TOKEN,
        SECURITY_TOKEN,
        "WRONG-SK-SECRET",
        "WRONG-TOKEN-SECRET",
    ] {
        assert!(!logs.contains(secret), "{secret} in the logs");
        assert!(
            !diagnostics_text.contains(secret),
            "{secret} in diagnostics"
        );
    }
}

// ---- configuration hints ----

/// A gateway that does not know the API (404 `APIGW.0101`, e.g. a host that does not serve the
/// APP API) gets a diagnostic suggesting `endpoint` and its variable.
#[tokio::test]
async fn api_not_found_suggests_setting_endpoint() {
    let servers = ids("nf", 2);
    let sim = simulator(&servers, QUICK).await;
    let provider = provider();
    let config = provider_config(&[
        (
            "endpoint",
            Value::string(format!("{}/not-the-app-api", sim.base_url())),
        ),
        ("project_id", Value::string(sim.project_id())),
        ("access_key", Value::string(AK)),
        ("secret_key", Value::string(SK)),
        ("max_retries", Value::Number(0.into())),
    ]);
    assert!(provider.configure(&config, "1.0.3").await.is_empty());
    let resource = Config::ids(&str_refs(&servers)).wait(false).value();
    let (_, applied) = plan_and_apply(&provider, &Saved::none(), &resource).await;
    let text = all_text(&applied.diagnostics);
    for expected in [
        "HTTP status: 404",
        "error_code: APIGW.0101",
        "set `endpoint` (HW_WORKSPACE_ENDPOINT)",
        "no reboot request was sent",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in {text}");
    }
    assert_eq!(counts(&sim, &servers), [0, 0]);
    // Other answers get no such hint.
    assert!(crate::provider::reboot::hint_for(404, Some("WKS.00010404")).is_none());
    assert!(crate::provider::reboot::hint_for(403, Some("APIGW.0101")).is_none());
    sim.shutdown().await;
}
