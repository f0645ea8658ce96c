//! What `eksguard node` reads from a node's file system mounted under `--root`: the
//! kubelet's command line (its running process, else its systemd unit), the kubelet
//! configuration it names with its drop-ins and flags applied, and the owner and mode of
//! the kubelet's files as `NodeFile` objects.
//!
//! Every path the node names is resolved inside the root as a chroot would resolve it,
//! and every file read stops at the byte limit of [`RootFs`]; paths given on the command
//! line are paths on this machine.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use eksguard_model::node::Entry;
use eksguard_model::{InputError, Inventory, Node, Object, ObjectId, Pos, Source, Value};

use crate::kubelet::{self, CommandLine, Origin};
use crate::rootfs::{RootError, RootFs};
use crate::LoadOptions;

/// Longest host name: a DNS name.
const MAX_HOST_NAME: usize = 253;

/// Files named on the command line in place of those the kubelet names.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeInput<'a> {
    pub kubelet_config: Option<&'a Path>,
    pub kubeconfig: Option<&'a Path>,
}

/// What was read of a node.
#[derive(Debug)]
pub struct NodeRead {
    /// The effective kubelet configuration and the `NodeFile` objects, with the files
    /// counted and the errors met.
    pub inventory: Inventory,
    /// The kubelet configuration object in `inventory`.
    pub config: ObjectId,
    /// Where each field of the configuration was set: a drop-in, or a flag.
    pub origins: Vec<Origin>,
    /// The kubelet command line found, if any.
    pub cmdline: Option<CommandLine>,
}

/// A node that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    // The root error is part of the message, not a source: a chain would repeat it.
    #[error("--root {}: {error}", root.display())]
    Root { root: PathBuf, error: RootError },
    #[error(
        "no kubelet configuration found under {} (looked for {}{}); pass --kubelet-config FILE",
        root.display(),
        kubelet::CONFIG_PATHS.join(", "),
        looked_in.as_ref().map(|s| format!(" and --config in the {s}")).unwrap_or_default()
    )]
    NoConfig {
        root: PathBuf,
        /// The command line searched for `--config`, when one was found.
        looked_in: Option<String>,
    },
    /// The kubelet configuration file cannot be read or holds no configuration.
    #[error("the kubelet configuration cannot be read")]
    Config(Vec<InputError>),
}

/// The node's file system under `root`, which must be a directory.
pub fn open_root(root: &Path) -> Result<RootFs, NodeError> {
    RootFs::new(root).map_err(|error| NodeError::Root {
        root: root.to_path_buf(),
        error,
    })
}

/// The node's host name from its `/etc/hostname`, when it holds a plausible one.
pub fn host_name(fs: &RootFs) -> Option<String> {
    fs.read_to_string(Path::new("/etc/hostname"))
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h.len() <= MAX_HOST_NAME)
}

/// Reads the kubelet configuration of the node of `node_fs` as the kubelet sees it,
/// and the `NodeFile` objects of its configuration, drop-ins and kubeconfig.
pub fn read_node(
    node_fs: &RootFs,
    input: NodeInput<'_>,
    opts: &LoadOptions,
) -> Result<NodeRead, NodeError> {
    // Files named on the command line are paths on this machine.
    let host_fs = RootFs::host();
    let on_node = |p: &str| NodeFile::on_node(node_fs, p);
    let cmdline = kubelet::running_kubelet(node_fs).or_else(|| kubelet::systemd_kubelet(node_fs));
    let flags = cmdline
        .as_ref()
        .map(|c| kubelet::parse_flags(&c.args))
        .unwrap_or_default();
    let flag = |name| kubelet::flag_value(&flags, name);

    let config = match (input.kubelet_config, flag("config")) {
        (Some(p), _) => NodeFile::on_host(&host_fs, p),
        (None, Some(p)) => on_node(p),
        (None, None) => {
            first_existing(node_fs, kubelet::CONFIG_PATHS).ok_or_else(|| NodeError::NoConfig {
                root: node_fs.root().to_path_buf(),
                looked_in: cmdline.as_ref().map(|c| c.source.clone()),
            })?
        }
    };
    let mut inv = Inventory::default();
    let (mut base, _) =
        kubelet::read_config_in(config.fs, &config.path, opts).map_err(NodeError::Config)?;
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
        Some(dir) => kubelet::merge_dir_in(dir.fs, base, &dir.path, opts),
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

    let kubeconfig = match (input.kubeconfig, flag("kubeconfig")) {
        (Some(p), _) => Some(NodeFile::on_host(&host_fs, p)),
        (None, Some(p)) => Some(on_node(p)),
        (None, None) => first_existing(node_fs, kubelet::KUBECONFIG_PATHS),
    };
    let names = IdNames::read(node_fs);
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
    if let Some(os) = node_os(node_fs) {
        inv.push(os);
    }
    Ok(NodeRead {
        inventory: inv,
        config: config_id,
        origins,
        cmdline,
    })
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

/// The value of `KEY=value` in an os-release file, unquoted.
fn os_release_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.trim().split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches(['"', '\'']).to_string())
    })
}

/// A position-less mapping in the given key order, as the synthetic node objects are built.
fn map(entries: Vec<(&str, Node)>) -> Node {
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
}

/// A synthetic `NodeOS` object for the node operating systems that ship SELinux in
/// enforcing mode (Bottlerocket, Amazon Linux 2023), with what the node's sysfs says of
/// SELinux: `selinux.enforce` (the `/sys/fs/selinux/enforce` value) when SELinux is
/// mounted, `selinux.mounted: false` when sysfs is there without it. `None` for other
/// systems, or without `/etc/os-release`.
fn node_os(fs: &RootFs) -> Option<Object> {
    let release = fs
        .read_to_string(Path::new("/etc/os-release"))
        .or_else(|_| fs.read_to_string(Path::new("/usr/lib/os-release")))
        .ok()?;
    let id = os_release_value(&release, "ID")?;
    let version = os_release_value(&release, "VERSION_ID").unwrap_or_default();
    let hardened = id == "bottlerocket" || (id == "amzn" && version.starts_with("2023"));
    if !hardened {
        return None;
    }
    let s = |v: &str| Node::new(Value::Str(v.into()), Pos::NONE);
    let mut selinux = Vec::new();
    if fs.is_dir(Path::new("/sys/fs/selinux")) {
        selinux.push(("mounted", Node::new(Value::Bool(true), Pos::NONE)));
        if let Ok(v) = fs.read_to_string(Path::new("/sys/fs/selinux/enforce")) {
            selinux.push(("enforce", s(v.trim())));
        }
    } else if fs.is_dir(Path::new("/sys/kernel")) {
        // sysfs is mounted under the root and has no SELinux: it is disabled.
        selinux.push(("mounted", Node::new(Value::Bool(false), Pos::NONE)));
    }
    let pretty = os_release_value(&release, "PRETTY_NAME").unwrap_or_else(|| id.clone());
    let mut spec = vec![
        ("id", s(&id)),
        ("versionId", s(&version)),
        ("prettyName", s(&pretty)),
    ];
    if !selinux.is_empty() {
        spec.push(("selinux", map(selinux)));
    }
    let root_node = map(vec![
        ("apiVersion", s("node.eksguard.io/v1")),
        ("kind", s("NodeOS")),
        ("metadata", map(vec![("name", s("/etc/os-release"))])),
        ("spec", map(spec)),
    ]);
    Object::from_node(root_node, Source::Live, "default").ok()
}

/// A synthetic `NodeFile` object with the facts NODE012 judges.
#[cfg(unix)]
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
    let root_node = map(vec![
        ("apiVersion", s("node.eksguard.io/v1")),
        ("kind", s("NodeFile")),
        ("metadata", map(vec![("name", s(&shown))])),
        ("spec", map(spec)),
    ]);
    Object::from_node(root_node, Source::Live, "default")
        .map_err(|_| "internal: NodeFile without kind".to_string())
}

/// File modes and numeric owners are Unix facts.
#[cfg(not(unix))]
fn node_file(file: &NodeFile<'_>, role: &str, _: &IdNames) -> Result<Object, String> {
    Err(format!(
        "{role}: {}: file modes and owners are read on Unix hosts only",
        file.shown()
    ))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    /// A node root in a fresh directory, beside a decoy outside it.
    struct Tree {
        base: PathBuf,
        root: PathBuf,
    }

    impl Tree {
        fn new(name: &str) -> Tree {
            let base =
                std::env::temp_dir().join(format!("eksguard-node-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&base);
            let root = base.join("root");
            std::fs::create_dir_all(&root).unwrap();
            Tree { base, root }
        }

        fn write(&self, path: &str, text: &str) {
            let p = self.root.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.base);
        }
    }

    const CONFIG: &str =
        "{\"apiVersion\": \"kubelet.config.k8s.io/v1beta1\", \"kind\": \"KubeletConfiguration\", \"readOnlyPort\": 10255}";

    fn kinds(read: &NodeRead) -> Vec<String> {
        read.inventory
            .objects
            .iter()
            .map(|o| format!("{}:{}", o.kind, o.name))
            .collect()
    }

    #[test]
    fn the_kubelet_of_the_command_line_with_its_flags_and_files() {
        let n = Tree::new("flags");
        n.write(
            "/proc/31/cmdline",
            "/usr/bin/kubelet\0--config=/etc/kc/config.yaml\0--read-only-port=0\0--kubeconfig=/etc/kc/kubeconfig\0",
        );
        n.write("/etc/kc/config.yaml", CONFIG);
        n.write("/etc/kc/kubeconfig", "apiVersion: v1\nkind: Config\n");
        n.write("/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
        let fs = open_root(&n.root).unwrap();
        let read = read_node(&fs, NodeInput::default(), &LoadOptions::default()).unwrap();
        assert_eq!(
            read.cmdline.as_ref().map(|c| c.source.as_str()),
            Some("running kubelet (PID 31)")
        );
        let config = read.inventory.get(read.config);
        assert_eq!(&*config.name, "/etc/kc/config.yaml");
        // The flag overrides the file, and says so.
        assert_eq!(
            config.root.get("readOnlyPort").and_then(Node::as_i64),
            Some(0)
        );
        assert!(kubelet::origin_of(
            &read.origins,
            &eksguard_model::FieldPath::parse("readOnlyPort")
        )
        .is_some_and(|o| o.flag.is_some()));
        assert_eq!(
            kinds(&read),
            [
                "KubeletConfiguration:/etc/kc/config.yaml",
                "NodeFile:/etc/kc/config.yaml",
                "NodeFile:/etc/kc/kubeconfig",
            ]
        );
        assert_eq!(read.inventory.files_scanned, 1);
        assert!(
            read.inventory.errors.is_empty(),
            "{:?}",
            read.inventory.errors
        );
    }

    #[test]
    fn selinux_state_of_hardened_node_systems() {
        let selinux = |n: &Tree| {
            let fs = open_root(&n.root).unwrap();
            node_os(&fs).map(|o| {
                o.root.at("spec.selinux").map(|s| {
                    (
                        s.get("mounted").and_then(Node::as_bool),
                        s.get("enforce").and_then(Node::scalar_text),
                    )
                })
            })
        };
        let n = Tree::new("os-al2023");
        n.write(
            "/etc/os-release",
            "NAME=\"Amazon Linux\"\nID=\"amzn\"\nVERSION_ID=\"2023\"\n",
        );
        n.write("/sys/fs/selinux/enforce", "0");
        assert_eq!(selinux(&n), Some(Some((Some(true), Some("0".into())))));
        let n = Tree::new("os-bottlerocket");
        n.write("/etc/os-release", "ID=bottlerocket\nVERSION_ID=1.32.0\n");
        n.write("/sys/kernel/version", "x");
        assert_eq!(selinux(&n), Some(Some((Some(false), None))));
        // Without sysfs under the root nothing is known of SELinux.
        let n = Tree::new("os-nosys");
        n.write("/etc/os-release", "ID=bottlerocket\n");
        assert_eq!(selinux(&n), Some(None));
        // Other systems are not judged.
        let n = Tree::new("os-al2");
        n.write("/etc/os-release", "ID=\"amzn\"\nVERSION_ID=\"2\"\n");
        assert_eq!(selinux(&n), None);
    }

    #[test]
    fn paths_from_the_node_stay_inside_the_root() {
        let n = Tree::new("chroot");
        // A decoy outside the root that a path climbing out would reach.
        std::fs::create_dir_all(n.base.join("etc/kc")).unwrap();
        std::fs::write(n.base.join("etc/kc/config.yaml"), CONFIG).unwrap();
        std::fs::write(n.base.join("hostname"), "outside\n").unwrap();
        n.write(
            "/proc/7/cmdline",
            "kubelet\0--config=/../../etc/kc/config.yaml\0",
        );
        symlink("/../../hostname", n.root.join("etc-hostname")).unwrap();
        std::fs::create_dir_all(n.root.join("etc")).unwrap();
        symlink("/etc-hostname", n.root.join("etc/hostname")).unwrap();
        let fs = open_root(&n.root).unwrap();
        assert_eq!(host_name(&fs), None);
        n.write("/hostname", "ip-10-0-0-1.ec2.internal\n");
        assert_eq!(host_name(&fs).as_deref(), Some("ip-10-0-0-1.ec2.internal"));
        match read_node(&fs, NodeInput::default(), &LoadOptions::default()) {
            Err(NodeError::Config(errors)) => {
                let text = errors[0].to_string();
                assert!(text.contains("resolve inside --root"), "{text}");
            }
            other => panic!("read outside the root: {other:?}"),
        }
    }

    #[test]
    fn each_file_read_stops_at_the_limit() {
        let n = Tree::new("limit");
        n.write("/var/lib/kubelet/config.yaml", CONFIG);
        let fs = open_root(&n.root).unwrap().with_max_file_bytes(16);
        match read_node(&fs, NodeInput::default(), &LoadOptions::default()) {
            Err(NodeError::Config(errors)) => {
                assert!(
                    errors[0].to_string().contains("16-byte limit"),
                    "{errors:?}"
                );
            }
            other => panic!("a file over the limit was read: {other:?}"),
        }
    }

    #[test]
    fn no_configuration_names_where_it_looked() {
        let n = Tree::new("none");
        n.write(
            "/etc/systemd/system/kubelet.service",
            "[Service]\nExecStart=/usr/bin/kubelet --v=2\n",
        );
        let fs = open_root(&n.root).unwrap();
        let e = read_node(&fs, NodeInput::default(), &LoadOptions::default()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("no kubelet configuration found under "),
            "{text}"
        );
        assert!(text.contains("/var/lib/kubelet/config.yaml"), "{text}");
        assert!(text.contains("and --config in the "), "{text}");
        assert!(text.ends_with("pass --kubelet-config FILE"), "{text}");
        let e = open_root(&n.root.join("absent")).unwrap_err();
        assert!(e.to_string().starts_with("--root "), "{e}");
        // Said once: no source for an error chain to print again.
        assert!(std::error::Error::source(&e).is_none());
    }
}
