//! POD — pod security: privileges, host namespaces and paths, capabilities.

mod admission_policies;
mod capabilities_not_dropped;
mod container_runtime_socket;
mod dangerous_capabilities;
mod docker_in_docker;
mod host_ipc;
mod host_namespace_escape;
mod host_network;
mod host_path_credentials;
mod host_path_volume;
mod host_path_writable;
mod host_pid;
mod host_port;
mod namespace_without_psa;
mod pod_security_policy_removed;
mod privilege_escalation_allowed;
mod privileged_container;
mod run_as_root;
mod service_links_enabled;
mod unsafe_sysctls;
mod windows_host_process;
mod writable_root_filesystem;

pub use capabilities_not_dropped::CapabilitiesNotDropped;
pub use container_runtime_socket::ContainerRuntimeSocket;
pub use dangerous_capabilities::DangerousCapabilities;
pub use docker_in_docker::DockerInDocker;
pub use host_ipc::HostIpc;
pub use host_namespace_escape::HostNamespaceEscape;
pub use host_network::HostNetwork;
pub use host_path_credentials::HostPathCredentials;
pub use host_path_volume::HostPathVolume;
pub use host_path_writable::HostPathWritable;
pub use host_pid::HostPid;
pub use host_port::HostPort;
pub use namespace_without_psa::NamespaceWithoutPodSecurityAdmission;
pub use pod_security_policy_removed::PodSecurityPolicyRemoved;
pub use privilege_escalation_allowed::PrivilegeEscalationAllowed;
pub use privileged_container::PrivilegedContainer;
pub use run_as_root::RunAsRoot;
pub use service_links_enabled::ServiceLinksEnabled;
pub use unsafe_sysctls::UnsafeSysctlsOrProcMount;
pub use windows_host_process::WindowsHostProcess;
pub use writable_root_filesystem::WritableRootFilesystem;

use eksguard_model::workload::ContainerView;
use eksguard_model::{FieldPath, Node};

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &PrivilegedContainer,
    &RunAsRoot,
    &PrivilegeEscalationAllowed,
    &HostPathVolume,
    &HostPathWritable,
    &ContainerRuntimeSocket,
    &HostNetwork,
    &HostPid,
    &HostIpc,
    &HostPort,
    &DangerousCapabilities,
    &CapabilitiesNotDropped,
    &WritableRootFilesystem,
    &NamespaceWithoutPodSecurityAdmission,
    &PodSecurityPolicyRemoved,
    &UnsafeSysctlsOrProcMount,
    &DockerInDocker,
    &HostNamespaceEscape,
    &WindowsHostProcess,
    &HostPathCredentials,
    &ServiceLinksEnabled,
];

/// Windows pods: rules asking for Linux-only settings leave them alone.
pub(crate) use eksguard_model::podsec::runs_on_windows;

pub(crate) use eksguard_model::podsec::{host_path_volumes, normalize_path};

/// One word of a container's command line, or a shell separator (`;`, `&&`, `|`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Word(String),
    Sep,
}

/// The words of `command` then `args`, each with the path of the list entry it came from.
/// Entries are split like a shell would (quotes dropped, separators kept) so a script passed
/// to `sh -c` is seen word by word.
pub(crate) fn command_tokens(c: &ContainerView<'_>) -> Vec<(Tok, FieldPath)> {
    let mut out = Vec::new();
    for list in ["command", "args"] {
        let items = c.node.get(list).map(Node::items).unwrap_or(&[]);
        for (k, item) in items.iter().enumerate() {
            let Some(text) = item.as_str() else { continue };
            let path = c.path.key(list).index(k);
            let mut word = String::new();
            let flush = |word: &mut String, out: &mut Vec<(Tok, FieldPath)>| {
                if !word.is_empty() {
                    out.push((Tok::Word(std::mem::take(word)), path.clone()));
                }
            };
            for ch in text.chars() {
                match ch {
                    '\'' | '"' => {}
                    ';' | '&' | '|' | '(' | ')' | '`' | '\n' => {
                        flush(&mut word, &mut out);
                        out.push((Tok::Sep, path.clone()));
                    }
                    c if c.is_whitespace() => flush(&mut word, &mut out),
                    c => word.push(c),
                }
            }
            flush(&mut word, &mut out);
        }
    }
    out
}

/// The program name of a command word: `/usr/bin/nsenter` gives `nsenter`.
pub(crate) fn program(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}
