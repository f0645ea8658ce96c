use eksguard_policy::tenant::{parse_file, render, Pss, Tenant, Toleration};

#[test]
fn tenant_snapshot() {
    let mut t = Tenant::new("team-a");
    t.groups = vec!["team-a-devs".into()];
    t.users = vec!["alice@example.com".into()];
    t.node_selector = vec![("pool".into(), "team-a".into())];
    t.tolerations = vec![Toleration::parse("dedicated=team-a:NoSchedule").unwrap()];
    insta::assert_snapshot!(render(&[t]));
}

#[test]
fn tenant_file() {
    let ts = parse_file(
        "- name: a\n  groups: [g1, g2]\n  cpu: \"8\"\n  pods: 10\n  nodeSelector: {pool: a}\n  tolerations: [\"k:NoExecute\"]\n- name: b\n  pss: baseline\n",
    )
    .unwrap();
    assert_eq!(ts.len(), 2);
    assert_eq!(ts[0].groups, ["g1", "g2"]);
    assert_eq!((ts[0].cpu.as_str(), ts[0].pods), ("8", 10));
    assert_eq!(ts[0].tolerations[0].value, None);
    assert_eq!(ts[1].pss, Pss::Baseline);
}

#[test]
fn tenant_file_errors_name_the_line() {
    let cases = [
        ("- name: a\n  colour: red\n", 2, "unknown tenant key"),
        ("- name: a\n- groups: [x]\n", 2, "without `name`"),
        ("- name: default\n", 1, "system namespace"),
        (
            "- name: a\n  tolerations: [\"k=v:Sometimes\"]\n",
            2,
            "effect",
        ),
        ("name: a\n", 1, "list of tenants"),
        ("- name: [a\n", 2, "invalid YAML"),
    ];
    for (text, line, msg) in cases {
        let e = parse_file(text).unwrap_err();
        assert_eq!(e.line, line, "{text}: {e}");
        assert!(e.message.contains(msg), "{text}: {e}");
    }
}

#[test]
fn toleration_forms() {
    assert!(Toleration::parse("novalue").is_err());
    assert!(Toleration::parse("=v:NoSchedule").is_err());
    let t = Toleration::parse("a=b:c:NoSchedule").unwrap();
    assert_eq!((t.key.as_str(), t.value.as_deref()), ("a", Some("b:c")));
}
