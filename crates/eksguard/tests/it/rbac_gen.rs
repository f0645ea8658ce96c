//! The least-privilege RBAC generator over the audit log of the corpus
//! (`audit/audit2rbac/demo.log`): impersonated requests of `alice`, `bob` and
//! `system:serviceaccount:ns1:sa1`, of which only the allowed ones count.

use crate::common;

use eksguard_load::files::load_text;
use eksguard_load::LoadOptions;
use eksguard_model::audit::AuditEvent;
use eksguard_model::rbac::{Identity, RbacModel, RequestAttributes};
use eksguard_policy::rbac_gen::{generate, render, Options, Target};

/// One audit event as the authorizer saw it (the impersonated user when there is one);
/// `None` for events that were denied or not complete.
fn request(line: &str) -> Option<RequestAttributes> {
    let e = AuditEvent::parse(line.as_bytes()).ok()?;
    if !e.is_complete() || e.code()? >= 400 {
        return None;
    }
    e.request_attributes()
}

fn generated(log: &str, user: &str) -> (Vec<RequestAttributes>, String) {
    let reqs: Vec<RequestAttributes> = log
        .lines()
        .filter_map(request)
        .filter(|r| r.user == user)
        .collect();
    let opts = Options::new(Target::from_user(user));
    let text = render(&generate(&reqs, &opts), &opts);
    (reqs, text)
}

/// The generated YAML allows every observed request when read back into the model.
fn check_round_trip(reqs: &[RequestAttributes], yaml: &str) {
    let inv = load_text("gen.yaml", yaml.as_bytes(), &LoadOptions::default());
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let m = RbacModel::from_inventory(&inv);
    for r in reqs {
        let id = Identity::user(&r.user, &r.groups);
        let mut q = r.clone();
        q.groups = id.groups;
        if let Some(p) = &q.path {
            q.path = Some(p.split('?').next().unwrap().to_string());
        }
        assert!(!m.authorize(&q).is_empty(), "{} denied", q.describe());
    }
}

#[test]
fn demo_log_roles() {
    let Some(p) = common::corpus("audit/audit2rbac/demo.log") else {
        return;
    };
    let log = std::fs::read_to_string(p).unwrap();

    // alice was refused everything: nothing to generate.
    let (reqs, yaml) = generated(&log, "alice");
    assert!(reqs.is_empty());
    assert_eq!(yaml, "");

    // bob listed pods in `default` (twice allowed, the denied tries do not count) and
    // read discovery documents, which every authenticated user may already: a Role
    // and RoleBinding in `default` for pods only.
    let (reqs, yaml) = generated(&log, "bob");
    assert_eq!(reqs.len(), 25);
    insta::assert_snapshot!("bob", yaml);
    check_round_trip(&reqs, &yaml);

    // sa1 listed pods across all namespaces: a ClusterRole, bound to the service account.
    let (reqs, yaml) = generated(&log, "system:serviceaccount:ns1:sa1");
    assert_eq!(reqs.len(), 1);
    insta::assert_snapshot!("sa1", yaml);
    check_round_trip(&reqs, &yaml);
    assert!(yaml.contains("kind: ServiceAccount\n    name: sa1\n    namespace: ns1\n"));
}
