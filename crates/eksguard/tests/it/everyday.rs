//! Everyday mistakes that must never pass silently, and the outputs people read: the
//! built binary, as a user runs it.

use crate::common::{self, json};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    c.env("NO_COLOR", "1");
    c
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n    securityContext:\n      privileged: true\n";

/// A directory holding `pod.yaml` and a `broken.yaml` that is not valid YAML.
fn inputs(tag: &str) -> PathBuf {
    let d = common::temp_dir(tag);
    std::fs::write(d.join("pod.yaml"), POD).unwrap();
    std::fs::write(d.join("broken.yaml"), "kind: [\n").unwrap();
    d
}

#[test]
fn mistyped_rules_on_the_command_line_are_errors_with_suggestions() {
    let d = inputs("typo");
    for (flag, value, near) in [
        ("--select", "PDO001", "POD001"),
        ("--ignore", "POD01X", "POD010"),
        ("--select", "IMGG", "IMG"),
    ] {
        let out = run_in(&d, &["scan", "pod.yaml", "--no-config", flag, value]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(
            err.contains(&format!("{flag}: no rule matches `{value}`")),
            "{err}"
        );
        assert!(err.contains("did you mean"), "{err}");
        assert!(err.contains(&format!("`{near}`")), "{err}");
        assert!(
            out.stdout.is_empty(),
            "nothing is scanned: {}",
            stdout(&out)
        );
    }
    // Lists, lower case, families, prefixes and `ALL` are fine.
    let out = run_in(
        &d,
        &[
            "scan",
            "pod.yaml",
            "--no-config",
            "--select",
            "pod001,IMG,ALL",
            "--ignore",
            "POD01",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // The same check wherever rules are chosen, and in the configuration file.
    let out = run_in(
        &d,
        &[
            "generate",
            "admission-policy",
            "--no-config",
            "--select",
            "POD0001",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("did you mean"), "{}", stderr(&out));
    std::fs::write(
        d.join("c.toml"),
        "fail_on = \"high\"\nignore = [\"NETT\"]\n",
    )
    .unwrap();
    let out = run_in(&d, &["scan", "pod.yaml", "--config", "c.toml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("c.toml:2: `ignore`: no rule matches `NETT`; did you mean `NET`"),
        "{err}"
    );
}

#[test]
fn input_errors_reach_standard_error_whatever_the_output() {
    let d = inputs("stderr");
    let report = d.join("out.report");
    let report = report.to_str().unwrap();
    for extra in [
        &["-q"][..],
        &["-f", "json"],
        &["-f", "sarif", "-o", report],
        &["-o", report],
        &["-f", "concise", "-q"],
    ] {
        let mut args = vec!["scan", ".", "--no-config"];
        args.extend_from_slice(extra);
        let out = run_in(&d, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(
            err.contains("error: ./broken.yaml:2:") || err.contains("error: broken.yaml:2:"),
            "{extra:?}: {err}"
        );
        if extra.contains(&"-q") {
            assert!(out.stdout.is_empty(), "{extra:?}: -q hides findings");
        }
    }
}

#[test]
fn audit_scan_errors_reach_standard_error_when_quiet() {
    let d = common::temp_dir("audit-stderr");
    std::fs::write(
        d.join("audit.log"),
        "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"verb\":\n",
    )
    .unwrap();
    for extra in [&["-q"][..], &["-f", "jsonl"]] {
        let mut args = vec!["audit", "scan", "audit.log", "--no-config"];
        args.extend_from_slice(extra);
        let out = run_in(&d, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains("error: audit.log"), "{extra:?}: {err}");
    }
}

/// The `run` script of a step of `action.yml`, by the step's name.
fn action_step(name: &str) -> String {
    let action =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../action.yml"))
            .unwrap();
    let start = action
        .find(&format!("- name: {name}\n"))
        .unwrap_or_else(|| panic!("step {name}"));
    let rest = &action[start..];
    let run = rest.find("run: |\n").expect("run script") + "run: |\n".len();
    let mut script = String::new();
    for line in rest[run..].lines() {
        match line.strip_prefix("        ") {
            Some(l) => script.push_str(l),
            None if line.trim().is_empty() => {}
            None => break,
        }
        script.push('\n');
    }
    script
}

#[test]
fn the_github_action_shows_input_errors_in_its_log() {
    let d = inputs("action");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_eksguard")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = d.join("github_output");
    let summary = d.join("summary.md");
    let out = Command::new("bash")
        .arg("-c")
        .arg(action_step("Scan"))
        .current_dir(&d)
        .env("PATH", path)
        .env("PATHS", ".")
        .env("FAIL_ON", "high")
        .env("EXTRA", "--no-config")
        .env("SARIF", "eksguard.sarif")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let log = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "exit-code=2\n");
    // Once in the log, as an annotation naming the file and line.
    assert_eq!(log.matches("broken.yaml").count(), 1, "{log}");
    assert!(log.contains("::error file=broken.yaml,line=2::"), "{log}");
    assert!(d.join("eksguard.sarif").is_file());
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("broken.yaml"),
        "the job summary lists it too: {md}"
    );
}

#[test]
fn suppression_dates_are_calendar_dates() {
    let d = common::temp_dir("dates");
    std::fs::write(d.join("pod.yaml"), POD).unwrap();
    std::fs::write(
        d.join("c.toml"),
        "[[suppress]]\nrules = [\"POD001\"]\nreason = \"x\"\nuntil = \"2027-02-30\"\n",
    )
    .unwrap();
    let out = run_in(&d, &["scan", "pod.yaml", "--config", "c.toml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("c.toml:4: `until`: `2027-02-30` is not a calendar date"),
        "{err}"
    );

    // In an annotation: named at its line, and it suppresses nothing.
    let annotated = POD.replace(
        "  namespace: shop\n",
        "  namespace: shop\n  annotations:\n    eksguard.io/ignore: \"POD001 -- vendor chart until=2027-02-30\"\n",
    );
    std::fs::write(d.join("pod.yaml"), annotated).unwrap();
    let out = run_in(
        &d,
        &[
            "scan",
            "pod.yaml",
            "--no-config",
            "--select",
            "POD001",
            "-f",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["findings"][0]["rule_id"], "POD001");
    let w = &v["warnings"][0];
    assert_eq!(w["line"], 7, "{v:#}");
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .contains("2027-02-30` is not a calendar date"),
        "{w}"
    );
    // A real leap day is a date.
    let leap = POD.replace(
        "  namespace: shop\n",
        "  namespace: shop\n  annotations:\n    eksguard.io/ignore: \"POD001 -- vendor chart until=2096-02-29\"\n",
    );
    std::fs::write(d.join("pod.yaml"), leap).unwrap();
    let out = run_in(
        &d,
        &[
            "scan",
            "pod.yaml",
            "--no-config",
            "--select",
            "POD001",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn writing_a_baseline_exits_0_and_says_what_it_wrote() {
    let d = inputs("write-baseline");
    std::fs::remove_file(d.join("broken.yaml")).unwrap();
    let out = run_in(
        &d,
        &[
            "scan",
            "pod.yaml",
            "--no-config",
            "--select",
            "POD001,IMG",
            "--write-baseline",
            "base.json",
            "-q",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("base.json")).unwrap()).unwrap();
    let n = written["findings"].as_array().unwrap().len();
    assert_eq!(n, 2, "{written:#}");
    assert!(
        err.contains(&format!("wrote a baseline of {n} findings to base.json")),
        "{err}"
    );
    // With it, the next run is clean.
    let out = run_in(
        &d,
        &[
            "scan",
            "pod.yaml",
            "--no-config",
            "--select",
            "POD001,IMG",
            "--baseline",
            "base.json",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn the_output_file_extension_names_the_format() {
    let d = inputs("extension");
    std::fs::remove_file(d.join("broken.yaml")).unwrap();
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", "pod.yaml", "--no-config", "--select", "POD001"];
        args.extend_from_slice(extra);
        run_in(&d, &args)
    };
    let read = |name: &str| std::fs::read_to_string(d.join(name)).unwrap();
    for (file, starts) in [
        (
            "r.sarif",
            "\"$schema\": \"https://docs.oasis-open.org/sarif",
        ),
        ("r.json", "\"schema_version\": 1"),
        ("r.html", "<!DOCTYPE html>"),
        ("r.md", "# eksguard"),
    ] {
        let out = scan(&["-o", file]);
        assert_eq!(out.status.code(), Some(1), "{file}: {}", stderr(&out));
        assert!(stderr(&out).is_empty(), "{file}: {}", stderr(&out));
        let text = read(file);
        assert!(
            text.contains(starts),
            "{file}: {}",
            &text[..text.len().min(300)]
        );
    }
    // An explicit format wins, with a warning when the extension says otherwise.
    let out = scan(&["-o", "x.sarif", "-f", "json"]);
    assert!(read("x.sarif").contains("\"schema_version\": 1"));
    assert!(
        stderr(&out).contains("writing json to x.sarif, whose extension suggests sarif"),
        "{}",
        stderr(&out)
    );
    // An extension that names no format: text, and a warning.
    let out = scan(&["-o", "report.out"]);
    assert!(read("report.out").contains("POD001"));
    assert!(
        stderr(&out).contains("report.out: no report format known by this extension"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn concise_is_one_line_per_finding() {
    let d = inputs("concise");
    let out = run_in(
        &d,
        &[
            "scan",
            "pod.yaml",
            "--no-config",
            "--select",
            "POD001,IMG002",
            "-f",
            "concise",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "pod.yaml:9:5: info IMG002 Pod shop/web: container `app` image `nginx:1.27` is not pinned by digest",
            "pod.yaml:11:7: critical POD001 Pod shop/web: container `app` runs privileged",
        ],
        "{text}"
    );
    assert!(
        lines.last().unwrap().starts_with("2 findings (1 critical"),
        "{text}"
    );
}

#[test]
fn text_shows_a_line_frame_once_most_severe_first() {
    let d = common::temp_dir("frames");
    // Both findings point at the container.
    std::fs::write(
        d.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n",
    )
    .unwrap();
    let out = run_in(
        &d,
        &[
            "scan",
            "pod.yaml",
            "--no-config",
            "--select",
            "POD013,POD002,IMG002",
        ],
    );
    let text = stdout(&out);
    insta::assert_snapshot!("text_frames_shared", text);
    // The line of the container once, with its two findings, the medium one first.
    assert_eq!(
        text.matches("    8 |   - name: app\n      |     ^").count(),
        1,
        "{text}"
    );
    let medium = text.find("medium POD002").unwrap();
    let low = text.find("low POD013").unwrap();
    let info = text.find("info IMG002").unwrap();
    assert!(medium < low && low < info, "{text}");
}

const RBAC: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: reader\n  namespace: dev\nrules:\n- apiGroups: [\"\"]\n  resources: [\"pods\"]\n  verbs: [\"get\"]\n- apiGroups: [\"apps\"]\n  resources: [\"deployments\"]\n  verbs: [\"get\"]\n- apiGroups: [\"stable.example.com\"]\n  resources: [\"crontabs\"]\n  verbs: [\"get\"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: read\n  namespace: dev\nsubjects:\n- kind: User\n  name: alice\nroleRef:\n  kind: Role\n  name: reader\n  apiGroup: rbac.authorization.k8s.io\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: crontabs.stable.example.com\nspec:\n  group: stable.example.com\n  scope: Namespaced\n  names:\n    plural: crontabs\n    singular: crontab\n    kind: CronTab\n    shortNames: [ct]\n  versions: []\n";

/// The subjects of a who-can JSON answer.
fn who_can(dir: &Path, args: &[&str]) -> (Output, Vec<String>) {
    let mut all = vec!["rbac", "who-can"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["rbac.yaml", "-f", "json"]);
    let out = run_in(dir, &all);
    let names = match out.status.code() {
        Some(0) => json(&out)["grants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["subject"]["name"].as_str().unwrap().to_string())
            .filter(|n| n == "alice")
            .collect(),
        _ => Vec::new(),
    };
    (out, names)
}

#[test]
fn rbac_resources_are_named_as_kubectl_names_them() {
    let d = common::temp_dir("rbac-names");
    std::fs::write(d.join("rbac.yaml"), RBAC).unwrap();
    // Plural, singular, short name, kind, group-qualified: one answer.
    for res in ["pods", "pod", "po", "Pod", "pods."] {
        let res = res.trim_end_matches('.');
        let (out, names) = who_can(&d, &["get", res, "-n", "dev"]);
        assert_eq!(names, ["alice"], "{res}: {}", stderr(&out));
    }
    for res in [
        "deployments",
        "deployment",
        "deploy",
        "deployment.apps",
        "deploy.apps",
    ] {
        let (out, names) = who_can(&d, &["get", res, "-n", "dev"]);
        assert_eq!(names, ["alice"], "{res}: {}", stderr(&out));
    }
    // Custom resources by the names their definition in the input gives them.
    for res in ["crontabs", "crontab", "ct", "crontab.stable.example.com"] {
        let (out, names) = who_can(&d, &["get", res, "-n", "dev"]);
        assert_eq!(names, ["alice"], "{res}: {}", stderr(&out));
    }
    let (out, _) = who_can(&d, &["get", "po", "-n", "dev"]);
    assert!(
        stderr(&out).contains("`po` is taken as `pods`"),
        "{}",
        stderr(&out)
    );
    // Another API's resource named with its group is taken as given.
    let (out, names) = who_can(&d, &["get", "widgets.example.org", "-n", "dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(names.is_empty());
}

#[test]
fn rbac_unknown_resources_and_subresource_verbs_are_errors() {
    let d = common::temp_dir("rbac-errors");
    std::fs::write(d.join("rbac.yaml"), RBAC).unwrap();
    let (out, _) = who_can(&d, &["get", "pdos"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown resource `pdos`"), "{err}");
    assert!(err.contains("did you mean `pods`"), "{err}");
    let (out, _) = who_can(&d, &["exec", "pods"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`exec` is not a verb"), "{err}");
    assert!(err.contains("who-can create pods/exec"), "{err}");
    // A verb Kubernetes does not use: answered, with a note and the nearest verbs.
    let (out, _) = who_can(&d, &["gett", "pods"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("`gett` is not a verb Kubernetes uses"),
        "{err}"
    );
    assert!(err.contains("did you mean `get`"), "{err}");
}

#[test]
fn markdown_is_by_rule_most_severe_first_and_fits_a_job_summary() {
    let d = common::temp_dir("markdown-limit");
    let pods: Vec<String> = (0..3000)
        .map(|i| {
            let privileged = match i % 100 {
                0 => "    securityContext: {privileged: true}\n",
                _ => "",
            };
            format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\n  namespace: n\nspec:\n  containers:\n  - name: c\n    image: nginx\n{privileged}")
        })
        .collect();
    std::fs::write(d.join("pods.yaml"), pods.join("---\n")).unwrap();
    let out = run_in(&d, &["scan", "pods.yaml", "--no-config", "-f", "markdown"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(md.len() <= 1024 * 1024, "{} bytes", md.len());
    let total: usize = md
        .split("**")
        .nth(1)
        .and_then(|t| t.strip_suffix(" findings"))
        .unwrap()
        .parse()
        .unwrap();
    let rows = md
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(" | Pod/n/"))
        .count();
    let left: usize = md
        .split("\n**")
        .find_map(|t| t.split_once(" findings left out**"))
        .map(|(n, _)| n.parse().unwrap())
        .expect("a note on what was left out");
    assert_eq!(rows + left, total, "every finding shown or counted");
    assert!(md.contains("The full report is the run's SARIF or JSON output"));
    // Folded by rule, the most severe rule first and severities never rising.
    let order = ["critical", "high", "medium", "low", "info"];
    let ranks: Vec<usize> = md
        .lines()
        .filter_map(|l| l.strip_prefix("<details><summary><b>"))
        .map(|l| order.iter().position(|s| l.starts_with(s)).unwrap())
        .collect();
    assert_eq!(ranks[0], 0, "{md:.2000}");
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    assert!(md.contains("<b>critical</b> POD001 privileged-container: 30 findings</summary>"));
}

/// Files a repository commonly holds beside its manifests.
fn repository(tag: &str) -> PathBuf {
    let d = common::temp_dir(tag);
    let files: &[(&str, &str)] = &[
        (
            ".github/workflows/ci.yml",
            "name: ci\non: [push]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps: []\n",
        ),
        (
            "package.json",
            "{\"name\": \"site\", \"version\": \"1.0.0\"}\n",
        ),
        (
            "infra/main.tf.json",
            "{\"resource\": {\"aws_eks_cluster\": {\"c\": {\"name\": \"x\"}}}}\n",
        ),
        ("docs/mkdocs.yml", "site_name: docs\n"),
        ("k8s/pod.yaml", POD),
        (
            "k8s/values.yaml",
            "replicaCount: 2\nimage:\n  tag: latest\n",
        ),
    ];
    for (path, text) in files {
        let p = d.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    d
}

#[test]
fn named_files_that_are_not_inputs_are_skipped_and_counted() {
    let d = repository("not-inputs");
    let out = run_in(
        &d,
        &[
            "scan",
            ".github/workflows/ci.yml",
            "package.json",
            "infra/main.tf.json",
            "k8s/values.yaml",
            "k8s/pod.yaml",
            "--no-config",
            "--select",
            "POD001",
            "-f",
            "json",
        ],
    );
    // The privileged pod decides; nothing else is an error.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["errors"], serde_json::json!([]), "{v:#}");
    // Terraform in JSON syntax is read; its cluster has no finding of POD001.
    assert_eq!(v["summary"]["files_scanned"], 2);
    assert_eq!(v["summary"]["files_skipped"]["not_an_input"], 3, "{v:#}");
    let warned: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        warned,
        [
            ".github/workflows/ci.yml",
            "package.json",
            "k8s/values.yaml"
        ]
    );
    // Said in text too.
    let out = run_in(
        &d,
        &[
            "scan",
            "package.json",
            "k8s/pod.yaml",
            "--no-config",
            "--select",
            "POD001",
        ],
    );
    assert!(
        stdout(&out).contains("1 file skipped: 1 not an input"),
        "{}",
        stdout(&out)
    );
    // A file with an object and a document of no known shape is still an error.
    std::fs::write(d.join("mixed.yaml"), format!("{POD}---\nfoo: bar\n")).unwrap();
    let out = run_in(&d, &["scan", "mixed.yaml", "--no-config", "-q"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn the_pre_commit_hook_passes_only_what_eksguard_reads() {
    let hooks = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.pre-commit-hooks.yaml"),
    )
    .unwrap();
    let pattern = |key: &str| -> String {
        let line = hooks
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: '")))
            .unwrap_or_else(|| panic!("{key}"));
        line.strip_suffix('\'').unwrap().to_string()
    };
    let (files, exclude) = (pattern("files"), pattern("exclude"));
    let d = repository("pre-commit");
    let staged = [
        ".github/workflows/ci.yml",
        "package.json",
        "infra/main.tf.json",
        "docs/mkdocs.yml",
        "k8s/pod.yaml",
        "README.md",
        "infra/main.tf",
        "infra/prod.tfvars",
    ];
    // pre-commit matches with Python's `re.search`: the same engine here.
    let script = format!(
        "import re, sys\nfor p in sys.argv[1:]:\n    if re.search(r'''{files}''', p) and not re.search(r'''{exclude}''', p):\n        print(p)\n"
    );
    let Ok(out) = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .args(staged)
        .output()
    else {
        eprintln!("SKIPPED: python3 not found");
        return;
    };
    assert!(out.status.success(), "{}", stderr(&out));
    let passed = stdout(&out);
    let passed: Vec<&str> = passed.lines().collect();
    // Terraform in JSON syntax is read too.
    assert_eq!(
        passed,
        [
            "infra/main.tf.json",
            "k8s/pod.yaml",
            "infra/main.tf",
            "infra/prod.tfvars"
        ]
    );
    // And what passes, eksguard reads without an input error.
    std::fs::write(
        d.join("infra/main.tf"),
        "resource \"aws_eks_cluster\" \"c\" {\n  name = \"c\"\n}\n",
    )
    .unwrap();
    std::fs::write(d.join("infra/prod.tfvars"), "region = \"eu-west-1\"\n").unwrap();
    std::fs::write(
        d.join("infra/main.tf.json"),
        "{\"resource\": {\"aws_s3_bucket\": {\"b\": {\"bucket\": \"b\"}}}}\n",
    )
    .unwrap();
    let mut args = vec!["scan", "--no-config", "--fail-on", "never", "-q"];
    args.extend(passed);
    let out = run_in(&d, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn html_names_namespaces_whole_ranks_resources_per_file_and_puts_findings_first() {
    let d = common::temp_dir("html-page");
    let ns = "payments-processing-eu-west-1-production";
    let deploy = |ns: &str| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.27\n        securityContext:\n          privileged: true\n")
    };
    std::fs::create_dir_all(d.join("base")).unwrap();
    std::fs::create_dir_all(d.join("prod")).unwrap();
    std::fs::write(d.join("base/web.yaml"), deploy(ns)).unwrap();
    std::fs::write(d.join("prod/web.yaml"), deploy(ns)).unwrap();
    let mut args = vec![
        "scan",
        "base/web.yaml",
        "prod/web.yaml",
        "--no-config",
        "--select",
        "POD001",
        "-o",
        "r.html",
    ];
    // Twelve named files that are not inputs: twelve warnings.
    let others: Vec<String> = (0..12).map(|i| format!("other{i}.json")).collect();
    for o in &others {
        std::fs::write(d.join(o), "{\"name\": \"x\"}\n").unwrap();
    }
    args.extend(others.iter().map(String::as_str));
    let out = run_in(&d, &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let page = std::fs::read_to_string(d.join("r.html")).unwrap();
    // The namespace chart's label is the whole name.
    let chart = &page[page.find("id=\"chart-namespace\"").unwrap()..];
    let chart = &chart[..chart.find("</figure>").unwrap()];
    assert!(chart.contains(&format!(">{ns}</text>")), "{chart}");
    assert!(!chart.contains('…'), "{chart}");
    // The same Deployment in two files is two resources.
    let top = &page[page.find("id=\"top-resources\"").unwrap()..];
    let top = &top[..top.find("</table>").unwrap()];
    let rows: Vec<&str> = top.lines().filter(|l| l.starts_with("<tr><td>")).collect();
    assert_eq!(rows.len(), 2, "{top}");
    assert!(
        rows[0].contains("base/web.yaml") && rows[1].contains("prod/web.yaml"),
        "{top}"
    );
    // Twelve warnings come after the findings table.
    let (findings, problems) = (
        page.find("id=\"findings\"").unwrap(),
        page.find("id=\"problems\"").unwrap(),
    );
    assert!(findings < problems);
    assert_eq!(page.matches("<li class=\"warning\">").count(), 12);
}

#[test]
fn audit_summary_keeps_quiet_minutes_on_its_time_axis() {
    let d = common::temp_dir("audit-axis");
    let event = |id: u32, time: &str| {
        format!("{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"a{id}\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/pods\",\"verb\":\"list\",\"user\":{{\"username\":\"alice\"}},\"objectRef\":{{\"resource\":\"pods\",\"apiVersion\":\"v1\"}},\"responseStatus\":{{\"code\":200}},\"requestReceivedTimestamp\":\"{time}\",\"stageTimestamp\":\"{time}\"}}\n")
    };
    let log = [
        event(1, "2026-11-27T08:00:10.000000Z"),
        event(2, "2026-11-27T08:00:20.000000Z"),
        event(3, "2026-11-27T08:05:00.000000Z"),
    ]
    .concat();
    std::fs::write(d.join("audit.log"), log).unwrap();
    let out = run_in(&d, &["audit", "summary", "audit.log", "-f", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let buckets = json(&out)["rate"]["buckets"].clone();
    let counts: Vec<u64> = buckets
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [2, 0, 0, 0, 0, 1], "{buckets:#}");
    let out = run_in(&d, &["audit", "summary", "audit.log", "-f", "html"]);
    let page = stdout(&out);
    let chart = &page[page.find("id=\"rate-chart\"").unwrap()..];
    // Short times on the axis, the date once.
    assert!(
        chart.contains(">08:00</text>") && chart.contains(">08:05</text>"),
        "{chart:.3000}"
    );
    assert_eq!(
        chart.matches(">2026-11-27</text>").count(),
        1,
        "{chart:.3000}"
    );
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn api_errors_are_one_readable_line_each_even_with_quiet() {
    let d = common::temp_dir("api-errors");
    let port = closed_port();
    std::fs::write(
        d.join("kubeconfig"),
        format!("apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\ncontexts:\n- name: t\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user:\n    token: abc\n"),
    )
    .unwrap();
    let out = run_in(
        &d,
        &[
            "cluster",
            "--kubeconfig",
            "kubeconfig",
            "--no-aws",
            "--no-config",
            "-q",
            "--request-timeout",
            "5",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    let line = err
        .lines()
        .find(|l| l.contains("API discovery failed"))
        .expect(&err);
    assert!(line.contains("Connection refused"), "{line}");
    assert!(
        line.contains("check the server address of the kubeconfig context"),
        "{line}"
    );

    let endpoint = format!("http://127.0.0.1:{port}");
    let aws = |creds: bool| {
        let mut c = bin();
        c.current_dir(&d)
            .args([
                "cluster",
                "--aws-only",
                "--cluster-name",
                "demo",
                "--region",
                "eu-west-1",
            ])
            .args(["--endpoint-url", &endpoint, "--no-config", "-q"])
            .env("HOME", &d)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
        match creds {
            true => c
                .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
                .env("AWS_SECRET_ACCESS_KEY", "secret"),
            false => c
                .env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY"),
        };
        c.output().unwrap()
    };
    for (creds, hint) in [
        (
            true,
            "check the region (--region), the endpoint (--endpoint-url) and the network",
        ),
        (false, "check the AWS credentials"),
    ] {
        let out = aws(creds);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        let line = err
            .lines()
            .find(|l| l.contains("eks:DescribeCluster failed"))
            .unwrap_or_else(|| panic!("{err}"));
        assert!(line.contains(hint), "{line}");
        // No SDK debug dump, no multi-line chain.
        for dump in ["DispatchFailure {", "ConnectorError", "\\n", "Attempted"] {
            assert!(!err.contains(dump), "{dump}: {err}");
        }
    }
}
