//! UpgradeResourceState: stored JSON of schema version 0 or 1 → the current model.
//! Version 0 had the same attributes as version 1; the path exists so that upgrading is
//! exercised from the first release on. Missing attributes read as null; attributes this
//! provider no longer knows are dropped (see [`state_from_json`]).

use serde_json::Value as Json;

use super::model::RebootState;
use super::{REBOOT_RESOURCE, REBOOT_SCHEMA_VERSION};
use crate::framework::state_from_json;
use crate::protocol::diagnostics::{Diagnostic, Diagnostics};

pub fn upgrade(version: i64, raw_state: &Json) -> Result<RebootState, Diagnostics> {
    if !(0..=REBOOT_SCHEMA_VERSION).contains(&version) {
        return Err(Diagnostic::error(
            "Unsupported state version",
            format!(
                "This {REBOOT_RESOURCE} state was written with schema version {version}, \
                 but this provider knows versions 0 to {REBOOT_SCHEMA_VERSION}. Use the provider \
                 version that wrote it, or a newer one."
            ),
        )
        .into());
    }
    state_from_json(REBOOT_RESOURCE, raw_state)
}
