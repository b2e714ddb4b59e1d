//! Fleet calls: listing servers and server groups, maintenance mode, user sessions and logoff.
//! The rollout engine (waves, draining) is built on these; they know nothing of Terraform.
//!
//! Rules:
//! - **Paging.** Every `list_all_*` call asks for pages of [`MAX_LIST_LIMIT`] items, starting at
//!   offset 0, until it holds `count` items (the number of matches the API reports, whatever
//!   the page). It also stops at an empty or short page, so a `count` that changes while
//!   paging (a server added or removed meanwhile) never loops forever; items seen twice
//!   because the list shifted are dropped by id.
//! - **Names.** The API's `server_group_name` and `machine_name` filters are not documented as
//!   exact (the server list's name filters are partial). The calls here that take one name
//!   send it to the API to narrow the answer, then keep only exact (case-sensitive for group
//!   names, case-insensitive for machine names, as Windows treats them) matches.
//! - **Batches.** `batch-maint` takes 1–20 unique ids and `session/logoff` 1–999; larger sets
//!   are de-duplicated, sorted and split, and each batch reports its own outcome (see
//!   [`BatchReport`]): a failed batch does not stop the others. Setting maintenance mode is
//!   idempotent, so a batch is retried like a read; a logoff is not (a repeated one shows the
//!   message twice), so one that got no answer is reported failed, not resent.
//!
//! IAM permissions, per call: `workspace:server:list` (servers),
//! `workspace:serverGroup:list` (groups), `workspace:server:batchChangeMaintainMode`
//! (maintenance), `workspace:session:listSessions` (sessions),
//! `workspace:session:logoffUserSession` (logoff).

use std::collections::HashSet;
use std::future::Future;

use futures::stream::{self, StreamExt};
use reqwest::Method;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::workspace::client::{ApiRequest, Client};
use crate::workspace::error::ClientError;
use crate::workspace::reboot::{in_order, plan_batches, BatchFailure};
use crate::workspace::wire::{
    self, Api, AppServer, BatchMaintRequest, ListAppServersResponse, ListQuery,
    ListServerGroupsResponse, ListSessionsResponse, LogoffRequest, ServerGroup, ServerGroupQuery,
    SessionQuery, UserSession, MAX_LIST_LIMIT, MAX_LOGOFF_DELAY_SECS, MAX_LOGOFF_SESSIONS,
};

/// Per-id outcome of a batched call ([`Client::set_maintenance`], [`Client::logoff_sessions`]).
/// Every distinct requested id appears in exactly one of `done`, `failed` or `not_attempted`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Ids whose request was accepted (HTTP 2xx), sorted.
    pub done: Vec<String>,
    /// Failed batches in batch order (invalid ids first, one failure each).
    pub failed: Vec<BatchFailure>,
    /// Ids whose batch was never sent (cancelled or deadline passed first), sorted.
    pub not_attempted: Vec<String>,
    /// HTTP attempts sent, retries included.
    pub requests_sent: usize,
}

impl BatchReport {
    pub fn all_done(&self) -> bool {
        self.failed.is_empty() && self.not_attempted.is_empty()
    }

    /// Ids of all failed batches, in batch order.
    pub fn failed_ids(&self) -> impl Iterator<Item = &str> {
        self.failed
            .iter()
            .flat_map(|f| f.server_ids.iter().map(String::as_str))
    }
}

/// What users see before a logoff (`session/logoff`'s `message_type`, `title`, `message`) and
/// how long they have (`delay_time`, seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoffNotice {
    /// 0 information, 1 warning, 2 serious (see [`wire::message_type`]).
    pub message_type: u8,
    pub title: Option<String>,
    pub message: Option<String>,
    /// Seconds until the users are logged off, 0 to [`MAX_LOGOFF_DELAY_SECS`].
    pub delay_secs: u64,
}

/// The ids of one batch and its encoded body.
type EncodedBatch = (Vec<String>, Result<Vec<u8>, serde_json::Error>);

/// The outcome of one batch.
enum Batch {
    Done(Vec<String>),
    Failed(BatchFailure),
    NotAttempted(Vec<String>),
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode {
        what: what.to_string(),
        message: e.to_string(),
    })
}

/// Fetches pages (`fetch(offset)` → `(count, items)`) until `count` items are held, a page
/// is empty or short, or an offset would overflow; drops items whose key was seen already.
async fn page_all<T, F, Fut>(
    mut fetch: F,
    key: impl Fn(&T) -> String,
) -> Result<Vec<T>, ClientError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<(u64, Vec<T>), ClientError>>,
{
    let mut all = Vec::new();
    let mut seen = HashSet::new();
    let mut offset: u32 = 0;
    loop {
        let (count, page) = fetch(offset).await?;
        let received = page.len();
        for item in page {
            if seen.insert(key(&item)) {
                all.push(item);
            }
        }
        let short = received < MAX_LIST_LIMIT as usize;
        offset = match u32::try_from(received)
            .ok()
            .and_then(|n| offset.checked_add(n))
        {
            Some(next) => next,
            None => break,
        };
        if received == 0 || short || u64::from(offset) >= count {
            break;
        }
    }
    Ok(all)
}

impl Client {
    /// Every server matching `filter`'s `server_group_id`, `server_name` (partial, as the API
    /// matches), `maintain_status` and `server_id` (its `offset`/`limit` are ignored), paging
    /// `GET .../app-servers` with `limit=100` until `count`. In the API's order.
    ///
    /// IAM: `workspace:server:list`.
    pub async fn list_all_servers(
        &self,
        filter: &ListQuery,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<Vec<AppServer>, ClientError> {
        page_all(
            |offset| {
                let query = ListQuery {
                    offset: Some(offset),
                    limit: Some(MAX_LIST_LIMIT),
                    ..filter.clone()
                };
                async move {
                    let page: ListAppServersResponse =
                        self.list_servers(&query, cancel, deadline).await?;
                    Ok((page.count, page.items))
                }
            },
            |server: &AppServer| server.id.clone(),
        )
        .await
    }

    /// One page of `GET .../app-server-groups`.
    ///
    /// IAM: `workspace:serverGroup:list`.
    pub async fn list_server_groups(
        &self,
        query: &ServerGroupQuery,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<ListServerGroupsResponse, ClientError> {
        let request = ApiRequest {
            api: Api::ListServerGroups,
            method: Method::GET,
            path: wire::server_groups_path(self.project_id()),
            query: query.to_pairs(),
            body: None,
            idempotent: true,
        };
        let response = self.execute(&request, cancel, deadline).await.result?;
        decode(&response.body, "the server group list")
    }

    /// Every server group matching `filter` (its `offset`/`limit` are ignored), paged with
    /// `limit=100` until `count`.
    ///
    /// IAM: `workspace:serverGroup:list`.
    pub async fn list_all_server_groups(
        &self,
        filter: &ServerGroupQuery,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<Vec<ServerGroup>, ClientError> {
        page_all(
            |offset| {
                let query = ServerGroupQuery {
                    offset: Some(offset),
                    limit: Some(MAX_LIST_LIMIT),
                    ..filter.clone()
                };
                async move {
                    let page = self.list_server_groups(&query, cancel, deadline).await?;
                    Ok((page.count, page.items))
                }
            },
            |group: &ServerGroup| group.id.clone(),
        )
        .await
    }

    /// The server groups named exactly `name` (case-sensitive): the API's
    /// `server_group_name` filter narrows the listing (it may match partially; that is not
    /// documented), then only exact names are kept. Usually one group; none when the name is
    /// unknown; several when names are not unique — the caller decides what that means.
    ///
    /// IAM: `workspace:serverGroup:list`.
    pub async fn find_server_groups_by_name(
        &self,
        name: &str,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<Vec<ServerGroup>, ClientError> {
        let filter = ServerGroupQuery {
            server_group_name: Some(name.to_string()),
            ..ServerGroupQuery::default()
        };
        let groups = self
            .list_all_server_groups(&filter, cancel, deadline)
            .await?;
        Ok(groups
            .into_iter()
            .filter(|group| group.name.as_deref() == Some(name))
            .collect())
    }

    /// Puts `server_ids` into maintenance mode (`maintain_status = true`: they receive no
    /// new user sessions; open ones go on) or takes them out (`false`) with
    /// `PATCH .../app-servers/actions/batch-maint`, in sorted batches of at most 20 unique
    /// ids, `max_concurrency` at a time. Never fails as a whole: see [`BatchReport`].
    ///
    /// IAM: `workspace:server:batchChangeMaintainMode`.
    pub async fn set_maintenance(
        &self,
        server_ids: &[String],
        maintain_status: bool,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> BatchReport {
        let plan = plan_batches(server_ids);
        let path = wire::batch_maint_path(self.project_id());
        let batches = plan
            .batches
            .into_iter()
            .map(|items| {
                let body = serde_json::to_vec(&BatchMaintRequest {
                    items: items.clone(),
                    maintain_status,
                });
                (items, body)
            })
            .collect();
        let mut report = self
            .send_batches(
                Api::BatchMaint,
                Method::PATCH,
                path,
                batches,
                true,
                cancel,
                deadline,
            )
            .await;
        report.failed.splice(0..0, plan.invalid);
        report
    }

    /// One page of `GET .../session/list-sessions`. The API refuses a query without its
    /// time window (`query_begin_time`, `query_end_time`; see [`SessionQuery::window`]).
    ///
    /// IAM: `workspace:session:listSessions`.
    pub async fn list_sessions(
        &self,
        query: &SessionQuery,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<ListSessionsResponse, ClientError> {
        let request = ApiRequest {
            api: Api::ListSessions,
            method: Method::GET,
            path: wire::list_sessions_path(self.project_id()),
            query: query.to_pairs(),
            body: None,
            idempotent: true,
        };
        let response = self.execute(&request, cancel, deadline).await.result?;
        decode(&response.body, "the session list")
    }

    /// Every session matching `filter` (its `offset`/`limit` are ignored), paged with
    /// `limit=100` until `count`.
    ///
    /// IAM: `workspace:session:listSessions`.
    pub async fn list_all_sessions(
        &self,
        filter: &SessionQuery,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<Vec<UserSession>, ClientError> {
        page_all(
            |offset| {
                let query = SessionQuery {
                    offset: Some(offset),
                    limit: Some(MAX_LIST_LIMIT),
                    ..filter.clone()
                };
                async move {
                    let page = self.list_sessions(&query, cancel, deadline).await?;
                    Ok((page.count, page.items))
                }
            },
            |session: &UserSession| session.id.clone(),
        )
        .await
    }

    /// The open sessions (Active, Disconnected) started in the last 30 days on the server
    /// with this machine name: [`SessionQuery::open_on`], then only sessions whose
    /// `machine_name` equals `machine_name` ignoring case (the API's filter may match
    /// partially).
    ///
    /// IAM: `workspace:session:listSessions`.
    pub async fn open_sessions_on(
        &self,
        machine_name: &str,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> Result<Vec<UserSession>, ClientError> {
        let query = SessionQuery::open_on(machine_name, time::OffsetDateTime::now_utc());
        let sessions = self.list_all_sessions(&query, cancel, deadline).await?;
        Ok(sessions
            .into_iter()
            .filter(|session| {
                session
                    .machine_name
                    .as_deref()
                    .is_some_and(|name| name.eq_ignore_ascii_case(machine_name))
            })
            .collect())
    }

    /// Shows `notice` to the users of `session_ids` and logs them off after
    /// `notice.delay_secs` with `POST .../session/logoff`, in sorted batches of at most 999
    /// unique ids. A batch that got no answer is reported failed, not resent. An invalid
    /// notice (message type over 4, delay over 999,999 s) fails every id without a request.
    ///
    /// IAM: `workspace:session:logoffUserSession`.
    pub async fn logoff_sessions(
        &self,
        session_ids: &[String],
        notice: &LogoffNotice,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> BatchReport {
        let mut unique: Vec<String> = session_ids
            .iter()
            .filter(|id| !id.is_empty())
            .cloned()
            .collect();
        unique.sort();
        unique.dedup();
        let mut invalid: Vec<BatchFailure> = session_ids
            .iter()
            .filter(|id| id.is_empty())
            .take(1)
            .map(|id| BatchFailure {
                server_ids: vec![id.clone()],
                error: ClientError::InvalidInput("session ID is empty".to_string()),
            })
            .collect();
        let problem = if notice.message_type > wire::message_type::MAX {
            Some(format!(
                "message_type must be 0 to {}, got {}",
                wire::message_type::MAX,
                notice.message_type
            ))
        } else if notice.delay_secs > MAX_LOGOFF_DELAY_SECS {
            Some(format!(
                "delay_time must be 0 to {MAX_LOGOFF_DELAY_SECS} seconds, got {}",
                notice.delay_secs
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            if !unique.is_empty() {
                invalid.push(BatchFailure {
                    server_ids: unique,
                    error: ClientError::InvalidInput(problem),
                });
            }
            return BatchReport {
                failed: invalid,
                ..BatchReport::default()
            };
        }
        let path = wire::logoff_path(self.project_id());
        let batches: Vec<_> = unique
            .chunks(MAX_LOGOFF_SESSIONS)
            .map(|ids| {
                let body = serde_json::to_vec(&LogoffRequest {
                    session_ids: ids.to_vec(),
                    message_type: notice.message_type,
                    title: notice.title.clone(),
                    message: notice.message.clone(),
                    delay_time: notice.delay_secs,
                });
                (ids.to_vec(), body)
            })
            .collect();
        let mut report = self
            .send_batches(
                Api::Logoff,
                Method::POST,
                path,
                batches,
                false,
                cancel,
                deadline,
            )
            .await;
        report.failed.splice(0..0, invalid);
        report
    }

    /// Sends each batch's body to `path` (of `api`), `max_concurrency` at a time, and sorts
    /// the outcomes into a report. A batch answered 409 by a batch action (a server busy with
    /// another task) was not carried out: the client retries it until `deadline`, then it
    /// fails with the service's words.
    #[allow(clippy::too_many_arguments)] // the request's parts, each used once
    async fn send_batches(
        &self,
        api: Api,
        method: Method,
        path: String,
        batches: Vec<EncodedBatch>,
        idempotent: bool,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> BatchReport {
        let concurrency = self.config().max_concurrency.max(1);
        let results: Vec<(usize, (Batch, usize))> = stream::iter(batches.into_iter().enumerate())
            .map(|(index, (ids, body))| {
                let request = body.map(|body| ApiRequest {
                    api,
                    method: method.clone(),
                    path: path.clone(),
                    query: Vec::new(),
                    body: Some(body),
                    idempotent,
                });
                async move {
                    let request = match request {
                        Ok(request) => request,
                        Err(e) => {
                            let error = ClientError::InvalidInput(format!(
                                "cannot encode the request body: {e}"
                            ));
                            return (
                                index,
                                (
                                    Batch::Failed(BatchFailure {
                                        server_ids: ids,
                                        error,
                                    }),
                                    0,
                                ),
                            );
                        }
                    };
                    if cancel.is_cancelled() || Instant::now() >= deadline {
                        return (index, (Batch::NotAttempted(ids), 0));
                    }
                    let attempted = self.execute(&request, cancel, deadline).await;
                    let outcome = match attempted.result {
                        Ok(_) => Batch::Done(ids),
                        Err(
                            ClientError::Cancelled {
                                last_error: None,
                                in_flight: false,
                            }
                            | ClientError::DeadlineExceeded { last_error: None },
                        ) if attempted.sent == 0 => Batch::NotAttempted(ids),
                        Err(error) => Batch::Failed(BatchFailure {
                            server_ids: ids,
                            error,
                        }),
                    };
                    (index, (outcome, attempted.sent))
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let mut report = BatchReport::default();
        for (outcome, sent) in in_order(results) {
            report.requests_sent += sent;
            match outcome {
                Batch::Done(ids) => report.done.extend(ids),
                Batch::Failed(failure) => report.failed.push(failure),
                Batch::NotAttempted(ids) => report.not_attempted.extend(ids),
            }
        }
        report.done.sort();
        report.not_attempted.sort();
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn paging_stops_at_count_at_a_short_page_and_at_an_empty_page() {
        // 250 items in pages of 100: three fetches, stops at count.
        let mut offsets = Vec::new();
        let all = page_all(
            |offset| {
                offsets.push(offset);
                async move {
                    let items: Vec<u32> = (offset..(offset + 100).min(250)).collect();
                    Ok((250, items))
                }
            },
            |n: &u32| n.to_string(),
        )
        .await
        .unwrap();
        assert_eq!(all.len(), 250);
        assert_eq!(offsets, [0, 100, 200]);
        // Exactly 200: stops at count without asking for an empty third page.
        let mut calls = 0;
        let all = page_all(
            |offset| {
                calls += 1;
                async move { Ok((200, (offset..offset + 100).collect::<Vec<u32>>())) }
            },
            |n: &u32| n.to_string(),
        )
        .await
        .unwrap();
        assert_eq!((all.len(), calls), (200, 2));
        // A count that lies (too high) ends at the first empty page.
        let mut calls = 0;
        let all = page_all(
            |offset| {
                calls += 1;
                async move {
                    let items: Vec<u32> = if offset < 100 {
                        (0..100).collect()
                    } else {
                        Vec::new()
                    };
                    Ok((1_000, items))
                }
            },
            |n: &u32| n.to_string(),
        )
        .await
        .unwrap();
        assert_eq!((all.len(), calls), (100, 2));
        // Duplicates (a list that shifted) are dropped by key.
        let all = page_all(
            |offset| async move {
                let items: Vec<u32> = if offset == 0 {
                    (0..100).collect()
                } else {
                    (99..150).collect()
                };
                Ok((150, items))
            },
            |n: &u32| n.to_string(),
        )
        .await
        .unwrap();
        assert_eq!(all.len(), 150);
    }
}
