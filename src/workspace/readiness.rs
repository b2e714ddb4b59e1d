//! What one snapshot of a server says about its readiness, independent of how it was fetched
//! (a show call or a list page) and of any history.
//!
//! - **Up**: the server can take users now.
//! - **Pending**: not up yet, but it may still get there; the text says what is missing and
//!   appears in a timeout message.
//! - **DeadEnd**: it will not get there without someone's help; waiting ends for that server
//!   at once with the text as the reason.
//!
//! Whether a reboot is *behind* an Up server (rather than not started yet) is the waiter's
//! business: it needs the history of earlier polls, which a snapshot does not have.

use crate::workspace::wire::{status, AppServer};

/// The verdict on one server snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Up,
    Pending { reason: String },
    DeadEnd { reason: String },
}

/// Judges one snapshot.
pub fn assess(server: &AppServer) -> Condition {
    let vm = server.vm_status.as_deref().unwrap_or("");
    if vm.eq_ignore_ascii_case(status::VM_ERROR) {
        return Condition::DeadEnd {
            reason: format!(
                "vm_status ERROR (task_status {})",
                server.task_status.as_deref().unwrap_or("(none)")
            ),
        };
    }
    if vm.eq_ignore_ascii_case(status::VM_SHUTOFF) {
        return Condition::DeadEnd {
            reason: "vm_status SHUTOFF: the server is powered off".to_string(),
        };
    }
    if server.vm_active() && server.task_idle() {
        Condition::Up
    } else {
        Condition::Pending {
            reason: format!(
                "vm_status {}, task_status {}",
                server.vm_status.as_deref().unwrap_or("(none)"),
                server.task_status.as_deref().unwrap_or("(none)")
            ),
        }
    }
}
