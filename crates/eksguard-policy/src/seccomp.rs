//! Seccomp profiles from syscall traces.
//!
//! Input is strace output (plain, `-f`/`-ff`, `-t`/`-tt`/`-ttt`/`-r` timestamps, `-T`
//! durations, `<unfinished ...>`/`<... resumed>` pairs, signal and exit lines) or a plain
//! list of syscall names, one a line, `#` starting a comment. The output is an OCI seccomp
//! profile that denies everything except what the trace saw plus [`RUNTIME_BASELINE`].

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::syscalls;
use crate::yaml::{clean, Yaml};

/// Architectures a profile can target; each brings the compat ABIs the kernel accepts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The seccomp architecture names, native first, as Docker's default profile maps them.
    pub fn scmp_names(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            Arch::Aarch64 => &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        }
    }

    fn knows(self, name: &str) -> bool {
        match self {
            Arch::X86_64 => syscalls::is_x86_64(name),
            Arch::Aarch64 => syscalls::is_aarch64(name),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown architecture `{0}` (expected x86_64 or aarch64)")]
pub struct UnknownArch(String);

impl FromStr for Arch {
    type Err = UnknownArch;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x86_64" | "amd64" | "x86-64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            _ => Err(UnknownArch(s.to_string())),
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        })
    }
}

/// What the runtime itself calls between installing the filter and the process's first
/// instruction, plus what every dynamically linked program does before `main`. runc and
/// containerd apply the profile before `execve`, so a trace of the program alone misses
/// these and the container would fail to start:
///
/// - `execve`, `execveat`: the runtime's exec of the entrypoint.
/// - `futex`, `nanosleep`, `clock_nanosleep`, `sched_yield`, `getpid`, `gettid`, `tgkill`:
///   the runtime's Go threads synchronising and signalling until the exec.
/// - `rt_sigaction`, `rt_sigprocmask`, `rt_sigreturn`, `sigaltstack`: signal setup and
///   return, which the runtime resets and any handler needs.
/// - `capget`, `capset`, `prctl`: dropping capabilities and setting `no_new_privs`.
/// - `close`, `close_range`, `fcntl`, `fstat`, `newfstatat`, `write`: closing inherited
///   descriptors and reporting an exec failure to the parent.
/// - `brk`, `mmap`, `munmap`, `mprotect`, `arch_prctl`, `set_tid_address`,
///   `set_robust_list`, `rseq`: the dynamic loader and libc start-up.
/// - `exit`, `exit_group`, `restart_syscall`: ending threads and the process cleanly,
///   and resuming calls a signal interrupted.
pub const RUNTIME_BASELINE: &[&str] = &[
    "arch_prctl",
    "brk",
    "capget",
    "capset",
    "clock_nanosleep",
    "close",
    "close_range",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "fcntl",
    "fstat",
    "futex",
    "getpid",
    "gettid",
    "mmap",
    "mprotect",
    "munmap",
    "nanosleep",
    "newfstatat",
    "prctl",
    "restart_syscall",
    "rseq",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "set_robust_list",
    "set_tid_address",
    "sigaltstack",
    "tgkill",
    "write",
];

/// Syscalls read from traces, with what could not be used.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    pub syscalls: BTreeSet<String>,
    /// `source:line: message`, one per unknown name or unreadable line; text from the
    /// input is escaped (see [`clean`]), so a warning is safe to print.
    pub warnings: Vec<String>,
}

impl Observed {
    /// Adds the syscalls of one trace or list; `source` names it in warnings.
    pub fn add_trace(&mut self, source: &str, text: &str, arches: &[Arch]) {
        let mut unknown_seen = BTreeSet::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            match parse_line(raw) {
                Line::Skip => {}
                Line::Junk => self.warnings.push(format!(
                    "{}:{line_no}: not a strace line or syscall name, skipped: `{}`",
                    clean(source),
                    clean(truncate(raw.trim(), 60))
                )),
                Line::Call(name) => {
                    if arches.iter().any(|a| a.knows(name)) {
                        self.syscalls.insert(name.to_string());
                    } else if unknown_seen.insert(name.to_string()) {
                        let on = arches
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" or ");
                        self.warnings.push(format!(
                            "{}:{line_no}: unknown syscall `{name}` on {on}, left out",
                            clean(source)
                        ));
                    }
                }
            }
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

enum Line<'a> {
    Skip,
    Junk,
    Call(&'a str),
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A PID (`-f` to a file), a clock time (`-t`, `-tt`), epoch seconds (`-ttt`) or a
/// relative time (`-r`): digits with `:` or `.`, followed by blanks.
fn is_prefix_token(tok: &str) -> bool {
    !tok.is_empty()
        && tok.starts_with(|c: char| c.is_ascii_digit())
        && tok
            .chars()
            .all(|c| c.is_ascii_digit() || c == ':' || c == '.')
}

fn parse_line(raw: &str) -> Line<'_> {
    let mut s = raw.trim();
    if s.is_empty() || s.starts_with('#') {
        return Line::Skip;
    }
    // `[pid  1234] ` when `-f` writes to the terminal.
    if let Some(rest) = s.strip_prefix("[pid") {
        match rest.split_once(']') {
            Some((_, after)) => s = after.trim_start(),
            None => return Line::Junk,
        }
    }
    loop {
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        if end < s.len() && is_prefix_token(&s[..end]) {
            s = s[end..].trim_start();
        } else {
            break;
        }
    }
    // Signals, exits and strace's own messages carry no syscall.
    if s.starts_with("---") || s.starts_with("+++") || s.starts_with("strace:") {
        return Line::Skip;
    }
    if let Some(rest) = s.strip_prefix("<...") {
        let rest = rest.trim_start();
        let end = rest.find(|c| !is_ident(c)).unwrap_or(rest.len());
        return match &rest[..end] {
            "" => Line::Junk,
            name => Line::Call(name),
        };
    }
    let end = s.find(|c| !is_ident(c)).unwrap_or(s.len());
    let (name, rest) = s.split_at(end);
    if name.is_empty() {
        return Line::Junk;
    }
    let rest = rest.trim_start();
    if rest.starts_with('(') || rest.is_empty() || rest.starts_with('#') {
        Line::Call(name)
    } else {
        Line::Junk
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: &'static str,
    pub default_errno_ret: u32,
    pub architectures: Vec<&'static str>,
    pub syscalls: Vec<SyscallRule>,
}

#[derive(Debug, Serialize)]
pub struct SyscallRule {
    pub names: Vec<String>,
    pub action: &'static str,
}

/// The profile: deny with EPERM by default, allow what was observed plus the runtime
/// baseline (each only where some chosen architecture has it), sorted.
pub fn profile(observed: &BTreeSet<String>, arches: &[Arch]) -> Profile {
    let mut arches = arches.to_vec();
    arches.sort();
    arches.dedup();
    let mut names: BTreeSet<String> = observed.clone();
    names.extend(
        RUNTIME_BASELINE
            .iter()
            .filter(|n| arches.iter().any(|a| a.knows(n)))
            .map(|n| n.to_string()),
    );
    Profile {
        default_action: "SCMP_ACT_ERRNO",
        default_errno_ret: 1,
        architectures: arches
            .iter()
            .flat_map(|a| a.scmp_names().iter().copied())
            .collect(),
        syscalls: vec![SyscallRule {
            names: names.into_iter().collect(),
            action: "SCMP_ACT_ALLOW",
        }],
    }
}

impl Profile {
    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The pod `securityContext` that loads the profile from the kubelet's seccomp directory
/// (`/var/lib/kubelet/seccomp/profiles/NAME.json` on the node).
pub fn localhost_snippet(name: &str) -> String {
    Yaml::map([(
        "securityContext",
        Yaml::map([(
            "seccompProfile",
            Yaml::map([
                ("type", Yaml::str("Localhost")),
                (
                    "localhostProfile",
                    Yaml::str(format!("profiles/{name}.json")),
                ),
            ]),
        )]),
    )])
    .to_text()
}
