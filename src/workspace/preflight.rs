//! The pre-flight check: look up every server about to be rebooted, before the first reboot
//! request, and report the ones that cannot be rebooted into readiness.
//!
//! A server is a **problem** when it does not exist (404, or absent from the project listing and
//! then confirmed absent by its own GET), when it is frozen (a non-empty `freeze` list, or
//! `status` / `vm_status` FREEZE), when [`readiness::assess`] calls its state a dead end (ERROR,
//! SHUTOFF, …), or when its ID cannot be a server ID at all (empty, too long). The caller sends
//! no reboot at all while any problem is reported, and names every one of them.
//!
//! **Cost.** The lookup takes whichever of two ways sends fewer requests:
//! - one `GET .../app-servers/{id}` per distinct ID (`n` requests); or
//! - the unfiltered project listing: first `limit=1` to learn `count`, then pages of
//!   `limit=100` until `count` servers were seen (or a page comes back short): `⌈count / 100⌉`
//!   pages.
//!
//! With one ID the GET is always cheaper and the `count` probe is skipped; otherwise the probe is
//! sent and the listing is used when its pages are fewer than the IDs (ties go to the GETs, which
//! need no paging). An ID missing from the listing is confirmed with its own GET, so a listing
//! that shifted while it was paged never makes a real server look absent.
//!
//! This is the cost rule of one pre-flight alone. [`Poller::preflight`](crate::workspace::Poller::preflight)
//! shares one project listing among the pre-flights of a process that run at once or close
//! together (see the poller's module docs); there ties go to the listing.
//!
//! The answer also says each server's group (`server_group_id`), which the poller needs, and,
//! when the whole project was listed, every group's size.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use futures::stream::{self, StreamExt};
use reqwest::Method;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::workspace::client::{check_server_id, ApiRequest, Attempted, Client};
use crate::workspace::error::ClientError;
use crate::workspace::readiness::{self, Condition};
use crate::workspace::reboot::in_order;
use crate::workspace::wire::{
    self, Api, AppServer, ListAppServersResponse, ListQuery, MAX_LIST_LIMIT,
};

/// Why a server cannot be rebooted into readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// 404, or absent from the project listing and from its own GET.
    NotFound,
    /// The ID cannot name a server (empty or too long); nothing was sent for it.
    InvalidId { reason: String },
    /// `freeze` not empty or `status` / `vm_status` FREEZE; `state` shows what was seen.
    Frozen { state: String },
    /// A state that does not resolve by waiting (the readiness verdict's reason).
    DeadEnd { reason: String },
}

/// One server that must not be rebooted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreflightProblem {
    pub server_id: String,
    pub kind: ProblemKind,
}

impl PreflightProblem {
    /// Sorts problems by server ID, keeping the order of one server's problems. One function
    /// for every caller, so the sort is compiled once.
    pub fn sort(problems: &mut [PreflightProblem]) {
        problems.sort_by(|a, b| a.server_id.cmp(&b.server_id));
    }
}

impl fmt::Display for PreflightProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ProblemKind::NotFound => write!(f, "{}: does not exist", self.server_id),
            ProblemKind::InvalidId { reason } => {
                write!(f, "{:?}: not a valid server ID ({reason})", self.server_id)
            }
            ProblemKind::Frozen { state } => write!(f, "{}: frozen ({state})", self.server_id),
            ProblemKind::DeadEnd { reason } => write!(f, "{}: {reason}", self.server_id),
        }
    }
}

/// How the servers were looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LookupMethod {
    /// Nothing to look up.
    #[default]
    Nothing,
    /// One GET per ID.
    PerId,
    /// The unfiltered project listing (after the `limit=1` probe).
    ProjectListing { pages: usize },
}

/// The result of [`Client::preflight`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Preflight {
    /// Every listed server that exists, by ID (problem servers that exist included).
    pub servers: BTreeMap<String, AppServer>,
    /// The servers that must not be rebooted, sorted by ID. Empty: go ahead.
    pub problems: Vec<PreflightProblem>,
    /// Size of groups where known: every group when the whole project was listed (and, from
    /// [`Poller::preflight`](crate::workspace::Poller::preflight), every group holding two or
    /// more of the looked-up servers).
    pub group_sizes: BTreeMap<String, u64>,
    /// Every server the lookup saw, listed or not (the whole project when it was listed).
    pub seen: Vec<AppServer>,
    pub method: LookupMethod,
    /// HTTP attempts sent, retries included.
    pub requests_sent: usize,
}

impl Preflight {
    /// No problem found: the reboot may go ahead.
    pub fn is_clear(&self) -> bool {
        self.problems.is_empty()
    }

    /// The group of a looked-up server, when the service said it.
    pub fn group_of(&self, server_id: &str) -> Option<&str> {
        self.servers
            .get(server_id)
            .and_then(|s| s.server_group_id.as_deref())
            .filter(|g| !g.is_empty())
    }

    /// `(server ID, group ID)` of every looked-up server whose group is known.
    pub fn groups(&self) -> impl Iterator<Item = (&str, &str)> {
        self.servers
            .keys()
            .filter_map(|id| self.group_of(id).map(|group| (id.as_str(), group)))
    }

    /// One line per problem, e.g. `srv-9: does not exist; srv-3: frozen (status FREEZE, …)`.
    pub fn problems_text(&self) -> String {
        self.problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The frozen state of a server, if it is frozen: `freeze` not empty, or FREEZE in `status` or
/// `vm_status`.
pub fn frozen_state(server: &AppServer) -> Option<String> {
    let is_freeze = |v: Option<&str>| v.is_some_and(|s| s.trim().eq_ignore_ascii_case("FREEZE"));
    let freeze_listed = server.is_frozen();
    if !(freeze_listed
        || is_freeze(server.status.as_deref())
        || is_freeze(server.vm_status.as_deref()))
    {
        return None;
    }
    let mut state = format!(
        "status {}, vm_status {}",
        server.status.as_deref().unwrap_or("(none)"),
        server.vm_status.as_deref().unwrap_or("(none)")
    );
    if freeze_listed {
        let entries: Vec<String> = server.freeze.iter().map(ToString::to_string).collect();
        state.push_str(&format!(", freeze {}", entries.join(", ")));
    }
    Some(state)
}

/// The problem with an existing server, if any.
pub fn problem_of(server: &AppServer) -> Option<ProblemKind> {
    if let Some(state) = frozen_state(server) {
        return Some(ProblemKind::Frozen { state });
    }
    match readiness::assess(server) {
        Condition::DeadEnd { reason } => Some(ProblemKind::DeadEnd { reason }),
        Condition::Up | Condition::Pending { .. } => None,
    }
}

/// Pages of `limit=100` needed for `count` servers.
pub fn pages_for(count: u64) -> u64 {
    count.div_ceil(u64::from(MAX_LIST_LIMIT))
}

/// The valid, distinct IDs of `server_ids`, and a problem for each ID that cannot name a
/// server (nothing is sent for those).
pub(crate) fn split_ids(server_ids: &[String]) -> (BTreeSet<String>, Vec<PreflightProblem>) {
    let mut ids = BTreeSet::new();
    let mut problems = Vec::new();
    for id in server_ids {
        match check_server_id(id) {
            Ok(()) => {
                ids.insert(id.clone());
            }
            Err(error) => problems.push(PreflightProblem {
                server_id: id.clone(),
                kind: ProblemKind::InvalidId {
                    reason: error.to_string(),
                },
            }),
        }
    }
    (ids, problems)
}

impl Client {
    /// One page of `GET .../app-servers` with the number of attempts it took.
    pub(crate) async fn list_servers_attempted(
        &self,
        query: &ListQuery,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Attempted<ListAppServersResponse> {
        let request = ApiRequest {
            api: Api::ListServers,
            method: Method::GET,
            path: wire::servers_path(self.project_id()),
            query: query.to_pairs(),
            body: None,
            idempotent: true,
        };
        let attempted = self.execute(&request, cancel, deadline).await;
        Attempted {
            result: attempted.result.and_then(|r| {
                serde_json::from_slice(&r.body).map_err(|e| ClientError::Decode {
                    what: "the server list".to_string(),
                    message: e.to_string(),
                })
            }),
            sent: attempted.sent,
        }
    }

    /// Look up every server of `server_ids` (see the module docs) and report the problems.
    ///
    /// Fails only when a lookup itself fails (network, permissions, throttling beyond the
    /// retries, cancellation, deadline): the caller then knows nothing and must not reboot.
    pub async fn preflight(
        &self,
        server_ids: &[String],
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<Preflight, ClientError> {
        let (ids, problems) = split_ids(server_ids);
        let mut report = Preflight {
            problems,
            ..Preflight::default()
        };
        if ids.len() <= 1 {
            return self
                .preflight_from(report, ids, None, cancel, deadline)
                .await;
        }
        let (count, sent) = self.project_count(cancel, deadline).await;
        report.requests_sent += sent;
        let count = count?;
        if pages_for(count) < ids.len() as u64 {
            let (servers, pages, sent) = self.list_project(count, cancel, deadline).await?;
            report.requests_sent += sent;
            self.preflight_from(report, ids, Some((&servers, pages)), cancel, deadline)
                .await
        } else {
            self.preflight_from(report, ids, None, cancel, deadline)
                .await
        }
    }

    /// The `limit=1` probe of the unfiltered listing: the project's `count`, and the attempts.
    pub(crate) async fn project_count(
        &self,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> (Result<u64, ClientError>, usize) {
        let probe = self
            .list_servers_attempted(
                &ListQuery {
                    limit: Some(1),
                    ..ListQuery::default()
                },
                cancel,
                deadline,
            )
            .await;
        (probe.result.map(|answer| answer.count), probe.sent)
    }

    /// Finish a pre-flight of the valid, distinct `ids`: take them from `listing` (the whole
    /// project and the pages it took) when given, look up by GET every ID it did not show
    /// (every ID without a listing), and report the problems.
    pub(crate) async fn preflight_from(
        &self,
        mut report: Preflight,
        ids: BTreeSet<String>,
        listing: Option<(&[AppServer], usize)>,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<Preflight, ClientError> {
        // Owned IDs: a stream closure over borrowed `&str` makes this future impossible to
        // prove `Send` inside `async_trait` methods (rust-lang/rust#102211).
        let mut missing: Vec<String> = Vec::new();
        match listing {
            Some((servers, pages)) => {
                report.method = LookupMethod::ProjectListing { pages };
                for server in servers {
                    if let Some(group) = server.server_group_id.as_deref().filter(|g| !g.is_empty())
                    {
                        *report.group_sizes.entry(group.to_string()).or_default() += 1;
                    }
                    if ids.contains(&server.id) {
                        report.servers.insert(server.id.clone(), server.clone());
                    }
                }
                report.seen = servers.to_vec();
                missing.extend(
                    ids.iter()
                        .filter(|id| !report.servers.contains_key(*id))
                        .cloned(),
                );
            }
            None if ids.is_empty() => {}
            None => {
                report.method = LookupMethod::PerId;
                missing.extend(ids.iter().cloned());
            }
        }

        // Per-ID lookups: every ID (per-ID method) or the ones the listing did not show.
        let concurrency = self.config().max_concurrency.max(1);
        let looked_up: Vec<(String, Attempted<AppServer>)> = stream::iter(missing)
            .map(|id: String| async move {
                let attempted = self.get_server_attempted(&id, cancel, deadline).await;
                (id, attempted)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for (id, attempted) in looked_up {
            report.requests_sent += attempted.sent;
            match attempted.result {
                Ok(server) => {
                    report.seen.push(server.clone());
                    report.servers.insert(id, server);
                }
                Err(ClientError::Api(api)) if api.is_not_found() => {
                    report.problems.push(PreflightProblem {
                        server_id: id,
                        kind: ProblemKind::NotFound,
                    });
                }
                Err(error) => return Err(error),
            }
        }

        for (id, server) in &report.servers {
            if let Some(kind) = problem_of(server) {
                report.problems.push(PreflightProblem {
                    server_id: id.clone(),
                    kind,
                });
            }
        }
        PreflightProblem::sort(&mut report.problems);
        report.problems.dedup();
        Ok(report)
    }

    /// Every server of the project, paged by 100 until `count` were seen or a page came back
    /// short; the pages after the first run concurrently. Returns the servers, the pages
    /// fetched and the attempts sent.
    pub(crate) async fn list_project(
        &self,
        count: u64,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<(Vec<AppServer>, usize, usize), ClientError> {
        let pages = pages_for(count);
        let concurrency = self.config().max_concurrency.max(1);
        let fetched: Vec<(usize, Attempted<ListAppServersResponse>)> =
            stream::iter((0..pages).enumerate())
                .map(|(index, page)| async move {
                    let query = ListQuery {
                        offset: u32::try_from(page * u64::from(MAX_LIST_LIMIT)).ok(),
                        limit: Some(MAX_LIST_LIMIT),
                        ..ListQuery::default()
                    };
                    (
                        index,
                        self.list_servers_attempted(&query, cancel, deadline).await,
                    )
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
        let mut sent = 0;
        let mut ordered = Vec::with_capacity(fetched.len());
        for (index, attempted) in fetched {
            sent += attempted.sent;
            ordered.push((index, attempted.result?));
        }
        let mut seen = BTreeSet::new();
        let mut servers = Vec::new();
        for answer in in_order(ordered) {
            for server in answer.items {
                // Entries shifted across pages show up twice; keep the first.
                if seen.insert(server.id.clone()) {
                    servers.push(server);
                }
            }
        }
        Ok((servers, pages as usize, sent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn server(status: &str, vm: &str, freeze: serde_json::Value) -> AppServer {
        AppServer {
            id: "s".into(),
            status: Some(status.into()),
            vm_status: Some(vm.into()),
            task_status: Some("null".into()),
            // Decoded the way the client decodes the service's `freeze` field.
            freeze: AppServer::from_json(&json!({ "freeze": freeze }))
                .map(|decoded| decoded.freeze)
                .unwrap_or_default(),
            ..AppServer::default()
        }
    }

    #[test]
    fn frozen_servers_are_problems() {
        let healthy = server("REGISTERED", "ACTIVE", json!([]));
        assert_eq!(frozen_state(&healthy), None);
        assert_eq!(problem_of(&healthy), None);
        let listed = server(
            "REGISTERED",
            "ACTIVE",
            json!([{"effect": 1, "scene": "ARREAR"}]),
        );
        match problem_of(&listed) {
            Some(ProblemKind::Frozen { state }) => assert!(state.contains("ARREAR"), "{state}"),
            other => panic!("{other:?}"),
        }
        let by_status = server("FREEZE", "ACTIVE", serde_json::Value::Null);
        assert!(matches!(
            problem_of(&by_status),
            Some(ProblemKind::Frozen { .. })
        ));
        let by_vm = server("REGISTERED", "freeze", json!([]));
        assert!(matches!(
            problem_of(&by_vm),
            Some(ProblemKind::Frozen { .. })
        ));
    }

    #[test]
    fn dead_ends_are_problems_and_pending_is_not() {
        assert!(matches!(
            problem_of(&server("NONE", "ERROR", json!([]))),
            Some(ProblemKind::DeadEnd { .. })
        ));
        let rebooting = AppServer {
            task_status: Some("rebooting".into()),
            ..server("UNREGISTER", "REBOOT", json!([]))
        };
        assert_eq!(problem_of(&rebooting), None);
    }

    #[test]
    fn problem_texts_name_the_server_and_state() {
        let report = Preflight {
            problems: vec![
                PreflightProblem {
                    server_id: "srv-1".into(),
                    kind: ProblemKind::NotFound,
                },
                PreflightProblem {
                    server_id: "srv-2".into(),
                    kind: ProblemKind::Frozen {
                        state: "status FREEZE, vm_status ACTIVE".into(),
                    },
                },
            ],
            ..Preflight::default()
        };
        assert!(!report.is_clear());
        assert_eq!(
            report.problems_text(),
            "srv-1: does not exist; srv-2: frozen (status FREEZE, vm_status ACTIVE)"
        );
    }

    #[test]
    fn pages() {
        assert_eq!(pages_for(0), 0);
        assert_eq!(pages_for(1), 1);
        assert_eq!(pages_for(100), 1);
        assert_eq!(pages_for(101), 2);
        assert_eq!(pages_for(2500), 25);
    }
}
