//! A small Kubernetes API server for tests, on the standard library: discovery documents,
//! list endpoints paginated with `limit` and `continue`, single-object GETs, a bearer
//! token check (a fixed token, or a judge of the header such as an EKS token decoder),
//! forbidden and slow resource paths, hostile answers (oversized pages,
//! endless chunked bodies, a continue token that never ends), and a log of every request.
//!
//! Watches (`?watch=1`): changes pushed with [`FakeKube::push`] are applied to later lists
//! and streamed as chunked JSON lines to open watches from the resourceVersion asked for
//! (each change is one version past the list's `1000`); [`FakeKube::expire`] ends open
//! watches of a type with a 410 `ERROR` event, as an API server does when the version is
//! too old.
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
    /// TokenReview: the tokens the server accepts, with the user and groups of each.
    pub users: Vec<(&'static str, &'static str, Vec<&'static str>)>,
    /// SubjectAccessReview: what is allowed, as (user or group, `verb resource/subresource
    /// namespace/name`).
    pub grants: Vec<(&'static str, &'static str)>,
    /// Judges the `Authorization` header of every request (an EKS token decoded and
    /// checked); `false` is a 401.
    pub check_auth: Option<AuthCheck>,
    /// Resource types listed in discovery only (custom resources, aggregated APIs), with
    /// their singular and short names; their lists are not served.
    pub discovered: Vec<Discovered>,
    /// Group versions listed in `/apis` whose document answers 503, as an aggregated API
    /// whose server is down does: (group, version).
    pub unavailable: Vec<(&'static str, &'static str)>,
}

/// A resource type of the discovery documents alone.
#[derive(Clone)]
pub struct Discovered {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub short_names: &'static [&'static str],
    pub namespaced: bool,
}

/// A judge of `Authorization` headers.
pub type AuthCheck = Arc<dyn Fn(Option<&str>) -> bool + Send + Sync>;

pub struct FakeKube {
    pub url: String,
    pub log: Arc<Mutex<Vec<String>>>,
    watch: Arc<Watch>,
}

/// Changes since the lists were recorded, in order: (plural, event type, object).
#[derive(Default)]
struct Watch {
    changes: Mutex<Vec<(String, String, Value)>>,
    /// Plurals whose open watches end with 410 Gone.
    expired: Mutex<Vec<String>>,
}

/// The resourceVersion of the recorded lists.
const BASE_VERSION: usize = 1000;

struct State {
    resources: Vec<Resource>,
    behaviour: Behaviour,
    log: Arc<Mutex<Vec<String>>>,
    watch: Arc<Watch>,
}

impl FakeKube {
    pub fn start(resources: Vec<Resource>, behaviour: Behaviour) -> FakeKube {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let watch = Arc::new(Watch::default());
        let state = Arc::new(State {
            resources,
            behaviour,
            log: log.clone(),
            watch: watch.clone(),
        });
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = state.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        FakeKube { url, log, watch }
    }

    /// Applies an `ADDED`, `MODIFIED` or `DELETED` change of an object of `plural`: later
    /// lists show it, and open watches of the type stream it.
    pub fn push(&self, plural: &str, event: &str, object: Value) {
        self.watch.changes.lock().expect("changes").push((
            plural.to_string(),
            event.to_string(),
            object,
        ));
    }

    /// Ends the open watches of `plural` with a 410 Gone error event.
    pub fn expire(&self, plural: &str) {
        self.watch
            .expired
            .lock()
            .expect("expired")
            .push(plural.to_string());
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
        let method = line.split_whitespace().next().unwrap_or("GET").to_string();
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
        if is_watch(&target) && authorized(state, auth.as_deref()) {
            stream_watch(&mut stream, state, &target);
            return;
        }
        if let Some(pause) = endless(state, &target, auth.as_deref()) {
            stream_endless(&mut stream, pause);
            return;
        }
        let (code, body) = if method == "POST" {
            create(state, &target, auth.as_deref(), &body)
        } else {
            respond(state, &target, auth.as_deref())
        };
        let text = body.to_string();
        let reason = match code {
            200 => "OK",
            503 => "Service Unavailable",
            201 => "Created",
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

/// The reviews a client creates to be answered: TokenReview against
/// [`Behaviour::users`], SubjectAccessReview against [`Behaviour::grants`].
fn create(state: &State, target: &str, auth: Option<&str>, body: &[u8]) -> (u16, Value) {
    if !authorized(state, auth) {
        return status(401, "Unauthorized", "Unauthorized");
    }
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return status(400, "BadRequest", "body is not JSON");
    };
    match target {
        "/apis/authentication.k8s.io/v1/tokenreviews" => {
            let token = doc["spec"]["token"].as_str().unwrap_or("");
            let known = state.behaviour.users.iter().find(|(t, _, _)| *t == token);
            let st = match known {
                Some((_, user, groups)) => json!({"authenticated": true,
                    "user": {"username": user, "uid": format!("uid-{user}"), "groups": groups}}),
                None => json!({"authenticated": false, "error": "invalid bearer token"}),
            };
            (
                201,
                json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": st}),
            )
        }
        "/apis/authorization.k8s.io/v1/subjectaccessreviews" => {
            let spec = &doc["spec"];
            let a = &spec["resourceAttributes"];
            let text = |v: &Value| v.as_str().unwrap_or("").to_string();
            let want = format!(
                "{} {}/{} {}/{}",
                text(&a["verb"]),
                text(&a["resource"]),
                text(&a["subresource"]),
                text(&a["namespace"]),
                text(&a["name"])
            );
            let user = text(&spec["user"]);
            let groups: Vec<String> = spec["groups"]
                .as_array()
                .map(|g| g.iter().map(text).collect())
                .unwrap_or_default();
            let allowed = state.behaviour.grants.iter().any(|(who, what)| {
                *what == want && (*who == user || groups.iter().any(|g| g == who))
            });
            (
                201,
                json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "status": {"allowed": allowed}}),
            )
        }
        _ => status(404, "NotFound", "not found"),
    }
}

fn authorized(state: &State, auth: Option<&str>) -> bool {
    state
        .behaviour
        .token
        .as_ref()
        .is_none_or(|t| auth == Some(&format!("Bearer {t}")))
}

fn is_watch(target: &str) -> bool {
    target
        .split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(|kv| kv == "watch=1" || kv == "watch=true"))
}

/// The last path segment: the plural of a collection URL.
fn plural_of(target: &str) -> String {
    let path = target.split('?').next().unwrap_or("");
    path.rsplit('/').next().unwrap_or("").to_string()
}

/// Streams the changes of the plural from the asked resourceVersion on, then waits for
/// more (a bookmark each second finds a client that left), until expired.
fn stream_watch(stream: &mut TcpStream, state: &State, target: &str) {
    let plural = plural_of(target);
    let from: usize = target
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("resourceVersion="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(BASE_VERSION)
        .saturating_sub(BASE_VERSION);
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let chunk = |s: &str| format!("{:x}\r\n{s}\r\n", s.len());
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let mut next = from;
    let mut quiet = 0;
    loop {
        {
            let mut expired = state.watch.expired.lock().expect("expired");
            if let Some(i) = expired.iter().position(|p| *p == plural) {
                expired.remove(i);
                let gone = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
                    "status": "Failure", "reason": "Expired", "code": 410,
                    "message": "too old resource version"}});
                let _ = stream.write_all(chunk(&format!("{gone}\n")).as_bytes());
                let _ = stream.write_all(b"0\r\n\r\n");
                return;
            }
        }
        let pending: Vec<(usize, String, Value)> = {
            let changes = state.watch.changes.lock().expect("changes");
            let out = changes
                .iter()
                .enumerate()
                .skip(next)
                .filter(|(_, (p, _, _))| *p == plural)
                .map(|(i, (_, t, o))| (i, t.clone(), o.clone()))
                .collect();
            next = changes.len();
            out
        };
        for (i, ty, mut object) in pending {
            object["metadata"]["resourceVersion"] = json!((BASE_VERSION + i + 1).to_string());
            let line = format!("{}\n", json!({"type": ty, "object": object}));
            if stream.write_all(chunk(&line).as_bytes()).is_err() {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
        quiet += 1;
        if quiet % 50 == 0 {
            let bookmark = json!({"type": "BOOKMARK", "object": {"metadata": {
                "resourceVersion": (BASE_VERSION + next).to_string()}}});
            if stream
                .write_all(chunk(&format!("{bookmark}\n")).as_bytes())
                .is_err()
            {
                return;
            }
        }
    }
}

/// The recorded items of a type with the pushed changes applied.
fn current_items(state: &State, r: &Resource) -> (Vec<Value>, usize) {
    let changes = state.watch.changes.lock().expect("changes");
    let mut items = r.items.clone();
    let id = |v: &Value| {
        (
            v["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            v["metadata"]["name"].as_str().unwrap_or("").to_string(),
        )
    };
    for (plural, ty, object) in changes.iter() {
        if plural != r.plural {
            continue;
        }
        items.retain(|i| id(i) != id(object));
        if ty != "DELETED" {
            items.push(object.clone());
        }
    }
    (items, BASE_VERSION + changes.len())
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
    if let Some(check) = &state.behaviour.check_auth {
        if !check(auth) {
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
            let (all, version) = current_items(state, r);
            if let Some(name) = name {
                return match all
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
            let mut items: Vec<&Value> = all.iter().filter(in_ns).collect();
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
            let mut meta = json!({"resourceVersion": version.to_string()});
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
    let listed_only = state
        .behaviour
        .discovered
        .iter()
        .map(|d| (d.group, d.version))
        .chain(state.behaviour.unavailable.iter().copied());
    for (g, v) in listed_only {
        let list = groups.entry(g).or_default();
        let gv = format!("{g}/{v}");
        if !list.contains(&gv) {
            list.push(gv);
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
    if state.behaviour.unavailable.contains(&(group, version)) {
        return status(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        );
    }
    let mut resources: Vec<Value> = state
        .resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            json!({"name": r.plural, "singularName": "", "namespaced": r.namespaced,
                   "kind": r.kind, "verbs": ["get", "list", "watch"]})
        })
        .collect();
    for d in state
        .behaviour
        .discovered
        .iter()
        .filter(|d| d.group == group && d.version == version)
    {
        resources.push(json!({"name": d.plural, "singularName": d.singular,
            "namespaced": d.namespaced, "kind": d.kind, "shortNames": d.short_names,
            "verbs": ["get", "list", "watch", "create", "delete"]}));
        // A subresource, which names no resource type of its own.
        resources.push(
            json!({"name": format!("{}/status", d.plural), "singularName": "",
            "namespaced": d.namespaced, "kind": d.kind, "verbs": ["get", "patch"]}),
        );
    }
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
