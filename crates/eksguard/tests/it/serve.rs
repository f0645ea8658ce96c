//! `eksguard serve` end to end: the built binary on a loopback port with a certificate
//! made here, AdmissionReviews of the shape the API server sends over HTTPS, and the
//! watch cache against the fake API server.
#![cfg(feature = "serve")]

use crate::common;
use crate::fake_kube::{Behaviour, FakeKube, Resource};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A certificate for `localhost` and its key, as PEM.
fn certificate() -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    (ck.cert.pem(), ck.signing_key.serialize_pem())
}

struct Server {
    child: Child,
    addr: String,
    /// The plain-HTTP listener of the probes and metrics.
    plain: String,
    log: Arc<Mutex<String>>,
    dir: PathBuf,
    ca: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `eksguard serve` on a free loopback port with a fresh certificate; `config` is
/// written to a file and passed with `--config` when given.
fn start(args: &[&str], config: Option<&str>) -> Server {
    let dir = common::temp_dir("serve");
    let (cert, key) = certificate();
    std::fs::write(dir.join("tls.crt"), &cert).unwrap();
    std::fs::write(dir.join("tls.key"), &key).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    cmd.arg("serve")
        .arg("--listen=127.0.0.1:0")
        .arg("--metrics-listen=127.0.0.1:0")
        .arg("--tls-cert")
        .arg(dir.join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.join("tls.key"))
        .args(args)
        // Never the developer's cluster.
        .env("KUBECONFIG", "/nonexistent/eksguard-test")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(text) = config {
        std::fs::write(dir.join("eksguard.toml"), text).unwrap();
        cmd.arg("--config").arg(dir.join("eksguard.toml"));
    }
    let mut child = cmd.spawn().expect("start eksguard serve");
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(a) = line.split("listening on https://").nth(1) {
                    let _ = tx.send(a.to_string());
                }
                if let Some(a) = line.split("metrics and probes on http://").nth(1) {
                    let _ = tx.send(a.to_string());
                }
                let mut l = log.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
    }
    let mut next = || match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(a) => a,
        Err(_) => {
            let _ = child.kill();
            panic!("serve did not start: {}", log.lock().unwrap());
        }
    };
    // The metrics listener is announced first.
    let plain = next();
    let addr = next();
    Server {
        child,
        addr,
        plain,
        log,
        dir,
        ca: cert,
    }
}

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn tls_client(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// One HTTPS exchange on a new connection, trusting only `ca_pem`. `head` is extra
/// header lines; `body` is sent as it is (a failed write is not an error: the server may
/// answer and close before it has read everything).
fn exchange(
    addr: &str,
    ca_pem: &str,
    method: &str,
    path: &str,
    head: &str,
    body: &[u8],
) -> std::io::Result<Answer> {
    let conn = rustls::ClientConnection::new(tls_client(ca_pem), "localhost".try_into().unwrap())
        .map_err(std::io::Error::other)?;
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut s = rustls::StreamOwned::new(conn, tcp);
    s.write_all(
        format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{head}\r\n")
            .as_bytes(),
    )?;
    for part in body.chunks(64 * 1024) {
        if s.write_all(part).is_err() {
            break;
        }
    }
    let _ = s.flush();
    let mut raw = Vec::new();
    // The server may close without a TLS close_notify after an early answer.
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {text:?}")))?;
    Ok(Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}

/// One plain-HTTP exchange on a new connection.
fn plain_exchange(addr: &str, path: &str) -> std::io::Result<Answer> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {text:?}")))?;
    Ok(Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}

impl Server {
    fn get(&self, path: &str) -> Answer {
        exchange(&self.addr, &self.ca, "GET", path, "", b"").unwrap()
    }

    fn get_with(&self, path: &str, head: &str) -> Answer {
        exchange(&self.addr, &self.ca, "GET", path, head, b"").unwrap()
    }

    /// A GET on the plain-HTTP listener.
    fn plain_get(&self, path: &str) -> Answer {
        plain_exchange(&self.plain, path).unwrap()
    }

    fn post(&self, body: &[u8]) -> Answer {
        let head = format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        exchange(&self.addr, &self.ca, "POST", "/validate", &head, body).unwrap()
    }

    /// The `response` of the AdmissionReview answer to `review`.
    fn review(&self, review: &Value) -> Value {
        let a = self.post(review.to_string().as_bytes());
        assert_eq!(a.status, 200, "{}", a.body);
        let doc = a.json();
        assert_eq!(doc["kind"], "AdmissionReview");
        assert_eq!(doc["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(doc["response"]["uid"], review["request"]["uid"]);
        doc["response"].clone()
    }

    fn metrics(&self) -> String {
        let a = self.plain_get("/metrics");
        assert_eq!(a.status, 200);
        a.body
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

fn admission_review(op: &str, user: &str, object: Option<Value>, old: Option<Value>) -> Value {
    let obj = object.as_ref().or(old.as_ref()).unwrap();
    let kind = obj["kind"].as_str().unwrap();
    let group = obj["apiVersion"]
        .as_str()
        .unwrap()
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or("");
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": format!("uid-{op}-{kind}"),
            "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": format!("{}s", kind.to_lowercase())},
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"]["namespace"],
            "operation": op,
            "userInfo": {"username": user, "groups": ["system:authenticated"]},
            "object": object,
            "oldObject": old,
            "dryRun": false,
            "options": null
        }
    })
}

fn pod_spec(privileged: bool) -> Value {
    json!({"containers": [{"name": "web", "image": "nginx:1.27",
        "securityContext": {"privileged": privileged}}]})
}

fn deployment(ns: &str, privileged: bool) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec(privileged)}}})
}

const PRIVILEGED_PATH: &str = "spec.template.spec.containers[0].securityContext.privileged";

#[test]
fn privileged_deployment_is_denied_naming_rule_and_field() {
    let s = start(&[], None);
    let r = s.review(&admission_review(
        "CREATE",
        "alice",
        Some(deployment("shop", true)),
        None,
    ));
    assert_eq!(r["allowed"], false, "{r}");
    assert_eq!(r["status"]["code"], 403);
    let message = r["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("eksguard: Deployment shop/web has ")
            && message.contains(&format!("\n- POD001 (critical) {PRIVILEGED_PATH}: ")),
        "{message}"
    );
    let warnings: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with(&format!("POD001 (critical) {PRIVILEGED_PATH}"))),
        "{warnings:?}"
    );
    assert!(warnings.iter().all(|w| w.len() <= 200), "{warnings:?}");
    assert!(r["auditAnnotations"]["pod001"]
        .as_str()
        .unwrap()
        .starts_with(&format!("critical {PRIVILEGED_PATH}: ")));
    assert_eq!(r["auditAnnotations"]["decision"], "denied");

    // A clean Deployment passes; what is below --deny-on only warns.
    let r = s.review(&admission_review(
        "CREATE",
        "alice",
        Some(deployment("shop", false)),
        None,
    ));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r.get("status").is_none());

    let m = s.metrics();
    assert!(
        m.contains(r#"eksguard_admission_requests_total{operation="CREATE",kind="Deployment",decision="denied"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"eksguard_admission_findings_total{rule="POD001",severity="critical"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"eksguard_request_duration_seconds_count{endpoint="/validate"} 2"#),
        "{m}"
    );
    assert_eq!(s.get("/healthz").status, 200);
    // No watch cache: ready as soon as it listens.
    assert_eq!(s.get("/readyz").status, 200);
    assert_eq!(s.plain_get("/healthz").status, 200);
    assert_eq!(s.plain_get("/readyz").status, 200);
    assert_eq!(s.get("/report").status, 404);
    // Metrics only on their own port.
    assert_eq!(s.get("/metrics").status, 404);
}

#[test]
fn update_is_judged_against_the_old_object() {
    let s = start(&[], None);
    let old = deployment("shop", true);
    let mut scaled = old.clone();
    scaled["spec"]["replicas"] = json!(5);
    let r = s.review(&admission_review(
        "UPDATE",
        "alice",
        Some(scaled.clone()),
        Some(old.clone()),
    ));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(
        r["warnings"].as_array().unwrap().iter().any(|w| {
            let w = w.as_str().unwrap();
            w.starts_with("POD001") && w.contains("[already present before this update]")
        }),
        "{r}"
    );
    // A problem the update brings is denied; the old one is not listed as the reason.
    scaled["spec"]["template"]["spec"]["hostNetwork"] = json!(true);
    let r = s.review(&admission_review(
        "UPDATE",
        "alice",
        Some(scaled),
        Some(old.clone()),
    ));
    assert_eq!(r["allowed"], false, "{r}");
    let message = r["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("spec.template.spec.hostNetwork") && !message.contains("POD001"),
        "{message}"
    );
    // A new privileged container placed first is new, not "already present" because a
    // privileged container was at index 0 before.
    let mut added = old.clone();
    added["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .insert(0, json!({"name": "sidecar", "image": "busybox:1.36", "securityContext": {"privileged": true}}));
    let r = s.review(&admission_review(
        "UPDATE",
        "alice",
        Some(added),
        Some(old.clone()),
    ));
    assert_eq!(r["allowed"], false, "{r}");
    let message = r["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("container `sidecar` runs privileged"),
        "{message}"
    );
    // DELETE (and CONNECT) are allowed whatever the object.
    let r = s.review(&admission_review("DELETE", "alice", None, Some(old)));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(s
        .metrics()
        .contains(r#"eksguard_admission_requests_total{operation="DELETE",kind="Deployment",decision="skipped"} 1"#));
}

#[test]
fn pods_of_a_controller_get_its_answer_bare_pods_are_judged() {
    let s = start(&[], None);
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-6d4-x1", "namespace": "shop", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6d4",
             "uid": "rs-uid", "controller": true}]},
        "spec": pod_spec(true)});
    let r = s.review(&admission_review(
        "CREATE",
        "system:serviceaccount:kube-system:replicaset-controller",
        Some(pod.clone()),
        None,
    ));
    assert_eq!(r["allowed"], true, "{r}");
    assert_eq!(r["auditAnnotations"]["judged-as"], "ReplicaSet/web-6d4");
    assert!(r.get("warnings").is_none(), "{r}");
    // The same owner reference from anyone else is no way around the rules, nor from a
    // kube-system service account that is merely named like a controller.
    for user in [
        "mallory",
        "system:serviceaccount:kube-system:evil-controller",
    ] {
        let r = s.review(&admission_review("CREATE", user, Some(pod.clone()), None));
        assert_eq!(r["allowed"], false, "{user}: {r}");
    }
    pod["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("ownerReferences");
    let r = s.review(&admission_review("CREATE", "alice", Some(pod), None));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(r["status"]["message"]
        .as_str()
        .unwrap()
        .contains("POD001 (critical) spec.containers[0].securityContext.privileged"));
    // Controller pods are not counted again.
    assert!(s
        .metrics()
        .contains(r#"eksguard_admission_findings_total{rule="POD001",severity="critical"} 3"#));
}

#[test]
fn cronjob_template_is_judged_at_its_own_path() {
    let s = start(&[], None);
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "backup", "namespace": "ops"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {
            "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "b", "image": "busybox:1.36",
                "securityContext": {"privileged": true}}]}}}}}});
    let r = s.review(&admission_review("CREATE", "alice", Some(cron), None));
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        r["status"]["message"].as_str().unwrap().contains(
            "POD001 (critical) spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged"
        ),
        "{r}"
    );
}

#[test]
fn exemptions_suppressions_and_dry_run() {
    let config = r#"
[[admission.exempt]]
namespace = "legacy"
reason = "the old shop, until it is rebuilt"

[[suppress]]
rules = ["POD002"]
reason = "not judged here"
"#;
    let s = start(&[], Some(config));
    let r = s.review(&admission_review(
        "CREATE",
        "alice",
        Some(deployment("legacy", true)),
        None,
    ));
    assert_eq!(r["allowed"], true, "{r}");
    assert_eq!(
        r["auditAnnotations"]["exempt"],
        "the old shop, until it is rebuilt"
    );

    // Whoever may create the object writes its annotations: they exempt nothing at
    // admission, not even a template that lists every family.
    let mut annotated = deployment("shop", true);
    annotated["spec"]["template"]["spec"]["hostPID"] = json!(true);
    annotated["spec"]["template"]["metadata"]["annotations"] = json!({"eksguard.io/ignore":
        "POD,RUN,QOS,IMG,IAM,IRSA,NET,TEN,DATA -- the node agent needs the host"});
    let r = s.review(&admission_review(
        "CREATE",
        "alice",
        Some(annotated.clone()),
        None,
    ));
    assert_eq!(r["allowed"], false, "{r}");
    let message = r["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("POD001") && message.contains("POD008"),
        "{message}"
    );
    // The configuration's own suppressions still apply.
    assert_eq!(
        r["auditAnnotations"]["suppressed"], "POD002 (config [[suppress]]): not judged here",
        "{r}"
    );
    drop(s);

    // Trusted for a namespace the server names, each use recorded and counted.
    let s = start(&["--trust-annotations-in", "shop"], None);
    let r = s.review(&admission_review(
        "CREATE",
        "alice",
        Some(annotated.clone()),
        None,
    ));
    assert_eq!(r["allowed"], true, "{r}");
    let used = r["auditAnnotations"]["suppressed-by-annotation"]
        .as_str()
        .unwrap();
    assert!(
        used.starts_with("trusted in namespace shop: ")
            && used.contains("POD001: the node agent needs the host"),
        "{r}"
    );
    let m = s.metrics();
    assert!(
        m.contains(
            r#"eksguard_admission_annotation_suppressions_total{namespace="shop",rule="POD001"} 1"#
        ),
        "{m}"
    );
    let mut elsewhere = annotated;
    elsewhere["metadata"]["namespace"] = json!("payments");
    let r = s.review(&admission_review("CREATE", "alice", Some(elsewhere), None));
    assert_eq!(r["allowed"], false, "{r}");
    drop(s);

    let s = start(&["--dry-run"], None);
    let r = s.review(&admission_review(
        "CREATE",
        "alice",
        Some(deployment("shop", true)),
        None,
    ));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().starts_with("would be denied: POD001")));
    assert_eq!(r["auditAnnotations"]["decision"], "dry-run-denied");
}

#[test]
fn config_errors_name_file_and_line() {
    let dir = common::temp_dir("serve-config");
    std::fs::write(
        dir.join("c.toml"),
        "\n[[admission.exempt]]\nnamespace = \"ops\"\n",
    )
    .unwrap();
    let (cert, key) = certificate();
    std::fs::write(dir.join("c.crt"), cert).unwrap();
    std::fs::write(dir.join("c.key"), key).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .arg("serve")
        .arg("--listen=127.0.0.1:0")
        .arg("--tls-cert")
        .arg(dir.join("c.crt"))
        .arg("--tls-key")
        .arg(dir.join("c.key"))
        .arg("--config")
        .arg(dir.join("c.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:2: ", dir.join("c.toml").display())) && err.contains("reason"),
        "{err}"
    );
    // A key file that holds no key is named.
    std::fs::write(dir.join("c.key"), "not a key\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .args(["serve", "--listen=127.0.0.1:0", "--no-watch", "--tls-cert"])
        .arg(dir.join("c.crt"))
        .arg("--tls-key")
        .arg(dir.join("c.key"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}: no PEM private key",
            dir.join("c.key").display()
        )),
        "{err}"
    );
}

#[test]
fn malformed_and_oversized_bodies_are_refused() {
    let s = start(&[], None);
    let a = s.post(b"{\"apiVersion\": ");
    assert_eq!(a.status, 400);
    assert!(a.body.contains("not JSON"), "{}", a.body);
    let a = s.post(br#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}"#);
    assert_eq!(a.status, 400);
    assert!(a.body.contains("expected an AdmissionReview"), "{}", a.body);

    // Declared too large: answered at once, before any of the body is sent.
    let a = exchange(
        &s.addr,
        &s.ca,
        "POST",
        "/validate",
        &format!("Content-Length: {}\r\n", 4 * 1024 * 1024),
        b"",
    )
    .unwrap();
    assert_eq!(a.status, 413, "{}", a.body);
    // Chunked, with no length: refused once it grows past the limit. The server closes
    // the connection on what it did not read, so the client may see the answer or a
    // reset; the count says it was refused.
    let mut chunked = Vec::new();
    for _ in 0..64 {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunked.extend(std::iter::repeat_n(b' ', 64 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    if let Ok(a) = exchange(
        &s.addr,
        &s.ca,
        "POST",
        "/validate",
        "Transfer-Encoding: chunked\r\n",
        &chunked,
    ) {
        assert_eq!(a.status, 413, "{}", a.body);
    }
    assert_eq!(s.get("/nothing").status, 404);
    assert_eq!(s.get("/validate").status, 405);
    // Still serving after all of that.
    let r = s.review(&admission_review(
        "CREATE",
        "alice",
        Some(deployment("shop", false)),
        None,
    ));
    assert_eq!(r["allowed"], true);
    let m = s.metrics();
    assert!(
        m.contains(r#"eksguard_rejected_requests_total{code="400"} 2"#),
        "{m}"
    );
    assert!(
        m.contains(r#"eksguard_rejected_requests_total{code="413"} 2"#),
        "{m}"
    );
}

#[test]
fn a_client_that_stops_sending_its_body_is_cut_off() {
    let s = start(&[], None);
    let started = Instant::now();
    // Ten bytes of a declared hundred, then nothing: the body timeout answers.
    let a = exchange(
        &s.addr,
        &s.ca,
        "POST",
        "/validate",
        "Content-Length: 100\r\n",
        b"{\"apiVersi",
    )
    .unwrap();
    assert_eq!(a.status, 408, "{}", a.body);
    assert!(started.elapsed() < Duration::from_secs(25));
    assert!(s
        .metrics()
        .contains(r#"eksguard_rejected_requests_total{code="408"} 1"#));
}

#[test]
fn a_rotated_certificate_is_served_to_new_connections() {
    let s = start(&[], None);
    let old_ca = s.ca.clone();
    assert_eq!(
        exchange(&s.addr, &old_ca, "GET", "/healthz", "", b"")
            .unwrap()
            .status,
        200
    );
    let (cert, key) = certificate();
    // Written as a rotation writes them: the key may land first.
    write_replacing(&s.dir.join("tls.key"), &key);
    write_replacing(&s.dir.join("tls.crt"), &cert);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(a) = exchange(&s.addr, &cert, "GET", "/healthz", "", b"") {
            assert_eq!(a.status, 200);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "new certificate never served: {}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        exchange(&s.addr, &old_ca, "GET", "/healthz", "", b"").is_err(),
        "the old certificate is still served"
    );
    // The log is read on a thread of its own: wait for the line rather than race it.
    wait_for("the reload to be logged", &s, || {
        s.log().contains("certificate and key reloaded")
    });
    // A broken rotation keeps the working pair.
    std::fs::write(s.dir.join("tls.crt"), "garbage").unwrap();
    assert_eq!(
        exchange(&s.addr, &cert, "GET", "/healthz", "", b"")
            .unwrap()
            .status,
        200
    );
    wait_for("the failed reload to be logged", &s, || {
        s.log().contains("the previous pair stays")
    });
}

/// Replaces a file by renaming a new one over it (as kubelet swaps a mounted Secret).
fn write_replacing(path: &Path, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn res(
    group: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    items: Vec<Value>,
) -> Resource {
    Resource {
        group,
        version: "v1",
        plural,
        kind,
        namespaced,
        items,
    }
}

const TOKEN: &str = "watch-test-token";

/// A fake API server with the kinds the watch cache reads: namespace `shop` with no
/// network policy, and a kubeconfig for it.
fn fake_cluster(extra: Vec<Resource>) -> (FakeKube, PathBuf) {
    let rbac = "rbac.authorization.k8s.io";
    let mut resources = vec![
        res(
            "",
            "namespaces",
            "Namespace",
            false,
            vec![
                json!({"metadata": {"name": "shop"}}),
                json!({"metadata": {"name": "kube-system"}}),
            ],
        ),
        res(
            "",
            "serviceaccounts",
            "ServiceAccount",
            true,
            vec![json!({"metadata": {"name": "default", "namespace": "shop"}})],
        ),
        res("", "resourcequotas", "ResourceQuota", true, vec![]),
        res("", "limitranges", "LimitRange", true, vec![]),
        res("", "configmaps", "ConfigMap", true, vec![]),
        res(
            "networking.k8s.io",
            "networkpolicies",
            "NetworkPolicy",
            true,
            vec![],
        ),
        res(rbac, "roles", "Role", true, vec![]),
        res(rbac, "clusterroles", "ClusterRole", false, vec![]),
        res(rbac, "rolebindings", "RoleBinding", true, vec![]),
        res(
            rbac,
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
            vec![],
        ),
    ];
    resources.extend(extra);
    let kube = FakeKube::start(
        resources,
        Behaviour {
            token: Some(TOKEN.into()),
            users: vec![
                ("reader-token", "jane", vec!["team"]),
                ("other-token", "bob", vec!["system:authenticated"]),
            ],
            grants: vec![("jane", "get services/proxy eksguard/eksguard-webhook")],
            ..Behaviour::default()
        },
    );
    let dir = common::temp_dir("serve-kube");
    let kubeconfig = dir.join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\nusers:\n- name: u\n  user:\n    token: {TOKEN}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: u\ncurrent-context: fake\n",
            kube.url
        ),
    )
    .unwrap();
    (kube, kubeconfig)
}

fn wait_for(what: &str, s: &Server, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: {}", s.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn warned(r: &Value, rule: &str) -> bool {
    r["warnings"]
        .as_array()
        .is_some_and(|w| w.iter().any(|w| w.as_str().unwrap().starts_with(rule)))
}

#[test]
fn the_watch_cache_follows_the_cluster() {
    let (kube, kubeconfig) = fake_cluster(Vec::new());
    let s = start(&["--kubeconfig", kubeconfig.to_str().unwrap()], None);
    wait_for("ready", &s, || s.get("/readyz").status == 200);
    let m = s.metrics();
    assert!(
        m.contains(r#"eksguard_cache_synced{kind="NetworkPolicy"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"eksguard_cache_objects{kind="Namespace"} 2"#),
        "{m}"
    );
    let review = admission_review("CREATE", "alice", Some(deployment("shop", false)), None);

    // No policy in `shop`: the namespace-coverage rule, which needs the cache, warns.
    let r = s.review(&review);
    assert!(warned(&r, "NET001 namespace: "), "{r} {}", s.log());
    assert!(!warned(&r, "NET005"), "{r}");

    // A policy for other pods arrives through the watch: the namespace is covered, this
    // Deployment's pods are not.
    let policy = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "other-only", "namespace": "shop"},
        "spec": {"podSelector": {"matchLabels": {"app": "other"}}, "policyTypes": ["Ingress"]}});
    kube.push("networkpolicies", "ADDED", policy.clone());
    wait_for("policy seen", &s, || {
        let r = s.review(&review);
        warned(&r, "NET005") && !warned(&r, "NET001")
    });

    // The watch expires (410): the cache lists again and keeps following.
    let lists_before = kube
        .requests("/apis/networking.k8s.io/v1/networkpolicies?limit=")
        .len();
    kube.expire("networkpolicies");
    wait_for("re-listed", &s, || {
        s.metrics()
            .contains(r#"eksguard_cache_relists_total{kind="NetworkPolicy"} 1"#)
    });
    wait_for("list after 410", &s, || {
        kube.requests("/apis/networking.k8s.io/v1/networkpolicies?limit=")
            .len()
            > lists_before
    });
    kube.push("networkpolicies", "DELETED", policy);
    wait_for("deletion seen", &s, || {
        let r = s.review(&review);
        warned(&r, "NET001") && !warned(&r, "NET005")
    });
    // Watches carried the resourceVersion of the list they followed.
    assert!(kube
        .requests("/apis/networking.k8s.io/v1/networkpolicies?watch=1")
        .iter()
        .all(|r| r.contains("resourceVersion=100")));
}

#[test]
fn continuous_scan_serves_the_latest_report_and_gauges() {
    let privileged = json!({"metadata": {"name": "web", "namespace": "shop", "uid": "d1"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec(true)}}});
    let deployments = Resource {
        group: "apps",
        version: "v1",
        plural: "deployments",
        kind: "Deployment",
        namespaced: true,
        items: vec![privileged],
    };
    let (kube, kubeconfig) = fake_cluster(vec![deployments]);
    let s = start(
        &[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--scan-interval",
            "1h",
            "--report-access",
            "eksguard/eksguard-webhook",
        ],
        None,
    );
    const READER: &str = "Authorization: Bearer reader-token\r\n";
    wait_for("first scan", &s, || {
        s.get_with("/report?format=json", READER).status == 200
    });
    // The report names the cluster's weak points: only for callers the API server
    // authenticates and allows get on services/proxy of the named Service.
    let a = s.get("/report?format=json");
    assert_eq!(a.status, 401, "{}", a.body);
    let a = s.get_with("/report", "Authorization: Bearer forged\r\n");
    assert_eq!(a.status, 401, "{}", a.body);
    let a = s.get_with("/report", "Authorization: Bearer other-token\r\n");
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(
        a.body
            .contains("bob may not get services/proxy of eksguard/eksguard-webhook"),
        "{}",
        a.body
    );
    let reviews = kube.requests("/apis/authorization.k8s.io/v1/subjectaccessreviews");
    assert!(!reviews.is_empty());
    let s_get = |path: &str| s.get_with(path, READER);
    let report: Value = s_get("/report?format=json").json();
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "POD001" && f["resource"]["name"] == "web"),
        "{report}"
    );
    let sarif: Value = s_get("/report?format=sarif").json();
    assert_eq!(sarif["version"], "2.1.0");
    let md = s_get("/report?format=markdown");
    assert!(md.body.contains("POD001"), "{}", md.body);
    assert_eq!(s_get("/report?format=xml").status, 400);
    let m = s.metrics();
    assert!(
        m.contains(r#"eksguard_report_refusals_total{code="401"} 2"#),
        "{m}"
    );
    assert!(
        m.contains(r#"eksguard_report_refusals_total{code="403"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"eksguard_findings{rule="POD001",severity="critical",namespace="shop",kind="Deployment"} 1"#),
        "{m}"
    );
    assert!(m.contains("eksguard_last_scan_success 1"), "{m}");
    assert!(m.contains("eksguard_last_scan_timestamp_seconds "), "{m}");
}

#[test]
fn a_failed_scan_is_reported_in_metrics_and_log() {
    // A kubeconfig whose server refuses connections.
    let dir = common::temp_dir("serve-down");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = dir.join("config");
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"),
    )
    .unwrap();
    let s = start(
        &[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--scan-interval",
            "1h",
            "--request-timeout",
            "2",
        ],
        None,
    );
    wait_for("failed scan", &s, || {
        s.metrics()
            .contains(r#"eksguard_scans_total{result="failure"} 1"#)
    });
    assert!(s.metrics().contains("eksguard_last_scan_success 0"));
    // Without --report-access the report is off.
    assert_eq!(s.get("/report?format=json").status, 404);
    wait_for("the failure to be logged", &s, || {
        s.log().contains("scan failed")
    });
    // The cache cannot sync either: not ready, and saying why.
    let a = s.get("/readyz");
    assert_eq!(a.status, 503);
    assert!(a.body.contains("watch cache not synced"), "{}", a.body);
}

#[test]
fn book_lists_where_each_rule_runs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/book/src/admission.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let fresh = eksguard::serve::admission::refresh_readme(&text)
        .expect("the admission chapter lacks the admission-rules markers");
    if std::env::var_os("EKSGUARD_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    assert!(
        fresh == text,
        "docs/book/src/admission.md's admission rule list is out of date; run `EKSGUARD_BLESS=1 cargo test -p eksguard --test it serve::book_lists`"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_fails_readiness_then_drains_and_exits_cleanly() {
    let mut s = start(&["--no-watch", "--shutdown-delay=2s"], None);
    assert_eq!(s.get("/readyz").status, 200);
    // An idle keep-alive connection, as the API server keeps them: draining must close
    // it rather than wait out the drain timeout.
    let conn =
        rustls::ClientConnection::new(tls_client(&s.ca), "localhost".try_into().unwrap()).unwrap();
    let tcp = TcpStream::connect(&s.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut idle = rustls::StreamOwned::new(conn, tcp);
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(b"\r\n\r\nok\n") {
        let n = idle.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }

    let killed = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_for("the stop to be logged", &s, || s.log().contains("stopping"));
    // Within the delay: not ready, but requests are still answered.
    let ready = s.get("/readyz");
    assert_eq!(ready.status, 503);
    assert!(ready.body.contains("shutting down"), "{}", ready.body);
    let r = s.review(&admission_review(
        "CREATE",
        "alice",
        Some(deployment("shop", true)),
        None,
    ));
    assert_eq!(r["allowed"], false);

    let started = Instant::now();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still running: {}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}: {}", s.log());
    wait_for("the stop to be logged", &s, || {
        s.log().contains("eksguard serve: stopped\n")
    });
    // The idle connection was closed by the server, not left to time out.
    assert_eq!(idle.read(&mut buf).unwrap_or(0), 0);
}

/// A TLS connection that has sent `text` and then waits, holding whatever it holds.
fn held(s: &Server, text: &[u8]) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let conn =
        rustls::ClientConnection::new(tls_client(&s.ca), "localhost".try_into().unwrap()).unwrap();
    let tcp = TcpStream::connect(&s.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    stream.write_all(text).unwrap();
    stream.flush().unwrap();
    stream
}

#[test]
fn reviews_past_the_limit_are_told_to_retry() {
    let s = start(&["--no-watch", "--max-concurrent-reviews", "1"], None);
    // One review's body is on its way (a tenth of it): it holds the only slot.
    let holder = held(
        &s,
        b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"apiVersi",
    );
    wait_for("the slot to be taken", &s, || {
        s.metrics().contains("eksguard_admission_slots_held 1")
    });
    let review = admission_review("CREATE", "alice", Some(deployment("shop", false)), None);
    let started = Instant::now();
    let a = s.post(review.to_string().as_bytes());
    assert_eq!(a.status, 429, "{}", a.body);
    assert!(
        a.head.to_ascii_lowercase().contains("retry-after: 1"),
        "{}",
        a.head
    );
    // It waited a moment for a slot before giving up, and no more.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(8),
        "{waited:?}"
    );
    assert!(s
        .metrics()
        .contains(r#"eksguard_rejected_requests_total{code="429"} 1"#));
    // The slot comes back with the connection.
    drop(holder);
    let r = s.review(&review);
    assert_eq!(r["allowed"], true, "{r}");
}

#[test]
fn idle_sockets_do_not_starve_the_probes_or_other_clients() {
    let s = start(&["--no-watch", "--max-connections-per-peer", "32"], None);
    // Sockets that never send a ClientHello: more than every connection slot.
    let idle: Vec<TcpStream> = (0..1100)
        .filter_map(|_| TcpStream::connect(&s.addr).ok())
        .collect();
    assert!(idle.len() > 1024, "{}", idle.len());
    // The probes and metrics have a listener of their own and answer at once.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let started = Instant::now();
        let a = s.plain_get(path);
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{path}: {:?}",
            started.elapsed()
        );
    }
    // This address got its share; the rest of its sockets were closed at once.
    wait_for("connections past the peer's share to be closed", &s, || {
        s.metrics()
            .lines()
            .find_map(|l| {
                l.strip_prefix(r#"eksguard_connections_refused_total{reason="per-peer"} "#)
            })
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n >= 1000)
    });
    // The held ones are closed when the short handshake time runs out, and requests
    // are served again.
    let started = Instant::now();
    let review = admission_review("CREATE", "alice", Some(deployment("shop", true)), None);
    let answer = loop {
        match exchange(
            &s.addr,
            &s.ca,
            "POST",
            "/validate",
            &format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                review.to_string().len()
            ),
            review.to_string().as_bytes(),
        ) {
            Ok(a) if a.status == 200 => break a,
            _ => {
                assert!(started.elapsed() < Duration::from_secs(10), "{}", s.log());
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    };
    assert_eq!(answer.json()["response"]["allowed"], false);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    drop(idle);
}

/// An UPDATE of a Pod of about `bytes` (and its old version, containers in the other
/// order): many small privileged containers, a dozen findings each.
fn large_review(bytes: usize) -> Value {
    let mut containers = Vec::new();
    let mut size = 0;
    while size < bytes {
        let i = containers.len();
        let c = json!({"name": format!("c{i}"), "image": "nginx",
            "ports": [{"containerPort": 80, "hostPort": 8000 + i % 1000}],
            "securityContext": {"privileged": true, "capabilities": {"add": ["SYS_ADMIN", "NET_ADMIN"]}}});
        size += c.to_string().len() + 1;
        containers.push(c);
    }
    let pod = |containers: Vec<Value>| {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "big", "namespace": "shop"}, "spec": {"containers": containers}})
    };
    let mut old = containers.clone();
    old.reverse();
    admission_review("UPDATE", "alice", Some(pod(containers)), Some(pod(old)))
}

/// Peak resident memory of a process, in bytes (Linux).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[test]
fn a_large_update_is_judged_within_a_bounded_memory() {
    let s = start(&["--no-watch", "--max-concurrent-reviews", "2"], None);
    // Two objects of 700 kB each.
    let body = large_review(700_000).to_string();
    assert!(body.len() < 3 * 1024 * 1024, "{}", body.len());
    let before = peak_rss(s.child.id());
    let a = s.post(body.as_bytes());
    assert_eq!(a.status, 200, "{}", a.body);
    let r = a.json();
    assert_eq!(r["response"]["allowed"], true, "{r}");
    assert!(r["response"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("already present")));
    // Every finding was there before, in another order: nothing is denied, and the
    // warnings end in a count.
    assert!(r["response"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().starts_with("and ")));
    // Parsed once, judged one object at a time, answered with what is shown: the
    // object's tree and the engine's findings, no copies (an unoptimised build took 76 MiB
    // for twice this review; before, 133 MiB).
    if let (Some(before), Some(after)) = (before, peak_rss(s.child.id())) {
        let grown = after.saturating_sub(before);
        eprintln!("peak RSS {} MiB -> {} MiB", before >> 20, after >> 20);
        assert!(
            grown < 52 << 20,
            "one review grew the peak by {} MiB",
            grown >> 20
        );
    }
}
