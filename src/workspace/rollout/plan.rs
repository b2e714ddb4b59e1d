//! What a rollout is asked to do ([`RolloutPlan`], [`DrainPlan`], [`MaxUnavailable`]), how its
//! servers are cut into waves ([`plan_waves`]) and how much time it needs ([`default_timeout`],
//! [`minimum_timeout`]). The rules are stated in the [module docs](super).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::workspace::wait::WaitOptions;
use crate::workspace::wire::RebootType;

/// Default drain `timeout`: how long to wait for sessions to end by themselves.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Default `logoff_delay`: how long users have between the logoff message and the logoff.
pub const DEFAULT_LOGOFF_DELAY: Duration = Duration::from_secs(5 * 60);
/// After the logoff delay, how much longer sessions may take to end before the reboot.
pub const DEFAULT_LOGOFF_GRACE: Duration = Duration::from_secs(60);
/// Default logoff title.
pub const DEFAULT_LOGOFF_TITLE: &str = "Server maintenance";
/// How long taking servers out of maintenance mode may take when the rollout ends, on a
/// deadline of its own (the rollout's may have passed, or it was cancelled).
pub const DEFAULT_RESTORE_TIMEOUT: Duration = Duration::from_secs(30);
/// Per wave, the time the reboot and the wait get in the default timeout.
pub const WAVE_REBOOT_BUDGET: Duration = Duration::from_secs(15 * 60);
/// Per wave, the least time a reboot and its wait can take: the floor of [`minimum_timeout`].
pub const MIN_REBOOT_ALLOWANCE: Duration = Duration::from_secs(5 * 60);
/// Default pause between two "N/M servers ready" events.
pub const DEFAULT_PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// `max_unavailable`: at most this many listed servers taken away by the rollout at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxUnavailable {
    /// `"10"`: that many servers (at least 1).
    Count(u64),
    /// `"25%"`: that share of the listed servers, rounded down, at least 1 (1–100).
    Percent(u8),
}

/// Why a `max_unavailable` text is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaxUnavailableError {
    #[error("must not be empty: give a number of servers such as \"10\" or a percentage such as \"25%\"")]
    Empty,
    #[error(
        "{0:?} is neither a whole number of servers (\"10\") nor a whole percentage (\"25%\")"
    )]
    NotANumber(String),
    #[error("must be at least 1 server, got {0:?}")]
    Zero(String),
    #[error("a percentage must be 1% to 100%, got {0:?}")]
    PercentOutOfRange(String),
    #[error("{0:?} is too large")]
    TooLarge(String),
}

impl FromStr for MaxUnavailable {
    type Err = MaxUnavailableError;

    /// `"10"` or `"25%"`: ASCII digits (leading zeros allowed), with `%` for a percentage.
    /// No spaces, signs, fractions or units other than `%`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(MaxUnavailableError::Empty);
        }
        let (digits, percent) = match text.strip_suffix('%') {
            Some(digits) => (digits, true),
            None => (text, false),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MaxUnavailableError::NotANumber(text.to_string()));
        }
        // Only digits: parsing fails only by overflow.
        let value: u64 = digits.parse().map_err(|_| {
            if percent {
                MaxUnavailableError::PercentOutOfRange(text.to_string())
            } else {
                MaxUnavailableError::TooLarge(text.to_string())
            }
        })?;
        if percent {
            match u8::try_from(value) {
                Ok(p @ 1..=100) => Ok(MaxUnavailable::Percent(p)),
                _ => Err(MaxUnavailableError::PercentOutOfRange(text.to_string())),
            }
        } else if value == 0 {
            Err(MaxUnavailableError::Zero(text.to_string()))
        } else {
            Ok(MaxUnavailable::Count(value))
        }
    }
}

impl fmt::Display for MaxUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxUnavailable::Count(n) => write!(f, "{n}"),
            MaxUnavailable::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl MaxUnavailable {
    /// The number of servers for `listed` listed servers: a count as is, a percentage rounded
    /// down; at least 1.
    pub fn resolve(self, listed: usize) -> usize {
        let n = match self {
            MaxUnavailable::Count(n) => usize::try_from(n).unwrap_or(usize::MAX),
            MaxUnavailable::Percent(p) => listed.saturating_mul(usize::from(p)) / 100,
        };
        n.max(1)
    }
}

/// What to do when sessions remain at the drain's `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnTimeout {
    /// Reboot anyway (the remaining sessions end without notice).
    #[default]
    Reboot,
    /// Send the users a logoff message, wait for the logoff, then reboot.
    Logoff,
    /// Stop the rollout; this wave is not rebooted.
    Fail,
}

impl OnTimeout {
    /// The attribute value: `reboot`, `logoff`, `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnTimeout::Reboot => "reboot",
            OnTimeout::Logoff => "logoff",
            OnTimeout::Fail => "fail",
        }
    }
}

impl fmt::Display for OnTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `on_timeout` text that is none of `reboot`, `logoff`, `fail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of \"reboot\", \"logoff\" or \"fail\", got {0:?}")]
pub struct OnTimeoutError(pub String);

impl FromStr for OnTimeout {
    type Err = OnTimeoutError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "reboot" => Ok(OnTimeout::Reboot),
            "logoff" => Ok(OnTimeout::Logoff),
            "fail" => Ok(OnTimeout::Fail),
            other => Err(OnTimeoutError(other.to_string())),
        }
    }
}

/// Draining a wave before its reboot (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainPlan {
    /// How long to wait for the wave's sessions to end by themselves.
    pub timeout: Duration,
    pub on_timeout: OnTimeout,
    /// The logoff message's title.
    pub title: String,
    /// The logoff message's text; none sends only the title.
    pub message: Option<String>,
    /// `delay_time` of the logoff, sent in whole seconds (rounded up).
    pub logoff_delay: Duration,
    /// How much longer than `logoff_delay` the sessions may take to end.
    pub logoff_grace: Duration,
    /// The deadline of taking servers out of maintenance mode when the rollout ends.
    pub restore_timeout: Duration,
}

impl Default for DrainPlan {
    fn default() -> Self {
        DrainPlan {
            timeout: DEFAULT_DRAIN_TIMEOUT,
            on_timeout: OnTimeout::Reboot,
            title: DEFAULT_LOGOFF_TITLE.to_string(),
            message: None,
            logoff_delay: DEFAULT_LOGOFF_DELAY,
            logoff_grace: DEFAULT_LOGOFF_GRACE,
            restore_timeout: DEFAULT_RESTORE_TIMEOUT,
        }
    }
}

impl DrainPlan {
    /// The most a drain can take before its reboot: `timeout`, plus the logoff delay and
    /// grace when `on_timeout` is `logoff`.
    pub fn worst_case(&self) -> Duration {
        match self.on_timeout {
            OnTimeout::Logoff => self
                .timeout
                .saturating_add(self.logoff_delay)
                .saturating_add(self.logoff_grace),
            OnTimeout::Reboot | OnTimeout::Fail => self.timeout,
        }
    }
}

/// A rollout: which servers, how, and how carefully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutPlan {
    /// The servers to reboot; order and duplicates do not matter (waves follow ID order).
    pub server_ids: Vec<String>,
    pub reboot_type: RebootType,
    pub wait_for_ready: bool,
    /// None: one wave (everything at once).
    pub max_unavailable: Option<MaxUnavailable>,
    /// The number of servers a percentage applies to; None: the distinct `server_ids`. A
    /// caller continuing a partial rollout gives the size of the whole list here.
    pub listed: Option<usize>,
    pub drain: Option<DrainPlan>,
    /// Polling interval and settle time (`reboot_requested_at` is set per wave).
    pub wait: WaitOptions,
    /// Least pause between two "N/M servers ready" events.
    pub progress_every: Duration,
}

impl RolloutPlan {
    /// Everything at once, waiting for readiness, no drain: today's behaviour.
    pub fn new(server_ids: Vec<String>, reboot_type: RebootType) -> RolloutPlan {
        RolloutPlan {
            server_ids,
            reboot_type,
            wait_for_ready: true,
            max_unavailable: None,
            listed: None,
            drain: None,
            wait: WaitOptions::default(),
            progress_every: DEFAULT_PROGRESS_EVERY,
        }
    }

    /// The distinct server IDs in ascending order: the rollout order.
    pub fn ordered_ids(&self) -> Vec<String> {
        let mut ids = self.server_ids.clone();
        ids.sort();
        ids.dedup();
        ids
    }

    /// At most this many servers per wave; None for one wave.
    pub fn budget(&self) -> Option<usize> {
        let listed = self.listed.unwrap_or_else(|| self.ordered_ids().len());
        self.max_unavailable.map(|m| m.resolve(listed))
    }

    /// The most waves the rollout can have: `⌈servers / budget⌉` (at least 1).
    pub fn max_waves(&self) -> usize {
        let servers = self.ordered_ids().len();
        match self.budget() {
            Some(budget) => servers.div_ceil(budget).max(1),
            None => 1,
        }
    }

    /// Waves and draining need `wait_for_ready`: a wave is over when its servers are ready.
    pub fn check(&self) -> Result<(), PlanError> {
        if !self.wait_for_ready {
            if self.max_unavailable.is_some() {
                return Err(PlanError::WavesNeedWait);
            }
            if self.drain.is_some() {
                return Err(PlanError::DrainNeedsWait);
            }
        }
        Ok(())
    }
}

/// A plan the engine refuses before sending anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("max_unavailable requires wait_for_ready = true: a wave ends when its servers are ready again")]
    WavesNeedWait,
    #[error("drain requires wait_for_ready = true: maintenance mode ends when the servers are ready again")]
    DrainNeedsWait,
}

/// Cuts `ordered` (the rollout order) into waves: a wave takes the next servers until it holds
/// `budget` servers for which `counts` is true; the others (already unavailable) join the wave
/// they fall into without counting. None: one wave.
pub fn plan_waves(
    ordered: &[String],
    budget: Option<usize>,
    counts: impl Fn(&str) -> bool,
) -> Vec<Vec<String>> {
    let Some(budget) = budget.map(|b| b.max(1)) else {
        return if ordered.is_empty() {
            Vec::new()
        } else {
            vec![ordered.to_vec()]
        };
    };
    let mut waves: Vec<Vec<String>> = Vec::new();
    let mut counted = 0usize;
    for id in ordered {
        let counting = counts(id);
        if waves.is_empty() || (counting && counted == budget) {
            waves.push(Vec::new());
            counted = 0;
        }
        if counting {
            counted += 1;
        }
        if let Some(wave) = waves.last_mut() {
            wave.push(id.clone());
        }
    }
    waves
}

/// The whole rollout's default timeout when waves or a drain are asked (None otherwise: the
/// caller's usual default applies): waves × (drain timeout + logoff delay + 15 minutes), the
/// drain terms only with a drain.
pub fn default_timeout(plan: &RolloutPlan) -> Option<Duration> {
    if plan.max_unavailable.is_none() && plan.drain.is_none() {
        return None;
    }
    let per_wave = match &plan.drain {
        Some(drain) => drain
            .timeout
            .saturating_add(drain.logoff_delay)
            .saturating_add(WAVE_REBOOT_BUDGET),
        None => WAVE_REBOOT_BUDGET,
    };
    let waves = u32::try_from(plan.max_waves()).unwrap_or(u32::MAX);
    Some(per_wave.saturating_mul(waves))
}

/// The least timeout that fits one wave: the drain's worst case ([`DrainPlan::worst_case`])
/// plus [`MIN_REBOOT_ALLOWANCE`]. A shorter explicit timeout cannot finish even the first wave.
pub fn minimum_timeout(plan: &RolloutPlan) -> Duration {
    plan.drain
        .as_ref()
        .map_or(Duration::ZERO, DrainPlan::worst_case)
        .saturating_add(MIN_REBOOT_ALLOWANCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MaxUnavailable, MaxUnavailableError> {
        text.parse()
    }

    #[test]
    fn counts_and_percentages_parse() {
        assert_eq!(parse("10"), Ok(MaxUnavailable::Count(10)));
        assert_eq!(parse("007"), Ok(MaxUnavailable::Count(7)));
        assert_eq!(parse("25%"), Ok(MaxUnavailable::Percent(25)));
        assert_eq!(parse("1%"), Ok(MaxUnavailable::Percent(1)));
        assert_eq!(parse("100%"), Ok(MaxUnavailable::Percent(100)));
        assert_eq!(parse("25%").map(|m| m.to_string()), Ok("25%".to_string()));
    }

    #[test]
    fn bad_texts_have_typed_errors() {
        assert_eq!(parse(""), Err(MaxUnavailableError::Empty));
        for bad in [
            "%", "ten", "-1", "+1", " 10", "10 ", "2.5%", "25 %", "%25", "1e3", "25%%",
        ] {
            assert!(
                matches!(parse(bad), Err(MaxUnavailableError::NotANumber(_))),
                "{bad:?}: {:?}",
                parse(bad)
            );
        }
        assert_eq!(parse("0"), Err(MaxUnavailableError::Zero("0".into())));
        for bad in ["0%", "101%", "300%", "99999999999999999999%"] {
            assert!(
                matches!(parse(bad), Err(MaxUnavailableError::PercentOutOfRange(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse("99999999999999999999"),
            Err(MaxUnavailableError::TooLarge(_))
        ));
        assert!(parse("x").unwrap_err().to_string().contains("\"x\""));
    }

    #[test]
    fn percentages_round_down_to_at_least_one() {
        assert_eq!(MaxUnavailable::Percent(25).resolve(40), 10);
        assert_eq!(MaxUnavailable::Percent(25).resolve(39), 9);
        assert_eq!(MaxUnavailable::Percent(1).resolve(40), 1);
        assert_eq!(MaxUnavailable::Percent(10).resolve(5), 1);
        assert_eq!(MaxUnavailable::Percent(100).resolve(7), 7);
        assert_eq!(MaxUnavailable::Percent(50).resolve(0), 1);
        assert_eq!(MaxUnavailable::Count(10).resolve(3), 10);
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("s{i:02}")).collect()
    }

    #[test]
    fn waves_follow_the_order_and_skip_unavailable_servers_in_the_count() {
        let all = ids(7);
        let waves = plan_waves(&all, Some(3), |_| true);
        assert_eq!(
            waves,
            vec![ids(7)[0..3].to_vec(), all[3..6].to_vec(), all[6..].to_vec()]
        );
        // s01 and s04 are down already: they ride along.
        let waves = plan_waves(&all, Some(2), |id| id != "s01" && id != "s04");
        let sizes: Vec<usize> = waves.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![3, 3, 1]);
        assert_eq!(waves.concat(), all);
        // Nothing counts: one wave.
        assert_eq!(plan_waves(&all, Some(2), |_| false), vec![all.clone()]);
        assert_eq!(plan_waves(&all, None, |_| true), vec![all.clone()]);
        assert!(plan_waves(&[], Some(2), |_| true).is_empty());
    }

    #[test]
    fn timeouts_grow_with_waves_and_drain() {
        let mut plan = RolloutPlan::new(ids(40), RebootType::Soft);
        assert_eq!(default_timeout(&plan), None);
        assert_eq!(minimum_timeout(&plan), MIN_REBOOT_ALLOWANCE);
        plan.max_unavailable = Some(MaxUnavailable::Count(10));
        assert_eq!(plan.max_waves(), 4);
        assert_eq!(
            default_timeout(&plan),
            Some(Duration::from_secs(4 * 15 * 60))
        );
        plan.drain = Some(DrainPlan::default());
        // 4 × (10 + 5 + 15) minutes.
        assert_eq!(
            default_timeout(&plan),
            Some(Duration::from_secs(4 * 30 * 60))
        );
        assert_eq!(minimum_timeout(&plan), Duration::from_secs(15 * 60));
        plan.drain = Some(DrainPlan {
            on_timeout: OnTimeout::Logoff,
            ..DrainPlan::default()
        });
        assert_eq!(minimum_timeout(&plan), Duration::from_secs(21 * 60));
        // A percentage of a longer list than the one rolled now.
        plan.max_unavailable = Some(MaxUnavailable::Percent(25));
        plan.listed = Some(80);
        assert_eq!(plan.budget(), Some(20));
        assert_eq!(plan.max_waves(), 2);
    }

    #[test]
    fn waves_and_drain_need_waiting() {
        let mut plan = RolloutPlan::new(ids(2), RebootType::Soft);
        plan.wait_for_ready = false;
        assert_eq!(plan.check(), Ok(()));
        plan.drain = Some(DrainPlan::default());
        assert_eq!(plan.check(), Err(PlanError::DrainNeedsWait));
        plan.max_unavailable = Some(MaxUnavailable::Count(1));
        assert_eq!(plan.check(), Err(PlanError::WavesNeedWait));
        assert_eq!("logoff".parse(), Ok(OnTimeout::Logoff));
        assert!("Logoff".parse::<OnTimeout>().is_err());
    }
}
