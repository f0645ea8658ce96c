//! One fixed report that every reporter test renders.

use eksguard_model::{InputError, ResourceRef, RuleMeta, Severity};
use eksguard_report::{Location, Report, ReportFinding, SourceCache};

/// Values in the fixture that no output may contain.
#[allow(dead_code)] // not every test binary uses it
pub const SECRETS: &[&str] = &["hunter2-s3cr3t", "wJalrXUtnFEMI/K7MDENG", "admin-ro"];

const fn rule(
    id: &'static str,
    name: &'static str,
    severity: Severity,
    summary: &'static str,
    remediation: &'static str,
    docs: &'static str,
) -> RuleMeta {
    RuleMeta {
        id,
        name,
        severity,
        data: eksguard_model::DataSet::of(&[eksguard_model::Data::Kubernetes]),
        scope: eksguard_model::Scope::Inventory,
        reads: &[],
        summary,
        remediation,
        docs,
        params: None,
        guide: &[],
    }
}

pub static POD001: RuleMeta = rule(
    "POD001",
    "privileged-container",
    Severity::Critical,
    "Container runs privileged",
    "Remove `privileged: true` and grant only the capabilities the process needs.",
    "## What it checks\nContainers with `securityContext.privileged: true`.\n\n## Why it matters\nA privileged container can take over the node.\n",
);
pub static POD006: RuleMeta = rule(
    "POD006",
    "run-as-root",
    Severity::Medium,
    "Container runs as root",
    "Set `runAsNonRoot: true` and a non-zero `runAsUser`.",
    "## What it checks\nContainers whose user is root.\n",
);
pub static IMG001: RuleMeta = rule(
    "IMG001",
    "mutable-image-tag",
    Severity::Low,
    "Image referenced by a mutable tag",
    "Pin images by digest.",
    "",
);
pub static IMG002: RuleMeta = rule(
    "IMG002",
    "untrusted-registry",
    Severity::Medium,
    "Image from a registry outside the trusted list",
    "Pull images only from trusted registries.",
    "## What it checks\nImages whose registry is not in `trusted-registries`.\n",
);
pub static DATA004: RuleMeta = rule(
    "DATA004",
    "credentials-in-configmap",
    Severity::High,
    "ConfigMap holds credentials",
    "Move the value to a Secret or to AWS Secrets Manager.",
    "## What it checks\nConfigMap keys that look like credentials; values are never printed.\n",
);
pub static IAM010: RuleMeta = rule(
    "IAM010",
    "wildcard-rbac-verbs",
    Severity::Medium,
    "Role grants every verb",
    "List the verbs the subject needs.",
    "## What it checks\nRoles with `verbs: [\"*\"]`.\n",
);
pub static NET001: RuleMeta = rule(
    "NET001",
    "namespace-without-default-deny",
    Severity::Medium,
    "Namespace has no default-deny NetworkPolicy",
    "Add a default-deny NetworkPolicy to the namespace.",
    "## What it checks\nNamespaces without a policy selecting every pod.\n",
);

pub const WEB_YAML: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:latest
        securityContext:
          privileged: true
          runAsUser: 0
";

pub const CONFIG_YAML: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: shop
data:
  db_user: admin-ro
  db_password: hunter2-s3cr3t
  aws_secret_access_key: \"wJalrXUtnFEMI/K7MDENG\"
";

pub const RBAC_YAML: &str = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ops-admin
rules:
- apiGroups: [\"\"]
  resources: [\"pods\"]
  verbs: [\"*\"]
";

fn res(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ResourceRef {
    ResourceRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.map(Into::into),
        name: name.into(),
    }
}

fn at(file: &str, line: u32, column: u32) -> Option<Location> {
    Some(Location {
        file: file.into(),
        line,
        column,
    })
}

fn finding(
    rule: &'static RuleMeta,
    message: &str,
    resource: ResourceRef,
    location: Option<Location>,
    field_path: &str,
) -> ReportFinding {
    ReportFinding {
        rule,
        severity: rule.severity,
        message: message.into(),
        resource,
        location,
        field_path: field_path.into(),
        event: None,
        facts: Default::default(),
    }
}

pub fn report() -> Report<'static> {
    let web = || res("apps/v1", "Deployment", Some("shop"), "web");
    let container = "spec.template.spec.containers[0]";
    Report {
        tool_version: "0.1.0",
        rules: vec![
            &POD001, &POD006, &IAM010, &NET001, &DATA004, &IMG001, &IMG002,
        ],
        findings: vec![
            finding(
                &DATA004,
                "key `db_password` looks like a credential",
                res("v1", "ConfigMap", Some("shop"), "app-config"),
                at("k8s/config.yaml", 8, 3),
                "data.db_password",
            ),
            finding(
                &IAM010,
                "rule 0 grants `*` (get|list|watch|create|delete|...) on pods",
                res(
                    "rbac.authorization.k8s.io/v1",
                    "ClusterRole",
                    None,
                    "ops-admin",
                ),
                at("k8s/rbac.yaml", 8, 3),
                "rules[0].verbs",
            ),
            finding(
                &IMG001,
                "container `app` uses image `nginx:latest`",
                web(),
                at("k8s/web.yaml", 11, 9),
                &format!("{container}.image"),
            ),
            finding(
                &POD001,
                "container `app` runs privileged",
                web(),
                at("k8s/web.yaml", 13, 11),
                &format!("{container}.securityContext.privileged"),
            ),
            finding(
                &POD006,
                "container `app` runs as UID 0",
                web(),
                at("k8s/web.yaml", 14, 11),
                &format!("{container}.securityContext.runAsUser"),
            ),
            finding(
                &NET001,
                "namespace `shop` has no default-deny NetworkPolicy",
                res("v1", "Namespace", None, "shop"),
                None,
                "metadata.name",
            ),
        ],
        errors: vec![
            InputError::new(
                "k8s/broken.yaml",
                Some(3),
                "did not find expected key while parsing a block mapping",
            ),
            InputError::new(
                "aws/cluster.json",
                None,
                "expected the output of `aws eks describe-cluster`, found an array",
            ),
        ],
        warnings: Vec::new(),
        resources_scanned: 5,
        files_scanned: 5,
        files_skipped: None,
        suppressed: 1,
        audit: None,
        suppressed_findings: Vec::new(),
        config: None,
    }
}

pub fn sources() -> SourceCache {
    let s = SourceCache::new();
    s.insert("k8s/web.yaml", WEB_YAML);
    s.insert("k8s/config.yaml", CONFIG_YAML);
    s.insert("k8s/rbac.yaml", RBAC_YAML);
    s
}

/// The fixed report with its privileged-container finding suppressed inline, its
/// credentials finding suppressed by the configuration, a warning, and the configuration
/// summary of a repository file that lowers a severity and excludes everything.
#[allow(dead_code)] // not every test binary uses it
pub fn suppressed_report() -> Report<'static> {
    use eksguard_model::{SuppressionNote, SuppressionSource};
    use eksguard_report::{
        ConfigSummary, ConfigSuppressEntry, SeverityOverride, SuppressedReportFinding,
    };
    let mut r = report();
    let mut take = |rule: &str, source, reason: &str, until: Option<&str>| {
        let i = r.findings.iter().position(|f| f.rule.id == rule).unwrap();
        let finding = r.findings.remove(i);
        r.suppressed_findings.push(SuppressedReportFinding {
            finding,
            note: SuppressionNote {
                source,
                reason: reason.into(),
                until: until.map(String::from),
            },
        });
    };
    take(
        "POD001",
        SuppressionSource::Inline,
        "debug pod | removed \u{1b}[31m after use",
        Some("2030-01-31"),
    );
    take(
        "DATA004",
        SuppressionSource::Config,
        "values are placeholders",
        None,
    );
    r.suppressed = 2;
    r.warnings.push(InputError::new(
        "k8s/web.yaml",
        Some(6),
        "Deployment shop/web: `eksguard.io/ignore`: `*` would suppress rules by wildcard; it suppresses nothing",
    ));
    r.config = Some(ConfigSummary {
        file: Some("repo/.eksguard.toml".into()),
        origin: "discovered".into(),
        ignore: vec!["IMG".into()],
        exclude: vec!["**".into()],
        severity_overrides: vec![SeverityOverride {
            rule_id: "POD001".into(),
            default: Severity::Critical,
            severity: Severity::Low,
        }],
        suppress: vec![ConfigSuppressEntry {
            rules: vec!["DATA004".into()],
            kind: Some("ConfigMap".into()),
            namespace: Some("shop".into()),
            name: None,
            reason: "values are placeholders".into(),
            until: None,
            expired: false,
        }],
        fail_on: Some("never".into()),
        inline_suppressions: Some(true),
        ..Default::default()
    });
    r
}
