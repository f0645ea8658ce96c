//! `audit summary`: who called the API, how, on what and from where, what was denied, and
//! the request rate over time. Counts are kept per distinct key with a cap, so memory
//! follows the number of users and resources, not the length of the log.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use eksguard_model::audit::AuditEvent;
use eksguard_model::date::civil_from_days;
use eksguard_model::{AuditStats, InputError, Severity};
use serde::Serialize;

use crate::escape::{markdown, terminal};

/// Distinct keys counted per table; the rest is counted under `(other)`.
const MAX_KEYS: usize = 50_000;
/// Findings kept to mark on the request rate; the rest are counted only.
const MAX_MARKS: usize = 10_000;

#[derive(Default)]
struct Counter {
    counts: HashMap<String, u64>,
    other: u64,
}

impl Counter {
    fn add(&mut self, key: &str) {
        if let Some(n) = self.counts.get_mut(key) {
            *n += 1;
        } else if self.counts.len() < MAX_KEYS {
            self.counts.insert(key.to_string(), 1);
        } else {
            self.other += 1;
        }
    }

    fn top(&self, n: usize) -> Vec<Entry> {
        let mut v: Vec<(&String, &u64)> = self.counts.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut out: Vec<Entry> = v
            .into_iter()
            .take(n)
            .map(|(k, c)| Entry {
                name: k.clone(),
                count: *c,
            })
            .collect();
        if self.other > 0 {
            out.push(Entry {
                name: "(other)".into(),
                count: self.other,
            });
        }
        out
    }
}

/// Counts over a stream of audit events.
#[derive(Default)]
pub struct AuditSummary {
    events: u64,
    users: Counter,
    service_accounts: Counter,
    verbs: Counter,
    resources: Counter,
    source_ips: Counter,
    /// `user\0reason` of refused requests.
    denied: Counter,
    /// Events per minute since the epoch.
    per_minute: BTreeMap<i64, u64>,
    /// Refused requests per minute.
    denied_per_minute: BTreeMap<i64, u64>,
    /// Findings to mark on the rate, by the time of their event (micros).
    marks: Vec<(i64, Mark)>,
    marks_dropped: u64,
    first: Option<(i64, String)>,
    last: Option<(i64, String)>,
}

impl AuditSummary {
    pub fn observe(&mut self, ev: &AuditEvent<'_>) {
        // One request, one count: the finished stage (or a lone one without stage).
        if !ev.is_complete() {
            return;
        }
        self.events += 1;
        let user = match ev.username() {
            "" => "(unauthenticated)",
            u => u,
        };
        match user.strip_prefix("system:serviceaccount:") {
            Some(sa) => self.service_accounts.add(sa),
            None => self.users.add(user),
        }
        self.verbs.add(ev.verb());
        let resource = match (ev.resource(), ev.subresource()) {
            ("", _) => ev
                .request_uri
                .as_deref()
                .map(|u| u.split('?').next().unwrap_or(u))
                .unwrap_or("(none)"),
            (r, "") => r,
            (r, s) => {
                self.resources.add(&format!("{r}/{s}"));
                ""
            }
        };
        if !resource.is_empty() {
            self.resources.add(resource);
        }
        if let Some(ip) = ev.source_ip() {
            self.source_ips.add(ip);
        }
        if ev.denied() {
            let reason = ev
                .decision_reason()
                .filter(|r| !r.is_empty())
                .or_else(|| {
                    ev.response_status
                        .as_ref()
                        .and_then(|s| s.reason.as_deref())
                        .map(str::to_string)
                })
                .or_else(|| ev.code().map(|c| c.to_string()))
                .unwrap_or_else(|| "forbid".into());
            self.denied.add(&format!("{user}\0{reason}"));
        }
        if let (Some(t), Some(text)) = (ev.time_micros(), ev.time()) {
            *self.per_minute.entry(t.div_euclid(60_000_000)).or_default() += 1;
            if ev.denied() {
                *self
                    .denied_per_minute
                    .entry(t.div_euclid(60_000_000))
                    .or_default() += 1;
            }
            if self.first.as_ref().is_none_or(|(f, _)| t < *f) {
                self.first = Some((t, text.to_string()));
            }
            if self.last.as_ref().is_none_or(|(l, _)| t > *l) {
                self.last = Some((t, text.to_string()));
            }
        }
    }

    /// A finding on the event at `time_micros`, to be marked on the request rate.
    pub fn mark(&mut self, time_micros: i64, mark: Mark) {
        if self.marks.len() < MAX_MARKS {
            self.marks.push((time_micros, mark));
        } else {
            self.marks_dropped += 1;
        }
    }

    /// The summary as data: the `--format json` document and what the renderers show.
    pub fn data(
        &self,
        top: usize,
        files: usize,
        stats: AuditStats,
        errors: &[InputError],
    ) -> SummaryData {
        let minutes = match (self.per_minute.keys().next(), self.per_minute.keys().last()) {
            (Some(a), Some(b)) => b - a + 1,
            _ => 0,
        };
        // The smallest bucket that keeps the table at 48 rows or fewer.
        let bucket_minutes = [1i64, 5, 15, 60, 360, 1440, 10_080]
            .into_iter()
            .find(|b| (minutes + b - 1) / b <= 48)
            .unwrap_or(10_080);
        let bucket_of = |m: i64| m - m.rem_euclid(bucket_minutes);
        let mut buckets: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
        // Every bucket from the first to the last, quiet ones too: the time axis is even.
        if let (Some(a), Some(b)) = (self.per_minute.keys().next(), self.per_minute.keys().last()) {
            let mut m = bucket_of(*a);
            while m <= *b {
                buckets.insert(m, (0, 0));
                m += bucket_minutes;
            }
        }
        for (m, n) in &self.per_minute {
            buckets.entry(bucket_of(*m)).or_default().0 += n;
        }
        for (m, n) in &self.denied_per_minute {
            buckets.entry(bucket_of(*m)).or_default().1 += n;
        }
        let mut marks: Vec<(i64, Mark)> = self
            .marks
            .iter()
            .map(|(t, m)| {
                let mut m = m.clone();
                m.bucket = minute_text(bucket_of(t.div_euclid(60_000_000)));
                (*t, m)
            })
            .collect();
        marks.sort_by_key(|(t, _)| *t);
        SummaryData {
            schema_version: 1,
            events: self.events,
            files,
            first: self.first.as_ref().map(|f| f.1.clone()),
            last: self.last.as_ref().map(|l| l.1.clone()),
            stats,
            users: self.users.top(top),
            service_accounts: self.service_accounts.top(top),
            verbs: self.verbs.top(top),
            resources: self.resources.top(top),
            source_ips: self.source_ips.top(top),
            denied: self
                .denied
                .top(top)
                .into_iter()
                .map(|e| {
                    let (user, reason) = e.name.split_once('\0').unwrap_or((&e.name, ""));
                    Denied {
                        user: user.to_string(),
                        reason: reason.to_string(),
                        count: e.count,
                    }
                })
                .collect(),
            rate: Rate {
                bucket_seconds: bucket_minutes * 60,
                buckets: buckets
                    .into_iter()
                    .map(|(m, (count, denied))| Bucket {
                        start: minute_text(m),
                        count,
                        denied,
                    })
                    .collect(),
            },
            findings: marks.into_iter().map(|(_, m)| m).collect(),
            findings_not_marked: self.marks_dropped,
            errors: errors.to_vec(),
        }
    }
}

/// `2024-05-01T12:05Z` for minutes since the epoch.
fn minute_text(m: i64) -> String {
    let days = m.div_euclid(1440);
    let mins = m.rem_euclid(1440);
    let (y, mo, d) = civil_from_days(days);
    format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}Z", mins / 60, mins % 60)
}

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Denied {
    pub user: String,
    pub reason: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    /// Start of the bucket, UTC.
    pub start: String,
    pub count: u64,
    /// Refused requests among them.
    pub denied: u64,
}

/// A finding marked on the request rate (`audit summary --format html`).
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    /// Start of the rate bucket of its event.
    pub bucket: String,
    /// The event's time as the log wrote it.
    pub time: String,
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
}

impl Mark {
    pub fn new(time: String, rule: &'static str, severity: Severity, message: String) -> Self {
        Mark {
            bucket: String::new(),
            time,
            rule,
            severity,
            message,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    pub bucket_seconds: i64,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryData {
    pub schema_version: u32,
    /// Requests counted (finished stage, duplicates dropped).
    pub events: u64,
    pub files: usize,
    pub first: Option<String>,
    pub last: Option<String>,
    pub stats: AuditStats,
    pub users: Vec<Entry>,
    pub service_accounts: Vec<Entry>,
    pub verbs: Vec<Entry>,
    pub resources: Vec<Entry>,
    pub source_ips: Vec<Entry>,
    pub denied: Vec<Denied>,
    pub rate: Rate,
    /// Findings of the audit rules, when they were run, in time order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Mark>,
    #[serde(skip_serializing_if = "is_zero")]
    pub findings_not_marked: u64,
    pub errors: Vec<InputError>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The first and last event times, as the log wrote them: escaped by `esc` for the output.
fn span(d: &SummaryData, esc: fn(&str) -> String) -> String {
    match (&d.first, &d.last) {
        (Some(a), Some(b)) => format!(", {} to {}", esc(a), esc(b)),
        _ => String::new(),
    }
}

pub(crate) fn bucket_label(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} day", s / 86_400),
        s if s % 3600 == 0 => format!("{} hour", s / 3600),
        s => format!("{} minute", s / 60),
    }
}

/// Where the requests came from and what reading them met.
fn reading(d: &SummaryData, esc: fn(&str) -> String) -> String {
    format!(
        "from {} file{}{}; {} events read, {} duplicate, {} truncated, {} malformed",
        d.files,
        if d.files == 1 { "" } else { "s" },
        span(d, esc),
        d.stats.events_read,
        d.stats.duplicates,
        d.stats.truncated,
        d.stats.malformed
    )
}

/// The top-N tables, titled, in the order every rendering shows them.
pub(crate) fn tops(d: &SummaryData) -> [(&'static str, &Vec<Entry>); 5] {
    [
        ("Users", &d.users),
        ("Service accounts", &d.service_accounts),
        ("Verbs", &d.verbs),
        ("Resources", &d.resources),
        ("Source IPs", &d.source_ips),
    ]
}

pub fn render_text(d: &SummaryData, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} requests {}",
        d.events,
        reading(d, |s| terminal(s).into_owned())
    )?;
    for (title, entries) in tops(d) {
        writeln!(out, "\n{title}")?;
        if entries.is_empty() {
            writeln!(out, "  (none)")?;
        }
        for e in entries {
            writeln!(out, "  {:>8}  {}", e.count, terminal(&e.name))?;
        }
    }
    writeln!(out, "\nDenied requests")?;
    if d.denied.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for e in &d.denied {
        writeln!(
            out,
            "  {:>8}  {}  {}",
            e.count,
            terminal(&e.user),
            terminal(&e.reason)
        )?;
    }
    writeln!(
        out,
        "\nRequests per {}",
        bucket_label(d.rate.bucket_seconds)
    )?;
    let max = d
        .rate
        .buckets
        .iter()
        .map(|b| b.count)
        .max()
        .unwrap_or(0)
        .max(1);
    if d.rate.buckets.is_empty() {
        writeln!(out, "  (no timestamps)")?;
    }
    for b in &d.rate.buckets {
        let bar = "#".repeat(((b.count * 40).div_ceil(max)) as usize);
        writeln!(out, "  {}  {:>8}  {bar}", b.start, b.count)?;
    }
    for e in &d.errors {
        writeln!(out, "error: {}", terminal(&e.to_string()))?;
    }
    Ok(())
}

pub fn render_markdown(d: &SummaryData, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "# Audit log summary\n")?;
    writeln!(out, "**{} requests** {}.", d.events, reading(d, markdown))?;
    for (title, entries) in tops(d) {
        writeln!(out, "\n## {title}\n\n| Requests | Name |\n|---:|---|")?;
        for e in entries {
            writeln!(out, "| {} | {} |", e.count, markdown(&e.name))?;
        }
    }
    writeln!(
        out,
        "\n## Denied requests\n\n| Requests | User | Reason |\n|---:|---|---|"
    )?;
    for e in &d.denied {
        writeln!(
            out,
            "| {} | {} | {} |",
            e.count,
            markdown(&e.user),
            markdown(&e.reason)
        )?;
    }
    writeln!(
        out,
        "\n## Requests per {}\n\n| Start (UTC) | Requests |\n|---|---:|",
        bucket_label(d.rate.bucket_seconds)
    )?;
    for b in &d.rate.buckets {
        writeln!(out, "| {} | {} |", b.start, b.count)?;
    }
    if !d.errors.is_empty() {
        writeln!(out, "\n## Errors\n")?;
        for e in &d.errors {
            writeln!(out, "- {}", markdown(&e.to_string()))?;
        }
    }
    Ok(())
}

/// The summary as one self-contained page (see [`crate::html`]).
pub fn render_html(d: &SummaryData, out: &mut dyn Write) -> std::io::Result<()> {
    crate::html::render_audit_summary(d, &reading(d, |s| s.to_string()), out)
}

pub fn render_json(d: &SummaryData, out: &mut dyn Write) -> std::io::Result<()> {
    crate::write_json(d, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_dates() {
        assert_eq!(minute_text(0), "1970-01-01T00:00Z");
        assert_eq!(minute_text(28_576_085), "2024-05-01T12:05Z");
        let mut s = AuditSummary::default();
        for (i, user) in ["alice", "alice", "system:serviceaccount:a:b"]
            .iter()
            .enumerate()
        {
            let line = format!(
                r#"{{"kind":"Event","stage":"ResponseComplete","verb":"get","user":{{"username":"{user}"}},"objectRef":{{"resource":"pods","subresource":"log"}},"responseStatus":{{"code":403}},"stageTimestamp":"2024-05-01T12:0{i}:00Z"}}"#
            );
            s.observe(&AuditEvent::parse(line.as_bytes()).unwrap());
        }
        let d = s.data(10, 1, AuditStats::default(), &[]);
        assert_eq!(d.events, 3);
        assert_eq!((d.users[0].name.as_str(), d.users[0].count), ("alice", 2));
        assert_eq!(d.service_accounts[0].name, "a:b");
        assert_eq!(d.resources[0].name, "pods/log");
        assert_eq!(d.denied[0].reason, "403");
        assert_eq!(d.rate.bucket_seconds, 60);
        assert_eq!(d.rate.buckets.len(), 3);
    }
}
