//! Suppressed findings, warnings and the configuration summary in every format.

mod common;

use eksguard_report::{render_to_string, OutputFormat, RenderOptions};

fn render(format: OutputFormat, show_suppressed: bool) -> String {
    let opts = RenderOptions {
        show_suppressed,
        ..Default::default()
    };
    render_to_string(
        format,
        &common::suppressed_report(),
        &common::sources(),
        &opts,
    )
}

#[test]
fn json_lists_suppressed_findings_and_the_config() {
    let v: serde_json::Value = serde_json::from_str(&render(OutputFormat::Json, false)).unwrap();
    let s = v["suppressed"].as_array().unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0]["rule_id"], "POD001");
    assert_eq!(s[0]["source"], "inline");
    assert_eq!(s[0]["until"], "2030-01-31");
    assert_eq!(s[0]["resource"]["name"], "web");
    assert_eq!(s[0]["location"]["line"], 13);
    assert_eq!(
        s[0]["field_path"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert_eq!(s[1]["rule_id"], "DATA004");
    assert_eq!(s[1]["source"], "config");
    assert_eq!(s[1]["reason"], "values are placeholders");
    assert!(s[1].get("until").is_none());
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["rule_id"] != "POD001"));
    assert_eq!(v["warnings"][0]["line"], 6);
    let c = &v["config"];
    assert_eq!(c["file"], "repo/.eksguard.toml");
    assert_eq!(c["exclude"][0], "**");
    assert_eq!(c["severity_overrides"][0]["default"], "critical");
    assert_eq!(c["severity_overrides"][0]["severity"], "low");
    assert_eq!(c["fail_on"], "never");
    assert_eq!(c["suppress"][0]["kind"], "ConfigMap");
}

#[test]
fn sarif_marks_suppressed_results() {
    let v: serde_json::Value = serde_json::from_str(&render(OutputFormat::Sarif, false)).unwrap();
    let run = &v["runs"][0];
    let results = run["results"].as_array().unwrap();
    let suppressed: Vec<(&str, &str, &str)> = results
        .iter()
        .filter_map(|r| {
            let s = &r["suppressions"][0];
            Some((
                r["ruleId"].as_str()?,
                s["kind"].as_str()?,
                s["justification"].as_str()?,
            ))
        })
        .collect();
    assert_eq!(
        suppressed,
        vec![
            (
                "POD001",
                "inSource",
                "inline annotation: debug pod | removed \u{1b}[31m after use"
            ),
            (
                "DATA004",
                "external",
                "config [[suppress]]: values are placeholders"
            ),
        ]
    );
    let inv = &run["invocations"][0];
    assert_eq!(inv["properties"]["config"]["file"], "repo/.eksguard.toml");
    assert_eq!(inv["toolExecutionNotifications"][2]["level"], "warning");
}

#[test]
fn text_counts_by_default_and_lists_on_request() {
    let out = render(OutputFormat::Text, false);
    assert!(!out.contains("Suppressed findings:"), "{out}");
    assert!(
        out.contains("; 2 suppressed (--show-suppressed lists them); 2 input errors; 1 warning"),
        "{out}"
    );
    assert!(
        out.contains("warning: k8s/web.yaml:6: Deployment shop/web:"),
        "{out}"
    );
    insta::assert_snapshot!(render(OutputFormat::Text, true));
}

#[test]
fn markdown_counts_by_default_and_lists_on_request() {
    let out = render(OutputFormat::Markdown, false);
    assert!(!out.contains("## Suppressed"), "{out}");
    assert!(out.contains("## Configuration"), "{out}");
    insta::assert_snapshot!(render(OutputFormat::Markdown, true));
}

#[test]
fn jsonl_ends_with_the_config_and_warnings() {
    let out = render(OutputFormat::Jsonl, false);
    let end: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(end["config"]["origin"], "discovered");
    assert_eq!(end["warnings"][0]["line"], 6);
}
