//! Terraform resources of the AWS security services (GuardDuty, Inspector, ECR, KMS,
//! CloudTrail, flow logs, VPC endpoints, EFS, ACM Private CA) in the CLI shapes of
//! [`eksguard_model::aws_kinds`]. A value known only at apply stays unknown, so the
//! rules leave what depends on it undecided.

use eksguard_model::aws_kinds as k;
use eksguard_model::Object;

use super::{p, Res};
use crate::iac::ir::Slot;
use crate::iac::ir_services as svc;
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
    let audit = r
        .block("datasources")
        .and_then(|d| d.get("kubernetes"))
        .and_then(V::first)
        .and_then(|k| k.get("audit_logs"))
        .and_then(V::first)
        .and_then(|a| a.get("enable"));
    let d = svc::Detector {
        at: at(r),
        id: r.stand_in(),
        status: Slot {
            v: status(r, r.get("enable"), Some(true)),
            own: p("enable"),
        },
        audit_logs: Slot {
            v: status(r, audit, None),
            own: p("datasources.kubernetes.audit_logs.enable"),
        },
        features: Slot::absent(p("feature")),
    };
    svc::detector(&d, r.shape(), r.path)
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
        k::GUARDDUTY_DETECTOR_FEATURE,
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
    let repo = svc::Repository {
        at: at(r),
        id: r.text("name").unwrap_or_else(|| r.stand_in()),
        arn: format!("arn:aws:terraform:::{}", r.stand_in()),
        name_slot: slot(r, "name"),
        tag_mutability: slot(r, "image_tag_mutability"),
        exclusion_filters: Slot {
            v: blocks(
                r.get("image_tag_mutability_exclusion_filter"),
                &[("filter", "filter"), ("filterType", "filter_type")],
            ),
            own: p("image_tag_mutability_exclusion_filter"),
        },
        scan_on_push: Slot::of(
            r.block("image_scanning_configuration")
                .and_then(|b| b.get("scan_on_push")),
            p("image_scanning_configuration.scan_on_push"),
        ),
    };
    svc::repository(&repo, r.shape(), r.path)
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

fn slot(r: &Res, k: &str) -> Slot {
    Slot::of(r.get(k), p(k))
}

fn at(r: &Res) -> svc::At {
    svc::At {
        pos: r.pos,
        file: r.file,
    }
}

fn kms_key(r: &Res) -> Vec<Object> {
    let key = svc::KmsKey {
        at: at(r),
        id: r.stand_in(),
        arn: key_arn(r),
        key_spec: slot(r, "customer_master_key_spec"),
        enabled: slot(r, "is_enabled"),
        rotation: slot(r, "enable_key_rotation"),
        rotation_period: slot(r, "rotation_period_in_days"),
    };
    svc::kms_key(&key, &|| r.shape(), r.path)
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
    // The last of the three the code gives decides, as it did field by field.
    let resource = [
        ("vpc_id", "VPC"),
        ("subnet_id", "Subnet"),
        ("eni_id", "NetworkInterface"),
    ]
    .into_iter()
    .rfind(|(own, _)| r.get(own).is_some())
    .map(|(own, ty)| (slot(r, own), Some(ty.to_string())));
    let f = svc::FlowLog {
        at: at(r),
        id: r.stand_in(),
        resource,
        resource_type: Slot::absent(p("resource_type")),
        traffic_type: slot(r, "traffic_type"),
    };
    svc::flow_log(&f, r.shape(), r.path)
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
    let f = svc::FileSystem {
        at: at(r),
        id: r.stand_in(),
        performance_mode: slot(r, "performance_mode"),
        encrypted: slot(r, "encrypted"),
        kms_key: slot(r, "kms_key_id"),
    };
    svc::file_system(&f, r.shape(), r.path)
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
