//! `eksguard audit scan` and `audit summary` through the built binary.

use crate::common::{self, json};

use std::path::Path;
use std::process::{Command, Output};

const LOG: &str = "tests/data/audit/incident.log";
const BURST: &str = "tests/data/audit/burst.log";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    // Relative paths keep file names in the output stable.
    c.env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn ids_and_lines(v: &serde_json::Value) -> Vec<(String, u64)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn scan_json_snapshot() {
    let out = run(&["audit", "scan", LOG, "--no-config", "-f", "json"]);
    // The truncated and the malformed line are input errors: exit 2, the rest reported.
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(
        ids_and_lines(&v),
        [
            ("AUD002".into(), 1),
            ("AUD016".into(), 4),
            ("AUD009".into(), 5),
            ("AUD019".into(), 8),
            ("AUD021".into(), 9),
            ("AUD017".into(), 10),
        ]
    );
    let errors: Vec<(u64, &str)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].0, 6);
    assert!(errors[0]
        .1
        .starts_with("truncated audit event (auditID 00000007-"));
    assert_eq!(errors[1].0, 7);
    assert_eq!(
        v["summary"]["audit"],
        serde_json::json!({"events_read": 8, "duplicates": 1, "truncated": 1, "malformed": 1})
    );
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn scan_text_snapshot() {
    let out = run(&["audit", "scan", LOG, "--no-config"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn secret_values_never_appear() {
    for format in ["text", "json", "sarif", "junit", "markdown"] {
        let out = run(&["audit", "scan", LOG, "--no-config", "-f", format]);
        let text = stdout(&out);
        assert!(text.contains("AUD009"), "{format}");
        assert!(
            !text.contains("s3cr3t") && !text.contains("Hunter2"),
            "{format}: {text}"
        );
    }
}

#[test]
fn sarif_carries_the_event() {
    let out = run(&[
        "audit",
        "scan",
        LOG,
        "--no-config",
        "-f",
        "sarif",
        "--select",
        "AUD002",
    ]);
    let v = json(&out);
    let result = &v["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "AUD002");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    assert_eq!(
        result["properties"]["event"]["command"],
        "sh -c cat /etc/passwd"
    );
    assert_eq!(
        result["properties"]["event"]["user"],
        "arn:aws:sts::111122223333:assumed-role/dev/alice"
    );
}

#[test]
fn select_ignore_severity_and_fail_on() {
    let out = run(&[
        "audit",
        "scan",
        LOG,
        "--no-config",
        "-f",
        "json",
        "--select",
        "AUD02",
        "--ignore",
        "AUD021",
    ]);
    assert!(ids_and_lines(&json(&out)).is_empty());

    let dir = common::temp_dir("audit");
    let cfg = dir.join("eksguard.toml");
    std::fs::write(
        &cfg,
        "select = [\"AUD016\", \"AUD020\"]\n[severity]\nAUD016 = \"critical\"\n[rules.AUD020]\nthreshold = 5\nwindow_seconds = 60\n",
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let out = run(&[
        "audit",
        "scan",
        LOG,
        BURST,
        "--config",
        cfg,
        "-f",
        "json",
        "--fail-on",
        "critical",
    ]);
    let v = json(&out);
    let found: Vec<(String, String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["location"]["file"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    // The burst: five refusals for the user and for the IP within a minute, counted on
    // from the one in the first log.
    assert_eq!(
        found,
        [
            ("AUD016".into(), LOG.into(), 4),
            ("AUD020".into(), BURST.into(), 4),
            ("AUD020".into(), BURST.into(), 4),
        ]
    );
    assert_eq!(v["findings"][0]["severity"], "critical");
    let paths: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field_path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["verb", "user.username", "sourceIPs"]);
    // Exit 2 for the bad lines of the first log, even with findings.
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[
        "audit",
        "scan",
        BURST,
        "--config",
        cfg,
        "-q",
        "--fail-on",
        "high",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let out = run(&[
        "audit",
        "scan",
        BURST,
        "--config",
        cfg,
        "-q",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(out.status.code(), Some(0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_rule_parameter_is_a_config_error() {
    let dir = common::temp_dir("audit-cfg");
    let cfg = dir.join("eksguard.toml");
    std::fs::write(&cfg, "[rules.AUD024]\ncidrs = [\"10.0.0.0/16\"]\n").unwrap();
    let out = run(&["audit", "scan", BURST, "--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":2: rule AUD024 has no parameter `cidrs`"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stdin_and_gzip() {
    use std::io::Write;
    let text = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(BURST)).unwrap();
    let out = common::run_with_stdin(
        bin().args([
            "audit",
            "scan",
            "-",
            "--no-config",
            "-f",
            "json",
            "--select",
            "AUD017",
        ]),
        std::str::from_utf8(&text).unwrap(),
    );
    let v = json(&out);
    assert_eq!(v["findings"].as_array().unwrap().len(), 7);
    assert_eq!(v["findings"][6]["location"]["file"], "-");

    let dir = common::temp_dir("audit-gz");
    let gz = dir.join("burst.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&text).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let out = run(&[
        "audit",
        "scan",
        gz.to_str().unwrap(),
        "--no-config",
        "-f",
        "json",
        "--select",
        "AUD017",
    ]);
    assert_eq!(json(&out)["findings"].as_array().unwrap().len(), 7);
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_log_is_an_error_and_the_rest_goes_on() {
    let out = run(&[
        "audit",
        "scan",
        "tests/data/audit/absent.log",
        BURST,
        "--no-config",
        "-f",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["errors"][0]["file"], "tests/data/audit/absent.log");
    assert_eq!(v["summary"]["audit"]["events_read"], 7);
}

#[test]
fn summary_text_snapshot() {
    let out = run(&["audit", "summary", LOG, BURST]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn summary_json_snapshot() {
    let out = run(&["audit", "summary", LOG, BURST, "-f", "json", "--top", "3"]);
    let v = json(&out);
    assert_eq!(v["events"], 13);
    assert_eq!(
        v["service_accounts"][0],
        serde_json::json!({"name": "shop:web", "count": 8})
    );
    assert_eq!(v["denied"][0]["user"], "system:serviceaccount:shop:web");
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn summary_markdown_snapshot() {
    let out = run(&["audit", "summary", BURST, "-f", "markdown"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(stdout(&out));
}

/// JSON lines carry the same findings as the JSON report, in the same order, each written
/// as it is found, and end with the errors and summary.
#[test]
fn jsonl_streams_the_findings_of_the_json_report() {
    let full = json(&run(&["audit", "scan", LOG, "--no-config", "-f", "json"]));
    let out = run(&["audit", "scan", LOG, "--no-config", "-f", "jsonl"]);
    assert_eq!(out.status.code(), Some(2), "errors still give status 2");
    let text = stdout(&out);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let (end, findings) = lines.split_last().unwrap();
    assert_eq!(findings, full["findings"].as_array().unwrap().as_slice());
    assert_eq!(end["summary"], full["summary"]);
    assert_eq!(end["errors"], full["errors"]);
    assert_eq!(end["schema_version"], 1);

    // Baselines and --fail-on work the same way.
    let dir = common::temp_dir("jsonl");
    let base = dir.join("baseline.json");
    let base = base.to_str().unwrap();
    let out = run(&[
        "audit",
        "scan",
        BURST,
        "--no-config",
        "-f",
        "jsonl",
        "--write-baseline",
        base,
    ]);
    // Writing a baseline is the run's purpose: it exits 0 whatever it found.
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = run(&[
        "audit",
        "scan",
        BURST,
        "--no-config",
        "-f",
        "jsonl",
        "--baseline",
        base,
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "only the summary line: {text}");
    let end: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert!(end["summary"]["suppressed"].as_u64().unwrap() > 0);
}

/// The bundled incident: every step of the intrusion is reported at its line, and the
/// keys left in the ConfigMap appear in no format.
#[test]
fn bundled_incident_example() {
    let log = "../../examples/audit/incident.log";
    let v = json(&run(&["audit", "scan", log, "--no-config", "-f", "json"]));
    let mut found = ids_and_lines(&v);
    found.retain(|(id, _)| id != "AUD017");
    assert_eq!(
        found,
        [
            ("AUD020".into(), 22),
            ("AUD020".into(), 22),
            ("AUD016".into(), 24),
            ("AUD019".into(), 25),
            ("AUD010".into(), 26),
            ("AUD023".into(), 26),
            ("AUD005".into(), 27),
            ("AUD006".into(), 27),
            ("AUD007".into(), 27),
            ("AUD014".into(), 27),
            ("AUD002".into(), 28),
            ("AUD009".into(), 30),
            ("AUD009".into(), 30),
        ]
    );
    let denied = ids_and_lines(&v)
        .iter()
        .filter(|(id, _)| id == "AUD017")
        .count();
    assert_eq!(denied, 21);
    for format in ["text", "json", "jsonl", "sarif", "junit", "markdown"] {
        let out = stdout(&run(&["audit", "scan", log, "--no-config", "-f", format]));
        assert!(!out.contains("AKIAIOSFODNN7EXAMPLE"), "{format}");
        assert!(!out.contains("wJalrXUtnFEMI"), "{format}");
    }
}
