//! File input a scanned repository or a caller controls: nothing may be hidden from the
//! scan without a word, and no read may be unbounded or block forever.

use crate::common::{self, json};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_eksguard"));
    c.env("NO_COLOR", "1");
    c
}

/// A privileged pod (POD001) named `name`.
fn pod(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: a\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n    securityContext:\n      privileged: true\n"
    )
}

/// `scan DIR -f json --select POD001`, run inside `dir`.
fn scan_dir(dir: &Path, extra: &[&str]) -> Output {
    bin()
        .args([
            "scan",
            ".",
            "-f",
            "json",
            "--select",
            "POD001",
            "--no-config",
        ])
        .args(extra)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn names(v: &serde_json::Value) -> Vec<String> {
    let mut n: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["resource"]["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

fn skipped(v: &serde_json::Value) -> serde_json::Value {
    v["summary"]["files_skipped"].clone()
}

/// Runs the binary under a 2 GiB address-space limit and a 20 s deadline, so a read that
/// grows without bound or blocks fails the test instead of the machine.
fn run_bounded(args: &[&str], dir: &Path) -> (Output, Duration) {
    let script = format!(
        "ulimit -v 2097152; exec \"$0\" {}",
        args.iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let start = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_eksguard"))
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("eksguard {args:?} still running after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), start.elapsed())
}

/// Runs `cmd` with `input` on its standard input, written from a thread that gives up
/// quietly when the reader stops early (as it must, past the size limit).
fn feed(cmd: &mut Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

fn git_init(dir: &Path) {
    let ok = Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git init");
}

#[test]
fn stdin_over_the_size_limit_is_an_error_not_a_truncation() {
    let d = common::temp_dir("stdin-limit");
    let config = d.join("limit.toml");
    std::fs::write(&config, "max_file_size_mb = 1\n").unwrap();
    // A privileged pod behind 1.5 MiB of comments: cut at the limit, it would vanish.
    let mut input = "# padding padding padding padding padding padding padding\n".repeat(30_000);
    input.push_str("---\n");
    input.push_str(&pod("hidden"));
    assert!(input.len() > 1024 * 1024 + 512 * 1024);
    let out = feed(
        bin().args([
            "scan",
            "-",
            "-f",
            "json",
            "--select",
            "POD001",
            "--config",
            config.to_str().unwrap(),
        ]),
        &input,
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["errors"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["errors"][0]["file"], "-");
    assert_eq!(
        v["errors"][0]["message"],
        "larger than the 1 MiB limit (max_file_size_mb); not read"
    );
    assert_eq!(skipped(&v)["too_large"], 1);

    // Under the limit, the same pipe is read whole.
    let out = feed(
        bin().args([
            "scan",
            "-",
            "-f",
            "json",
            "--select",
            "POD001",
            "--config",
            config.to_str().unwrap(),
        ]),
        &format!("# padding\n---\n{}", pod("shown")),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(names(&json(&out)), ["shown"]);
}

#[test]
fn ignore_files_outside_git_dot_files_and_symlinked_files_hide_nothing() {
    let d = common::temp_dir("no-git-walk");
    let outside = common::temp_dir("link-target");
    std::fs::create_dir_all(d.join("hidden")).unwrap();
    std::fs::create_dir_all(d.join(".config")).unwrap();
    std::fs::write(d.join(".ignore"), "hidden/\n").unwrap();
    std::fs::write(d.join(".gitignore"), "ignored.yaml\n").unwrap();
    std::fs::write(d.join("hidden/pod.yaml"), pod("under-dot-ignore")).unwrap();
    std::fs::write(d.join("ignored.yaml"), pod("under-gitignore")).unwrap();
    std::fs::write(d.join(".dot.yaml"), pod("dot-file")).unwrap();
    std::fs::write(d.join(".config/pod.yml"), pod("dot-directory")).unwrap();
    std::fs::write(outside.join("target.yaml"), pod("symlinked")).unwrap();
    std::os::unix::fs::symlink(outside.join("target.yaml"), d.join("link.yaml")).unwrap();

    let out = scan_dir(&d, &[]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(
        names(&v),
        [
            "dot-directory",
            "dot-file",
            "symlinked",
            "under-dot-ignore",
            "under-gitignore"
        ]
    );
    assert_eq!(v["summary"]["files_scanned"], 5);
    // `.ignore` and `.gitignore` themselves are the only files left unread.
    assert_eq!(
        skipped(&v),
        serde_json::json!({
            "gitignored": 0, "excluded": 0, "unrecognised_extension": 2,
            "too_large": 0, "not_regular_file": 0, "symlink_loop": 0, "not_an_input": 0
        })
    );
}

#[test]
fn gitignored_and_excluded_files_in_a_git_work_tree_are_counted() {
    let d = common::temp_dir("git-walk");
    git_init(&d);
    for sub in ["app", "ignored", "vendor/chart"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
        std::fs::write(d.join(sub).join("pod.yaml"), pod(&sub.replace('/', "-"))).unwrap();
    }
    std::fs::write(d.join("app/notes.txt"), "not yaml").unwrap();
    std::fs::write(d.join(".gitignore"), "ignored/\n").unwrap();

    let out = scan_dir(&d, &["--exclude", "vendor/**"]);
    let v = json(&out);
    assert_eq!(names(&v), ["app"]);
    assert_eq!(v["summary"]["files_scanned"], 1);
    assert_eq!(
        skipped(&v),
        serde_json::json!({
            "gitignored": 1, "excluded": 1, "unrecognised_extension": 2,
            "too_large": 0, "not_regular_file": 0, "symlink_loop": 0, "not_an_input": 0
        })
    );

    let out = bin()
        .args([
            "scan",
            ".",
            "--select",
            "POD001",
            "--no-config",
            "--exclude",
            "vendor/**",
        ])
        .current_dir(&d)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.ends_with(
            "1 finding (1 critical, 0 high, 0 medium, 0 low, 0 info) in 1 resource from 1 file\n\
             4 files skipped: 1 gitignored, 1 excluded, 2 unrecognised extension\n"
        ),
        "{text}"
    );
}

#[test]
fn a_hostile_gitignore_is_not_read_and_hides_nothing() {
    let d = common::temp_dir("fifo-gitignore");
    git_init(&d);
    std::fs::write(d.join("pod.yaml"), pod("web")).unwrap();
    mkfifo(&d.join(".gitignore"));
    let (out, took) = run_bounded(&["scan", ".", "-f", "json", "--no-config"], &d);
    assert!(took < Duration::from_secs(15), "{took:?}");
    let v = json(&out);
    assert!(names(&v).iter().all(|n| n == "web") && !names(&v).is_empty());
    let w = &v["warnings"][0];
    assert_eq!(w["file"].as_str().unwrap(), ".gitignore", "{v}");
    assert!(w["message"]
        .as_str()
        .unwrap()
        .contains("no .gitignore rule applies"));
}

#[test]
fn symlinked_directories_are_followed_and_loops_counted() {
    let d = common::temp_dir("loop");
    let outside = common::temp_dir("linked-dir");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/pod.yaml"), pod("inside")).unwrap();
    std::fs::write(outside.join("pod.yaml"), pod("linked")).unwrap();
    std::os::unix::fs::symlink("..", d.join("sub/up")).unwrap();
    std::os::unix::fs::symlink(&outside, d.join("charts")).unwrap();
    let (out, _) = run_bounded(
        &[
            "scan",
            ".",
            "-f",
            "json",
            "--select",
            "POD001",
            "--no-config",
        ],
        &d,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(names(&v), ["inside", "linked"]);
    assert_eq!(skipped(&v)["symlink_loop"], 1);
    assert!(v["errors"].as_array().unwrap().is_empty());
}

#[test]
fn fifos_and_devices_named_on_the_command_line_are_refused_at_once() {
    let d = common::temp_dir("special");
    mkfifo(&d.join("pipe.yaml"));
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.yaml")).unwrap();
    std::fs::write(d.join("good.yaml"), pod("good")).unwrap();
    for (arg, kind) in [
        ("pipe.yaml", "a FIFO"),
        ("/dev/zero", "a character device"),
        ("/dev/urandom", "a character device"),
        ("zero.yaml", "a character device"),
    ] {
        let (out, took) = run_bounded(
            &[
                "scan",
                arg,
                "good.yaml",
                "-f",
                "json",
                "--select",
                "POD001",
                "--no-config",
            ],
            &d,
        );
        assert!(took < Duration::from_secs(15), "{arg}: {took:?}");
        assert_eq!(out.status.code(), Some(2), "{arg}");
        let v = json(&out);
        // The rest of the run goes on.
        assert_eq!(names(&v), ["good"], "{arg}");
        assert_eq!(v["errors"][0]["file"], arg);
        assert_eq!(
            v["errors"][0]["message"],
            format!("not a regular file ({kind}); not read")
        );
        assert_eq!(skipped(&v)["not_regular_file"], 1);
    }
}

#[test]
fn fifos_and_devices_met_in_a_walk_are_counted_and_warned() {
    let d = common::temp_dir("special-walk");
    mkfifo(&d.join("pipe.yaml"));
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.json")).unwrap();
    std::fs::write(d.join("good.yaml"), pod("good")).unwrap();
    let (out, took) = run_bounded(
        &[
            "scan",
            ".",
            "-f",
            "json",
            "--select",
            "POD001",
            "--no-config",
        ],
        &d,
    );
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(names(&v), ["good"]);
    assert_eq!(skipped(&v)["not_regular_file"], 2);
    let warnings: Vec<(String, String)> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["file"].as_str().unwrap().to_string(),
                w["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        warnings,
        [
            (
                "pipe.yaml".to_string(),
                "not a regular file (a FIFO); not read".to_string()
            ),
            (
                "zero.json".to_string(),
                "not a regular file (a character device); not read".to_string()
            ),
        ]
    );
}

#[test]
fn a_directory_without_a_manifest_is_a_warning() {
    let d = common::temp_dir("empty-walk");
    std::fs::create_dir_all(d.join("empty")).unwrap();
    std::fs::create_dir_all(d.join("docs")).unwrap();
    std::fs::write(d.join("docs/README.md"), "# nothing to apply\n").unwrap();
    std::fs::write(d.join("pod.yaml"), pod("p")).unwrap();
    let out = bin()
        .args([
            "scan",
            "empty",
            "docs",
            "pod.yaml",
            "-f",
            "json",
            "--no-config",
        ])
        .args(["--select", "POD001"])
        .current_dir(&d)
        .output()
        .unwrap();
    // A warning, not an input error: the exit status is that of the findings.
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(
        v["warnings"],
        serde_json::json!([
            {"file": "empty",
             "message": "no .yaml, .yml, .json or .tf file to scan (an empty directory)"},
            {"file": "docs",
             "message": "no .yaml, .yml, .json or .tf file to scan (1 file skipped: 1 unrecognised extension)"},
        ])
    );
    let out = bin()
        .args(["scan", "empty", "--no-config"])
        .current_dir(&d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(
            "warning: empty: no .yaml, .yml, .json or .tf file to scan (an empty directory)\n"
        ),
        "{text}"
    );
    assert!(text.contains("; 1 warning"), "{text}");
}

#[test]
fn documents_that_are_no_object_are_reported_with_their_line() {
    let d = common::temp_dir("no-api-version");
    std::fs::create_dir_all(d.join("k8s")).unwrap();
    let text = format!(
        "{}---\n# a Pod missing its apiVersion\nkind: Pod\nmetadata: {{name: x}}\n---\napiVersion: v1\nkind: List\nitems:\n- {{apiVersion: v1, kind: Pod, metadata: {{name: y}}}}\n- metadata: {{name: z}}\n",
        pod("ok")
    );
    std::fs::write(d.join("k8s/mixed.yaml"), &text).unwrap();

    // Found by a walk: warnings; the objects around them are scanned.
    let out = scan_dir(&d, &[]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(names(&v), ["ok"]);
    assert_eq!(
        v["warnings"],
        serde_json::json!([
            {"file": "k8s/mixed.yaml", "line": 14,
             "message": "document 2: not a Kubernetes object (no apiVersion); skipped"},
            {"file": "k8s/mixed.yaml", "line": 21,
             "message": "document 3, item 2: not a Kubernetes object (no apiVersion or kind); skipped"},
        ])
    );

    // Named on the command line: input errors (exit 2).
    let out = bin()
        .args(["scan", "k8s/mixed.yaml", "-f", "json", "--no-config"])
        .args(["--select", "POD001"])
        .current_dir(&d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    let lines: Vec<u64> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [14, 21]);
}

#[test]
fn a_large_flat_configmap_is_scanned_not_called_an_alias_bomb() {
    let d = common::temp_dir("flat");
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: a\ndata:\n",
    );
    for i in 0..500_000 {
        text.push_str(&format!("  k{i}: v{i}\n"));
    }
    let file: PathBuf = d.join("big.yaml");
    std::fs::write(&file, text).unwrap();
    let out = bin()
        .args([
            "scan",
            "big.yaml",
            "-f",
            "json",
            "--no-config",
            "--select",
            "DATA004",
        ])
        .current_dir(&d)
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["errors"], serde_json::json!([]), "{v}");
    assert_eq!(v["summary"]["resources_scanned"], 1);
    assert_eq!(out.status.code(), Some(0));
}
