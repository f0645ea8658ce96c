//! The CEL of the generated admission policies, evaluated by a CEL interpreter against
//! every rule fixture: for each workload object and each rule the policies cover, the CEL
//! verdict must equal the rule engine's. Also: every object-local pod rule of the registry
//! is either covered or listed as not expressible, and the lists the CEL carries (the
//! dangerous capabilities, the safe sysctls) agree with the rules on every entry.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cel_interpreter::extractors::This;
use cel_interpreter::objects::{Key, Map};
use cel_interpreter::{Context, Program, Value};
use eksguard_load::files::load_text;
use eksguard_load::LoadOptions;
use eksguard_model::workload::WORKLOAD_KINDS;
use eksguard_model::{Inventory, ObjectId};
use eksguard_policy::admission;
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::registry;
use eksguard_rules::suppress::Date;
use serde_json::Value as Json;

/// The string functions of Kubernetes' CEL environment (cel-go's strings extension) that
/// the expressions use and the interpreter lacks.
fn kubernetes_context<'a>() -> Context<'a> {
    let mut cx = Context::default();
    cx.add_function("trim", |This(s): This<Arc<String>>| s.trim().to_string());
    cx.add_function("upperAscii", |This(s): This<Arc<String>>| {
        s.to_ascii_uppercase()
    });
    cx.add_function("lowerAscii", |This(s): This<Arc<String>>| {
        s.to_ascii_lowercase()
    });
    // Indexes count characters, as cel-go's do; -1 when absent.
    fn char_index(s: &str, byte: Option<usize>) -> i64 {
        byte.map_or(-1, |b| s[..b].chars().count() as i64)
    }
    cx.add_function("indexOf", |This(s): This<Arc<String>>, sub: Arc<String>| {
        char_index(&s, s.find(sub.as_str()))
    });
    cx.add_function(
        "lastIndexOf",
        |This(s): This<Arc<String>>, sub: Arc<String>| char_index(&s, s.rfind(sub.as_str())),
    );
    cx.add_function("substring", |This(s): This<Arc<String>>, start: i64| {
        s.chars().skip(start.max(0) as usize).collect::<String>()
    });
    cx.add_function("split", |This(s): This<Arc<String>>, sep: Arc<String>| {
        Arc::new(
            s.split(sep.as_str())
                .map(|p| Value::String(Arc::new(p.to_string())))
                .collect::<Vec<Value>>(),
        )
    });
    cx.add_function(
        "replace",
        |This(s): This<Arc<String>>, from: Arc<String>, to: Arc<String>| {
            s.replace(from.as_str(), to.as_str())
        },
    );
    cx
}

/// JSON as CEL sees an object the API server decoded: integers are `int`, and null fields
/// are gone (typed decoding drops them).
fn to_cel(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(items) => Value::List(Arc::new(
            items.iter().filter(|i| !i.is_null()).map(to_cel).collect(),
        )),
        Json::Object(m) => {
            let map: HashMap<Key, Value> = m
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (Key::from(k.clone()), to_cel(v)))
                .collect();
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}

struct Compiled {
    variables: Vec<(&'static str, Program)>,
    checks: Vec<(&'static str, Program)>,
}

fn compile() -> Compiled {
    let compile = |what: &str, src: &str| {
        Program::compile(src).unwrap_or_else(|e| panic!("{what}: {e}\n{src}"))
    };
    Compiled {
        variables: admission::variables()
            .into_iter()
            .map(|(n, src)| (n, compile(n, &src)))
            .collect(),
        checks: covered()
            .into_iter()
            .map(|id| (id, compile(id, &admission::check(id).unwrap())))
            .collect(),
    }
}

fn covered() -> Vec<&'static str> {
    registry::all()
        .iter()
        .map(|r| r.meta().id)
        .filter(|id| admission::check(id).is_some())
        .collect()
}

/// The rules each check fails on for one object, as the API server would evaluate them.
fn cel_verdicts(compiled: &Compiled, object: &Json) -> Result<BTreeSet<&'static str>, String> {
    let mut cx = kubernetes_context();
    cx.add_variable_from_value("object", to_cel(object));
    let mut vars: HashMap<Key, Value> = HashMap::new();
    for (name, program) in &compiled.variables {
        let v = program
            .execute(&cx)
            .map_err(|e| format!("variable {name}: {e}"))?;
        vars.insert(Key::from(name.to_string()), v);
        cx.add_variable_from_value(
            "variables",
            Value::Map(Map {
                map: Arc::new(vars.clone()),
            }),
        );
    }
    let mut fails = BTreeSet::new();
    for (id, program) in &compiled.checks {
        match program.execute(&cx) {
            Ok(Value::Bool(true)) => {}
            Ok(Value::Bool(false)) => {
                fails.insert(*id);
            }
            other => return Err(format!("{id}: {other:?}")),
        }
    }
    Ok(fails)
}

/// The rules that fire on each object, suppressed findings included (the policies do not
/// read suppression annotations).
fn engine_verdicts(inv: &Inventory) -> BTreeMap<ObjectId, BTreeSet<&'static str>> {
    let config = EngineConfig {
        select: covered().iter().map(|s| s.to_string()).collect(),
        today: Some(Date(2026, 1, 1)),
        ..EngineConfig::default()
    };
    let result = Engine::new(registry::all(), config).run(inv);
    let mut out: BTreeMap<ObjectId, BTreeSet<&'static str>> = BTreeMap::new();
    for f in result
        .findings
        .iter()
        .chain(result.suppressed.iter().map(|s| &s.finding))
    {
        out.entry(f.object).or_default().insert(f.rule.id);
    }
    out
}

fn fixture_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../eksguard-rules/fixtures");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            ) && !p.to_string_lossy().ends_with(".params.json")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Compares CEL with the engine on every matched workload object of `inv`; returns the
/// number of objects compared and appends disagreements to `errors`.
fn compare(compiled: &Compiled, name: &str, inv: &Inventory, errors: &mut Vec<String>) -> usize {
    let engine = engine_verdicts(inv);
    let mut compared = 0;
    for obj in &inv.objects {
        // Objects without a pod spec never reach admission policies: API validation,
        // which runs first, refuses them.
        if !admission::matches_kind(&obj.kind) || obj.pod_spec().is_none() {
            continue;
        }
        // A scan reports an object its owner in the same input stands for (a ReplicaSet
        // of a Deployment) through the owner alone; at admission both are judged.
        if owned_in(inv, &obj.root.to_json()) {
            continue;
        }
        compared += 1;
        let want = engine.get(&obj.id).cloned().unwrap_or_default();
        match cel_verdicts(compiled, &obj.root.to_json()) {
            Ok(got) if got == want => {}
            Ok(got) => errors.push(format!(
                "{name}: {}: CEL fails {got:?}, the rules fire {want:?}",
                obj.display_name()
            )),
            Err(e) => errors.push(format!("{name}: {}: {e}", obj.display_name())),
        }
    }
    compared
}

/// Whether `obj` names, in `ownerReferences`, an owner that `inv` holds.
fn owned_in(inv: &Inventory, obj: &serde_json::Value) -> bool {
    let owners = obj["metadata"]["ownerReferences"].as_array();
    owners.into_iter().flatten().any(|o| {
        inv.objects
            .iter()
            .any(|x| Some(&*x.kind) == o["kind"].as_str() && Some(&*x.name) == o["name"].as_str())
    })
}

#[test]
fn cel_verdicts_equal_the_rules_on_every_fixture() {
    let compiled = compile();
    assert!(compiled.checks.len() >= 15, "{}", compiled.checks.len());
    let mut errors = Vec::new();
    let mut compared = 0;
    let mut fired: BTreeSet<&str> = BTreeSet::new();
    for file in fixture_files() {
        let name = file.display().to_string();
        let text = std::fs::read(&file).unwrap();
        let inv = load_text(&name, &text, &LoadOptions::default());
        for ids in engine_verdicts(&inv).values() {
            fired.extend(ids);
        }
        compared += compare(&compiled, &name, &inv, &mut errors);
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(compared > 100, "only {compared} objects compared");
    // Each covered rule fired somewhere, so each expression was seen failing too.
    let missing: Vec<_> = covered()
        .into_iter()
        .filter(|id| !fired.contains(id))
        .collect();
    assert!(missing.is_empty(), "never fired on a fixture: {missing:?}");
}

/// Each entry of the lists the CEL repeats, tried one by one, and some that are not in
/// them: a capability or sysctl added to a rule but not to its CEL fails here; and image
/// references of every shape the image rules parse.
#[test]
fn cel_lists_agree_with_the_rules_entry_by_entry() {
    const CAPABILITIES: &[&str] = &[
        "AUDIT_CONTROL",
        "AUDIT_READ",
        "AUDIT_WRITE",
        "BLOCK_SUSPEND",
        "BPF",
        "CHECKPOINT_RESTORE",
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "IPC_LOCK",
        "IPC_OWNER",
        "KILL",
        "LEASE",
        "LINUX_IMMUTABLE",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
        "MKNOD",
        "NET_ADMIN",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_RAW",
        "PERFMON",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYSLOG",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_CHROOT",
        "SYS_MODULE",
        "SYS_NICE",
        "SYS_PACCT",
        "SYS_PTRACE",
        "SYS_RAWIO",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "WAKE_ALARM",
        "ALL",
        "cap_sys_admin",
        " net_raw ",
    ];
    const SYSCTLS: &[&str] = &[
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
        "net/ipv4/tcp_wmem",
        "kernel.msgmax",
        "net.core.somaxconn",
        "vm.swappiness",
        "kernel.shm_rmid_forced.x",
    ];
    const IMAGES: &[&str] = &[
        "nginx",
        "nginx:latest",
        "nginx:LATEST",
        "nginx:1.27",
        "nginx:",
        " nginx:1.27 ",
        "localhost:5000/app",
        "localhost:5000/app:v1",
        "localhost:5000",
        "registry:5000/team/app@sha256:abc",
        "app@",
        "app:@sha256:abc",
        "app:latest@sha256:abc",
        "docker.io/library/busybox:",
        "a/b:c/d",
        "jtblin/kube2iam:0.11.2",
        "quay.io/uswitch/kiam:v4.2",
        "localhost:5000/kiam@sha256:abc",
        "kiam",
        "registry:5000/team/kiam-exporter",
        "",
    ];
    let mut text = String::new();
    for (i, image) in IMAGES.iter().enumerate() {
        text.push_str(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: image{i}}}\nspec:\n  containers:\n  - name: c\n    image: \"{image}\"\n---\n"
        ));
    }
    for (i, cap) in CAPABILITIES.iter().enumerate() {
        text.push_str(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: cap{i}}}\nspec:\n  containers:\n  - name: c\n    image: x\n    securityContext:\n      capabilities:\n        add: [\"{cap}\"]\n        drop: [\"{cap}\"]\n---\n"
        ));
    }
    for (i, sysctl) in SYSCTLS.iter().enumerate() {
        text.push_str(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: sysctl{i}}}\nspec:\n  securityContext:\n    sysctls:\n    - {{name: \"{sysctl}\", value: \"1\"}}\n  containers:\n  - name: c\n    image: x\n---\n"
        ));
    }
    let inv = load_text("lists.yaml", text.as_bytes(), &LoadOptions::default());
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let mut errors = Vec::new();
    let compared = compare(&compile(), "lists.yaml", &inv, &mut errors);
    assert_eq!(compared, IMAGES.len() + CAPABILITIES.len() + SYSCTLS.len());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// Every rule that judges pod specs alone has a CEL form or a stated reason for none, and
/// no entry names a rule that is gone or that needs other objects.
#[test]
fn every_object_local_pod_rule_is_covered_or_explained() {
    let mut problems = Vec::new();
    for rule in registry::all() {
        let m = rule.meta();
        // Kubelet configurations are node files an admission request never carries: a rule
        // reading them judges the object alone at admission.
        let pod_local = m.kinds().iter().any(|k| WORKLOAD_KINDS.contains(k))
            && m.reads.iter().all(|k| *k == "KubeletConfiguration");
        let cel = admission::check(m.id).is_some();
        let explained = admission::NOT_EXPRESSED.iter().any(|(id, _)| *id == m.id);
        match (pod_local, cel, explained) {
            (true, true, false) | (true, false, true) | (false, false, false) => {}
            _ => problems.push(format!(
                "{}: object-local pod rule {pod_local}, CEL {cel}, listed as not expressed {explained}",
                m.id
            )),
        }
    }
    for (id, _) in admission::NOT_EXPRESSED {
        if registry::find(id).is_none() {
            problems.push(format!("{id}: listed as not expressed but not a rule"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
