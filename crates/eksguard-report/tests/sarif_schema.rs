//! The SARIF output validates against the official SARIF 2.1.0 schema.

mod common;

use eksguard_report::{render_to_string, OutputFormat, RenderOptions};

#[test]
fn sarif_matches_the_official_schema() {
    let mut schema: serde_json::Value =
        serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).expect("schema is JSON");
    // The official schema's pattern for `language` tags has a stray `]`, which ECMA-262
    // regex syntax (what the validator checks `format: regex` against) rejects. Escaping
    // it keeps the meaning; eksguard does not emit `language` anyway.
    let fixed = escape_stray_bracket(&mut schema);
    assert!(fixed > 0, "the schema changed: drop the workaround");
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");

    let mut reports = vec![common::report()];
    // Also a clean run: no results, no notifications.
    let mut clean = common::report();
    clean.findings.clear();
    clean.errors.clear();
    reports.push(clean);
    // And an audit run: findings carry their event in the result's property bag.
    let mut audit = common::report();
    audit.audit = Some(eksguard_model::AuditStats {
        events_read: 10,
        duplicates: 1,
        truncated: 1,
        malformed: 0,
    });
    audit.findings[0].event = Some(Box::new(eksguard_model::EventSummary {
        audit_id: Some("4d2c".into()),
        time: Some("2024-05-01T12:00:00Z".into()),
        user: "alice".into(),
        groups: vec!["dev".into()],
        verb: "create".into(),
        resource: Some("pods".into()),
        subresource: Some("exec".into()),
        command: Some("sh".into()),
        code: Some(101),
        decision: Some("allow".into()),
        ..Default::default()
    }));
    reports.push(audit);
    // And suppressed results, warnings and the configuration in the invocation.
    reports.push(common::suppressed_report());

    for report in &reports {
        let out = render_to_string(
            OutputFormat::Sarif,
            report,
            &common::sources(),
            &RenderOptions::default(),
        );
        let instance: serde_json::Value = serde_json::from_str(&out).expect("SARIF is JSON");
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "schema violations:\n{}",
            errors.join("\n")
        );
    }

    // The validator does reject a broken log.
    let out = render_to_string(
        OutputFormat::Sarif,
        &common::report(),
        &common::sources(),
        &RenderOptions::default(),
    );
    let mut bad: serde_json::Value = serde_json::from_str(&out).expect("SARIF is JSON");
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&bad));
}

#[test]
fn sarif_structure() {
    let out = render_to_string(
        OutputFormat::Sarif,
        &common::report(),
        &common::sources(),
        &RenderOptions::default(),
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("SARIF is JSON");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 7, "every rule that ran");
    assert_eq!(rules[0]["properties"]["security-severity"], "9.5");
    assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");

    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 6);
    for r in results {
        let idx = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        let fp = r["partialFingerprints"]["eksguard/v1"]
            .as_str()
            .expect("fingerprint");
        assert_eq!(fp.len(), 64);
    }
    let privileged = &results[3];
    assert_eq!(privileged["ruleId"], "POD001");
    let phys = &privileged["locations"][0]["physicalLocation"];
    assert_eq!(phys["artifactLocation"]["uri"], "k8s/web.yaml");
    assert_eq!(phys["region"]["startLine"], 13);
    assert_eq!(phys["region"]["startColumn"], 11);
    // A live object: logical location only.
    let live = &results[5]["locations"][0];
    assert!(live.get("physicalLocation").is_none());
    assert_eq!(
        live["logicalLocations"][0]["fullyQualifiedName"],
        "Namespace/shop"
    );

    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert_eq!(
        inv["toolExecutionNotifications"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn fingerprints_ignore_lines() {
    let a = common::report();
    let mut b = common::report();
    for f in &mut b.findings {
        if let Some(l) = &mut f.location {
            l.line += 10;
        }
    }
    let fa: Vec<String> = a.findings.iter().map(|f| f.fingerprint()).collect();
    let fb: Vec<String> = b.findings.iter().map(|f| f.fingerprint()).collect();
    assert_eq!(fa, fb);
    let mut unique = fa.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), fa.len());
}

fn escape_stray_bracket(v: &mut serde_json::Value) -> usize {
    const BAD: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match v {
        serde_json::Value::String(s) if s == BAD => {
            *s = BAD.replace("}]?", "}\\]?");
            1
        }
        serde_json::Value::Array(items) => items.iter_mut().map(escape_stray_bracket).sum(),
        serde_json::Value::Object(map) => map.values_mut().map(escape_stray_bracket).sum(),
        _ => 0,
    }
}
