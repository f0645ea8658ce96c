//! `eksguard cluster --aws` end to end, against moto's server mode (an AWS-compatible
//! endpoint) seeded by `tests/aws/seed.py`, and against endpoints that fail.
//!
//! The endpoint is $EKSGUARD_TEST_AWS_ENDPOINT when set (CI starts one), else a
//! `moto_server` this process starts; without either the moto tests print SKIPPED.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/aws/seed.py");

/// Findings the E/I/C rules must report on the badly configured cluster: (rule ID, keys of
/// the seed's output of which one must be part of the finding's resource name). The same
/// rules must stay quiet on the good cluster's resources.
const EIC_EXPECTED: &[(&str, &[&str])] = &[
    ("IAM001", &["cluster"]),
    ("DET001", &["cluster"]),
    ("DATA001", &["cluster"]),
    ("NODE001", &["name"]),
    ("IRSA010", &["node_role"]),
    ("IRSA004", &["irsa_role"]),
    ("IRSA016", &["irsa_policy"]),
    ("SG002", &["security_group"]),
    ("IRSA009", &["launch_template"]),
    ("NODE002", &["subnet", "name"]),
];

/// Security-service calls moto does not implement (see `aws_services.rs`); reported as
/// errors whenever the region holds what they read.
const MOTO_SERVICE_GAPS: &[&str] = &["guardduty:ListCoverage", "inspector2:ListCoverage"];

/// moto gives every node group without a launch template an SSH key (`eksKeypair`), so
/// NODE001 fires on the good cluster too.
const MOTO_FALSE_POSITIVES: &[&str] = &["NODE001"];

/// Calls moto does not implement; each must show up as a reported error.
const MOTO_GAPS: &[&str] = &[
    "eks:ListAccessEntries",
    "eks:ListPodIdentityAssociations",
    "eks:ListAddons",
];

struct Fixture {
    endpoint: String,
    seeded: Value,
    // Held until the process exits: closing its stdin stops the server (see `start_moto`).
    _server: Option<Child>,
}

fn fixture() -> Option<&'static Fixture> {
    static F: OnceLock<Option<Fixture>> = OnceLock::new();
    let f = F.get_or_init(|| {
        let (endpoint, server) = match std::env::var("EKSGUARD_TEST_AWS_ENDPOINT") {
            Ok(e) if !e.is_empty() => (e, None),
            _ => {
                let (e, child) = start_moto()?;
                (e, Some(child))
            }
        };
        // A fresh suffix: a shared server may already hold an earlier run's resources.
        let suffix = format!(
            "{}{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_micros())
                .unwrap_or(0)
        );
        let out = Command::new("python3")
            .args([SEED, &endpoint, &suffix])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "seeding failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seeded: Value = serde_json::from_slice(&out.stdout).expect("seed prints JSON");
        Some(Fixture {
            endpoint,
            seeded,
            _server: server,
        })
    });
    if f.is_none() {
        println!(
            "SKIPPED: no moto server (set EKSGUARD_TEST_AWS_ENDPOINT or install moto[server])"
        );
    }
    f.as_ref()
}

/// The moto endpoint the live tests share (`None`, after a SKIPPED line, without one).
pub(crate) fn moto_endpoint() -> Option<&'static str> {
    fixture().map(|f| f.endpoint.as_str())
}

/// Starts moto on a free port under a shell that kills it when our end of its stdin
/// closes, so the server never outlives the test process.
pub(crate) fn start_moto() -> Option<(String, Child)> {
    let has = |cmd: &str| {
        Command::new("sh")
            .args(["-c", cmd])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let server = if has("command -v moto_server") {
        "moto_server"
    } else if has("python3 -c 'import moto.server, boto3'") {
        "python3 -m moto.server"
    } else {
        return None;
    };
    let port = free_port();
    let script =
        format!("{server} -p {port} >/dev/null 2>&1 & pid=$!; read _; kill $pid; wait $pid");
    let child = Command::new("sh")
        .args(["-c", &script])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .stdin(Stdio::piped())
        .spawn()
        .ok()?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if http_get_ok(port) {
            return Some((endpoint, child));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("moto_server did not answer on port {port}");
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn http_get_ok(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = "GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("HTTP/1.1 200")
}

/// `eksguard` with dummy credentials and nothing from the user's AWS or Kubernetes
/// configuration.
pub(crate) fn eksguard() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_CONFIG_FILE", "/nonexistent/eksguard-test")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/eksguard-test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("KUBECONFIG", "/nonexistent/eksguard-test");
    cmd
}

/// Runs `eksguard cluster --aws ... -f json` against `endpoint`.
fn run_cluster(endpoint: &str, name: &str, extra: &[&str]) -> (i32, Value, String) {
    let out = eksguard()
        .args([
            "cluster",
            "--aws-only",
            "--endpoint-url",
            endpoint,
            "--region",
            "us-east-1",
            "--cluster-name",
            name,
            "-f",
            "json",
            "--fail-on",
            "never",
            "--no-config",
        ])
        .args(extra)
        .output()
        .expect("eksguard runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}); stderr: {stderr}"));
    (out.status.code().unwrap_or(-1), report, stderr)
}

fn errors(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e["file"].as_str().unwrap_or(""),
                        e["message"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn findings(report: &Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["rule_id"].as_str().unwrap_or("").to_string(),
                        f["resource"]["kind"].as_str().unwrap_or("").to_string(),
                        f["resource"]["name"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn live_cluster_is_read_and_gaps_are_reported() {
    let Some(fx) = fixture() else { return };
    for which in ["bad", "good"] {
        let seeded = &fx.seeded[which];
        let name = seeded["name"].as_str().expect("name");
        let (code, report, stderr) = run_cluster(&fx.endpoint, name, &[]);
        let errs = errors(&report);
        // The cluster, its node groups (3 or 1), the cluster, node and IRSA roles with
        // their attached and inline policies, the launch template version, security
        // groups and subnets. moto gives every cluster the same OIDC issuer, so the IRSA
        // roles of other seeded clusters count too: at least.
        let scanned = report["summary"]["resources_scanned"].as_u64().unwrap_or(0);
        let least = if which == "bad" { 14 } else { 11 };
        assert!(
            scanned >= least,
            "{which}: {scanned} scanned: {errs:#?}\n{stderr}"
        );
        // moto's gaps are reported by call, resource and the rules left without data.
        for api in MOTO_GAPS {
            assert!(
                errs.iter().any(|e| e.contains(api)
                    && e.contains(&format!("cluster/{name}"))
                    && e.contains("not checked: ")),
                "{which}: no error for {api}: {errs:#?}"
            );
        }
        // The rules named are those that declare reading the kinds the call provides.
        for (api, rules) in [
            ("eks:ListAddons", &["IRSA011", "NET010"][..]),
            ("eks:ListAccessEntries", &["IAM005", "IAM006"][..]),
            (
                "eks:ListPodIdentityAssociations",
                &["IRSA008", "IRSA011"][..],
            ),
        ] {
            let e = errs.iter().find(|e| e.contains(api)).expect("reported");
            for rule in rules {
                assert!(e.contains(rule), "{which}: {api} does not name {rule}: {e}");
            }
        }
        // moto also names node groups' remote-access security groups that it never
        // creates; those are reported one by one and the real ones are still read.
        let sg = seeded["security_group"].as_str().expect("sg");
        // The bad cluster's third node group has a role of another account, which must
        // not be looked up by its name here (a namesake role exists in this account).
        let foreign = |e: &String| {
            e.contains("iam:GetRole")
                && e.contains("arn:aws:iam::999999999999:role/bad-node-")
                && e.contains("another account")
        };
        assert_eq!(
            which == "bad",
            errs.iter().any(foreign),
            "{which}: {errs:#?}"
        );
        for e in &errs {
            let known = MOTO_GAPS.iter().any(|api| e.contains(api))
                || MOTO_SERVICE_GAPS.iter().any(|api| e.contains(api))
                // The seed names a Secrets key that moto does not hold.
                || (e.contains("kms:") && e.contains("NotFoundException"))
                || foreign(e)
                || (e.contains("ec2:DescribeSecurityGroups")
                    && e.contains("InvalidGroup.NotFound")
                    && !e.contains(sg));
            assert!(known, "{which}: unexpected error {e}");
        }
        assert_eq!(code, 2, "errors make exit status 2");
        // Live findings carry the resource and no file position.
        for f in report["findings"].as_array().into_iter().flatten() {
            assert!(f.get("location").is_none(), "{f}");
        }
    }
}

#[test]
fn eic_rules_fire_on_the_bad_cluster_only() {
    let Some(fx) = fixture() else { return };
    let run = |which: &str| {
        let name = fx.seeded[which]["name"].as_str().expect("name");
        findings(&run_cluster(&fx.endpoint, name, &[]).1)
    };
    let (bad, good) = (run("bad"), run("good"));
    // A role's policies are named after the role (`RoleName`), its trust policy by its ARN.
    let names = |which: &str, keys: &[&str]| -> Vec<String> {
        keys.iter()
            .filter_map(|k| fx.seeded[which][*k].as_str().map(|v| (*k, v)))
            .flat_map(|(k, v)| {
                let role_name = k
                    .ends_with("_role")
                    .then(|| v.rsplit('/').next().unwrap_or(v));
                std::iter::once(v.to_string()).chain(role_name.map(str::to_string))
            })
            .collect()
    };
    for (rule, keys) in EIC_EXPECTED {
        let bad_names = names("bad", keys);
        assert!(
            bad.iter()
                .any(|(r, _, res)| r == rule && bad_names.iter().any(|n| res.contains(n))),
            "{rule} on one of {bad_names:?} missing: {bad:#?}"
        );
        if MOTO_FALSE_POSITIVES.contains(rule) {
            continue;
        }
        let good_names = names("good", keys);
        assert!(
            !good
                .iter()
                .any(|(r, _, res)| r == rule && good_names.iter().any(|n| res.contains(n))),
            "{rule} fired on the good cluster: {good:#?}"
        );
    }
}

#[test]
fn unknown_cluster_is_one_error() {
    let Some(fx) = fixture() else { return };
    let (code, report, _) = run_cluster(&fx.endpoint, "no-such-cluster", &[]);
    let errs = errors(&report);
    assert_eq!(code, 2);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].contains("eks:DescribeCluster") && errs[0].contains("ResourceNotFoundException")
    );
    assert!(
        errs[0].contains("IAM001") && errs[0].contains("DET001"),
        "{}",
        errs[0]
    );
}

#[test]
fn cluster_and_region_come_from_an_eks_kubeconfig_context() {
    let Some(fx) = fixture() else { return };
    let arn = fx.seeded["good"]["cluster"].as_str().expect("arn");
    let dir = std::env::temp_dir().join(format!("eksguard-kubeconfig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let kubeconfig = dir.join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {arn}\ncontexts:\n- name: {arn}\n  context: {{cluster: {arn}, user: {arn}}}\n"
        ),
    )
    .expect("write kubeconfig");
    let out = eksguard()
        .env("KUBECONFIG", &kubeconfig)
        .args([
            "cluster",
            "--endpoint-url",
            &fx.endpoint,
            "-f",
            "json",
            "--no-config",
        ])
        .output()
        .expect("eksguard runs");
    let _ = std::fs::remove_dir_all(&dir);
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert!(report["summary"]["resources_scanned"].as_u64().unwrap_or(0) >= 11);
    assert!(!errors(&report)
        .iter()
        .any(|e| e.contains("eks:DescribeCluster")));
}

#[test]
fn missing_cluster_name_or_region_is_a_usage_error() {
    let out = eksguard().arg("cluster").output().expect("eksguard runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cluster-name"));
    let out = eksguard()
        .args(["cluster", "--aws", "--cluster-name", "prod"])
        .output()
        .expect("eksguard runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no AWS region"));
}

#[test]
fn closed_port_is_reported_not_fatal() {
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let (code, report, stderr) = run_cluster(&endpoint, "prod", &[]);
    assert_eq!(code, 2, "{stderr}");
    let errs = errors(&report);
    for api in [
        "eks:DescribeCluster",
        "eks:ListNodegroups",
        "eks:ListAccessEntries",
        "eks:ListPodIdentityAssociations",
        "eks:ListAddons",
    ] {
        assert!(errs.iter().any(|e| e.contains(api)), "{api}: {errs:#?}");
    }
    assert_eq!(report["summary"]["resources_scanned"], 0);
}

#[test]
fn access_denied_is_reported_not_fatal() {
    // A server that refuses every request the way AWS does when IAM says no.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || deny(stream));
        }
    });
    let (code, report, stderr) = run_cluster(&format!("http://127.0.0.1:{port}"), "prod", &[]);
    assert_eq!(code, 2, "{stderr}");
    let errs = errors(&report);
    let denied = errs
        .iter()
        .find(|e| e.contains("eks:DescribeCluster"))
        .unwrap_or_else(|| panic!("{errs:#?}"));
    assert!(denied.contains("AccessDeniedException"), "{denied}");
    assert!(denied.contains("DATA001"), "{denied}");
    assert!(errs
        .iter()
        .any(|e| e.contains("eks:ListNodegroups") && e.contains("NODE001")));
}

/// API errors are one line: call, code, HTTP status, the service's words and what to
/// check; `--verbose` adds the request ID, the attempts and the start of the raw answer.
#[test]
fn api_errors_are_one_line_and_verbose_shows_more() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || deny(stream));
        }
    });
    let endpoint = format!("http://127.0.0.1:{port}");
    let describe = |extra: &[&str]| {
        let (_, report, stderr) = run_cluster(&endpoint, "prod", extra);
        errors(&report)
            .into_iter()
            .find(|e| e.contains("eks:DescribeCluster"))
            .unwrap_or_else(|| panic!("{report}\n{stderr}"))
    };
    let plain = describe(&[]);
    assert!(
        plain.starts_with(
            "cluster/prod: eks:DescribeCluster failed: AccessDeniedException (HTTP 403): User: \
             arn:aws:iam::123456789012:user/ci is not authorized to perform this action; check \
             the IAM permissions of the credentials in use; not checked: "
        ) && plain.contains("DATA001"),
        "{plain}"
    );
    assert!(
        !plain.contains('\n') && !plain.contains("request ID"),
        "{plain}"
    );
    let verbose = describe(&["--verbose"]);
    assert!(verbose.contains("[attempts: 1; request ID: req-1; answer: \"{\\\"__type\\\":\\\"AccessDeniedException\\\""), "{verbose}");
    assert!(!verbose.contains('\n'), "{verbose}");
}

fn deny(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    loop {
        // Headers, then the body, then answer; keep-alive connections loop.
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l
                .to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
            {
                length = v.parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let payload = r#"{"__type":"AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/ci is not authorized to perform this action"}"#;
        let resp = format!(
            "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nx-amzn-errortype: AccessDeniedException\r\nx-amzn-RequestId: req-1\r\nContent-Length: {}\r\n\r\n{payload}",
            payload.len()
        );
        if stream.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

#[cfg(feature = "aws")]
mod cloudwatch {
    use eksguard_live::cloudwatch_live::{LogQuery, LogReader};

    use super::fixture;

    fn query(endpoint: &str, group: &str) -> LogQuery {
        // The reader takes the default credential chain; the moto server accepts any key.
        // Every other test sets its own environment on the child process it runs.
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        let mut q = LogQuery::new(group);
        q.region = Some("us-east-1".into());
        q.endpoint_url = Some(endpoint.into());
        q
    }

    fn read_all(q: &LogQuery) -> (usize, Vec<String>) {
        let mut reader = LogReader::open(q).expect("reader opens");
        let (mut pages, mut messages) = (0, Vec::new());
        while let Some(page) = reader.next_page() {
            pages += 1;
            messages.extend(page.expect("page reads").into_iter().map(|m| m.message));
        }
        (pages, messages)
    }

    #[test]
    fn audit_streams_are_read_page_by_page_within_the_window() {
        let Some(f) = fixture() else { return };
        let logs = &f.seeded["logs"];
        let group = logs["group"].as_str().unwrap();
        let old = logs["old_events"].as_u64().unwrap() as usize;
        let new = logs["new_events"].as_u64().unwrap() as usize;

        let mut q = query(&f.endpoint, group);
        q.page_size = Some(7);
        let (pages, all) = read_all(&q);
        assert_eq!(all.len(), old + new, "only the audit stream, every event");
        assert!(pages >= (old + new).div_ceil(7), "followed {pages} pages");
        assert!(
            all.iter().all(|m| m.starts_with('{')),
            "no authenticator lines"
        );

        q.start_ms = logs["recent_ms"].as_i64();
        let (_, recent) = read_all(&q);
        assert_eq!(recent.len(), new, "--since leaves the older events out");
        assert!(recent.iter().any(|m| m.contains("command=sh")));
    }

    /// `eksguard audit ...` reading the seeded log group.
    fn audit(endpoint: &str, args: &[&str]) -> (i32, serde_json::Value, String) {
        let out = super::eksguard()
            .arg("audit")
            .args(args)
            .args([
                "--endpoint-url",
                endpoint,
                "--region",
                "us-east-1",
                "-f",
                "json",
            ])
            .output()
            .expect("eksguard runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let v = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}); stderr: {stderr}"));
        (out.status.code().unwrap_or(-1), v, stderr)
    }

    #[test]
    fn audit_commands_read_cloudwatch() {
        let Some(f) = fixture() else { return };
        let logs = &f.seeded["logs"];
        let group = logs["group"].as_str().unwrap();
        let stream = logs["audit_stream"].as_str().unwrap();
        let new = logs["new_events"].as_u64().unwrap();
        let old = logs["old_events"].as_u64().unwrap();

        let (code, v, stderr) = audit(
            &f.endpoint,
            &[
                "scan",
                "--cloudwatch",
                group,
                "--since",
                "1h",
                "--no-config",
                "--fail-on",
                "never",
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        let findings = v["findings"].as_array().unwrap();
        let exec = findings
            .iter()
            .find(|x| x["rule_id"] == "AUD002")
            .unwrap_or_else(|| panic!("no exec finding: {v:#}"));
        assert_eq!(exec["location"]["file"], format!("{group}/{stream}"));
        // The exec event is the last of the stream's recent events.
        assert_eq!(exec["location"]["line"], new);
        assert!(exec["message"].as_str().unwrap().contains("sh"), "{exec:#}");
        assert!(findings.iter().any(|x| x["rule_id"] == "AUD016"));
        // Events older than --since are not read.
        assert_eq!(v["summary"]["resources_scanned"], new, "{v:#}");

        let (code, v, stderr) = audit(&f.endpoint, &["summary", "--cloudwatch", group]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(v["events"], old + new, "{v:#}");

        let (code, v, _) = audit(
            &f.endpoint,
            &["summary", "--cloudwatch", group, "--since", "yesterday-ish"],
        );
        assert_eq!(code, 2);
        assert!(v.to_string().contains("--since"), "{v:#}");

        let (code, v, _) = audit(
            &f.endpoint,
            &["summary", "--cloudwatch", "/aws/eks/none/cluster"],
        );
        assert_eq!(code, 2);
        assert!(v.to_string().contains("FilterLogEvents"), "{v:#}");
    }

    #[test]
    fn missing_log_group_is_an_error_naming_it() {
        let Some(f) = fixture() else { return };
        let q = query(&f.endpoint, "/aws/eks/no-such-cluster/cluster");
        let mut reader = LogReader::open(&q).expect("reader opens");
        let err = reader.next_page().expect("one answer").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("FilterLogEvents") && text.contains("/aws/eks/no-such-cluster/cluster"),
            "{text}"
        );
        assert!(
            reader.next_page().is_none(),
            "the read stops after a failure"
        );
    }
}
