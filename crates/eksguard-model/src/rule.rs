//! Rule metadata: the one source for `rules list`, `rules explain`, docs and SARIF.

use crate::finding::Severity;

/// The type of a rule parameter set in `.eksguard.toml` under `[rules.ID]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Integer,
    Boolean,
    String,
    StringList,
}

impl ParamKind {
    pub fn describe(self) -> &'static str {
        match self {
            ParamKind::Integer => "integer",
            ParamKind::Boolean => "boolean",
            ParamKind::String => "string",
            ParamKind::StringList => "list of strings",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ParamMeta {
    pub name: &'static str,
    pub kind: ParamKind,
    /// The default, written as TOML.
    pub default: &'static str,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    /// Stable ID, e.g. `POD001`; never reused.
    pub id: &'static str,
    /// Kebab-case name of the risky pattern, e.g. `privileged-container`.
    pub name: &'static str,
    pub severity: Severity,
    /// Data the rule reads: K (Kubernetes), E (EKS), I (IAM), C (EC2), N (node), A (audit
    /// events).
    pub sources: &'static str,
    /// Kinds whose objects the engine hands to the rule one at a time (empty: none).
    pub kinds: &'static [&'static str],
    /// Further kinds the rule looks up across the inventory (cross-object checks): with
    /// `kinds`, what a scan that cannot read a kind leaves unchecked.
    pub reads: &'static [&'static str],
    /// One line shown in lists and as the SARIF short description.
    pub summary: &'static str,
    /// What to do; ends with a period.
    pub remediation: &'static str,
    /// Markdown body: what it checks, why it matters, examples.
    pub docs: &'static str,
    pub params: &'static [ParamMeta],
}

impl RuleMeta {
    /// Whether the rule looks at objects of `kind` in any way.
    pub fn uses_kind(&self, kind: &str) -> bool {
        self.kinds.contains(&kind) || self.reads.contains(&kind)
    }

    /// The ID's letters: the family (`POD`, `IAM`, ...).
    pub fn family(&self) -> &'static str {
        let end = self
            .id
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(self.id.len());
        &self.id[..end]
    }

    /// The docs as Markdown (doc comments keep a leading space on each line).
    pub fn docs_markdown(&self) -> String {
        let mut out = String::with_capacity(self.docs.len());
        for line in self.docs.lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
        out.trim_end().to_string() + "\n"
    }

    /// What the `sources` letters mean, for docs.
    pub fn data_description(&self) -> String {
        self.sources
            .split(',')
            .map(|s| match s.trim() {
                "K" => "Kubernetes objects",
                "E" => "EKS cluster and node group data",
                "I" => "IAM roles and policies",
                "C" => "EC2 security groups, launch templates and subnets",
                "N" => "kubelet configuration and node files",
                "A" => "Kubernetes audit events",
                other => other,
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The section of the EKS Best Practices Guide behind the rule's family.
    pub fn help_uri(&self) -> &'static str {
        family(self.family()).map_or(GUIDE_SECURITY, |f| f.guide_url)
    }
}

/// One family of rules: the letters of its IDs, what it covers, and the section of the
/// EKS Best Practices Guide it holds clusters to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    pub prefix: &'static str,
    pub title: &'static str,
    pub guide_url: &'static str,
}

macro_rules! guide {
    ($page:literal) => {
        concat!(
            "https://docs.aws.amazon.com/eks/latest/best-practices/",
            $page
        )
    };
}

const GUIDE_SECURITY: &str = guide!("security.html");

/// Every family, in the order of the guide's sections: the registry lists rules in this
/// order, and reports, docs and the fixture harness read titles and links from here.
pub const FAMILIES: &[Family] = &[
    Family {
        prefix: "IAM",
        title: "Cluster access and RBAC",
        guide_url: guide!("identity-and-access-management.html"),
    },
    Family {
        prefix: "IRSA",
        title: "Workload identity",
        guide_url: guide!("identity-and-access-management.html"),
    },
    Family {
        prefix: "POD",
        title: "Pod security",
        guide_url: guide!("pod-security.html"),
    },
    Family {
        prefix: "QOS",
        title: "Resources, quotas and limits",
        guide_url: guide!("tenant-isolation.html"),
    },
    Family {
        prefix: "TEN",
        title: "Multi-tenancy",
        guide_url: guide!("tenant-isolation.html"),
    },
    Family {
        prefix: "DET",
        title: "Control-plane logging",
        guide_url: guide!("auditing-and-logging.html"),
    },
    Family {
        prefix: "NET",
        title: "Network policies, services and ingresses",
        guide_url: guide!("network-security.html"),
    },
    Family {
        prefix: "SG",
        title: "Security groups",
        guide_url: guide!("network-security.html"),
    },
    Family {
        prefix: "RUN",
        title: "Runtime confinement",
        guide_url: guide!("runtime-security.html"),
    },
    Family {
        prefix: "NODE",
        title: "Worker-node infrastructure",
        guide_url: guide!("protecting-the-infrastructure.html"),
    },
    Family {
        prefix: "DATA",
        title: "Secrets and encryption",
        guide_url: guide!("data-encryption-and-secrets-management.html"),
    },
    Family {
        prefix: "IMG",
        title: "Container images",
        guide_url: guide!("image-security.html"),
    },
    Family {
        prefix: "AUD",
        title: "Audit-log detections",
        guide_url: guide!("auditing-and-logging.html"),
    },
];

/// The family of an ID prefix.
pub fn family(prefix: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.prefix == prefix)
}
