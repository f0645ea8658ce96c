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
    /// From the field's doc comment: one line per source line.
    pub doc: &'static str,
}

impl ParamMeta {
    /// The doc as one line.
    pub fn doc_text(&self) -> String {
        let words: Vec<&str> = self.doc.split_whitespace().collect();
        words.join(" ")
    }
}

/// A rule's parameters: their names, types and docs, and what the rule's parameter struct
/// says about defaults and valid values, so neither is written twice.
#[derive(Debug, Clone, Copy)]
pub struct ParamSet {
    pub fields: &'static [ParamMeta],
    /// Every parameter's default, as a JSON object (the struct's `Default`).
    pub defaults: fn() -> serde_json::Value,
    /// Reads a table of configured values into the struct; the error says what is wrong.
    pub check: fn(serde_json::Value) -> Result<(), String>,
}

impl ParamSet {
    /// The default of one parameter, written as in `.eksguard.toml` (JSON and TOML agree
    /// for the strings, integers, booleans and lists parameters take).
    pub fn default_text(&self, name: &str) -> String {
        fn render(v: &serde_json::Value) -> String {
            match v {
                serde_json::Value::Array(items) => {
                    let items: Vec<String> = items.iter().map(render).collect();
                    format!("[{}]", items.join(", "))
                }
                other => other.to_string(),
            }
        }
        (self.defaults)().get(name).map(render).unwrap_or_default()
    }
}

/// A data source a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    Kubernetes,
    Iam,
    Ec2,
    Eks,
    Node,
    Audit,
    GuardDuty,
    Inspector,
    Ecr,
    Kms,
    CloudTrail,
    Efs,
    PrivateCa,
}

impl Data {
    /// Every source, in the order lists and docs show them.
    pub const ALL: [Data; 13] = [
        Data::Kubernetes,
        Data::Iam,
        Data::Ec2,
        Data::Eks,
        Data::Node,
        Data::Audit,
        Data::GuardDuty,
        Data::Inspector,
        Data::Ecr,
        Data::Kms,
        Data::CloudTrail,
        Data::Efs,
        Data::PrivateCa,
    ];

    /// The letter of the `data` column of rule lists.
    pub fn letter(self) -> char {
        match self {
            Data::Kubernetes => 'K',
            Data::Iam => 'I',
            Data::Ec2 => 'C',
            Data::Eks => 'E',
            Data::Node => 'N',
            Data::Audit => 'A',
            Data::GuardDuty => 'G',
            Data::Inspector => 'V',
            Data::Ecr => 'R',
            Data::Kms => 'M',
            Data::CloudTrail => 'T',
            Data::Efs => 'F',
            Data::PrivateCa => 'P',
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Data::Kubernetes => "Kubernetes objects",
            Data::Iam => "IAM roles and policies",
            Data::Ec2 => "EC2 security groups, launch templates and subnets",
            Data::Eks => "EKS cluster and node group data",
            Data::Node => "kubelet configuration and node files",
            Data::Audit => "Kubernetes audit events",
            Data::GuardDuty => "GuardDuty detectors and coverage",
            Data::Inspector => "Amazon Inspector account status, coverage and findings",
            Data::Ecr => "ECR repositories, registry scanning and repository policies",
            Data::Kms => "KMS keys, rotation status and aliases",
            Data::CloudTrail => "CloudTrail trails, status and selectors",
            Data::Efs => "EFS file systems and access points",
            Data::PrivateCa => "ACM Private CA certificate authorities",
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// The data sources a rule needs, as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSet(u16);

impl DataSet {
    pub const fn of(sources: &[Data]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < sources.len() {
            bits |= sources[i].bit();
            i += 1;
        }
        DataSet(bits)
    }

    pub fn contains(self, d: Data) -> bool {
        self.0 & d.bit() != 0
    }

    /// Whether the rule needs this source and nothing else.
    pub fn is_only(self, d: Data) -> bool {
        self.0 == d.bit()
    }

    pub fn iter(self) -> impl Iterator<Item = Data> {
        Data::ALL.into_iter().filter(move |d| self.contains(*d))
    }

    /// The letters, e.g. `K,E`.
    pub fn letters(self) -> String {
        let letters: Vec<String> = self.iter().map(|d| d.letter().to_string()).collect();
        letters.join(",")
    }
}

/// What a rule is handed, and so which engine runs it and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Objects of these kinds, one at a time.
    Objects(&'static [&'static str]),
    /// The whole inventory, once per run.
    Inventory,
    /// Audit events, each on its own (in parallel).
    Events,
    /// Audit events in input order, through a window that remembers across them.
    EventWindow,
}

impl Scope {
    /// Whether the audit engine runs the rule (the object engine runs the others).
    pub fn is_events(self) -> bool {
        matches!(self, Scope::Events | Scope::EventWindow)
    }
}

/// Rules are told apart by their ID, which is never reused.
impl PartialEq for RuleMeta {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for RuleMeta {}

#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    /// Stable ID, e.g. `POD001`; never reused.
    pub id: &'static str,
    /// Kebab-case name of the risky pattern, e.g. `privileged-container`.
    pub name: &'static str,
    pub severity: Severity,
    /// The data sources the rule reads.
    pub data: DataSet,
    pub scope: Scope,
    /// Further kinds the rule looks up across the inventory (cross-object checks): with
    /// the kinds it is handed, what a scan that cannot read a kind leaves unchecked.
    pub reads: &'static [&'static str],
    /// One line shown in lists and as the SARIF short description.
    pub summary: &'static str,
    /// What to do; ends with a period.
    pub remediation: &'static str,
    /// Markdown body: what it checks, why it matters, examples.
    pub docs: &'static str,
    pub params: Option<&'static ParamSet>,
    /// The recommendations of the EKS Best Practices Guide the rule checks, by their row
    /// IDs in [`crate::guide::RECOMMENDATIONS`] (`IAM-21`); empty when not yet recorded.
    pub guide: &'static [&'static str],
}

impl RuleMeta {
    /// Kinds whose objects the engine hands to the rule one at a time (empty: none).
    pub fn kinds(&self) -> &'static [&'static str] {
        match self.scope {
            Scope::Objects(kinds) => kinds,
            _ => &[],
        }
    }

    /// Whether the rule looks at objects of `kind` in any way.
    pub fn uses_kind(&self, kind: &str) -> bool {
        self.kinds().contains(&kind) || self.reads.contains(&kind)
    }

    /// The rule's parameters (none for most rules).
    pub fn param_fields(&self) -> &'static [ParamMeta] {
        self.params.map_or(&[], |p| p.fields)
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

    /// What the data sources are, for docs.
    pub fn data_description(&self) -> String {
        let parts: Vec<&str> = self.data.iter().map(Data::describe).collect();
        parts.join(", ")
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
