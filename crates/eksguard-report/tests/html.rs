//! The HTML report: its document structure (snapshots, with the inline style and script
//! left out), escaping of hostile input, and the audit summary page.

mod common;

use eksguard_model::{AuditStats, ResourceRef, Severity};
use eksguard_report::audit_summary::{AuditSummary, Mark};
use eksguard_report::{render_to_string, Location, OutputFormat, RenderOptions, Report};

fn html(report: &Report<'_>) -> String {
    render_to_string(
        OutputFormat::Html,
        report,
        &common::sources(),
        &RenderOptions::default(),
    )
}

/// The page without the stylesheet and script, which have their own files: what is left
/// is the structure and the data.
fn structure(page: &str) -> String {
    let mut out = String::new();
    let mut rest = page;
    for (open, close, stand_in) in [
        ("<style>\n", "</style>", "/* report.css */\n"),
        ("<script>\n", "</script>", "/* report.js */\n"),
    ] {
        let a = rest.find(open).expect("element present") + open.len();
        let b = a + rest[a..].find(close).expect("element closed");
        out.push_str(&rest[..a]);
        out.push_str(stand_in);
        rest = &rest[b..];
    }
    out.push_str(rest);
    out
}

/// The JSON embedded for the script.
fn page_data(page: &str) -> serde_json::Value {
    let open = "<script type=\"application/json\" id=\"eksguard-data\">";
    let a = page.find(open).expect("data element") + open.len();
    let b = a + page[a..].find("</script>").expect("closed");
    serde_json::from_str(&page[a..b]).expect("valid JSON")
}

#[test]
fn document() {
    insta::assert_snapshot!(structure(&html(&common::report())));
}

#[test]
fn document_with_suppressed_findings_and_config() {
    insta::assert_snapshot!(structure(&html(&common::suppressed_report())));
}

#[test]
fn findings_are_readable_without_script() {
    let page = html(&common::report());
    // Every finding is a server-rendered row that opens on its details.
    assert_eq!(page.matches("<details class=\"f\"").count(), 6);
    assert_eq!(page.matches("<summary class=\"cols\">").count(), 6);
    // The filters need the script, so they start hidden.
    assert!(page.contains("<form id=\"filters\" class=\"filters\" hidden>"));
    // Critical first, then the reporters' file order.
    let first = page.find("<details class=\"f\"").unwrap();
    assert!(page[first..].starts_with(
        "<details class=\"f\" data-i=\"0\"><summary class=\"cols\"><span class=\"badge sev-critical\">"
    ));
    // The code frame marks the offending line, with a caret under the column.
    assert!(page.contains(
        "<span class=\"hit\"><span class=\"ln\">13</span>           privileged: true</span>\n\
         <span class=\"caret\">             ^</span>\n"
    ));
    // The credential's line is masked in its frame.
    assert!(page.contains("db_password: ********"));
    // No request leaves the page.
    for external in ["src=\"http", "href=\"//", "<link ", "@import", "url("] {
        assert!(!page.contains(external), "{external}");
    }
    let data = page_data(&page);
    assert_eq!(data["total"], 6);
    assert_eq!(data["findings"][0]["r"], "POD001");
    assert_eq!(data["findings"][0]["s"], 4);
    assert_eq!(
        data["rules"]["POD001"],
        serde_json::json!(["privileged-container", "POD"])
    );
    assert_eq!(data["findings"][0]["ns"], "shop");
    assert_eq!(data["findings"][0]["k"], "Deployment");
}

#[test]
fn suppressed_findings_sit_behind_a_toggle() {
    let page = html(&common::suppressed_report());
    let toggle = page
        .find("<details id=\"suppressed-toggle\">")
        .expect("toggle");
    let main_table = page.find("id=\"findings-table\"").unwrap();
    let suppressed_row = page.find("<dt>Suppressed by</dt>").expect("note shown");
    assert!(suppressed_row > toggle && toggle > main_table);
    let data = page_data(&page);
    assert_eq!(data["suppressed"], 2);
    let sup: Vec<_> = data["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["sup"] == true)
        .map(|f| f["r"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sup, ["POD001", "DATA004"]);
}

#[test]
fn hostile_input_stays_text() {
    let evil = "</script><img src=x onerror=alert(1)><!--\u{2028}&amp;\"'";
    let mut report = common::report();
    let f = &mut report.findings[0];
    f.message = format!("value {evil}");
    f.resource = ResourceRef {
        api_version: "v1".into(),
        kind: format!("Kind{evil}"),
        namespace: Some(format!("ns{evil}")),
        name: format!("name{evil}"),
    };
    f.field_path = format!("data.{evil}");
    f.location = Some(Location {
        file: format!("dir/{evil}.yaml"),
        line: 1,
        column: 1,
    });
    let page = html(&report);
    assert!(!page.contains("<img"), "{page}");
    assert!(!page.contains("<!--"));
    // A line separator is shown as an escape, in the page and in its data.
    assert!(!page.contains('\u{2028}'));
    assert!(page.contains("\\u{2028}"));
    // Exactly the two script elements of the page, and each closed once.
    assert_eq!(page.matches("<script").count(), 2);
    assert_eq!(page.matches("</script>").count(), 2);
    // The data reads back as the input.
    let data = page_data(&page);
    let row = data["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["k"].as_str().unwrap().starts_with("Kind"))
        .unwrap();
    // Filter keys as the page shows them: the line separator as a visible escape.
    let shown = eksguard_report::escape::terminal(evil);
    assert_eq!(row["k"], format!("Kind{shown}"));
    assert_eq!(row["ns"], format!("ns{shown}"));
    assert!(page.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
}

#[test]
fn audit_summary_page() {
    let mut s = AuditSummary::default();
    let lines = [
        ("alice", 200, "2024-05-01T12:00:10Z", "get", "pods", ""),
        ("bob", 403, "2024-05-01T12:01:00Z", "list", "secrets", ""),
        ("bob", 403, "2024-05-01T12:01:30Z", "list", "secrets", ""),
        (
            "<b>mallory</b>",
            201,
            "2024-05-01T12:03:00Z",
            "create",
            "pods",
            "exec",
        ),
    ];
    for (user, code, time, verb, resource, sub) in lines {
        let line = format!(
            r#"{{"kind":"Event","stage":"ResponseComplete","verb":"{verb}","user":{{"username":"{user}"}},"objectRef":{{"resource":"{resource}","subresource":"{sub}","namespace":"shop"}},"responseStatus":{{"code":{code}}},"stageTimestamp":"{time}"}}"#
        );
        s.observe(&eksguard_model::audit::AuditEvent::parse(line.as_bytes()).unwrap());
    }
    s.mark(
        1_714_564_980_000_000,
        Mark::new(
            "2024-05-01T12:03:00Z".into(),
            "AUD001",
            Severity::High,
            "<b>mallory</b> exec into pod".into(),
        ),
    );
    let d = s.data(10, 1, AuditStats::default(), &[]);
    // 12:02 had no request and still has its place on the axis.
    assert_eq!(
        d.rate.buckets.iter().map(|b| b.denied).collect::<Vec<_>>(),
        [0, 2, 0, 0]
    );
    assert_eq!(
        d.rate.buckets.iter().map(|b| b.count).collect::<Vec<_>>(),
        [1, 2, 0, 1]
    );
    let mut out = Vec::new();
    eksguard_report::audit_summary::render_html(&d, &mut out).unwrap();
    let page = String::from_utf8(out).unwrap();
    assert!(!page.contains("<b>"));
    assert!(page.contains("<span class=\"n\" id=\"denied\">2</span>"));
    assert!(page.contains("<circle class=\"mark sev-high\""));
    insta::assert_snapshot!(structure_without_script(&page));
}

/// The summary page has a stylesheet but no script.
fn structure_without_script(page: &str) -> String {
    let a = page.find("<style>\n").unwrap() + "<style>\n".len();
    let b = a + page[a..].find("</style>").unwrap();
    format!("{}/* report.css */\n{}", &page[..a], &page[b..])
}

#[test]
fn rows_after_the_first_chunk_are_inert_until_the_script_runs() {
    let mut report = common::report();
    let one = report.findings.clone();
    for _ in 0..200 {
        report.findings.extend(one.iter().cloned());
    }
    assert_eq!(report.findings.len(), 1206);
    let page = html(&report);
    assert_eq!(page.matches("<details class=\"f\"").count(), 1206);
    // Rows 500.. in two chunks, each closed before the next opens.
    let chunks: Vec<&str> = page
        .split("<noscript class=\"chunk\">")
        .skip(1)
        .map(|c| &c[..c.find("</noscript>").expect("closed")])
        .collect();
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0].matches("<details class=\"f\"").count(), 500);
    assert_eq!(chunks[1].matches("<details class=\"f\"").count(), 206);
    assert!(chunks[0].starts_with("<details class=\"f\" data-i=\"500\">"));
    // Their details are plain markup; the first chunk's rows keep theirs inert.
    assert!(!chunks[0].contains("<noscript>"));
    let first = &page[..page.find("<noscript class=\"chunk\">").unwrap()];
    assert_eq!(first.matches("<noscript><div class=\"body\">").count(), 500);
}
