use std::sync::Arc;

use eksguard_model::object::Source;
use eksguard_model::rbac::Identity;
use eksguard_model::yaml::{parse_documents, ParseLimits};
use eksguard_model::Object;

use super::*;

fn r(verb: &str, group: &str, resource: &str, ns: Option<&str>) -> RequestAttributes {
    let mut q = RequestAttributes::resource(verb, group, resource).by("dev", &[]);
    q.namespace = ns.map(str::to_string);
    q
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn rule(verbs: &[&str], group: &str, resources: &[&str], names: &[&str]) -> PolicyRule {
    PolicyRule {
        verbs: strs(verbs),
        api_groups: strs(&[group]),
        resources: strs(resources),
        resource_names: strs(names),
        non_resource_urls: Vec::new(),
    }
}

fn opts() -> Options {
    Options::new(Target::User("dev".into()))
}

#[test]
fn namespaced_requests_make_roles_with_merged_rules() {
    let reqs = vec![
        r("list", "", "pods", Some("a")),
        r("get", "", "configmaps", Some("a")),
        r("watch", "", "services", Some("a")),
        r("create", "", "pods/exec", Some("a")),
        r("patch", "apps", "deployments/scale", Some("a")),
        r("get", "apps", "deployments", Some("b")),
    ];
    let g = generate(&reqs, &opts());
    assert!(g.cluster.is_empty());
    assert_eq!(
        g.namespaces["a"],
        [
            rule(&["get"], "", &["configmaps"], &[]),
            rule(&["get", "list", "watch"], "", &["pods", "services"], &[]),
            rule(&["create"], "", &["pods/exec"], &[]),
            rule(&["get", "patch"], "apps", &["deployments/scale"], &[]),
        ]
    );
    assert_eq!(
        g.namespaces["b"],
        [rule(&["get"], "apps", &["deployments"], &[])]
    );
}

#[test]
fn cluster_requests_and_non_resource_urls_make_a_cluster_role() {
    let reqs = vec![
        r("list", "", "pods", None),
        r("get", "", "nodes", None),
        RequestAttributes::non_resource("get", "/metrics?format=prom").by("dev", &[]),
        RequestAttributes::non_resource("get", "/metrics").by("dev", &[]),
        // Discovery is allowed to every authenticated user already.
        RequestAttributes::non_resource("get", "/apis/apps/v1?timeout=32s").by("dev", &[]),
        RequestAttributes::non_resource("get", "/version").by("dev", &[]),
    ];
    let g = generate(&reqs, &opts());
    assert!(g.namespaces.is_empty());
    assert_eq!(g.skipped_default, 2);
    assert_eq!(g.used, 4);
    assert_eq!(
        g.cluster,
        [
            rule(&["get"], "", &["nodes"], &[]),
            rule(&["get", "list", "watch"], "", &["pods"], &[]),
            PolicyRule {
                verbs: strs(&["get"]),
                non_resource_urls: strs(&["/metrics"]),
                ..Default::default()
            },
        ]
    );
    let mut keep = opts();
    keep.keep_default_allowed = true;
    let g = generate(&reqs, &keep);
    assert_eq!(
        g.cluster[2].non_resource_urls,
        ["/apis/apps/v1", "/metrics", "/version"]
    );
}

#[test]
fn resource_names_only_on_request() {
    let reqs = vec![
        r("get", "", "secrets", Some("a")).named("tls"),
        r("get", "", "secrets", Some("a")).named("db"),
        r("update", "", "configmaps", Some("a")).named("settings"),
        r("create", "", "configmaps", Some("a")).named("ignored"),
    ];
    let g = generate(&reqs, &opts());
    assert_eq!(
        g.namespaces["a"],
        [
            rule(&["create", "get", "update"], "", &["configmaps"], &[]),
            rule(&["get"], "", &["secrets"], &[]),
        ]
    );
    let mut o = opts();
    o.resource_names = true;
    let g = generate(&reqs, &o);
    assert_eq!(
        g.namespaces["a"],
        [
            rule(&["create"], "", &["configmaps"], &[]),
            rule(&["get", "update"], "", &["configmaps"], &["settings"]),
            rule(&["get"], "", &["secrets"], &["db", "tls"]),
        ]
    );
    // An unnamed request of the same verb drops the names.
    let mut more = reqs.clone();
    more.push(r("get", "", "secrets", Some("a")));
    let g = generate(&more, &o);
    assert_eq!(g.namespaces["a"][2], rule(&["get"], "", &["secrets"], &[]));
}

#[test]
fn names_and_yaml_shape() {
    let o = Options::new(Target::from_user("system:serviceaccount:ns1:sa1"));
    assert_eq!(o.object_name(), "eksguard:system:serviceaccount:ns1:sa1");
    let o = Options {
        name_prefix: "least".into(),
        ..Options::new(Target::User("Alice@Example.com".into()))
    };
    assert_eq!(o.object_name(), "least:alice-example-com");
    let g = generate(&[r("get", "", "pods", Some("a"))], &o);
    let text = render(&g, &o);
    assert_eq!(
        text,
        "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: \"least:alice-example-com\"
  namespace: a
  labels:
    eksguard.io/generated: \"true\"
  annotations:
    eksguard.io/generated-from: \"observed API requests\"
    eksguard.io/subject: \"Alice@Example.com\"
rules:
  - apiGroups:
      - \"\"
    resources:
      - pods
    verbs:
      - get
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: \"least:alice-example-com\"
  namespace: a
  labels:
    eksguard.io/generated: \"true\"
  annotations:
    eksguard.io/generated-from: \"observed API requests\"
    eksguard.io/subject: \"Alice@Example.com\"
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: \"least:alice-example-com\"
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: \"Alice@Example.com\"
"
    );
    assert_eq!(render(&generate(&[], &o), &o), "");
}

/// The generated objects, read back into the RBAC model.
fn model_of(text: &str) -> RbacModel {
    let mut inv = Inventory::default();
    for d in parse_documents(text, true, ParseLimits::default()) {
        let d = d.expect("generated YAML parses");
        let src = Source::File {
            path: Arc::from("gen.yaml"),
            doc: d.index,
            item: None,
        };
        inv.push(Object::from_node(d.root, src, "default").expect("an object"));
    }
    RbacModel::from_inventory(&inv)
}

/// A small deterministic generator (xorshift), so the property test needs no dependency.
struct Rng(u64);

impl Rng {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        &items[(self.0 % items.len() as u64) as usize]
    }
}

fn random_requests(rng: &mut Rng, user: &str) -> Vec<RequestAttributes> {
    const VERBS: &[&str] = &[
        "get", "list", "watch", "create", "update", "patch", "delete",
    ];
    const RES: &[(&str, &str)] = &[
        ("", "pods"),
        ("", "pods/log"),
        ("", "pods/exec"),
        ("", "secrets"),
        ("apps", "deployments"),
        ("apps", "deployments/scale"),
        ("batch", "jobs"),
        ("", "nodes"),
    ];
    const NS: &[Option<&str>] = &[Some("a"), Some("b"), None];
    const NAMES: &[Option<&str>] = &[None, Some("x"), Some("y")];
    let n = 1 + (rng.0 % 6) as usize;
    (0..n)
        .map(|_| {
            if *rng.pick(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) == 0 {
                const URLS: &[&str] = &["/metrics", "/logs/x"];
                let url: &&str = rng.pick(URLS);
                return RequestAttributes::non_resource("get", url).by(user, &[]);
            }
            let (g, res) = *rng.pick(RES);
            let verb = *rng.pick(VERBS);
            let mut q = RequestAttributes::resource(verb, g, res).by(user, &[]);
            // Nodes have no namespace.
            q.namespace = if res == "nodes" {
                None
            } else {
                rng.pick(NS).map(str::to_string)
            };
            q.name = rng.pick(NAMES).map(str::to_string);
            q
        })
        .collect()
}

#[test]
fn generated_roles_allow_exactly_the_observed_scope() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let defaults = RbacModel::from_inventory(&Inventory::default());
    for case in 0..120 {
        let sa = case % 2 == 0;
        let user = if sa {
            "system:serviceaccount:a:robot"
        } else {
            "dev"
        };
        let reqs = random_requests(&mut rng, user);
        for names in [false, true] {
            let mut o = Options::new(Target::from_user(user));
            o.resource_names = names;
            let g = generate(&reqs, &o);
            let m = model_of(&render(&g, &o));
            let id = Identity::user(user, &[]);
            let groups: Vec<&str> = id.groups.iter().map(String::as_str).collect();
            for q in &reqs {
                let mut q = q.clone();
                // RBAC never sees a name on create.
                if q.verb == "create" && q.subresource.is_none() {
                    q.name = None;
                }
                let asked = q.clone().by(user, &groups);
                assert!(
                    !m.authorize(&asked).is_empty(),
                    "case {case}: {} denied",
                    q.describe()
                );
                // Not in a namespace where nothing was observed.
                let seen_cluster_wide = reqs.iter().any(|p| {
                    p.namespace.is_none() && p.combined_resource() == q.combined_resource()
                });
                if q.namespace.is_some() && !seen_cluster_wide {
                    let other = asked.clone().in_namespace("zz-unseen");
                    assert!(
                        m.authorize(&other).is_empty(),
                        "case {case}: {} allowed in another namespace",
                        q.describe()
                    );
                }
                // Not for anyone else.
                let stranger = q.clone().by("stranger", &[]);
                let allowed_by_default = !defaults.authorize(&stranger).is_empty();
                assert_eq!(!m.authorize(&stranger).is_empty(), allowed_by_default);
            }
            // Namespaced observations never yield cluster-wide access.
            if reqs.iter().all(|q| q.namespace.is_some()) {
                for q in &reqs {
                    let mut wide = q.clone().by(user, &groups);
                    wide.namespace = None;
                    assert!(
                        m.authorize(&wide).is_empty(),
                        "case {case}: {} allowed cluster-wide",
                        q.describe()
                    );
                }
            }
            // Names observed with the option stay the only ones, unless unnamed too.
            if names {
                for q in reqs.iter().filter(|q| q.name.as_deref() == Some("x")) {
                    let unnamed_seen = reqs.iter().any(|p| {
                        p.name.is_none()
                            && p.namespace == q.namespace
                            && p.combined_resource() == q.combined_resource()
                    });
                    if unnamed_seen || q.verb == "create" {
                        continue;
                    }
                    let z = q.clone().named("z-unseen").by(user, &groups);
                    let same_verb_unnamed = m.authorize(&z);
                    assert!(
                        same_verb_unnamed.is_empty(),
                        "case {case}: {} allowed for another name",
                        q.describe()
                    );
                }
            }
        }
    }
}

fn decided(reqs: &[(RequestAttributes, Decision)], o: &Options) -> Generated {
    generate_from(reqs.iter().map(|(r, d)| (r, *d)), o)
}

#[test]
fn denied_requests_grant_nothing_unless_included_and_then_are_marked() {
    use Decision::{Allowed, Denied};
    let reqs = vec![
        (r("get", "", "pods", Some("a")), Allowed),
        // Anyone can ask for these and be refused.
        (r("list", "", "secrets", Some("kube-system")), Denied),
        (r("get", "", "pods", Some("a")), Denied),
        (r("delete", "", "pods", Some("a")), Denied),
        (
            RequestAttributes::non_resource("get", "/logs/").by("dev", &[]),
            Denied,
        ),
    ];
    let mut o = opts();
    let g = decided(&reqs, &o);
    assert_eq!(g.skipped_denied, 4);
    assert_eq!(g.used, 1);
    assert_eq!(g.namespaces["a"], [rule(&["get"], "", &["pods"], &[])]);
    assert!(g.cluster.is_empty() && g.denied_cluster.is_empty());
    assert!(g.denied_namespaces.is_empty());
    let text = render(&g, &o);
    assert!(
        text.starts_with("# left out 4 denied request(s): anyone can be refused anything; include them with --include-denied\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"),
        "{text}"
    );
    assert!(!text.contains("secrets") && !text.contains("kube-system"));
    assert!(!text.contains("delete") && !text.contains("/logs/"));

    o.include_denied = true;
    let g = decided(&reqs, &o);
    assert_eq!(g.skipped_denied, 0);
    assert_eq!(g.namespaces["a"], [rule(&["get"], "", &["pods"], &[])]);
    // What an allowed request already grants is not repeated as denied.
    assert_eq!(
        g.denied_namespaces["a"],
        [rule(&["delete"], "", &["pods"], &[])]
    );
    assert_eq!(
        g.denied_namespaces["kube-system"],
        [rule(&["get", "list", "watch"], "", &["secrets"], &[])]
    );
    assert_eq!(g.denied_cluster[0].non_resource_urls, ["/logs/"]);
    let text = render(&g, &o);
    let marked = "  # denied: the subject was refused this when observed\n  - ";
    assert_eq!(text.matches(marked).count(), 3, "{text}");
    assert!(text.contains(
        "rules:\n  - apiGroups:\n      - \"\"\n    resources:\n      - pods\n    verbs:\n      - get\n  # denied: the subject was refused this when observed\n  - apiGroups:\n      - \"\"\n    resources:\n      - pods\n    verbs:\n      - delete\n"
    ), "{text}");
    assert!(text.starts_with("# rules marked `denied` come from requests that were refused"));
    // Marked or not, the rules are real: the kube-system Role and its binding exist.
    let m = model_of(&text);
    let ask = r("list", "", "secrets", Some("kube-system"));
    assert!(!m.authorize(&ask).is_empty());
}

#[test]
fn dangerous_powers_are_granted_only_when_named() {
    let cluster = |verb: &str, group: &str, res: &str, name: &str| {
        RequestAttributes::resource(verb, group, res)
            .named(name)
            .by("dev", &[])
    };
    let reqs = vec![
        r("get", "", "pods", Some("a")),
        cluster("impersonate", "", "users", "admin"),
        cluster("impersonate", "", "groups", "system:masters"),
        cluster("get", "", "nodes/proxy", "ip-10-0-0-1"),
        cluster(
            "bind",
            "rbac.authorization.k8s.io",
            "clusterroles",
            "cluster-admin",
        ),
        r("escalate", "rbac.authorization.k8s.io", "roles", Some("a")),
    ];
    let mut o = opts();
    let g = generate(&reqs, &o);
    assert_eq!(g.namespaces["a"], [rule(&["get"], "", &["pods"], &[])]);
    assert!(g.cluster.is_empty());
    let withheld: Vec<(Power, usize)> = g.withheld.iter().map(|(p, r)| (*p, r.len())).collect();
    assert_eq!(
        withheld,
        [
            (Power::Escalate, 1),
            (Power::Bind, 1),
            (Power::Impersonate, 2),
            (Power::NodesProxy, 1)
        ]
    );
    let text = render(&g, &o);
    let head: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    assert_eq!(
        head,
        [
            "# not granted: escalate (1 request(s)), a power beyond the observed work; grant it only by naming it: --allow-dangerous escalate",
            "#   escalate roles.rbac.authorization.k8s.io in a",
            "# not granted: bind (1 request(s)), a power beyond the observed work; grant it only by naming it: --allow-dangerous bind",
            "#   bind clusterroles.rbac.authorization.k8s.io named cluster-admin cluster-wide",
            "# not granted: impersonate (2 request(s)), a power beyond the observed work; grant it only by naming it: --allow-dangerous impersonate",
            "#   impersonate groups named system:masters cluster-wide",
            "#   impersonate users named admin cluster-wide",
            "# not granted: nodes/proxy (1 request(s)), a power beyond the observed work; grant it only by naming it: --allow-dangerous nodes/proxy",
            "#   get nodes/proxy named ip-10-0-0-1 cluster-wide",
        ]
    );
    let m = model_of(&text);
    for q in &reqs[1..] {
        assert!(m.authorize(q).is_empty(), "{} granted", q.describe());
    }

    o.allow = [Power::Impersonate, Power::NodesProxy].into();
    let g = generate(&reqs, &o);
    assert_eq!(
        g.withheld.keys().copied().collect::<Vec<_>>(),
        [Power::Escalate, Power::Bind]
    );
    assert_eq!(
        g.cluster,
        [
            rule(&["impersonate"], "", &["groups", "users"], &[]),
            rule(&["get"], "", &["nodes/proxy"], &[]),
        ]
    );
    assert_eq!(Power::parse("nodes/proxy"), Some(Power::NodesProxy));
    assert_eq!(Power::parse("nodes"), None);
}
