//! Logs as go-plugin wants them: one JSON object per stderr line with string fields `@level`,
//! `@message`, `@timestamp` (six fractional digits) and `@module`. Terraform re-logs such lines at
//! their own level, so `TF_LOG=debug terraform plan` shows ours as debug lines.
//!
//! Written by hand because no tracing formatter produces hclog's field names and timestamp
//! format, and a non-string value in one of those fields crashes Terraform's reader.

use serde_json::{Map, Value as Json};
use std::io::Write;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// This crate's own targets start with this (the library is named `tfws`).
const OWN_TARGET: &str = "tfws";

/// The level chosen by `TF_LOG_PROVIDER`, else `TF_LOG`; `warn` when neither is set.
pub fn level_from_env(tf_log_provider: Option<&str>, tf_log: Option<&str>) -> LevelFilter {
    let chosen = tf_log_provider
        .filter(|v| !v.trim().is_empty())
        .or(tf_log.filter(|v| !v.trim().is_empty()));
    match chosen.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None => LevelFilter::WARN,
        // Terraform's TF_LOG=JSON means trace level, JSON formatted.
        Some("trace") | Some("json") => LevelFilter::TRACE,
        Some("debug") => LevelFilter::DEBUG,
        Some("info") => LevelFilter::INFO,
        Some("warn") => LevelFilter::WARN,
        Some("error") => LevelFilter::ERROR,
        Some("off") => LevelFilter::OFF,
        // Terraform treats any other value as trace.
        Some(_) => LevelFilter::TRACE,
    }
}

/// Installs the hclog JSON layer on stderr, at the level taken from the environment. Other
/// crates (hyper, h2, rustls) are held at warn so a trace log stays about this provider.
pub fn init_from_env() {
    let level = level_from_env(
        std::env::var("TF_LOG_PROVIDER").ok().as_deref(),
        std::env::var("TF_LOG").ok().as_deref(),
    );
    let dependencies = std::cmp::min(level, LevelFilter::WARN);
    let filter = Targets::new()
        .with_default(dependencies)
        .with_target(OWN_TARGET, level);
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(HclogLayer.with_filter(filter))
        .try_init();
}

/// Formats events as hclog JSON lines on stderr.
pub struct HclogLayer;

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let line = format_event(event, time::OffsetDateTime::now_utc());
        // One write per line so concurrent events never interleave mid-line.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

fn format_event(event: &Event<'_>, now: time::OffsetDateTime) -> String {
    let metadata = event.metadata();
    let mut fields = FieldCollector::default();
    event.record(&mut fields);
    let mut object = Map::new();
    object.insert("@level".into(), Json::from(hclog_level(*metadata.level())));
    object.insert(
        "@message".into(),
        Json::from(fields.message.unwrap_or_default()),
    );
    object.insert("@timestamp".into(), Json::from(hclog_timestamp(now)));
    object.insert(
        "@module".into(),
        Json::from(metadata.target().replace("::", ".")),
    );
    for (key, value) in fields.others {
        // The four hclog fields must stay strings: never let an event field overwrite them.
        if !key.starts_with('@') {
            object.insert(key, value);
        }
    }
    let mut line = Json::Object(object).to_string();
    line.push('\n');
    line
}

fn hclog_level(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// `2006-01-02T15:04:05.000000Z07:00` in Go's notation; always UTC here.
fn hclog_timestamp(now: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    now.format(&format).unwrap_or_default()
}

#[derive(Default)]
struct FieldCollector {
    message: Option<String>,
    others: Vec<(String, Json)>,
}

impl Visit for FieldCollector {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, Json::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record(field, Json::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record(field, Json::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record(field, Json::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record(field, Json::from(format!("{value:?}")));
    }
}

impl FieldCollector {
    fn record(&mut self, field: &Field, value: Json) {
        if field.name() == "message" {
            self.message = Some(match value {
                Json::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.others.push((field.name().to_owned(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_prefers_tf_log_provider() {
        assert_eq!(
            level_from_env(Some("debug"), Some("error")),
            LevelFilter::DEBUG
        );
        assert_eq!(level_from_env(None, Some("INFO")), LevelFilter::INFO);
        assert_eq!(level_from_env(Some(""), Some("JSON")), LevelFilter::TRACE);
        assert_eq!(level_from_env(None, None), LevelFilter::WARN);
        assert_eq!(level_from_env(Some("off"), Some("trace")), LevelFilter::OFF);
    }

    #[test]
    fn timestamp_has_six_fractional_digits() {
        let t = time::macros::datetime!(2026-11-27 10:15:00.123 UTC);
        assert_eq!(hclog_timestamp(t), "2026-11-27T10:15:00.123000Z");
    }

    #[test]
    fn events_become_hclog_json_lines() {
        use std::sync::{Arc, Mutex};
        struct Capture(Arc<Mutex<Vec<String>>>);
        impl<S: Subscriber> Layer<S> for Capture {
            fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
                let now = time::macros::datetime!(2026-01-02 03:04:05.000006 UTC);
                self.0.lock().unwrap().push(format_event(event, now));
            }
        }
        let lines = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Capture(lines.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "tfws::provider", batch = 3, "rebooting {} servers", 20);
        });
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].ends_with('\n'));
        let parsed: Json = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(parsed["@level"], "debug");
        assert_eq!(parsed["@message"], "rebooting 20 servers");
        assert_eq!(parsed["@timestamp"], "2026-01-02T03:04:05.000006Z");
        assert_eq!(parsed["@module"], "tfws.provider");
        assert_eq!(parsed["batch"], 3);
    }
}
