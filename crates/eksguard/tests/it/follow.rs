//! `eksguard audit scan --cloudwatch GROUP --follow` end to end, against moto's CloudWatch
//! Logs (the endpoint of `aws_live`): events written while the follower runs are found,
//! a follower killed with SIGKILL and restarted from its checkpoint reports every
//! finding once, throttling and server errors in front of moto are survived, SIGTERM
//! ends the run with status 0 and a checkpoint. Every run is compared with a batch
//! `audit scan --cloudwatch` over the same events.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::aws_live::{eksguard, moto_endpoint};
use crate::common::temp_dir;

/// The hand-made intrusion: 31 events, among them a burst of 21 denied requests and an
/// exec session.
const INCIDENT: &str = include_str!("../../../../examples/audit/incident.log");

/// (timestamp in ms, message) of events.
type Events = Vec<(i64, String)>;

/// The incident's events, timed by their `stageTimestamp`.
fn incident() -> Events {
    INCIDENT
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("fixture line is JSON");
            let at = v["stageTimestamp"].as_str().expect("stageTimestamp");
            let micros = eksguard_model::audit::parse_rfc3339_micros(at).expect("RFC 3339");
            (micros / 1000, l.to_string())
        })
        .collect()
}

/// A CloudWatch Logs call to moto: JSON 1.1 over plain HTTP. moto checks no signature;
/// the credential scope names the region.
fn logs_call(endpoint: &str, op: &str, body: Value) -> Value {
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = body.to_string();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: Logs_20140328.{op}\r\n\
         Content-Type: application/x-amz-json-1.1\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, text) = http(addr, &req);
    assert_eq!(status, 200, "{op}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Sends one request and reads the answer to the end: (status, body).
fn http(addr: &str, req: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn get(port: u16, path: &str) -> (u16, String) {
    http(
        &format!("127.0.0.1:{port}"),
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
}

/// A fresh log group with one audit stream.
fn new_group(endpoint: &str, tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let group = format!(
        "/aws/eks/follow-{tag}-{}-{nanos}/cluster",
        std::process::id()
    );
    logs_call(endpoint, "CreateLogGroup", json!({"logGroupName": group}));
    group
}

fn put(endpoint: &str, group: &str, stream: &str, events: &[(i64, String)]) {
    let existing = logs_call(
        endpoint,
        "DescribeLogStreams",
        json!({"logGroupName": group, "logStreamNamePrefix": stream}),
    );
    let known = existing["logStreams"]
        .as_array()
        .is_some_and(|a| a.iter().any(|s| s["logStreamName"] == stream));
    if !known {
        logs_call(
            endpoint,
            "CreateLogStream",
            json!({"logGroupName": group, "logStreamName": stream}),
        );
    }
    let events: Vec<Value> = events
        .iter()
        .map(|(t, m)| json!({"timestamp": t, "message": m}))
        .collect();
    logs_call(
        endpoint,
        "PutLogEvents",
        json!({"logGroupName": group, "logStreamName": stream, "logEvents": events}),
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// (rule, file, line, message) of each finding line of a JSON-lines report, sorted.
fn finding_lines(text: &str) -> Vec<(String, String, u64, String)> {
    let mut out: Vec<_> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("rule_id").is_some())
        .map(|v| {
            (
                v["rule_id"].as_str().unwrap_or_default().to_string(),
                v["location"]["file"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                v["location"]["line"].as_u64().unwrap_or_default(),
                v["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The findings of a batch `audit scan --cloudwatch` over the group as it is now.
fn batch(endpoint: &str, group: &str) -> Vec<(String, String, u64, String)> {
    let out = eksguard()
        .args([
            "audit",
            "scan",
            "--cloudwatch",
            group,
            "--endpoint-url",
            endpoint,
        ])
        .args([
            "--region",
            "us-east-1",
            "--no-config",
            "-f",
            "jsonl",
            "--fail-on",
            "never",
        ])
        .output()
        .expect("eksguard runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    finding_lines(&String::from_utf8_lossy(&out.stdout))
}

struct Follower {
    child: Child,
    dir: PathBuf,
}

impl Follower {
    fn start(endpoint: &str, group: &str, dir: &Path, extra: &[&str]) -> Follower {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("stderr.log"))
            .unwrap();
        let child = eksguard()
            .args(["audit", "scan", "--cloudwatch", group, "--follow"])
            .args(["--poll-interval", "300ms", "--endpoint-url", endpoint])
            .args(["--region", "us-east-1", "--no-config"])
            .args(if extra.contains(&"-f") {
                &[][..]
            } else {
                &["-f", "jsonl"][..]
            })
            .arg("--checkpoint")
            .arg(dir.join("checkpoint.json"))
            .arg("--output")
            .arg(dir.join("findings.jsonl"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("eksguard starts");
        Follower {
            child,
            dir: dir.to_path_buf(),
        }
    }

    fn findings(&self) -> Vec<(String, String, u64, String)> {
        finding_lines(&std::fs::read_to_string(self.dir.join("findings.jsonl")).unwrap_or_default())
    }

    fn checkpoint(&self) -> Value {
        std::fs::read_to_string(self.dir.join("checkpoint.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// Events judged in `stream` according to the checkpoint on disk.
    fn judged(&self, stream: &str) -> u64 {
        self.checkpoint()["positions"]["streams"][stream]["events"]
            .as_u64()
            .unwrap_or(0)
    }

    fn wait(&self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if done(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}; stderr:\n{}", self.stderr());
    }

    /// SIGTERM, then the exit status.
    fn terminate(mut self) -> (Option<i32>, Self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        (status.code(), self)
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const A: &str = "kube-apiserver-audit-0a1b2c";
const B: &str = "kube-apiserver-audit-3d4e5f";

#[test]
fn events_written_while_following_are_found_and_sigterm_ends_cleanly() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let events = incident();
    let group = new_group(endpoint, "live");
    // Not an audit stream: never read.
    put(
        endpoint,
        &group,
        "authenticator-0a1b2c",
        &[(events[0].0, "time=x msg=y".into())],
    );
    put(endpoint, &group, A, &events[..10]);
    let dir = temp_dir("follow-live");
    let port = free_port();
    let f = Follower::start(
        endpoint,
        &group,
        &dir,
        &["--metrics-listen", &format!("127.0.0.1:{port}")],
    );
    f.wait("the first events", |f| f.judged(A) == 10);

    // More events in the stream followed, and a stream EKS adds later.
    put(endpoint, &group, A, &events[10..20]);
    put(endpoint, &group, B, &events[20..]);
    let expected = batch(endpoint, &group);
    let rules: Vec<&str> = expected.iter().map(|f| f.0.as_str()).collect();
    for id in ["AUD002", "AUD020", "AUD019"] {
        assert!(rules.contains(&id), "{id} in {expected:#?}");
    }
    f.wait("every finding", |f| f.findings().len() >= expected.len());
    assert_eq!(f.findings(), expected);
    assert!(
        f.stderr().contains(&format!("following {group}/{B}")),
        "{}",
        f.stderr()
    );

    let (status, metrics) = get(port, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("eksguard_audit_events_read_total 31\n"),
        "{metrics}"
    );
    let execs = expected.iter().filter(|f| f.0 == "AUD002").count();
    assert!(
        metrics.contains(&format!(
            "eksguard_audit_findings_total{{rule=\"AUD002\"}} {execs}\n"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("eksguard_audit_lag_seconds 0.0\n"),
        "{metrics}"
    );
    assert!(metrics.contains("eksguard_audit_streams 2\n"), "{metrics}");
    assert_eq!(get(port, "/healthz"), (200, "ok\n".into()));
    assert_eq!(get(port, "/nothing").0, 404);

    // A stream deleted while followed is reported and dropped.
    logs_call(
        endpoint,
        "DeleteLogStream",
        json!({"logGroupName": group, "logStreamName": B}),
    );
    f.wait("the deleted stream to be dropped", |f| {
        f.checkpoint()["positions"]["streams"].get(B).is_none()
    });
    assert!(
        f.stderr()
            .contains(&format!("{group}/{B}: the stream was deleted")),
        "{}",
        f.stderr()
    );

    let (code, f) = f.terminate();
    assert_eq!(code, Some(0), "{}", f.stderr());
    assert_eq!(f.judged(A), 20, "the checkpoint is there");
    let out = std::fs::read_to_string(dir.join("findings.jsonl")).unwrap();
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["summary"]["resources_scanned"], 31, "{last:#}");
    assert_eq!(f.findings(), expected, "nothing more after SIGTERM");
    assert!(!f.stderr().contains("error"), "{}", f.stderr());
}

#[test]
fn killed_and_restarted_from_the_checkpoint_each_finding_appears_once() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let events = incident();
    // Cut in the middle of the burst of denied requests: AUD020 fires only if the
    // restarted follower remembers the refusals counted before the kill.
    let denied: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, (_, m))| m.contains(r#""code":403"#))
        .map(|(i, _)| i)
        .collect();
    assert!(denied.len() >= 20, "the fixture holds a burst");
    let cut = denied[10];
    let group = new_group(endpoint, "kill");
    put(endpoint, &group, A, &events[..cut]);
    let dir = temp_dir("follow-kill");
    let mut f = Follower::start(endpoint, &group, &dir, &[]);
    f.wait("the first events", |f| f.judged(A) == cut as u64);
    let before = f.findings();
    assert!(before.iter().all(|x| x.0 != "AUD020"), "{before:#?}");
    // Let a poll or two go by, then kill it without warning.
    std::thread::sleep(Duration::from_millis(700));
    f.child.kill().unwrap();
    f.child.wait().unwrap();
    drop(f);

    // As if killed after writing a poll's findings but before saving its checkpoint:
    // the restart cuts the output back to what the checkpoint knew.
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("findings.jsonl"))
        .unwrap()
        .write_all(b"{\"rule_id\":\"AUD002\",\"message\":\"written after the checkpoint\"}\n")
        .unwrap();

    put(endpoint, &group, A, &events[cut..]);
    let expected = batch(endpoint, &group);
    assert!(expected.iter().any(|x| x.0 == "AUD020"), "{expected:#?}");
    let f = Follower::start(endpoint, &group, &dir, &[]);
    f.wait("the rest", |f| f.judged(A) == events.len() as u64);
    f.wait("every finding", |f| f.findings().len() >= expected.len());
    // A few more polls: nothing is reported again.
    std::thread::sleep(Duration::from_millis(1000));
    let (code, f) = f.terminate();
    assert_eq!(code, Some(0), "{}", f.stderr());
    assert_eq!(f.findings(), expected);
}

#[test]
fn late_events_within_the_look_back_are_judged_once() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let events = incident();
    // The exec session (logged when it started and when it ended) arrives late.
    let (late, on_time): (Events, Events) = events
        .iter()
        .cloned()
        .partition(|(_, m)| m.contains("/exec?"));
    assert_eq!(late.len(), 2);
    let group = new_group(endpoint, "late");
    put(endpoint, &group, A, &on_time);
    let dir = temp_dir("follow-late");
    let f = Follower::start(
        endpoint,
        &group,
        &dir,
        &["-f", "text", "--look-back", "10m"],
    );
    f.wait("the events on time", |f| {
        f.judged(A) == on_time.len() as u64
    });
    // Then the session, after later events were read, with its own, older times.
    put(endpoint, &group, A, &late);
    f.wait("the late event", |f| f.judged(A) == events.len() as u64);
    std::thread::sleep(Duration::from_millis(700));
    let (code, f) = f.terminate();
    assert_eq!(code, Some(0), "{}", f.stderr());
    assert_eq!(f.judged(A), events.len() as u64, "read again, judged once");
    // Text as found: one block per finding, the event in place of a code frame. The late
    // event is numbered after those read before it.
    let text = std::fs::read_to_string(dir.join("findings.jsonl")).unwrap();
    let blocks = |rule: &str| text.matches(&format!(" {rule} ")).count();
    let expected = batch(endpoint, &group);
    for rule in ["AUD002", "AUD017", "AUD020"] {
        let n = expected.iter().filter(|x| x.0 == rule).count();
        assert_eq!(blocks(rule), n, "{rule}:\n{text}");
    }
    assert!(
        text.contains(&format!(
            "--> {group}/{A}:{}:1  .requestURI",
            events.len() - 1
        )),
        "{text}"
    );
    assert!(
        text.contains("| when: 2026-11-27T10:04:40.000000Z (ResponseStarted)"),
        "{text}"
    );
}

/// A proxy in front of moto that answers some requests itself: a 400
/// `ThrottlingException` or a 503, as CloudWatch does under load.
struct FaultProxy {
    addr: String,
    throttled: Arc<AtomicUsize>,
    unavailable: Arc<AtomicUsize>,
}

fn fault_proxy(upstream: &str) -> FaultProxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let throttled = Arc::new(AtomicUsize::new(0));
    let unavailable = Arc::new(AtomicUsize::new(0));
    let count = Arc::new(AtomicUsize::new(0));
    let (t, u) = (throttled.clone(), unavailable.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let (upstream, count, t, u) = (upstream.clone(), count.clone(), t.clone(), u.clone());
            std::thread::spawn(move || {
                let _ = relay(conn, &upstream, &count, &t, &u);
            });
        }
    });
    FaultProxy {
        addr: format!("http://{addr}"),
        throttled,
        unavailable,
    }
}

/// One request per connection: read it, then answer with a fault or moto's answer.
fn relay(
    mut conn: TcpStream,
    upstream: &str,
    count: &AtomicUsize,
    throttled: &AtomicUsize,
    unavailable: &AtomicUsize,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        req.extend_from_slice(&buf[..n]);
        if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&req[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while req.len() < head_end + length {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        req.extend_from_slice(&buf[..n]);
    }
    let fault = |status: &str, kind: &str| {
        let body = format!(r#"{{"__type":"{kind}","message":"injected by the test"}}"#);
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: {kind}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let answer = match count.fetch_add(1, Ordering::SeqCst) % 4 {
        1 => {
            throttled.fetch_add(1, Ordering::SeqCst);
            fault("400 Bad Request", "ThrottlingException").into_bytes()
        }
        3 => {
            unavailable.fetch_add(1, Ordering::SeqCst);
            fault("503 Service Unavailable", "ServiceUnavailableException").into_bytes()
        }
        _ => {
            // Forwarded with the connection closed after the answer on both sides.
            let mut up = TcpStream::connect(upstream)?;
            let head: String = head
                .split("\r\n")
                .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                .map(|l| format!("{l}\r\n"))
                .collect::<String>()
                .trim_end()
                .to_string();
            up.write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes())?;
            up.write_all(&req[head_end..])?;
            let mut resp = Vec::new();
            up.read_to_end(&mut resp)?;
            let split = resp
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .unwrap_or(resp.len());
            let rhead: String = String::from_utf8_lossy(&resp[..split])
                .split("\r\n")
                .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                .map(|l| format!("{l}\r\n"))
                .collect();
            let mut out = format!("{rhead}Connection: close").into_bytes();
            out.extend_from_slice(&resp[split..]);
            out
        }
    };
    conn.write_all(&answer)?;
    conn.flush()
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let events = incident();
    let group = new_group(endpoint, "faults");
    put(endpoint, &group, A, &events[..15]);
    let proxy = fault_proxy(endpoint);
    let dir = temp_dir("follow-faults");
    let f = Follower::start(&proxy.addr, &group, &dir, &[]);
    f.wait("the first events", |f| f.judged(A) == 15);
    put(endpoint, &group, A, &events[15..]);
    let expected = batch(endpoint, &group);
    f.wait("every finding", |f| f.findings().len() >= expected.len());
    // Polls go on through the faults: a few of each kind.
    f.wait("faults of both kinds", |_| {
        proxy.throttled.load(Ordering::SeqCst) >= 3 && proxy.unavailable.load(Ordering::SeqCst) >= 3
    });
    let (code, f) = f.terminate();
    assert_eq!(code, Some(0), "{}", f.stderr());
    assert_eq!(f.findings(), expected);
    // Every fault was absorbed by a retry.
    assert!(!f.stderr().contains("error"), "{}", f.stderr());
}

#[test]
fn a_damaged_or_foreign_checkpoint_is_refused_naming_file_and_line() {
    let dir = temp_dir("follow-checkpoint");
    let cp = dir.join("checkpoint.json");
    let run = |cp: &Path, extra: &[&str]| {
        let out = eksguard()
            .args([
                "audit",
                "scan",
                "--cloudwatch",
                "/aws/eks/x/cluster",
                "--follow",
            ])
            .args([
                "--endpoint-url",
                "http://127.0.0.1:9",
                "--region",
                "us-east-1",
            ])
            .args(["--no-config"])
            .arg("--checkpoint")
            .arg(cp)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    std::fs::write(&cp, "{\n  \"version\": 1,\n  \"log_group\": oops\n}\n").unwrap();
    let (code, stderr) = run(&cp, &[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!("{}:3: not an eksguard checkpoint", cp.display())),
        "{stderr}"
    );
    let other = json!({"version": 1, "log_group": "/aws/eks/y/cluster", "positions": {"streams": {}},
                       "rules": {}, "audit_ids": ""});
    std::fs::write(&cp, other.to_string()).unwrap();
    let (code, stderr) = run(&cp, &[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("checkpoint of log group /aws/eks/y/cluster, not /aws/eks/x/cluster"),
        "{stderr}"
    );
    // Documents sorted over all findings cannot be written as findings come.
    let (code, stderr) = run(&dir.join("none.json"), &["-f", "sarif"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--format text, jsonl or asff"), "{stderr}");
}

#[test]
fn a_missing_log_group_is_an_error_naming_it() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let out = eksguard()
        .args([
            "audit",
            "scan",
            "--cloudwatch",
            "/aws/eks/no-such-cluster/cluster",
        ])
        .args([
            "--follow",
            "--endpoint-url",
            endpoint,
            "--region",
            "us-east-1",
        ])
        .arg("--no-config")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("logs:DescribeLogStreams on /aws/eks/no-such-cluster/cluster: ResourceNotFoundException"),
        "{stderr}"
    );
}

#[test]
fn findings_go_to_security_hub_as_they_are_found() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let group = new_group(endpoint, "hub");
    put(endpoint, &group, A, &incident());
    let expected = batch(endpoint, &group);
    let dir = temp_dir("follow-hub");
    let f = Follower::start(endpoint, &group, &dir, &["-f", "asff", "--security-hub"]);
    let written = |f: &Follower| -> Vec<Value> {
        let text = std::fs::read_to_string(f.dir.join("findings.jsonl")).unwrap_or_default();
        // Only whole lines: the follower may be writing the next one.
        let whole = text.rfind('\n').map_or("", |at| &text[..at]);
        whole
            .lines()
            .map(|l| serde_json::from_str(l).expect("one ASFF finding per line"))
            .collect()
    };
    f.wait("every finding", |f| written(f).len() >= expected.len());
    let asff = written(&f);
    let mut rules: Vec<String> = asff
        .iter()
        .map(|v| v["GeneratorId"].as_str().unwrap().replace("eksguard/", ""))
        .collect();
    rules.sort();
    let mut want: Vec<String> = expected.iter().map(|e| e.0.clone()).collect();
    want.sort();
    assert_eq!(rules, want);
    assert!(asff
        .iter()
        .all(|v| v["Types"][0] == "Unusual Behaviors/User/Kubernetes audit events"));

    let n = expected.len();
    f.wait("the import", |f| {
        f.stderr()
            .contains(&format!("security hub: {n} findings imported, 0 refused"))
    });
    let scope = format!("audit:cloudwatch:{group}");
    let held = crate::security_hub::hub_findings_in(endpoint, &scope, "us-east-1");
    let ids = |v: &[Value]| -> std::collections::BTreeSet<String> {
        v.iter()
            .map(|f| f["Id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&held), ids(&asff));
    let (code, f) = f.terminate();
    assert_eq!(code, Some(0), "{}", f.stderr());
    assert!(!f.stderr().contains("error"), "{}", f.stderr());
}
