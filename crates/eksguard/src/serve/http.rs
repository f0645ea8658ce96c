//! Routing and the request bounds: a body is read only up to its limit and within its
//! time, and no failure inside a handler takes the server down.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use super::admission::{self, Decision, MAX_BODY};
use super::State;

/// Longest wait for a whole request body: a client that trickles bytes is cut off.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn text(status: StatusCode, body: impl Into<String>) -> Reply {
    let mut body = body.into();
    body.push('\n');
    reply(status, "text/plain; charset=utf-8", body)
}

pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let started = Instant::now();
    let path = req.uri().path().to_string();
    let endpoint = match path.as_str() {
        "/validate" | "/healthz" | "/readyz" | "/metrics" | "/report" => path.as_str(),
        _ => "other",
    };
    let r = match (req.method(), path.as_str()) {
        (&Method::POST, "/validate") => validate(&state, req).await,
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok"),
        (&Method::GET, "/readyz") => match state.not_ready() {
            None => text(StatusCode::OK, "ready"),
            Some(why) => text(StatusCode::SERVICE_UNAVAILABLE, why),
        },
        (&Method::GET, "/metrics") => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            state.metrics.render(),
        ),
        (&Method::GET, "/report") => report(&state, req.uri().query().unwrap_or("")),
        (_, "/validate" | "/healthz" | "/readyz" | "/metrics" | "/report") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    };
    state
        .metrics
        .latency
        .get_or_create(&[("endpoint", endpoint.to_string())])
        .observe(started.elapsed().as_secs_f64());
    Ok(r)
}

/// Reads a body of at most [`MAX_BODY`] bytes: a declared length over it is refused
/// unread, and a body that grows past it is refused as soon as it does.
async fn read_body(req: Request<Incoming>) -> Result<Bytes, (StatusCode, String)> {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over the limit of {MAX_BODY} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let mut body = req.into_body();
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0) as usize);
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| (StatusCode::BAD_REQUEST, format!("body: {e}")))?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > MAX_BODY {
                    return Err(too_large());
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(())
    };
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Ok(Ok(())) => Ok(buf.freeze()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request body not complete within {} s",
                BODY_TIMEOUT.as_secs()
            ),
        )),
    }
}

async fn validate(state: &State, req: Request<Incoming>) -> Reply {
    let rejected = |status: StatusCode, message: String| {
        state
            .metrics
            .rejected
            .get_or_create(&[("code", status.as_u16().to_string())])
            .inc();
        text(status, message)
    };
    let body = match read_body(req).await {
        Ok(b) => b,
        Err((status, message)) => return rejected(status, message),
    };
    let review = match admission::parse_review(&body) {
        Ok(r) => r,
        Err(message) => return rejected(StatusCode::BAD_REQUEST, message),
    };
    let context = state.context_for(&review);
    let verdict = state.judge.decide_guarded(&review, context.as_deref());
    if verdict.decision == Decision::Error {
        state
            .metrics
            .internal_errors
            .get_or_create(&[("stage", "rules".to_string())])
            .inc();
    }
    state
        .metrics
        .requests
        .get_or_create(&[
            ("operation", operation_label(&review.operation)),
            ("kind", kind_label(&review.kind)),
            ("decision", verdict.decision.as_str().to_string()),
        ])
        .inc();
    for h in &verdict.hits {
        state
            .metrics
            .admission_findings
            .get_or_create(&[
                ("rule", h.rule_id.to_string()),
                ("severity", h.severity.as_str().to_string()),
            ])
            .inc();
    }
    reply(
        StatusCode::OK,
        "application/json",
        verdict.to_json().to_string(),
    )
}

fn report(state: &State, query: &str) -> Reply {
    let format = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "format")
        .map(|(_, v)| v)
        .unwrap_or("json");
    let Some(scans) = &state.scans else {
        return text(
            StatusCode::NOT_FOUND,
            "continuous scanning is off (start with --scan-interval)",
        );
    };
    let latest = scans.latest();
    let Some(latest) = latest.as_ref() else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "no scan has finished yet");
    };
    match format {
        "json" => reply(StatusCode::OK, "application/json", latest.json.clone()),
        "sarif" => reply(
            StatusCode::OK,
            "application/sarif+json",
            latest.sarif.clone(),
        ),
        "markdown" => reply(
            StatusCode::OK,
            "text/markdown; charset=utf-8",
            latest.markdown.clone(),
        ),
        _ => text(
            StatusCode::BAD_REQUEST,
            "format must be json, sarif or markdown",
        ),
    }
}

/// Label values stay few whatever a client sends: the four operations, and the kinds some
/// rule reads.
fn operation_label(op: &str) -> String {
    match op {
        "CREATE" | "UPDATE" | "DELETE" | "CONNECT" => op.to_string(),
        _ => "other".to_string(),
    }
}

fn kind_label(kind: &str) -> String {
    let known = eksguard_rules::registry::all()
        .iter()
        .any(|r| r.meta().uses_kind(kind));
    if known {
        kind.to_string()
    } else {
        "other".to_string()
    }
}
