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
use super::auth::Refusal;
use super::State;

/// Longest wait for a whole request body: a client that trickles bytes is cut off.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a free review slot before answering 429.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

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

/// The webhook's HTTPS port: reviews, the probes, and the report when it is on.
pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let started = Instant::now();
    let path = req.uri().path().to_string();
    let endpoint = match path.as_str() {
        "/validate" | "/healthz" | "/readyz" | "/report" => path.as_str(),
        _ => "other",
    };
    let r = match (req.method(), path.as_str()) {
        (&Method::POST, "/validate") => validate(state.clone(), req).await,
        (&Method::GET, "/healthz" | "/readyz") => probe(&state, &path),
        (&Method::GET, "/report") => report(&state, req).await,
        (_, "/validate" | "/healthz" | "/readyz" | "/report") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        (_, "/metrics") => text(
            StatusCode::NOT_FOUND,
            "metrics are served on the metrics port (--metrics-listen)",
        ),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    };
    state
        .metrics
        .latency
        .get_or_create(&[("endpoint", endpoint.to_string())])
        .observe(started.elapsed().as_secs_f64());
    Ok(r)
}

/// The metrics port (plain HTTP, a listener of its own): the probes and `/metrics`, so
/// neither waits behind the webhook's connections.
pub async fn handle_plain(state: Arc<State>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let path = req.uri().path();
    Ok(match (req.method(), path) {
        (&Method::GET, "/healthz" | "/readyz") => probe(&state, path),
        (&Method::GET, "/metrics") => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            state.metrics.render(),
        ),
        (_, "/healthz" | "/readyz" | "/metrics") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    })
}

fn probe(state: &State, path: &str) -> Reply {
    if path == "/healthz" {
        return text(StatusCode::OK, "ok");
    }
    match state.not_ready() {
        None => text(StatusCode::OK, "ready"),
        Some(why) => text(StatusCode::SERVICE_UNAVAILABLE, why),
    }
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

/// A review slot, counted in `admission_slots_held` for as long as it is held.
struct Slot {
    _permit: tokio::sync::OwnedSemaphorePermit,
    held: prometheus_client::metrics::gauge::Gauge,
}

impl Slot {
    fn new(
        permit: tokio::sync::OwnedSemaphorePermit,
        held: &prometheus_client::metrics::gauge::Gauge,
    ) -> Slot {
        held.inc();
        Slot {
            _permit: permit,
            held: held.clone(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.held.dec();
    }
}

async fn validate(state: Arc<State>, req: Request<Incoming>) -> Reply {
    let rejected = |status: StatusCode, message: String| {
        state
            .metrics
            .rejected
            .get_or_create(&[("code", status.as_u16().to_string())])
            .inc();
        text(status, message)
    };
    // A slot first, then the body: requests past the limit hold no more than their
    // headers while they wait, and are told to come back when none frees in time.
    let slot = match tokio::time::timeout(QUEUE_WAIT, state.reviews.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Slot::new(permit, &state.metrics.slots_held),
        _ => {
            let mut r = rejected(
                StatusCode::TOO_MANY_REQUESTS,
                format!("{} reviews are being judged; try again", state.max_reviews),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            return r;
        }
    };
    let body = match read_body(req).await {
        Ok(b) => b,
        Err((status, message)) => return rejected(status, message),
    };
    state.metrics.in_flight.inc();
    let judging = state.clone();
    // Judged off the async threads, so the probes and other connections are served
    // while the rules run.
    let judged = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let review = admission::parse_review(&body)?;
        // The tree is built: the body's bytes are not needed any more.
        drop(body);
        let context = judging.context_for(&review);
        let labels = (operation_label(&review.operation), kind_label(&review.kind));
        let verdict = judging.judge.decide_guarded(review, context);
        Ok::<_, String>((labels, verdict))
    })
    .await;
    state.metrics.in_flight.dec();
    let ((operation, kind), verdict) = match judged {
        Ok(Ok(j)) => j,
        Ok(Err(message)) => return rejected(StatusCode::BAD_REQUEST, message),
        Err(_) => {
            state
                .metrics
                .internal_errors
                .get_or_create(&[("stage", "rules".to_string())])
                .inc();
            return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
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
            ("operation", operation),
            ("kind", kind),
            ("decision", verdict.decision.as_str().to_string()),
        ])
        .inc();
    for ((rule, severity), n) in &verdict.new_findings {
        state
            .metrics
            .admission_findings
            .get_or_create(&[
                ("rule", rule.to_string()),
                ("severity", severity.as_str().to_string()),
            ])
            .inc_by(*n);
    }
    for (namespace, rule) in &verdict.annotation_uses {
        state
            .metrics
            .annotation_suppressions
            .get_or_create(&[("namespace", namespace.clone()), ("rule", rule.to_string())])
            .inc();
    }
    reply(
        StatusCode::OK,
        "application/json",
        verdict.to_json().to_string(),
    )
}

async fn report(state: &State, req: Request<Incoming>) -> Reply {
    let Some(auth) = &state.auth else {
        return text(
            StatusCode::NOT_FOUND,
            "the report is off (start with --report-access NAMESPACE/SERVICE)",
        );
    };
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let refused = |status: StatusCode, why: String| {
        state
            .metrics
            .report_refusals
            .get_or_create(&[("code", status.as_u16().to_string())])
            .inc();
        text(status, why)
    };
    match auth.check(super::auth::bearer(header)).await {
        Ok(_) => {}
        Err(Refusal::Unauthenticated(why)) => {
            let mut r = refused(StatusCode::UNAUTHORIZED, why);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return r;
        }
        Err(Refusal::Forbidden(why)) => return refused(StatusCode::FORBIDDEN, why),
        Err(Refusal::Unavailable(why)) => return refused(StatusCode::SERVICE_UNAVAILABLE, why),
    }
    let query = req.uri().query().unwrap_or("");
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
