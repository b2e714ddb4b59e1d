//! `workspace_app_servers` driven through the provider's `Provider` trait against the
//! in-process simulator: what it exports, which requests it sends, and its errors.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::framework::{Model, Value};
use crate::protocol::cty::Value as Cty;
use crate::protocol::diagnostics::Diagnostics;
use crate::protocol::provider::Provider;
use crate::provider::config::ProviderConfig;
use crate::provider::environment::MapEnvironment;
use crate::provider::WorkspaceProvider;
use crate::workspace::simulator::{
    CredentialsConfig, Operation, ServerSpec, Simulator, SimulatorConfig, SimulatorHandle,
};
use crate::workspace::Credentials;

const AK: &str = "AK-SERVERS-TEST";
const SK: &str = "SK-servers-test-secret-0123456789";

async fn simulator(config: SimulatorConfig) -> SimulatorHandle {
    let config = SimulatorConfig {
        credentials: CredentialsConfig {
            access_keys: vec![Credentials::ak_sk(AK, SK)],
            ..CredentialsConfig::default()
        },
        ..config
    };
    match Simulator::start(config).await {
        Ok(handle) => handle,
        Err(e) => panic!("simulator did not start: {e}"),
    }
}

async fn configured(sim: &SimulatorHandle) -> WorkspaceProvider {
    let provider = WorkspaceProvider::with_environment(Arc::new(MapEnvironment::new([(
        "HW_WORKSPACE_MAX_REQUESTS_PER_SECOND",
        "1000",
    )])));
    let mut object: BTreeMap<String, Cty> = ProviderConfig::declarations()
        .iter()
        .map(|decl| (decl.name.to_owned(), Cty::Null))
        .collect();
    for (name, value) in [
        ("endpoint", sim.base_url()),
        ("project_id", sim.project_id()),
        ("access_key", AK.to_owned()),
        ("secret_key", SK.to_owned()),
    ] {
        object.insert(name.to_owned(), Cty::string(value));
    }
    let diagnostics = provider.configure(&Cty::Object(object), "1.0.3").await;
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    provider
}

fn config(
    group_id: Option<&str>,
    group_name: Option<&str>,
    name: Option<&str>,
    maintain: Option<bool>,
) -> Cty {
    let text = |value: Option<&str>| value.map_or(Value::Null, |v| Value::Known(v.to_owned()));
    ServersState {
        server_group_id: text(group_id),
        server_group_name: text(group_name),
        server_name: text(name),
        maintain_status: maintain.map_or(Value::Null, Value::Known),
        ..ServersState::default()
    }
    .encode()
}

async fn read(provider: &WorkspaceProvider, config: Cty) -> Result<ServersState, Diagnostics> {
    let response = provider.read_data_source(SERVERS_DATA_SOURCE, config).await;
    if response.diagnostics.has_errors() {
        return Err(response.diagnostics);
    }
    Ok(ServersState::decode(&response.state).unwrap_or_else(|e| panic!("{e:#?}")))
}

fn ids(state: &ServersState) -> Vec<String> {
    state.ids.known().cloned().unwrap_or_default()
}

/// Three groups: `sg-a` (3 servers, named "web"), `sg-b` (2, "api"), `sg-c` (1, "web-old").
fn three_groups() -> SimulatorConfig {
    SimulatorConfig::default()
        .with_group("sg-a", 3)
        .with_group("sg-b", 2)
        .with_group("sg-c", 1)
}

async fn named_groups() -> SimulatorHandle {
    let sim = simulator(three_groups()).await;
    sim.set_group_name("sg-a", "web");
    sim.set_group_name("sg-b", "api");
    sim.set_group_name("sg-c", "web-old");
    sim
}

fn only_error(diagnostics: &Diagnostics) -> &crate::protocol::diagnostics::Diagnostic {
    assert_eq!(diagnostics.0.len(), 1, "{diagnostics:#?}");
    &diagnostics.0[0]
}

#[tokio::test]
async fn a_group_name_lists_exactly_that_group() {
    let sim = named_groups().await;
    let provider = configured(&sim).await;
    let state = read(&provider, config(None, Some("web"), None, None))
        .await
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(ids(&state), ["srv-0001", "srv-0002", "srv-0003"]);
    assert_eq!(state.id, Value::Known("server_group_name=web".to_owned()));
    let servers = state.servers.known().cloned().unwrap_or_default();
    assert_eq!(servers.len(), 3);
    for (server, id) in servers.iter().zip(ids(&state)) {
        assert_eq!(server.id, Value::Known(id.clone()));
        assert_eq!(server.server_group_id, Value::Known("sg-a".to_owned()));
        let snapshot = sim.server(&id).unwrap_or_else(|| panic!("{id} exists"));
        assert_eq!(server.name.known(), Some(&snapshot.name));
        assert!(server.machine_name.is_known());
        assert_eq!(server.vm_status, Value::Known("ACTIVE".to_owned()));
        assert_eq!(server.maintain_status, Value::Known(false));
        assert!(server.session_count.is_known());
        assert!(server.update_time.is_known());
    }
    // One group lookup (exact name wanted, the API filter sent), one server page.
    let requests = sim.requests();
    let groups: Vec<_> = requests
        .iter()
        .filter(|r| r.operation == Operation::ListServerGroups)
        .collect();
    assert_eq!(groups.len(), 1, "{requests:#?}");
    assert!(groups[0]
        .query
        .as_deref()
        .is_some_and(|q| q.contains("server_group_name=web")));
    let lists: Vec<_> = requests
        .iter()
        .filter(|r| r.operation == Operation::ListServers)
        .collect();
    assert_eq!(lists.len(), 1, "{requests:#?}");
    let query = lists[0].query.as_deref().unwrap_or_default();
    assert!(query.contains("server_group_id=sg-a"), "{query}");
    assert!(query.contains("limit=100"), "{query}");
}

#[tokio::test]
async fn filters_reach_the_api_and_no_filter_lists_everything() {
    let mut config_with_names = three_groups();
    config_with_names.servers = vec![
        ServerSpec::with_id("x-1").named("web-01"),
        ServerSpec::with_id("x-2").named("old-web").in_maintenance(),
        ServerSpec::with_id("x-3").named("db-01").in_maintenance(),
    ];
    let sim = simulator(config_with_names).await;
    let provider = configured(&sim).await;
    let all = read(&provider, config(None, None, None, None))
        .await
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(ids(&all).len(), 9);
    assert_eq!(all.id, Value::Known("all".to_owned()));
    let mut sorted = ids(&all);
    sorted.sort();
    assert_eq!(ids(&all), sorted, "ids are sorted");

    sim.clear_requests();
    let partial = read(&provider, config(None, None, Some("web"), None))
        .await
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(ids(&partial), ["x-1", "x-2"]);
    let maintained = read(&provider, config(None, None, Some("web"), Some(true)))
        .await
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(ids(&maintained), ["x-2"]);
    let by_id = read(&provider, config(Some("sg-b"), None, None, Some(false)))
        .await
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(ids(&by_id), ["srv-0004", "srv-0005"]);
    let queries: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.operation == Operation::ListServers)
        .filter_map(|r| r.query.clone())
        .collect();
    assert_eq!(queries.len(), 3, "{queries:?}");
    assert!(queries[1].contains("server_name=web"), "{queries:?}");
    assert!(queries[1].contains("maintain_status=true"), "{queries:?}");
    assert!(queries[2].contains("server_group_id=sg-b"), "{queries:?}");
    assert!(queries[2].contains("maintain_status=false"), "{queries:?}");
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.operation != Operation::ListServerGroups),
        "no group lookup without server_group_name"
    );
}

#[tokio::test]
async fn large_groups_are_paged_by_100_until_count() {
    let sim = simulator(SimulatorConfig::default().with_group("sg-big", 250)).await;
    let provider = configured(&sim).await;
    let state = read(&provider, config(Some("sg-big"), None, None, None))
        .await
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(ids(&state).len(), 250);
    assert_eq!(sim.request_count(Operation::ListServers), 3);
}

#[tokio::test]
async fn an_unknown_group_name_is_an_error_at_the_attribute() {
    let sim = named_groups().await;
    let provider = configured(&sim).await;
    // "we" matches "web" and "web-old" partially; neither is exactly "we".
    let Err(diagnostics) = read(&provider, config(None, Some("we"), None, None)).await else {
        panic!("no group is named \"we\"");
    };
    let error = only_error(&diagnostics);
    assert_eq!(
        error.attribute,
        Some(AttributePath::attribute("server_group_name"))
    );
    assert!(error.detail.contains("\"we\""), "{error:?}");
    assert_eq!(sim.request_count(Operation::ListServers), 0);
}

#[tokio::test]
async fn a_name_shared_by_several_groups_lists_their_ids() {
    let sim = named_groups().await;
    sim.set_group_name("sg-b", "web");
    let provider = configured(&sim).await;
    let Err(diagnostics) = read(&provider, config(None, Some("web"), None, None)).await else {
        panic!("two groups are named \"web\"");
    };
    let error = only_error(&diagnostics);
    assert_eq!(
        error.attribute,
        Some(AttributePath::attribute("server_group_name"))
    );
    assert!(error.detail.contains("sg-a, sg-b"), "{error:?}");
    assert!(error.detail.contains("server_group_id"), "{error:?}");
    assert_eq!(sim.request_count(Operation::ListServers), 0);
}

#[tokio::test]
async fn group_id_and_name_together_fail_validation() {
    let provider = WorkspaceProvider::with_environment(Arc::new(MapEnvironment::new([(
        "HW_WORKSPACE_POLL_INTERVAL",
        "10ms",
    )])));
    let both = config(Some("sg-a"), Some("web"), None, None);
    let diagnostics = provider
        .validate_data_source_config(SERVERS_DATA_SOURCE, &both)
        .await;
    let error = only_error(&diagnostics);
    assert_eq!(
        error.attribute,
        Some(AttributePath::attribute("server_group_name"))
    );
    // An unknown name may still turn out null: checked again when read.
    let mut unknown = ServersState::decode(&both).unwrap_or_else(|e| panic!("{e:#?}"));
    unknown.server_group_name = Value::Unknown;
    let diagnostics = provider
        .validate_data_source_config(SERVERS_DATA_SOURCE, &unknown.encode())
        .await;
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    // An empty filter is refused at its attribute.
    let empty = config(None, None, Some(""), None);
    let diagnostics = provider
        .validate_data_source_config(SERVERS_DATA_SOURCE, &empty)
        .await;
    assert_eq!(
        only_error(&diagnostics).attribute,
        Some(AttributePath::attribute("server_name"))
    );
}
