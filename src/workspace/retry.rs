//! Retry timing: exponential backoff with jitter, `Retry-After`, and sleeps that stop at once on
//! cancellation or at the caller's deadline.

use std::time::{Duration, SystemTime};

use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Delay before the first retry (before jitter).
    pub base_delay: Duration,
    /// No computed delay exceeds this (a server's `Retry-After` may).
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// Delay before retry number `retry` (0 for the first retry).
    ///
    /// A `Retry-After` from the server is honoured as given. Otherwise the delay is
    /// `min(max_delay, base_delay × 2^retry)` with "equal jitter": a uniformly random value in
    /// its upper half, so that parallel clients spread out but never retry immediately.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(server_says) = retry_after {
            return server_says;
        }
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(31)))
            .min(self.max_delay);
        let half = exponential / 2;
        let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if jitter_nanos == 0 {
            0
        } else {
            rand::rng().random_range(0..=jitter_nanos)
        };
        half + Duration::from_nanos(jitter)
    }
}

/// Parse a `Retry-After` value: delta seconds or an HTTP date (relative to `now`).
/// A date in the past gives zero; anything unparsable gives `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Why a wait ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupted {
    Cancelled,
    /// Sleeping the whole delay would pass the deadline (returned without sleeping).
    Deadline,
}

/// Sleep `delay`, unless cancellation comes first or the delay would end past `deadline`.
pub async fn sleep_before_retry(
    delay: Duration,
    cancel: &CancellationToken,
    deadline: Instant,
) -> Result<(), Interrupted> {
    if cancel.is_cancelled() {
        return Err(Interrupted::Cancelled);
    }
    let wake = Instant::now() + delay;
    if wake >= deadline {
        return Err(Interrupted::Deadline);
    }
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Interrupted::Cancelled),
        _ = tokio::time::sleep_until(wake) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_cap() {
        let p = policy();
        for _ in 0..50 {
            let d0 = p.delay(0, None);
            assert!(
                d0 >= Duration::from_millis(500) && d0 <= Duration::from_secs(1),
                "{d0:?}"
            );
            let d3 = p.delay(3, None);
            assert!(
                d3 >= Duration::from_secs(4) && d3 <= Duration::from_secs(8),
                "{d3:?}"
            );
            let d20 = p.delay(20, None);
            assert!(
                d20 >= Duration::from_secs(15) && d20 <= Duration::from_secs(30),
                "{d20:?}"
            );
            assert!(p.delay(u32::MAX, None) <= Duration::from_secs(30));
        }
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        let zero = RetryPolicy {
            base_delay: Duration::ZERO,
            ..p
        };
        assert_eq!(zero.delay(4, None), Duration::ZERO);
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Tue, 15 Nov 1994 08:12:31 GMT").unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Tue, 15 Nov 1994 08:12:41 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Tue, 15 Nov 1994 08:12:01 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[tokio::test(start_paused = true)]
    async fn sleep_respects_cancel_and_deadline() {
        let cancel = CancellationToken::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        assert_eq!(
            sleep_before_retry(Duration::from_secs(1), &cancel, deadline).await,
            Ok(())
        );
        assert_eq!(
            sleep_before_retry(Duration::from_secs(20), &cancel, deadline).await,
            Err(Interrupted::Deadline)
        );
        let child = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            child.cancel();
        });
        assert_eq!(
            sleep_before_retry(Duration::from_secs(5), &cancel, deadline).await,
            Err(Interrupted::Cancelled)
        );
    }
}
