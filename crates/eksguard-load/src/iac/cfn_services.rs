//! CloudFormation resources of the AWS security services in the CLI shapes of
//! [`eksguard_model::aws_kinds`]. Amazon Inspector has no CloudFormation resource that
//! enables it.

use eksguard_model::aws_kinds as k;
use eksguard_model::{Node, Object, Value};

use super::{p, Res};
use crate::iac::ir::Slot;
use crate::iac::ir_services as svc;
use crate::iac::{document, str_node, Val, V};

/// The CloudFormation types read here.
pub const TYPES: &[&str] = &[
    "AWS::GuardDuty::Detector",
    "AWS::ECR::Repository",
    "AWS::ECR::RegistryScanningConfiguration",
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
    "AWS::CloudTrail::Trail",
    "AWS::EC2::FlowLog",
    "AWS::EC2::VPCEndpoint",
    "AWS::EFS::FileSystem",
    "AWS::ACMPCA::CertificateAuthority",
];

pub fn map(r: &Res) -> Vec<Object> {
    match r.ty {
        "AWS::GuardDuty::Detector" => vec![detector(r)],
        "AWS::ECR::Repository" => repository(r),
        "AWS::ECR::RegistryScanningConfiguration" => vec![registry_scanning(r)],
        "AWS::KMS::Key" => kms_key(r),
        "AWS::KMS::Alias" => vec![kms_alias(r)],
        "AWS::CloudTrail::Trail" => trail(r),
        "AWS::EC2::FlowLog" => vec![flow_log(r)],
        "AWS::EC2::VPCEndpoint" => vec![vpc_endpoint(r)],
        "AWS::EFS::FileSystem" => vec![efs(r)],
        "AWS::ACMPCA::CertificateAuthority" => vec![private_ca(r)],
        _ => Vec::new(),
    }
}

fn here(r: &Res, text: &str) -> Node {
    str_node(text, r.pos)
}

fn boolean(r: &Res, b: bool) -> Node {
    Node::new(Value::Bool(b), r.pos)
}

/// A boolean property as the API's `ENABLED` / `DISABLED` (unknown stays unknown).
fn status(v: &V) -> V {
    match v.as_bool() {
        Some(b) => V::new(
            Val::Str(if b { "ENABLED" } else { "DISABLED" }.into()),
            v.pos,
            v.file,
        ),
        None => v.clone(),
    }
}

fn detector(r: &Res) -> Object {
    let audit = "DataSources.Kubernetes.AuditLogs.Enable";
    let d = svc::Detector {
        at: at(r),
        id: r.sid(),
        status: Slot {
            v: r.get("Enable").map(status),
            own: p("Enable"),
        },
        audit_logs: Slot {
            v: r.slot(audit).v.as_ref().map(status),
            own: p(audit),
        },
        features: r.slot("Features"),
    };
    svc::detector(&d, r.shape(), r.path)
}

/// `AWS::ECR::Repository`, with its policy and lifecycle policy as the outputs of
/// `get-repository-policy` and `get-lifecycle-policy`.
fn repository(r: &Res) -> Vec<Object> {
    let name = r.text("RepositoryName").unwrap_or_else(|| r.sid());
    let arn = format!("arn:aws:cloudformation:::{}", r.sid());
    let mut name_slot = r.slot("RepositoryName");
    if name_slot.v.is_none() {
        name_slot.v = Some(V::new(Val::Str(name.clone()), r.pos, 0));
    }
    let repo = svc::Repository {
        at: at(r),
        id: arn.clone(),
        arn: arn.clone(),
        name_slot,
        tag_mutability: r.slot("ImageTagMutability"),
        exclusion_filters: r.slot("ImageTagMutabilityExclusionFilters"),
        scan_on_push: r.slot("ImageScanningConfiguration.ScanOnPush"),
    };
    let mut out = vec![svc::repository(&repo, r.shape(), r.path)];
    if let Some(doc) = r.get("RepositoryPolicyText") {
        let mut ps = r.shape();
        ps.set_node("repositoryName", here(r, &name), None);
        ps.set(
            "policyText",
            Some(&document(doc)),
            &p("RepositoryPolicyText"),
        );
        out.push(ps.build(k::ECR, k::ECR_REPOSITORY_POLICY, &name, r.path));
    }
    if let Some(lc) = r.get("LifecyclePolicy") {
        let mut ls = r.shape();
        ls.set_node("repositoryName", here(r, &name), None);
        ls.set(
            "lifecyclePolicyText",
            lc.get("LifecyclePolicyText"),
            &p("LifecyclePolicy.LifecyclePolicyText"),
        );
        out.push(ls.build(k::ECR, k::ECR_LIFECYCLE_POLICY, &name, r.path));
    }
    out
}

fn registry_scanning(r: &Res) -> Object {
    let mut s = r.shape();
    s.set(
        "scanningConfiguration.scanType",
        r.get("ScanType"),
        &p("ScanType"),
    );
    let rules = r.get("Rules").map(|rules| {
        let items = rules
            .items()
            .iter()
            .map(|rule| {
                let mut m = Vec::new();
                if let Some(f) = rule.get("ScanFrequency") {
                    m.push(("scanFrequency".to_string(), f.clone()));
                }
                if let Some(filters) = rule.get("RepositoryFilters") {
                    let items = filters
                        .items()
                        .iter()
                        .map(|f| {
                            let mut fm = Vec::new();
                            if let Some(v) = f.get("Filter") {
                                fm.push(("filter".to_string(), v.clone()));
                            }
                            if let Some(v) = f.get("FilterType") {
                                fm.push(("filterType".to_string(), v.clone()));
                            }
                            V::new(Val::Map(fm), f.pos, f.file)
                        })
                        .collect();
                    m.push((
                        "repositoryFilters".to_string(),
                        V::new(Val::List(items), filters.pos, filters.file),
                    ));
                }
                V::new(Val::Map(m), rule.pos, rule.file)
            })
            .collect();
        V::new(Val::List(items), rules.pos, rules.file)
    });
    s.set("scanningConfiguration.rules", rules.as_ref(), &p("Rules"));
    s.build(k::ECR, k::ECR_REGISTRY_SCANNING, &r.sid(), r.path)
}

fn at(r: &Res) -> svc::At {
    svc::At {
        pos: r.pos,
        file: 0,
    }
}

/// `AWS::KMS::Key` as `describe-key` and `get-key-rotation-status`; its ARN is the one
/// `Fn::GetAtt` gives (`arn:aws:kms:::key/<id>`).
fn kms_key(r: &Res) -> Vec<Object> {
    let key = svc::KmsKey {
        at: at(r),
        id: r.sid(),
        arn: format!("arn:aws:kms:::key/{}", r.sid()),
        key_spec: r.slot("KeySpec"),
        enabled: r.slot("Enabled"),
        rotation: r.slot("EnableKeyRotation"),
        rotation_period: r.slot("RotationPeriodInDays"),
    };
    svc::kms_key(&key, &|| r.shape(), r.path)
}

fn kms_alias(r: &Res) -> Object {
    let mut s = r.shape();
    s.set("AliasName", r.get("AliasName"), &p("AliasName"));
    s.set_link("TargetKeyId", r.get("TargetKeyId"), &p("TargetKeyId"));
    let name = r.text("AliasName").unwrap_or_else(|| r.sid());
    s.build(k::KMS, k::KMS_ALIAS, &name, r.path)
}

fn trail(r: &Res) -> Vec<Object> {
    let arn = format!("arn:aws:cloudformation:::{}", r.sid());
    let mut t = r.shape();
    t.set("Name", r.get("TrailName"), &p("TrailName"));
    t.set_node("TrailARN", here(r, &arn), None);
    match r.get("IsMultiRegionTrail") {
        Some(v) => t.set("IsMultiRegionTrail", Some(v), &p("IsMultiRegionTrail")),
        None => t.set_node(
            "IsMultiRegionTrail",
            boolean(r, false),
            Some(&p("IsMultiRegionTrail")),
        ),
    }
    let custom = r.get("EventSelectors").is_some() || r.get("AdvancedEventSelectors").is_some();
    t.set_node("HasCustomEventSelectors", boolean(r, custom), None);
    t.set(
        "EventSelectors",
        r.get("EventSelectors"),
        &p("EventSelectors"),
    );
    t.set(
        "AdvancedEventSelectors",
        r.get("AdvancedEventSelectors"),
        &p("AdvancedEventSelectors"),
    );
    let insights = r
        .get("InsightSelectors")
        .is_some_and(|i| !i.items().is_empty());
    t.set_node("HasInsightSelectors", boolean(r, insights), None);
    t.set(
        "InsightSelectors",
        r.get("InsightSelectors"),
        &p("InsightSelectors"),
    );
    let mut st = r.shape();
    st.set_node("TrailARN", here(r, &arn), None);
    st.set("IsLogging", r.get("IsLogging"), &p("IsLogging"));
    vec![
        t.build(k::CLOUDTRAIL, k::CLOUDTRAIL_TRAIL, &arn, r.path),
        st.build(k::CLOUDTRAIL, k::CLOUDTRAIL_TRAIL_STATUS, &arn, r.path),
    ]
}

fn flow_log(r: &Res) -> Object {
    let f = svc::FlowLog {
        at: at(r),
        id: r.sid(),
        resource: Some((r.slot("ResourceId"), None)),
        resource_type: r.slot("ResourceType"),
        traffic_type: r.slot("TrafficType"),
    };
    svc::flow_log(&f, r.shape(), r.path)
}

fn vpc_endpoint(r: &Res) -> Object {
    let mut s = r.shape();
    s.set_node("VpcEndpointId", here(r, &r.sid()), None);
    s.set("ServiceName", r.get("ServiceName"), &p("ServiceName"));
    match r.get("VpcEndpointType") {
        Some(v) => s.set("VpcEndpointType", Some(v), &p("VpcEndpointType")),
        None => s.set_node("VpcEndpointType", here(r, "Gateway"), None),
    }
    s.set_link("VpcId", r.get("VpcId"), &p("VpcId"));
    s.set_node("State", here(r, "available"), None);
    if let Some(doc) = r.get("PolicyDocument") {
        s.set("PolicyDocument", Some(&document(doc)), &p("PolicyDocument"));
    }
    s.build(k::EC2, k::EC2_VPC_ENDPOINT, &r.sid(), r.path)
}

fn efs(r: &Res) -> Object {
    let f = svc::FileSystem {
        at: at(r),
        id: r.sid(),
        performance_mode: r.slot("PerformanceMode"),
        encrypted: r.slot("Encrypted"),
        kms_key: r.slot("KmsKeyId"),
    };
    svc::file_system(&f, r.shape(), r.path)
}

fn private_ca(r: &Res) -> Object {
    let mut s = r.shape();
    let arn = format!("arn:aws:cloudformation:::{}", r.sid());
    s.set_node("Arn", here(r, &arn), None);
    match r.get("UsageMode") {
        Some(v) => s.set("UsageMode", Some(v), &p("UsageMode")),
        None => s.set_node(
            "UsageMode",
            here(r, "GENERAL_PURPOSE"),
            Some(&p("UsageMode")),
        ),
    }
    s.build(k::ACM_PCA, k::ACMPCA_CA, &arn, r.path)
}
