//! A node's file system mounted under a directory (`eksguard node --root /host`), read as
//! a process chrooted there would read it.
//!
//! Paths come from the node itself — kubelet flags, unit files, environment files,
//! kubeconfig references, symbolic link targets — and mean paths on the node, so they are
//! resolved component by component under the root: `..` never climbs above it, an
//! absolute link target starts again at the root, and at most [`MAX_LINKS`] links are
//! followed per path. Only entries below the root are ever looked at (not even a `stat`
//! outside it), so a link to `/etc/shadow` names the node's own `/etc/shadow`, never the
//! host's. Each file read stops at a byte limit.
//!
//! The checks are made on the path before it is opened; a file opened is compared with
//! what was checked (device and inode), so a file swapped for a link in between is not
//! read. A directory swapped in the same window is not caught: the root is meant to be
//! a node's file system at rest, not one an attacker is rewriting during the scan.

use std::ffi::OsString;
use std::fs::Metadata;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Links followed while resolving one path, as Linux allows (`MAXSYMLINKS`).
pub const MAX_LINKS: usize = 40;

/// Largest node file read: kubelet configs, unit files and command lines are a few kB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error("{path} does not exist")]
    NotFound { path: String },
    #[error("{path} is not a directory")]
    NotDir { path: String },
    #[error("{path}: more than {MAX_LINKS} symbolic links to follow (a link loop?)")]
    TooManyLinks { path: String },
    #[error("{path} is not a regular file")]
    NotFile { path: String },
    #[error("{path} is larger than the {limit}-byte limit for node files; not read")]
    TooLarge { path: String, limit: u64 },
    #[error("{path} changed while it was opened; not read")]
    Changed { path: String },
    #[error("{path}: reading a node's file system needs a Unix host")]
    Unsupported { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A path resolved under the root: no link left in it.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The path on the node, absolute (`/etc/kubernetes/kubelet/config.json`).
    pub node: PathBuf,
    /// The same file on this machine (`<root>/etc/kubernetes/kubelet/config.json`).
    pub host: PathBuf,
    /// The file's own metadata (never a link's).
    pub meta: Metadata,
}

/// A file system confined to a directory.
#[derive(Debug, Clone)]
pub struct RootFs {
    root: PathBuf,
    max_file_bytes: u64,
    /// Relative paths start at the working directory (this machine's paths), not at the
    /// root (the node's).
    from_cwd: bool,
}

impl RootFs {
    /// The file system under `root`, which must be a directory.
    pub fn new(root: &Path) -> Result<RootFs, RootError> {
        // Paths, modes and owners on the node are Unix ones.
        if cfg!(not(unix)) {
            return Err(RootError::Unsupported {
                path: root.display().to_string(),
            });
        }
        let meta = std::fs::metadata(root).map_err(|source| RootError::Io {
            path: root.display().to_string(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(RootError::NotDir {
                path: root.display().to_string(),
            });
        }
        Ok(RootFs {
            root: root.to_path_buf(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            from_cwd: false,
        })
    }

    /// This machine's own file system: paths named on the command line, which mean what
    /// they mean here (a relative one is taken from the working directory).
    pub fn host() -> RootFs {
        RootFs {
            root: PathBuf::from("/"),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            from_cwd: true,
        }
    }

    /// The same file system with another limit on each file read.
    pub fn with_max_file_bytes(mut self, limit: u64) -> RootFs {
        self.max_file_bytes = limit;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// For messages about a path that could not be read: where it was looked for.
    pub fn note(&self) -> String {
        if self.root == Path::new("/") {
            String::new()
        } else {
            format!(
                " (node paths resolve inside --root {})",
                self.root.display()
            )
        }
    }

    /// Where a node path lies on this machine, without resolving anything: for messages
    /// about a path as it was asked for.
    pub fn host_path(&self, node: &Path) -> PathBuf {
        let mut p = self.root.clone();
        for c in self.start(node) {
            p.push(c);
        }
        p
    }

    /// A relative path is taken from the root (the node's working directory is `/`),
    /// except on the host file system, where it is taken from the working directory.
    fn start(&self, path: &Path) -> Vec<OsString> {
        let absolute;
        let path = if path.is_relative() && self.from_cwd {
            absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            absolute.as_path()
        } else {
            path
        };
        path.components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                Component::ParentDir => Some(OsString::from("..")),
                Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
            })
            .collect()
    }

    /// Resolves `path` under the root as a chroot would, following every link (the last
    /// component's too).
    pub fn resolve(&self, path: &Path) -> Result<Resolved, RootError> {
        let mut todo: Vec<OsString> = self.start(path);
        todo.reverse(); // a stack: the next component last
        let mut done: Vec<OsString> = Vec::new();
        let mut links = 0usize;
        // The path reached so far, with what is left of it: named in errors.
        let shown = |done: &[OsString], todo: &[OsString]| -> String {
            let mut p = PathBuf::from("/");
            p.extend(done);
            p.extend(todo.iter().rev());
            p.display().to_string()
        };
        let mut meta = self.lstat(&done).map_err(|source| RootError::Io {
            path: self.root.display().to_string(),
            source,
        })?;
        while let Some(name) = todo.pop() {
            if !meta.is_dir() {
                return Err(RootError::NotDir {
                    path: shown(&done, &[]),
                });
            }
            if name == ".." {
                // `done` holds real directories only, so this is the physical parent.
                done.pop();
            } else {
                done.push(name);
            }
            let m = match self.lstat(&done) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(RootError::NotFound {
                        path: shown(&done, &todo),
                    })
                }
                Err(source) => {
                    return Err(RootError::Io {
                        path: shown(&done, &[]),
                        source,
                    })
                }
            };
            if !m.file_type().is_symlink() {
                meta = m;
                continue;
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(RootError::TooManyLinks {
                    path: shown(&done, &todo),
                });
            }
            let target =
                std::fs::read_link(self.host_of(&done)).map_err(|source| RootError::Io {
                    path: shown(&done, &[]),
                    source,
                })?;
            if target.as_os_str().is_empty() {
                return Err(RootError::NotFound {
                    path: shown(&done, &todo),
                });
            }
            // The link's directory, or the root for an absolute target, then the target.
            done.pop();
            if target.is_absolute() {
                done.clear();
            }
            for c in target.components().rev() {
                match c {
                    Component::Normal(n) => todo.push(n.to_os_string()),
                    Component::ParentDir => todo.push(OsString::from("..")),
                    Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                }
            }
            meta = self.lstat(&done).map_err(|source| RootError::Io {
                path: shown(&done, &[]),
                source,
            })?;
        }
        Ok(Resolved {
            host: self.host_of(&done),
            node: {
                let mut p = PathBuf::from("/");
                p.extend(&done);
                p
            },
            meta,
        })
    }

    fn host_of(&self, done: &[OsString]) -> PathBuf {
        let mut p = self.root.clone();
        p.extend(done);
        p
    }

    /// The metadata of an entry under the root whose parents are all real directories,
    /// never following a link; the root itself is taken as given.
    fn lstat(&self, done: &[OsString]) -> std::io::Result<Metadata> {
        if done.is_empty() {
            std::fs::metadata(&self.root)
        } else {
            std::fs::symlink_metadata(self.host_of(done))
        }
    }

    /// The metadata of the file `path` names (after its links).
    pub fn metadata(&self, path: &Path) -> Result<Resolved, RootError> {
        self.resolve(path)
    }

    /// Whether `path` names an entry, a dangling link included (its directory is
    /// resolved, its last component is not followed).
    pub fn entry_exists(&self, path: &Path) -> bool {
        match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) => self
                .resolve(parent)
                .is_ok_and(|r| r.meta.is_dir() && r.host.join(name).symlink_metadata().is_ok()),
            _ => self.resolve(path).is_ok(),
        }
    }

    pub fn is_file(&self, path: &Path) -> bool {
        self.resolve(path).is_ok_and(|r| r.meta.is_file())
    }

    pub fn is_dir(&self, path: &Path) -> bool {
        self.resolve(path).is_ok_and(|r| r.meta.is_dir())
    }

    /// The contents of a regular file, up to the byte limit.
    pub fn read(&self, path: &Path) -> Result<(Resolved, Vec<u8>), RootError> {
        let r = self.resolve(path)?;
        let shown = r.node.display().to_string();
        // Only regular files: a FIFO or a device would block or never end.
        if !r.meta.is_file() {
            return Err(RootError::NotFile { path: shown });
        }
        let io = |source| RootError::Io {
            path: shown.clone(),
            source,
        };
        let file = std::fs::File::open(&r.host).map_err(io)?;
        let opened = file.metadata().map_err(io)?;
        if !same_file(&opened, &r.meta) {
            return Err(RootError::Changed { path: shown });
        }
        let limit = self.max_file_bytes;
        let mut bytes = Vec::with_capacity(usize::try_from(r.meta.len().min(limit)).unwrap_or(0));
        file.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > limit {
            return Err(RootError::TooLarge { path: shown, limit });
        }
        Ok((r, bytes))
    }

    /// A file as text (invalid UTF-8 replaced).
    pub fn read_to_string(&self, path: &Path) -> Result<String, RootError> {
        self.read(path)
            .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
    }

    /// The names in a directory, sorted; the resolved directory beside them.
    pub fn read_dir(&self, path: &Path) -> Result<(Resolved, Vec<OsString>), RootError> {
        let r = self.resolve(path)?;
        if !r.meta.is_dir() {
            return Err(RootError::NotDir {
                path: r.node.display().to_string(),
            });
        }
        let rd = std::fs::read_dir(&r.host).map_err(|source| RootError::Io {
            path: r.node.display().to_string(),
            source,
        })?;
        let mut names: Vec<OsString> = rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect();
        names.sort();
        Ok((r, names))
    }
}

/// Whether two metadata are of the same file (device and inode).
#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

/// Without inodes, a file of another type or size is what can be told apart; only files
/// named on this machine's command line are read here (a node root needs Unix).
#[cfg(not(unix))]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    a.file_type() == b.file_type() && a.len() == b.len()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// `<tmp>/outside` with a marker, and `<tmp>/root` as the node's root.
    struct Fixture {
        base: PathBuf,
        root: PathBuf,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.base);
        }
    }

    fn fixture(tag: &str) -> Fixture {
        let base =
            std::env::temp_dir().join(format!("eksguard-rootfs-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        std::fs::create_dir_all(root.join("etc/kubernetes")).unwrap();
        std::fs::write(base.join("outside"), "OUTSIDE-MARKER").unwrap();
        std::fs::write(root.join("etc/inside"), "inside").unwrap();
        Fixture { base, root }
    }

    #[test]
    fn absolute_links_and_dotdot_stay_in_the_root() {
        let fx = fixture("escape");
        let fs = RootFs::new(&fx.root).unwrap();
        // An absolute link to the outside file's host path names a file under the root.
        symlink(fx.base.join("outside"), fx.root.join("etc/abs")).unwrap();
        let err = fs.read(Path::new("/etc/abs")).unwrap_err();
        assert!(matches!(err, RootError::NotFound { .. }), "{err}");
        assert!(err.to_string().ends_with("outside does not exist"), "{err}");
        // A relative link climbing out stops at the root.
        symlink("../../../outside", fx.root.join("etc/kubernetes/rel")).unwrap();
        let err = fs.read(Path::new("/etc/kubernetes/rel")).unwrap_err();
        assert_eq!(err.to_string(), "/outside does not exist");
        // `..` in the path itself.
        assert!(fs.read(Path::new("/../outside")).is_err());
        assert!(fs.read(Path::new("../../outside")).is_err());
        let (r, text) = fs
            .read(Path::new("/../../etc/./kubernetes/../inside"))
            .unwrap();
        assert_eq!(
            (r.node, text),
            (PathBuf::from("/etc/inside"), b"inside".to_vec())
        );
        // An absolute link inside the root works as it does on the node.
        symlink("/etc/inside", fx.root.join("etc/kubernetes/ok")).unwrap();
        let (r, _) = fs.read(Path::new("etc/kubernetes/ok")).unwrap();
        assert_eq!(r.host, fx.root.join("etc/inside"));
    }

    #[test]
    fn a_link_to_a_directory_outside_is_rerooted_too() {
        let fx = fixture("dir");
        let fs = RootFs::new(&fx.root).unwrap();
        symlink(&fx.base, fx.root.join("etc/up")).unwrap();
        let err = fs.read(Path::new("/etc/up/outside")).unwrap_err();
        assert!(matches!(err, RootError::NotFound { .. }), "{err}");
        assert!(fs.read_dir(Path::new("/etc/up")).is_err());
        assert!(!fs.is_file(Path::new("/etc/up/outside")));
    }

    #[test]
    fn link_loops_end_with_an_error() {
        let fx = fixture("loop");
        let fs = RootFs::new(&fx.root).unwrap();
        symlink("b", fx.root.join("etc/a")).unwrap();
        symlink("/etc/a", fx.root.join("etc/b")).unwrap();
        let err = fs.read(Path::new("/etc/a")).unwrap_err();
        assert!(matches!(err, RootError::TooManyLinks { .. }), "{err}");
        symlink(".", fx.root.join("etc/self")).unwrap();
        let deep = format!("/etc{}/inside", "/self".repeat(MAX_LINKS + 1));
        assert!(matches!(
            fs.read(Path::new(&deep)),
            Err(RootError::TooManyLinks { .. })
        ));
        let ok = format!("/etc{}/inside", "/self".repeat(MAX_LINKS));
        assert!(fs.read(Path::new(&ok)).is_ok());
    }

    #[test]
    fn files_are_read_up_to_the_limit_and_only_regular_ones() {
        let fx = fixture("limit");
        let fs = RootFs::new(&fx.root).unwrap().with_max_file_bytes(6);
        assert_eq!(fs.read(Path::new("/etc/inside")).unwrap().1, b"inside");
        std::fs::write(fx.root.join("etc/big"), "1234567").unwrap();
        assert!(matches!(
            fs.read(Path::new("/etc/big")),
            Err(RootError::TooLarge { limit: 6, .. })
        ));
        assert!(matches!(
            fs.read(Path::new("/etc")),
            Err(RootError::NotFile { .. })
        ));
        assert!(matches!(
            fs.read(Path::new("/etc/inside/x")),
            Err(RootError::NotDir { .. })
        ));
    }
}
