//! `eksguard fleet` and `eksguard cluster --cluster-name` without a kubeconfig, against a
//! moto server of their own (an Organization with member accounts, clusters in two
//! regions) and one fake Kubernetes API server per cluster that decodes and checks the
//! EKS token it is sent. An STS proxy in front of moto refuses the role of one member
//! account; a region moto does not know answers every call with an error.
//!
//! Without moto (`python3 -m moto.server`) the tests print SKIPPED.
#![cfg(all(feature = "aws", feature = "cluster"))]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::aws_live::start_moto;
use crate::fake_kube::{AuthCheck, Behaviour, FakeKube, Resource};

const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/aws/seed_fleet.py");
/// The caller's credentials (moto's management account).
const KEY_ID: &str = "testing";
const SECRET: &str = "testing";

struct Fleet {
    endpoint: String,
    seeded: Value,
    sts: StsProxy,
    kubes: BTreeMap<String, FakeKube>,
    _moto: Child,
}

impl Fleet {
    fn account(&self, key: &str) -> String {
        match key {
            "management" => self.seeded["management"].as_str().unwrap().to_string(),
            k => self.seeded["members"][k].as_str().unwrap().to_string(),
        }
    }

    fn arn(&self, cluster: &str) -> String {
        self.seeded["clusters"][cluster]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn eksguard(&self) -> Command {
        let mut cmd = crate::aws_live::eksguard();
        let overrides: Vec<String> = self
            .kubes
            .iter()
            .map(|(name, k)| format!("{name}={}", k.url))
            .collect();
        cmd.env("AWS_ENDPOINT_URL_STS", &self.sts.url)
            .env("EKSGUARD_TEST_EKS_API_ENDPOINTS", overrides.join(","));
        cmd
    }
}

fn fleet() -> Option<&'static Fleet> {
    static F: OnceLock<Option<Fleet>> = OnceLock::new();
    let f = F.get_or_init(|| {
        // An Organization is one per server: never the shared one.
        let (endpoint, moto) = start_moto()?;
        let out = Command::new("python3")
            .args([SEED, &endpoint])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "seeding failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seeded: Value = serde_json::from_slice(&out.stdout).expect("seed prints JSON");
        let refused = seeded["members"]["c"].as_str().unwrap().to_string();
        let sts = StsProxy::start(&endpoint, &refused);
        let mut kubes = BTreeMap::new();
        for (name, region, check) in [
            ("mgmt-eu", "eu-west-1", Signed::Known),
            ("a-eu", "eu-west-1", Signed::AssumedRole),
            ("a-us", "us-east-1", Signed::AssumedRole),
            // The identity is not mapped here: every request is a 401.
            ("b-us", "us-east-1", Signed::Refused),
        ] {
            let checked = Arc::new(Mutex::new(0usize));
            let counter = checked.clone();
            let judge: AuthCheck = Arc::new(move |auth| {
                let ok = check_token(auth, name, region, check).is_ok();
                if ok {
                    *counter.lock().unwrap() += 1;
                }
                ok && check != Signed::Refused
            });
            let kube = FakeKube::start(
                resources(name),
                Behaviour {
                    check_auth: Some(judge),
                    ..Behaviour::default()
                },
            );
            kubes.insert(name.to_string(), kube);
        }
        Some(Fleet {
            endpoint,
            seeded,
            sts,
            kubes,
            _moto: moto,
        })
    });
    if f.is_none() {
        println!("SKIPPED: no moto server (install moto[server])");
    }
    f.as_ref()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Signed {
    /// With the caller's own key: the signature is recomputed and compared.
    Known,
    /// With an assumed role's key and session token, which only moto knows.
    AssumedRole,
    /// Decoded and checked, then refused as an unmapped identity would be.
    Refused,
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(data);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().to_vec()
}

fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Decodes an EKS token as the API server's authenticator does before it replays the URL
/// to STS, and checks what it can: the prefix, the presigned `GetCallerIdentity` URL of
/// the cluster's region, the signed `x-k8s-aws-id` header, the 60-second expiry, a fresh
/// date, and for the caller's own key the signature over the cluster's name.
fn check_token(auth: Option<&str>, cluster: &str, region: &str, how: Signed) -> Result<(), String> {
    let token = auth
        .and_then(|a| a.strip_prefix("Bearer k8s-aws-v1."))
        .ok_or("no EKS bearer token")?;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|e| format!("not base64url: {e}"))?;
    let url = String::from_utf8(url).map_err(|e| e.to_string())?;
    let host = format!("sts.{region}.amazonaws.com");
    let query = url
        .strip_prefix(&format!("https://{host}/?"))
        .ok_or_else(|| format!("not a presigned URL of {host}: {url}"))?;
    let params: Vec<(&str, &str)> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let names: Vec<&str> = params.iter().map(|(k, _)| *k).collect();
    let mut want = vec![
        "Action",
        "Version",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
    ];
    if how != Signed::Known {
        want.push("X-Amz-Security-Token");
    }
    want.push("X-Amz-Signature");
    if names != want {
        return Err(format!("parameters {names:?}"));
    }
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| *v)
            .unwrap()
    };
    if get("Action") != "GetCallerIdentity"
        || get("X-Amz-Expires") != "60"
        || get("X-Amz-SignedHeaders") != "host%3Bx-k8s-aws-id"
    {
        return Err(format!(
            "not a GetCallerIdentity URL signed for a cluster: {url}"
        ));
    }
    let credential = unescape(get("X-Amz-Credential"));
    let parts: Vec<&str> = credential.split('/').collect();
    let date = get("X-Amz-Date");
    if parts.len() != 5 || parts[1] != &date[..8] || parts[2] != region || parts[3] != "sts" {
        return Err(format!("credential scope {credential}"));
    }
    let now = humantime_now();
    if now.as_str() < &date[..8] || date.len() != 16 {
        return Err(format!("date {date}"));
    }
    match how {
        Signed::Known => {
            if parts[0] != KEY_ID {
                return Err(format!("key {}", parts[0]));
            }
            let mut sorted: Vec<(&str, &str)> = params
                .iter()
                .copied()
                .filter(|(k, _)| *k != "X-Amz-Signature")
                .collect();
            sorted.sort();
            let canonical_query = sorted
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            let creq = format!(
                "GET\n/\n{canonical_query}\nhost:{host}\nx-k8s-aws-id:{cluster}\n\nhost;x-k8s-aws-id\nUNSIGNED-PAYLOAD"
            );
            let scope = parts[1..].join("/");
            let sts = format!(
                "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
                sha256_hex(creq.as_bytes())
            );
            let mut key = hmac(format!("AWS4{SECRET}").as_bytes(), parts[1].as_bytes());
            for step in [region, "sts", "aws4_request"] {
                key = hmac(&key, step.as_bytes());
            }
            let signature: String = hmac(&key, sts.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if signature != get("X-Amz-Signature") {
                return Err("the signature is not over this cluster's name".into());
            }
        }
        Signed::AssumedRole | Signed::Refused => {
            if parts[0] == KEY_ID || get("X-Amz-Security-Token").is_empty() {
                return Err("not an assumed role's session".into());
            }
        }
    }
    Ok(())
}

/// Today as `YYYYMMDD` (UTC).
fn humantime_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Days to civil date (Howard Hinnant's algorithm).
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}")
}

/// Every kind the reader requires, empty but for one privileged pod named after the
/// cluster, so each cluster has a finding of its own.
fn resources(cluster: &str) -> Vec<Resource> {
    let r = |group, version, plural, kind, namespaced| Resource {
        group,
        version,
        plural,
        kind,
        namespaced,
        items: Vec::new(),
    };
    let mut all = vec![
        r("", "v1", "namespaces", "Namespace", false),
        r("", "v1", "pods", "Pod", true),
        r(
            "",
            "v1",
            "replicationcontrollers",
            "ReplicationController",
            true,
        ),
        r("", "v1", "serviceaccounts", "ServiceAccount", true),
        r("", "v1", "secrets", "Secret", true),
        r("", "v1", "services", "Service", true),
        r("", "v1", "resourcequotas", "ResourceQuota", true),
        r("", "v1", "limitranges", "LimitRange", true),
        r("", "v1", "persistentvolumes", "PersistentVolume", false),
        r("", "v1", "configmaps", "ConfigMap", true),
        r("apps", "v1", "deployments", "Deployment", true),
        r("apps", "v1", "replicasets", "ReplicaSet", true),
        r("apps", "v1", "statefulsets", "StatefulSet", true),
        r("apps", "v1", "daemonsets", "DaemonSet", true),
        r("batch", "v1", "jobs", "Job", true),
        r("batch", "v1", "cronjobs", "CronJob", true),
        r("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
        r(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterroles",
            "ClusterRole",
            false,
        ),
        r(
            "rbac.authorization.k8s.io",
            "v1",
            "rolebindings",
            "RoleBinding",
            true,
        ),
        r(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
        ),
        r(
            "networking.k8s.io",
            "v1",
            "networkpolicies",
            "NetworkPolicy",
            true,
        ),
        r("networking.k8s.io", "v1", "ingresses", "Ingress", true),
        r(
            "storage.k8s.io",
            "v1",
            "storageclasses",
            "StorageClass",
            false,
        ),
        r(
            "admissionregistration.k8s.io",
            "v1",
            "validatingwebhookconfigurations",
            "ValidatingWebhookConfiguration",
            false,
        ),
        r(
            "admissionregistration.k8s.io",
            "v1",
            "mutatingwebhookconfigurations",
            "MutatingWebhookConfiguration",
            false,
        ),
    ];
    all[1].items.push(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("priv-{cluster}"), "namespace": "shop", "uid": format!("uid-{cluster}")},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "securityContext": {"privileged": true}}]},
    }));
    all
}

/// An STS endpoint in front of moto that refuses `AssumeRole` into one account, as STS
/// does when the role's trust policy does not name the caller; it records every request
/// body.
struct StsProxy {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl StsProxy {
    fn start(upstream: &str, refused_account: &str) -> StsProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let upstream = upstream.trim_start_matches("http://").to_string();
        let refused = format!("iam%3A%3A{refused_account}%3Arole");
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (upstream, refused, seen) = (upstream.clone(), refused.clone(), seen.clone());
                std::thread::spawn(move || proxy(stream, &upstream, &refused, &seen));
            }
        });
        StsProxy { url, bodies }
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

/// One request a connection: read, answer or forward to moto, close.
fn proxy(stream: TcpStream, upstream: &str, refused: &str, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut head = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            if k.eq_ignore_ascii_case("connection") {
                continue;
            }
        }
        if line == "\r\n" {
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        head.extend_from_slice(line.as_bytes());
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    seen.lock().unwrap().push(text.clone());
    let mut client = stream;
    if text.contains("Action=AssumeRole") && text.contains(refused) {
        let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error></ErrorResponse>";
        let _ = write!(
            client,
            "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        );
        return;
    }
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = up.set_read_timeout(Some(Duration::from_secs(30)));
    if up.write_all(&head).is_err() || up.write_all(&body).is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer);
    let _ = client.write_all(&answer);
}

fn run(fx: &Fleet, args: &[&str]) -> (i32, Output) {
    let out = fx
        .eksguard()
        .args([
            "fleet",
            "--endpoint-url",
            &fx.endpoint,
            "--region",
            "us-east-1",
        ])
        .args(["--no-config", "--no-progress"])
        .args(args)
        .output()
        .expect("eksguard runs");
    (out.status.code().unwrap_or(-1), out)
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

const ORG_ARGS: &[&str] = &[
    "--org",
    "--role-name",
    "EksguardScanner",
    "--external-id",
    "ext-7",
    "--regions",
    "eu-west-1,us-east-1,ap-nowhere-1",
    "--concurrency",
    "3",
];

#[test]
fn organization_fleet_scopes_counts_and_partial_failures() {
    let Some(fx) = fleet() else { return };
    let (code, out) = run(fx, &[ORG_ARGS, &["-f", "json"]].concat());
    let report = json_of(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // An account not entered and a region not listed: some clusters were not read.
    assert_eq!(code, 2, "stderr: {stderr}");

    let summary = &report["fleet"]["summary"];
    assert_eq!(
        summary,
        &json!({"clusters_found": 4, "read_fully": 3, "aws_side_only": 1, "not_read": 0,
                "accounts_or_regions_not_read": 4}),
        "{report:#}"
    );

    // The refused account and the failing region of each entered account, with reasons.
    let not_read = report["fleet"]["not_read"].as_array().unwrap();
    let refused = fx.account("c");
    assert!(
        not_read.iter().any(|p| p["account"] == refused.as_str()
            && p.get("region").is_none()
            && p["reason"]
                .as_str()
                .unwrap()
                .contains("sts:AssumeRole failed: AccessDenied")),
        "{not_read:?}"
    );
    for key in ["management", "a", "b"] {
        let account = fx.account(key);
        assert!(
            not_read.iter().any(|p| p["account"] == account.as_str()
                && p["region"] == "ap-nowhere-1"
                && p["reason"]
                    .as_str()
                    .unwrap()
                    .contains("eks:ListClusters failed")),
            "{key}: {not_read:?}"
        );
    }

    // Each cluster's status and scope.
    let clusters = report["fleet"]["clusters"].as_array().unwrap();
    let status: BTreeMap<&str, (&str, &str, &str)> = clusters
        .iter()
        .map(|c| {
            (
                c["cluster"].as_str().unwrap(),
                (
                    c["account"].as_str().unwrap(),
                    c["region"].as_str().unwrap(),
                    c["status"].as_str().unwrap(),
                ),
            )
        })
        .collect();
    let (mgmt, a, b) = (fx.account("management"), fx.account("a"), fx.account("b"));
    assert_eq!(
        status,
        BTreeMap::from([
            ("mgmt-eu", (mgmt.as_str(), "eu-west-1", "full")),
            ("a-eu", (a.as_str(), "eu-west-1", "full")),
            ("a-us", (a.as_str(), "us-east-1", "full")),
            ("b-us", (b.as_str(), "us-east-1", "aws-only")),
        ])
    );
    let b_reason = clusters
        .iter()
        .find(|c| c["cluster"] == "b-us")
        .and_then(|c| c["reason"].as_str())
        .unwrap();
    assert!(
        b_reason.contains("is not mapped in cluster b-us: add an access entry")
            && b_reason.contains(&format!("arn:aws:iam::{b}:role/EksguardScanner")),
        "{b_reason}"
    );

    // Every finding carries its cluster's scope; each cluster read fully has its own pod's.
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["scope"]["cluster"].is_string()));
    for (cluster, account, region) in [
        ("mgmt-eu", &mgmt, "eu-west-1"),
        ("a-eu", &a, "eu-west-1"),
        ("a-us", &a, "us-east-1"),
    ] {
        let pods: Vec<&Value> = findings
            .iter()
            .filter(|f| f["rule_id"] == "POD001")
            .filter(|f| f["scope"]["cluster"] == cluster)
            .collect();
        assert_eq!(pods.len(), 1, "{cluster}: {pods:?}");
        assert_eq!(pods[0]["resource"]["name"], format!("priv-{cluster}"));
        assert_eq!(
            pods[0]["scope"],
            json!({"account": account, "region": region, "cluster": cluster})
        );
    }
    // The unmapped cluster still has its AWS side judged.
    assert!(findings
        .iter()
        .any(|f| f["scope"]["cluster"] == "b-us" && f["resource"]["kind"] == "EKSCluster"));
    assert!(!findings.iter().any(|f| f["scope"]["cluster"] == "c-us"));

    // The roles were assumed with the session name and external ID; the token reached
    // every fake API server, and was judged valid where the identity is mapped.
    // (Other tests share the proxy: compare the roles asked for, not the count.)
    let bodies = fx.sts.bodies();
    let assumed: Vec<&String> = bodies
        .iter()
        .filter(|b| b.contains("Action=AssumeRole"))
        .collect();
    let accounts: std::collections::BTreeSet<String> = assumed
        .iter()
        .filter_map(|b| b.split("iam%3A%3A").nth(1))
        .map(|rest| rest[..12].to_string())
        .collect();
    let members: std::collections::BTreeSet<String> =
        ["a", "b", "c"].iter().map(|k| fx.account(k)).collect();
    assert_eq!(
        accounts, members,
        "the caller's own account is read with its own credentials"
    );
    assert!(assumed
        .iter()
        .all(|b| b.contains("RoleSessionName=eksguard") && b.contains("ExternalId=ext-7")));
    for (name, kube) in &fx.kubes {
        assert!(!kube.requests("/apis").is_empty(), "{name} was not asked");
    }
}

#[test]
fn aws_only_never_calls_kubernetes_and_sarif_carries_scopes() {
    let Some(fx) = fleet() else { return };
    let (code, out) = run(fx, &[ORG_ARGS, &["--aws-only", "-f", "sarif"]].concat());
    assert_eq!(code, 2);
    let sarif = json_of(&out);
    let summary = &sarif["properties"]["fleet"]["summary"];
    assert_eq!(summary["clusters_found"], 4);
    assert_eq!(summary["aws_side_only"], 4);
    assert_eq!(summary["read_fully"], 0);
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for run in runs {
        let scope = &run["properties"]["scope"];
        assert!(scope["account"].is_string() && scope["cluster"].is_string());
        for r in run["results"].as_array().unwrap() {
            assert_eq!(&r["properties"]["scope"], scope);
            assert_ne!(r["ruleId"], "POD001", "no Kubernetes object was read");
        }
    }
}

#[test]
fn text_report_groups_by_cluster_worst_first() {
    let Some(fx) = fleet() else { return };
    let (code, out) = run(
        fx,
        &[ORG_ARGS, &["-f", "text", "--color", "never"]].concat(),
    );
    assert_eq!(code, 2);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("fleet: 4 clusters found: 3 read fully, 1 AWS side only, 0 not read; 4 accounts or regions not read"),
        "{text}"
    );
    let a = fx.account("a");
    for name in ["mgmt-eu", "a-eu", "a-us", "b-us"] {
        assert!(
            text.contains(&format!("/{name} (")),
            "{name} has no section: {text}"
        );
    }
    assert!(text.contains(&format!("== {a}/us-east-1/a-us (full) ==")));
    assert!(text.contains("not read:\n"));
    // The table's rows are worst first: b-us (AWS side only) has no critical pod finding.
    let table: Vec<&str> = text.lines().skip(3).take(4).collect();
    assert!(table[3].contains("/b-us "), "{table:?}");
}

#[test]
fn single_cluster_by_arn_needs_only_aws_credentials() {
    let Some(fx) = fleet() else { return };
    let out = fx
        .eksguard()
        .args(["cluster", "--endpoint-url", &fx.endpoint, "--no-config"])
        .args([
            "--cluster-name",
            &fx.arn("mgmt-eu"),
            "-f",
            "json",
            "--fail-on",
            "never",
        ])
        .output()
        .expect("eksguard runs");
    let report = json_of(&out);
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["rule_id"] == "POD001" && f["resource"]["name"] == "priv-mgmt-eu"),
        "{report:#}"
    );
    assert!(findings
        .iter()
        .any(|f| f["resource"]["kind"] == "EKSCluster"));
}

#[test]
fn single_cluster_unknown_is_an_error_naming_the_call() {
    let Some(fx) = fleet() else { return };
    let out = fx
        .eksguard()
        .args([
            "cluster",
            "--endpoint-url",
            &fx.endpoint,
            "--no-config",
            "--region",
            "us-east-1",
        ])
        .args(["--cluster-name", "b-us", "-f", "json"])
        .output()
        .expect("eksguard runs");
    // Unknown in the caller's own account: DescribeCluster fails and says so.
    assert_eq!(out.status.code(), Some(2));
    let report = json_of(&out);
    let errors = report["errors"].to_string();
    assert!(errors.contains("eks:DescribeCluster failed"), "{errors}");
}

/// The IAM actions named in the AWS client code: every call is labelled with its action
/// (`"eks:DescribeCluster"`), in its error messages and in the constant of the call.
fn actions_in_code() -> std::collections::BTreeSet<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../eksguard-live/src/");
    let mut found = std::collections::BTreeSet::new();
    for file in [
        "aws_live/fetch.rs",
        "aws_live/services.rs",
        "fleet_aws.rs",
        "eks_token.rs",
        "security_hub.rs",
    ] {
        let text = std::fs::read_to_string(format!("{root}{file}")).expect("client source");
        for service in [
            "eks",
            "iam",
            "ec2",
            "sts",
            "organizations",
            "securityhub",
            "cloudtrail",
            "ecr",
            "elasticfilesystem",
            "acm-pca",
            "guardduty",
            "inspector2",
            "kms",
        ] {
            let needle = format!("\"{service}:");
            let mut rest = text.as_str();
            while let Some(at) = rest.find(&needle) {
                let tail = &rest[at + needle.len()..];
                let action: String = tail
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                if action.starts_with(|c: char| c.is_ascii_uppercase()) {
                    found.insert(format!("{service}:{action}"));
                }
                rest = tail;
            }
        }
    }
    found
}

/// The actions of the first JSON block after `marker` in the book's fleet page.
fn documented_actions(doc: &str, marker: &str) -> std::collections::BTreeSet<String> {
    let from = doc
        .find(marker)
        .unwrap_or_else(|| panic!("no `{marker}` in docs/book/src/cluster/fleet.md"));
    let block = &doc[from..];
    let start = block.find("```json\n").expect("a JSON block") + 8;
    let end = start + block[start..].find("```").expect("its end");
    let policy: Value = serde_json::from_str(&block[start..end]).expect("valid JSON policy");
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn documented_policy_is_what_the_code_calls() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/book/src/cluster/fleet.md"
    ))
    .expect("docs/book/src/cluster/fleet.md");
    let called = actions_in_code();
    // Entering accounts is the runner's; who one is needs no permission.
    let runner_only = ["sts:AssumeRole", "organizations:ListAccounts"];
    let scanning: std::collections::BTreeSet<String> = called
        .iter()
        .filter(|a| !runner_only.contains(&a.as_str()) && *a != "sts:GetCallerIdentity")
        .cloned()
        .collect();
    assert!(scanning.contains("eks:DescribeCluster") && scanning.contains("eks:ListClusters"));
    assert_eq!(documented_actions(&doc, "Scanning role policy:"), scanning);
    let runner = documented_actions(&doc, "### The identity that runs eksguard");
    assert_eq!(
        runner,
        runner_only.iter().map(|a| a.to_string()).collect(),
        "the runner's policy"
    );
    for a in called {
        assert!(a.split(':').nth(1).is_some_and(|x| !x.contains('*')), "{a}");
        assert!(
            !a.contains("Create") && !a.contains("Delete") && !a.contains("Update"),
            "{a} is not read-only"
        );
    }
}

#[test]
fn chart_runs_the_fleet_scan_nightly() {
    use crate::helm;
    let values = json!({
        "image": {"digest": "sha256:5b0c3b8d1f4c1e3a2d7f9e8c6b5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e"},
        "fleet": {
            "enabled": true,
            "org": true,
            "regions": ["eu-west-1", "us-east-1"],
            "roleName": "EksguardScanner",
            "externalIdSecret": {"name": "eksguard-fleet", "key": "external-id"},
            "securityHub": true,
            "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/eksguard-runner"}}
        }
    });
    helm::assert_lints(values.clone());
    let Some(r) = helm::render(values) else {
        return;
    };
    helm::assert_scan_clean(&r);
    let job = r.one("CronJob", "eksguard-fleet");
    helm::assert_restricted(job);
    assert_eq!(
        helm::args(job, "fleet"),
        [
            "fleet",
            "--org",
            "--regions=eu-west-1,us-east-1",
            "--role-name=EksguardScanner",
            "--external-id=$(EKSGUARD_EXTERNAL_ID)",
            "--concurrency=8",
            "--security-hub",
            "--format=text",
            "--fail-on=never",
            "--no-progress",
        ]
    );
    // Off by default.
    let Some(r) = helm::render(json!({})) else {
        return;
    };
    assert!(!r.has("CronJob"));
}

/// `(AwsAccountId, eksguard/scope)` of every finding moto's Security Hub holds in
/// `account` and `region`, read with that account's credentials.
fn hub_scopes(fx: &Fleet, account: &str, region: &str) -> Vec<(String, String)> {
    let script = r#"
import json, sys, boto3
endpoint, account, region, mgmt = sys.argv[1:5]
kw = dict(endpoint_url=endpoint, region_name=region,
          aws_access_key_id="testing", aws_secret_access_key="testing")
if account != mgmt:
    c = boto3.client("sts", **kw).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/reader", RoleSessionName="test")["Credentials"]
    kw.update(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
              aws_session_token=c["SessionToken"])
hub = boto3.client("securityhub", **kw)
out, token = [], None
while True:
    args = {"MaxResults": 100}
    if token: args["NextToken"] = token
    page = hub.get_findings(**args)
    out += [[f["AwsAccountId"], f.get("ProductFields", {}).get("eksguard/scope", "")]
            for f in page["Findings"] if f.get("RecordState") == "ACTIVE"]
    token = page.get("NextToken")
    if not token: break
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args([
            "-c",
            script,
            &fx.endpoint,
            account,
            region,
            &fx.account("management"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn security_hub_imports_each_cluster_in_its_own_account_and_region() {
    let Some(fx) = fleet() else { return };
    let (code, out) = run(fx, &[ORG_ARGS, &["--security-hub", "-q"]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code, 2, "{stderr}");
    let (mgmt, a, b) = (fx.account("management"), fx.account("a"), fx.account("b"));
    for (account, region, cluster) in [
        (&mgmt, "eu-west-1", "mgmt-eu"),
        (&a, "eu-west-1", "a-eu"),
        (&a, "us-east-1", "a-us"),
        (&b, "us-east-1", "b-us"),
    ] {
        assert!(
            stderr.contains(&format!("security hub: {account}/{region}/{cluster}: ")),
            "{stderr}"
        );
        let held = hub_scopes(fx, account, region);
        let arn = fx.arn(cluster);
        let mine: Vec<&(String, String)> = held.iter().filter(|(_, s)| s.contains(&arn)).collect();
        assert!(
            !mine.is_empty(),
            "{cluster} in {account}/{region}: {held:?}"
        );
        assert!(mine.iter().all(|(acc, _)| acc == account), "{mine:?}");
        // Whatever this account and region hold is this account's.
        assert!(held.iter().all(|(acc, _)| acc == account), "{held:?}");
    }
}
