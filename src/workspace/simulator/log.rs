//! The request log tests assert on: kept in memory and, when configured, appended to a file
//! as JSON lines. It records how a request authenticated, never a secret.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::auth::AuthKind;
use crate::workspace::wire::{Api, RebootType};

/// Which API call a request was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    BatchReboot,
    ListServers,
    ShowServer,
    /// `PATCH …/app-servers/actions/batch-maint`.
    BatchMaint,
    /// `PATCH …/app-servers/{id}` (maintenance mode of one server).
    UpdateServer,
    ListServerGroups,
    ListSessions,
    /// `POST …/session/logoff`.
    Logoff,
    /// A path or method the API does not have.
    Unknown,
}

impl Operation {
    /// The API this request called, by the client's names; `None` for an unknown path.
    pub fn api(self) -> Option<Api> {
        match self {
            Operation::BatchReboot => Some(Api::BatchReboot),
            Operation::ListServers => Some(Api::ListServers),
            Operation::ShowServer => Some(Api::ShowServer),
            Operation::BatchMaint => Some(Api::BatchMaint),
            Operation::UpdateServer => Some(Api::UpdateServer),
            Operation::ListServerGroups => Some(Api::ListServerGroups),
            Operation::ListSessions => Some(Api::ListSessions),
            Operation::Logoff => Some(Api::Logoff),
            Operation::Unknown => None,
        }
    }
}

/// A fault the simulator injected into a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InjectedFault {
    /// One of the "first N" throttled requests (429).
    Throttled,
    /// Over the in-flight cap (429).
    ConcurrencyCap,
    /// The quota (token bucket of the API or the account) was empty (429).
    Quota,
    /// A batch action naming a busy server (409).
    Busy,
    /// One of the "first N" failing requests (5xx).
    ServerError,
    /// A batch naming a failing id.
    FailingId,
    /// Never answered.
    Hang,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLogEntry {
    /// 1 for the first API request, then increasing by arrival.
    pub seq: u64,
    /// Arrival time, RFC 3339 UTC with milliseconds.
    pub time: String,
    pub method: String,
    /// As received (percent-encoded).
    pub path: String,
    pub query: Option<String>,
    pub operation: Operation,
    /// `None` for a request that was never answered (hang).
    pub status: Option<u16>,
    pub error_code: Option<String>,
    /// Batch reboot and batch-maint: the `items` of a body that parsed; logoff: its
    /// `session_ids`.
    pub items: Option<Vec<String>>,
    /// Batch reboot: the `type` of a body that parsed.
    #[serde(rename = "type")]
    pub reboot_type: Option<RebootType>,
    /// Show: the id in the path; list: the `server_id` filter.
    pub server_id: Option<String>,
    /// What the request presented, valid or not.
    pub auth: AuthKind,
    pub access_key: Option<String>,
    /// The `X-Request-Id` the simulator answered with.
    pub request_id: String,
    pub fault: Option<InjectedFault>,
    /// API requests in flight when this one was admitted, itself included.
    pub in_flight: u32,
    pub duration_ms: u64,
}

impl RequestLogEntry {
    /// A batch reboot the simulator accepted (200).
    pub fn is_accepted_reboot(&self) -> bool {
        self.operation == Operation::BatchReboot && self.status == Some(200)
    }
}

#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Mutex<Vec<RequestLogEntry>>,
    file: Mutex<Option<File>>,
}

impl RequestLog {
    pub fn with_file(path: Option<&Path>) -> std::io::Result<Self> {
        let file = match path {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
            None => None,
        };
        Ok(Self {
            entries: Mutex::new(Vec::new()),
            file: Mutex::new(file),
        })
    }

    pub fn record(&self, entry: RequestLogEntry) {
        if let Some(file) = self
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            // A log line that cannot be written must not fail the request it describes.
            let written = serde_json::to_string(&entry)
                .map_err(std::io::Error::from)
                .and_then(|line| writeln!(file, "{line}").and_then(|()| file.flush()));
            if let Err(error) = written {
                tracing::warn!(%error, "could not append to the simulator request log file");
            }
        }
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }

    pub fn entries(&self) -> Vec<RequestLogEntry> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Empties the in-memory log (the file keeps its lines).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
