//! Hostile strings in every name and value position of every generator: the output must
//! parse back to exactly the documents expected, with the string intact where it is a
//! field value, and no line break or control character anywhere but at line ends.
//!
//! The strings come from a small deterministic generator of pieces that end lines,
//! comments, scalars or documents: every pair of pieces and thousands of pseudo-random
//! concatenations through the writer itself, every piece and hundreds of concatenations
//! through each generator (whose outputs are larger and slower to read back).

use std::collections::BTreeSet;

use eksguard_model::rbac::RequestAttributes;
use eksguard_model::yaml::{parse_documents, ParseLimits};
use eksguard_model::{Node, Object, Source};
use eksguard_policy::rbac_gen::{self, Decision, Options, Power, Target};
use eksguard_policy::seccomp::{localhost_snippet, Arch, Observed};
use eksguard_policy::tenant::{self, Tenant, Toleration};
use eksguard_policy::yaml::{must_escape, Stream, Yaml};
use eksguard_policy::{netpol, pss};
use serde_json::json;

/// What ends a line, a comment, a scalar or a document, starts a YAML construct, or
/// moves a terminal's cursor. (A mapping key of exactly `<<` is left out: the reader
/// these tests parse with takes it as a merge key even when quoted.)
const PIECES: &[&str] = &[
    "\n",
    "\r",
    "\r\n",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "\u{b}",
    "\u{c}",
    "---",
    "...",
    "#",
    "# ",
    ": ",
    ":",
    "- ",
    "-",
    "? ",
    "\"",
    "'",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&anchor",
    "*anchor",
    "!!binary",
    "!",
    "%YAML 1.1",
    "@",
    "`",
    "|",
    ">",
    "\t",
    "\0",
    "\u{1b}[2J\u{1b}]0;title\u{7}",
    "\u{9b}31m",
    "\u{7f}",
    "\u{202e}",
    "\u{2066}",
    "\u{feff}",
    "\u{ffff}",
    "\\",
    "\\n",
    "~",
    "null",
    "true",
    "No",
    "0x1F",
    "1e3",
    " ",
    "é",
    "日本",
    "😀",
    "web",
    "\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: pwned\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n  - kind: Group\n    name: system:authenticated\n",
    "\n...\n%TAG ! tag:x,2000:\n--- !x\n",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `n` concatenations of 1 to 8 pieces drawn from a fixed seed.
fn random_strings(seed: u64, n: usize) -> Vec<String> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let k = 1 + (rng.next() % 8) as usize;
            (0..k)
                .map(|_| PIECES[(rng.next() % PIECES.len() as u64) as usize])
                .collect()
        })
        .collect()
}

/// Every piece alone, `random` concatenations, and a few very long strings.
fn hostile_strings(random: usize) -> Vec<String> {
    let mut out: Vec<String> = PIECES.iter().map(|p| p.to_string()).collect();
    out.extend(random_strings(0x2545_f491_4f6c_dd1d, random));
    out.push("a".repeat(5000));
    out.push("\n".repeat(2000));
    out.push(PIECES.concat().repeat(40));
    out
}

fn object(v: serde_json::Value) -> Object {
    Object::from_node(Node::from_json(&v), Source::Live, "default").expect("an object")
}

/// The documents of a generator's output, after the checks every output must pass.
fn parse(text: &str, what: &str, h: &str) -> Vec<Node> {
    assert!(
        !text.chars().any(|c| c != '\n' && must_escape(c)),
        "{what}: control character in output for {h:?}:\n{text}"
    );
    for line in text.lines() {
        assert!(
            line == "---" || !(line.starts_with("---") || line.starts_with("...")),
            "{what}: stray document marker for {h:?}: {line:?}"
        );
        assert!(
            !line.starts_with('%'),
            "{what}: directive for {h:?}: {line:?}"
        );
    }
    parse_documents(text, true, ParseLimits::default())
        .into_iter()
        .map(|d| match d {
            Ok(d) => d.root,
            Err(e) => panic!("{what}: output for {h:?} does not parse: {e:?}\n{text}"),
        })
        .collect()
}

fn s<'a>(n: &'a Node, path: &str) -> &'a str {
    n.at(path)
        .and_then(Node::as_str)
        .unwrap_or_else(|| panic!("no string at {path} in {n:?}"))
}

fn workload(h: &str) -> Object {
    object(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": h,
            "namespace": h,
            "annotations": {format!("container.apparmor.security.beta.kubernetes.io/{h}"): h},
        },
        "spec": {"template": {
            "metadata": {"labels": {h: h}},
            "spec": {
                "securityContext": {
                    "sysctls": [{"name": h, "value": h}],
                    "seLinuxOptions": {"type": h, "user": h, "role": h},
                    "seccompProfile": {"type": h},
                },
                "volumes": [{"name": h, "hostPath": {"path": h}}, {"name": "tmp", "emptyDir": {}}],
                "containers": [{
                    "name": h,
                    "image": h,
                    "ports": [{"name": h, "containerPort": 8080, "hostPort": 8080}],
                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    "securityContext": {
                        "runAsUser": 1000,
                        "procMount": h,
                        "capabilities": {"add": [h]},
                        "seLinuxOptions": {"type": h, "user": h, "role": h},
                        "appArmorProfile": {"type": h},
                        "windowsOptions": {"hostProcess": false},
                    },
                }],
            },
        }},
    }))
}

fn bare_pod(h: &str) -> Object {
    object(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": h, "namespace": h},
        "spec": {"containers": [{"name": h, "securityContext": {"capabilities": {"add": [h]}}}]},
    }))
}

fn check_pod_security(h: &str) {
    let objects = [
        object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": h}})),
        workload(h),
        bare_pod(h),
    ];
    let expected: BTreeSet<String> = [objects[0].name.to_string()]
        .into_iter()
        .chain(objects[1].ns().map(str::to_string))
        .collect();
    let levels = pss::namespace_levels(&objects);
    let text = pss::render_namespaces(&levels);
    let docs = parse(&text, "pod-security", h);
    assert_eq!(docs.len(), expected.len(), "{h:?}:\n{text}");
    let names: BTreeSet<String> = docs
        .iter()
        .map(|d| {
            assert_eq!(s(d, "kind"), "Namespace");
            assert_eq!(s(d, "apiVersion"), "v1");
            assert_eq!(d.at("metadata.labels").unwrap().entries().len(), 6);
            s(d, "metadata.name").to_string()
        })
        .collect();
    assert_eq!(names, expected, "{h:?}");
    // The same report on standard error.
    for ns in &levels {
        let c = pss::namespace_comment(ns);
        assert!(c.lines().all(|l| l.starts_with('#')), "{c}");
        assert!(parse(&c, "pod-security comment", h)
            .iter()
            .all(Node::is_null));
    }

    let text = pss::render_patches(&objects);
    let docs = parse(&text, "pod-security --patch", h);
    let patched: Vec<&Object> = objects
        .iter()
        .filter(|o| pss::patch_for(o).is_some())
        .collect();
    assert_eq!(patched.len(), 2);
    assert_eq!(docs.len(), 2, "{h:?}:\n{text}");
    for (doc, obj) in docs.iter().zip(&patched) {
        assert_eq!(s(doc, "kind"), &*obj.kind);
        assert_eq!(s(doc, "metadata.name"), h);
        assert_eq!(s(doc, "metadata.namespace"), obj.ns().unwrap());
        let spec = match &*obj.kind {
            "Pod" => doc.get("spec").unwrap(),
            _ => doc.at("spec.template.spec").unwrap(),
        };
        let c = spec.get("containers").unwrap().index(0).unwrap();
        assert_eq!(s(c, "name"), h);
        // The patch keeps the container's adds in the model's spelling of capabilities.
        let cap = h.trim().to_ascii_uppercase();
        let cap = cap.strip_prefix("CAP_").unwrap_or(&cap);
        let adds = c.at("securityContext.capabilities.add").unwrap();
        assert_eq!(adds.index(0).and_then(Node::as_str), Some(cap));
    }
}

fn check_network_policy(h: &str) {
    let objects = [
        workload(h),
        object(json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": h, "namespace": h},
            // A port name no container has: kept by name, and reported in a comment.
            "spec": {"selector": {h: h}, "ports": [{"port": 80, "targetPort": format!("t{h}"), "protocol": h}]},
        })),
        object(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": h, "namespace": h},
            "spec": {"podSelector": {}},
        })),
    ];
    let ns = objects[0].ns().unwrap().to_string();
    let generated = netpol::generate(&objects);
    let text = netpol::render(&generated);
    let docs = parse(&text, "network-policy", h);
    if netpol::SKIPPED_NAMESPACES.contains(&ns.as_str()) {
        assert!(docs.is_empty());
        return;
    }
    assert_eq!(docs.len(), 3, "{h:?}:\n{text}");
    let names: Vec<&str> = docs.iter().map(|d| s(d, "metadata.name")).collect();
    let service_policy = format!("allow-{h}-from-namespace");
    assert_eq!(
        names,
        ["default-deny-all", "allow-dns", service_policy.as_str()]
    );
    for d in &docs {
        assert_eq!(s(d, "kind"), "NetworkPolicy");
        assert_eq!(s(d, "metadata.namespace"), ns);
    }
    let labels = docs[2].at("spec.podSelector.matchLabels").unwrap();
    assert_eq!(labels.entries().len(), 1);
    assert_eq!(labels.get(h).and_then(Node::as_str), Some(h));
    let port = docs[2]
        .at("spec.ingress")
        .and_then(|i| i.index(0))
        .and_then(|r| r.get("ports"))
        .and_then(|p| p.index(0))
        .unwrap_or_else(|| panic!("no port for {h:?}:\n{text}"));
    assert_eq!(s(port, "protocol"), h);
    assert_eq!(s(port, "port"), format!("t{h}"));
}

fn check_tenant(h: &str) {
    let mut t = Tenant::new(h);
    t.groups = vec![h.into()];
    t.users = vec![h.into()];
    t.cpu = h.into();
    t.memory = h.into();
    t.node_selector = vec![(h.into(), h.into())];
    t.tolerations = vec![Toleration {
        key: h.into(),
        value: Some(h.into()),
        effect: "NoSchedule".into(),
    }];
    let text = tenant::render(&[t]);
    let docs = parse(&text, "tenant", h);
    let kinds: Vec<&str> = docs.iter().map(|d| s(d, "kind")).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ResourceQuota",
            "LimitRange",
            "Role",
            "RoleBinding",
            "NetworkPolicy",
            "NetworkPolicy"
        ],
        "{h:?}"
    );
    assert_eq!(s(&docs[0], "metadata.name"), h);
    for d in &docs[1..] {
        assert_eq!(s(d, "metadata.namespace"), h);
    }
    let hard = docs[1].at("spec.hard").unwrap();
    assert_eq!(hard.get("requests.cpu").and_then(Node::as_str), Some(h));
    let subjects = docs[4].get("subjects").unwrap().items();
    assert_eq!(subjects.len(), 2);
    assert!(subjects.iter().all(|x| s(x, "name") == h));
}

fn check_rbac(h: &str) {
    let user = format!("u{h}");
    let req = |verb: &str, resource: &str| {
        let mut q = RequestAttributes::resource(verb, "", resource).by(user.as_str(), &[]);
        q.namespace = Some(h.to_string());
        q.name = Some(h.to_string());
        q
    };
    let mut url = RequestAttributes::non_resource("get", &format!("/x{h}")).by(user.as_str(), &[]);
    url.name = None;
    let requests = [
        (req("get", "pods"), Decision::Allowed),
        (req("update", "configmaps"), Decision::Denied),
        (req("impersonate", "users"), Decision::Allowed),
        (url, Decision::Allowed),
    ];
    let mut opts = Options::new(Target::User(user.clone()));
    opts.resource_names = true;
    opts.include_denied = true;
    opts.name_prefix = h.to_string();
    let g = rbac_gen::generate_from(requests.iter().map(|(r, d)| (r, *d)), &opts);
    assert_eq!(g.withheld[&Power::Impersonate].len(), 1);
    let text = rbac_gen::render(&g, &opts);
    let docs = parse(&text, "audit rbac", h);
    let kinds: Vec<&str> = docs.iter().map(|d| s(d, "kind")).collect();
    assert_eq!(
        kinds,
        ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"],
        "{h:?}:\n{text}"
    );
    for d in &docs {
        assert_eq!(s(d, "metadata.name"), opts.object_name());
        let annotations = d.at("metadata.annotations").unwrap();
        assert_eq!(
            annotations
                .get("eksguard.io/subject")
                .and_then(Node::as_str),
            Some(user.as_str())
        );
    }
    assert_eq!(s(&docs[0], "metadata.namespace"), h);
    assert_eq!(s(&docs[2], "metadata.namespace"), h);
    let rules = docs[0].get("rules").unwrap().items();
    assert_eq!(rules.len(), 2, "{text}");
    for r in rules {
        assert_eq!(
            r.get("resourceNames").unwrap().index(0).unwrap().as_str(),
            Some(h)
        );
    }
    assert!(
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .all(|l| !l.contains("impersonate") && !l.contains("users")),
        "{text}"
    );
    let subject = docs[3].get("subjects").unwrap().index(0).unwrap();
    assert_eq!(s(subject, "name"), user);
}

fn check_seccomp(h: &str) {
    let mut o = Observed::default();
    o.add_trace(h, &format!("{h}\nread(3)\n{h}(1) = 0\n"), &[Arch::X86_64]);
    for w in &o.warnings {
        assert!(!w.chars().any(must_escape), "{w:?}");
    }
    let docs = parse(&localhost_snippet(h), "seccomp snippet", h);
    assert_eq!(docs.len(), 1);
    assert_eq!(
        s(&docs[0], "securityContext.seccompProfile.localhostProfile"),
        format!("profiles/{h}.json")
    );
}

/// The writer every generator uses, with each string as a key, a value, a sequence item,
/// a top-level scalar and a comment at every level: every ordered pair of pieces and
/// thousands of longer strings.
#[test]
fn the_writer_keeps_every_hostile_string_in_its_place() {
    let mut strings: Vec<String> = Vec::new();
    for a in PIECES {
        for b in PIECES {
            strings.push(format!("{a}{b}"));
        }
    }
    strings.extend(random_strings(0x9e37_79b9_7f4a_7c15, 4000));
    strings.extend(hostile_strings(0));
    assert!(strings.len() > 7000);
    for h in &strings {
        let h = h.as_str();
        let mut out = Stream::new();
        out.comment(h);
        out.document(
            &Yaml::map([
                (h, Yaml::str(h)),
                (
                    "list",
                    Yaml::seq([
                        Yaml::str(h).noted(h),
                        Yaml::map([(h, Yaml::str(h).noted(h))]).noted(h),
                    ]),
                ),
                (
                    "nested",
                    Yaml::map([(h, Yaml::seq([Yaml::str(h)]))]).noted(h),
                ),
            ])
            .noted(h),
        );
        out.comment(h);
        out.document(&Yaml::str(h));
        let text = out.finish();
        let docs = parse(&text, "writer", h);
        assert_eq!(docs.len(), 2, "{h:?}:\n{text}");
        let d = &docs[0];
        assert_eq!(d.entries().len(), 3, "{h:?}:\n{text}");
        assert_eq!(d.get(h).and_then(Node::as_str), Some(h));
        let list = d.get("list").unwrap().items();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].as_str(), Some(h));
        assert_eq!(list[1].get(h).and_then(Node::as_str), Some(h));
        let nested = d.get("nested").and_then(|n| n.get(h)).unwrap();
        assert_eq!(nested.index(0).and_then(Node::as_str), Some(h));
        assert_eq!(docs[1].as_str(), Some(h));
    }
}

/// Every generator, with each string in every position an input reaches.
#[test]
fn hostile_strings_never_add_remove_or_alter_generated_documents() {
    let strings = hostile_strings(300);
    for h in &strings {
        check_pod_security(h);
        check_network_policy(h);
        check_tenant(h);
        check_rbac(h);
        check_seccomp(h);
    }
}
