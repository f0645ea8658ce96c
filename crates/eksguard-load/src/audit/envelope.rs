//! Envelopes: the JSON that carries events rather than being one (an `EventList`, a
//! CloudWatch log event or page, a subscription payload, gzip and base64 inside), opened
//! when a unit fails to parse as an event.

use std::borrow::Cow;
use std::io::Read;

use eksguard_model::audit::{AuditEvent, AuditParseError, Str};
use eksguard_model::encoding::decode_base64;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Bytes to parse as one event (or envelope) and their line.
pub(super) struct Unit<'a> {
    pub(super) bytes: Cow<'a, [u8]>,
    pub(super) line: u32,
}

/// The events inside an envelope, owned, and the problems met unpacking it.
pub(super) struct Expansion {
    pub(super) units: Vec<Unit<'static>>,
    pub(super) errors: Vec<(u32, AuditParseError)>,
}

/// Gunzips a payload, at most `limit` bytes of output.
pub(super) fn gunzip(bytes: &[u8], limit: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(limit)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Envelope<'a> {
    #[serde(borrow)]
    kind: Option<Str<'a>>,
    #[serde(borrow)]
    items: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    events: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    log_events: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    message_type: Option<Str<'a>>,
    #[serde(borrow)]
    message: Option<Str<'a>>,
    #[serde(borrow)]
    awslogs: Option<AwsLogs<'a>>,
}

#[derive(Deserialize)]
pub(super) struct AwsLogs<'a> {
    #[serde(borrow)]
    data: Str<'a>,
}

pub(super) const MAX_NESTING: u32 = 4;

/// Unpacks the envelopes events travel in; `None` when `bytes` is none of them.
pub(super) fn expand_envelope(bytes: &[u8], line: u32) -> Option<Expansion> {
    let mut x = Expansion {
        units: Vec::new(),
        errors: Vec::new(),
    };
    expand_into(bytes, line, 0, &mut x).then_some(x)
}

/// The line of `part` (a slice of `whole`) given the line `whole` starts on.
pub(super) fn line_within(whole: &[u8], part: &[u8], line: u32) -> u32 {
    let off = (part.as_ptr() as usize)
        .saturating_sub(whole.as_ptr() as usize)
        .min(whole.len());
    line.saturating_add(memchr::memchr_iter(b'\n', &whole[..off]).count() as u32)
}

pub(super) fn expand_into(bytes: &[u8], line: u32, depth: u32, x: &mut Expansion) -> bool {
    if depth > MAX_NESTING {
        return false;
    }
    let trimmed = bytes.trim_ascii_start();
    if trimmed.starts_with(b"[") {
        let Ok(items) = serde_json::from_slice::<Vec<&RawValue>>(bytes) else {
            return false;
        };
        for item in items {
            push_value(bytes, item, line, depth, x);
        }
        return true;
    }
    let Ok(env) = serde_json::from_slice::<Envelope<'_>>(bytes) else {
        return false;
    };
    if let Some(items) = env
        .items
        .filter(|_| env.kind.as_deref() == Some("EventList"))
    {
        for item in items {
            push_value(bytes, item, line, depth, x);
        }
        return true;
    }
    if let Some(list) = env.log_events {
        if env.message_type.as_deref() == Some("CONTROL_MESSAGE") {
            return true;
        }
        for item in list {
            push_value(bytes, item, line, depth, x);
        }
        return true;
    }
    if let Some(list) = env.events {
        for item in list {
            push_value(bytes, item, line, depth, x);
        }
        return true;
    }
    if let Some(message) = env.message.filter(|_| env.kind.is_none()) {
        // A CloudWatch log event: its message is the audit event, on the line of the key.
        let at = memchr::memmem::find(bytes, b"\"message\"")
            .map(|i| line_within(bytes, &bytes[i..], line))
            .unwrap_or(line);
        x.units.push(Unit {
            bytes: Cow::Owned(message.0.into_owned().into_bytes()),
            line: at,
        });
        return true;
    }
    if let Some(aws) = env.awslogs {
        let decoded = decode_base64(aws.data.as_bytes()).and_then(|b| gunzip(&b, 256 << 20));
        match decoded {
            Some(inner) if expand_into(&inner, line, depth + 1, x) => {}
            _ => x.errors.push((
                line,
                AuditParseError::Malformed(
                    "`awslogs.data` is not a gzip subscription payload".into(),
                ),
            )),
        }
        return true;
    }
    false
}

/// One array element: an event, or a nested envelope.
pub(super) fn push_value(whole: &[u8], item: &RawValue, line: u32, depth: u32, x: &mut Expansion) {
    let raw = item.get().as_bytes();
    let at = line_within(whole, raw, line);
    match AuditEvent::parse(raw) {
        Ok(_) => x.units.push(Unit {
            bytes: Cow::Owned(raw.to_vec()),
            line: at,
        }),
        Err(e) => {
            if !expand_into(raw, at, depth + 1, x) {
                x.errors.push((at, e));
            }
        }
    }
}
