//! Findings in the AWS Security Finding Format (ASFF), as Security Hub imports them: a
//! JSON array that `aws securityhub batch-import-findings --findings file://…` accepts (in
//! batches of 100) and that `--security-hub` sends itself.
//!
//! The `Id` is the baseline fingerprint (rule, resource, field path: no line numbers)
//! under a digest of the scan's scope, so a finding keeps its Id across scans of the same
//! cluster or paths, and the same manifest scanned for two clusters gives two findings.

use eksguard_model::aws_kinds as k;
use std::io::Write;

use eksguard_model::Severity;
use serde_json::{json, Map, Value};

use crate::{Report, ReportFinding};

pub const SCHEMA_VERSION: &str = "2018-10-08";
/// The `ProductFields` key naming the scope a finding was imported for: what an import
/// compares to find the findings of its earlier runs.
pub const SCOPE_KEY: &str = "eksguard/scope";

// Security Hub's documented limits on field lengths (the length constraints of
// `AwsSecurityFinding` and the ASFF attributes). They are applied here to bytes of UTF-8,
// which are never fewer than the characters or UTF-16 units a limit may count.
const ID_MAX: usize = 512;
const GENERATOR_ID_MAX: usize = 512;
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 1024;
const RECOMMENDATION_MAX: usize = 512;
const NOTE_MAX: usize = 512;
const PRODUCT_FIELD_VALUE_MAX: usize = 2048;
const RESOURCE_ID_MAX: usize = 512;
/// `Resources[].Details.Other`: values as short as a resource tag's.
const OTHER_VALUE_MAX: usize = 256;

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
        digest(&self.scope)
    }

    /// The scope as `ProductFields` holds it: whole when it fits Security Hub's 2,048
    /// characters, else cut and followed by its digest, the same on every run.
    pub fn scope_value(&self) -> String {
        cut_id(&self.scope, PRODUCT_FIELD_VALUE_MAX)
    }

    /// The finding's Id: the same for the same finding on every run, and within
    /// Security Hub's 512 characters however long the names in it.
    pub fn finding_id(&self, f: &ReportFinding) -> String {
        cut_id(
            &format!("eksguard/{}/{}", self.scope_digest(), f.fingerprint()),
            ID_MAX,
        )
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

/// 16 hex digits of the SHA-256 of `s`.
fn digest(s: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(s.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The longest start of `s` of at most `n` bytes that ends on a character boundary.
fn head(s: &str, n: usize) -> &str {
    let mut end = n.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// At most `n` bytes of UTF-8, cut on a character boundary and marked with `…`.
fn cut(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    format!("{}…", head(s, n - '…'.len_utf8()))
}

/// An identifier in at most `n` bytes: whole when it fits, else its start and a digest of
/// the whole, so that two identifiers cut to one start stay apart and each is the same
/// on every run.
fn cut_id(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let tail = format!("…#{}", digest(s));
    format!("{}{tail}", head(s, n - tail.len()))
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
        json!(cut(&f.field_path, PRODUCT_FIELD_VALUE_MAX)),
    );
    if let Some(l) = &f.location {
        fields.insert(
            "eksguard/location".into(),
            json!(cut(
                &format!("{}:{}:{}", l.file, l.line, l.column),
                PRODUCT_FIELD_VALUE_MAX
            )),
        );
    }
    fields.insert("ProviderName".into(), json!("eksguard"));
    fields.insert("ProviderVersion".into(), json!(tool_version));
    let mut v = json!({
        "SchemaVersion": SCHEMA_VERSION,
        "Id": t.finding_id(f),
        "ProductArn": t.product_arn(),
        "GeneratorId": cut_id(&format!("eksguard/{}", f.rule.id), GENERATOR_ID_MAX),
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
            "Text": cut(reason, NOTE_MAX),
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
        (true, k::EKS_CLUSTER) => Some(("AwsEksCluster", arn("eks", &t.region, "cluster/"))),
        (true, k::IAM_ROLE | k::IAM_ATTACHED_POLICIES) => {
            Some(("AwsIamRole", arn("iam", "", "role/")))
        }
        (true, k::EC2_SECURITY_GROUP) => Some((
            "AwsEc2SecurityGroup",
            arn("ec2", &t.region, "security-group/"),
        )),
        (true, k::EC2_LAUNCH_TEMPLATE_VERSION) => {
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
        (true, k::EC2_SUBNET) => Some(("AwsEc2Subnet", arn("ec2", &t.region, "subnet/"))),
        (true, k::EC2_INSTANCE) => Some(("AwsEc2Instance", arn("ec2", &t.region, "instance/"))),
        _ => None,
    };
    match typed {
        Some((kind, id)) => {
            // An ARN names its own region; IAM's names none.
            let region = id
                .split(':')
                .nth(3)
                .filter(|r| is_region(r))
                .unwrap_or(&t.region);
            json!({
                "Type": kind,
                "Id": cut_id(&id, RESOURCE_ID_MAX),
                "Partition": t.partition,
                "Region": region,
            })
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
                "Id": cut_id(&f.qualified_name(), RESOURCE_ID_MAX),
                "Partition": t.partition,
                "Region": t.region,
                "Details": {"Other": other},
            })
        }
    }
}

/// What a region looks like (`eu-west-1`, `us-gov-east-1`): a name taken from an ARN is
/// used only then.
fn is_region(r: &str) -> bool {
    (1..=32).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
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
            facts: Default::default(),
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

    /// Every string of a finding within its limit, in bytes.
    fn within_limits(v: &Value) {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("").len();
        assert!(s("/Id") <= ID_MAX);
        assert!(s("/GeneratorId") <= GENERATOR_ID_MAX);
        assert!(s("/Title") <= TITLE_MAX);
        assert!(s("/Description") <= DESCRIPTION_MAX);
        assert!(s("/Remediation/Recommendation/Text") <= RECOMMENDATION_MAX);
        assert!(
            s("/Resources/0/Id") <= RESOURCE_ID_MAX,
            "{}",
            s("/Resources/0/Id")
        );
        assert!(s("/Resources/0/Region") <= 32);
        for (_, x) in v["ProductFields"].as_object().unwrap() {
            assert!(x.as_str().unwrap().len() <= PRODUCT_FIELD_VALUE_MAX);
        }
        if let Some(o) = v
            .pointer("/Resources/0/Details/Other")
            .and_then(Value::as_object)
        {
            for (_, x) in o {
                assert!(x.as_str().unwrap().len() <= OTHER_VALUE_MAX);
            }
        }
    }

    #[test]
    fn long_names_are_cut_to_the_limits_on_char_boundaries_with_stable_ids() {
        let t = target("eu-west-1", "aws");
        let long = "é".repeat(1500);
        for f in [
            on("aws:iam", "IAMRole", &long),
            on(
                "aws:eks",
                "EKSCluster",
                &format!("arn:aws:eks:{long}:1:cluster/x"),
            ),
            on("v1", "Pod", &long),
        ] {
            let v = finding("1.0", &f, &t, Some(&long));
            within_limits(&v);
            // Cut on a character boundary, so still valid UTF-8 (a `String`) ending in é.
            let id = v["Resources"][0]["Id"].as_str().unwrap();
            assert!(id.contains("é…#"), "{id}");
            // The same finding has the same Ids on every run; another long name others.
            let again = finding("1.0", &f, &t, None);
            assert_eq!(again["Id"], v["Id"]);
            assert_eq!(again["Resources"][0]["Id"], v["Resources"][0]["Id"]);
            let mut g = f.clone();
            g.resource.name.push('x');
            let other = finding("1.0", &g, &t, None);
            assert_ne!(other["Resources"][0]["Id"], v["Resources"][0]["Id"]);
            assert_ne!(other["Id"], v["Id"]);
        }
        let cluster = resource(
            &on(
                "aws:eks",
                "EKSCluster",
                "arn:aws:eks:not a region!:1:cluster/x",
            ),
            &t,
        );
        assert_eq!(cluster["Region"], "eu-west-1");
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcdé", 5), "ab…");
        assert_eq!(cut("aéé", 4), "a…");
        assert_eq!(cut_id("abc", 3), "abc");
    }

    #[test]
    fn labels_and_lengths() {
        assert_eq!(label(Severity::Info), "INFORMATIONAL");
        assert_eq!(label(Severity::Critical), "CRITICAL");
        let long = "x".repeat(2000);
        assert_eq!(cut(&long, DESCRIPTION_MAX).len(), DESCRIPTION_MAX);
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
        assert!(v.len() <= 2048);
        assert!(v.ends_with(&digest(&long.scope)));
    }
}
