//! A small Kubernetes API server for tests, on the standard library: discovery documents,
//! list endpoints paginated with `limit` and `continue`, single-object GETs, a bearer
//! token check, forbidden and slow resource paths, hostile answers (oversized pages,
//! endless chunked bodies, a continue token that never ends), and a log of every request.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// One served resource type.
#[derive(Clone)]
pub struct Resource {
    /// `""` for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub items: Vec<Value>,
}

#[derive(Default)]
pub struct Behaviour {
    /// Every request must carry `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Plurals answered with 403.
    pub forbidden: Vec<&'static str>,
    /// Plurals answered only after this delay.
    pub slow: Vec<(&'static str, Duration)>,
    /// Groups listed in `/apis` with a preferred version that lacks some kinds, and an
    /// older version that has them: (group, preferred, older).
    pub extra_versions: Vec<(&'static str, &'static str, &'static str)>,
    /// Plurals whose list pages carry this many bytes of padding (with a Content-Length).
    pub oversized: Vec<(&'static str, usize)>,
    /// Plurals whose list answer is a chunked body that never ends: items written with
    /// this pause between chunks (zero: as fast as the connection takes them).
    pub endless: Vec<(&'static str, Duration)>,
    /// Plurals whose every list page hands out the same continue token.
    pub repeat_continue: Vec<&'static str>,
}

pub struct FakeKube {
    pub url: String,
    pub log: Arc<Mutex<Vec<String>>>,
}

struct State {
    resources: Vec<Resource>,
    behaviour: Behaviour,
    log: Arc<Mutex<Vec<String>>>,
}

impl FakeKube {
    pub fn start(resources: Vec<Resource>, behaviour: Behaviour) -> FakeKube {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(State {
            resources,
            behaviour,
            log: log.clone(),
        });
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = state.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        FakeKube { url, log }
    }

    /// Requests whose path starts with `prefix`.
    pub fn requests(&self, prefix: &str) -> Vec<String> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|r| r.starts_with(prefix))
            .cloned()
            .collect()
    }
}

fn serve(stream: TcpStream, state: &State) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    // Keep-alive: one request after another on the connection.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut auth = None;
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "authorization" => auth = Some(v.trim().to_string()),
                    "content-length" => length = v.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        state.log.lock().expect("log").push(target.clone());
        if let Some(pause) = endless(state, &target, auth.as_deref()) {
            stream_endless(&mut stream, pause);
            return;
        }
        let (code, body) = respond(state, &target, auth.as_deref());
        let text = body.to_string();
        let reason = match code {
            200 => "OK",
            401 => "Unauthorized",
            403 => "Forbidden",
            _ => "Not Found",
        };
        let head = format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            text.len()
        );
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(text.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// The pause between chunks when `target` lists an endless plural (with the right token).
fn endless(state: &State, target: &str, auth: Option<&str>) -> Option<Duration> {
    if let Some(token) = &state.behaviour.token {
        if auth != Some(&format!("Bearer {token}")) {
            return None;
        }
    }
    let path = target.split('?').next().unwrap_or("");
    let last = path.rsplit('/').next().unwrap_or("");
    state
        .behaviour
        .endless
        .iter()
        .find(|(p, _)| *p == last)
        .map(|(_, d)| *d)
}

/// A list whose items never end, until the client hangs up.
fn stream_endless(stream: &mut TcpStream, pause: Duration) {
    let chunk = |s: &str| format!("{:x}\r\n{s}\r\n", s.len());
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let start = chunk(r#"{"kind": "List", "apiVersion": "v1", "metadata": {}, "items": ["#);
    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(start.as_bytes()).is_err() {
        return;
    }
    let item = r#"{"metadata": {"name": "filler", "namespace": "shop"}},"#;
    let body = chunk(&item.repeat(if pause.is_zero() { 256 } else { 1 }));
    while stream.write_all(body.as_bytes()).is_ok() {
        std::thread::sleep(pause);
    }
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

fn respond(state: &State, target: &str, auth: Option<&str>) -> (u16, Value) {
    if let Some(token) = &state.behaviour.token {
        if auth != Some(&format!("Bearer {token}")) {
            return status(401, "Unauthorized", "Unauthorized");
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query: BTreeMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), decode(v)))
        .collect();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let b = &state.behaviour;
    match segs.as_slice() {
        ["api"] => (200, json!({"kind": "APIVersions", "versions": ["v1"]})),
        ["apis"] => (200, api_groups(state)),
        ["api", v] => resource_list(state, "", v),
        ["apis", g, v] => resource_list(state, g, v),
        _ => {
            // /api/v1[/namespaces/NS]/PLURAL[/NAME] or /apis/G/V[/namespaces/NS]/PLURAL[/NAME]
            let (group, version, rest) = match segs.as_slice() {
                ["api", v, rest @ ..] => ("", *v, rest),
                ["apis", g, v, rest @ ..] => (*g, *v, rest),
                _ => return status(404, "NotFound", "no such path"),
            };
            let (ns, plural, name) = match rest {
                ["namespaces", ns, p] => (Some(*ns), *p, None),
                ["namespaces", ns, p, n] => (Some(*ns), *p, Some(*n)),
                [p] => (None, *p, None),
                _ => return status(404, "NotFound", "no such path"),
            };
            let Some(r) = state
                .resources
                .iter()
                .find(|r| r.group == group && r.version == version && r.plural == plural)
            else {
                return status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                );
            };
            if let Some((_, d)) = b.slow.iter().find(|(p, _)| *p == plural) {
                std::thread::sleep(*d);
            }
            if b.forbidden.contains(&plural) {
                return status(
                    403,
                    "Forbidden",
                    &format!(
                        "{plural} is forbidden: User \"tester\" cannot list resource \"{plural}\""
                    ),
                );
            }
            let in_ns =
                |i: &&Value| ns.is_none_or(|ns| i["metadata"]["namespace"].as_str() == Some(ns));
            if let Some(name) = name {
                return match r
                    .items
                    .iter()
                    .filter(in_ns)
                    .find(|i| i["metadata"]["name"].as_str() == Some(name))
                {
                    Some(i) => {
                        let mut i = i.clone();
                        i["kind"] = json!(r.kind);
                        i["apiVersion"] = json!(gv(r));
                        (200, i)
                    }
                    None => status(404, "NotFound", &format!("{plural} \"{name}\" not found")),
                };
            }
            let mut items: Vec<&Value> = r.items.iter().filter(in_ns).collect();
            if let Some(sel) = query.get("fieldSelector") {
                if let Some(n) = sel.strip_prefix("metadata.name=") {
                    items.retain(|i| i["metadata"]["name"].as_str() == Some(n));
                }
            }
            let start: usize = query
                .get("continue")
                .and_then(|c| c.strip_prefix("offset-"))
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let limit: usize = query
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(usize::MAX);
            let end = start.saturating_add(limit).min(items.len());
            let page: Vec<&Value> = items[start.min(end)..end].to_vec();
            let mut meta = json!({"resourceVersion": "1000"});
            if end < items.len() {
                meta["continue"] = json!(format!("offset-{end}"));
            }
            if b.repeat_continue.contains(&plural) {
                meta["continue"] = json!("same-again");
            }
            if let Some((_, n)) = b.oversized.iter().find(|(p, _)| *p == plural) {
                meta["padding"] = json!("x".repeat(*n));
            }
            (
                200,
                json!({"kind": format!("{}List", r.kind), "apiVersion": gv(r),
                       "metadata": meta, "items": page}),
            )
        }
    }
}

fn gv(r: &Resource) -> String {
    if r.group.is_empty() {
        r.version.to_string()
    } else {
        format!("{}/{}", r.group, r.version)
    }
}

fn api_groups(state: &State) -> Value {
    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in state.resources.iter().filter(|r| !r.group.is_empty()) {
        let list = groups.entry(r.group).or_default();
        if !list.contains(&gv(r)) {
            list.push(gv(r));
        }
    }
    for (g, preferred, _) in &state.behaviour.extra_versions {
        groups
            .entry(g)
            .or_default()
            .insert(0, format!("{g}/{preferred}"));
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(name, versions)| {
            json!({"name": name,
                   "versions": versions.iter().map(|v| json!({"groupVersion": v, "version": v.rsplit('/').next()})).collect::<Vec<_>>(),
                   "preferredVersion": {"groupVersion": versions[0], "version": versions[0].rsplit('/').next()}})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn resource_list(state: &State, group: &str, version: &str) -> (u16, Value) {
    let resources: Vec<Value> = state
        .resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            json!({"name": r.plural, "singularName": "", "namespaced": r.namespaced,
                   "kind": r.kind, "verbs": ["get", "list", "watch"]})
        })
        .collect();
    let known = state
        .behaviour
        .extra_versions
        .iter()
        .any(|(g, p, _)| *g == group && *p == version);
    if resources.is_empty() && !known {
        return status(404, "NotFound", "no such group version");
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    (
        200,
        json!({"kind": "APIResourceList", "groupVersion": group_version, "resources": resources}),
    )
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
