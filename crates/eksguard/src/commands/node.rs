//! `eksguard node`: the kubelet configuration of a node as the kubelet sees it (file,
//! drop-ins, command-line flags) and the permissions of its files, through the NODE rules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use eksguard_model::node::Entry;
use eksguard_model::{InputError, Inventory, Node, Object, Pos, Source, Value};
use eksguard_report::{Location, SourceCache};
use eksguard_rules::engine::Engine;
use eksguard_rules::suppress::Date;
use eksguard_rules::{registry, Rule};
use eksguard_sources::kubelet::{self, under, CommandLine, Origin};
use eksguard_sources::LoadOptions;

use super::scan::{
    apply_baseline, build_report, emit, engine_config, fail_threshold, load_config, outcome,
};
use crate::cli::NodeArgs;
use crate::Outcome;

/// The rules that judge what this command gathers.
const NODE_RULES: &[&str] = &[
    "NODE005", "NODE006", "NODE007", "NODE008", "NODE009", "NODE010", "NODE011", "NODE012",
];

pub fn run(args: NodeArgs) -> anyhow::Result<Outcome> {
    let Some(cfg) = load_config(&args.check) else {
        return Ok(Outcome::Error);
    };
    let root = args.root.as_path();
    if !root.is_dir() {
        bail!("--root {}: not a directory", root.display());
    }
    let cmdline = kubelet::running_kubelet(root).or_else(|| kubelet::systemd_kubelet(root));
    let flags = cmdline
        .as_ref()
        .map(|c| kubelet::parse_flags(&c.args))
        .unwrap_or_default();
    let flag = |name| kubelet::flag_value(&flags, name);

    let config_path = match (&args.kubelet_config, flag("config")) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => under(root, p),
        (None, None) => first_existing(root, kubelet::CONFIG_PATHS).with_context(|| {
            format!(
                "no kubelet configuration found under {} (looked for {}{}); pass --kubelet-config FILE",
                root.display(),
                kubelet::CONFIG_PATHS.join(", "),
                cmdline
                    .as_ref()
                    .map(|c| format!(" and --config in the {}", c.source))
                    .unwrap_or_default()
            )
        })?,
    };
    if !config_path.is_file() {
        bail!(
            "kubelet configuration {} does not exist or is not a file",
            config_path.display()
        );
    }
    let opts = LoadOptions::default();
    let mut inv = Inventory::default();
    let mut base = match kubelet::read_config(&config_path, &opts) {
        Ok(obj) => obj,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            return Ok(Outcome::Error);
        }
    };
    base.name = node_path(root, &config_path).into();
    inv.files_scanned += 1;

    // The kubelet reads drop-ins only with --config-dir; the AL2023 layout always passes
    // it, so `<config>.d` stands in when no command line was found.
    let drop_in_dir = match flag("config-dir") {
        Some(d) => Some(under(root, d)),
        None if cmdline.is_none() => {
            Some(PathBuf::from(format!("{}.d", config_path.display()))).filter(|d| d.is_dir())
        }
        None => None,
    };
    let merged = match &drop_in_dir {
        Some(dir) => kubelet::merge_dir(base, dir, &opts),
        None => kubelet::Merged {
            object: base,
            origins: Vec::new(),
            drop_ins: Vec::new(),
            errors: Vec::new(),
        },
    };
    let kubelet::Merged {
        object: mut config,
        mut origins,
        drop_ins,
        errors,
    } = merged;
    inv.errors.extend(errors);
    inv.files_scanned += drop_ins.len();
    if let Some(c) = &cmdline {
        for problem in kubelet::apply_flags(&mut config.root, &flags, &mut origins) {
            inv.errors
                .push(InputError::new(c.source.clone(), None, problem));
        }
    }
    let config_id = inv.push(config);

    let kubeconfig = match (&args.kubeconfig, flag("kubeconfig")) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(p)) => Some(under(root, p)),
        (None, None) => first_existing(root, kubelet::KUBECONFIG_PATHS),
    };
    let names = IdNames::read(root);
    let mut files = vec![(config_path.clone(), "kubelet-config")];
    files.extend(
        drop_ins
            .iter()
            .map(|d| (d.clone(), "kubelet-config-drop-in")),
    );
    match kubeconfig {
        Some(k) if k.exists() => files.push((k, "kubelet-kubeconfig")),
        Some(k) => inv.errors.push(InputError::new(
            k.display().to_string(),
            None,
            "kubelet kubeconfig does not exist",
        )),
        None => {}
    }
    for (path, role) in files {
        match node_file(root, &path, role, &names) {
            Ok(obj) => {
                inv.push(obj);
            }
            Err(e) => inv
                .errors
                .push(InputError::new(path.display().to_string(), None, e)),
        }
    }

    let rules: Vec<&dyn Rule> = registry::all()
        .iter()
        .copied()
        .filter(|r| NODE_RULES.contains(&r.meta().id))
        .collect();
    // Selection, severities, parameters and suppressions as in `scan`, within the NODE
    // rules this command can feed.
    let mut config = engine_config(&args.check, &cfg);
    config.ignore_inline = args.inline.no_inline_suppressions;
    let engine = Engine::new(&rules, config);
    let result = engine.run(&inv);
    let metas = engine.rules().iter().map(|r| r.meta()).collect();
    let mut report = build_report(&inv, result, metas);
    report.config = Some(cfg.summary(Some(!args.inline.no_inline_suppressions), Date::today()));
    let config_ref = inv.get(config_id).resource();
    relocate(&mut report, &config_ref, &origins, cmdline.as_ref());
    apply_baseline(&args.check, &mut report)?;

    let sources = SourceCache::new();
    emit(&args.report, &report, &sources)?;
    Ok(outcome(
        &report,
        fail_threshold(args.report.fail_on, cfg.fail_on),
    ))
}

/// Points findings on fields that a drop-in or a flag set at that drop-in or flag.
fn relocate(
    report: &mut eksguard_report::Report<'_>,
    config: &eksguard_model::ResourceRef,
    origins: &[Origin],
    cmdline: Option<&CommandLine>,
) {
    let suppressed = report
        .suppressed_findings
        .iter_mut()
        .map(|s| &mut s.finding);
    for f in report
        .findings
        .iter_mut()
        .chain(suppressed)
        .filter(|f| &f.resource == config)
    {
        let path = eksguard_model::FieldPath::parse(&f.field_path);
        let Some(o) = kubelet::origin_of(origins, &path) else {
            continue;
        };
        f.location = o.pos.map(|p| Location {
            file: o.file.clone(),
            line: p.line,
            column: p.col,
        });
        if let (Some(flag), Some(c)) = (&o.flag, cmdline) {
            f.message = format!("{} (set by `{flag}` in the {})", f.message, c.source);
        }
    }
    report.findings.sort_by(|a, b| {
        (&a.location, a.rule.id, &a.field_path).cmp(&(&b.location, b.rule.id, &b.field_path))
    });
}

fn first_existing(root: &Path, paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(|p| under(root, p)).find(|p| p.is_file())
}

/// `path` as seen on the node: without the `--root` prefix.
fn node_path(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) => format!("/{}", rel.display()),
        Err(_) => path.display().to_string(),
    }
}

/// User and group names from the node's `/etc/passwd` and `/etc/group`.
#[derive(Default)]
struct IdNames {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl IdNames {
    fn read(root: &Path) -> Self {
        let table = |file: &str| -> HashMap<u32, String> {
            std::fs::read_to_string(under(root, file))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| {
                    let mut parts = l.split(':');
                    let name = parts.next()?;
                    let id = parts.nth(1)?.parse().ok()?;
                    Some((id, name.to_string()))
                })
                .collect()
        };
        IdNames {
            users: table("/etc/passwd"),
            groups: table("/etc/group"),
        }
    }
}

/// A synthetic `NodeFile` object with the facts NODE012 judges.
fn node_file(root: &Path, path: &Path, role: &str, names: &IdNames) -> Result<Object, String> {
    use std::os::unix::fs::MetadataExt;
    // Follow links: the kubelet reads the target, and a link's own mode is always 0777.
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot stat: {e}"))?;
    let shown = node_path(root, path);
    let s = |v: &str| Node::new(Value::Str(v.into()), Pos::NONE);
    let i = |v: u32| Node::new(Value::Int(v.into()), Pos::NONE);
    let mut spec = vec![
        ("path", s(&shown)),
        ("role", s(role)),
        ("mode", s(&format!("{:04o}", meta.mode() & 0o7777))),
        ("uid", i(meta.uid())),
        ("gid", i(meta.gid())),
    ];
    if let Some(n) = names.users.get(&meta.uid()) {
        spec.push(("owner", s(n)));
    }
    if let Some(n) = names.groups.get(&meta.gid()) {
        spec.push(("group", s(n)));
    }
    let map = |entries: Vec<(&str, Node)>| {
        Node::new(
            Value::Map(
                entries
                    .into_iter()
                    .map(|(k, value)| Entry {
                        key: k.into(),
                        key_pos: Pos::NONE,
                        value,
                    })
                    .collect(),
            ),
            Pos::NONE,
        )
    };
    let root_node = map(vec![
        ("apiVersion", s("node.eksguard.io/v1")),
        ("kind", s("NodeFile")),
        ("metadata", map(vec![("name", s(&shown))])),
        ("spec", map(spec)),
    ]);
    Object::from_node(root_node, Source::Live, "default")
        .map_err(|_| "internal: NodeFile without kind".to_string())
}
