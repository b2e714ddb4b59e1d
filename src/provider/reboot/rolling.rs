//! `max_unavailable` and the `drain` block: how carefully a reboot is rolled out. Declared
//! here once and used by both forms of the reboot (the resource, and the action of the same
//! name), so the two cannot drift apart; read into the rollout engine's own plan
//! ([`RolloutPlan`]) by [`Rolling::read`].
//!
//! Rules (the engine's, see `workspace::rollout`, stated here as a user meets them):
//! - `max_unavailable` is a string: a count (`"10"`, and Terraform turns a bare `10` into
//!   `"10"`) or a percentage of the listed servers (`"25%"`, rounded down, at least 1). Unset:
//!   every listed server at once, as before waves existed.
//! - `drain` (at most one block) puts each wave into maintenance mode, waits for its sessions
//!   to end for at most `timeout`, then does what `on_timeout` says, reboots, and takes the
//!   servers it put into maintenance out again.
//! - Both need `wait_for_ready = true`: a wave ends when its servers are ready again. The
//!   validation error names the attribute.
//! - Neither changes what a plan reboots: changing only them reboots nothing.
//! - The drain block's attributes are optional and not computed: their defaults are applied
//!   here (and stated in their descriptions), so a plan shows exactly what the configuration
//!   says.

use std::time::Duration;

use crate::framework::{Attr, Block, Value};
use crate::protocol::diagnostics::{AttributePath, Diagnostic, Diagnostics};
use crate::provider::duration::{format_go_duration, parse_go_duration};
use crate::workspace::rollout::{
    self, DrainPlan, MaxUnavailable, OnTimeout, RolloutPlan, DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_LOGOFF_DELAY, DEFAULT_LOGOFF_TITLE,
};
use crate::workspace::wire::MAX_LOGOFF_DELAY_SECS;

/// `max_unavailable`: at most this many listed servers rebooting at once.
pub fn max_unavailable() -> Attr<String> {
    Attr::optional()
        .validate(validate_max_unavailable)
        .description(
            "Roll the reboot out in waves: at most this many of the listed servers are taken \
             away at once, each wave rebooted **and ready** before the next starts. A count \
             (`\"10\"`; a bare `10` works too) or a percentage of the listed servers \
             (`\"25%\"`, rounded down, at least 1). Servers already unavailable before the \
             rollout do not count. Waves follow ascending server ID. Requires \
             `wait_for_ready = true`. Unset: every listed server at once. Changing it alone \
             reboots nothing.",
        )
}

/// The `drain` block.
pub fn drain() -> Block<Drain> {
    Block::single().description(
        "Drain each wave before its reboot (at most one block): put its servers into \
         maintenance mode so no new sessions land on them, wait for their sessions to end, \
         then reboot and take the servers it put into maintenance out again (servers already \
         in maintenance stay there). Whatever happens (failure, timeout, Ctrl-C) the servers \
         it put into maintenance are taken out again before the apply returns. Requires \
         `wait_for_ready = true`. Without `max_unavailable` every listed server is one wave. \
         Changing it alone reboots nothing.",
    )
}

crate::model! {
    /// The `drain` block.
    pub struct Drain {
        pub timeout: Value<String> = Attr::optional()
            .validate(validate_drain_timeout)
            .description(
                "How long to wait for a wave's sessions to end by themselves, as a Go-style \
                 duration. Default `\"10m\"`.",
            ),
        pub on_timeout: Value<String> = Attr::optional()
            .validate(validate_on_timeout)
            .description(
                "What to do when sessions remain at `timeout`: `\"reboot\"` (reboot anyway; \
                 the sessions end without notice), `\"logoff\"` (send the users `title` and \
                 `message`, log them off after `logoff_delay`, wait for their sessions to \
                 end — up to `logoff_delay` plus a minute — then reboot) or `\"fail\"` (stop \
                 the rollout with an error listing the servers and their session counts; this \
                 wave and later ones are not rebooted). Default `\"reboot\"`.",
            ),
        pub title: Value<String> = Attr::optional().description(
            "Title of the logoff message users see (`on_timeout = \"logoff\"`). Default \
             `\"Server maintenance\"`.",
        ),
        pub message: Value<String> = Attr::optional().description(
            "Text of the logoff message users see (`on_timeout = \"logoff\"`). Unset: only \
             the title is shown.",
        ),
        pub logoff_delay: Value<String> = Attr::optional()
            .validate(validate_logoff_delay)
            .description(
                "How long users have between the logoff message and being logged off, as a \
                 Go-style duration (sent in whole seconds, at most 999999). Default `\"5m\"`.",
            ),
    }
}

/// The rollout settings of a configuration, read once validation passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rolling {
    pub max_unavailable: Option<MaxUnavailable>,
    pub drain: Option<DrainPlan>,
}

impl Rolling {
    /// Reads the settings; `None` when a value is not known yet (plan time). Errors name the
    /// attribute; validation reports the same ones earlier.
    pub fn read(
        max_unavailable: &Value<String>,
        drain: &Value<Drain>,
    ) -> Result<Option<Rolling>, Diagnostic> {
        let max_unavailable = match max_unavailable {
            Value::Null => None,
            Value::Unknown => return Ok(None),
            Value::Known(text) => Some(text.parse::<MaxUnavailable>().map_err(|error| {
                invalid_max_unavailable(&error.to_string())
                    .at(AttributePath::attribute("max_unavailable"))
            })?),
        };
        let drain = match drain {
            Value::Null => None,
            Value::Unknown => return Ok(None),
            Value::Known(block) => match block.plan()? {
                Some(plan) => Some(plan),
                None => return Ok(None),
            },
        };
        Ok(Some(Rolling {
            max_unavailable,
            drain,
        }))
    }

    /// Whether waves or a drain are asked: the rollout is more than "everything at once".
    pub fn is_rolling(&self) -> bool {
        self.max_unavailable.is_some() || self.drain.is_some()
    }

    /// The engine's plan for `server_ids` (`listed`: the size of the whole `server_ids`, which
    /// a percentage applies to, when only part of it is rebooted).
    pub fn plan(
        &self,
        server_ids: Vec<String>,
        listed: usize,
        reboot_type: crate::workspace::RebootType,
        wait_for_ready: bool,
        wait: crate::workspace::WaitOptions,
    ) -> RolloutPlan {
        RolloutPlan {
            wait_for_ready,
            max_unavailable: self.max_unavailable,
            listed: Some(listed),
            drain: self.drain.clone(),
            wait,
            ..RolloutPlan::new(server_ids, reboot_type)
        }
    }

    /// The bound on a whole rollout of `servers` servers when the configuration gives none:
    /// `fallback` for an all-at-once reboot, else the engine's estimate (waves × (drain
    /// timeout + logoff delay + 15 minutes)), never less than `fallback`.
    pub fn default_timeout(&self, servers: usize, fallback: Duration) -> Duration {
        let plan = self.sizing_plan(servers);
        // Whole seconds: sub-second drain settings would otherwise show as "40m0.600s".
        let whole =
            |d: Duration| Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0));
        rollout::default_timeout(&plan).map_or(fallback, |grown| whole(grown).max(fallback))
    }

    /// An explicit timeout that cannot fit even one wave: the error, naming `label` (the caller
    /// points it at the attribute).
    pub fn too_short(&self, servers: usize, timeout: Duration, label: &str) -> Option<Diagnostic> {
        if !self.is_rolling() {
            return None;
        }
        let least = rollout::minimum_timeout(&self.sizing_plan(servers));
        (timeout < least).then(|| {
            let detail = format!(
                "{label} = {:?} is shorter than one wave of this rollout can take: the drain's \
                 longest wait plus 5 minutes for the reboot, {} in all. Give at least {:?}, or \
                 leave {label} out: with waves or a drain its default grows to fit the \
                 rollout ({} here).",
                format_go_duration(timeout),
                format_go_duration(least),
                format_go_duration(least),
                format_go_duration(self.default_timeout(servers, least)),
            );
            Diagnostic::error("Timeout too short for the rollout", detail)
        })
    }

    fn sizing_plan(&self, servers: usize) -> RolloutPlan {
        let ids: Vec<String> = (0..servers).map(|i| format!("{i:08}")).collect();
        self.plan(
            ids,
            servers,
            crate::workspace::RebootType::Soft,
            true,
            crate::workspace::WaitOptions::default(),
        )
    }
}

impl Drain {
    /// The engine's drain plan, defaults filled in; `None` while a value is unknown.
    pub fn plan(&self) -> Result<Option<DrainPlan>, Diagnostic> {
        let at = |name: &str| AttributePath::attribute("drain").then_attribute(name);
        let duration = |value: &Value<String>, name: &str, default: Duration| match value {
            Value::Null => Ok(Some(default)),
            Value::Unknown => Ok(None),
            Value::Known(text) => parse_go_duration(text)
                .map(Some)
                .map_err(|e| invalid_duration(name, &e.to_string()).at(at(name))),
        };
        let Some(timeout) = duration(&self.timeout, "timeout", DEFAULT_DRAIN_TIMEOUT)? else {
            return Ok(None);
        };
        let Some(logoff_delay) =
            duration(&self.logoff_delay, "logoff_delay", DEFAULT_LOGOFF_DELAY)?
        else {
            return Ok(None);
        };
        let on_timeout = match &self.on_timeout {
            Value::Null => OnTimeout::default(),
            Value::Unknown => return Ok(None),
            Value::Known(text) => text
                .parse::<OnTimeout>()
                .map_err(|e| invalid_on_timeout(&e.to_string()).at(at("on_timeout")))?,
        };
        let title = match &self.title {
            Value::Null => DEFAULT_LOGOFF_TITLE.to_owned(),
            Value::Unknown => return Ok(None),
            Value::Known(text) => text.clone(),
        };
        let message = match &self.message {
            Value::Null => None,
            Value::Unknown => return Ok(None),
            Value::Known(text) => Some(text.clone()),
        };
        Ok(Some(DrainPlan {
            timeout,
            on_timeout,
            title,
            message,
            logoff_delay,
            ..DrainPlan::default()
        }))
    }
}

/// Rules across attributes: waves and draining need `wait_for_ready = true`. Unknown values
/// are left for the plan, which sees the final ones.
pub fn rules(
    max_unavailable: &Value<String>,
    drain: &Value<Drain>,
    wait_for_ready: &Value<bool>,
) -> Diagnostics {
    let mut diagnostics = Diagnostics::new();
    if wait_for_ready.known() != Some(&false) {
        return diagnostics;
    }
    if !max_unavailable.is_null() {
        diagnostics.push(
            Diagnostic::error(
                "max_unavailable requires wait_for_ready",
                "max_unavailable rolls the reboot out in waves, and a wave ends when its servers \
                 are ready again: set wait_for_ready = true (the default), or remove \
                 max_unavailable.",
            )
            .at(AttributePath::attribute("max_unavailable")),
        );
    }
    if !drain.is_null() {
        diagnostics.push(
            Diagnostic::error(
                "drain requires wait_for_ready",
                "drain takes the servers out of maintenance mode once they are ready again: set \
                 wait_for_ready = true (the default), or remove the drain block.",
            )
            .at(AttributePath::attribute("drain")),
        );
    }
    diagnostics
}

/// The plan warning of a drain without waves: every listed server stops taking new sessions at
/// once.
pub fn drain_without_waves(servers: usize) -> Diagnostic {
    Diagnostic::warning(
        "Every listed server is drained at once",
        format!(
            "drain is set without max_unavailable, so all {servers} listed server(s) are one \
             wave: all of them go into maintenance mode together and no new user session can \
             start on any of them until they are rebooted and ready. Set max_unavailable \
             (\"10\", \"25%\") to drain and reboot them a few at a time."
        ),
    )
    .at(AttributePath::attribute("drain"))
}

fn invalid_max_unavailable(problem: &str) -> Diagnostic {
    Diagnostic::error(
        "Invalid max_unavailable",
        format!("max_unavailable {problem}."),
    )
}

fn invalid_duration(name: &str, problem: &str) -> Diagnostic {
    Diagnostic::error("Invalid duration", format!("drain.{name}: {problem}"))
}

fn invalid_on_timeout(problem: &str) -> Diagnostic {
    Diagnostic::error("Invalid on_timeout", format!("drain.on_timeout {problem}."))
}

#[allow(clippy::ptr_arg)] // a validator sees the field's own type
fn validate_max_unavailable(text: &String) -> Vec<Diagnostic> {
    match text.parse::<MaxUnavailable>() {
        Ok(_) => Vec::new(),
        Err(error) => vec![invalid_max_unavailable(&error.to_string())],
    }
}

#[allow(clippy::ptr_arg)] // a validator sees the field's own type
fn validate_on_timeout(text: &String) -> Vec<Diagnostic> {
    match text.parse::<OnTimeout>() {
        Ok(_) => Vec::new(),
        Err(error) => vec![invalid_on_timeout(&error.to_string())],
    }
}

#[allow(clippy::ptr_arg)] // a validator sees the field's own type
fn validate_drain_timeout(text: &String) -> Vec<Diagnostic> {
    match parse_go_duration(text) {
        Ok(d) if d.is_zero() => vec![invalid_duration(
            "timeout",
            &format!("{text:?} is zero; give how long sessions may take to end, e.g. \"10m\""),
        )],
        Ok(_) => Vec::new(),
        Err(e) => vec![invalid_duration("timeout", &e.to_string())],
    }
}

#[allow(clippy::ptr_arg)] // a validator sees the field's own type
fn validate_logoff_delay(text: &String) -> Vec<Diagnostic> {
    match parse_go_duration(text) {
        Ok(d) if d.as_secs_f64().ceil() > MAX_LOGOFF_DELAY_SECS as f64 => vec![invalid_duration(
            "logoff_delay",
            &format!(
                "{text:?} is longer than the API's largest delay, {MAX_LOGOFF_DELAY_SECS} seconds"
            ),
        )],
        Ok(_) => Vec::new(),
        Err(e) => vec![invalid_duration("logoff_delay", &e.to_string())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain_block() -> Drain {
        Drain {
            timeout: Value::Null,
            on_timeout: Value::Null,
            title: Value::Null,
            message: Value::Null,
            logoff_delay: Value::Null,
        }
    }

    #[test]
    fn an_empty_drain_block_takes_the_documented_defaults() {
        let plan = drain_block().plan().unwrap().unwrap();
        assert_eq!(plan.timeout, Duration::from_secs(600));
        assert_eq!(plan.on_timeout, OnTimeout::Reboot);
        assert_eq!(plan.title, "Server maintenance");
        assert_eq!(plan.message, None);
        assert_eq!(plan.logoff_delay, Duration::from_secs(300));
    }

    #[test]
    fn configured_drain_values_are_used() {
        let block = Drain {
            timeout: Value::Known("90s".into()),
            on_timeout: Value::Known("logoff".into()),
            title: Value::Known("Patch night".into()),
            message: Value::Known("Save your work".into()),
            logoff_delay: Value::Known("2m".into()),
        };
        let plan = block.plan().unwrap().unwrap();
        assert_eq!(plan.timeout, Duration::from_secs(90));
        assert_eq!(plan.on_timeout, OnTimeout::Logoff);
        assert_eq!(plan.title, "Patch night");
        assert_eq!(plan.message.as_deref(), Some("Save your work"));
        assert_eq!(plan.logoff_delay, Duration::from_secs(120));
    }

    #[test]
    fn unknown_values_wait_for_the_plan() {
        let mut block = drain_block();
        block.on_timeout = Value::Unknown;
        assert_eq!(block.plan().unwrap(), None);
        assert_eq!(Rolling::read(&Value::Unknown, &Value::Null).unwrap(), None);
    }

    #[test]
    fn waves_and_drain_name_their_attribute_without_wait_for_ready() {
        let diagnostics = rules(
            &Value::Known("10".into()),
            &Value::Known(drain_block()),
            &Value::Known(false),
        );
        let paths: Vec<String> = diagnostics
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(|p| format!("{p:?}")))
            .collect();
        assert_eq!(diagnostics.iter().count(), 2);
        assert!(paths[0].contains("max_unavailable"), "{paths:?}");
        assert!(paths[1].contains("drain"), "{paths:?}");
        assert!(rules(
            &Value::Known("10".into()),
            &Value::Null,
            &Value::Known(true)
        )
        .is_empty());
        assert!(rules(&Value::Known("10".into()), &Value::Null, &Value::Unknown).is_empty());
    }

    #[test]
    fn bad_values_are_refused_with_the_attribute_named() {
        assert!(validate_max_unavailable(&"0".into())[0]
            .detail
            .contains("max_unavailable"));
        assert!(validate_max_unavailable(&"ten".into())[0]
            .detail
            .contains("max_unavailable"));
        assert!(validate_on_timeout(&"wait".into())[0]
            .detail
            .contains("drain.on_timeout"));
        assert!(validate_drain_timeout(&"0s".into())[0]
            .detail
            .contains("drain.timeout"));
        assert!(validate_logoff_delay(&"300h".into())[0]
            .detail
            .contains("drain.logoff_delay"));
        assert!(validate_logoff_delay(&"0s".into()).is_empty());
    }

    #[test]
    fn the_default_timeout_grows_with_waves_and_drain() {
        let fallback = Duration::from_secs(30 * 60);
        let all_at_once = Rolling::default();
        assert_eq!(all_at_once.default_timeout(40, fallback), fallback);
        let waves = Rolling {
            max_unavailable: Some(MaxUnavailable::Count(10)),
            drain: None,
        };
        // 4 waves × 15 minutes.
        assert_eq!(
            waves.default_timeout(40, fallback),
            Duration::from_secs(60 * 60)
        );
        let drained = Rolling {
            max_unavailable: Some(MaxUnavailable::Count(10)),
            drain: Some(DrainPlan::default()),
        };
        // 4 waves × (10m + 5m + 15m).
        assert_eq!(
            drained.default_timeout(40, fallback),
            Duration::from_secs(4 * 30 * 60)
        );
        assert!(drained
            .too_short(40, Duration::from_secs(60), "timeouts.create")
            .is_some_and(|d| d.detail.contains("timeouts.create")));
        assert_eq!(
            drained.too_short(40, Duration::from_secs(3600), "timeouts.create"),
            None
        );
        assert_eq!(
            all_at_once.too_short(40, Duration::from_secs(1), "timeouts.create"),
            None
        );
    }
}
