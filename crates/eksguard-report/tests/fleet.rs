//! The fleet reports over the fixed report, given to two clusters of two accounts, with an
//! account and a cluster not read: the summary, the table's order, the scope on every
//! finding, and hostile names escaped.

mod common;

use eksguard_report::asff::AsffTarget;
use eksguard_report::fleet::{
    render, ClusterScope, FleetCluster, FleetProblem, FleetReport, ReadStatus,
};
use eksguard_report::{OutputFormat, RenderOptions, Report};
use serde_json::Value;

fn cluster(
    account: &str,
    region: &str,
    name: &str,
    status: ReadStatus,
    report: Report<'static>,
) -> FleetCluster<'static> {
    FleetCluster {
        scope: ClusterScope {
            account: account.into(),
            region: region.into(),
            cluster: name.into(),
        },
        status,
        reason: (status != ReadStatus::Full)
            .then(|| "the Kubernetes API refused the identity".into()),
        asff: Some(AsffTarget {
            account: account.into(),
            region: region.into(),
            partition: "aws".into(),
            scope: format!("cluster:{name}"),
            now: "2026-01-01T00:00:00Z".into(),
        }),
        report,
    }
}

fn fleet() -> FleetReport<'static> {
    let mut quiet = common::report();
    quiet
        .findings
        .retain(|f| f.severity < eksguard_model::Severity::High);
    quiet.errors.clear();
    let empty = {
        let mut r = common::report();
        r.findings.clear();
        r.errors.clear();
        r
    };
    FleetReport {
        tool_version: "0.0.0-test",
        clusters: vec![
            cluster(
                "111111111111",
                "eu-west-1",
                "quiet",
                ReadStatus::AwsOnly,
                quiet,
            ),
            cluster(
                "222222222222",
                "us-east-1",
                "busy",
                ReadStatus::Full,
                common::report(),
            ),
            cluster(
                "222222222222",
                "us-east-1",
                "gone\u{1b}[2J",
                ReadStatus::NotRead,
                empty,
            ),
        ],
        problems: vec![FleetProblem {
            account: "333333333333".into(),
            region: None,
            reason: "sts:AssumeRole failed: AccessDenied: not authorized".into(),
        }],
    }
}

fn rendered(format: OutputFormat) -> String {
    let mut buf = Vec::new();
    render(
        format,
        &fleet(),
        &common::sources(),
        &RenderOptions::default(),
        &mut buf,
    )
    .unwrap();
    String::from_utf8(buf).unwrap()
}

#[test]
fn text_opens_with_the_summary_worst_first() {
    let text = rendered(OutputFormat::Text);
    insta::assert_snapshot!("fleet_text", text);
    let table: Vec<&str> = text.lines().skip(3).take(3).collect();
    assert!(
        table[0].starts_with("222222222222/us-east-1/busy "),
        "{table:?}"
    );
    assert!(
        table[1].starts_with("111111111111/eu-west-1/quiet "),
        "{table:?}"
    );
    assert!(!text.contains('\u{1b}'), "terminal escapes pass through");
    for secret in common::SECRETS {
        assert!(!text.contains(secret));
    }
}

#[test]
fn json_puts_the_scope_on_every_finding_and_counts_the_fleet() {
    let v: Value = serde_json::from_str(&rendered(OutputFormat::Json)).unwrap();
    assert_eq!(
        v["fleet"]["summary"],
        serde_json::json!({"clusters_found": 3, "read_fully": 1, "aws_side_only": 1,
                           "not_read": 1, "accounts_or_regions_not_read": 1})
    );
    let findings = v["findings"].as_array().unwrap();
    let busy = common::report().findings.len();
    assert!(findings.len() > busy);
    assert_eq!(
        findings
            .iter()
            .filter(|f| f["scope"]["cluster"] == "busy")
            .count(),
        busy
    );
    assert!(findings.iter().all(|f| f["scope"]["account"].is_string()));
    assert!(v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["scope"]["cluster"] == "busy"));
    assert_eq!(v["fleet"]["not_read"][0]["account"], "333333333333");
}

#[test]
fn sarif_has_a_run_per_cluster_and_asff_each_cluster_account() {
    let v: Value = serde_json::from_str(&rendered(OutputFormat::Sarif)).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    for run in runs {
        for r in run["results"].as_array().unwrap() {
            assert_eq!(r["properties"]["scope"], run["properties"]["scope"]);
        }
    }
    let asff: Value = serde_json::from_str(&rendered(OutputFormat::Asff)).unwrap();
    let accounts: std::collections::BTreeSet<&str> = asff
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["AwsAccountId"].as_str().unwrap())
        .collect();
    assert_eq!(
        accounts,
        ["111111111111", "222222222222"].into_iter().collect()
    );
}

#[test]
fn html_escapes_names_and_lists_what_was_not_read() {
    let html = rendered(OutputFormat::Html);
    assert!(html.contains("sts:AssumeRole failed: AccessDenied"));
    assert!(!html.contains('\u{1b}'));
    assert!(html.contains("<th>critical</th>"));
    assert!(render(
        OutputFormat::Junit,
        &fleet(),
        &common::sources(),
        &RenderOptions::default(),
        &mut Vec::new()
    )
    .is_err());
}
