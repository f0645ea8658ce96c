//! Streaming audit-log readers.
//!
//! Accepted, plain or gzip (detected by its magic bytes, concatenated members included):
//! JSON lines of events; a JSON array of events; `EventList` documents; the JSON of
//! `aws logs filter-log-events`; CloudWatch Logs S3 export lines (`<timestamp> <event>`)
//! and `aws logs tail` lines (`<timestamp> <stream> <event>`); subscription payloads
//! (`DATA_MESSAGE` JSON, gzip, base64 of gzip, or a Lambda `{"awslogs":{"data":…}}`
//! event; `CONTROL_MESSAGE` skipped).
//!
//! Input is read in batches of complete lines (or, for JSON documents, of complete array
//! elements); each batch is parsed in parallel, deduplicated in order and handed to the
//! caller before the next is read, so memory depends on the batch size and the largest
//! event, not on the input size. Duplicates (same auditID and stage) are dropped within a
//! bounded window of recent events: repeats in CloudWatch exports arrive close together,
//! and a window keeps memory flat on endless streams.
//!
//! [`reader`] drives the reading: formats, batches, parsing and duplicates; [`framing`]
//! cuts a byte stream into the units an event is parsed from (lines, elements of arrays
//! and envelopes); [`envelope`] unpacks the envelopes CloudWatch and its exports wrap
//! events in.

use std::sync::Arc;

use eksguard_model::audit::AuditEvent;
use eksguard_model::InputError;

mod envelope;
mod framing;
mod reader;

pub use reader::{AuditReader, OnBatch};

/// Where an event came from: a file (or `LOG_GROUP/STREAM` label) and a line (or index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: u32,
}

/// An event that could not be read, and whether it was cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    pub error: InputError,
    pub truncated: bool,
}

/// Parses one event (a CloudWatch message, a line) and names its origin on failure.
pub fn parse_event<'a>(bytes: &'a [u8], origin: &Origin) -> Result<AuditEvent<'a>, EventError> {
    AuditEvent::parse(bytes).map_err(|e| EventError {
        truncated: e.is_truncated(),
        error: InputError::new(&*origin.file, Some(origin.line), e.to_string()),
    })
}

/// One event of a batch with its line.
#[derive(Debug)]
pub struct Parsed<'a> {
    pub event: AuditEvent<'a>,
    pub line: u32,
}

/// Events read together from one input, in input order, duplicates removed.
pub struct Batch<'a> {
    pub file: &'a Arc<str>,
    pub events: Vec<&'a Parsed<'a>>,
}

#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Bytes read and parsed at once.
    pub batch_bytes: usize,
    /// Recent (auditID, stage) pairs remembered to drop duplicates.
    pub dedup_window: usize,
    /// Longest line or array element accepted; longer ones are skipped with an error.
    pub max_event_bytes: usize,
    /// Errors kept for the report; further ones are only counted.
    pub max_errors: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            batch_bytes: 8 << 20,
            dedup_window: 200_000,
            max_event_bytes: 64 << 20,
            max_errors: 1000,
        }
    }
}
#[cfg(test)]
mod tests;
