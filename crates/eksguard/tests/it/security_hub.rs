//! `--format asff` and `--security-hub` through the built binary: the ASFF fields, the
//! import into moto's Security Hub, the archiving of a fixed finding, and retries and
//! refused findings against a small fake endpoint.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::common::{json, temp_dir};

const EXAMPLE: &str = "../../examples/insecure-eks";

fn eksguard() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_CONFIG_FILE", "/nonexistent/eksguard-test")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/eksguard-test")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// The example's storefront and namespaces, to change, in a fresh directory (a fresh
/// scope). Fewer than 100 findings: moto's GetFindings drops an item at each page
/// boundary, which real Security Hub does not.
fn example_copy() -> PathBuf {
    let dir = temp_dir("hub");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE);
    for file in ["storefront.yaml", "namespaces.yaml"] {
        std::fs::copy(src.join(file), dir.join(file)).unwrap();
    }
    dir
}

/// A region of its own per test process, so findings a shared server holds from earlier
/// runs stay on other pages.
fn region() -> &'static str {
    const REGIONS: &[&str] = &[
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-west-2",
        "eu-west-3",
        "ap-northeast-1",
        "ap-southeast-2",
        "ap-south-1",
        "sa-east-1",
    ];
    REGIONS[std::process::id() as usize % REGIONS.len()]
}

fn asff(extra: &[&str]) -> Vec<Value> {
    let out = eksguard()
        .args(["scan", "--no-config", EXAMPLE, "-f", "asff"])
        .args(["--aws-account", "111122223333", "--region", "eu-west-1"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    json(&out).as_array().unwrap().clone()
}

#[test]
fn asff_fields_ids_and_resources() {
    let findings = asff(&[]);
    let dir = temp_dir("asff-baseline");
    let baseline = dir.join("b.json");
    eksguard()
        .args(["scan", "--no-config", EXAMPLE, "-q", "--write-baseline"])
        .arg(&baseline)
        .output()
        .unwrap();
    let b: Value = serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    let fingerprints: std::collections::BTreeSet<&str> = b["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(findings.len(), 130);
    let product = "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default";
    for f in &findings {
        assert_eq!(f["SchemaVersion"], "2018-10-08");
        assert_eq!(f["ProductArn"], product);
        assert_eq!(f["AwsAccountId"], "111122223333");
        assert_eq!(f["RecordState"], "ACTIVE");
        assert_eq!(f["Compliance"]["Status"], "FAILED");
        let id = f["Id"].as_str().unwrap();
        let fp = id.rsplit('/').next().unwrap();
        assert!(
            fingerprints.contains(fp),
            "{id} is not from a baseline fingerprint"
        );
        assert_eq!(f["ProductFields"]["eksguard/fingerprint"], fp);
        assert!(f["GeneratorId"].as_str().unwrap().starts_with("eksguard/"));
        assert!(f["Remediation"]["Recommendation"]["Url"]
            .as_str()
            .unwrap()
            .starts_with("https://docs.aws.amazon.com/eks/"));
        assert!(f["Title"].as_str().unwrap().chars().count() <= 256);
        assert!(f["Description"].as_str().unwrap().chars().count() <= 1024);
    }
    // The same scan gives the same Ids; another scope gives others.
    let ids = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|f| f["Id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&findings), ids(&asff(&[])));
    let other = asff(&["--security-hub-scope", "cluster:other"]);
    assert!(ids(&other).iter().all(|i| !ids(&findings).contains(i)));
    assert_eq!(other[0]["ProductFields"]["eksguard/scope"], "cluster:other");

    let res_of = |kind: &str| -> Value {
        findings
            .iter()
            .find(|f| f["Resources"][0]["Type"] == kind)
            .unwrap_or_else(|| panic!("{kind}"))["Resources"][0]
            .clone()
    };
    assert_eq!(
        res_of("AwsEksCluster")["Id"],
        "arn:aws:eks:eu-west-1:111122223333:cluster/shop"
    );
    assert_eq!(
        res_of("AwsEc2SecurityGroup")["Id"],
        "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0aa11bb22cc33dd44"
    );
    assert_eq!(
        res_of("AwsEc2LaunchTemplate")["Id"],
        "arn:aws:ec2:eu-west-1:111122223333:launch-template/lt-0abc1234def567890"
    );
    assert!(res_of("AwsIamRole")["Id"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:iam::111122223333:role/"));
    let pod = findings
        .iter()
        .find(|f| {
            f["GeneratorId"] == "eksguard/POD001"
                && f["Resources"][0]["Details"]["Other"]["name"] == "storefront"
        })
        .expect("POD001 on the storefront")["Resources"][0]
        .clone();
    assert_eq!(pod["Details"]["Other"]["kind"], "Deployment");
    assert_eq!(pod["Details"]["Other"]["namespace"], "shop");
    assert_eq!(pod["Details"]["Other"]["name"], "storefront");
    assert_eq!(pod["Id"], "Deployment/shop/storefront");
    let critical = findings
        .iter()
        .filter(|f| f["Severity"]["Label"] == "CRITICAL")
        .count();
    assert_eq!(critical, 8);
    let _ = std::fs::remove_dir_all(dir);
}

/// moto's endpoint: CI's, else one started here, else `None` after SKIPPED.
fn moto() -> Option<String> {
    static SERVER: std::sync::OnceLock<Option<(String, Option<std::process::Child>)>> =
        std::sync::OnceLock::new();
    let s = SERVER.get_or_init(|| match std::env::var("EKSGUARD_TEST_AWS_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some((e, None)),
        _ => crate::aws_live::start_moto().map(|(e, c)| (e, Some(c))),
    });
    if s.is_none() {
        eprintln!(
            "SKIPPED: no moto server (set EKSGUARD_TEST_AWS_ENDPOINT or install moto[server])"
        );
    }
    s.as_ref().map(|(e, _)| e.clone())
}

fn hub_scan(endpoint: &str, dir: &Path) -> Output {
    eksguard()
        .args(["scan", "--no-config", "-q", "--security-hub"])
        .arg(dir)
        .args(["--region", region(), "--endpoint-url", endpoint])
        .output()
        .unwrap()
}

/// Every finding moto's Security Hub holds for `scope`, read with boto3.
fn hub_findings(endpoint: &str, scope: &str) -> Vec<Value> {
    hub_findings_in(endpoint, scope, region())
}

/// Every finding moto's Security Hub holds for `scope` in `region`.
pub(crate) fn hub_findings_in(endpoint: &str, scope: &str, region: &str) -> Vec<Value> {
    let script = r#"
import json, sys, boto3
c = boto3.client("securityhub", region_name=sys.argv[3], endpoint_url=sys.argv[1],
                 aws_access_key_id="testing", aws_secret_access_key="testing")
out, token = [], None
while True:
    kw = {"MaxResults": 100}
    if token: kw["NextToken"] = token
    page = c.get_findings(**kw)
    out += [f for f in page["Findings"] if f.get("ProductFields", {}).get("eksguard/scope") == sys.argv[2]]
    token = page.get("NextToken")
    if not token: break
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script, endpoint, scope, region])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out).as_array().unwrap().clone()
}

#[test]
fn import_then_fix_archives_the_gone_finding() {
    let Some(endpoint) = moto() else { return };
    let dir = example_copy();
    let scope = format!("path:{}", std::path::absolute(&dir).unwrap().display());

    let first = hub_scan(&endpoint, &dir);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "security hub: 32 findings imported, 0 archived, 0 refused (123456789012 in {}",
            region()
        )),
        "{stderr}"
    );
    let held = hub_findings(&endpoint, &scope);
    assert_eq!(held.len(), 32);
    assert!(held.iter().all(|f| f["RecordState"] == "ACTIVE"));

    // Fix the privileged storefront container and scan again.
    let manifest = dir.join("storefront.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert_eq!(text.matches("privileged: true").count(), 1);
    std::fs::write(
        &manifest,
        text.replace("privileged: true", "privileged: false"),
    )
    .unwrap();
    let second = hub_scan(&endpoint, &dir);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("security hub: 31 findings imported, 1 archived, 0 refused"),
        "{stderr}"
    );

    let held = hub_findings(&endpoint, &scope);
    assert_eq!(held.len(), 32);
    let archived: Vec<&Value> = held
        .iter()
        .filter(|f| f["RecordState"] == "ARCHIVED")
        .collect();
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0]["GeneratorId"], "eksguard/POD001");
    assert_eq!(archived[0]["Compliance"]["Status"], "PASSED");
    assert_eq!(
        archived[0]["Resources"][0]["Id"],
        "Deployment/shop/storefront"
    );
    // A finding still there keeps the time it was first imported.
    let still = held.iter().find(|f| f["RecordState"] == "ACTIVE").unwrap();
    assert!(still["CreatedAt"].as_str().unwrap() <= still["UpdatedAt"].as_str().unwrap());

    // A third run has nothing more to archive.
    let third = hub_scan(&endpoint, &dir);
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(
        stderr.contains("31 findings imported, 0 archived"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// What the fake Security Hub saw: each request's path and the number of findings sent.
type Seen = Arc<Mutex<Vec<(String, usize)>>>;

/// A Security Hub that throttles the first import and refuses one finding of the next.
fn fake_hub(refuse: String) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut length = 0;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let n = sent["Findings"].as_array().map_or(0, Vec::len);
            let imports = {
                let mut s = log.lock().unwrap();
                s.push((path.clone(), n));
                s.iter().filter(|(p, _)| p == "/findings/import").count()
            };
            let (status, answer) = match (path.as_str(), imports) {
                ("/findings", _) => ("200 OK", r#"{"Findings":[]}"#.to_string()),
                (_, 1) => (
                    "429 Too Many Requests",
                    r#"{"__type":"TooManyRequestsException","Message":"slow down"}"#.to_string(),
                ),
                (_, 2) => (
                    "200 OK",
                    format!(
                        r#"{{"FailedCount":1,"SuccessCount":{},"FailedFindings":[{{"Id":"{refuse}","ErrorCode":"InvalidInput","ErrorMessage":"Finding does not adhere to ASFF"}}]}}"#,
                        n - 1
                    ),
                ),
                _ => (
                    "200 OK",
                    format!(r#"{{"FailedCount":0,"SuccessCount":{n},"FailedFindings":[]}}"#),
                ),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (endpoint, seen)
}

#[test]
fn throttled_batches_are_retried_and_refused_findings_reported() {
    let first_id = asff(&["--security-hub-scope", "fake"])[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let (endpoint, seen) = fake_hub(first_id.clone());
    let out = eksguard()
        .args(["scan", "--no-config", EXAMPLE, "-q", "--security-hub"])
        .args([
            "--security-hub-scope",
            "fake",
            "--aws-account",
            "111122223333",
        ])
        .args(["--region", "eu-west-1", "--endpoint-url", &endpoint])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A refused finding fails the run, after every batch was sent.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "security hub: refused {first_id}: InvalidInput: Finding does not adhere to ASFF"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("129 findings imported, 0 archived, 1 refused"),
        "{stderr}"
    );
    let seen = seen.lock().unwrap().clone();
    let imports: Vec<usize> = seen
        .iter()
        .filter(|(p, _)| p == "/findings/import")
        .map(|(_, n)| *n)
        .collect();
    // 130 findings: a batch of 100 throttled and sent again, then 30.
    assert_eq!(imports, [100, 100, 30]);
    assert_eq!(seen[0].0, "/findings");
}

#[test]
fn a_scan_with_input_errors_archives_nothing_it_could_not_read() {
    let Some(endpoint) = moto() else { return };
    let dir = example_copy();
    let scope = format!("path:{}", std::path::absolute(&dir).unwrap().display());
    let first = hub_scan(&endpoint, &dir);
    assert_eq!(first.status.code(), Some(1), "{first:?}");
    let held = hub_findings(&endpoint, &scope);
    assert_eq!(held.len(), 32);
    let in_storefront = held
        .iter()
        .filter(|f| {
            f["ProductFields"]["eksguard/location"]
                .as_str()
                .is_some_and(|l| l.contains("storefront.yaml:"))
        })
        .count();
    assert!(in_storefront > 0 && in_storefront < 32, "{in_storefront}");

    // The storefront can no longer be read, and a namespace finding is fixed.
    std::fs::write(dir.join("storefront.yaml"), "kind: [unclosed\n").unwrap();
    let second = hub_scan(&endpoint, &dir);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    // Findings in the namespaces' file that rest on the storefront are not gone either.
    let current = 2;
    assert!(
        stderr.contains(&format!(
            "security hub: {current} findings imported, 0 archived, 0 refused"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "security hub: {} earlier findings kept: not found again, but this run could not read all its inputs",
            32 - current
        )),
        "{stderr}"
    );
    let held = hub_findings(&endpoint, &scope);
    assert!(held.iter().all(|f| f["RecordState"] == "ACTIVE"));
    assert!(held.iter().all(|f| f["Compliance"]["Status"] == "FAILED"));
    let _ = std::fs::remove_dir_all(dir);
}

/// A Security Hub that refuses the first import request as too large (413), answers
/// the rest, and records the findings of each request.
fn refusing_hub() -> (String, Arc<Mutex<Vec<usize>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut length = 0;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let n = sent["Findings"].as_array().map_or(0, Vec::len);
            let (status, answer) = if path == "/findings" {
                ("200 OK", r#"{"Findings":[]}"#.to_string())
            } else {
                let first = {
                    let mut s = log.lock().unwrap();
                    s.push(n);
                    s.len() == 1
                };
                if first {
                    (
                        "413 Request Entity Too Large",
                        r#"{"Message":"Request must be smaller than 6291456 bytes"}"#.to_string(),
                    )
                } else {
                    (
                        "200 OK",
                        format!(r#"{{"FailedCount":0,"SuccessCount":{n},"FailedFindings":[]}}"#),
                    )
                }
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (endpoint, seen)
}

#[test]
fn a_refused_batch_does_not_stop_the_import() {
    let ids: Vec<String> = asff(&["--security-hub-scope", "refusing"])
        .iter()
        .map(|f| f["Id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 130);
    let (endpoint, seen) = refusing_hub();
    let out = eksguard()
        .args(["scan", "--no-config", EXAMPLE, "-q", "--security-hub"])
        .args([
            "--security-hub-scope",
            "refusing",
            "--aws-account",
            "111122223333",
        ])
        .args(["--region", "eu-west-1", "--endpoint-url", &endpoint])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // The second batch went out after the first was refused.
    assert_eq!(*seen.lock().unwrap(), [100, 30]);
    assert!(
        stderr.contains("30 findings imported, 0 archived, 100 refused"),
        "{stderr}"
    );
    // Each finding of the refused batch is named.
    let refused = stderr
        .lines()
        .filter(|l| l.starts_with("security hub: refused ") && l.contains(": RequestFailed: "))
        .count();
    assert_eq!(refused, 100, "{stderr}");
    assert!(stderr.contains(&format!(
        "security hub: refused {}: RequestFailed: ",
        ids[0]
    )));
}
