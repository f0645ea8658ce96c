//! `eksguard node`: the kubelet configuration of a node as the kubelet sees it (file,
//! drop-ins, command-line flags) and the permissions of its files, through the NODE rules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use eksguard_model::node::Entry;
use eksguard_model::{InputError, Inventory, Node, Object, Pos, Source, Value};
use eksguard_report::{Location, SourceCache};
use eksguard_rules::engine::Engine;
use eksguard_rules::suppress::Date;
use eksguard_rules::{registry, Rule};
use eksguard_sources::kubelet::{self, CommandLine, Origin};
use eksguard_sources::rootfs::RootFs;
use eksguard_sources::LoadOptions;

use super::scan::{
    apply_baseline, build_report, emit, engine_config, fail_threshold, load_config, outcome,
};
use crate::cli::NodeArgs;
use crate::Outcome;

pub fn run(mut args: NodeArgs) -> anyhow::Result<Outcome> {
    let Some(cfg) = load_config(&args.check) else {
        return Ok(Outcome::Error);
    };
    // A node is known by its host name, read from the root given.
    let host = std::fs::read_to_string(args.root.join("etc/hostname"))
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h.len() <= 253)
        .unwrap_or_else(|| args.root.display().to_string());
    args.report.aws = crate::cli::AwsReportContext {
        region: args.hub.region.clone(),
        profile: args.hub.profile.clone(),
        endpoint_url: args.hub.endpoint_url.clone(),
        scope: format!("node:{host}"),
    };
    let root = args.root.as_path();
    let node_fs = RootFs::new(root).map_err(|e| anyhow!("--root {}: {e}", root.display()))?;
    // Files named on the command line are paths on this machine.
    let host_fs = RootFs::host();
    let on_node = |p: &str| NodeFile::on_node(&node_fs, p);
    let cmdline = kubelet::running_kubelet(&node_fs).or_else(|| kubelet::systemd_kubelet(&node_fs));
    let flags = cmdline
        .as_ref()
        .map(|c| kubelet::parse_flags(&c.args))
        .unwrap_or_default();
    let flag = |name| kubelet::flag_value(&flags, name);

    let config = match (&args.kubelet_config, flag("config")) {
        (Some(p), _) => NodeFile::on_host(&host_fs, p),
        (None, Some(p)) => on_node(p),
        (None, None) => first_existing(&node_fs, kubelet::CONFIG_PATHS).with_context(|| {
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
    let opts = LoadOptions::default();
    let mut inv = Inventory::default();
    let mut base = match kubelet::read_config_in(config.fs, &config.path, &opts) {
        Ok((obj, _)) => obj,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {}", super::shown(e));
            }
            return Ok(Outcome::Error);
        }
    };
    base.name = config.shown().into();
    inv.files_scanned += 1;

    // The kubelet reads drop-ins only with --config-dir; the AL2023 layout always passes
    // it, so `<config>.d` stands in when no command line was found.
    let drop_in_dir = match flag("config-dir") {
        Some(d) => Some(on_node(d)),
        None if cmdline.is_none() => {
            let d = NodeFile {
                path: PathBuf::from(format!("{}.d", config.path.display())),
                ..config
            };
            Some(d).filter(|d| d.fs.is_dir(&d.path))
        }
        None => None,
    };
    let merged = match &drop_in_dir {
        Some(dir) => kubelet::merge_dir_in(dir.fs, base, &dir.path, &opts),
        None => kubelet::Merged {
            object: base,
            origins: Vec::new(),
            drop_ins: Vec::new(),
            errors: Vec::new(),
        },
    };
    let kubelet::Merged {
        object: mut config_obj,
        mut origins,
        drop_ins,
        errors,
    } = merged;
    inv.errors.extend(errors);
    inv.files_scanned += drop_ins.len();
    if let Some(c) = &cmdline {
        for problem in kubelet::apply_flags(&mut config_obj.root, &flags, &mut origins) {
            inv.errors
                .push(InputError::new(c.source.clone(), None, problem));
        }
    }
    let config_id = inv.push(config_obj);

    let kubeconfig = match (&args.kubeconfig, flag("kubeconfig")) {
        (Some(p), _) => Some(NodeFile::on_host(&host_fs, p)),
        (None, Some(p)) => Some(on_node(p)),
        (None, None) => first_existing(&node_fs, kubelet::KUBECONFIG_PATHS),
    };
    let names = IdNames::read(&node_fs);
    let mut files = vec![(config, "kubelet-config")];
    if let Some(dir) = &drop_in_dir {
        files.extend(drop_ins.iter().map(|d| {
            (
                NodeFile {
                    path: d.clone(),
                    ..*dir
                },
                "kubelet-config-drop-in",
            )
        }));
    }
    files.extend(kubeconfig.map(|k| (k, "kubelet-kubeconfig")));
    for (file, role) in files {
        match node_file(&file, role, &names) {
            Ok(obj) => {
                inv.push(obj);
            }
            Err(e) => inv.errors.push(InputError::new(file.host(), None, e)),
        }
    }

    let rules: Vec<&dyn Rule> = registry::all()
        .iter()
        .copied()
        // The rules that judge what this command gathers: those fed by node data.
        .filter(|r| r.meta().data.is_only(eksguard_model::Data::Node))
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

/// A file `eksguard node` reads: on the node's file system (paths from the node,
/// resolved inside `--root`) or on this machine (paths given on the command line).
struct NodeFile<'a> {
    fs: &'a RootFs,
    path: PathBuf,
    on_node: bool,
}

impl<'a> NodeFile<'a> {
    fn on_node(fs: &'a RootFs, path: &str) -> Self {
        NodeFile {
            fs,
            path: PathBuf::from(path),
            on_node: true,
        }
    }

    fn on_host(fs: &'a RootFs, path: &Path) -> Self {
        NodeFile {
            fs,
            path: path.to_path_buf(),
            on_node: false,
        }
    }

    /// The path as the node names it, or as given on the command line.
    fn shown(&self) -> String {
        if self.on_node {
            Path::new("/").join(&self.path).display().to_string()
        } else {
            self.path.display().to_string()
        }
    }

    /// The path on this machine, for messages.
    fn host(&self) -> String {
        self.fs.host_path(&self.path).display().to_string()
    }
}

/// The first of `paths` present on the node (a dangling link counts: reading it reports it).
fn first_existing<'a>(fs: &'a RootFs, paths: &[&str]) -> Option<NodeFile<'a>> {
    paths
        .iter()
        .find(|p| fs.entry_exists(Path::new(p)))
        .map(|p| NodeFile::on_node(fs, p))
}

/// User and group names from the node's `/etc/passwd` and `/etc/group`.
#[derive(Default)]
struct IdNames {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl IdNames {
    fn read(fs: &RootFs) -> Self {
        let table = |file: &str| -> HashMap<u32, String> {
            fs.read_to_string(Path::new(file))
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
fn node_file(file: &NodeFile<'_>, role: &str, names: &IdNames) -> Result<Object, String> {
    use std::os::unix::fs::MetadataExt;
    // Follow links (inside the root): the kubelet reads the target, and a link's own mode
    // is always 0777.
    let meta = file
        .fs
        .metadata(&file.path)
        .map_err(|e| format!("{role}: cannot stat: {e}{}", file.fs.note()))?
        .meta;
    let shown = file.shown();
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
