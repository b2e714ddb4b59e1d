//! Validators of `workspace_app_server_reboot` attributes, named in the declarations (see
//! `model`). The framework runs them on known values only and points their diagnostics at the
//! attribute; values unknown until apply are checked again at plan time, when Terraform plans
//! with the final values before applying.

use std::time::Duration;

use crate::framework::{Set, Value};
use crate::protocol::diagnostics::Diagnostic;
use crate::provider::duration::parse_go_duration;
use crate::workspace::wire::MAX_SERVER_ID_LEN;

/// Longest part of an offending ID quoted back in a message.
const QUOTED_ID_CHARS: usize = 40;

/// At least one ID; no null, empty or over-long ID. Unknown IDs are left for the plan.
pub fn server_ids(ids: &Set<Value<String>>) -> Vec<Diagnostic> {
    if ids.is_empty() {
        return vec![Diagnostic::error(
            "No servers to reboot",
            "server_ids must list at least one server ID.",
        )];
    }
    ids.iter()
        .filter_map(|id| match id {
            Value::Unknown => None,
            Value::Null => Some("server_ids must not contain null.".to_owned()),
            Value::Known(id) if id.is_empty() => {
                Some("server_ids must not contain an empty ID.".to_owned())
            }
            Value::Known(id) if id.chars().count() > MAX_SERVER_ID_LEN => {
                let shown: String = id.chars().take(QUOTED_ID_CHARS).collect();
                Some(format!(
                    "The server ID starting {shown:?} is {} characters long; server IDs have at \
                     most {MAX_SERVER_ID_LEN}.",
                    id.chars().count()
                ))
            }
            Value::Known(_) => None,
        })
        .map(|problem| Diagnostic::error("Invalid server ID", problem))
        .collect()
}

/// Exactly "SOFT" or "HARD": the API takes nothing else, and a plan must carry the configured
/// value unchanged, so other cases are refused with a hint rather than corrected.
#[allow(clippy::ptr_arg)] // a validator sees the field's own type
pub fn reboot_type(text: &String) -> Vec<Diagnostic> {
    let problem = match text.as_str() {
        "SOFT" | "HARD" => return Vec::new(),
        other if other.eq_ignore_ascii_case("soft") || other.eq_ignore_ascii_case("hard") => {
            format!(
                "type must be \"SOFT\" or \"HARD\" in capitals; write {:?}.",
                other.to_ascii_uppercase()
            )
        }
        other => format!("type must be \"SOFT\" or \"HARD\", not {other:?}."),
    };
    vec![Diagnostic::error("Invalid reboot type", problem)]
}

#[allow(clippy::ptr_arg)] // a validator sees the field's own type
pub fn timeout_create(text: &String) -> Vec<Diagnostic> {
    timeout("timeouts.create", text)
}

#[allow(clippy::ptr_arg)] // a validator sees the field's own type
pub fn timeout_update(text: &String) -> Vec<Diagnostic> {
    timeout("timeouts.update", text)
}

/// The action's `timeout`.
#[allow(clippy::ptr_arg)] // a validator sees the field's own type
pub fn timeout_action(text: &String) -> Vec<Diagnostic> {
    timeout("timeout", text)
}

fn timeout(label: &str, text: &str) -> Vec<Diagnostic> {
    match parse_timeout(text) {
        Ok(_) => Vec::new(),
        Err(problem) => vec![Diagnostic::error(
            "Invalid timeout",
            format!("{label}: {problem}"),
        )],
    }
}

/// A timeout: a Go duration longer than zero.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    match parse_go_duration(text) {
        Ok(d) if d.is_zero() => Err(format!(
            "{text:?} is zero; a timeout must be longer than zero"
        )),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}
