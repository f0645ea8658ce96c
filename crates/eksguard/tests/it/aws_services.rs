//! `eksguard cluster --aws` reading the security services around a cluster: ECR, KMS,
//! CloudTrail, GuardDuty and EFS from moto's server (seeded by
//! `tests/aws/seed_services.py`), Amazon Inspector from a small stand-in speaking its
//! REST-JSON protocol (moto does not implement the calls read). Without moto the test
//! prints SKIPPED through the shared fixture. Also: the book's read-only IAM policy
//! lists exactly the actions the live client code calls.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use super::aws_live::{eksguard, moto_endpoint};

const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/aws/seed_services.py");

/// Answers Inspector's three read calls for the cluster `cluster`: EC2 scanning off, one
/// node not covered, one node with a critical CVE.
fn inspector_answer(path: &str, cluster: &str) -> Value {
    let tags = json!({ "eks:cluster-name": cluster });
    match path {
        "/status/batch/get" => json!({"accounts": [{"accountId": "123456789012",
            "state": {"status": "ENABLED"},
            "resourceState": {"ec2": {"status": "DISABLED"}, "ecr": {"status": "ENABLED"},
                "lambda": {"status": "DISABLED"}, "lambdaCode": {"status": "DISABLED"}}}],
            "failedAccounts": []}),
        "/coverage/list" => json!({"coveredResources": [
            {"resourceType": "AWS_EC2_INSTANCE", "resourceId": "i-0aaa1111", "accountId": "123456789012",
             "scanType": "PACKAGE", "scanStatus": {"statusCode": "INACTIVE", "reason": "UNMANAGED_EC2_INSTANCE"},
             "resourceMetadata": {"ec2": {"tags": tags, "platform": "BOTTLEROCKET"}}},
            {"resourceType": "AWS_EC2_INSTANCE", "resourceId": "i-0bbb2222", "accountId": "123456789012",
             "scanType": "PACKAGE", "scanStatus": {"statusCode": "ACTIVE", "reason": "SUCCESSFUL"},
             "resourceMetadata": {"ec2": {"tags": tags}}}]}),
        "/findings/list" => json!({"findings": [
            {"findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/f1",
             "awsAccountId": "123456789012", "type": "PACKAGE_VULNERABILITY", "severity": "CRITICAL",
             "status": "ACTIVE", "title": "CVE-2026-1001 - kernel",
             "resources": [{"type": "AWS_EC2_INSTANCE", "id": "i-0bbb2222", "region": "us-east-1", "tags": tags}],
             "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2026-1001",
               "vulnerablePackages": [{"name": "kernel", "version": "6.1.100", "fixedInVersion": "6.1.115"}]}}]}),
        _ => json!({"__type": "ResourceNotFoundException", "message": path}),
    }
}

/// A stand-in Inspector endpoint on a free port, answering until the process exits.
fn inspector_stand_in(cluster: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let cluster = cluster.clone();
            std::thread::spawn(move || serve(stream, &cluster));
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn serve(mut stream: TcpStream, cluster: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    loop {
        let mut request = String::new();
        match reader.read_line(&mut request) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end().to_ascii_lowercase();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let payload = inspector_answer(&path, cluster).to_string();
        let status = if payload.contains("__type") {
            "404 Not Found"
        } else {
            "200 OK"
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
            payload.len()
        );
        if stream.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn security_services_are_read_live_and_judged() {
    let Some(endpoint) = moto_endpoint() else {
        return;
    };
    let suffix = format!("{}", std::process::id());
    let out = Command::new("python3")
        .args([SEED, endpoint, &suffix])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "seeding failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seeded: Value = serde_json::from_slice(&out.stdout).expect("seed prints JSON");
    let name = seeded["name"].as_str().expect("name").to_string();
    let inspector = inspector_stand_in(name.clone());
    let out = eksguard()
        .env("AWS_ENDPOINT_URL_INSPECTOR2", &inspector)
        .args([
            "cluster",
            "--aws",
            "--endpoint-url",
            endpoint,
            "--region",
            "us-east-1",
            "--cluster-name",
            &name,
            "-f",
            "json",
            "--fail-on",
            "never",
            "--no-config",
        ])
        .output()
        .expect("eksguard runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}); stderr: {stderr}"));
    let found: BTreeSet<(String, String)> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap_or("").to_string(),
                f["resource"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let s = |k: &str| seeded[k].as_str().expect(k).to_string();
    let repo_name = s("repository")
        .rsplit_once(":repository/")
        .map(|(_, n)| n.to_string())
        .expect("repository ARN");
    for (rule, resource) in [
        ("DATA008", s("key")),
        ("IMG004", s("repository")),
        ("IMG007", s("repository")),
        ("IMG011", s("repository")),
        ("IMG008", format!("123456789012/{repo_name}")),
        ("RUN005", s("detector")),
        ("RUN006", s("detector")),
        ("DATA007", s("file_system")),
        ("NODE014", "123456789012".to_string()),
        ("NODE015", "i-0aaa1111".to_string()),
        ("NODE016", "i-0bbb2222".to_string()),
        ("IMG010", s("vpc_endpoint")),
        (
            "IMG009",
            format!("arn:aws:eks:us-east-1:123456789012:cluster/{name}"),
        ),
        (
            "NET012",
            format!("arn:aws:eks:us-east-1:123456789012:cluster/{name}"),
        ),
    ] {
        assert!(
            found.contains(&(rule.to_string(), resource.clone())),
            "{rule} on {resource} missing: {found:#?}\n{stderr}"
        );
    }
    // The trails of the region: one single-region trail and no Insights.
    for rule in ["DET003", "DET004"] {
        assert!(found.iter().any(|(r, _)| r == rule), "{rule}: {found:#?}");
    }
    // moto does not implement GuardDuty's coverage list: reported, naming the rule left
    // without data, and the rest of the scan goes on.
    let errors: Vec<String> = report["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("guardduty:ListCoverage") && e.contains("RUN007")),
        "{errors:#?}"
    );
}

/// The live IAM policy of the book's cluster chapter is the set of `service:Action` names the live client
/// code calls: each one it names appears there, and it lists nothing else.
#[test]
fn book_policy_lists_the_actions_the_client_calls() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut called = BTreeSet::new();
    for file in [
        "crates/eksguard-live/src/aws_live/fetch.rs",
        "crates/eksguard-live/src/aws_live/services.rs",
    ] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).expect(file);
        for piece in text.split('"').skip(1).step_by(2) {
            let Some((service, action)) = piece.split_once(':') else {
                continue;
            };
            // Service prefixes are lower case, digits and hyphens (`acm-pca`).
            let service_ok = service.starts_with(|c: char| c.is_ascii_lowercase())
                && service
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            let action_ok = action.len() > 3
                && action.starts_with(|c: char| c.is_ascii_uppercase())
                && action.bytes().all(|b| b.is_ascii_alphanumeric());
            if service_ok && action_ok {
                called.insert(piece.to_string());
            }
        }
    }
    assert!(called.contains("eks:DescribeCluster") && called.contains("kms:DescribeKey"));
    let page = std::fs::read_to_string(format!("{root}/docs/book/src/cluster.md"))
        .expect("docs/book/src/cluster.md");
    let start = page
        .find("<!-- live-iam-policy -->")
        .expect("the cluster chapter marks the live IAM policy");
    let block = &page[start..];
    let json_start = block.find("```json").expect("a JSON block") + "```json".len();
    let json_end = block[json_start..].find("```").expect("closed") + json_start;
    let policy: Value = serde_json::from_str(&block[json_start..json_end]).expect("policy JSON");
    let listed: BTreeSet<String> = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    assert_eq!(
        listed, called,
        "the book's policy and the client calls differ"
    );
}
