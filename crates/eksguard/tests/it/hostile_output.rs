//! Output that input cannot subvert: secret values on the context lines of a code frame
//! never appear, whatever the finding is about, and names carrying terminal controls or
//! Markdown reach no output raw.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    c.env("NO_COLOR", "1");
    c
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------
// Secret values around code frames

/// Scans `text` (as a file named `name`) in text, JSON and SARIF and checks that `secret`
/// appears in none while the finding of `rule` is there; returns the text output.
fn scan_hiding(name: &str, text: &str, rule: &str, secret: &str) -> String {
    let dir = common::temp_dir("frames");
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    let mut shown = String::new();
    for format in ["text", "json", "sarif"] {
        let out = bin()
            .args(["scan", "--no-config", "--format", format])
            .arg(&file)
            .output()
            .unwrap();
        let s = stdout(&out);
        assert!(
            s.contains(rule),
            "{format}: no {rule} finding\n{s}\n{}",
            stderr(&out)
        );
        assert!(
            !s.contains(secret),
            "{format} output shows `{secret}`:\n{s}"
        );
        assert!(!stderr(&out).contains(secret), "stderr shows `{secret}`");
        if format == "text" {
            shown = s;
        }
    }
    shown
}

/// The frame lines (`  7 | ...`) of a text report.
fn frame_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            let t = l.trim_start();
            t.split_once(" | ")
                .is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
        })
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn secret_string_data_in_a_list_above_a_namespace_finding() {
    let text = "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata:
    name: db
    namespace: shop
  stringData:
    password: hunter2-in-list
- metadata:
    name: shop
  apiVersion: v1
  kind: Namespace
";
    let shown = scan_hiding("list.yaml", text, "POD014", "hunter2-in-list");
    let frames = frame_lines(&shown);
    assert!(
        frames.contains(&"10 |     password: ********".to_string()),
        "{frames:#?}\n{shown}"
    );
}

#[test]
fn configmap_credential_next_to_a_default_namespace_finding() {
    let text = "\
apiVersion: v1
kind: ConfigMap
data:
  db_password: hunter2-configmap
metadata:
  name: app
";
    let shown = scan_hiding("cm.yaml", text, "TEN001", "hunter2-configmap");
    assert!(
        frame_lines(&shown).contains(&"4 |   db_password: ********".to_string()),
        "{shown}"
    );
}

#[test]
fn one_line_json_secret_in_a_list_is_hidden_whole() {
    let text = r#"{"apiVersion":"v1","kind":"List","items":[
{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"password":"aHVudGVyMi1qc29u"}},
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"x":"y"}}
]}
"#;
    let shown = scan_hiding("list.json", text, "TEN001", "aHVudGVyMi1qc29u");
    assert!(
        frame_lines(&shown).contains(&"2 | ********".to_string()),
        "{shown}"
    );
}

const POD_HEAD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: api
  namespace: shop
spec:
  containers:
  - name: app
";

#[test]
fn password_argument_next_to_an_image_finding() {
    let text =
        format!("{POD_HEAD}    args:\n    - --password=hunter2-arg\n    image: nginx:latest\n");
    let shown = scan_hiding("args.yaml", &text, "IMG001", "hunter2-arg");
    assert!(
        frame_lines(&shown).contains(&"10 |     - ********".to_string()),
        "{shown}"
    );
}

#[test]
fn glued_short_password_flag_next_to_an_image_finding() {
    let text = format!(
        "{POD_HEAD}    command: [\"sh\", \"-c\", \"mysql -uroot -phunter2-short\"]\n    image: nginx:latest\n"
    );
    scan_hiding("short.yaml", &text, "IMG001", "hunter2-short");
}

#[test]
fn credential_flag_and_value_as_two_items() {
    let text = format!(
        "{POD_HEAD}    args:\n    - --token\n    - tok-hunter2-split\n    image: nginx:latest\n"
    );
    scan_hiding("split.yaml", &text, "IMG001", "tok-hunter2-split");
}

#[test]
fn env_value_under_a_credential_name_next_to_an_image_finding() {
    let text = format!(
        "{POD_HEAD}    env:\n    - name: DB_PASSWORD\n      value: hunter2-env\n    image: nginx:latest\n"
    );
    scan_hiding("env.yaml", &text, "IMG001", "hunter2-env");
}

#[test]
fn aws_key_id_and_url_userinfo_next_to_an_image_finding() {
    let text = format!(
        "{POD_HEAD}    env:\n    - name: REPO\n      value: https://deploy:hunter2-url@git.example.com/app.git\n    image: nginx:latest\n    workingDir: AKIAIOSFODNN7EXAMPLE\n"
    );
    scan_hiding("url.yaml", &text, "IMG001", "hunter2-url");
    scan_hiding("akia.yaml", &text, "IMG001", "AKIAIOSFODNN7EXAMPLE");
}

#[test]
fn pem_block_and_base64_blob_next_to_a_finding() {
    let blob = "QmFzZTY0IGVuY29kZWQgc2VjcmV0IHRoYXQgaXMgbG9uZyBlbm91Z2g=";
    let text = format!(
        "{POD_HEAD}    image: nginx:latest\n    workingDir: {blob}\n  - name: sidecar\n    image: busybox:latest\n    args:\n    - |\n      -----BEGIN PRIVATE KEY-----\n      MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n      -----END PRIVATE KEY-----\n"
    );
    scan_hiding("blob.yaml", &text, "IMG001", blob);
    let text = format!(
        "{POD_HEAD}    args:\n    - |\n      -----BEGIN PRIVATE KEY-----\n      MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n      -----END PRIVATE KEY-----\n    image: nginx:latest\n"
    );
    scan_hiding(
        "pem.yaml",
        &text,
        "IMG001",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    );
}

#[test]
fn launch_template_user_data_next_to_an_imds_finding() {
    let user_data = "IyEvYmluL2Jhc2gKZXhwb3J0IFRPS0VOPWh1bnRlcjIK";
    let text = format!(
        r#"{{
    "LaunchTemplateVersions": [
        {{
            "LaunchTemplateId": "lt-0abc1234def567890",
            "LaunchTemplateName": "nodes",
            "VersionNumber": 1,
            "LaunchTemplateData": {{
                "UserData": "{user_data}",
                "MetadataOptions": {{"HttpTokens": "optional", "HttpPutResponseHopLimit": 1}}
            }}
        }}
    ]
}}
"#
    );
    let shown = scan_hiding(
        "describe-launch-template-versions.json",
        &text,
        "IRSA009",
        user_data,
    );
    assert!(
        frame_lines(&shown).contains(&r#"8 |                 "UserData": ********"#.to_string()),
        "{shown}"
    );
}

// ---------------------------------------------------------------------------------------
// Terminal and Markdown injection

/// A name with terminal controls (ESC, BEL, CR, the one-byte CSI, a right-to-left
/// override) and Markdown that would hide text, load an image, link or mention, in YAML's
/// double-quoted escapes.
const HOSTILE_YAML: &str = r#""evil\e]0;title\a\r<!-- x --><img src=x onerror=alert(1)>![x](http://e/)[a](javascript:alert(1))@org/team\u009B2J\u202Eabc""#;

/// The name `HOSTILE_YAML` spells, as a YAML reader gets it.
const HOSTILE: &str = "evil\u{1b}]0;title\u{7}\r<!-- x --><img src=x onerror=alert(1)>![x](http://e/)[a](javascript:alert(1))@org/team\u{9b}2J\u{202e}abc";

/// What no output may contain raw.
const CONTROLS: &[&str] = &["\u{1b}", "\u{7}", "\r", "\u{9b}", "\u{202e}"];
const MARKDOWN: &[&str] = &["<!--", "<img", "![x](", "[a](", "javascript:", "@org/team"];

fn assert_clean(what: &str, s: &str, markdown: bool) {
    for c in CONTROLS {
        assert!(!s.contains(c), "{what}: raw {c:?} in\n{s:?}");
    }
    if markdown {
        for m in MARKDOWN {
            assert!(!s.contains(m), "{what}: raw `{m}` in\n{s}");
        }
    }
}

const RBAC: &str = r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: NAME
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: NAME
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: NAME
subjects:
- kind: User
  name: NAME
  apiGroup: rbac.authorization.k8s.io
"#;

fn rbac(args: &[&str], file: &Path) -> Output {
    bin().arg("rbac").args(args).arg(file).output().unwrap()
}

#[test]
fn rbac_tables_escape_hostile_names() {
    let dir = common::temp_dir("hostile-rbac");
    let file = dir.join("rbac.yaml");
    std::fs::write(&file, RBAC.replace("NAME", HOSTILE_YAML)).unwrap();
    for format in ["text", "markdown"] {
        let md = format == "markdown";
        for args in [
            vec!["who-can", "get", "pods", "-f", format],
            vec!["lookup", HOSTILE, "-f", format],
            vec!["risks", "-f", format],
        ] {
            let out = rbac(&args, &file);
            let s = stdout(&out);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
            // The name is there, escaped: the row was not simply left out.
            assert!(s.contains("evil"), "{args:?}: no row\n{s}");
            assert_clean(&format!("rbac {args:?}"), &s, md);
        }
    }
    let out = rbac(&["who-can", "get", "pods"], &file);
    assert!(
        stdout(&out).contains("User evil\\u{1b}]0;title\\u{7}\\r<!--"),
        "{}",
        stdout(&out)
    );
    let out = rbac(&["who-can", "get", "pods", "-f", "markdown"], &file);
    assert!(
        stdout(&out).contains(
            "&lt;\\!-- x --&gt;&lt;img src=x onerror=alert\\(1\\)&gt;\\!\\[x\\]\\(http://e/\\)\
             \\[a\\]\\(javascript&#58;alert\\(1\\)\\)@&#8203;org/team"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn scan_outputs_escape_hostile_names() {
    let dir = common::temp_dir("hostile-scan");
    let file = dir.join("pod.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {HOSTILE_YAML}\n  namespace: {HOSTILE_YAML}\nspec:\n  containers:\n  - name: {HOSTILE_YAML}\n    image: nginx:latest\n    securityContext:\n      privileged: true\n"
        ),
    )
    .unwrap();
    for format in ["markdown", "text", "junit", "json", "jsonl", "sarif"] {
        let out = bin()
            .args(["scan", "--no-config", "--format", format])
            .arg(&file)
            .output()
            .unwrap();
        let s = stdout(&out);
        assert!(s.contains("POD001"), "{format}: {s}");
        assert_clean(&format!("scan {format}"), &s, format == "markdown");
        if !matches!(format, "json" | "jsonl" | "sarif") {
            continue;
        }
        // The escapes are JSON's own: a reader gets the name back exactly.
        assert!(s.contains("team\\u009b2J\\u202eabc"), "{format}: {s}");
        let parsed: serde_json::Value = match format {
            "jsonl" => serde_json::from_str(s.lines().next().unwrap()).unwrap(),
            _ => serde_json::from_str(&s).unwrap(),
        };
        let mut found = false;
        walk(&parsed, &mut |v| found |= v.contains(HOSTILE));
        assert!(found, "{format}: the name is not in the parsed output");
    }
}

/// Calls `f` with every string in `v`.
fn walk(v: &serde_json::Value, f: &mut dyn FnMut(&str)) {
    match v {
        serde_json::Value::String(s) => f(s),
        serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, f)),
        _ => {}
    }
}

#[test]
fn audit_summary_markdown_escapes_hostile_users() {
    let dir = common::temp_dir("hostile-audit");
    let log = dir.join("audit.log");
    let user = r#"evil\u001b]0;t\u0007\r<!-- x --><img src=x onerror=alert(1)>![x](http://e/)[a](javascript:alert(1))@org/team\u009b2J\u202eabc"#;
    std::fs::write(
        &log,
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"1","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{{"username":"{user}"}},"sourceIPs":["10.0.0.1"],"objectRef":{{"resource":"pods"}},"responseStatus":{{"code":403,"reason":"{user}"}},"annotations":{{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":"{user}"}},"requestReceivedTimestamp":"2024-05-01T12:00:00.000000Z","stageTimestamp":"2024-05-01T12:00:00.100000Z"}}
"#
        ),
    )
    .unwrap();
    for format in ["markdown", "text"] {
        let out = bin()
            .args(["audit", "summary", "-f", format])
            .arg(&log)
            .output()
            .unwrap();
        let s = stdout(&out);
        assert!(s.contains("evil"), "{format}: {s}\n{}", stderr(&out));
        assert_clean(&format!("audit summary {format}"), &s, format == "markdown");
    }
}

#[test]
fn stderr_escapes_input_it_echoes() {
    let dir = common::temp_dir("hostile-stderr");
    // A file name with controls, holding YAML that cannot be parsed.
    let bad = dir.join("bad\u{1b}[2J\u{202e}.yaml");
    std::fs::write(&bad, "a: [unclosed\n").unwrap();
    let out = bin()
        .args(["rbac", "who-can", "get", "pods"])
        .arg(&bad)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(err.contains("bad\\u{1b}[2J\\u{202e}.yaml"), "{err}");
    assert_clean("rbac stderr", &err, false);

    // Unknown rule named on the command line.
    let out = bin()
        .args(["rules", "explain", "X\u{1b}[31mY"])
        .output()
        .unwrap();
    assert_clean("rules stderr", &stderr(&out), false);

    // A seccomp trace whose junk line holds controls.
    let trace = dir.join("trace.txt");
    std::fs::write(&trace, "read\n\u{1b}]0;owned\u{7}\u{9b}31m\u{202e}junk\n").unwrap();
    let out = bin()
        .args(["generate", "seccomp"])
        .arg(&trace)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(err.contains("warning"), "{err}");
    assert_clean("seccomp stderr", &err, false);
}
