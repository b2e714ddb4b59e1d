//! What one snapshot of a server says about its readiness, independent of how it was fetched
//! (a show call or a list page) and of any history.
//!
//! - **Up**: users can be placed on the server now: the VM runs (`vm_status` ACTIVE), no task
//!   runs (`task_status` absent, `"null"` or a finished-task value) and the session agent has
//!   registered (`status` REGISTERED — or MAINTAINING while `maintain_status` is true, since a
//!   server in maintenance mode reports that instead).
//! - **DeadEnd**: it will not get there without someone's help, so waiting ends for that server
//!   at once with the reason, which always carries `status`, `vm_status` and `task_status`:
//!   a frozen server (a non-empty `freeze` list, or `status`/`vm_status` FREEZE), `vm_status`
//!   ERROR, SHUTOFF, BUILD_FAIL, REBUILD_FAIL or DELETING, or a failure `task_status`
//!   (`rebuild_fail`, `migrate_failed`, … see [`status::TASK_FAILURES`]). A server that no
//!   longer exists (404) never reaches this function: the caller handles it.
//! - **Pending**: anything else — on its way (rebooting, agent not registered yet, a task
//!   running) or showing values this module does not know. Unknown values are never taken as
//!   a dead end: they are named in the reason, which ends up in a timeout message.
//!
//! Dead ends are checked first: a frozen server whose VM still looks ACTIVE is a dead end, not
//! up. Comparisons ignore ASCII case and surrounding spaces.
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

impl Condition {
    pub fn is_up(&self) -> bool {
        matches!(self, Condition::Up)
    }

    pub fn is_dead_end(&self) -> bool {
        matches!(self, Condition::DeadEnd { .. })
    }
}

fn is(value: Option<&str>, wanted: &str) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case(wanted))
}

fn is_any(value: Option<&str>, wanted: &[&str]) -> bool {
    wanted.iter().any(|w| is(value, w))
}

/// `vm_status` values that do not change by waiting.
const VM_DEAD_ENDS: &[&str] = &[
    status::VM_ERROR,
    status::VM_SHUTOFF,
    status::VM_BUILD_FAIL,
    status::VM_REBUILD_FAIL,
    status::VM_DELETING,
    status::VM_FREEZE,
];

/// `status` values a server reports on its way to REGISTERED.
const STATUS_ON_THE_WAY: &[&str] = &[status::UNREGISTER];

/// Judges one snapshot.
pub fn assess(server: &AppServer) -> Condition {
    let values = server.describe_status();
    let st = server.status.as_deref();
    let vm = server.vm_status.as_deref();
    let task = server.task_status.as_deref();

    if server.is_frozen() {
        let why: Vec<String> = server.freeze.iter().map(ToString::to_string).collect();
        return Condition::DeadEnd {
            reason: format!("the server is frozen: {} ({values})", why.join(", ")),
        };
    }
    if is(st, status::FREEZE) || is(vm, status::VM_FREEZE) {
        return Condition::DeadEnd {
            reason: format!("the server is frozen ({values})"),
        };
    }
    if is_any(vm, VM_DEAD_ENDS) {
        let what = if is(vm, status::VM_SHUTOFF) {
            "the server is powered off"
        } else if is(vm, status::VM_DELETING) {
            "the server is being deleted"
        } else {
            "the server's VM is broken"
        };
        return Condition::DeadEnd {
            reason: format!("{what} ({values})"),
        };
    }
    if is_any(task, status::TASK_FAILURES) {
        return Condition::DeadEnd {
            reason: format!("a task on the server failed ({values})"),
        };
    }

    let registered = is(st, status::REGISTERED)
        || (is(st, status::MAINTAINING) && server.maintain_status == Some(true));
    if server.vm_active() && server.task_idle() && registered {
        return Condition::Up;
    }

    let reason = if !server.vm_active() {
        if vm.is_none() || is_any(vm, status::VM_TRANSITIONS) {
            format!("the VM is not running yet ({values})")
        } else {
            format!("unrecognised vm_status ({values})")
        }
    } else if !server.task_idle() {
        format!("a task is running ({values})")
    } else if st.is_none() || is_any(st, STATUS_ON_THE_WAY) {
        format!("the session agent has not registered yet ({values})")
    } else if is(st, status::MAINTAINING) {
        format!("status MAINTAINING but maintain_status is not true ({values})")
    } else {
        format!("unrecognised status ({values})")
    };
    Condition::Pending { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::wire::Freeze;

    fn server(st: Option<&str>, vm: Option<&str>, task: Option<&str>) -> AppServer {
        AppServer {
            id: "s".into(),
            status: st.map(str::to_string),
            vm_status: vm.map(str::to_string),
            task_status: task.map(str::to_string),
            ..AppServer::default()
        }
    }

    fn dead_end(server: &AppServer) -> String {
        match assess(server) {
            Condition::DeadEnd { reason } => reason,
            other => panic!("expected a dead end for {server:?}, got {other:?}"),
        }
    }

    fn pending(server: &AppServer) -> String {
        match assess(server) {
            Condition::Pending { reason } => reason,
            other => panic!("expected pending for {server:?}, got {other:?}"),
        }
    }

    #[test]
    fn up_needs_an_active_idle_vm_and_a_registered_agent() {
        for task in [
            None,
            Some("null"),
            Some(""),
            Some("upgrad_access_agent_success"),
        ] {
            let s = server(Some("REGISTERED"), Some("ACTIVE"), task);
            assert_eq!(assess(&s), Condition::Up, "{s:?}");
        }
        // Case and spaces do not matter.
        assert_eq!(
            assess(&server(Some(" registered"), Some("active "), Some("NULL"))),
            Condition::Up
        );
    }

    #[test]
    fn maintaining_is_up_only_in_maintenance_mode() {
        let mut s = server(Some("MAINTAINING"), Some("ACTIVE"), Some("null"));
        s.maintain_status = Some(true);
        assert_eq!(assess(&s), Condition::Up);
        s.maintain_status = Some(false);
        assert!(pending(&s).contains("maintain_status"));
        s.maintain_status = None;
        assert!(pending(&s).contains("status MAINTAINING"));
    }

    #[test]
    fn agent_not_registered_yet_is_pending() {
        let reason = pending(&server(Some("UNREGISTER"), Some("ACTIVE"), Some("null")));
        assert!(reason.contains("session agent"), "{reason}");
        assert!(reason.contains("status UNREGISTER"), "{reason}");
        let reason = pending(&server(None, Some("ACTIVE"), Some("null")));
        assert!(reason.contains("status (none)"), "{reason}");
    }

    #[test]
    fn reboot_in_progress_is_pending() {
        for (st, vm, task) in [
            ("REGISTERED", Some("ACTIVE"), "reboot_pending"),
            ("UNREGISTER", Some("REBOOT"), "rebooting"),
            ("UNREGISTER", Some("HARD_REBOOT"), "rebooting_hard"),
            ("UNREGISTER", None, "reboot_started"),
            ("REGISTERED", Some("MIGRATING"), "migrating"),
        ] {
            let s = server(Some(st), vm, Some(task));
            let reason = pending(&s);
            assert!(reason.contains(task), "{reason}");
            assert!(reason.contains(&format!("status {st}")), "{reason}");
        }
    }

    #[test]
    fn dead_end_vm_states_name_all_three_fields() {
        for vm in [
            "ERROR",
            "SHUTOFF",
            "BUILD_FAIL",
            "REBUILD_FAIL",
            "DELETING",
            "FREEZE",
            "error",
        ] {
            let reason = dead_end(&server(Some("NONE"), Some(vm), Some("null")));
            assert!(reason.contains(&format!("vm_status {vm}")), "{reason}");
            assert!(reason.contains("status NONE"), "{reason}");
            assert!(reason.contains("task_status null"), "{reason}");
        }
        assert!(dead_end(&server(Some("STOPPED"), Some("SHUTOFF"), None)).contains("powered off"));
    }

    #[test]
    fn frozen_servers_are_dead_ends_even_when_they_look_up() {
        let reason = dead_end(&server(Some("FREEZE"), Some("ACTIVE"), Some("null")));
        assert!(reason.contains("status FREEZE"), "{reason}");
        let mut s = server(Some("REGISTERED"), Some("ACTIVE"), Some("null"));
        s.freeze = vec![Freeze {
            effect: Some(1),
            scene: Some("ARREAR".into()),
        }];
        let reason = dead_end(&s);
        assert!(reason.contains("ARREAR"), "{reason}");
        assert!(reason.contains("status REGISTERED"), "{reason}");
        s.freeze = vec![Freeze::default()];
        assert!(dead_end(&s).contains("frozen"));
    }

    #[test]
    fn failure_task_states_are_dead_ends() {
        for task in status::TASK_FAILURES {
            let reason = dead_end(&server(Some("REGISTERED"), Some("ACTIVE"), Some(task)));
            assert!(reason.contains(&format!("task_status {task}")), "{reason}");
        }
        // A failure shown while the VM is busy is still final.
        dead_end(&server(
            Some("UNREGISTER"),
            Some("REBUILD"),
            Some("rebuild_fail"),
        ));
    }

    #[test]
    fn unrecognised_values_stay_pending_and_are_named() {
        let reason = pending(&server(
            Some("REGISTERED"),
            Some("TELEPORTING"),
            Some("null"),
        ));
        assert!(reason.contains("unrecognised vm_status"), "{reason}");
        assert!(reason.contains("TELEPORTING"), "{reason}");
        let reason = pending(&server(Some("DREAMING"), Some("ACTIVE"), Some("null")));
        assert!(reason.contains("unrecognised status"), "{reason}");
        assert!(reason.contains("DREAMING"), "{reason}");
        let reason = pending(&server(
            Some("REGISTERED"),
            Some("ACTIVE"),
            Some("polishing"),
        ));
        assert!(reason.contains("task_status polishing"), "{reason}");
        // `status` NONE (abnormal) with a running VM may still recover: pending.
        assert!(pending(&server(Some("NONE"), Some("ACTIVE"), Some("null"))).contains("NONE"));
    }
}
