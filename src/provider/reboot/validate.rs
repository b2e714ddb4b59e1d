//! ValidateResourceConfig for `workspace_app_server_reboot`: every problem points at its
//! attribute; values unknown until apply are skipped (they are checked again at plan time,
//! when Terraform plans with the final values before applying).

use super::{reboot_type_problem, TIMEOUT_KINDS};
use crate::protocol::cty::Value;
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::provider::duration::parse_go_duration;
use crate::provider::schema::reboot_attrs as attrs;
use crate::provider::values::{attr, string_slot, Slot};
use crate::workspace::wire::MAX_SERVER_ID_LEN;

/// Longest part of an offending ID quoted back in a message.
const QUOTED_ID_CHARS: usize = 40;

pub fn validate(config: &Value) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    validate_server_ids(attr(config, attrs::SERVER_IDS), &mut diagnostics);

    if let Slot::Known(text) = string_slot(attr(config, attrs::TYPE)) {
        if let Some(problem) = reboot_type_problem(text) {
            diagnostics.push(
                Diagnostic::error("Invalid reboot type", problem)
                    .at(AttributePath::attribute(attrs::TYPE)),
            );
        }
    }

    let timeouts = attr(config, attrs::TIMEOUTS);
    for kind in TIMEOUT_KINDS {
        if let Slot::Known(text) = string_slot(attr(timeouts, kind)) {
            if let Err(problem) = parse_timeout(text) {
                diagnostics.push(
                    Diagnostic::error("Invalid timeout", format!("timeouts.{kind}: {problem}"))
                        .at(AttributePath::attribute(attrs::TIMEOUTS).then_attribute(kind)),
                );
            }
        }
    }
    diagnostics
}

/// A timeout: a Go duration longer than zero.
pub(super) fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    match parse_go_duration(text) {
        Ok(d) if d.is_zero() => Err(format!(
            "{text:?} is zero; a timeout must be longer than zero"
        )),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

fn validate_server_ids(value: &Value, diagnostics: &mut Diagnostics) {
    // Null is Terraform's to report (the attribute is required); unknown is fine.
    let Some(elements) = value.elements() else {
        return;
    };
    let path = || AttributePath::attribute(attrs::SERVER_IDS);
    if elements.is_empty() {
        diagnostics.push(
            Diagnostic::error(
                "No servers to reboot",
                "server_ids must list at least one server ID.",
            )
            .at(path()),
        );
        return;
    }
    for element in elements {
        let problem = match string_slot(element) {
            Slot::Unknown => None,
            Slot::Null => Some("server_ids must not contain null.".to_owned()),
            Slot::Known("") => Some("server_ids must not contain an empty ID.".to_owned()),
            Slot::Known(id) if id.chars().count() > MAX_SERVER_ID_LEN => {
                let shown: String = id.chars().take(QUOTED_ID_CHARS).collect();
                Some(format!(
                    "The server ID starting {shown:?} is {} characters long; server IDs have at \
                     most {MAX_SERVER_ID_LEN}.",
                    id.chars().count()
                ))
            }
            Slot::Known(_) => None,
        };
        if let Some(problem) = problem {
            diagnostics.push(Diagnostic::error("Invalid server ID", problem).at(path()));
        }
    }
}
