//! `eksguard audit` on logs written to get in its way: request bodies nested past what
//! a JSON parser accepts, credentials in request URIs and exec commands, floods of
//! made-up users and addresses, and FIFOs among the inputs.

use crate::common::{self, json};

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    c.env("NO_COLOR", "1");
    c
}

/// Runs the binary, failing (and killing it) if it has not finished in a minute: a
/// blocked read must fail the test, not hang it.
fn run(args: &[&str]) -> Output {
    let child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Output is collected on a thread, so that a large report never fills the pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("eksguard {args:?} did not finish within a minute");
        }
    }
}

/// (rule, field path, line) of each finding.
fn findings(v: &serde_json::Value) -> Vec<(String, String, u64)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["field_path"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// A finished request; `rest` holds the event's other fields.
fn event(id: u32, user: &str, verb: &str, code: u32, rest: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"00000000-0000-0000-0000-{id:012}","stage":"ResponseComplete","verb":"{verb}","user":{{"username":"{user}","groups":["system:authenticated"]}},"sourceIPs":["192.0.2.10"],"responseStatus":{{"code":{code}}},"stageTimestamp":"2024-05-01T12:00:00.000000Z",{rest}}}"#
    )
}

#[test]
fn deep_managed_fields_do_not_hide_a_privileged_host_pid_pod() {
    // `managedFields` nested 300 levels: past the JSON parser's limit of 128, which used
    // to leave the whole body unread and the pod unjudged, without a word.
    let deep = format!("{}{{}}{}", r#"{"f:x":"#.repeat(300), "}".repeat(300));
    let body = format!(
        r#"{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"debug","namespace":"shop","managedFields":[{{"manager":"kubectl","fieldsV1":{deep}}}]}},"spec":{{"hostPID":true,"containers":[{{"name":"c","image":"busybox","securityContext":{{"privileged":true}},"volumeMounts":[{{"name":"root","mountPath":"/host"}}]}}],"volumes":[{{"name":"root","hostPath":{{"path":"/"}}}}]}}}}"#
    );
    let line = event(
        1,
        "alice",
        "create",
        201,
        &format!(
            r#""requestURI":"/api/v1/namespaces/shop/pods","objectRef":{{"resource":"pods","namespace":"shop","apiVersion":"v1"}},"requestObject":{body}"#
        ),
    );
    let dir = common::temp_dir("hostile-deep");
    let log = write(&dir, "deep.log", &format!("{line}\n"));
    let out = run(&[
        "audit",
        "scan",
        &log,
        "--no-config",
        "-f",
        "json",
        "--select",
        "AUD005,AUD006,AUD007",
    ]);
    let v = json(&out);
    assert!(
        v["errors"].as_array().unwrap().is_empty(),
        "{}",
        v["errors"]
    );
    assert_eq!(
        findings(&v),
        [
            (
                "AUD005".into(),
                "requestObject.spec.containers[0].securityContext.privileged".into(),
                1
            ),
            (
                "AUD006".into(),
                "requestObject.spec.volumes[0].hostPath.path".into(),
                1
            ),
            ("AUD007".into(), "requestObject.spec.hostPID".into(), 1),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn credentials_in_uris_and_exec_commands_never_appear() {
    let lines = [
        // An exec whose command carries a MySQL password, with a token in the query.
        event(
            1,
            "alice",
            "create",
            101,
            r#""requestURI":"/api/v1/namespaces/db/pods/mysql-0/exec?command=mysql&command=-uroot&command=-pSECRETY&container=mysql&stdin=true&access_token=SECRETX","objectRef":{"resource":"pods","namespace":"db","name":"mysql-0","subresource":"exec","apiVersion":"v1"}"#,
        ),
        // A shell script as one argument, with a password option in it.
        event(
            2,
            "alice",
            "create",
            101,
            r#""requestURI":"/api/v1/namespaces/db/pods/mysql-0/exec?command=sh&command=-c&command=mysqldump%20--password%3DSECRETY%20shop","objectRef":{"resource":"pods","namespace":"db","name":"mysql-0","subresource":"exec","apiVersion":"v1"}"#,
        ),
        // An anonymous request allowed, with a token in its query.
        event(
            3,
            "system:anonymous",
            "get",
            200,
            r#""requestURI":"/version?access_token=SECRETX","annotations":{"authorization.k8s.io/decision":"allow"}"#,
        ),
        // Impersonation, the password of a made-up query.
        event(
            4,
            "admin",
            "list",
            200,
            r#""requestURI":"/api/v1/namespaces/db/secrets?password=SECRETX&limit=500","impersonatedUser":{"username":"bob"},"objectRef":{"resource":"secrets","namespace":"db","apiVersion":"v1"}"#,
        ),
    ];
    let dir = common::temp_dir("hostile-redact");
    let log = write(&dir, "audit.log", &(lines.join("\n") + "\n"));
    let leaked = |label: &str, out: &Output| {
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.contains("SECRET") && !err.contains("SECRET"),
            "{label}: {text}\n{err}"
        );
        text.into_owned()
    };
    for format in ["text", "json", "jsonl", "markdown", "sarif", "junit"] {
        let out = run(&["audit", "scan", &log, "--no-config", "-f", format]);
        let text = leaked(format, &out);
        assert!(
            text.contains("AUD002") && text.contains("AUD001"),
            "{format}: {text}"
        );
    }
    let v = json(&run(&["audit", "scan", &log, "--no-config", "-f", "json"]));
    let ids: Vec<(String, String, u64)> = findings(&v);
    assert!(
        ids.contains(&("AUD002".into(), "requestURI".into(), 1)),
        "{ids:?}"
    );
    let exec = &v["findings"][0];
    assert_eq!(
        exec["message"],
        "`alice` exec `mysql -uroot -pREDACTED` in pod db/mysql-0 (container mysql)"
    );
    assert_eq!(exec["event"]["command"], "mysql -uroot -pREDACTED");
    assert_eq!(
        exec["event"]["request_uri"],
        "/api/v1/namespaces/db/pods/mysql-0/exec?command=mysql&command=-uroot&command=-pREDACTED&container=mysql&stdin=true&access_token=REDACTED"
    );
    let messages: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .contains(&"`alice` exec `sh -c mysqldump --password=REDACTED shop` in pod db/mysql-0"),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"anonymous request allowed: get /version?access_token=REDACTED"),
        "{messages:?}"
    );
    for format in ["text", "json", "markdown"] {
        let out = run(&["audit", "summary", &log, "-f", format]);
        let text = leaked(&format!("summary {format}"), &out);
        assert!(text.contains("alice"), "summary {format}: {text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_flood_of_refused_keys_is_reported_past_the_bound() {
    // 300 refusals, each from a new user and IP, with the bound set to 100 keys.
    let lines: Vec<String> = (0..300u32)
        .map(|i| {
            event(i, &format!("u{i}"), "get", 401, r#""requestURI":"/api""#)
                .replace("192.0.2.10", &format!("10.0.{}.{}", i / 256, i % 256))
        })
        .collect();
    let dir = common::temp_dir("hostile-flood");
    let log = write(&dir, "flood.log", &(lines.join("\n") + "\n"));
    let cfg = write(&dir, "eksguard.toml", "[rules.AUD020]\nmax_keys = 100\n");
    let out = run(&[
        "audit", "scan", &log, "--config", &cfg, "-f", "json", "--select", "AUD020",
    ]);
    let v = json(&out);
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["severity"], "info");
    assert_eq!(f[0]["location"]["line"], 51);
    assert!(
        f[0]["message"].as_str().unwrap().starts_with(
            "more than 100 users and source IPs were refused within 5 minutes by 2024-05-01T12:00:00.000000Z"
        ),
        "{}",
        f[0]["message"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn fifos_among_the_inputs_are_refused_without_blocking() {
    let dir = common::temp_dir("hostile-fifo");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    write(
        &logs,
        "a.log",
        &format!(
            "{}\n",
            event(
                1,
                "system:anonymous",
                "get",
                200,
                r#""requestURI":"/api","annotations":{"authorization.k8s.io/decision":"allow"}"#
            )
        ),
    );
    let fifo = logs.join("b.log");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: mkfifo not available");
        return;
    }
    // Nothing ever writes to the FIFO: opening it to read would wait forever.
    let fifo_arg = fifo.to_str().unwrap();
    let out = run(&[
        "audit",
        "scan",
        logs.to_str().unwrap(),
        fifo_arg,
        "--no-config",
        "-f",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(findings(&v), [("AUD001".into(), "user.username".into(), 1)]);
    let errors: Vec<(&str, &str)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["file"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    let msg = "a FIFO, not a regular file: skipped (give a pipe's output as `-`, standard input)";
    assert_eq!(errors, [(fifo_arg, msg), (fifo_arg, msg)]);
    let out = run(&["audit", "summary", fifo_arg]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
