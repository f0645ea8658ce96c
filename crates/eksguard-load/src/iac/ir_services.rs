//! The typed form of the AWS security-service resources both Terraform and CloudFormation
//! declare (GuardDuty detectors, ECR repositories, KMS keys, EFS file systems, VPC flow
//! logs), filled by each front-end and
//! turned into the CLI shapes of [`eksguard_model::aws_kinds`] here alone. Fields the API
//! defaults when the code leaves them out take the default at the resource, mapped to the
//! field they would be written in.

use std::sync::Arc;

use eksguard_model::aws_kinds as k;
use eksguard_model::{Node, Object, Pos, Value};

use super::ir::Slot;
use super::{str_node, Shape, Val, V};

/// Where a resource is, for the values the reader derives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct At {
    pub pos: Pos,
    pub file: u32,
}

impl At {
    fn v(self, val: Val) -> V {
        V::new(val, self.pos, self.file)
    }
}

/// Sets `cli` from the slot, or from `default` at `at` (mapped to the slot's path) when
/// the code leaves it out.
fn or_default(s: &mut Shape, cli: &str, slot: &Slot, default: V) {
    match &slot.v {
        Some(v) => s.set(cli, Some(v), &slot.own),
        None => s.set(cli, Some(&default), &slot.own),
    }
}

/// A KMS key: `describe-key` and `get-key-rotation-status`.
pub struct KmsKey {
    pub at: At,
    /// The key's ID and ARN as references to it give them.
    pub id: String,
    pub arn: String,
    pub key_spec: Slot,
    /// Whether the key is enabled (a boolean; the API's state is derived).
    pub enabled: Slot,
    pub rotation: Slot,
    pub rotation_period: Slot,
}

pub fn kms_key(k: &KmsKey, fresh: &dyn Fn() -> Shape, path: &Arc<str>) -> Vec<Object> {
    let pos = k.at.pos;
    let mut key = fresh();
    key.set_node("KeyId", str_node(&k.id, pos), None);
    key.set_node("Arn", str_node(&k.arn, pos), None);
    key.set_node("KeyManager", str_node("CUSTOMER", pos), None);
    key.set_node("Origin", str_node("AWS_KMS", pos), None);
    match &k.key_spec.v {
        Some(v) => key.set("KeySpec", Some(v), &k.key_spec.own),
        None => key.set_node("KeySpec", str_node("SYMMETRIC_DEFAULT", pos), None),
    }
    let state = match &k.enabled.v {
        Some(v) if v.is_unknown() => Some(v.clone()),
        Some(v) => v.as_bool().map(|b| {
            V::new(
                Val::Str(if b { "Enabled" } else { "Disabled" }.into()),
                v.pos,
                v.file,
            )
        }),
        None => Some(k.at.v(Val::Str("Enabled".into()))),
    };
    key.set("KeyState", state.as_ref(), &k.enabled.own);
    let mut rot = fresh();
    rot.set_node("KeyId", str_node(&k.arn, pos), None);
    or_default(
        &mut rot,
        "KeyRotationEnabled",
        &k.rotation,
        k.at.v(Val::Bool(false)),
    );
    rot.set(
        "RotationPeriodInDays",
        k.rotation_period.v.as_ref(),
        &k.rotation_period.own,
    );
    vec![
        key.build(k::KMS, k::KMS_KEY, &k.arn, path),
        rot.build(k::KMS, k::KMS_KEY_ROTATION, &k.arn, path),
    ]
}

/// An EFS file system: `describe-file-systems`.
pub struct FileSystem {
    pub at: At,
    pub id: String,
    pub performance_mode: Slot,
    pub encrypted: Slot,
    pub kms_key: Slot,
}

pub fn file_system(f: &FileSystem, mut s: Shape, path: &Arc<str>) -> Object {
    let pos = f.at.pos;
    s.set_node("FileSystemId", str_node(&f.id, pos), None);
    s.set_node("PerformanceMode", str_node("generalPurpose", pos), None);
    s.set(
        "PerformanceMode",
        f.performance_mode.v.as_ref(),
        &f.performance_mode.own,
    );
    or_default(&mut s, "Encrypted", &f.encrypted, f.at.v(Val::Bool(false)));
    s.set_link("KmsKeyId", f.kms_key.v.as_ref(), &f.kms_key.own);
    s.build(k::EFS, k::EFS_FILE_SYSTEM, &f.id, path)
}

/// A VPC flow log: one item of `describe-flow-logs`.
pub struct FlowLog {
    pub at: At,
    pub id: String,
    /// The VPC, subnet or interface logged, with the API's type of it (`VPC`, ...).
    pub resource: Option<(Slot, Option<String>)>,
    /// The type given in the code (CloudFormation's `ResourceType`).
    pub resource_type: Slot,
    pub traffic_type: Slot,
}

pub fn flow_log(f: &FlowLog, mut s: Shape, path: &Arc<str>) -> Object {
    let pos = f.at.pos;
    s.set_node("FlowLogId", str_node(&f.id, pos), None);
    if let Some((res, ty)) = &f.resource {
        s.set_link("ResourceId", res.v.as_ref(), &res.own);
        if let Some(ty) = ty {
            s.set_node("ResourceType", str_node(ty, pos), None);
        }
    }
    s.set(
        "ResourceType",
        f.resource_type.v.as_ref(),
        &f.resource_type.own,
    );
    s.set(
        "TrafficType",
        f.traffic_type.v.as_ref(),
        &f.traffic_type.own,
    );
    s.set_node(
        "FlowLogStatus",
        Node::new(Value::Str("ACTIVE".into()), pos),
        None,
    );
    s.build(k::EC2, k::EC2_FLOW_LOG, &f.id, path)
}

/// A GuardDuty detector: `get-detector`. The statuses are the API's `ENABLED` /
/// `DISABLED`, as each front-end reads its own booleans.
pub struct Detector {
    pub at: At,
    pub id: String,
    pub status: Slot,
    pub audit_logs: Slot,
    pub features: Slot,
}

pub fn detector(d: &Detector, mut s: Shape, path: &Arc<str>) -> Object {
    s.set_node(
        "ServiceRole",
        str_node("AWSServiceRoleForAmazonGuardDuty", d.at.pos),
        None,
    );
    s.set("Status", d.status.v.as_ref(), &d.status.own);
    s.set(
        "DataSources.Kubernetes.AuditLogs.Status",
        d.audit_logs.v.as_ref(),
        &d.audit_logs.own,
    );
    s.set("Features", d.features.v.as_ref(), &d.features.own);
    s.build(k::GUARDDUTY, k::GUARDDUTY_DETECTOR, &d.id, path)
}

/// An ECR repository: one item of `describe-repositories`.
pub struct Repository {
    pub at: At,
    /// The object's name (as the rules join it) and the ARN.
    pub id: String,
    pub arn: String,
    pub name_slot: Slot,
    pub tag_mutability: Slot,
    pub exclusion_filters: Slot,
    pub scan_on_push: Slot,
}

pub fn repository(r: &Repository, mut s: Shape, path: &Arc<str>) -> Object {
    s.set("repositoryName", r.name_slot.v.as_ref(), &r.name_slot.own);
    s.set_node("repositoryArn", str_node(&r.arn, r.at.pos), None);
    or_default(
        &mut s,
        "imageTagMutability",
        &r.tag_mutability,
        r.at.v(Val::Str("MUTABLE".into())),
    );
    s.set(
        "imageTagMutabilityExclusionFilters",
        r.exclusion_filters.v.as_ref(),
        &r.exclusion_filters.own,
    );
    or_default(
        &mut s,
        "imageScanningConfiguration.scanOnPush",
        &r.scan_on_push,
        r.at.v(Val::Bool(false)),
    );
    s.build(k::ECR, k::ECR_REPOSITORY, &r.id, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::FieldPath;

    fn shape() -> Shape {
        Shape::new(
            "terraform",
            "aws_kms_key",
            "aws_kms_key.k",
            Pos::new(1, 1),
            0,
        )
    }

    #[test]
    fn kms_defaults_sit_at_the_resource_and_map_to_their_field() {
        let p = FieldPath::parse;
        let key = KmsKey {
            at: At {
                pos: Pos::new(1, 1),
                file: 0,
            },
            id: "k".into(),
            arn: "arn:aws:kms:::key/k".into(),
            key_spec: Slot::absent(p("customer_master_key_spec")),
            enabled: Slot::of(
                Some(&V::new(Val::Bool(false), Pos::new(3, 3), 0)),
                p("is_enabled"),
            ),
            rotation: Slot::absent(p("enable_key_rotation")),
            rotation_period: Slot::absent(p("rotation_period_in_days")),
        };
        let objs = kms_key(&key, &shape, &Arc::from("main.tf"));
        let (k, rot) = (&objs[0], &objs[1]);
        assert_eq!(
            k.root.get("KeyState").and_then(Node::as_str),
            Some("Disabled")
        );
        assert_eq!(k.locate(&p("KeyState")), Some(Pos::new(3, 3)));
        assert_eq!(
            k.root.get("KeySpec").and_then(Node::as_str),
            Some("SYMMETRIC_DEFAULT")
        );
        assert_eq!(
            rot.root.get("KeyRotationEnabled").and_then(Node::as_bool),
            Some(false)
        );
        assert_eq!(rot.locate(&p("KeyRotationEnabled")), Some(Pos::new(1, 1)));
        assert_eq!(
            rot.report_path(&p("KeyRotationEnabled")).to_string(),
            "enable_key_rotation"
        );
    }

    #[test]
    fn flow_logs_name_what_they_log() {
        let p = FieldPath::parse;
        let at = At {
            pos: Pos::new(1, 1),
            file: 0,
        };
        let f = FlowLog {
            at,
            id: "fl".into(),
            resource: Some((
                Slot::of(
                    Some(&V::new(Val::Str("vpc-1".into()), Pos::new(2, 3), 0)),
                    p("vpc_id"),
                ),
                Some("VPC".into()),
            )),
            resource_type: Slot::absent(p("ResourceType")),
            traffic_type: Slot::absent(p("traffic_type")),
        };
        let o = flow_log(&f, shape(), &Arc::from("main.tf"));
        assert_eq!(
            o.root.get("ResourceId").and_then(Node::as_str),
            Some("vpc-1")
        );
        assert_eq!(
            o.root.get("ResourceType").and_then(Node::as_str),
            Some("VPC")
        );
        assert!(o.root.get("TrafficType").is_none());
        let e = file_system(
            &FileSystem {
                at,
                id: "fs".into(),
                performance_mode: Slot::absent(p("performance_mode")),
                encrypted: Slot::absent(p("encrypted")),
                kms_key: Slot::absent(p("kms_key_id")),
            },
            shape(),
            &Arc::from("main.tf"),
        );
        assert_eq!(e.root.get("Encrypted").and_then(Node::as_bool), Some(false));
        assert_eq!(
            e.root.get("PerformanceMode").and_then(Node::as_str),
            Some("generalPurpose")
        );
    }
}
