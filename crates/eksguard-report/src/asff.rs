//! Findings in the AWS Security Finding Format (ASFF), as Security Hub imports them: a
//! JSON array that `aws securityhub batch-import-findings --findings file://…` accepts (in
//! batches of 100) and that `--security-hub` sends itself.
//!
//! The `Id` is the baseline fingerprint (rule, resource, field path: no line numbers)
//! under a digest of the scan's scope, so a finding keeps its Id across scans of the same
//! cluster or paths, and the same manifest scanned for two clusters gives two findings.

use std::io::Write;

use eksguard_model::Severity;
use serde_json::{json, Map, Value};

use crate::{Report, ReportFinding};

pub const SCHEMA_VERSION: &str = "2018-10-08";
/// The `ProductFields` key naming the scope a finding was imported for: what an import
/// compares to find the findings of its earlier runs.
pub const SCOPE_KEY: &str = "eksguard/scope";

// Security Hub's limits on field lengths.
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 1024;
const RECOMMENDATION_MAX: usize = 512;
const OTHER_VALUE_MAX: usize = 1024;

/// Where the findings go and what they were scanned for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsffTarget {
    pub account: String,
    pub region: String,
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// What was scanned, e.g. `cluster:arn:aws:eks:…:cluster/shop` or `path:/repo/k8s`.
    pub scope: String,
    /// RFC 3339 time of the scan (`CreatedAt`, `UpdatedAt`).
    pub now: String,
}

impl AsffTarget {
    /// The account's default product, which accepts findings from any tool it runs.
    pub fn product_arn(&self) -> String {
        format!(
            "arn:{}:securityhub:{}:{}:product/{}/default",
            self.partition, self.region, self.account, self.account
        )
    }

    /// A short digest of the scope, part of every Id.
    fn scope_digest(&self) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(self.scope.as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The scope as `ProductFields` holds it: whole when it fits Security Hub's 2,048
    /// characters, else cut and followed by its digest, the same on every run.
    pub fn scope_value(&self) -> String {
        if self.scope.chars().count() <= 2048 {
            return self.scope.clone();
        }
        let head: String = self.scope.chars().take(2000).collect();
        format!("{head}… #{}", self.scope_digest())
    }

    pub fn finding_id(&self, f: &ReportFinding) -> String {
        format!("eksguard/{}/{}", self.scope_digest(), f.fingerprint())
    }
}

fn label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low => "LOW",
        Severity::Info => "INFORMATIONAL",
    }
}

/// At most `n` characters.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n - 1).collect();
    t.push('…');
    t
}

/// Every finding of the report, the suppressed ones with workflow status `SUPPRESSED`.
pub fn findings(report: &Report<'_>, t: &AsffTarget) -> Vec<Value> {
    let mut out: Vec<Value> = report
        .findings
        .iter()
        .map(|f| finding(report.tool_version, f, t, None))
        .collect();
    out.extend(
        report
            .suppressed_findings
            .iter()
            .map(|s| finding(report.tool_version, &s.finding, t, Some(&s.note.reason))),
    );
    out
}

/// One finding as it is found (a follower's output), outside any report.
pub fn finding_as_found(f: &ReportFinding, t: &AsffTarget, tool_version: &str) -> Value {
    finding(tool_version, f, t, None)
}

fn finding(
    tool_version: &str,
    f: &ReportFinding,
    t: &AsffTarget,
    suppressed: Option<&str>,
) -> Value {
    let mut description = f.message.clone();
    match &f.location {
        Some(l) => description.push_str(&format!(
            " ({} at {}:{}, .{})",
            f.qualified_name(),
            l.file,
            l.line,
            f.field_path
        )),
        None => description.push_str(&format!(" ({} .{})", f.qualified_name(), f.field_path)),
    }
    let types = if f.event.is_some() {
        "Unusual Behaviors/User/Kubernetes audit events"
    } else {
        "Software and Configuration Checks/Industry and Regulatory Standards/EKS Best Practices"
    };
    let mut fields = Map::new();
    fields.insert(SCOPE_KEY.into(), json!(t.scope_value()));
    fields.insert("eksguard/rule".into(), json!(f.rule.id));
    fields.insert("eksguard/rule_name".into(), json!(f.rule.name));
    fields.insert("eksguard/fingerprint".into(), json!(f.fingerprint()));
    fields.insert(
        "eksguard/field_path".into(),
        json!(cut(&f.field_path, 2048)),
    );
    if let Some(l) = &f.location {
        fields.insert(
            "eksguard/location".into(),
            json!(cut(&format!("{}:{}:{}", l.file, l.line, l.column), 2048)),
        );
    }
    fields.insert("ProviderName".into(), json!("eksguard"));
    fields.insert("ProviderVersion".into(), json!(tool_version));
    let mut v = json!({
        "SchemaVersion": SCHEMA_VERSION,
        "Id": t.finding_id(f),
        "ProductArn": t.product_arn(),
        "GeneratorId": format!("eksguard/{}", f.rule.id),
        "AwsAccountId": t.account,
        "Region": t.region,
        "Types": [types],
        "CreatedAt": t.now,
        "UpdatedAt": t.now,
        "Severity": {"Label": label(f.severity), "Original": f.severity.as_str()},
        "Title": cut(&format!("{} {}: {}", f.rule.id, f.rule.name, f.rule.summary), TITLE_MAX),
        "Description": cut(&description, DESCRIPTION_MAX),
        "Remediation": {"Recommendation": {
            "Text": cut(f.rule.remediation, RECOMMENDATION_MAX),
            "Url": f.rule.help_uri(),
        }},
        "ProductFields": fields,
        "Resources": [resource(f, t)],
        "Compliance": {"Status": "FAILED"},
        "RecordState": "ACTIVE",
    });
    if let Some(reason) = suppressed {
        v["Workflow"] = json!({"Status": "SUPPRESSED"});
        v["Note"] = json!({
            "Text": cut(reason, 512),
            "UpdatedBy": "eksguard",
            "UpdatedAt": t.now,
        });
    }
    v
}

/// The resource a finding is on: typed for the AWS resources Security Hub knows, `Other`
/// with the Kubernetes kind, namespace and name otherwise.
fn resource(f: &ReportFinding, t: &AsffTarget) -> Value {
    let r = &f.resource;
    let aws = r.api_version.starts_with("aws:");
    let arn = |service: &str, region: &str, path: &str| {
        if r.name.starts_with("arn:") {
            r.name.clone()
        } else {
            format!(
                "arn:{}:{service}:{region}:{}:{path}{}",
                t.partition, t.account, r.name
            )
        }
    };
    let typed = match (aws, r.kind.as_str()) {
        (true, "EKSCluster") => Some(("AwsEksCluster", arn("eks", &t.region, "cluster/"))),
        (true, "IAMRole" | "IAMAttachedPolicies") => Some(("AwsIamRole", arn("iam", "", "role/"))),
        (true, "EC2SecurityGroup") => Some((
            "AwsEc2SecurityGroup",
            arn("ec2", &t.region, "security-group/"),
        )),
        (true, "EC2LaunchTemplateVersion") => {
            // `lt-0abc:3`: the template, whatever its version.
            let id = r.name.split(':').next().unwrap_or(&r.name);
            Some((
                "AwsEc2LaunchTemplate",
                if r.name.starts_with("arn:") {
                    r.name.clone()
                } else {
                    format!(
                        "arn:{}:ec2:{}:{}:launch-template/{id}",
                        t.partition, t.region, t.account
                    )
                },
            ))
        }
        (true, "EC2Subnet") => Some(("AwsEc2Subnet", arn("ec2", &t.region, "subnet/"))),
        (true, "EC2Instance") => Some(("AwsEc2Instance", arn("ec2", &t.region, "instance/"))),
        _ => None,
    };
    match typed {
        Some((kind, id)) => {
            // An ARN names its own region; IAM's names none.
            let region = id
                .split(':')
                .nth(3)
                .filter(|r| !r.is_empty())
                .unwrap_or(&t.region);
            json!({"Type": kind, "Id": id, "Partition": t.partition, "Region": region})
        }
        None => {
            let mut other = Map::new();
            other.insert("kind".into(), json!(cut(&r.kind, OTHER_VALUE_MAX)));
            other.insert(
                "apiVersion".into(),
                json!(cut(&r.api_version, OTHER_VALUE_MAX)),
            );
            if let Some(ns) = &r.namespace {
                other.insert("namespace".into(), json!(cut(ns, OTHER_VALUE_MAX)));
            }
            other.insert("name".into(), json!(cut(&r.name, OTHER_VALUE_MAX)));
            other.insert("scope".into(), json!(cut(&t.scope, OTHER_VALUE_MAX)));
            json!({
                "Type": "Other",
                "Id": cut(&f.qualified_name(), 512),
                "Partition": t.partition,
                "Region": t.region,
                "Details": {"Other": other},
            })
        }
    }
}

pub(crate) fn render(
    report: &Report<'_>,
    t: &AsffTarget,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    crate::write_json(&findings(report, t), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::{ResourceRef, RuleMeta};

    static RULE: RuleMeta = RuleMeta {
        id: "IAM003",
        name: "node-role-admin",
        severity: Severity::Info,
        data: eksguard_model::DataSet::of(&[eksguard_model::Data::Iam]),
        scope: eksguard_model::Scope::Inventory,
        reads: &[],
        summary: "summary",
        remediation: "Fix it.",
        docs: "",
        params: None,
        guide: &[],
    };

    fn on(api_version: &str, kind: &str, name: &str) -> ReportFinding {
        ReportFinding {
            rule: &RULE,
            severity: Severity::Info,
            message: "m".into(),
            resource: ResourceRef {
                api_version: api_version.into(),
                kind: kind.into(),
                namespace: None,
                name: name.into(),
            },
            location: None,
            field_path: "a.b".into(),
            event: None,
        }
    }

    fn target(region: &str, partition: &str) -> AsffTarget {
        AsffTarget {
            account: "111122223333".into(),
            region: region.into(),
            partition: partition.into(),
            scope: "cluster:shop".into(),
            now: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn aws_resources_get_arns_of_their_partition() {
        let t = target("cn-north-1", "aws-cn");
        let role = resource(&on("aws:iam", "IAMAttachedPolicies", "shop-nodes"), &t);
        assert_eq!(role["Type"], "AwsIamRole");
        assert_eq!(role["Id"], "arn:aws-cn:iam::111122223333:role/shop-nodes");
        // IAM ARNs name no region: the target's stands.
        assert_eq!(role["Region"], "cn-north-1");
        let cluster = resource(
            &on(
                "aws:eks",
                "EKSCluster",
                "arn:aws:eks:eu-west-1:111122223333:cluster/x",
            ),
            &t,
        );
        assert_eq!(cluster["Region"], "eu-west-1");
        // A Kubernetes kind named like an AWS one is still a Kubernetes object.
        let other = resource(&on("v1", "EKSCluster", "x"), &t);
        assert_eq!(other["Type"], "Other");
        assert_eq!(
            t.product_arn(),
            "arn:aws-cn:securityhub:cn-north-1:111122223333:product/111122223333/default"
        );
    }

    #[test]
    fn labels_and_lengths() {
        assert_eq!(label(Severity::Info), "INFORMATIONAL");
        assert_eq!(label(Severity::Critical), "CRITICAL");
        let long = "x".repeat(2000);
        assert_eq!(cut(&long, DESCRIPTION_MAX).chars().count(), DESCRIPTION_MAX);
        let t = target("eu-west-1", "aws");
        let f = on("v1", "Pod", "p");
        let id = t.finding_id(&f);
        assert_eq!(
            id,
            format!("eksguard/{}/{}", t.scope_digest(), f.fingerprint())
        );
        assert_eq!(t.scope_digest().len(), 16);
        assert_eq!(t.scope_value(), "cluster:shop");
        let long = AsffTarget {
            scope: format!("path:{}", "/very/long/path".repeat(300)),
            ..t
        };
        let v = long.scope_value();
        assert!(v.chars().count() <= 2048);
        assert!(v.ends_with(&long.scope_digest()));
    }
}
