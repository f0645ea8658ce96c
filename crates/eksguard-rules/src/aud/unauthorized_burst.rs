use std::collections::{HashMap, VecDeque};

use eksguard_model::audit::AuditEvent;
use eksguard_model::{FieldPath, Severity};
use serde_json::{json, Value as Json};

use crate::{declare_rule, EventCtx, EventSink, EventWindow, WindowRule};

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
    /// The window follows the events' own timestamps; events without a timestamp are not
    /// counted. Events out of time order (log streams merged by CloudWatch) are counted
    /// at their own time: a burst is `threshold` refusals whose times lie within one
    /// window, in whatever order they arrived. A user or IP is forgotten once an event
    /// comes a window after its last refusal (and its quiet period); expiry follows each
    /// event's own time, so one wrong timestamp far in the future costs the counts of the
    /// moment, not those of the rest of the log.
    ///
    /// State is bounded: at most `threshold` timestamps per user or IP, and at most
    /// `max_keys` users and IPs (default 200,000). When more are refused within one window
    /// (a flood of made-up user names or addresses), the least recently refused are
    /// forgotten first and the rule reports this once, as an info finding naming the
    /// bound and the time, so that a burst hidden in the flood is not missed silently.
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
        data: [Audit],
        scope: EventWindow,
        summary: "A burst of 401/403 responses from one user or source IP",
        remediation: "Find the client behind the user or source IP and revoke its credential if the requests were not expected.",
        params: Params,
        guide: &["DC-03", "DC-07"],
    }
}

crate::rule_params! {
    pub struct Params {
        /// Responses 401/403 within the window that make a burst.
        threshold: i64 = 20,
        /// Length of the sliding window, in seconds.
        window_seconds: i64 = 300,
        /// Users and source IPs tracked at most (memory: about 200 bytes each); past it the
        /// least recently refused are forgotten, and the rule says so once with an info
        /// finding.
        max_keys: i64 = 200_000,
    }
}

#[derive(Default)]
struct Track {
    /// Times of the most recent refusals, oldest first, at most `threshold` of them.
    times: VecDeque<i64>,
    /// Until when a reported burst stays quiet.
    quiet_until: i64,
    /// Refused again since queued: spared once when the bound forces keys out.
    touched: bool,
}

impl Track {
    /// After this time the key has nothing left to count or to keep quiet.
    fn stale_after(&self, window: i64) -> i64 {
        self.times
            .back()
            .map_or(i64::MIN, |t| t.saturating_add(window))
            .max(self.quiet_until)
    }
}

/// User names (`false`) and source IPs (`true`).
type Key = (bool, String);

struct Burst {
    threshold: usize,
    window: i64,
    max_keys: usize,
    keys: HashMap<Key, Track>,
    /// Every tracked key once, roughly in the order they were last refused: keys expire
    /// from the front, so each event costs amortised constant time.
    queue: VecDeque<(i64, Key)>,
    /// The bound on tracked keys has been reported.
    bound_reported: bool,
}

impl Burst {
    /// Forgets the keys with nothing left in the window. A front entry whose key was
    /// refused again since it was queued goes to the back with its newer time; each such
    /// move follows a refusal, so the work stays proportional to the events.
    fn expire(&mut self, now: i64) {
        while let Some((queued, _)) = self.queue.front() {
            if queued.saturating_add(self.window) >= now {
                break;
            }
            let Some((_, key)) = self.queue.pop_front() else {
                break;
            };
            let window = self.window;
            match self.keys.get_mut(&key) {
                Some(t) if t.stale_after(window) >= now => {
                    t.touched = false;
                    let last = t.stale_after(window).saturating_sub(window);
                    self.queue.push_back((last, key));
                }
                _ => {
                    self.keys.remove(&key);
                }
            }
        }
    }

    /// Counts a refusal at `now`; true when it completes a burst. `evicted` is set when a
    /// key still in its window had to be forgotten to stay within the bound.
    fn count(&mut self, key: Key, now: i64, evicted: &mut bool) -> bool {
        let (threshold, window) = (self.threshold, self.window);
        if let Some(t) = self.keys.get_mut(&key) {
            t.touched = true;
        } else {
            // At the bound, the keys refused only once since queued go first; the others
            // are spared once and queued again (each spared key was refused since: the
            // work stays proportional to the events).
            while self.keys.len() >= self.max_keys {
                let Some((queued, old)) = self.queue.pop_front() else {
                    break;
                };
                match self.keys.get_mut(&old) {
                    Some(t) if t.touched => {
                        t.touched = false;
                        let last = t.times.back().copied().unwrap_or(queued).max(queued);
                        self.queue.push_back((last, old));
                    }
                    _ => {
                        self.keys.remove(&old);
                        *evicted = true;
                    }
                }
            }
            self.queue.push_back((now, key.clone()));
        }
        let t = self.keys.entry(key).or_default();
        // Kept in time order even when events arrive out of order; only the latest
        // `threshold` refusals matter.
        let at = t.times.partition_point(|x| *x <= now);
        t.times.insert(at, now);
        if t.times.len() > threshold {
            t.times.pop_front();
        }
        let span = t.times.back().unwrap_or(&now) - t.times.front().unwrap_or(&now);
        if t.times.len() >= threshold && span <= window && now >= t.quiet_until {
            t.quiet_until = now.saturating_add(window);
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
        self.expire(now);
        let minutes = self.window / 60_000_000;
        let span = if minutes > 0 && self.window % 60_000_000 == 0 {
            format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
        } else {
            format!("{} seconds", self.window / 1_000_000)
        };
        let mut evicted = false;
        let user = ev.username();
        if !user.is_empty() && self.count((false, user.to_string()), now, &mut evicted) {
            out.report(
                FieldPath::parse("user.username"),
                format!(
                    "`{user}` received {} responses 401/403 within {span}",
                    self.threshold
                ),
            );
        }
        if let Some(ip) = ev.source_ip() {
            if self.count((true, ip.to_string()), now, &mut evicted) {
                out.report(
                    FieldPath::parse("sourceIPs"),
                    format!(
                        "source IP {ip} received {} responses 401/403 within {span}",
                        self.threshold
                    ),
                );
            }
        }
        if evicted && !self.bound_reported {
            self.bound_reported = true;
            out.report_with(
                FieldPath::parse("sourceIPs"),
                Severity::Info,
                format!(
                    "more than {} users and source IPs were refused within {span} by {}: \
                     from here on the least recently refused are forgotten first, and a \
                     burst spread over more keys than that can go unreported (parameter \
                     `max_keys`)",
                    self.max_keys,
                    ev.time().unwrap_or_default()
                ),
            );
        }
    }

    /// `keys`: `[is_ip, name, [times], quiet_until, touched]` each; `queue`: `[time,
    /// is_ip, name]` in queue order.
    fn save(&self) -> Json {
        let mut keys: Vec<Json> = self
            .keys
            .iter()
            .map(|((ip, name), t)| {
                json!([
                    ip,
                    name,
                    t.times.iter().collect::<Vec<_>>(),
                    t.quiet_until,
                    t.touched
                ])
            })
            .collect();
        // Map order varies from run to run; a checkpoint should not.
        keys.sort_by(|a, b| (a[0].as_bool(), a[1].as_str()).cmp(&(b[0].as_bool(), b[1].as_str())));
        let queue: Vec<Json> = self
            .queue
            .iter()
            .map(|(at, (ip, name))| json!([at, ip, name]))
            .collect();
        json!({"keys": keys, "queue": queue, "bound_reported": self.bound_reported})
    }

    fn restore(&mut self, state: &Json) -> Result<(), String> {
        fn key(ip: &Json, name: &Json) -> Option<Key> {
            Some((ip.as_bool()?, name.as_str()?.to_string()))
        }
        self.keys.clear();
        self.queue.clear();
        for k in state["keys"].as_array().ok_or("no `keys` list")? {
            let bad = || format!("not a tracked key: {k}");
            let parts = k.as_array().ok_or_else(bad)?;
            let [ip, name, times, quiet, touched] = parts.as_slice() else {
                return Err(bad());
            };
            let mut times: VecDeque<i64> = times
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|t| t.as_i64().ok_or_else(bad))
                .collect::<Result<_, _>>()?;
            // Under a lower threshold only the latest count.
            while times.len() > self.threshold {
                times.pop_front();
            }
            let track = Track {
                times,
                quiet_until: quiet.as_i64().ok_or_else(bad)?,
                touched: touched.as_bool().ok_or_else(bad)?,
            };
            self.keys.insert(key(ip, name).ok_or_else(bad)?, track);
        }
        for q in state["queue"].as_array().ok_or("no `queue` list")? {
            let bad = || format!("not a queue entry: {q}");
            let [at, ip, name] = q.as_array().ok_or_else(bad)?.as_slice() else {
                return Err(bad());
            };
            let k = key(ip, name).ok_or_else(bad)?;
            if self.keys.contains_key(&k) {
                self.queue.push_back((at.as_i64().ok_or_else(bad)?, k));
            }
        }
        self.bound_reported = state["bound_reported"].as_bool().unwrap_or(false);
        Ok(())
    }
}

impl WindowRule for UnauthorizedBurst {
    fn event_window(&self, cx: &EventCtx<'_>) -> Option<Box<dyn EventWindow>> {
        let params = cx.params::<Params>(&Self::META);
        let threshold = params.threshold.max(1) as usize;
        let secs = params.window_seconds.max(1);
        let max_keys = params.max_keys.max(1) as usize;
        Some(Box::new(Burst {
            threshold,
            window: secs.saturating_mul(1_000_000),
            max_keys,
            keys: HashMap::new(),
            queue: VecDeque::new(),
            bound_reported: false,
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

    /// A refusal by `user` from `ip`, `micros` after 12:00, compact: floods are long.
    fn refused(user: &str, ip: &str, micros: u64) -> String {
        let (secs, frac) = (micros / 1_000_000, micros % 1_000_000);
        format!(
            r#"{{"kind":"Event","stage":"ResponseComplete","verb":"get","user":{{"username":"{user}"}},"sourceIPs":["{ip}"],"responseStatus":{{"code":401}},"stageTimestamp":"2024-05-01T12:{:02}:{:02}.{frac:06}Z"}}"#,
            secs / 60,
            secs % 60
        )
    }

    fn flood_ip(i: u32) -> String {
        format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255)
    }

    #[test]
    fn a_flood_of_distinct_users_and_ips_stays_linear() {
        // 200,000 refusals within 200 s, each from a new user and IP: 400,000 keys in one
        // window. Sweeping every key on every new one took minutes here; expiring in time
        // order and bounding the keys takes a moment. Past the default bound of 200,000
        // keys (at the 100,001st event) the rule says so, once. The events are built
        // rather than parsed, so that the window's own cost is what this measures.
        use eksguard_model::audit::{ResponseStatus, Str, UserInfo};
        use std::borrow::Cow;

        use crate::{Described, EventCtx, EventSink, WindowRule};

        let params = crate::Params::default();
        let parsed = crate::params::ParamCache::default();
        let cx = EventCtx::new(&params, &parsed);
        let rule = super::UnauthorizedBurst;
        let mut window = rule.event_window(&cx).unwrap();
        let mut got = Vec::new();
        for i in 0..200_000u32 {
            let ms = u64::from(i);
            let ev = eksguard_model::audit::AuditEvent {
                stage: Some(Str(Cow::Borrowed("ResponseComplete"))),
                user: UserInfo {
                    username: Some(Str(Cow::Owned(format!("u{i}")))),
                    ..UserInfo::default()
                },
                source_ips: vec![Str(Cow::Owned(flood_ip(i)))],
                response_status: Some(ResponseStatus {
                    code: Some(401),
                    ..ResponseStatus::default()
                }),
                stage_timestamp: Some(Str(Cow::Owned(format!(
                    "2024-05-01T12:{:02}:{:02}.{:06}Z",
                    ms / 60_000,
                    ms / 1000 % 60,
                    ms % 1000 * 1000
                )))),
                ..Default::default()
            };
            let mut sink = EventSink::new(rule.meta());
            window.observe(&cx, &ev, &mut sink);
            got.extend(sink.into_hits().into_iter().map(|h| (i + 1, h)));
        }
        assert_eq!(got.len(), 1, "{:?}", &got[..got.len().min(3)]);
        let (line, hit) = &got[0];
        assert_eq!(
            (*line, hit.path.to_string().as_str()),
            (100_001, "sourceIPs")
        );
        assert_eq!(hit.severity, eksguard_model::Severity::Info);
        assert!(
            hit.message.starts_with(
                "more than 200000 users and source IPs were refused within 5 minutes by 2024-05-01T12:01:40.000000Z"
            ),
            "{}",
            hit.message
        );
    }

    #[test]
    fn a_burst_inside_a_flood_is_still_found_and_the_bound_reported_once() {
        // A bound of 50 keys, a flood of 1,000 one-off users and IPs, and mallory refused
        // on every tenth event: the flood pushes the one-off keys out, not mallory's.
        let p = crate::aud::testing::params("AUD020", "max_keys", serde_json::json!(50));
        let lines: Vec<String> = (0..1000u32)
            .map(|i| {
                let t = u64::from(i) * 100_000;
                if i % 10 == 9 {
                    refused("mallory", "198.51.100.7", t)
                } else {
                    refused(&format!("u{i}"), &flood_ip(i), t)
                }
            })
            .collect();
        let got = run("AUD020", p, &lines);
        let info: Vec<_> = got
            .iter()
            .filter(|g| g.2.starts_with("more than 50 "))
            .collect();
        assert_eq!(info.len(), 1, "{got:?}");
        // The bound fills on the 26th event (mallory's two keys among them); the 27th
        // brings a key too many.
        assert_eq!(info[0].0, 27);
        let bursts: Vec<_> = got
            .iter()
            .filter(|g| !g.2.starts_with("more than"))
            .map(|g| (g.0, g.1.as_str(), g.2.as_str()))
            .collect();
        assert_eq!(
            bursts,
            [
                (
                    200,
                    "user.username",
                    "`mallory` received 20 responses 401/403 within 5 minutes"
                ),
                (
                    200,
                    "sourceIPs",
                    "source IP 198.51.100.7 received 20 responses 401/403 within 5 minutes"
                ),
            ]
        );
    }

    #[test]
    fn out_of_order_events_count_at_their_own_time() {
        // Twenty refusals 30 s apart span 9.5 minutes whatever order they come in: no burst.
        let spread: Vec<String> = (0..20u64)
            .rev()
            .map(|i| refused("eve", "192.0.2.5", i * 30_000_000))
            .collect();
        assert!(run("AUD020", Default::default(), &spread).is_empty());
        // Ten seconds apart, backwards: twenty within 5 minutes, reported at the last.
        let close: Vec<String> = (0..20u64)
            .rev()
            .map(|i| refused("eve", "192.0.2.5", i * 10_000_000))
            .collect();
        let got = run("AUD020", Default::default(), &close);
        let at: Vec<_> = got.iter().map(|g| (g.0, g.1.as_str())).collect();
        assert_eq!(at, [(20, "user.username"), (20, "sourceIPs")]);
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
