//! JUnit XML for CI dashboards: a test suite per rule that ran, a failing test case per
//! finding, and a passing one for each clean rule, so the dashboard shows what was checked.

use std::io::Write;

use eksguard_model::RuleMeta;
use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};

use crate::escape::terminal;
use crate::{Report, ReportFinding};

pub(crate) fn render(report: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let mut junit = Junit::new("eksguard");
    // Rules that ran, then any rule with findings that is missing from that list, so no
    // finding is dropped.
    let mut rules: Vec<&RuleMeta> = report.rules.clone();
    for f in &report.findings {
        if !rules.iter().any(|r| r.id == f.rule.id) {
            rules.push(f.rule);
        }
    }
    for rule in rules {
        let mut suite = TestSuite::new(format!("{} {}", rule.id, rule.name));
        let findings: Vec<&ReportFinding> = report
            .findings
            .iter()
            .filter(|f| f.rule.id == rule.id)
            .collect();
        if findings.is_empty() {
            let mut case = TestCase::new(rule.name, TestCaseStatus::success());
            case.set_classname(rule.id);
            suite.add_test_case(case);
        }
        for f in findings {
            suite.add_test_case(failure(f));
        }
        junit.add_test_suite(suite);
    }
    if !report.errors.is_empty() {
        let mut suite = TestSuite::new("input-errors");
        for e in &report.errors {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message(terminal(&e.message).into_owned())
                .set_type("input");
            let name = match e.line {
                Some(l) => format!("{}:{l}", e.file),
                None => e.file.clone(),
            };
            let mut case = TestCase::new(terminal(&name).into_owned(), status);
            case.set_classname(terminal(&e.file).into_owned());
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.serialize(&mut *out).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

fn failure(f: &ReportFinding) -> TestCase {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    let at = match &f.location {
        Some(l) => format!("{}:{}:{}", l.file, l.line, l.column),
        None => f.qualified_name(),
    };
    // CI pages show these as text: input reaches them escaped as on a terminal.
    status
        .set_message(terminal(&f.message).into_owned())
        .set_type(f.severity.as_str())
        .set_description(format!(
            "{} .{}\n{}\nhelp: {}",
            terminal(&at),
            terminal(&f.field_path),
            terminal(&f.message),
            f.rule.remediation
        ));
    let name = format!("{} .{}", f.qualified_name(), f.field_path);
    let mut case = TestCase::new(terminal(&name).into_owned(), status);
    case.set_classname(
        terminal(f.location.as_ref().map_or("cluster", |l| l.file.as_str())).into_owned(),
    );
    case
}
