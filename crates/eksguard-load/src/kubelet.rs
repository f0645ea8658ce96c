//! The kubelet's configuration as the kubelet itself assembles it: the config file, the
//! `--config-dir` drop-ins merged over it, then the command-line flags over both.
//!
//! Drop-ins are the `*.conf` files of the directory, taken in lexical order of a
//! recursive walk (Go's `filepath.WalkDir`), each applied to the result so far as a JSON
//! merge patch (RFC 7386): mappings merge key by key, any other value (lists included)
//! replaces, and `null` removes the key. Values from drop-ins keep no position, because
//! a merged object has one file (the base): a location then falls back to the same field
//! in the base when the base sets it, else to its nearest ancestor there. [`Origin`]s
//! say which drop-in or flag set what, for callers that can point into those files
//! (`eksguard node` does; `eksguard scan` reports against the base file).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use eksguard_model::node::Entry;
use eksguard_model::{FieldPath, InputError, Node, Object, Pos, Value};

use crate::files::{load_file, load_text, LoadOptions};
use crate::read::display;
use crate::rootfs::{Resolved, RootFs};

/// Kubelet config files of the EKS AMIs and kubeadm, in the order kube-bench tries them.
pub const CONFIG_PATHS: &[&str] = &[
    // Amazon Linux 2 (bootstrap.sh)
    "/etc/kubernetes/kubelet/kubelet-config.json",
    // Amazon Linux 2023 (nodeadm), drop-ins in config.json.d/
    "/etc/kubernetes/kubelet/config.json",
    // Bottlerocket
    "/etc/kubernetes/kubelet/config",
    // kubeadm and most other distributions
    "/var/lib/kubelet/config.yaml",
];

/// Kubelet kubeconfigs: AL2 and AL2023, then Bottlerocket.
pub const KUBECONFIG_PATHS: &[&str] = &[
    "/var/lib/kubelet/kubeconfig",
    "/etc/kubernetes/kubelet/kubeconfig",
];

/// Where a field of a merged configuration was set, when not by the base file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The field, or the whole value set there (a list or scalar).
    pub path: FieldPath,
    /// The drop-in, unit or environment file, or `/proc/PID/cmdline`.
    pub file: String,
    /// The position in `file`; `None` for a process command line.
    pub pos: Option<Pos>,
    /// The flag as written, when a command-line flag set the field.
    pub flag: Option<String>,
}

/// The latest origin of `path`: the one that set it or a value enclosing it.
pub fn origin_of<'a>(origins: &'a [Origin], path: &FieldPath) -> Option<&'a Origin> {
    origins
        .iter()
        .rev()
        .find(|o| path.segs().starts_with(o.path.segs()))
}

/// True for the kubelet's own configuration kind (other tools reuse the name).
pub fn is_kubelet_config(obj: &Object) -> bool {
    &*obj.kind == "KubeletConfiguration" && obj.api_version.starts_with("kubelet.config.k8s.io/")
}

/// Applies one drop-in to `base` as a JSON merge patch, recording the fields it set.
pub fn merge_patch(base: &mut Node, patch: &Node, file: &str, origins: &mut Vec<Origin>) {
    merge_at(base, patch, &mut FieldPath::root(), file, origins);
}

fn merge_at(
    base: &mut Node,
    patch: &Node,
    at: &mut FieldPath,
    file: &str,
    origins: &mut Vec<Origin>,
) {
    let Value::Map(patch_entries) = &patch.value else {
        *base = unpositioned(patch);
        return;
    };
    if !base.is_map() {
        *base = Node::new(Value::Map(Vec::new()), Pos::NONE);
    }
    let Value::Map(entries) = &mut base.value else {
        return;
    };
    for pe in patch_entries {
        // Type metadata names the drop-in, not a setting.
        if at.is_root() && matches!(&*pe.key, "apiVersion" | "kind") {
            continue;
        }
        let idx = entries.iter().position(|e| e.key == pe.key);
        if pe.value.is_null() {
            if let Some(i) = idx {
                entries.remove(i);
            }
            continue;
        }
        at.push_key(&pe.key);
        match idx {
            Some(i) if pe.value.is_map() => {
                merge_at(&mut entries[i].value, &pe.value, at, file, origins)
            }
            _ => {
                let mut value = Node::new(Value::Null, Pos::NONE);
                merge_at(&mut value, &pe.value, at, file, origins);
                match idx {
                    Some(i) => entries[i].value = value,
                    None => entries.push(Entry {
                        key: pe.key.clone(),
                        key_pos: Pos::NONE,
                        value,
                    }),
                }
            }
        }
        if !pe.value.is_map() {
            origins.push(Origin {
                path: at.clone(),
                file: file.to_string(),
                pos: Some(pe.key_pos).filter(|p| p.is_known()),
                flag: None,
            });
        }
        pop(at);
    }
}

fn pop(p: &mut FieldPath) {
    let segs = p.segs();
    let mut q = FieldPath::root();
    for s in &segs[..segs.len().saturating_sub(1)] {
        match s {
            eksguard_model::Seg::Key(k) => q.push_key(k),
            eksguard_model::Seg::Index(i) => q.push_index(*i),
        }
    }
    *p = q;
}

/// A copy of `n` without positions, so it cannot point at lines of another file.
fn unpositioned(n: &Node) -> Node {
    let value = match &n.value {
        Value::Seq(items) => Value::Seq(items.iter().map(unpositioned).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|e| Entry {
                    key: e.key.clone(),
                    key_pos: Pos::NONE,
                    value: unpositioned(&e.value),
                })
                .collect(),
        ),
        other => other.clone(),
    };
    Node::new(value, Pos::NONE)
}

/// The drop-in files the kubelet reads from `dir`: `*.conf`, in lexical walk order,
/// subdirectories included.
pub fn drop_in_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk_conf(dir, &mut out, 0);
    out
}

fn walk_conf(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if depth < 16 {
                walk_conf(&p, out, depth + 1);
            }
        } else if p.extension().is_some_and(|x| x == "conf") {
            out.push(p);
        }
    }
}

/// The first kubelet configuration document of a file.
pub fn read_config(path: &Path, opts: &LoadOptions) -> Result<Object, Vec<InputError>> {
    let (objects, errors) = load_file(path, opts);
    first_config(&display(path), objects, errors)
}

/// The first kubelet configuration document of a file of a node's file system; objects
/// and errors name the file the path resolved to there, so that locations point into it.
pub fn read_config_in(
    fs: &RootFs,
    path: &Path,
    opts: &LoadOptions,
) -> Result<(Object, Resolved), Vec<InputError>> {
    let (resolved, bytes) = fs.read(path).map_err(|e| {
        vec![InputError::new(
            display(&fs.host_path(path)),
            None,
            format!("cannot read: {e}{}", fs.note()),
        )]
    })?;
    let inv = load_text(&display(&resolved.host), &bytes, opts);
    let objects = inv.objects.into_iter().map(std::sync::Arc::unwrap_or_clone);
    first_config(&display(&resolved.host), objects.collect(), inv.errors).map(|o| (o, resolved))
}

fn first_config(
    name: &str,
    objects: Vec<Object>,
    mut errors: Vec<InputError>,
) -> Result<Object, Vec<InputError>> {
    if let Some(obj) = objects.into_iter().find(is_kubelet_config) {
        return Ok(obj);
    }
    if errors.is_empty() {
        errors.push(InputError::new(
            name,
            None,
            "no KubeletConfiguration (apiVersion kubelet.config.k8s.io/v1beta1) in this file",
        ));
    }
    Err(errors)
}

/// The effective configuration of a base file and its drop-ins.
#[derive(Debug)]
pub struct Merged {
    pub object: Object,
    pub origins: Vec<Origin>,
    /// The drop-in files merged, in order.
    pub drop_ins: Vec<PathBuf>,
    /// Drop-ins that could not be read; the kubelet would refuse to start on them.
    pub errors: Vec<InputError>,
}

/// The drop-in files of `dir` on a node's file system, as [`drop_in_files`] finds them,
/// every entry resolved under the root.
pub fn drop_in_files_in(fs: &RootFs, dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk_conf_in(fs, dir, &mut out, 0);
    out
}

fn walk_conf_in(fs: &RootFs, dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok((_, names)) = fs.read_dir(dir) else {
        return;
    };
    for name in names {
        let p = dir.join(&name);
        match fs.resolve(&p) {
            Ok(r) if r.meta.is_dir() && depth < 16 => walk_conf_in(fs, &p, out, depth + 1),
            Ok(r) if r.meta.is_dir() => {}
            // A `.conf` that cannot be resolved is still the kubelet's: reported on read.
            _ if p.extension().is_some_and(|x| x == "conf") => out.push(p),
            _ => {}
        }
    }
}

/// Merges the drop-ins of `dir` on a node's file system into `base`; `drop_ins` are the
/// paths on that file system they resolved to, origins name the files on this machine.
pub fn merge_dir_in(fs: &RootFs, base: Object, dir: &Path, opts: &LoadOptions) -> Merged {
    let mut merged = Merged {
        object: base,
        origins: Vec::new(),
        drop_ins: Vec::new(),
        errors: Vec::new(),
    };
    for file in drop_in_files_in(fs, dir) {
        match read_config_in(fs, &file, opts) {
            Ok((d, resolved)) => {
                let name = display(&resolved.host);
                merge_patch(&mut merged.object.root, &d.root, &name, &mut merged.origins);
                merged.drop_ins.push(resolved.node);
            }
            Err(errs) => merged.errors.extend(errs),
        }
    }
    merged
}

/// Merges the drop-ins of `dir` into `base`.
pub fn merge_dir(base: Object, dir: &Path, opts: &LoadOptions) -> Merged {
    let mut merged = Merged {
        object: base,
        origins: Vec::new(),
        drop_ins: Vec::new(),
        errors: Vec::new(),
    };
    for file in drop_in_files(dir) {
        match read_config(&file, opts) {
            Ok(d) => {
                let name = display(&file);
                merge_patch(&mut merged.object.root, &d.root, &name, &mut merged.origins);
                merged.drop_ins.push(file);
            }
            Err(errs) => merged.errors.extend(errs),
        }
    }
    merged
}

/// Gives a kubelet configuration without `metadata.name` its file as name, so reports
/// can tell configurations apart.
fn name_after_file(obj: &mut Object) {
    if obj.name.is_empty() {
        if let Some(f) = obj.file() {
            obj.name = f.into();
        }
    }
}

/// In a scan: merges the drop-ins of each scanned kubelet configuration `<name>` found in
/// `<name>.d/` (read from disk, as the walk skips `*.conf`), and drops those drop-ins
/// from the objects if they were scanned too. Returns the number of files read.
pub fn merge_scanned(
    objects: &mut Vec<Object>,
    errors: &mut Vec<InputError>,
    opts: &LoadOptions,
) -> usize {
    let mut merged_files: Vec<String> = Vec::new();
    for obj in objects.iter_mut().filter(|o| is_kubelet_config(o)) {
        name_after_file(obj);
        let Some(file) = obj.file() else { continue };
        let dir = PathBuf::from(format!("{file}.d"));
        if file == "-" || !dir.is_dir() {
            continue;
        }
        let m = merge_dir(obj.clone(), &dir, opts);
        *obj = m.object;
        errors.extend(m.errors);
        merged_files.extend(m.drop_ins.iter().map(|p| display(p)));
    }
    objects.retain(|o| {
        !o.file()
            .is_some_and(|f| merged_files.iter().any(|m| m == f))
    });
    merged_files.len()
}

/// One word of a kubelet command line with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub text: String,
    pub file: String,
    /// Line in `file`; `None` for `/proc/PID/cmdline`.
    pub line: Option<u32>,
}

/// A kubelet command line: from the running process or from its systemd unit.
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    /// Arguments after the program name.
    pub args: Vec<Arg>,
    /// What it was read from, for messages.
    pub source: String,
}

/// One flag as the kubelet's flag parser sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    /// `None` for a boolean flag given bare (`--anonymous-auth`).
    pub value: Option<String>,
    pub arg: Arg,
}

const BOOL_FLAGS: &[&str] = &[
    "anonymous-auth",
    "make-iptables-util-chains",
    "rotate-certificates",
    "rotate-server-certificates",
    "fail-swap-on",
    "register-node",
    "protect-kernel-defaults",
    "serialize-image-pulls",
];

/// Splits arguments into flags the way pflag does: `--name=value`, `--name value` for
/// flags that take a value, and bare booleans. Arguments that are not flags are skipped.
pub fn parse_flags(args: &[Arg]) -> Vec<Flag> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a.text == "--" {
            break;
        }
        let Some(body) = a
            .text
            .strip_prefix("--")
            .or_else(|| a.text.strip_prefix('-'))
        else {
            continue;
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None if BOOL_FLAGS.contains(&body) => (body.to_string(), None),
            // Unknown flags without `=` take the next word unless it is another flag.
            None => match args.get(i) {
                Some(next) if !next.text.starts_with('-') => {
                    i += 1;
                    (body.to_string(), Some(next.text.clone()))
                }
                _ => (body.to_string(), None),
            },
        };
        out.push(Flag {
            name,
            value,
            arg: a.clone(),
        });
    }
    out
}

/// The last value of a flag (pflag keeps the last).
pub fn flag_value<'a>(flags: &'a [Flag], name: &str) -> Option<&'a str> {
    flags
        .iter()
        .rev()
        .find(|f| f.name == name)
        .and_then(|f| f.value.as_deref())
}

/// Sets the configuration fields that command-line flags override (flags win over the
/// file and the drop-ins). Returns problems with flag values.
pub fn apply_flags(root: &mut Node, flags: &[Flag], origins: &mut Vec<Origin>) -> Vec<String> {
    let mut problems = Vec::new();
    for f in flags {
        let raw = f.value.as_deref();
        let mut set = |path: &str, value: Value| {
            let fp = FieldPath::parse(path);
            set_path(root, &fp, Node::new(value, Pos::NONE));
            origins.push(Origin {
                path: fp,
                file: f.arg.file.clone(),
                pos: f.arg.line.map(|l| Pos::new(l, 1)),
                flag: Some(f.arg.text.clone()),
            });
        };
        let as_bool = |v: Option<&str>| match v.map(str::trim) {
            None | Some("true") | Some("True") | Some("1") | Some("t") | Some("T") => Some(true),
            Some("false") | Some("False") | Some("0") | Some("f") | Some("F") => Some(false),
            _ => None,
        };
        let field = match f.name.as_str() {
            "anonymous-auth" => Some(("authentication.anonymous.enabled", true)),
            "make-iptables-util-chains" => Some(("makeIPTablesUtilChains", true)),
            "rotate-certificates" => Some(("rotateCertificates", true)),
            "rotate-server-certificates" => Some(("serverTLSBootstrap", true)),
            "authorization-mode" => Some(("authorization.mode", false)),
            "client-ca-file" => Some(("authentication.x509.clientCAFile", false)),
            "streaming-connection-idle-timeout" => Some(("streamingConnectionIdleTimeout", false)),
            "read-only-port" => {
                match raw.and_then(|v| v.trim().parse::<i64>().ok()) {
                    Some(p) => set("readOnlyPort", Value::Int(p)),
                    None => problems.push(format!("{}: not a port number", f.arg.text)),
                }
                None
            }
            "feature-gates" => {
                for pair in raw
                    .unwrap_or("")
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    match as_bool(Some(v)) {
                        Some(b) => set(&format!("featureGates[\"{}\"]", k.trim()), Value::Bool(b)),
                        None => problems.push(format!("{}: bad feature gate `{pair}`", f.arg.text)),
                    }
                }
                None
            }
            _ => None,
        };
        match field {
            Some((path, true)) => match as_bool(raw) {
                Some(b) => set(path, Value::Bool(b)),
                None => problems.push(format!("{}: not a boolean", f.arg.text)),
            },
            Some((path, false)) => set(path, Value::Str(raw.unwrap_or("").into())),
            None => {}
        }
    }
    problems
}

/// Sets `path` (keys only) in a mapping tree, creating mappings on the way.
fn set_path(root: &mut Node, path: &FieldPath, value: Node) {
    let mut node = root;
    for seg in path.segs() {
        let eksguard_model::Seg::Key(k) = seg else {
            return;
        };
        if !node.is_map() {
            *node = Node::new(Value::Map(Vec::new()), Pos::NONE);
        }
        let Value::Map(entries) = &mut node.value else {
            return;
        };
        let i = match entries.iter().position(|e| e.key == *k) {
            Some(i) => i,
            None => {
                entries.push(Entry {
                    key: k.clone(),
                    key_pos: Pos::NONE,
                    value: Node::new(Value::Null, Pos::NONE),
                });
                entries.len() - 1
            }
        };
        node = &mut entries[i].value;
    }
    *node = value;
}

/// The command line of the running kubelet: the first process (by PID) under `/proc` of
/// the node whose program name ends in `kubelet`.
pub fn running_kubelet(fs: &RootFs) -> Option<CommandLine> {
    let (_, names) = fs.read_dir(Path::new("/proc")).ok()?;
    let mut pids: Vec<u64> = names
        .iter()
        .filter_map(|n| n.to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let file = format!("/proc/{pid}/cmdline");
        let Ok((_, bytes)) = fs.read(Path::new(&file)) else {
            continue;
        };
        let mut words = bytes
            .split(|&b| b == 0)
            .map(|w| String::from_utf8_lossy(w).into_owned());
        let Some(argv0) = words.next() else { continue };
        let prog = argv0.rsplit('/').next().unwrap_or("");
        if !prog.ends_with("kubelet") {
            continue;
        }
        let args = words
            .filter(|w| !w.is_empty())
            .map(|text| Arg {
                text,
                file: file.clone(),
                line: None,
            })
            .collect();
        return Some(CommandLine {
            args,
            source: format!("running kubelet (PID {pid})"),
        });
    }
    None
}

/// systemd's unit directories, highest precedence first.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The kubelet command line from `kubelet.service` and its drop-ins, with `Environment=`
/// and `EnvironmentFile=` variables expanded as systemd expands them in `ExecStart=`.
pub fn systemd_kubelet(fs: &RootFs) -> Option<CommandLine> {
    let unit = UNIT_DIRS
        .iter()
        .map(|d| format!("{d}/kubelet.service"))
        .find(|p| fs.is_file(Path::new(p)))?;
    // Drop-ins by file name; a name in a higher-precedence directory hides the others.
    let mut drop_ins: BTreeMap<String, String> = BTreeMap::new();
    for d in UNIT_DIRS.iter().rev() {
        let dir = format!("{d}/kubelet.service.d");
        let Ok((_, names)) = fs.read_dir(Path::new(&dir)) else {
            continue;
        };
        for name in names {
            let name = name.to_string_lossy().into_owned();
            if name.ends_with(".conf") {
                drop_ins.insert(name.clone(), format!("{dir}/{name}"));
            }
        }
    }
    let mut exec: Option<(String, String, u32)> = None;
    let mut env: BTreeMap<String, (String, String, u32)> = BTreeMap::new();
    let mut env_files: Vec<(String, bool)> = Vec::new();
    for file in std::iter::once(unit.clone()).chain(drop_ins.into_values()) {
        let Ok(text) = fs.read_to_string(Path::new(&file)) else {
            continue;
        };
        for (line, key, value) in unit_entries(&text) {
            match key.as_str() {
                "ExecStart" if value.trim().is_empty() => exec = None,
                "ExecStart" => exec = Some((value, file.clone(), line)),
                "Environment" if value.trim().is_empty() => env.clear(),
                "Environment" => {
                    for word in split_words(&value) {
                        if let Some((k, v)) = word.split_once('=') {
                            env.insert(k.to_string(), (v.to_string(), file.clone(), line));
                        }
                    }
                }
                "EnvironmentFile" if value.trim().is_empty() => env_files.clear(),
                "EnvironmentFile" => {
                    let v = value.trim();
                    let (optional, p) = match v.strip_prefix('-') {
                        Some(p) => (true, p),
                        None => (false, v),
                    };
                    env_files.push((p.to_string(), optional));
                }
                _ => {}
            }
        }
    }
    // Variables from environment files override `Environment=`, as in systemd.
    for (path, _optional) in &env_files {
        let Ok(text) = fs.read_to_string(Path::new(path)) else {
            continue;
        };
        for (i, raw) in text.lines().enumerate() {
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
                continue;
            }
            let l = l.strip_prefix("export ").unwrap_or(l);
            if let Some((k, v)) = l.split_once('=') {
                env.insert(
                    k.trim().to_string(),
                    (unquote(v.trim()), path.clone(), i as u32 + 1),
                );
            }
        }
    }
    let (cmd, file, line) = exec?;
    let cmd = cmd.trim_start_matches(['-', '@', ':', '+', '!']);
    let mut args = Vec::new();
    for word in split_words(cmd) {
        let var = word
            .strip_prefix('$')
            .filter(|v| !v.starts_with('{') && v.chars().all(|c| c.is_alphanumeric() || c == '_'));
        if let Some(var) = var {
            // A lone `$VAR` splits into words; `${VAR}` stays one word.
            if let Some((v, vf, vl)) = env.get(var) {
                for w in v.split_whitespace() {
                    args.push(Arg {
                        text: w.to_string(),
                        file: vf.clone(),
                        line: Some(*vl),
                    });
                }
            }
            continue;
        }
        args.push(Arg {
            text: expand(&word, &env),
            file: file.clone(),
            line: Some(line),
        });
    }
    if args.is_empty() {
        return None;
    }
    args.remove(0);
    Some(CommandLine {
        args,
        source: format!("systemd unit {unit}"),
    })
}

/// `Key=value` lines of a unit's `[Service]` section with their line numbers, with
/// backslash continuations joined.
fn unit_entries(text: &str) -> Vec<(u32, String, String)> {
    let mut out = Vec::new();
    let mut in_service = false;
    let mut pending: Option<(u32, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut acc) = match pending.take() {
            Some((s, a)) => (s, a + " "),
            None => {
                let l = raw.trim();
                if l.starts_with('#') || l.starts_with(';') {
                    continue;
                }
                (i as u32 + 1, String::new())
            }
        };
        let l = raw.trim();
        if let Some(body) = l.strip_suffix('\\') {
            acc.push_str(body.trim());
            pending = Some((start, acc));
            continue;
        }
        acc.push_str(l);
        if acc.starts_with('[') {
            in_service = acc == "[Service]";
            continue;
        }
        if in_service {
            if let Some((k, v)) = acc.split_once('=') {
                out.push((start, k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    out
}

/// Splits on whitespace, honouring single and double quotes.
fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut has = false;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                has = true;
            }
            None if c.is_whitespace() => {
                if has || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                has = false;
            }
            None => cur.push(c),
        }
    }
    if has || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    v.to_string()
}

/// Expands `${VAR}` and `$VAR` inside one word.
fn expand(word: &str, env: &BTreeMap<String, (String, String, u32)>) -> String {
    let mut out = String::new();
    let mut rest = word;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = if let Some(b) = after.strip_prefix('{') {
            match b.find('}') {
                Some(end) => (&b[..end], &b[end + 1..]),
                None => ("", after),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.is_empty() {
            out.push('$');
        } else if let Some((v, _, _)) = env.get(name) {
            out.push_str(v);
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::yaml::{parse_documents, ParseLimits};

    fn parse(text: &str) -> Node {
        parse_documents(text, false, ParseLimits::default())
            .remove(0)
            .unwrap()
            .root
    }

    #[test]
    fn merge_patch_merges_maps_replaces_lists_and_deletes_nulls() {
        let mut base = parse(
            r#"{"authorization": {"mode": "Webhook", "webhook": {"x": 1}}, "clusterDNS": ["a", "b"], "readOnlyPort": 0, "featureGates": {"A": true}}"#,
        );
        let patch = parse(
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthorization:\n  mode: AlwaysAllow\nclusterDNS: [c]\nreadOnlyPort: null\nfeatureGates:\n  B: false\n",
        );
        let mut origins = Vec::new();
        merge_patch(&mut base, &patch, "d/10.conf", &mut origins);
        let j = base.to_json();
        assert_eq!(j["authorization"]["mode"], "AlwaysAllow");
        assert_eq!(j["authorization"]["webhook"]["x"], 1);
        assert_eq!(j["clusterDNS"], serde_json::json!(["c"]));
        assert!(j.get("readOnlyPort").is_none());
        assert_eq!(
            j["featureGates"],
            serde_json::json!({"A": true, "B": false})
        );
        assert!(j.get("kind").is_none());
        let o = origin_of(&origins, &FieldPath::parse("authorization.mode")).unwrap();
        assert_eq!(
            (o.file.as_str(), o.pos),
            ("d/10.conf", Some(Pos::new(4, 3)))
        );
        assert!(origin_of(&origins, &FieldPath::parse("clusterDNS[0]")).is_some());
        assert!(origin_of(&origins, &FieldPath::parse("authorization.webhook.x")).is_none());
        // Merged values carry no position of the drop-in.
        assert_eq!(
            base.get("authorization").unwrap().get("mode").unwrap().pos,
            Pos::NONE
        );
    }

    fn args(words: &[&str]) -> Vec<Arg> {
        words
            .iter()
            .map(|w| Arg {
                text: w.to_string(),
                file: "cmd".into(),
                line: None,
            })
            .collect()
    }

    #[test]
    fn flags_parse_like_pflag_and_override_the_file() {
        let flags = parse_flags(&args(&[
            "--config",
            "/etc/k.json",
            "--anonymous-auth",
            "--read-only-port=10255",
            "--feature-gates=RotateKubeletServerCertificate=false,Foo=true",
            "--rotate-server-certificates=false",
            "--v=2",
        ]));
        assert_eq!(flag_value(&flags, "config"), Some("/etc/k.json"));
        let mut root = parse(r#"{"featureGates": {"Bar": true}, "readOnlyPort": 0}"#);
        let mut origins = Vec::new();
        assert!(apply_flags(&mut root, &flags, &mut origins).is_empty());
        let j = root.to_json();
        assert_eq!(j["authentication"]["anonymous"]["enabled"], true);
        assert_eq!(j["readOnlyPort"], 10255);
        assert_eq!(
            j["featureGates"],
            serde_json::json!({"Bar": true, "RotateKubeletServerCertificate": false, "Foo": true})
        );
        assert_eq!(j["serverTLSBootstrap"], false);
        let o = origin_of(&origins, &FieldPath::parse("readOnlyPort")).unwrap();
        assert_eq!(o.flag.as_deref(), Some("--read-only-port=10255"));
    }

    #[test]
    fn bad_flag_values_are_reported() {
        let flags = parse_flags(&args(&["--anonymous-auth=maybe", "--read-only-port=x"]));
        let mut root = parse("{}");
        assert_eq!(apply_flags(&mut root, &flags, &mut Vec::new()).len(), 2);
    }

    #[test]
    fn unit_entries_join_continuations_in_service_only() {
        let text = "[Unit]\nExecStart=/nope\n[Service]\n# c\nExecStart=/usr/bin/kubelet \\\n    --a b \\\n    $X\nEnvironment='X=--y=1 --z'\n";
        let e = unit_entries(text);
        assert_eq!(
            e[0],
            (5, "ExecStart".into(), "/usr/bin/kubelet --a b $X".into())
        );
        assert_eq!(split_words(&e[1].2), vec!["X=--y=1 --z"]);
    }
}
