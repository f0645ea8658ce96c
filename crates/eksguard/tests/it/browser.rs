//! The HTML report in a real browser: headless Chromium, driven by playwright-core from
//! `tests/browser/report.mjs`, opens the report of `examples/insecure-eks` and reads
//! what a person sees. Needs Node.js, `npm ci` in `tests/browser` and Chromium at
//! /usr/bin/chromium (or `CHROMIUM`); without them the test says SKIPPED, unless
//! `EKSGUARD_TEST_BROWSER=1` (set by `.ci/run`) makes them required.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::json;

const EXAMPLE: &str = "../../examples/insecure-eks";

/// Node and Chromium, or why the test cannot run.
fn browser_tools() -> Result<PathBuf, String> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.exists() {
        return Err(format!("no Chromium at {}", chromium.display()));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !dir.join("node_modules/playwright-core").exists() {
        return Err(format!(
            "no playwright-core (run `npm ci` in {})",
            dir.display()
        ));
    }
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(dir),
        _ => Err("no node on PATH".into()),
    }
}

/// The browser script's directory, or `None` after SKIPPED.
fn tools_or_skip() -> Option<PathBuf> {
    match browser_tools() {
        Ok(d) => Some(d),
        Err(why) if std::env::var("EKSGUARD_TEST_BROWSER").as_deref() == Ok("1") => {
            panic!("EKSGUARD_TEST_BROWSER=1 but {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED: browser test: {why}");
            None
        }
    }
}

fn node(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new("node")
        .arg(dir.join("report.mjs"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "browser script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

#[test]
fn large_report_arrives_in_chunks() {
    let Some(dir) = tools_or_skip() else { return };
    let work = crate::common::temp_dir("browser-chunks");
    let objects = work.join("objects");
    let gen = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/gen.py");
    let made = Command::new("python3")
        .arg(&gen)
        .args(["600", objects.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let scan = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_eksguard"))
            .args(["scan", "--no-config", "--fail-on", "never"])
            .arg(&objects)
            .args(extra)
            .output()
            .unwrap()
    };
    let report = work.join("report.html");
    scan(&["-f", "html", "-o", report.to_str().unwrap()]);
    let expected = json(&scan(&["-f", "json"]));
    let total = expected["findings"].as_array().unwrap().len() as u64;
    // More than two chunks of 500 rows.
    assert!(total > 1000, "{total}");
    let page = std::fs::read_to_string(&report).unwrap();
    assert_eq!(
        page.matches("<noscript class=\"chunk\">").count() as u64,
        (total - 1) / 500
    );

    let seen = node(&dir, &["chunks", report.to_str().unwrap()]);
    assert_eq!(seen["errors"], serde_json::json!([]));
    assert_eq!(seen["total"], total);
    assert_eq!(seen["rows"], total, "every row arrives");
    assert_eq!(seen["inertLeft"], 0);
    // In the server's order: row i is the i-th.
    let order: Vec<u64> = seen["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(order, (0..total).collect::<Vec<_>>());
    let high = expected["summary"]["findings_by_severity"]["high"].clone();
    assert_eq!(seen["high"]["shown"], high);
    assert_eq!(seen["high"]["visible"], high);
    assert!(seen["lastFieldPath"].as_str().unwrap().starts_with('.'));
    let _ = std::fs::remove_dir_all(work);
}

#[test]
fn report_in_chromium() {
    let Some(dir) = tools_or_skip() else { return };
    // Artifacts stay under target/ for CI to keep.
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&artifacts).unwrap();
    let report = artifacts.join("insecure-eks.html");
    let shot = artifacts.join("html-report.png");
    let _ = std::fs::remove_file(&shot);
    let bin = env!("CARGO_BIN_EXE_eksguard");
    let manifest = env!("CARGO_MANIFEST_DIR");
    let scan = |extra: &[&str]| {
        Command::new(bin)
            .args(["scan", "--no-config", EXAMPLE])
            .args(extra)
            .current_dir(manifest)
            .output()
            .unwrap()
    };
    scan(&["-f", "html", "-o", report.to_str().unwrap()]);
    let expected = json(&scan(&["-f", "json"]));

    let seen = node(
        &dir,
        &["check", report.to_str().unwrap(), shot.to_str().unwrap()],
    );
    assert_eq!(seen["errors"], serde_json::json!([]), "script errors");
    assert_eq!(
        seen["outside"],
        serde_json::json!([]),
        "requests left the page"
    );
    assert_eq!(seen["filtersShown"], true);

    // The counts shown are the JSON report's.
    let by_sev = &expected["summary"]["findings_by_severity"];
    for sev in ["critical", "high", "medium", "low", "info"] {
        assert_eq!(seen["cards"][sev], by_sev[sev], "{sev} card");
    }
    let total = expected["findings"].as_array().unwrap().len() as u64;
    assert_eq!(seen["total"], total);
    assert_eq!(seen["shown"], total);
    assert_eq!(seen["visible"], total);

    // Filtering by severity shows exactly the critical findings.
    assert_eq!(seen["critical"]["shown"], by_sev["critical"]);
    assert_eq!(seen["critical"]["visible"], by_sev["critical"]);
    assert_eq!(seen["critical"]["badges"], serde_json::json!(["critical"]));

    // Free text: the findings whose text mentions the storefront, and only those.
    let storefront = expected["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            serde_json::to_string(f)
                .unwrap()
                .to_lowercase()
                .contains("storefront")
        })
        .count() as u64;
    assert!(storefront > 0 && storefront < total);
    assert_eq!(seen["text"]["visible"], storefront);
    assert_eq!(seen["text"]["shown"], storefront);
    assert_eq!(seen["cleared"], total);

    // Sorting by rule puts the smallest rule ID first.
    let first = expected["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .min()
        .unwrap();
    assert_eq!(seen["firstRuleSorted"], first);

    // A row opens on its details, with a code frame at the offending line.
    assert_eq!(seen["opened"]["frame"], 1);
    assert_eq!(seen["opened"]["remediation"], true);
    assert!(seen["opened"]["fieldPath"]
        .as_str()
        .unwrap()
        .starts_with(".spec"));
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "screenshot"
    );
    eprintln!("screenshot: {}", shot.display());
}

/// The table of the workloads running vulnerable images sorts on every column, both ways.
#[test]
fn vulnerable_workloads_table_sorts() {
    let Some(dir) = tools_or_skip() else { return };
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&artifacts).unwrap();
    let report = artifacts.join("vulnerable-images.html");
    let out = Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .args([
            "scan",
            "--no-config",
            "--select",
            "IMG006",
            "-f",
            "html",
            "-o",
        ])
        .arg(&report)
        .arg(crate::html::VULNERABLE_IMAGES)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let seen = node(&dir, &["facts", report.to_str().unwrap(), "IMG006"]);
    assert_eq!(seen["errors"], serde_json::json!([]), "script errors");
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    // Most severe first, then the most CVEs.
    let initial = names(&seen["initial"]);
    assert_eq!(
        initial,
        [
            "Deployment/shop/api",
            "Deployment/shop/reports",
            "DaemonSet/monitoring/agent",
            "CronJob/shop/nightly"
        ]
    );
    // Each header sorts one way, then the other; ties keep the page's order.
    let critical = &seen["columns"]["critical"];
    assert_eq!(names(&critical[0])[0], "Deployment/shop/reports");
    assert_eq!(
        names(&critical[1]).last().unwrap(),
        "Deployment/shop/reports"
    );
    let medium = &seen["columns"]["medium"];
    assert_eq!(names(&medium[0])[0], "Deployment/shop/api");
    let resource = &seen["columns"]["Resource"];
    assert_eq!(names(&resource[0])[0], "CronJob/shop/nightly");
    assert_eq!(names(&resource[1])[0], "Deployment/shop/reports");
    for (column, orders) in seen["columns"].as_object().unwrap() {
        for order in orders.as_array().unwrap() {
            let mut got = names(order);
            got.sort();
            let mut want = initial.clone();
            want.sort();
            assert_eq!(got, want, "{column}: rows lost or added");
        }
    }
}
