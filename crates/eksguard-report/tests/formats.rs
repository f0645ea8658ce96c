//! Snapshots of every format for one fixed report, plus contract and secrecy checks.

mod common;

use eksguard_report::{render_to_string, OutputFormat, RenderOptions};

fn render(format: OutputFormat, opts: &RenderOptions) -> String {
    render_to_string(format, &common::report(), &common::sources(), opts)
}

fn plain(format: OutputFormat) -> String {
    render(format, &RenderOptions::default())
}

#[test]
fn text_plain() {
    insta::assert_snapshot!(plain(OutputFormat::Text));
}

#[test]
fn text_color() {
    let opts = RenderOptions {
        color: true,
        ..Default::default()
    };
    insta::assert_snapshot!(render(OutputFormat::Text, &opts));
}

#[test]
fn text_no_frames() {
    let opts = RenderOptions {
        no_frames: true,
        ..Default::default()
    };
    insta::assert_snapshot!(render(OutputFormat::Text, &opts));
}

#[test]
fn json() {
    insta::assert_snapshot!(plain(OutputFormat::Json));
}

#[test]
fn jsonl() {
    insta::assert_snapshot!(plain(OutputFormat::Jsonl));
}

#[test]
fn sarif() {
    insta::assert_snapshot!(plain(OutputFormat::Sarif));
}

#[test]
fn junit() {
    insta::assert_snapshot!(plain(OutputFormat::Junit));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(plain(OutputFormat::Markdown));
}

#[test]
fn empty_report_text() {
    let mut report = common::report();
    report.findings.clear();
    report.errors.clear();
    report.suppressed = 0;
    let out = render_to_string(
        OutputFormat::Text,
        &report,
        &common::sources(),
        &RenderOptions::default(),
    );
    assert_eq!(out, "No findings in 5 resources from 5 files\n");
}

#[test]
fn json_has_the_contract_keys() {
    let v: serde_json::Value =
        serde_json::from_str(&plain(OutputFormat::Json)).expect("valid JSON");
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&v),
        [
            "errors",
            "findings",
            "schema_version",
            "summary",
            "suppressed",
            "tool",
            "warnings"
        ]
    );
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["tool"]["name"], "eksguard");
    assert_eq!(v["tool"]["version"], "0.1.0");

    let findings = v["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 6);
    let located = &findings[0];
    assert_eq!(
        keys(located),
        [
            "field_path",
            "help_uri",
            "location",
            "message",
            "remediation",
            "resource",
            "rule_id",
            "rule_name",
            "severity"
        ]
    );
    assert_eq!(located["rule_id"], "DATA004");
    assert_eq!(located["severity"], "high");
    assert_eq!(keys(&located["location"]), ["column", "file", "line"]);
    assert_eq!(
        keys(&located["resource"]),
        ["api_version", "kind", "name", "namespace"]
    );
    // Live objects have no location; cluster-scoped ones no namespace.
    let live = &findings[5];
    assert!(live.get("location").is_none());
    assert_eq!(keys(&live["resource"]), ["api_version", "kind", "name"]);

    let errors = v["errors"].as_array().expect("errors");
    assert_eq!(keys(&errors[0]), ["file", "line", "message"]);
    assert_eq!(keys(&errors[1]), ["file", "message"]);

    let summary = &v["summary"];
    assert_eq!(
        keys(&summary["findings_by_severity"]),
        ["critical", "high", "info", "low", "medium"]
    );
    assert_eq!(summary["findings_by_severity"]["medium"], 3);
    assert_eq!(summary["findings_by_severity"]["info"], 0);
    assert_eq!(summary["resources_scanned"], 5);
    assert_eq!(summary["files_scanned"], 5);
    assert_eq!(summary["suppressed"], 1);
}

#[test]
fn masked_secrets_never_appear() {
    let option_sets = [
        RenderOptions::default(),
        RenderOptions {
            color: true,
            ..Default::default()
        },
        RenderOptions {
            no_frames: true,
            ..Default::default()
        },
    ];
    for name in OutputFormat::NAMES {
        let format = OutputFormat::parse(name).expect("known format");
        for opts in &option_sets {
            let out = render(format, opts);
            for secret in common::SECRETS {
                assert!(
                    !out.contains(secret),
                    "{name} output ({opts:?}) contains `{secret}`:\n{out}"
                );
            }
        }
    }
    // The masked frame still shows which key it is about.
    assert!(plain(OutputFormat::Text).contains("db_password: ********"));
}
