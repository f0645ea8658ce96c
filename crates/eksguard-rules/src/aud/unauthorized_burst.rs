use std::collections::{HashMap, VecDeque};

use eksguard_model::audit::AuditEvent;
use eksguard_model::{FieldPath, ParamKind, ParamMeta};

use crate::{declare_rule, EventCtx, EventSink, EventWindow, Rule};

declare_rule! {
    /// ## What it checks
    /// Responses 401 (not authenticated) and 403 (forbidden) to finished requests,
    /// counted per user name and per source IP (the last, trustworthy one) over a sliding
    /// window. When one of them reaches `threshold` responses within `window_seconds`
    /// (default 20 in 5 minutes), the event that crossed the line is reported; the same
    /// user or IP is reported again only after a further window. This is the CloudWatch
    /// metric filter and alarm on 401/403 responses that the EKS Best Practices Guide
    /// recommends, run offline.
    ///
    /// The window follows the events' own timestamps and expects them roughly in time
    /// order, as CloudWatch delivers each log stream; events without a timestamp are not
    /// counted. State is bounded: at most `threshold` timestamps per user or IP, and
    /// users and IPs not seen for a window are forgotten once many are tracked.
    ///
    /// ## Why it matters
    /// A burst of refusals is someone enumerating what a stolen credential can do, or
    /// guessing tokens; a single refusal is noise, a burst is a signal.
    ///
    /// ## Example
    /// Twenty events like this one from the same user within five minutes:
    /// ```json
    /// {"kind":"Event","verb":"list","user":{"username":"system:serviceaccount:web:default"},
    ///  "objectRef":{"resource":"secrets"},"responseStatus":{"code":403}}
    /// ```
    ///
    /// ## Fix
    /// Find the client behind the user or IP; revoke the credential if the requests were
    /// not expected.
    pub UnauthorizedBurst {
        id: "AUD020",
        name: "unauthorized-burst",
        severity: High,
        sources: "A",
        kinds: &[],
        summary: "A burst of 401/403 responses from one user or source IP",
        remediation: "Find the client behind the user or source IP and revoke its credential if the requests were not expected.",
        params: [
            ParamMeta {
                name: "threshold",
                kind: ParamKind::Integer,
                default: "20",
                doc: "Responses 401/403 within the window that make a burst.",
            },
            ParamMeta {
                name: "window_seconds",
                kind: ParamKind::Integer,
                default: "300",
                doc: "Length of the sliding window, in seconds.",
            },
        ],
    }
}

/// Users and IPs tracked before stale ones are swept out.
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
struct Track {
    /// Times of the most recent refusals, at most `threshold` of them.
    times: VecDeque<i64>,
    /// Until when a reported burst stays quiet.
    quiet_until: i64,
}

struct Burst {
    threshold: usize,
    window: i64,
    keys: HashMap<(bool, String), Track>,
}

impl Burst {
    fn sweep(&mut self, now: i64) {
        let horizon = now - self.window;
        self.keys
            .retain(|_, t| t.times.back().is_some_and(|l| *l >= horizon) || t.quiet_until > now);
    }

    /// Counts a refusal at `now`; true when it completes a burst.
    fn count(&mut self, ip: bool, key: &str, now: i64) -> bool {
        if self.keys.len() >= MAX_KEYS && !self.keys.contains_key(&(ip, key.to_string())) {
            self.sweep(now);
        }
        let (threshold, window) = (self.threshold, self.window);
        let t = self.keys.entry((ip, key.to_string())).or_default();
        while t.times.front().is_some_and(|f| *f < now - window) {
            t.times.pop_front();
        }
        t.times.push_back(now);
        if t.times.len() > threshold {
            t.times.pop_front();
        }
        if t.times.len() >= threshold && now >= t.quiet_until {
            t.quiet_until = now + window;
            t.times.clear();
            return true;
        }
        false
    }
}

impl EventWindow for Burst {
    fn observe(&mut self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        if !ev.is_complete() || !matches!(ev.code(), Some(401 | 403)) {
            return;
        }
        let Some(now) = ev.time_micros() else {
            return;
        };
        let minutes = self.window / 60_000_000;
        let span = if minutes > 0 && self.window % 60_000_000 == 0 {
            format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
        } else {
            format!("{} seconds", self.window / 1_000_000)
        };
        let user = ev.username();
        if !user.is_empty() && self.count(false, user, now) {
            out.report(
                FieldPath::parse("user.username"),
                format!(
                    "`{user}` received {} responses 401/403 within {span}",
                    self.threshold
                ),
            );
        }
        if let Some(ip) = ev.source_ip() {
            if self.count(true, ip, now) {
                out.report(
                    FieldPath::parse("sourceIPs"),
                    format!(
                        "source IP {ip} received {} responses 401/403 within {span}",
                        self.threshold
                    ),
                );
            }
        }
    }
}

impl Rule for UnauthorizedBurst {
    fn event_window(&self, cx: &EventCtx<'_>) -> Option<Box<dyn EventWindow>> {
        let threshold = cx.param_i64(&Self::META, "threshold").unwrap_or(20).max(1) as usize;
        let secs = cx
            .param_i64(&Self::META, "window_seconds")
            .unwrap_or(300)
            .max(1);
        Some(Box::new(Burst {
            threshold,
            window: secs.saturating_mul(1_000_000),
            keys: HashMap::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    fn denied(user: &str, ip: &str, second: u32) -> String {
        event(user, "list", r#""resource":"secrets""#, 403, "")
            .replace("192.0.2.10", ip)
            .replace(
                "2024-05-01T12:00:00.000000Z",
                &format!(
                    "2024-05-01T12:{:02}:{:02}.000000Z",
                    second / 60,
                    second % 60
                ),
            )
    }

    #[test]
    fn fires_once_per_burst_per_user_and_ip() {
        // 20 refusals for mallory from two IPs within 5 minutes (10 s apart): the user
        // crosses the threshold at the 20th, neither IP does.
        let mut lines: Vec<String> = (0..20)
            .map(|i| {
                denied(
                    "mallory",
                    if i % 2 == 0 {
                        "198.51.100.1"
                    } else {
                        "198.51.100.2"
                    },
                    i * 10,
                )
            })
            .collect();
        // Five more inside the quiet period: no new report.
        lines.extend((20..25).map(|i| denied("mallory", "198.51.100.3", i * 10)));
        let got = run("AUD020", Default::default(), &lines);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, 20);
        assert_eq!(got[0].1, "user.username");
        assert_eq!(
            got[0].2,
            "`mallory` received 20 responses 401/403 within 5 minutes"
        );
    }

    #[test]
    fn slow_refusals_do_not_add_up() {
        // One refusal a minute: never 20 in 5 minutes.
        let lines: Vec<String> = (0..40)
            .map(|i| denied("alice", "192.0.2.1", i * 60))
            .collect();
        assert!(run("AUD020", Default::default(), &lines).is_empty());
    }

    #[test]
    fn threshold_is_a_parameter() {
        let p = crate::aud::testing::params("AUD020", "threshold", serde_json::json!(3));
        let lines: Vec<String> = (0..3).map(|i| denied("", "203.0.113.7", i)).collect();
        let got = run("AUD020", p, &lines);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].0, got[0].1.as_str()), (3, "sourceIPs"));
    }
}
