//! A plain-text picture of a [`FleetReport`]: what a rollout did to each server, on one time
//! axis, for people (the demo prints it; `GET /_simulator/timeline` serves it).
//!
//! Rules of the picture:
//! - Time runs from the first recorded event (a maintenance change, a reboot request, a logoff
//!   message) to the last one (a server back, maintenance lifted), in seconds from that first
//!   event. One column is a fixed step (0.05 s … 1 h, the smallest that fits `width`).
//! - One row per server: `R` while it is unavailable (its reboot was accepted and its agent
//!   has not registered again), `!` where its users were sent a logoff message, `m` while it
//!   is in maintenance mode (taking no new sessions), `.` while it serves users. When several
//!   happen within a column the first of `R`, `!`, `m` wins.
//! - **Waves** are read from the reboots themselves: reboots that overlap in time belong to
//!   one wave, and a reboot accepted once every reboot before it was back starts the next one.
//!   That is what a rollout's waves look like from the outside, whatever the batching. Rows
//!   are ordered by wave, then by server ID; servers never rebooted come last.
//! - A table follows with, per server, its maintenance changes, first logoff message, reboots
//!   (accepted → back) and the sessions those reboots killed; then the totals, including
//!   "sessions killed: N".
//!
//! The picture is built from the report alone, so it shows the same thing however the report
//! was obtained. `GET /_simulator/timeline` adds a last line from the request counters:
//! [`requests_by_api`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::sessions::{FleetReport, ServerHistory};
use super::state::RequestCounters;

/// Default number of time columns.
pub const DEFAULT_WIDTH: usize = 60;

/// Column steps to choose from, in milliseconds.
const STEPS_MS: [u64; 16] = [
    50, 100, 200, 250, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
    600_000, 3_600_000,
];

/// A reboot as an interval; `end` is `None` while the server is still unavailable.
#[derive(Clone, Copy, Debug)]
struct Outage {
    start: u64,
    end: Option<u64>,
}

/// The waves (numbered from 1) of every reboot, keyed by (server index, reboot index).
fn waves(report: &FleetReport) -> BTreeMap<(usize, usize), usize> {
    let mut reboots: Vec<(u64, Option<u64>, usize, usize)> =
        report
            .servers
            .iter()
            .enumerate()
            .flat_map(|(s, server)| {
                server.reboots.iter().enumerate().map(move |(r, reboot)| {
                    (reboot.accepted_at_ms, reboot.available_again_at_ms, s, r)
                })
            })
            .collect();
    reboots.sort();
    let mut waves = BTreeMap::new();
    let mut wave = 0;
    // The latest end of the current wave; `None` inside it means "still unavailable".
    let mut current_end: Option<Option<u64>> = None;
    for (start, end, s, r) in reboots {
        let starts_new = match current_end {
            None => true,
            Some(None) => false,
            Some(Some(back)) => start >= back,
        };
        if starts_new {
            wave += 1;
            current_end = Some(end);
        } else if let Some(Some(back)) = current_end {
            current_end = Some(end.map(|end| end.max(back)));
        }
        waves.insert((s, r), wave);
    }
    waves
}

/// Whether the server was in maintenance mode before its first recorded change.
fn in_maintenance_at_start(server: &ServerHistory) -> bool {
    server
        .maintenance
        .first()
        .map_or(server.maintain_status, |change| !change.maintain_status)
}

/// Maintenance intervals `[start, end)` within `[origin, until]`.
fn maintenance_spans(server: &ServerHistory, origin: u64, until: u64) -> Vec<(u64, u64)> {
    let mut spans = Vec::new();
    let mut since = in_maintenance_at_start(server).then_some(origin);
    for change in &server.maintenance {
        match (change.maintain_status, since) {
            (true, None) => since = Some(change.at_ms),
            (false, Some(start)) => {
                spans.push((start, change.at_ms));
                since = None;
            }
            _ => {}
        }
    }
    if let Some(start) = since {
        spans.push((start, until.saturating_add(1)));
    }
    spans
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

fn seconds(ms: u64, origin: u64) -> String {
    format!("{:.1}s", ms.saturating_sub(origin) as f64 / 1000.0)
}

fn step_label(step_ms: u64) -> String {
    if step_ms < 1_000 {
        format!("{:.2} s", step_ms as f64 / 1000.0)
    } else {
        format!("{} s", step_ms / 1000)
    }
}

/// Renders `report` (see the module docs) with at most `width` time columns (at least 10).
pub fn render(report: &FleetReport, width: usize) -> String {
    let width = width.max(10);
    let mut events: Vec<u64> = Vec::new();
    for server in &report.servers {
        events.extend(server.maintenance.iter().map(|c| c.at_ms));
        events.extend(server.logoff_messages.iter().map(|m| m.at_ms));
        for reboot in &server.reboots {
            events.push(reboot.accepted_at_ms);
            events.extend(reboot.available_again_at_ms);
        }
    }
    let mut out = String::new();
    let (Some(&origin), Some(&last)) = (events.iter().min(), events.iter().max()) else {
        out.push_str("Timeline: nothing happened yet (no maintenance change, reboot or logoff).\n");
        push_totals(&mut out, report, 0);
        return out;
    };
    let span = last - origin + 1;
    let step = STEPS_MS
        .iter()
        .copied()
        .find(|step| span.div_ceil(*step) <= width as u64)
        .unwrap_or(STEPS_MS[STEPS_MS.len() - 1]);
    let columns = usize::try_from(span.div_ceil(step)).unwrap_or(width).max(1);
    let waves = waves(report);
    let wave_count = waves.values().copied().max().unwrap_or(0);

    // Rows: by first wave, then ID; never rebooted last.
    let mut rows: Vec<(usize, &ServerHistory, Vec<usize>)> = report
        .servers
        .iter()
        .enumerate()
        .map(|(s, server)| {
            let of_server: Vec<usize> = (0..server.reboots.len())
                .filter_map(|r| waves.get(&(s, r)).copied())
                .collect();
            let key = of_server.first().copied().unwrap_or(usize::MAX);
            (key, server, of_server)
        })
        .collect();
    rows.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
    let id_width = rows
        .iter()
        .map(|(_, server, _)| server.id.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let wave_width = rows
        .iter()
        .map(|(_, _, w)| wave_label(w).len())
        .max()
        .unwrap_or(4)
        .max(4);
    let indent = wave_width + 2 + id_width + 2;

    let _ = writeln!(
        out,
        "Timeline: {} from the first event, one column = {}",
        seconds(last, origin),
        step_label(step)
    );
    // Axis: a label every 10 columns.
    let mut axis = " ".repeat(indent);
    let mut ticks = " ".repeat(indent);
    let mut column = 0;
    while column < columns {
        let label = seconds(origin + column as u64 * step, origin);
        let room = 10.min(columns - column);
        let _ = write!(axis, "{label:<room$}");
        ticks.push('|');
        ticks.push_str(&" ".repeat(room.saturating_sub(1)));
        column += 10;
    }
    out.push_str(axis.trim_end());
    out.push('\n');
    out.push_str(ticks.trim_end());
    out.push('\n');
    let _ = writeln!(out, "{:<wave_width$}  server", "wave");

    let mut previous_wave = None;
    for (key, server, server_waves) in &rows {
        let outages: Vec<Outage> = server
            .reboots
            .iter()
            .map(|r| Outage {
                start: r.accepted_at_ms,
                end: r.available_again_at_ms,
            })
            .collect();
        let maintenance = maintenance_spans(server, origin, last);
        let mut line = String::with_capacity(columns);
        for c in 0..columns {
            let cell = (origin + c as u64 * step, origin + (c as u64 + 1) * step);
            let rebooting = outages.iter().any(|o| {
                overlaps(
                    cell,
                    (o.start, o.end.map_or(u64::MAX, |e| e.max(o.start + 1))),
                )
            });
            let logoff = server
                .logoff_messages
                .iter()
                .any(|m| m.at_ms >= cell.0 && m.at_ms < cell.1);
            let maint = maintenance.iter().any(|span| overlaps(cell, *span));
            line.push(if rebooting {
                'R'
            } else if logoff {
                '!'
            } else if maint {
                'm'
            } else {
                '.'
            });
        }
        let label = if previous_wave == Some(*key) {
            String::new()
        } else if server_waves.is_empty() {
            "-".to_owned()
        } else {
            wave_label(server_waves)
        };
        previous_wave = Some(*key);
        let _ = writeln!(
            out,
            "{label:<wave_width$}  {:<id_width$}  {line}",
            server.id
        );
    }
    let pad = " ".repeat(indent);
    let _ = writeln!(
        out,
        "{pad}R unavailable (rebooting, agent not back)   ! logoff message sent"
    );
    let _ = writeln!(
        out,
        "{pad}m maintenance mode (no new sessions)        . serving users"
    );
    out.push('\n');

    // The table.
    let _ = writeln!(
        out,
        "{:<id_width$}  {:<wave_width$}  {:<26}  {:<14}  {:<22}  killed",
        "server", "wave", "maintenance", "logoff sent", "rebooted -> back"
    );
    for (_, server, server_waves) in &rows {
        let maintenance = maintenance_text(server, origin);
        let logoff = match server.logoff_messages.first() {
            Some(first) => format!(
                "{} ({})",
                seconds(first.at_ms, origin),
                server.logoff_messages.len()
            ),
            None => "-".to_owned(),
        };
        let reboots = if server.reboots.is_empty() {
            "not rebooted".to_owned()
        } else {
            server
                .reboots
                .iter()
                .map(|r| {
                    let back = r
                        .available_again_at_ms
                        .map_or_else(|| "not back".to_owned(), |ms| seconds(ms, origin));
                    let error = if r.ended_in_error { " ERROR" } else { "" };
                    format!("{} -> {back}{error}", seconds(r.accepted_at_ms, origin))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let wave = if server_waves.is_empty() {
            "-".to_owned()
        } else {
            wave_label(server_waves)
        };
        let _ = writeln!(
            out,
            "{:<id_width$}  {wave:<wave_width$}  {maintenance:<26}  {logoff:<14}  {reboots:<22}  {}",
            server.id, server.sessions_killed
        );
    }
    out.push('\n');
    push_totals(&mut out, report, wave_count);
    out
}

fn wave_label(waves: &[usize]) -> String {
    waves
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `on 0.0s, off 3.6s`, or what the server was throughout.
fn maintenance_text(server: &ServerHistory, origin: u64) -> String {
    if server.maintenance.is_empty() {
        return if server.maintain_status {
            "in maintenance throughout".to_owned()
        } else {
            "-".to_owned()
        };
    }
    let mut parts: Vec<String> = Vec::new();
    if in_maintenance_at_start(server) {
        parts.push("on before".to_owned());
    }
    parts.extend(server.maintenance.iter().map(|change| {
        format!(
            "{} {}",
            if change.maintain_status { "on" } else { "off" },
            seconds(change.at_ms, origin)
        )
    }));
    parts.join(", ")
}

fn push_totals(out: &mut String, report: &FleetReport, waves: usize) {
    let _ = writeln!(
        out,
        "waves: {waves} · reboots: {} · most servers unavailable at once: {}",
        report.reboots, report.max_unavailable
    );
    let _ = writeln!(
        out,
        "sessions killed: {} · logged off after a message: {} (messages: {}) · ended by themselves: {} · open now: {}",
        report.sessions_killed,
        report.sessions_logged_off,
        report.logoff_messages,
        report.sessions_ended,
        report.sessions_open
    );
}

/// `requests by API: batch-reboot 3 · list-servers 12 (429: 2) · …` (names in order), or
/// `requests by API: none`, ending with a newline.
pub fn requests_by_api(counters: &RequestCounters) -> String {
    let parts: Vec<String> = counters
        .requests_by_api
        .iter()
        .map(
            |(api, requests)| match counters.throttled_by_api.get(api).copied() {
                Some(throttled) if throttled > 0 => format!("{api} {requests} (429: {throttled})"),
                _ => format!("{api} {requests}"),
            },
        )
        .collect();
    if parts.is_empty() {
        "requests by API: none\n".to_owned()
    } else {
        format!("requests by API: {}\n", parts.join(" · "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::simulator::sessions::{LogoffMessage, MaintenanceChange, RebootEvent};
    use crate::workspace::wire::RebootType;

    fn change(on: bool, at_ms: u64) -> MaintenanceChange {
        MaintenanceChange {
            maintain_status: on,
            at: String::new(),
            at_ms,
        }
    }

    fn reboot(accepted: u64, back: Option<u64>, killed: u64) -> RebootEvent {
        RebootEvent {
            reboot_type: RebootType::Soft,
            accepted_at: String::new(),
            accepted_at_ms: accepted,
            maintain_status: true,
            sessions_open: 0,
            sessions_killed: killed,
            available_again_at: None,
            available_again_at_ms: back,
            ended_in_error: false,
        }
    }

    fn message(at_ms: u64) -> LogoffMessage {
        LogoffMessage {
            session_id: "session-1".into(),
            login_user: "user1".into(),
            message_type: 1,
            title: Some("t".into()),
            message: None,
            delay_time: 1,
            at: String::new(),
            at_ms,
        }
    }

    fn server(id: &str) -> ServerHistory {
        ServerHistory {
            id: id.into(),
            ..ServerHistory::default()
        }
    }

    /// Two waves of two, a server in maintenance throughout and one never touched.
    fn report() -> FleetReport {
        let mut a = server("srv-0001");
        a.maintenance = vec![change(true, 1_000), change(false, 3_000)];
        a.logoff_messages = vec![message(1_500)];
        a.reboots = vec![reboot(2_000, Some(2_900), 0)];
        let mut b = server("srv-0002");
        b.maintenance = vec![change(true, 1_000), change(false, 3_000)];
        b.reboots = vec![reboot(2_000, Some(2_800), 0)];
        let mut c = server("srv-0003");
        c.maintenance = vec![change(true, 3_100), change(false, 5_000)];
        c.reboots = vec![reboot(3_200, Some(4_900), 1)];
        let mut d = server("srv-0004");
        d.maintain_status = true;
        d.reboots = vec![reboot(3_200, Some(4_000), 0)];
        let e = server("srv-0005");
        FleetReport {
            max_unavailable: 2,
            reboots: 4,
            sessions_killed: 1,
            servers: vec![e, d, c, b, a],
            ..FleetReport::default()
        }
    }

    fn row<'a>(text: &'a str, id: &str) -> &'a str {
        let timeline = text.split("\n\n").next().unwrap_or_default();
        timeline
            .lines()
            .find(|line| line.contains(id))
            .unwrap_or_else(|| panic!("no row for {id} in\n{text}"))
    }

    #[test]
    fn overlapping_reboots_are_one_wave_and_the_next_starts_when_all_are_back() {
        let waves = waves(&report());
        // Servers in report order: e, d, c, b, a.
        assert_eq!(waves.get(&(4, 0)), Some(&1));
        assert_eq!(waves.get(&(3, 0)), Some(&1));
        assert_eq!(waves.get(&(2, 0)), Some(&2));
        assert_eq!(waves.get(&(1, 0)), Some(&2));
        assert_eq!(waves.get(&(0, 0)), None);
    }

    #[test]
    fn rows_show_maintenance_logoff_and_reboot_in_order() {
        let text = render(&report(), 60);
        // 4 s of events at 0.1 s a column.
        assert!(text.contains("one column = 0.10 s"), "{text}");
        let a = row(&text, "srv-0001");
        let cells = a.rsplit(' ').next().unwrap_or_default();
        let m = cells.find('m').unwrap_or(usize::MAX);
        let bang = cells.find('!').unwrap_or(usize::MAX);
        let r = cells.find('R').unwrap_or(usize::MAX);
        assert!(m < bang && bang < r, "{cells}");
        // Out of maintenance after the reboot: serving at the end.
        assert!(cells.ends_with('.'), "{cells}");
        // In maintenance throughout: 'm' from the first column.
        let d = row(&text, "srv-0004");
        assert!(
            d.rsplit(' ').next().unwrap_or_default().starts_with('m'),
            "{d}"
        );
        // Never touched: all dots, and listed last.
        let e = row(&text, "srv-0005");
        assert!(e
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .chars()
            .all(|c| c == '.'));
        let positions: Vec<usize> = ["srv-0001", "srv-0002", "srv-0003", "srv-0004", "srv-0005"]
            .iter()
            .map(|id| text.find(&format!("  {id}  ")).unwrap_or(usize::MAX))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.contains("waves: 2"), "{text}");
        assert!(text.contains("sessions killed: 1"), "{text}");
        assert!(text.contains("in maintenance throughout"), "{text}");
        assert!(text.contains("on 0.0s, off 2.0s"), "{text}");
    }

    #[test]
    fn requests_by_api_are_listed_in_name_order_with_their_429s() {
        let mut counters = RequestCounters::default();
        assert_eq!(requests_by_api(&counters), "requests by API: none\n");
        counters.requests_by_api = BTreeMap::from([
            ("list-servers".to_owned(), 12),
            ("batch-reboot".to_owned(), 3),
        ]);
        counters.throttled_by_api = BTreeMap::from([
            ("list-servers".to_owned(), 2),
            ("batch-reboot".to_owned(), 0),
        ]);
        assert_eq!(
            requests_by_api(&counters),
            "requests by API: batch-reboot 3 · list-servers 12 (429: 2)\n"
        );
    }

    #[test]
    fn an_empty_report_says_so() {
        let text = render(&FleetReport::default(), 60);
        assert!(text.contains("nothing happened yet"), "{text}");
        assert!(text.contains("sessions killed: 0"), "{text}");
    }
}
