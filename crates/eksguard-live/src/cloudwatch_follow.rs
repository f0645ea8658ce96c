//! Following the audit streams of a CloudWatch Logs group: each [`Follower::poll`] lists
//! the group's audit streams (`DescribeLogStreams`), then reads the new events of those
//! that received any (`FilterLogEvents` over up to 100 streams per call, in time order).
//!
//! Each stream has its own [`StreamPosition`]: the newest event time judged, the number of
//! events judged (the "line" a finding points at) and the events of the look-back window
//! already judged. A poll asks for events from `look_back` before the newest one judged,
//! so an event that CloudWatch ingests late with an older time is still read; events
//! judged already are recognised by a hash of their time and message and skipped. The
//! look-back only has to cover disorder within one stream (one API server writes it), not
//! a stream that is late as a whole: each stream keeps its own position.
//!
//! Positions are plain data ([`Positions`]): the caller saves them with its checkpoint
//! after the findings of a poll are written, and gives them back on restart.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::aws_api::Logs;
use crate::aws_live::{sdk_config, LiveError};
use crate::aws_request::AwsError;
use crate::cloudwatch_live::{LogEvent, AUDIT_STREAM_PREFIX};
use eksguard_model::hash::{fnv1a, FNV_OFFSET};

/// `FilterLogEvents` takes at most this many stream names.
const STREAMS_PER_CALL: usize = 100;

/// Streams that received events this recently are read on every poll.
const RECENT_MS: i64 = 30_000;

/// Judged events remembered across all streams for the look-back; past it the oldest are
/// forgotten and their stream's look-back no longer reaches back to them.
pub const MAX_REMEMBERED: usize = 200_000;

#[derive(Debug, Clone)]
pub struct FollowOptions {
    pub log_group: String,
    /// Only streams whose names start with this (none: every stream of the group).
    pub stream_prefix: Option<String>,
    /// Where a stream met for the first time is read from (milliseconds since the epoch);
    /// none: from its first event.
    pub start_ms: Option<i64>,
    /// How far before the newest event judged each poll reads again.
    pub look_back: Duration,
    /// New events taken in one poll at most; the rest wait for the next poll.
    pub max_events_per_poll: usize,
    /// Events per call (the service's maximum when unset).
    pub page_size: Option<i32>,
    /// Attempts of one call, throttling and server errors included, before the poll fails.
    pub max_attempts: u32,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

impl FollowOptions {
    pub fn new(log_group: impl Into<String>) -> Self {
        FollowOptions {
            log_group: log_group.into(),
            stream_prefix: Some(AUDIT_STREAM_PREFIX.to_string()),
            start_ms: None,
            look_back: Duration::from_secs(120),
            max_events_per_poll: 50_000,
            page_size: None,
            max_attempts: 6,
            region: None,
            profile: None,
            endpoint_url: None,
        }
    }
}

/// Where the follower is in every stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Positions {
    pub streams: BTreeMap<String, StreamPosition>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPosition {
    /// Time of the newest event judged (milliseconds since the epoch).
    pub last_timestamp_ms: Option<i64>,
    /// CloudWatch's ID of the last event judged.
    pub last_event_id: Option<String>,
    /// Events judged so far: the number of the last one.
    pub events: u32,
    /// Ingestion time of the newest event judged.
    pub last_ingestion_ms: Option<i64>,
    /// The stream's last ingestion time as listed when it was last read completely: no
    /// call is made for a stream that has received nothing since.
    pub listed_ingestion_ms: Option<i64>,
    /// Events at or before this time were forgotten at the bound and are not read again.
    pub floor_ms: Option<i64>,
    /// `[time, hash of time and message]` of the events judged within the look-back.
    pub seen: Vec<(i64, u64)>,
}

impl StreamPosition {
    /// The time this stream is read from.
    fn read_from(&self, look_back_ms: i64, start_ms: Option<i64>) -> Option<i64> {
        let from = match self.last_timestamp_ms {
            Some(t) => Some(t.saturating_sub(look_back_ms)),
            None => start_ms,
        };
        match (from, self.floor_ms) {
            (Some(f), Some(floor)) => Some(f.max(floor.saturating_add(1))),
            (None, Some(floor)) => Some(floor.saturating_add(1)),
            (f, None) => f,
        }
    }
}

/// One new event of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedEvent {
    pub stream: String,
    /// Its number in the stream, from 1, in the order judged.
    pub number: u32,
    pub timestamp_ms: i64,
    pub ingestion_ms: Option<i64>,
    pub message: String,
}

/// What one poll found.
#[derive(Debug, Default)]
pub struct PollOutcome {
    /// New events, in the service's order (time order across the streams read).
    pub events: Vec<FollowedEvent>,
    /// Streams that were followed and are gone from the group.
    pub deleted: Vec<String>,
    /// Streams seen for the first time.
    pub new_streams: Vec<String>,
    /// Calls that failed after the SDK's retries; the positions stay where they were for
    /// the streams concerned.
    pub errors: Vec<CallError>,
    /// Stopped at the event bound: the next poll should start at once.
    pub more: bool,
    /// Events read again within the look-back and skipped as judged already.
    pub repeats: u64,
    /// Streams of the group followed after this poll.
    pub streams: usize,
    /// How far the newest event judged is behind the newest event ingested, over the
    /// streams (milliseconds, by ingestion time).
    pub lag_ms: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("logs:{call} on {group}: {message}")]
pub struct CallError {
    pub call: &'static str,
    pub group: String,
    pub message: String,
    /// The group itself does not exist (or is not visible with these credentials).
    pub not_found: bool,
}

/// A stream as listed.
struct Listed {
    name: String,
    ingestion_ms: Option<i64>,
}

pub struct Follower {
    client: Logs,
    opts: FollowOptions,
    positions: Positions,
}

impl Follower {
    /// A client on the default credential chain (refreshed as credentials expire: IRSA,
    /// Pod Identity, instance roles) with retries (exponential backoff with jitter on
    /// throttling, 5xx and timeouts) and more attempts than a scan makes, since a
    /// follower would rather wait than skip a poll.
    pub async fn connect(opts: FollowOptions, positions: Positions) -> Result<Self, LiveError> {
        let conf = sdk_config(
            opts.region.as_deref(),
            opts.profile.as_deref(),
            opts.endpoint_url.as_deref(),
        )
        .await?;
        Ok(Follower {
            client: Logs::new(&conf).with_attempts(opts.max_attempts),
            opts,
            positions,
        })
    }

    pub fn positions(&self) -> &Positions {
        &self.positions
    }

    fn call_error(&self, call: &'static str, e: AwsError) -> CallError {
        CallError {
            call,
            group: self.opts.log_group.clone(),
            not_found: e.code.as_deref() == Some("ResourceNotFoundException"),
            message: e.to_string(),
        }
    }

    /// The group's streams (with the prefix), every page.
    async fn list(&self) -> Result<Vec<Listed>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({ "logGroupName": self.opts.log_group });
            if let Some(p) = self.opts.stream_prefix.as_deref().filter(|p| !p.is_empty()) {
                body["logStreamNamePrefix"] = json!(p);
            }
            if let Some(t) = token.take() {
                body["nextToken"] = json!(t);
            }
            let page = self
                .client
                .call("DescribeLogStreams", &body)
                .await
                .map_err(|e| self.call_error("DescribeLogStreams", e))?;
            let prefix = self.opts.stream_prefix.as_deref().unwrap_or("");
            for s in page
                .get("logStreams")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                let Some(name) = s
                    .get("logStreamName")
                    .and_then(Json::as_str)
                    .filter(|n| n.starts_with(prefix))
                else {
                    continue;
                };
                let time = |k: &str| s.get(k).and_then(Json::as_i64);
                out.push(Listed {
                    name: name.to_string(),
                    ingestion_ms: time("lastIngestionTime").or(time("lastEventTimestamp")),
                });
            }
            match page
                .get("nextToken")
                .and_then(Json::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
            {
                // Some servers hand back the token they were given on the last page.
                Some(t) if out.len() < 1_000_000 => token = Some(t),
                _ => return Ok(out),
            }
        }
    }

    /// Reads what is new. Positions move only past the events returned.
    pub async fn poll(&mut self) -> PollOutcome {
        let mut outcome = PollOutcome::default();
        let listed = match self.list().await {
            Ok(l) => l,
            Err(e) => {
                outcome.errors.push(e);
                outcome.streams = self.positions.streams.len();
                return outcome;
            }
        };
        let names: HashSet<&str> = listed.iter().map(|l| l.name.as_str()).collect();
        let gone: Vec<String> = self
            .positions
            .streams
            .keys()
            .filter(|s| !names.contains(s.as_str()))
            .cloned()
            .collect();
        for s in gone {
            self.positions.streams.remove(&s);
            outcome.deleted.push(s);
        }
        // Streams that received events since they were last read completely, whose
        // ingestion time is not listed, or that received events lately: the listed time
        // is only as fine as a millisecond, and may be updated after the events show.
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let active: Vec<&Listed> = listed
            .iter()
            .filter(
                |l| match (self.positions.streams.get(&l.name), l.ingestion_ms) {
                    (None, i) => i.is_some(),
                    (Some(_), None) => true,
                    (Some(p), Some(i)) => {
                        p.listed_ingestion_ms != Some(i) || i >= now_ms - RECENT_MS
                    }
                },
            )
            .collect();
        for l in &active {
            if !self.positions.streams.contains_key(&l.name) {
                outcome.new_streams.push(l.name.clone());
            }
        }
        let look_back_ms = i64::try_from(self.opts.look_back.as_millis()).unwrap_or(i64::MAX);
        // Streams read from their first event go in calls of their own: one call starts
        // at the earliest point of its streams, and the others' history is not wanted.
        let (fresh, known): (Vec<&Listed>, Vec<&Listed>) = active.into_iter().partition(|l| {
            self.positions
                .streams
                .get(&l.name)
                .and_then(|p| p.read_from(look_back_ms, self.opts.start_ms))
                .or(self.opts.start_ms)
                .is_none()
        });
        let chunks = known
            .chunks(STREAMS_PER_CALL)
            .chain(fresh.chunks(STREAMS_PER_CALL));
        for chunk in chunks {
            if outcome.more {
                break;
            }
            match self.read(chunk, look_back_ms, &mut outcome).await {
                Ok(complete) => {
                    if complete {
                        for l in chunk {
                            if let Some(p) = self.positions.streams.get_mut(&l.name) {
                                p.listed_ingestion_ms = l.ingestion_ms;
                            }
                        }
                    }
                }
                Err(e) => outcome.errors.push(e),
            }
        }
        // Judged in time order across the streams, as one read of the whole group would
        // hand them over (each call's events are in time order already).
        outcome.events.sort_by_key(|e| e.timestamp_ms);
        self.forget(look_back_ms);
        outcome.streams = self.positions.streams.len();
        outcome.lag_ms = listed
            .iter()
            .filter_map(|l| {
                let head = l.ingestion_ms?;
                let at = self.positions.streams.get(&l.name)?.last_ingestion_ms?;
                Some(head.saturating_sub(at).max(0))
            })
            .max()
            .unwrap_or(0);
        outcome
    }

    /// Reads the new events of `streams`; true when read to the end.
    async fn read(
        &mut self,
        streams: &[&Listed],
        look_back_ms: i64,
        outcome: &mut PollOutcome,
    ) -> Result<bool, CallError> {
        let start_ms = self.opts.start_ms;
        let mut from: BTreeMap<&str, (Option<i64>, HashSet<u64>)> = BTreeMap::new();
        for l in streams {
            let p = self.positions.streams.entry(l.name.clone()).or_default();
            let seen = p.seen.iter().map(|(_, h)| *h).collect();
            from.insert(l.name.as_str(), (p.read_from(look_back_ms, start_ms), seen));
        }
        // One call from the earliest point any of them is read from; the events before a
        // stream's own point are skipped below.
        let earliest = match from.values().map(|(f, _)| *f).collect::<Option<Vec<i64>>>() {
            Some(v) => v.into_iter().min(),
            None => None,
        };
        let names: Vec<String> = streams.iter().map(|l| l.name.clone()).collect();
        let mut token: Option<String> = None;
        let mut taken = 0usize;
        loop {
            let mut body = json!({
                "logGroupName": self.opts.log_group,
                "logStreamNames": names,
            });
            if let Some(t) = earliest {
                body["startTime"] = json!(t);
            }
            if let Some(l) = self.opts.page_size {
                body["limit"] = json!(l);
            }
            if let Some(t) = token.take() {
                body["nextToken"] = json!(t);
            }
            let page = self
                .client
                .call("FilterLogEvents", &body)
                .await
                .map_err(|e| self.call_error("FilterLogEvents", e))?;
            let events = page.get("events").and_then(Json::as_array);
            for e in events.into_iter().flatten().map(LogEvent::of) {
                let (Some(stream), Some(ts)) = (e.stream, e.timestamp) else {
                    continue;
                };
                let Some((own_from, seen)) = from.get_mut(stream.as_str()) else {
                    continue;
                };
                if own_from.is_some_and(|f| ts < f) {
                    continue;
                }
                let message = e.message.unwrap_or_default();
                let key = fnv1a(fnv1a(FNV_OFFSET, &ts.to_le_bytes()), message.as_bytes());
                if !seen.insert(key) {
                    outcome.repeats += 1;
                    continue;
                }
                let Some(p) = self.positions.streams.get_mut(&stream) else {
                    continue;
                };
                p.seen.push((ts, key));
                p.events = p.events.saturating_add(1);
                p.last_timestamp_ms = Some(p.last_timestamp_ms.map_or(ts, |t| t.max(ts)));
                p.last_event_id = e.id;
                if let Some(i) = e.ingestion {
                    p.last_ingestion_ms = Some(p.last_ingestion_ms.map_or(i, |t| t.max(i)));
                }
                outcome.events.push(FollowedEvent {
                    number: p.events,
                    stream,
                    timestamp_ms: ts,
                    ingestion_ms: e.ingestion,
                    message,
                });
                taken += 1;
            }
            if taken >= self.opts.max_events_per_poll {
                outcome.more = true;
                return Ok(false);
            }
            match page
                .get("nextToken")
                .and_then(Json::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
            {
                Some(t) => token = Some(t),
                None => return Ok(true),
            }
        }
    }

    /// Forgets the judged events no poll can read again (older than the look-back), then
    /// the oldest beyond [`MAX_REMEMBERED`], raising their stream's floor so that they are
    /// not read again either.
    fn forget(&mut self, look_back_ms: i64) {
        let mut times = Vec::new();
        for p in self.positions.streams.values_mut() {
            if let Some(last) = p.last_timestamp_ms {
                let keep_from = last.saturating_sub(look_back_ms);
                p.seen.retain(|(t, _)| *t >= keep_from);
            }
            p.seen.sort_unstable();
            times.extend(p.seen.iter().map(|(t, _)| *t));
        }
        let Some(excess) = times.len().checked_sub(MAX_REMEMBERED).filter(|n| *n > 0) else {
            return;
        };
        // Everything up to the time of the `excess`-th oldest goes.
        let (_, cut, _) = times.select_nth_unstable(excess - 1);
        let cut = *cut;
        for p in self.positions.streams.values_mut() {
            let n = p.seen.partition_point(|(t, _)| *t <= cut);
            if let Some(&(newest_dropped, _)) = n.checked_sub(1).and_then(|i| p.seen.get(i)) {
                p.floor_ms = Some(p.floor_ms.map_or(newest_dropped, |f| f.max(newest_dropped)));
                p.seen.drain(..n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_read_from_its_look_back_and_never_below_its_floor() {
        let mut p = StreamPosition::default();
        assert_eq!(p.read_from(60_000, None), None);
        assert_eq!(p.read_from(60_000, Some(5)), Some(5));
        p.last_timestamp_ms = Some(1_000_000);
        assert_eq!(p.read_from(60_000, Some(5)), Some(940_000));
        p.floor_ms = Some(990_000);
        assert_eq!(p.read_from(60_000, None), Some(990_001));
    }

    #[test]
    fn the_remembered_events_are_bounded_and_the_floor_rises_with_the_bound() {
        let mut positions = Positions::default();
        let a = StreamPosition {
            last_timestamp_ms: Some(10_000_000),
            seen: (0..MAX_REMEMBERED as i64)
                .map(|i| (9_990_000 + (i % 5000), i as u64))
                .collect(),
            ..StreamPosition::default()
        };
        let b = StreamPosition {
            last_timestamp_ms: Some(10_000_000),
            // Two events out of the look-back, ten within it, the oldest at 9 999 000.
            seen: [(1, 1), (2, 2)]
                .into_iter()
                .chain((0..10).map(|i| (9_999_000 + i, 100 + i as u64)))
                .collect(),
            ..StreamPosition::default()
        };
        positions.streams.insert("a".into(), a);
        positions.streams.insert("b".into(), b);
        let mut f = Follower {
            client: Logs::new(&aws_config::SdkConfig::builder().build()),
            opts: FollowOptions::new("g"),
            positions,
        };
        f.forget(60_000);
        let (a, b) = (&f.positions.streams["a"], &f.positions.streams["b"]);
        // Ten too many: the events of the oldest time go, all 40 of them.
        assert_eq!(a.seen.len() + b.seen.len(), MAX_REMEMBERED + 10 - 40);
        // The oldest of `a` went (time 9 990 000, 40 of them), and `a`'s floor says so.
        assert_eq!(a.floor_ms, Some(9_990_000));
        assert_eq!(a.read_from(60_000, None), Some(9_990_001));
        assert_eq!((b.floor_ms, b.seen.len()), (None, 10));
    }
}
