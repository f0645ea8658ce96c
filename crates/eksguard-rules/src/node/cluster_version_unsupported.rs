use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object, Severity, Value};

use crate::aws_iam::{is_eks_cluster, is_eksctl};
use crate::suppress::Date;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

/// The day the table below was last checked against the EKS release calendar; the
/// default of `as_of`, so that results do not change with the day a scan runs.
const TABLE_DATE: Date = Date(2026, 11, 28);

/// EKS Kubernetes versions (minor of 1.x) with the end of standard support and the end
/// of extended support (14 and 26 months after release).
const CALENDAR: &[(u32, Date, Date)] = &[
    (23, Date(2023, 10, 11), Date(2024, 10, 11)),
    (24, Date(2024, 1, 31), Date(2025, 1, 31)),
    (25, Date(2024, 5, 1), Date(2025, 5, 1)),
    (26, Date(2024, 6, 11), Date(2025, 6, 11)),
    (27, Date(2024, 7, 24), Date(2025, 7, 24)),
    (28, Date(2024, 11, 26), Date(2025, 11, 26)),
    (29, Date(2025, 3, 23), Date(2026, 3, 23)),
    (30, Date(2025, 7, 23), Date(2026, 7, 23)),
    (31, Date(2025, 11, 26), Date(2026, 11, 26)),
    (32, Date(2026, 3, 23), Date(2027, 3, 23)),
    (33, Date(2026, 7, 29), Date(2027, 7, 29)),
    (34, Date(2026, 12, 2), Date(2027, 12, 2)),
];

crate::rule_params! {
    pub struct Params {
        /// The date (YYYY-MM-DD) support is judged at; defaults to the date of the rule's
        /// release calendar. Set it to today's date in CI to age findings as time passes.
        as_of: String = TABLE_DATE.to_string(),
    }
}

declare_rule! {
    /// ## What it checks
    /// The cluster's Kubernetes version (`version` of `describe-cluster` output,
    /// `metadata.version` of an eksctl `ClusterConfig`) against a release calendar in the
    /// rule: past the end of EKS standard support it is a finding (medium, the cluster is
    /// in paid extended support), past the end of extended support too (high, EKS
    /// upgrades such clusters on its own schedule). Versions before 1.23 are past all
    /// support.
    ///
    /// Support is judged at the date of parameter `as_of`, by default the date the
    /// calendar was last checked (2026-11-28), so results do not depend on the day of the
    /// scan; versions newer than the calendar's last (1.34) are not reported. An eksctl
    /// config without `metadata.version` gets eksctl's current default and is not
    /// reported. An unquoted `version: 1.30` reads as the number 1.3 in YAML; since EKS
    /// never ran 1.1–1.9, a one-digit minor is read as its tens (1.3 as 1.30).
    ///
    /// ## Why it matters
    /// Versions out of standard support cost more and receive fewer fixes, and once
    /// extended support ends EKS upgrades the control plane itself, at a time you do not
    /// choose, breaking workloads that use removed APIs.
    ///
    /// ## Example
    /// ```json
    /// {"cluster": {"name": "prod", "version": "1.28"}}
    /// ```
    ///
    /// ## Fix
    /// Upgrade the cluster one minor version at a time to a version in standard support,
    /// checking removed APIs before each step.
    pub ClusterVersionUnsupported {
        id: "NODE013",
        name: "cluster-version-unsupported",
        severity: Medium,
        data: [Eks],
        scope: Objects(&[k::EKS_CLUSTER, "ClusterConfig"]),
        summary: "Cluster Kubernetes version is past EKS standard support",
        remediation: "Upgrade the cluster to a Kubernetes version in EKS standard support.",
        params: Params,
    }
}

/// The minor version of `1.<minor>` as written in `node`.
fn minor_version(node: &Node) -> Option<u32> {
    let text = match &node.value {
        Value::Float(f) => {
            let s = format!("{f}");
            let (_, m) = s.split_once('.')?;
            // A float lost the trailing zero of 1.20, 1.30, ...
            if m.len() == 1 {
                format!("1.{m}0")
            } else {
                s
            }
        }
        _ => node.scalar_text()?,
    };
    match crate::aws_ec2::minor_version(&text)? {
        (1, minor) => Some(minor),
        _ => None,
    }
}

impl ObjectRule for ClusterVersionUnsupported {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let field = if is_eks_cluster(obj) {
            "version"
        } else if is_eksctl(obj) {
            "metadata.version"
        } else {
            return;
        };
        let Some(minor) = obj.root.at(field).and_then(minor_version) else {
            return;
        };
        let as_of = Date::parse(&cx.params::<Params>(&Self::META).as_of).unwrap_or(TABLE_DATE);
        let path = FieldPath::parse(field);
        let oldest = CALENDAR[0].0;
        if minor < oldest {
            out.report_with(
                obj,
                path,
                Severity::High,
                format!("Kubernetes 1.{minor} is past all EKS support (versions before 1.{oldest} had no extended support)"),
            );
            return;
        }
        let Some((_, standard, extended)) = CALENDAR.iter().find(|(m, _, _)| *m == minor) else {
            return;
        };
        if as_of >= *extended {
            out.report_with(
                obj,
                path,
                Severity::High,
                format!("Kubernetes 1.{minor} left EKS extended support on {extended} (standard support ended {standard}; as of {as_of})"),
            );
        } else if as_of >= *standard {
            out.report(
                obj,
                path,
                format!("Kubernetes 1.{minor} left EKS standard support on {standard} and is in extended support until {extended} (as of {as_of})"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: Value) -> Node {
        Node::new(v, eksguard_model::Pos::NONE)
    }

    #[test]
    fn versions_as_written() {
        assert_eq!(minor_version(&n(Value::Str("1.29".into()))), Some(29));
        assert_eq!(minor_version(&n(Value::Str("v1.30.2".into()))), Some(30));
        assert_eq!(minor_version(&n(Value::Float(1.3))), Some(30));
        assert_eq!(minor_version(&n(Value::Float(1.29))), Some(29));
        assert_eq!(minor_version(&n(Value::Str("2.0".into()))), None);
        assert_eq!(Date::parse(&Params::default().as_of), Some(TABLE_DATE));
    }

    fn severities(version: &str, as_of: Option<&str>) -> Vec<Severity> {
        use crate::engine::{Engine, EngineConfig};
        use crate::{registry, Params};
        use eksguard_load::files::load_text;
        use eksguard_load::LoadOptions;
        let text = format!(
            r#"{{"cluster": {{"name": "c", "arn": "arn:aws:eks:eu-west-1:1:cluster/c", "version": "{version}"}}}}"#
        );
        let inv = load_text("c.json", text.as_bytes(), &LoadOptions::default());
        let mut params = Params::default();
        if let Some(d) = as_of {
            params.0.insert(
                "NODE013".into(),
                [("as_of".to_string(), serde_json::json!(d))]
                    .into_iter()
                    .collect(),
            );
        }
        let config = EngineConfig {
            select: vec!["NODE013".into()],
            params,
            ..EngineConfig::default()
        };
        Engine::new(registry::all(), config)
            .run(&inv)
            .findings
            .iter()
            .map(|f| f.severity)
            .collect()
    }

    #[test]
    fn as_of_moves_the_boundaries() {
        assert_eq!(severities("1.31", None), [Severity::High]);
        assert_eq!(severities("1.31", Some("2025-11-25")), []);
        assert_eq!(severities("1.31", Some("2025-11-26")), [Severity::Medium]);
        assert_eq!(severities("1.31", Some("2026-11-26")), [Severity::High]);
        assert_eq!(severities("1.34", None), []);
        assert_eq!(severities("1.99", None), []);
    }
}
