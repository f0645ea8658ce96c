use std::collections::BTreeSet;

use eksguard_policy::seccomp::{localhost_snippet, profile, Arch, Observed, RUNTIME_BASELINE};

fn data(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

fn observe(names: &[&str], arches: &[Arch]) -> Observed {
    let mut o = Observed::default();
    for n in names {
        o.add_trace(n, &data(n), arches);
    }
    o
}

#[test]
fn recorded_ls_trace() {
    let o = observe(&["ls.strace"], &[Arch::X86_64]);
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    for s in [
        "execve",
        "openat",
        "getdents64",
        "write",
        "exit_group",
        "mmap",
    ] {
        assert!(o.syscalls.contains(s), "{s} missing: {:?}", o.syscalls);
    }
}

#[test]
fn recorded_pipeline_with_forks_and_timestamps() {
    let o = observe(&["sh.strace"], &[Arch::X86_64]);
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    // sh forks for the pipeline and waits for its children.
    assert!(
        o.syscalls.contains("clone")
            || o.syscalls.contains("clone3")
            || o.syscalls.contains("vfork")
    );
    assert!(o.syscalls.contains("wait4"));
    assert!(o.syscalls.contains("pipe2") || o.syscalls.contains("pipe"));
    // Timestamps, PIDs and signals never become names.
    assert!(o.syscalls.iter().all(|s| s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')));
}

#[test]
fn hand_written_edge_cases() {
    let o = observe(&["edge.strace"], &[Arch::X86_64]);
    let got: Vec<&str> = o.syscalls.iter().map(String::as_str).collect();
    assert_eq!(
        got,
        [
            "clock_nanosleep",
            "connect",
            "epoll_wait",
            "getrandom",
            "openat",
            "read"
        ]
    );
    assert_eq!(
        o.warnings,
        [
            "edge.strace:11: unknown syscall `syscall_0x1b6` on x86_64, left out",
            "edge.strace:12: unknown syscall `made_up_call` on x86_64, left out",
            "edge.strace:13: not a strace line or syscall name, skipped: `this is not a trace line`",
        ]
    );
}

#[test]
fn plain_list_and_arch_tables() {
    let o = observe(&["list.txt"], &[Arch::Aarch64]);
    let got: Vec<&str> = o.syscalls.iter().map(String::as_str).collect();
    assert_eq!(got, ["accept4", "read", "write"]);
    assert_eq!(
        o.warnings,
        ["list.txt:6: unknown syscall `not_a_syscall` on aarch64, left out"]
    );
    // aarch64 has no `open`; x86_64 does.
    let mut a = Observed::default();
    a.add_trace("t", "open\n", &[Arch::Aarch64]);
    assert!(a.syscalls.is_empty());
    a.add_trace("t", "open\n", &[Arch::X86_64, Arch::Aarch64]);
    assert!(a.syscalls.contains("open"));
}

#[test]
fn baseline_follows_the_architectures() {
    let p = profile(&BTreeSet::new(), &[Arch::Aarch64]);
    let names = &p.syscalls[0].names;
    assert!(!names.contains(&"arch_prctl".to_string()));
    assert!(names.contains(&"execve".to_string()));
    assert_eq!(p.architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
    assert!(RUNTIME_BASELINE.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn profile_snapshot() {
    let o = observe(&["edge.strace", "list.txt"], &[Arch::X86_64, Arch::Aarch64]);
    let p = profile(&o.syscalls, &[Arch::Aarch64, Arch::X86_64]);
    insta::assert_snapshot!(p.to_json());
    insta::assert_snapshot!(localhost_snippet("web"));
}

#[test]
fn per_process_files_merge() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ff");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    let mut o = Observed::default();
    for f in &files {
        o.add_trace("ff", &std::fs::read_to_string(f).unwrap(), &[Arch::X86_64]);
    }
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    // The shell waits; its child lists the directory.
    assert!(o.syscalls.contains("wait4") && o.syscalls.contains("getdents64"));
}
