//! `--format html` of the commands that report findings, and `audit summary --format
//! html`, through the built binary: what the page shows agrees with the JSON report.

use std::process::{Command, Output};

use crate::common::json;

const EXAMPLE: &str = "../../examples/insecure-eks";
const LOG: &str = "tests/data/audit/incident.log";
const BURST: &str = "tests/data/audit/burst.log";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn page(out: &Output) -> String {
    let s = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        s.starts_with("<!DOCTYPE html>") && s.ends_with("</html>\n"),
        "not a page: {}\nstderr: {}",
        &s[..s.len().min(400)],
        String::from_utf8_lossy(&out.stderr)
    );
    s
}

/// The number a severity card shows.
fn card(page: &str, severity: &str) -> u64 {
    let key = format!("data-severity=\"{severity}\">");
    let at = page.find(&key).expect("card") + key.len();
    page[at..at + page[at..].find('<').unwrap()]
        .parse()
        .unwrap()
}

#[test]
fn scan_page_counts_match_the_json_report() {
    let html = run(&["scan", "--no-config", EXAMPLE, "-f", "html"]);
    let js = run(&["scan", "--no-config", EXAMPLE, "-f", "json"]);
    // The verdict does not depend on the format.
    assert_eq!(html.status.code(), js.status.code());
    let (page, v) = (page(&html), json(&js));
    for sev in ["critical", "high", "medium", "low", "info"] {
        assert_eq!(
            card(&page, sev),
            v["summary"]["findings_by_severity"][sev].as_u64().unwrap(),
            "{sev}"
        );
    }
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(page.matches("<details class=\"f\"").count(), findings.len());
    // Each finding's field path is on the page, in its row's details.
    for f in findings {
        let path = f["field_path"].as_str().unwrap();
        let shown = eksguard_report::escape::html(path);
        assert!(page.contains(&format!("<code>.{shown}</code>")), "{path}");
    }
    // The privileged storefront container, with its frame at the offending line.
    assert!(page.contains(
        "<span class=\"hit\"><span class=\"ln\">32</span>           privileged: true</span>"
    ));
    // The ConfigMap's access keys are found, and shown masked.
    assert!(page.contains("aws_secret_access_key: ********"));
    for secret in ["wJalrXUtnFEMI/K7MDENG", "AKIAIOSFODNN7EXAMPLE"] {
        assert!(!page.contains(secret), "{secret}");
    }
    // Nothing is fetched from anywhere.
    for external in ["src=\"http", "href=\"//", "<link ", "@import", "url("] {
        assert!(!page.contains(external), "{external}");
    }
}

#[test]
fn page_goes_to_the_output_file_and_shows_suppressed_findings_on_request() {
    let dir = crate::common::temp_dir("html-out");
    let out_file = dir.join("report.html");
    let baseline = dir.join("baseline.json");
    let b = run(&[
        "scan",
        "--no-config",
        EXAMPLE,
        "--write-baseline",
        baseline.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(b.status.code(), Some(0));
    let out = run(&[
        "scan",
        "--no-config",
        EXAMPLE,
        "--baseline",
        baseline.to_str().unwrap(),
        "-f",
        "html",
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty());
    let page = std::fs::read_to_string(&out_file).unwrap();
    // Every finding is baselined: none in the table, all behind the toggle.
    assert_eq!(card(&page, "critical"), 0);
    let toggle = page.find("<details id=\"suppressed-toggle\">").unwrap();
    assert!(page[toggle..].contains("Show <span id=\"suppressed-shown\">130</span> suppressed"));
    assert_eq!(page[toggle..].matches("<details class=\"f\"").count(), 130);
    assert_eq!(page[..toggle].matches("<details class=\"f\"").count(), 0);
    assert!(page[toggle..].contains("<dt>Suppressed by</dt><dd>baseline: in baseline "));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn audit_scan_page_shows_the_events() {
    let html = run(&["audit", "scan", "--no-config", LOG, "-f", "html"]);
    let js = run(&["audit", "scan", "--no-config", LOG, "-f", "json"]);
    let (page, v) = (page(&html), json(&js));
    let n = v["findings"].as_array().unwrap().len();
    assert!(n > 0);
    assert_eq!(page.matches("<details class=\"f\"").count(), n);
    // An audit finding opens on its event, never a frame of the log line.
    assert_eq!(page.matches("<dl class=\"event\">").count(), n);
    assert!(!page.contains("<pre class=\"frame\">"));
    assert!(page.contains("events read"));
}

#[test]
fn audit_summary_page_marks_denied_requests_and_findings() {
    let html = run(&["audit", "summary", LOG, BURST, "-f", "html"]);
    let js = run(&["audit", "summary", LOG, BURST, "-f", "json"]);
    // The log's truncated line is an input error whatever the format.
    assert_eq!(html.status.code(), js.status.code());
    let page = page(&html);
    assert!(page.contains("<section id=\"problems\">"));
    let summary = json(&js);
    let denied: u64 = summary["rate"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["denied"].as_u64().unwrap())
        .sum();
    assert!(denied > 0);
    assert!(page.contains(&format!("<span class=\"n\" id=\"denied\">{denied}</span>")));
    assert!(page.contains(&format!(
        "<span class=\"n\" id=\"requests\">{}</span>",
        summary["events"]
    )));
    // The findings marked are those `audit scan` reports without configuration.
    let scan = json(&run(&[
        "audit",
        "scan",
        "--no-config",
        LOG,
        BURST,
        "-f",
        "json",
    ]));
    let found = scan["findings"].as_array().unwrap().len();
    assert!(found > 0);
    assert!(page.contains(&format!(
        "<span class=\"n\" id=\"aud-findings\">{found}</span>"
    )));
    let listed = page.find("<section id=\"audit-findings\">").unwrap();
    let table = &page[listed..listed + page[listed..].find("</table>").unwrap()];
    assert_eq!(
        table.matches("<tr><td>").count(),
        found,
        "each finding listed"
    );
    assert!(page.contains("<circle class=\"mark sev-"));
    assert!(page.contains("<rect class=\"denied\""));
    // The JSON summary does not carry the marks: only the page runs the rules.
    assert!(summary.get("findings").is_none());
}

/// Workloads, Inspector findings and a Service: the input of the vulnerable-images table.
pub(crate) const VULNERABLE_IMAGES: &str = "../eksguard-rules/fixtures/img/IMG006.yaml";

#[test]
fn vulnerable_images_get_a_table_of_their_facts() {
    let html = run(&[
        "scan",
        "--no-config",
        "--select",
        "IMG006",
        "-f",
        "html",
        VULNERABLE_IMAGES,
    ]);
    let doc = page(&html);
    let report = json(&run(&[
        "scan",
        "--no-config",
        "--select",
        "IMG006",
        "-f",
        "json",
        VULNERABLE_IMAGES,
    ]));
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 4);
    // JSON carries the same facts the table shows.
    let api = findings
        .iter()
        .find(|f| f["resource"]["name"] == "api")
        .unwrap();
    assert_eq!(api["facts"]["container"], "api");
    assert_eq!(api["facts"]["high"], 1);
    assert_eq!(api["facts"]["medium"], 1);
    assert_eq!(api["facts"]["critical"], 0);
    assert!(api["facts"]["exposure"]
        .as_str()
        .unwrap()
        .contains("Service/api-public (LoadBalancer)"));

    let start = doc
        .find("<section class=\"fact-table\" id=\"facts-IMG006\">")
        .expect("table");
    let table = &doc[start..start + doc[start..].find("</section>").unwrap()];
    assert!(table.contains("<table class=\"plain sortable\">"));
    for header in [
        "Severity",
        "Resource",
        "File",
        "container",
        "image",
        "critical",
        "high",
        "worst",
        "exposure",
    ] {
        assert!(
            table.contains(&format!(">{header}</button></th>")),
            "{header}"
        );
    }
    let rows: Vec<&str> = table.split("<tr><td").skip(1).collect();
    assert_eq!(rows.len(), 4);
    // Most severe first; within a severity, the most CVEs first.
    assert!(rows[0].contains("Deployment/shop/api") && rows[0].contains("sev-critical"));
    assert!(rows[3].contains("CronJob/shop/nightly") && rows[3].contains("sev-high"));
    assert!(rows[0].contains("IMG006.yaml:12"));
    // Without facts, no table: the page of a plain scan has none.
    let plain = page(&run(&[
        "scan",
        "--no-config",
        "-f",
        "html",
        "../../examples/insecure-eks",
    ]));
    assert!(!plain.contains("class=\"fact-table\""));
}
