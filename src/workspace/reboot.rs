//! Batch reboot of any number of servers: de-duplicated, sorted, split into requests of at most
//! [`MAX_IDS_PER_BATCH`] IDs, sent with bounded concurrency, with a per-server outcome.

use futures::stream::{self, StreamExt};
use reqwest::Method;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::workspace::client::{check_server_id, ApiRequest, Client};
use crate::workspace::error::ClientError;
use crate::workspace::wire::{self, Api, BatchRebootRequest, RebootType, MAX_IDS_PER_BATCH};

/// The IDs of one batch request that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    pub server_ids: Vec<String>,
    pub error: ClientError,
}

/// Per-server outcome of [`Client::batch_reboot`]. Every distinct requested ID appears in
/// exactly one of `rebooted`, `failed` or `not_attempted`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebootReport {
    /// IDs whose batch request was accepted (HTTP 2xx), sorted.
    pub rebooted: Vec<String>,
    /// Batches that failed, in batch order. A request that got no answer is here too: its
    /// error says the reboot may or may not have happened.
    pub failed: Vec<BatchFailure>,
    /// IDs whose batch was never sent (cancelled or deadline passed first), sorted.
    pub not_attempted: Vec<String>,
    /// HTTP attempts sent, retries included.
    pub requests_sent: usize,
    /// Batch requests planned (invalid IDs form no batch).
    pub batches: usize,
}

impl RebootReport {
    /// Every requested server was rebooted.
    pub fn all_rebooted(&self) -> bool {
        self.failed.is_empty() && self.not_attempted.is_empty()
    }

    /// IDs of all failed batches, in batch order.
    pub fn failed_ids(&self) -> impl Iterator<Item = &str> {
        self.failed
            .iter()
            .flat_map(|f| f.server_ids.iter().map(String::as_str))
    }
}

/// The plan for a set of IDs: batches of valid IDs (sorted, de-duplicated, at most
/// [`MAX_IDS_PER_BATCH`] each) and the IDs rejected before sending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebootPlan {
    pub batches: Vec<Vec<String>>,
    /// One failure per rejected ID, sorted by ID.
    pub invalid: Vec<BatchFailure>,
}

/// The results of concurrent work, each tagged with its place in the list of work (from
/// `enumerate`; `buffer_unordered` yields them as they end), back in list order. Used instead
/// of sorting by the tag: each sort is compiled anew for every element type and key, some
/// 4 kB of the provider binary each time, and this is a single pass.
pub fn in_order<T>(tagged: Vec<(usize, T)>) -> Vec<T> {
    let mut slots: Vec<Option<T>> = Vec::new();
    slots.resize_with(tagged.len(), || None);
    for (index, item) in tagged {
        if index >= slots.len() {
            slots.resize_with(index + 1, || None);
        }
        slots[index] = Some(item);
    }
    slots.into_iter().flatten().collect()
}

/// De-duplicate, sort, reject empty or over-long IDs, and chunk.
pub fn plan_batches(server_ids: &[String]) -> RebootPlan {
    let mut unique: Vec<&String> = server_ids.iter().collect();
    unique.sort();
    unique.dedup();
    let mut valid = Vec::with_capacity(unique.len());
    let mut invalid = Vec::new();
    for id in unique {
        match check_server_id(id) {
            Ok(()) => valid.push(id.clone()),
            Err(error) => invalid.push(BatchFailure {
                server_ids: vec![id.clone()],
                error,
            }),
        }
    }
    RebootPlan {
        batches: valid
            .chunks(MAX_IDS_PER_BATCH)
            .map(<[String]>::to_vec)
            .collect(),
        invalid,
    }
}

enum BatchResult {
    Rebooted(Vec<String>),
    Failed(BatchFailure),
    NotAttempted(Vec<String>),
}

impl Client {
    /// Reboot `server_ids` with `PATCH .../app-servers/actions/batch-reboot`.
    ///
    /// IDs are de-duplicated and sorted, then sent in batches of at most 20 with at most
    /// `max_concurrency` requests in flight. A batch is retried on throttling and 5xx answers,
    /// and on 409 (a server of it busy with another task: the batch was not accepted) with
    /// backoff until `deadline`, after which it fails with the service's words; one that got
    /// no answer is *not* resent (the reboot may already be under way) and is reported failed,
    /// and one accepted is never sent again. Never fails as a whole: see [`RebootReport`].
    pub async fn batch_reboot(
        &self,
        server_ids: &[String],
        reboot_type: RebootType,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> RebootReport {
        let plan = plan_batches(server_ids);
        let mut report = RebootReport {
            batches: plan.batches.len(),
            ..RebootReport::default()
        };
        let path = wire::batch_reboot_path(self.project_id());
        let concurrency = self.config().max_concurrency.max(1);
        let results: Vec<(usize, (BatchResult, usize))> =
            stream::iter(plan.batches.into_iter().enumerate())
                .map(|(index, batch)| {
                    let path = path.clone();
                    async move {
                        let outcome = self
                            .reboot_one_batch(path, batch, reboot_type, cancel, deadline)
                            .await;
                        (index, outcome)
                    }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
        for (result, sent) in in_order(results) {
            report.requests_sent += sent;
            match result {
                BatchResult::Rebooted(ids) => report.rebooted.extend(ids),
                BatchResult::Failed(failure) => report.failed.push(failure),
                BatchResult::NotAttempted(ids) => report.not_attempted.extend(ids),
            }
        }
        report.failed.splice(0..0, plan.invalid);
        report.rebooted.sort();
        report.not_attempted.sort();
        report
    }

    async fn reboot_one_batch(
        &self,
        path: String,
        batch: Vec<String>,
        reboot_type: RebootType,
        cancel: &CancellationToken,
        deadline: Instant,
    ) -> (BatchResult, usize) {
        if cancel.is_cancelled() || Instant::now() >= deadline {
            return (BatchResult::NotAttempted(batch), 0);
        }
        let body = BatchRebootRequest {
            items: batch,
            reboot_type,
        };
        let bytes = match serde_json::to_vec(&body) {
            Ok(b) => b,
            Err(e) => {
                let error = ClientError::InvalidInput(format!("cannot encode the request: {e}"));
                return (
                    BatchResult::Failed(BatchFailure {
                        server_ids: body.items,
                        error,
                    }),
                    0,
                );
            }
        };
        let request = ApiRequest {
            api: Api::BatchReboot,
            method: Method::PATCH,
            path,
            query: Vec::new(),
            body: Some(bytes),
            idempotent: false,
        };
        let attempted = self.execute(&request, cancel, deadline).await;
        let ids = body.items;
        let result = match attempted.result {
            Ok(_) => {
                tracing::debug!(servers = ids.len(), "workspace API: batch reboot accepted");
                BatchResult::Rebooted(ids)
            }
            Err(ClientError::Cancelled { .. } | ClientError::DeadlineExceeded { .. })
                if attempted.sent == 0 =>
            {
                BatchResult::NotAttempted(ids)
            }
            Err(error) => BatchResult::Failed(BatchFailure {
                server_ids: ids,
                error,
            }),
        };
        (result, attempted.sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("srv-{i:03}")).collect()
    }

    #[test]
    fn plan_dedups_sorts_and_chunks() {
        let mut input = ids(45);
        input.reverse();
        input.extend(ids(10)); // duplicates
        let plan = plan_batches(&input);
        assert_eq!(plan.batches.len(), 3);
        assert_eq!(
            plan.batches.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![20, 20, 5]
        );
        let flat: Vec<String> = plan.batches.concat();
        assert_eq!(flat, ids(45));
        assert!(plan.invalid.is_empty());
    }

    #[test]
    fn plan_rejects_bad_ids_without_dropping_good_ones() {
        let input = vec!["".to_string(), "x".repeat(129), "ok".to_string()];
        let plan = plan_batches(&input);
        assert_eq!(plan.batches, vec![vec!["ok".to_string()]]);
        assert_eq!(plan.invalid.len(), 2);
        assert_eq!(plan.invalid[0].server_ids, vec![String::new()]);
        assert!(plan.invalid[0].error.to_string().contains("empty"));
        assert!(plan.invalid[1]
            .error
            .to_string()
            .contains("longer than 128"));
    }

    #[test]
    fn in_order_puts_tagged_results_back_in_list_order() {
        let tagged = vec![(2, "c"), (0, "a"), (3, "d"), (1, "b")];
        assert_eq!(in_order(tagged), vec!["a", "b", "c", "d"]);
        assert_eq!(in_order(vec![(1, "b"), (3, "d")]), vec!["b", "d"]);
        assert!(in_order::<u8>(Vec::new()).is_empty());
    }

    #[test]
    fn plan_of_nothing() {
        let plan = plan_batches(&[]);
        assert!(plan.batches.is_empty());
        assert!(plan.invalid.is_empty());
    }
}
