//! Terraform resources of the AWS security services (GuardDuty, Inspector, ECR, KMS,
//! CloudTrail, flow logs, VPC endpoints, EFS, ACM Private CA) in the CLI shapes of
//! [`eksguard_model::aws_kinds`]. A value known only at apply stays unknown, so the
//! rules leave what depends on it undecided.

use eksguard_model::aws_kinds as k;
use eksguard_model::Object;

use super::{p, Res};
use crate::iac::{document, Val, V};

/// The Terraform types read here.
pub const TYPES: &[&str] = &[
    "aws_guardduty_detector",
    "aws_guardduty_detector_feature",
    "aws_guardduty_organization_configuration_feature",
    "aws_inspector2_enabler",
    "aws_inspector2_organization_configuration",
    "aws_ecr_repository",
    "aws_ecr_registry_scanning_configuration",
    "aws_ecr_repository_policy",
    "aws_ecr_lifecycle_policy",
    "aws_kms_key",
    "aws_kms_alias",
    "aws_cloudtrail",
    "aws_flow_log",
    "aws_vpc_endpoint",
    "aws_efs_file_system",
    "aws_acmpca_certificate_authority",
];

pub fn map(r: &Res) -> Vec<Object> {
    match r.ty {
        "aws_guardduty_detector" => vec![detector(r)],
        "aws_guardduty_detector_feature" | "aws_guardduty_organization_configuration_feature" => {
            vec![feature(r)]
        }
        "aws_inspector2_enabler" => enabler(r),
        "aws_inspector2_organization_configuration" => vec![inspector_org(r)],
        "aws_ecr_repository" => vec![repository(r)],
        "aws_ecr_registry_scanning_configuration" => vec![registry_scanning(r)],
        "aws_ecr_repository_policy" => vec![repository_policy(r)],
        "aws_ecr_lifecycle_policy" => vec![lifecycle_policy(r)],
        "aws_kms_key" => kms_key(r),
        "aws_kms_alias" => vec![kms_alias(r)],
        "aws_cloudtrail" => cloudtrail(r),
        "aws_flow_log" => vec![flow_log(r)],
        "aws_vpc_endpoint" => vec![vpc_endpoint(r)],
        "aws_efs_file_system" => vec![efs(r)],
        "aws_acmpca_certificate_authority" => vec![private_ca(r)],
        _ => Vec::new(),
    }
}

fn s(text: &str, at: &V) -> V {
    V::new(Val::Str(text.to_string()), at.pos, at.file)
}

fn here(r: &Res, text: &str) -> V {
    V::new(Val::Str(text.to_string()), r.pos, r.file)
}

fn boolean(r: &Res, b: bool) -> V {
    V::new(Val::Bool(b), r.pos, r.file)
}

/// A boolean of the code as the API's `ENABLED` / `DISABLED`; unknown stays unknown;
/// absent takes `default` (at the resource), or stays absent.
fn status(r: &Res, v: Option<&V>, default: Option<bool>) -> Option<V> {
    match v {
        Some(v) if v.is_unknown() => Some(v.clone()),
        Some(v) => v
            .as_bool()
            .map(|b| s(if b { "ENABLED" } else { "DISABLED" }, v))
            .or_else(|| v.text().map(|t| s(&t.to_ascii_uppercase(), v))),
        None => default.map(|b| here(r, if b { "ENABLED" } else { "DISABLED" })),
    }
}

/// A list of blocks, each turned into a map of CLI keys by `fields` (CLI key, code key).
fn blocks(v: Option<&V>, fields: &[(&str, &str)]) -> Option<V> {
    let v = v?;
    if v.is_unknown() {
        return Some(v.clone());
    }
    let items = v
        .items()
        .iter()
        .map(|b| {
            let m = fields
                .iter()
                .filter_map(|(cli, own)| Some((cli.to_string(), b.get(own)?.clone())))
                .collect();
            V::new(Val::Map(m), b.pos, b.file)
        })
        .collect();
    Some(V::new(Val::List(items), v.pos, v.file))
}

fn detector(r: &Res) -> Object {
    let mut sh = r.shape();
    sh.set_node(
        "ServiceRole",
        super::str_node("AWSServiceRoleForAmazonGuardDuty", r.pos),
        None,
    );
    let st = status(r, r.get("enable"), Some(true));
    sh.set("Status", st.as_ref(), &p("enable"));
    let audit = r
        .block("datasources")
        .and_then(|d| d.get("kubernetes"))
        .and_then(V::first)
        .and_then(|k| k.get("audit_logs"))
        .and_then(V::first)
        .and_then(|a| a.get("enable"));
    if let Some(a) = status(r, audit, None) {
        sh.set(
            "DataSources.Kubernetes.AuditLogs.Status",
            Some(&a),
            &p("datasources.kubernetes.audit_logs.enable"),
        );
    }
    sh.build(k::GUARDDUTY, k::GUARDDUTY_DETECTOR, &r.stand_in(), r.path)
}

fn feature(r: &Res) -> Object {
    let mut sh = r.shape();
    sh.set("Name", r.get("name"), &p("name"));
    // The organisation feature says `auto_enable` (NEW, ALL, NONE).
    let st = match (r.get("status"), r.get("auto_enable")) {
        (Some(v), _) => Some(v.clone()),
        (None, Some(a)) => a.text().map(|t| {
            s(
                if t.eq_ignore_ascii_case("NONE") {
                    "DISABLED"
                } else {
                    "ENABLED"
                },
                a,
            )
        }),
        _ => None,
    };
    let own = if r.get("status").is_some() {
        "status"
    } else {
        "auto_enable"
    };
    sh.set("Status", st.as_ref(), &p(own));
    let extra = blocks(
        r.get("additional_configuration"),
        &[("Name", "name"), ("Status", "status")],
    );
    sh.set(
        "AdditionalConfiguration",
        extra.as_ref(),
        &p("additional_configuration"),
    );
    sh.build(
        k::GUARDDUTY,
        "GuardDutyDetectorFeature",
        &r.stand_in(),
        r.path,
    )
}

/// `aws_inspector2_enabler`: one account status per account, with the resource types it
/// enables.
fn enabler(r: &Res) -> Vec<Object> {
    let Some(types) = r.get("resource_types") else {
        return Vec::new();
    };
    let accounts: Vec<String> = r
        .get("account_ids")
        .map(V::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(V::text)
        .collect();
    let accounts = if accounts.is_empty() {
        vec![r.stand_in()]
    } else {
        accounts
    };
    accounts
        .iter()
        .map(|account| {
            let mut sh = r.shape();
            sh.set_node("accountId", super::str_node(account, r.pos), None);
            sh.set_node("state.status", super::str_node("ENABLED", r.pos), None);
            for (cli, ty) in [
                ("resourceState.ec2.status", "EC2"),
                ("resourceState.ecr.status", "ECR"),
            ] {
                let v = if types.is_unknown() {
                    types.clone()
                } else {
                    let on = types.items().iter().any(|t| t.as_str() == Some(ty));
                    s(if on { "ENABLED" } else { "DISABLED" }, types)
                };
                sh.set(cli, Some(&v), &p("resource_types"));
            }
            sh.build(k::INSPECTOR2, k::INSPECTOR_ACCOUNT_STATUS, account, r.path)
        })
        .collect()
}

fn inspector_org(r: &Res) -> Object {
    let mut sh = r.shape();
    sh.set_node("accountId", super::str_node(&r.stand_in(), r.pos), None);
    let auto = r.block("auto_enable");
    for (cli, own) in [
        ("resourceState.ec2.status", "ec2"),
        ("resourceState.ecr.status", "ecr"),
    ] {
        let v = status(r, auto.and_then(|a| a.get(own)), None);
        sh.set(cli, v.as_ref(), &p(&format!("auto_enable.{own}")));
    }
    sh.build(
        k::INSPECTOR2,
        k::INSPECTOR_ACCOUNT_STATUS,
        &r.stand_in(),
        r.path,
    )
}

fn repository(r: &Res) -> Object {
    let mut sh = r.shape();
    let name = r.text("name").unwrap_or_else(|| r.stand_in());
    sh.set("repositoryName", r.get("name"), &p("name"));
    let arn = format!("arn:aws:terraform:::{}", r.stand_in());
    sh.set_node("repositoryArn", super::str_node(&arn, r.pos), None);
    match r.get("image_tag_mutability") {
        Some(v) => sh.set("imageTagMutability", Some(v), &p("image_tag_mutability")),
        None => sh.set(
            "imageTagMutability",
            Some(&here(r, "MUTABLE")),
            &p("image_tag_mutability"),
        ),
    }
    let filters = blocks(
        r.get("image_tag_mutability_exclusion_filter"),
        &[("filter", "filter"), ("filterType", "filter_type")],
    );
    sh.set(
        "imageTagMutabilityExclusionFilters",
        filters.as_ref(),
        &p("image_tag_mutability_exclusion_filter"),
    );
    let scan = r
        .block("image_scanning_configuration")
        .and_then(|b| b.get("scan_on_push"));
    match scan {
        Some(v) => sh.set(
            "imageScanningConfiguration.scanOnPush",
            Some(v),
            &p("image_scanning_configuration.scan_on_push"),
        ),
        None => sh.set(
            "imageScanningConfiguration.scanOnPush",
            Some(&boolean(r, false)),
            &p("image_scanning_configuration.scan_on_push"),
        ),
    }
    sh.build(k::ECR, k::ECR_REPOSITORY, &name, r.path)
}

fn registry_scanning(r: &Res) -> Object {
    let mut sh = r.shape();
    sh.set(
        "scanningConfiguration.scanType",
        r.get("scan_type"),
        &p("scan_type"),
    );
    let rules = r.get("rule").map(|rules| {
        let items = rules
            .items()
            .iter()
            .map(|rule| {
                let mut m = Vec::new();
                if let Some(f) = rule.get("scan_frequency") {
                    m.push(("scanFrequency".to_string(), f.clone()));
                }
                if let Some(f) = blocks(
                    rule.get("repository_filter"),
                    &[("filter", "filter"), ("filterType", "filter_type")],
                ) {
                    m.push(("repositoryFilters".to_string(), f));
                }
                V::new(Val::Map(m), rule.pos, rule.file)
            })
            .collect();
        V::new(Val::List(items), rules.pos, rules.file)
    });
    sh.set("scanningConfiguration.rules", rules.as_ref(), &p("rule"));
    sh.build(k::ECR, k::ECR_REGISTRY_SCANNING, &r.stand_in(), r.path)
}

fn repository_policy(r: &Res) -> Object {
    let mut sh = r.shape();
    sh.set("repositoryName", r.get("repository"), &p("repository"));
    if let Some(doc) = r.get("policy") {
        sh.set("policyText", Some(&document(doc)), &p("policy"));
    }
    let name = r.text("repository").unwrap_or_else(|| r.stand_in());
    sh.build(k::ECR, k::ECR_REPOSITORY_POLICY, &name, r.path)
}

fn lifecycle_policy(r: &Res) -> Object {
    let mut sh = r.shape();
    sh.set("repositoryName", r.get("repository"), &p("repository"));
    sh.set("lifecyclePolicyText", r.get("policy"), &p("policy"));
    let name = r.text("repository").unwrap_or_else(|| r.stand_in());
    sh.build(k::ECR, k::ECR_LIFECYCLE_POLICY, &name, r.path)
}

/// The ARN the HCL reader gives a reference to the key's `arn`.
fn key_arn(r: &Res) -> String {
    format!("arn:aws:terraform:::{}", r.stand_in())
}

fn kms_key(r: &Res) -> Vec<Object> {
    let arn = key_arn(r);
    let mut key = r.shape();
    key.set_node("KeyId", super::str_node(&r.stand_in(), r.pos), None);
    key.set_node("Arn", super::str_node(&arn, r.pos), None);
    key.set_node("KeyManager", super::str_node("CUSTOMER", r.pos), None);
    key.set_node("Origin", super::str_node("AWS_KMS", r.pos), None);
    match r.get("customer_master_key_spec") {
        Some(v) => key.set("KeySpec", Some(v), &p("customer_master_key_spec")),
        None => key.set_node("KeySpec", super::str_node("SYMMETRIC_DEFAULT", r.pos), None),
    }
    let state = match r.get("is_enabled") {
        Some(v) if v.is_unknown() => Some(v.clone()),
        Some(v) => v
            .as_bool()
            .map(|b| s(if b { "Enabled" } else { "Disabled" }, v)),
        None => Some(here(r, "Enabled")),
    };
    key.set("KeyState", state.as_ref(), &p("is_enabled"));
    let mut rot = r.shape();
    rot.set_node("KeyId", super::str_node(&arn, r.pos), None);
    match r.get("enable_key_rotation") {
        Some(v) => rot.set("KeyRotationEnabled", Some(v), &p("enable_key_rotation")),
        None => rot.set(
            "KeyRotationEnabled",
            Some(&boolean(r, false)),
            &p("enable_key_rotation"),
        ),
    }
    rot.set(
        "RotationPeriodInDays",
        r.get("rotation_period_in_days"),
        &p("rotation_period_in_days"),
    );
    vec![
        key.build(k::KMS, k::KMS_KEY, &arn, r.path),
        rot.build(k::KMS, k::KMS_KEY_ROTATION, &arn, r.path),
    ]
}

fn kms_alias(r: &Res) -> Object {
    let mut sh = r.shape();
    sh.set("AliasName", r.get("name"), &p("name"));
    sh.set_link("TargetKeyId", r.get("target_key_id"), &p("target_key_id"));
    let name = r.text("name").unwrap_or_else(|| r.stand_in());
    sh.build(k::KMS, k::KMS_ALIAS, &name, r.path)
}

fn cloudtrail(r: &Res) -> Vec<Object> {
    let arn = format!("arn:aws:terraform:::{}", r.stand_in());
    let mut t = r.shape();
    t.set("Name", r.get("name"), &p("name"));
    t.set_node("TrailARN", super::str_node(&arn, r.pos), None);
    match r.get("is_multi_region_trail") {
        Some(v) => t.set("IsMultiRegionTrail", Some(v), &p("is_multi_region_trail")),
        None => t.set(
            "IsMultiRegionTrail",
            Some(&boolean(r, false)),
            &p("is_multi_region_trail"),
        ),
    }
    let selectors = blocks(
        r.get("event_selector"),
        &[
            ("ReadWriteType", "read_write_type"),
            ("IncludeManagementEvents", "include_management_events"),
        ],
    );
    let advanced = r.get("advanced_event_selector").map(|a| {
        let items = a
            .items()
            .iter()
            .map(|sel| {
                let fields = blocks(
                    sel.get("field_selector"),
                    &[("Field", "field"), ("Equals", "equals")],
                );
                let mut m = Vec::new();
                if let Some(n) = sel.get("name") {
                    m.push(("Name".to_string(), n.clone()));
                }
                if let Some(f) = fields {
                    m.push(("FieldSelectors".to_string(), f));
                }
                V::new(Val::Map(m), sel.pos, sel.file)
            })
            .collect();
        V::new(Val::List(items), a.pos, a.file)
    });
    let custom = selectors.is_some() || advanced.is_some();
    t.set_node(
        "HasCustomEventSelectors",
        eksguard_model::Node::new(eksguard_model::Value::Bool(custom), r.pos),
        None,
    );
    t.set("EventSelectors", selectors.as_ref(), &p("event_selector"));
    t.set(
        "AdvancedEventSelectors",
        advanced.as_ref(),
        &p("advanced_event_selector"),
    );
    let insights = blocks(
        r.get("insight_selector"),
        &[("InsightType", "insight_type")],
    );
    t.set_node(
        "HasInsightSelectors",
        eksguard_model::Node::new(
            eksguard_model::Value::Bool(insights.as_ref().is_some_and(|i| !i.items().is_empty())),
            r.pos,
        ),
        None,
    );
    t.set(
        "InsightSelectors",
        insights.as_ref(),
        &p("insight_selector"),
    );
    let mut st = r.shape();
    st.set_node("TrailARN", super::str_node(&arn, r.pos), None);
    match r.get("enable_logging") {
        Some(v) => st.set("IsLogging", Some(v), &p("enable_logging")),
        None => st.set("IsLogging", Some(&boolean(r, true)), &p("enable_logging")),
    }
    vec![
        t.build(k::CLOUDTRAIL, k::CLOUDTRAIL_TRAIL, &arn, r.path),
        st.build(k::CLOUDTRAIL, k::CLOUDTRAIL_TRAIL_STATUS, &arn, r.path),
    ]
}

fn flow_log(r: &Res) -> Object {
    let mut sh = r.shape();
    sh.set_node("FlowLogId", super::str_node(&r.stand_in(), r.pos), None);
    for (own, ty) in [
        ("vpc_id", "VPC"),
        ("subnet_id", "Subnet"),
        ("eni_id", "NetworkInterface"),
    ] {
        if let Some(v) = r.get(own) {
            sh.set_link("ResourceId", Some(v), &p(own));
            sh.set_node("ResourceType", super::str_node(ty, r.pos), None);
        }
    }
    sh.set("TrafficType", r.get("traffic_type"), &p("traffic_type"));
    sh.set_node("FlowLogStatus", super::str_node("ACTIVE", r.pos), None);
    sh.build(k::EC2, k::EC2_FLOW_LOG, &r.stand_in(), r.path)
}

fn vpc_endpoint(r: &Res) -> Object {
    let mut sh = r.shape();
    sh.set_node("VpcEndpointId", super::str_node(&r.stand_in(), r.pos), None);
    sh.set("ServiceName", r.get("service_name"), &p("service_name"));
    match r.get("vpc_endpoint_type") {
        Some(v) => sh.set("VpcEndpointType", Some(v), &p("vpc_endpoint_type")),
        None => sh.set_node("VpcEndpointType", super::str_node("Gateway", r.pos), None),
    }
    sh.set_link("VpcId", r.get("vpc_id"), &p("vpc_id"));
    sh.set_node("State", super::str_node("available", r.pos), None);
    match r.get("policy") {
        Some(doc) => sh.set("PolicyDocument", Some(&document(doc)), &p("policy")),
        // Without a policy, AWS attaches the default full-access one.
        None => sh.set("PolicyDocument", Some(&full_access(r)), &p("service_name")),
    }
    sh.build(k::EC2, k::EC2_VPC_ENDPOINT, &r.stand_in(), r.path)
}

/// The policy AWS gives an endpoint created without one.
fn full_access(r: &Res) -> V {
    let star = || here(r, "*");
    let statement = V::new(
        Val::Map(vec![
            ("Effect".to_string(), here(r, "Allow")),
            ("Principal".to_string(), star()),
            ("Action".to_string(), star()),
            ("Resource".to_string(), star()),
        ]),
        r.pos,
        r.file,
    );
    V::new(
        Val::Map(vec![(
            "Statement".to_string(),
            V::new(Val::List(vec![statement]), r.pos, r.file),
        )]),
        r.pos,
        r.file,
    )
}

fn efs(r: &Res) -> Object {
    let mut sh = r.shape();
    sh.set_node("FileSystemId", super::str_node(&r.stand_in(), r.pos), None);
    sh.set_node(
        "PerformanceMode",
        super::str_node("generalPurpose", r.pos),
        None,
    );
    sh.set(
        "PerformanceMode",
        r.get("performance_mode"),
        &p("performance_mode"),
    );
    match r.get("encrypted") {
        Some(v) => sh.set("Encrypted", Some(v), &p("encrypted")),
        None => sh.set("Encrypted", Some(&boolean(r, false)), &p("encrypted")),
    }
    sh.set_link("KmsKeyId", r.get("kms_key_id"), &p("kms_key_id"));
    sh.build(k::EFS, k::EFS_FILE_SYSTEM, &r.stand_in(), r.path)
}

fn private_ca(r: &Res) -> Object {
    let mut sh = r.shape();
    let arn = format!("arn:aws:terraform:::{}", r.stand_in());
    sh.set_node("Arn", super::str_node(&arn, r.pos), None);
    match r.get("usage_mode") {
        Some(v) => sh.set("UsageMode", Some(v), &p("usage_mode")),
        None => sh.set(
            "UsageMode",
            Some(&here(r, "GENERAL_PURPOSE")),
            &p("usage_mode"),
        ),
    }
    sh.build(k::ACM_PCA, k::ACMPCA_CA, &arn, r.path)
}
