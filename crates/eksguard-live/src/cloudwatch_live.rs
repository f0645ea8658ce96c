//! EKS control-plane audit logs read live from CloudWatch Logs (`FilterLogEvents`, paginated),
//! handed to the caller one page at a time so memory stays bounded however long the window.
//!
//! EKS writes the API server's audit events to streams named `kube-apiserver-audit-*` of
//! the group `/aws/eks/CLUSTER/cluster`; each log event's message is one audit event as JSON.

use serde_json::{json, Value as Json};

use crate::aws_api::Logs;
use crate::aws_live::{sdk_config, LiveError};

/// The stream-name prefix of the API server's audit log in an EKS log group.
pub const AUDIT_STREAM_PREFIX: &str = "kube-apiserver-audit";

/// Which events to read and where from.
#[derive(Debug, Clone)]
pub struct LogQuery {
    pub log_group: String,
    /// Only streams whose names start with this (none: every stream of the group).
    pub stream_prefix: Option<String>,
    /// Inclusive lower bound, milliseconds since the epoch.
    pub start_ms: Option<i64>,
    /// Exclusive upper bound, milliseconds since the epoch.
    pub end_ms: Option<i64>,
    /// A CloudWatch Logs filter pattern, applied by the service.
    pub filter_pattern: Option<String>,
    /// Events per call (the service's maximum when unset).
    pub page_size: Option<i32>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

impl LogQuery {
    pub fn new(log_group: impl Into<String>) -> Self {
        LogQuery {
            log_group: log_group.into(),
            stream_prefix: Some(AUDIT_STREAM_PREFIX.to_string()),
            start_ms: None,
            end_ms: None,
            filter_pattern: None,
            page_size: None,
            region: None,
            profile: None,
            endpoint_url: None,
        }
    }
}

/// One log event: its stream, time and message (an audit event as JSON, for EKS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogMessage {
    pub stream: String,
    pub timestamp_ms: i64,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CloudWatchError {
    #[error(transparent)]
    Setup(#[from] LiveError),
    #[error("logs:FilterLogEvents on {group}: {message}")]
    Call { group: String, message: String },
}

/// A paginated read; each [`next_page`](Self::next_page) is one `FilterLogEvents` call.
pub struct LogReader {
    rt: tokio::runtime::Runtime,
    client: Logs,
    query: LogQuery,
    /// `None` before the first call; `Some(None)` once the last page was read or a call failed.
    next: Option<Option<String>>,
}

impl LogReader {
    pub fn open(q: &LogQuery) -> Result<LogReader, CloudWatchError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(LiveError::from)?;
        let conf = rt.block_on(sdk_config(
            q.region.as_deref(),
            q.profile.as_deref(),
            q.endpoint_url.as_deref(),
        ))?;
        Ok(LogReader {
            rt,
            client: Logs::new(&conf),
            query: q.clone(),
            next: None,
        })
    }

    /// The next page of events; `None` at the end. After an error the read stops: the
    /// token to go on with is lost with the failed call.
    pub fn next_page(&mut self) -> Option<Result<Vec<LogMessage>, CloudWatchError>> {
        let token = match &self.next {
            None => None,
            Some(None) => return None,
            Some(Some(t)) => Some(t.clone()),
        };
        let q = &self.query;
        let mut body = json!({ "logGroupName": q.log_group });
        let fields = [
            (
                "logStreamNamePrefix",
                q.stream_prefix.clone().map(Json::from),
            ),
            ("startTime", q.start_ms.map(Json::from)),
            ("endTime", q.end_ms.map(Json::from)),
            ("filterPattern", q.filter_pattern.clone().map(Json::from)),
            ("limit", q.page_size.map(Json::from)),
            ("nextToken", token.map(Json::from)),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                body[k] = v;
            }
        }
        let call = self.client.call("FilterLogEvents", &body);
        Some(match self.rt.block_on(call) {
            Ok(out) => {
                // The service may answer a page with no events but a token: go on until
                // the token is gone.
                self.next = Some(
                    out.get("nextToken")
                        .and_then(Json::as_str)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string),
                );
                // Checked again here: some compatible endpoints ignore the prefix.
                let prefix = q.stream_prefix.as_deref().unwrap_or("");
                Ok(out
                    .get("events")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .map(LogEvent::of)
                    .filter(|e| e.stream.as_deref().is_none_or(|s| s.starts_with(prefix)))
                    .map(|e| LogMessage {
                        stream: e.stream.unwrap_or_default(),
                        timestamp_ms: e.timestamp.unwrap_or_default(),
                        message: e.message.unwrap_or_default(),
                    })
                    .collect())
            }
            Err(e) => {
                self.next = Some(None);
                Err(CloudWatchError::Call {
                    group: q.log_group.clone(),
                    message: e.to_string(),
                })
            }
        })
    }
}

/// One event of a `FilterLogEvents` answer.
pub(crate) struct LogEvent {
    pub(crate) stream: Option<String>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) ingestion: Option<i64>,
    pub(crate) id: Option<String>,
    pub(crate) message: Option<String>,
}

impl LogEvent {
    pub(crate) fn of(e: &Json) -> LogEvent {
        let text = |k: &str| e.get(k).and_then(Json::as_str).map(str::to_string);
        LogEvent {
            stream: text("logStreamName"),
            timestamp: e.get("timestamp").and_then(Json::as_i64),
            ingestion: e.get("ingestionTime").and_then(Json::as_i64),
            id: text("eventId"),
            message: text("message"),
        }
    }
}
