//! Infrastructure as code through the built binary: Terraform HCL (resources, variables,
//! the EKS module in its three major versions), Terraform plans, CloudFormation YAML and
//! JSON, and CDK output. Each finding is checked by rule, resource as the code names it,
//! line and field path in the code's own terms.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{self, json};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/iac")
        .join(rel)
}

fn scan(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .env("NO_COLOR", "1")
        .args(["scan", "--no-config", "-f", "json"])
        .args(args)
        .output()
        .unwrap();
    json(&out)
}

/// `(rule, kind, name, line, field_path)` of every finding (or suppressed finding).
fn rows(v: &Value, key: &str) -> Vec<(String, String, String, u64, String)> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no `{key}` in {v}"))
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["resource"]["kind"].as_str().unwrap().to_string(),
                f["resource"]["name"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap_or(0),
                f["field_path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn row(
    rule: &str,
    kind: &str,
    name: &str,
    line: u64,
    path: &str,
) -> (String, String, String, u64, String) {
    (rule.into(), kind.into(), name.into(), line, path.into())
}

fn messages(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}: {}",
                e["file"].as_str().unwrap(),
                e["line"],
                e["message"].as_str().unwrap()
            )
        })
        .collect()
}

fn path(rel: &str) -> String {
    fixture(rel).to_string_lossy().into_owned()
}

#[test]
fn terraform_resources_reach_every_cluster_rule_with_lines_and_paths() {
    let v = scan(&[&path("tf-resources")]);
    let got = rows(&v, "findings");
    let c = "aws_eks_cluster";
    let main = "aws_eks_cluster.main";
    let want = [
        row("DATA001", c, main, 1, "encryption_config"),
        row("DET001", c, main, 1, "enabled_cluster_log_types"),
        row("DET002", c, main, 1, "enabled_cluster_log_types"),
        row(
            "IAM002",
            c,
            main,
            10,
            "vpc_config[0].endpoint_private_access",
        ),
        row(
            "IAM001",
            c,
            main,
            11,
            "vpc_config[0].public_access_cidrs[0]",
        ),
        row(
            "IAM003",
            c,
            main,
            15,
            "access_config[0].authentication_mode",
        ),
        row(
            "IAM004",
            c,
            main,
            16,
            "access_config[0].bootstrap_cluster_creator_admin_permissions",
        ),
        row(
            "NODE002",
            "aws_eks_node_group",
            "aws_eks_node_group.workers",
            51,
            "subnet_ids[0]",
        ),
        row(
            "NODE001",
            "aws_eks_node_group",
            "aws_eks_node_group.workers",
            55,
            "remote_access[0].ec2_ssh_key",
        ),
        row(
            "IRSA009",
            "aws_launch_template",
            "aws_launch_template.workers",
            68,
            "metadata_options[0].http_tokens",
        ),
        row(
            "IRSA009",
            "aws_launch_template",
            "aws_launch_template.workers",
            69,
            "metadata_options[0].http_put_response_hop_limit",
        ),
        row(
            "IRSA010",
            "aws_iam_role_policy_attachment",
            "aws_iam_role_policy_attachment.node[\"AmazonS3FullAccess\"]",
            91,
            "policy_arn",
        ),
        row(
            "IRSA010",
            "aws_iam_role_policy",
            "aws_iam_role_policy.node_extra",
            99,
            "policy.Statement[0].Action",
        ),
        row(
            "IRSA004",
            "aws_iam_role",
            "aws_iam_role.irsa",
            115,
            "assume_role_policy.Statement[0].Condition",
        ),
        row(
            "SG001",
            "aws_security_group_rule",
            "aws_security_group_rule.kubelet_open",
            129,
            "cidr_blocks[0]",
        ),
        row(
            "SG002",
            "aws_security_group_rule",
            "aws_security_group_rule.kubelet_open",
            129,
            "cidr_blocks[0]",
        ),
        row(
            "SG001",
            "aws_vpc_security_group_ingress_rule",
            "aws_vpc_security_group_ingress_rule.ssh",
            137,
            "cidr_ipv4",
        ),
        row(
            "SG002",
            "aws_vpc_security_group_ingress_rule",
            "aws_vpc_security_group_ingress_rule.ssh",
            137,
            "cidr_ipv4",
        ),
        row(
            "IAM006",
            "kubernetes_config_map_v1_data",
            "kubernetes_config_map_v1_data.aws_auth",
            161,
            "data.mapUsers[0].groups[0]",
        ),
        row(
            "IAM005",
            "kubernetes_config_map_v1_data",
            "kubernetes_config_map_v1_data.aws_auth",
            161,
            "data.mapUsers[0].userarn",
        ),
        row(
            "IRSA007",
            "aws_iam_role",
            "aws_iam_role.pod_identity",
            189,
            "assume_role_policy.Statement[0]",
        ),
        row(
            "IRSA008",
            "aws_eks_pod_identity_association",
            "aws_eks_pod_identity_association.other",
            201,
            "role_arn",
        ),
        row(
            "NODE004",
            "aws_eks_node_group",
            "aws_eks_node_group.old",
            210,
            "version",
        ),
        row(
            "NET010",
            "aws_eks_addon",
            "aws_eks_addon.vpc_cni",
            143,
            "configuration_values.enableNetworkPolicy",
        ),
        row(
            "IRSA006",
            "aws_iam_role",
            "aws_iam_role.irsa_no_aud",
            230,
            "assume_role_policy.Statement[0].Condition",
        ),
        row(
            "POD008",
            "kubernetes_manifest",
            "kubernetes_manifest.pod",
            175,
            "manifest.spec.hostPID",
        ),
    ];
    for w in &want {
        assert!(got.contains(w), "missing {w:?} in {got:#?}");
    }
    // The add-on has no role of its own: reported at the add-on, in Terraform's name.
    assert!(
        got.iter().any(|r| r.0 == "IRSA011"
            && r.2 == "aws_eks_addon.vpc_cni"
            && r.4 == "service_account_role_arn"),
        "{got:#?}"
    );
    // Every finding is named as Terraform names it; the unknown type is ignored.
    assert!(
        got.iter()
            .all(|r| r.1.starts_with("aws_") || r.1.starts_with("kubernetes_")),
        "{got:#?}"
    );
    assert!(!got.iter().any(|r| r.2.contains("aws_unknown_thing")));
    // The comment above the node group suppresses NODE003, with its reason and expiry.
    let sup = &v["suppressed"][0];
    assert_eq!(sup["rule_id"], "NODE003");
    assert_eq!(sup["resource"]["name"], "aws_eks_node_group.workers");
    assert_eq!(sup["reason"], "Bottlerocket migration planned");
    assert_eq!(sup["until"], "2099-01-01");
    assert_eq!(v["errors"].as_array().unwrap().len(), 0, "{v}");
}

#[test]
fn terraform_variables_follow_tfvars_precedence_and_var_file() {
    // terraform.tfvars turns the public endpoint on; z.auto.tfvars opens its CIDRs; the
    // KMS key is a resource of the directory, so encryption is decided.
    let v = scan(&[&path("tf-vars")]);
    assert_eq!(
        rows(&v, "findings"),
        [
            row(
                "IAM001",
                "aws_eks_cluster",
                "aws_eks_cluster.this",
                9,
                "vpc_config[0].public_access_cidrs[0]"
            ),
            row(
                "DET002",
                "aws_eks_cluster",
                "aws_eks_cluster.this",
                12,
                "enabled_cluster_log_types"
            ),
            // The Secrets key does not rotate (`enable_key_rotation` defaults to false).
            row(
                "DATA008",
                "aws_kms_key",
                "aws_kms_key.eks",
                26,
                "enable_key_rotation"
            ),
        ]
    );
    // Another variable file beside them is not applied, and the report says so.
    let w = messages(&v, "warnings");
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(
        w[0].contains("all-logs.tfvars:null: variable file not applied"),
        "{w:#?}"
    );
    // `--var-file` comes last and enables every log type.
    let v = scan(&[
        "--var-file",
        &path("tf-vars/all-logs.tfvars"),
        &path("tf-vars"),
    ]);
    assert_eq!(v["warnings"], serde_json::json!([]));
    assert_eq!(
        rows(&v, "findings"),
        [
            row(
                "IAM001",
                "aws_eks_cluster",
                "aws_eks_cluster.this",
                9,
                "vpc_config[0].public_access_cidrs[0]"
            ),
            row(
                "DATA008",
                "aws_kms_key",
                "aws_kms_key.eks",
                26,
                "enable_key_rotation"
            ),
        ]
    );
    // A variable file that is not there is an input error, not a silent default.
    let v = scan(&[
        "--var-file",
        &path("tf-vars/missing.tfvars"),
        &path("tf-vars"),
    ]);
    assert!(messages(&v, "errors")[0].contains("missing.tfvars"), "{v}");
}

#[test]
fn unknown_values_never_fire_and_are_counted() {
    let v = scan(&[&path("tf-unknown")]);
    let got = rows(&v, "findings");
    // The public endpoint comes from a module output: the world-open CIDR list alone
    // decides nothing. The launch template's count is a variable without a default.
    assert!(!got.iter().any(|r| r.0 == "IAM001"), "{got:#?}");
    assert!(!got.iter().any(|r| r.0 == "IRSA009"), "{got:#?}");
    // The private endpoint is decided (absent means off) and still reported.
    assert!(got.contains(&row(
        "IAM002",
        "aws_eks_cluster",
        "aws_eks_cluster.this",
        5,
        "vpc_config[0].endpoint_private_access"
    )));
    let w = messages(&v, "warnings");
    assert_eq!(w.len(), 2, "{w:#?}");
    assert!(w[0].ends_with(
        "main.tf:1: aws_eks_cluster/aws_eks_cluster.this: IAM001 left undecided: `vpc_config[0].endpoint_public_access` (`module.settings.public_endpoint`) is not known before apply"
    ), "{w:#?}");
    assert!(w[1].ends_with(
        "main.tf:12: aws_launch_template/aws_launch_template.nodes: IRSA009 left undecided: the resource's existence (`var.node_templates`) is not known before apply"
    ), "{w:#?}");
}

#[test]
fn hcl_syntax_errors_name_file_and_line_and_the_rest_is_scanned() {
    let v = scan(&[&path("tf-syntax")]);
    let e = messages(&v, "errors");
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].contains("bad.tf:4: invalid HCL:"), "{e:#?}");
    // good.tf beside it is read: its launch template sets no metadata options.
    assert_eq!(
        rows(&v, "findings"),
        [row(
            "IRSA009",
            "aws_launch_template",
            "aws_launch_template.lt",
            7,
            "metadata_options[0].http_tokens"
        )]
    );
    // A suppression comment without a reason suppresses nothing and says so at its line.
    let w = messages(&v, "warnings");
    assert!(w[0].contains("good.tf:6: aws_launch_template/aws_launch_template.lt: `eksguard:ignore` needs a reason"), "{w:#?}");
}

#[test]
fn eks_module_inputs_and_defaults_per_major_version() {
    let m = "module";
    let e = "module.eks";
    // v19: `cluster_` names; `{}` turns encryption off; node groups get hop limit 2 by
    // default; no authentication mode input (the API's CONFIG_MAP).
    let v = scan(&[&path("module-v19")]);
    let got = rows(&v, "findings");
    for w in [
        row("DET002", m, e, 1, "cluster_enabled_log_types"),
        row("IAM001", m, e, 1, "cluster_endpoint_public_access_cidrs[0]"),
        row("DATA001", m, e, 9, "cluster_encryption_config"),
        row(
            "IRSA009",
            m,
            e,
            14,
            "eks_managed_node_groups.general.metadata_options.http_put_response_hop_limit",
        ),
    ] {
        assert!(got.contains(&w), "missing {w:?} in {got:#?}");
    }
    let msg = |rule: &str| -> String {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule_id"] == rule)
            .unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        msg("IRSA009")
            .ends_with("(module default `metadata_options.http_put_response_hop_limit = 2`, v19)"),
        "{}",
        msg("IRSA009")
    );
    assert!(msg("IAM001").ends_with(
        "(module default `cluster_endpoint_public_access_cidrs = [\"0.0.0.0/0\"]`, v19)"
    ));

    // v20: defaults of `eks_managed_node_group_defaults` apply; a group's own map replaces
    // them; additional node security group rules and access entries are read.
    let v = scan(&[&path("module-v20")]);
    let got = rows(&v, "findings");
    for w in [
        row(
            "NODE003",
            m,
            e,
            25,
            "eks_managed_node_groups.legacy.ami_type",
        ),
        row(
            "IRSA009",
            m,
            e,
            26,
            "eks_managed_node_groups.legacy.metadata_options.http_tokens",
        ),
        row(
            "IRSA009",
            m,
            e,
            27,
            "eks_managed_node_groups.legacy.metadata_options.http_put_response_hop_limit",
        ),
        row(
            "NODE001",
            m,
            e,
            30,
            "eks_managed_node_groups.legacy.remote_access.ec2_ssh_key",
        ),
        row(
            "SG001",
            m,
            e,
            41,
            "node_security_group_additional_rules.ssh.cidr_blocks[0]",
        ),
        row(
            "SG002",
            m,
            e,
            41,
            "node_security_group_additional_rules.ssh.cidr_blocks[0]",
        ),
        row("IAM005", m, e, 47, "access_entries.ci.principal_arn"),
        // The module attaches its own node security group, not the cluster's, unless a
        // group asks for it (`quiet` does).
        row(
            "SG005",
            m,
            e,
            24,
            "eks_managed_node_groups.legacy.launchTemplate",
        ),
    ] {
        assert!(got.contains(&w), "missing {w:?} in {got:#?}");
    }
    // Restricted CIDRs, all logs, the module's own KMS key, API mode: none of these fire,
    // and the `quiet` group (defaults: hop limit 1, tokens required; the cluster security
    // group attached) is clean.
    for rule in ["IAM001", "DET002", "DATA001", "IAM003", "IAM002"] {
        assert!(
            !got.iter().any(|r| r.0 == rule && r.1 == m),
            "{rule} in {got:#?}"
        );
    }
    assert!(!got.iter().any(|r| r.4.contains(".quiet.")), "{got:#?}");
    // IRSA trusts written against the module's OIDC outputs, and against a provider made
    // from a cluster's issuer, join although the issuer is known only after apply.
    assert!(
        got.iter().any(|r| r.0 == "IRSA005"
            && r.2 == "aws_iam_role.irsa"
            && r.3 == 70
            && r.4
                .starts_with("assume_role_policy.Statement[0].Condition.StringLike[")
            && r.4.ends_with("module.eks.oidc:sub\"]")),
        "{got:#?}"
    );
    assert!(
        got.contains(&row(
            "IRSA004",
            "aws_iam_role",
            "aws_iam_role.own_irsa",
            100,
            "assume_role_policy.Statement[0].Condition"
        )),
        "{got:#?}"
    );

    // v21: names without `cluster_`; a node group's metadata map is merged field by
    // field over hop limit 1; `encryption_config = null` turns encryption off.
    let v = scan(&[&path("module-v21")]);
    let got = rows(&v, "findings");
    for w in [
        row("IAM001", m, e, 1, "endpoint_public_access_cidrs[0]"),
        row("NODE013", m, e, 6, "kubernetes_version"),
        row("DATA001", m, e, 10, "encryption_config"),
        row(
            "IRSA009",
            m,
            e,
            18,
            "eks_managed_node_groups.general.metadata_options.http_tokens",
        ),
    ] {
        assert!(got.contains(&w), "missing {w:?} in {got:#?}");
    }
    assert!(
        !got.iter()
            .any(|r| r.4.ends_with("http_put_response_hop_limit")),
        "{got:#?}"
    );
}

#[test]
fn cloudformation_yaml_short_tags_json_templates_and_metadata_suppression() {
    let v = scan(&[&path("cfn")]);
    let got = rows(&v, "findings");
    let c = "AWS::EKS::Cluster";
    for w in [
        row("IAM002", c, "Cluster", 25, "Properties.ResourcesVpcConfig.EndpointPrivateAccess"),
        row("IAM001", c, "Cluster", 27, "Properties.ResourcesVpcConfig.PublicAccessCidrs[0]"),
        row("DET002", c, "Cluster", 31, "Properties.Logging.ClusterLogging.EnabledTypes"),
        row("IRSA010", "AWS::IAM::Role", "NodeRole", 62, "Properties.ManagedPolicyArns[1].PolicyArn"),
        row(
            "IRSA009",
            "AWS::EC2::LaunchTemplate",
            "NodeTemplate",
            71,
            "Properties.LaunchTemplateData.MetadataOptions.HttpPutResponseHopLimit",
        ),
        row("NODE002", "AWS::EKS::Nodegroup", "Nodes", 80, "Properties.Subnets[0]"),
        row("SG001", "AWS::EC2::SecurityGroup", "NodeSecurityGroup", 93, "Properties.SecurityGroupIngress[0].CidrIp"),
        row("SG002", "AWS::EC2::SecurityGroup", "NodeSecurityGroup", 93, "Properties.SecurityGroupIngress[0].CidrIp"),
        row(
            "IRSA005",
            "AWS::IAM::Role",
            "AppRole",
            106,
            "Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringLike[\"oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub\"]",
        ),
        row("SG001", "AWS::EC2::SecurityGroupIngress", "Rdp", 15, "Properties.CidrIp"),
    ] {
        assert!(got.contains(&w), "missing {w:?} in {got:#?}");
    }
    // `!ImportValue` and a parameter that is not declared decide nothing.
    assert!(!got.iter().any(|r| r.2 == "Imported"), "{got:#?}");
    // The JSON template's cluster is private, fully logged and encrypted.
    assert!(
        !got.iter().any(|r| r.2 == "Cluster" && r.0 == "DATA001"),
        "{got:#?}"
    );
    let sup = &v["suppressed"][0];
    assert_eq!(
        (sup["rule_id"].as_str(), sup["resource"]["name"].as_str()),
        (Some("DATA001"), Some("Cluster"))
    );
    assert_eq!(
        sup["reason"],
        "secrets are encrypted by the platform's own KMS setup"
    );
    // The broken template is an error at its line; the others are scanned.
    let e = messages(&v, "errors");
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(
        e[0].contains("bad.yaml:6: document 1: invalid YAML"),
        "{e:#?}"
    );
}

#[test]
fn cdk_output_templates_are_read_and_build_files_left_alone() {
    let v = scan(&[&path("cdk.out")]);
    assert_eq!(
        rows(&v, "findings"),
        [
            row(
                "NODE013",
                "AWS::EKS::Cluster",
                "Cluster9EE0221C",
                17,
                "Properties.Version"
            ),
            row(
                "IAM001",
                "AWS::EKS::Cluster",
                "Cluster9EE0221C",
                22,
                "Properties.ResourcesVpcConfig.PublicAccessCidrs[0]"
            ),
            // CDK's key does not rotate unless `enableKeyRotation` is set.
            row(
                "DATA008",
                "AWS::KMS::Key",
                "Key961B73FD",
                29,
                "Properties.EnableKeyRotation"
            ),
        ]
    );
    assert_eq!(v["warnings"], serde_json::json!([]));
    assert_eq!(v["errors"], serde_json::json!([]));
}

#[test]
fn terraform_plans_walk_child_modules_with_indexed_addresses() {
    let v = scan(&[&path("plan/tfplan.json")]);
    let got = rows(&v, "findings");
    for w in [
        row(
            "IRSA009",
            "aws_launch_template",
            "aws_launch_template.nodes[0]",
            16,
            "metadata_options[0].http_put_response_hop_limit",
        ),
        row(
            "DATA001",
            "aws_eks_cluster",
            "module.eks.aws_eks_cluster.this[0]",
            35,
            "encryption_config",
        ),
        row(
            "NODE003",
            "aws_eks_node_group",
            "module.eks.aws_eks_node_group.this[\"default\"]",
            55,
            "ami_type",
        ),
    ] {
        assert!(got.contains(&w), "missing {w:?} in {got:#?}");
    }
    assert_eq!(
        v["findings"][0]["resource"]["api_version"],
        "terraform-plan"
    );
    // The CIDR list is known only after apply: IAM001 waits.
    assert!(!got.iter().any(|r| r.0 == "IAM001"), "{got:#?}");
    let w = messages(&v, "warnings");
    assert!(w[0].ends_with("module.eks.aws_eks_cluster.this[0]: IAM001 left undecided: `vpc_config[0].public_access_cidrs` (`(known after apply)`) is not known before apply"), "{w:#?}");
}

#[test]
fn terraform_corpus_plans_are_read_without_errors() {
    let Some(dir) = common::corpus("terraform") else {
        return;
    };
    let v = scan(&[&dir.to_string_lossy()]);
    assert_eq!(v["errors"], serde_json::json!([]), "{}", v["errors"]);
    let got = rows(&v, "findings");
    // Every plan holds an EKS cluster; each is read with its module path.
    assert!(
        got.iter()
            .any(|r| r.2 == "module.child_0.module.child_1_a.aws_eks_cluster.cluster"),
        "{got:#?}"
    );
    assert!(
        got.iter()
            .any(|r| r.2 == "aws_eks_cluster.eks_cluster" && r.0 == "DET001"),
        "{got:#?}"
    );
    assert!(
        got.iter().all(|r| r.3 > 0 && r.1.starts_with("aws_")),
        "{got:#?}"
    );
}

#[test]
fn the_terraform_eks_example_shows_what_the_readme_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/terraform-eks");
    let v = scan(&[&dir.to_string_lossy()]);
    let got = rows(&v, "findings");
    let e = "module.eks";
    for w in [
        row("IRSA005", "aws_iam_role", "aws_iam_role.payments", 16, "assume_role_policy.Statement[0].Condition.StringLike[\"oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub\"]"),
        row("IAM001", "module", e, 13, "cluster_endpoint_public_access_cidrs[0]"),
        row("IAM004", "module", e, 23, "enable_cluster_creator_admin_permissions"),
        row("IRSA009", "module", e, 29, "eks_managed_node_groups.default.metadata_options.http_put_response_hop_limit"),
        row("SG002", "module", e, 44, "node_security_group_additional_rules.ssh.cidr_blocks[0]"),
        row("IRSA009", "aws_launch_template", "aws_launch_template.batch", 9, "metadata_options[0].http_put_response_hop_limit"),
        row("SG002", "aws_security_group", "aws_security_group.batch_nodes", 24, "ingress[0].cidr_blocks[0]"),
        row("IRSA010", "aws_iam_role_policy_attachment", "aws_iam_role_policy_attachment.batch_nodes_admin", 65, "policy_arn"),
    ] {
        assert!(got.contains(&w), "missing {w:?} in {got:#?}");
    }
    // The self-built node group joins the module's cluster through its output.
    let sg = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["resource"]["name"] == "aws_security_group.batch_nodes")
        .unwrap();
    assert!(
        sg["message"]
            .as_str()
            .unwrap()
            .contains("node group `batch`"),
        "{sg}"
    );
    assert_eq!(v["errors"], serde_json::json!([]));
}

#[test]
fn hostile_terraform_ends_in_errors_or_unknowns_never_a_hang() {
    let d = common::temp_dir("iac-hostile");
    // A local listing itself fans out at every level; a count beyond reason; nesting past
    // the parser's bound; bytes that are not text.
    std::fs::write(
        d.join("fan.tf"),
        "locals {\n  a = [local.a, local.a, local.a, local.a]\n}\nresource \"aws_iam_role\" \"r\" {\n  count = 100000000\n  name  = local.a\n}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("deep.tf"),
        format!(
            "locals {{\n  x = {}1{}\n}}\n",
            "[".repeat(500),
            "]".repeat(500)
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("bin.tf"),
        b"resource \"x\" \"y\" {\n a = \"\xff\"\n}\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let v = scan(&[&d.to_string_lossy()]);
    assert!(started.elapsed().as_secs() < 60);
    let e = messages(&v, "errors");
    assert!(
        e.iter()
            .any(|m| m.contains("deep.tf:2: nesting deeper than 64 levels")),
        "{e:#?}"
    );
    assert!(
        e.iter().any(|m| m.contains("bin.tf:2: invalid UTF-8")),
        "{e:#?}"
    );
    // Instances are capped; none of them has a decided name, and nothing panicked.
    assert_eq!(v["summary"]["resources_scanned"], 256);
}

/// SG003 and SG004 in Terraform and CloudFormation: rules added by standalone resources
/// count for the group they add to, the group EKS creates for the cluster admits itself,
/// and only the node group whose security group has neither port is reported.
#[test]
fn control_plane_and_node_ports_see_standalone_rules_and_the_eks_created_group() {
    let sg_rows = |v: &Value| -> Vec<_> {
        rows(v, "findings")
            .into_iter()
            .filter(|r| r.0 == "SG003" || r.0 == "SG004")
            .collect()
    };
    let tf = scan(&[&path("tf-sg-ports")]);
    assert_eq!(
        sg_rows(&tf),
        vec![
            row(
                "SG003",
                "aws_eks_cluster",
                "aws_eks_cluster.ports",
                7,
                "vpc_config[0]"
            ),
            row(
                "SG004",
                "aws_eks_cluster",
                "aws_eks_cluster.ports",
                9,
                "vpc_config[0].security_group_ids[0]"
            ),
            row(
                "SG003",
                "aws_security_group",
                "aws_security_group.lonely",
                42,
                "ingress"
            ),
        ]
    );
    let cfn = scan(&[&path("cfn-sg-ports")]);
    assert_eq!(
        sg_rows(&cfn),
        vec![
            row(
                "SG003",
                "AWS::EKS::Cluster",
                "Cluster",
                10,
                "Properties.ResourcesVpcConfig"
            ),
            row(
                "SG004",
                "AWS::EKS::Cluster",
                "Cluster",
                12,
                "Properties.ResourcesVpcConfig.SecurityGroupIds[0]"
            ),
            row(
                "SG003",
                "AWS::EC2::SecurityGroup",
                "Lonely",
                38,
                "Properties.SecurityGroupIngress"
            ),
        ]
    );
    for v in [&tf, &cfn] {
        let sg003: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == "SG003")
            .map(|f| f["message"].as_str().unwrap())
            .collect();
        assert!(
            sg003.iter().all(|m| m.contains("node group `bad`")),
            "{sg003:#?}"
        );
        assert!(sg003[0].contains("admit no TCP 443"), "{}", sg003[0]);
        assert!(sg003[1].contains("admit no TCP 10250"), "{}", sg003[1]);
    }
}

/// Runs `scan` on `file` in a child that is killed if it outlives `secs`: inputs that
/// once took minutes must end, whatever the machine's speed.
fn scan_ending(file: &Path, secs: u64) -> Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eksguard"))
        .env("NO_COLOR", "1")
        .args(["scan", "--no-config", "-f", "json"])
        .arg(file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(secs) {
            child.kill().unwrap();
            panic!("scan of {} still running after {secs} s", file.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    json(&child.wait_with_output().unwrap())
}

#[test]
fn cloudformation_names_that_double_end_unknown_with_a_warning() {
    // 61 roles, each named by joining the previous role's `Ref` twice.
    let dir = common::temp_dir("cfn-doubling");
    let mut t = String::from(
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  R0:\n    Type: AWS::IAM::Role\n    Properties:\n",
    );
    t.push_str(&format!("      RoleName: {}\n", "r".repeat(15_000)));
    for i in 1..61 {
        let p = i - 1;
        t.push_str(&format!(
            "  R{i}:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: !Join ['', [!Ref R{p}, !Ref R{p}]]\n"
        ));
    }
    let file = dir.join("roles.yaml");
    std::fs::write(&file, t).unwrap();
    let v = scan_ending(&file, 120);
    assert_eq!(v["summary"]["resources_scanned"], 61, "{}", v["summary"]);
    let w = messages(&v, "warnings");
    let name = file.to_string_lossy();
    assert_eq!(
        w[0],
        format!(
            "{name}:18: resource `R3`: `Fn::Join` builds a string longer than 65536 bytes; its value is unknown"
        )
    );
}

#[test]
fn terraform_object_of_100k_keys_is_read_whole() {
    let dir = common::temp_dir("tf-100k");
    let mut t = String::from(CLUSTER);
    t.push_str("resource \"aws_subnet\" \"s\" {\n  tags = {\n");
    for i in 0..100_000 {
        t.push_str(&format!("    key_{i:06} = \"value\"\n"));
    }
    t.push_str("  }\n}\n");
    let file = dir.join("main.tf");
    std::fs::write(&file, t).unwrap();
    let v = scan_ending(&file, 120);
    assert_eq!(v["errors"], serde_json::json!([]));
    let got = rows(&v, "findings");
    assert!(
        got.contains(&row(
            "IAM001",
            "aws_eks_cluster",
            "aws_eks_cluster.c",
            5,
            "vpc_config[0].endpoint_public_access"
        )),
        "{got:?}"
    );
    assert_eq!(v["summary"]["resources_scanned"], 3, "{}", v["summary"]);
}

/// A cluster whose public endpoint is open (IAM001 at line 5).
const CLUSTER: &str = "resource \"aws_eks_cluster\" \"c\" {\n  name = \"c\"\n  role_arn = \"x\"\n  vpc_config {\n    endpoint_public_access = true\n  }\n}\n";

#[test]
fn comments_do_not_count_as_nesting() {
    let dir = common::temp_dir("tf-comment-parens");
    let file = dir.join("main.tf");
    std::fs::write(&file, format!("# {}\n{CLUSTER}", "(".repeat(70))).unwrap();
    let v = scan(&[&file.to_string_lossy()]);
    assert_eq!(v["errors"], serde_json::json!([]));
    assert!(rows(&v, "findings")
        .iter()
        .any(|r| r.0 == "IAM001" && r.2 == "aws_eks_cluster.c" && r.3 == 6));
}

#[test]
fn launch_template_key_pairs_and_public_addresses_in_terraform_and_cloudformation() {
    let v = scan(&[
        "--select",
        "NODE001,NODE002",
        &path("tf-nodes"),
        &path("cfn-nodes"),
    ]);
    let mut got = rows(&v, "findings");
    got.sort();
    let lt = "AWS::EC2::LaunchTemplate";
    let tf = "aws_launch_template";
    let mut want = vec![
        row(
            "NODE001",
            lt,
            "SshTemplate",
            8,
            "Properties.LaunchTemplateData.KeyName",
        ),
        row(
            "NODE002",
            lt,
            "SshTemplate",
            11,
            "Properties.LaunchTemplateData.NetworkInterfaces[0].AssociatePublicIpAddress",
        ),
        row("NODE001", tf, "aws_launch_template.ssh", 4, "key_name"),
        row(
            "NODE002",
            tf,
            "aws_launch_template.ssh",
            8,
            "network_interfaces[0].associate_public_ip_address",
        ),
    ];
    want.sort();
    // The hardened twins and the key pair known only at plan time give nothing.
    assert_eq!(got, want);
}

/// Application roles in code: the role, its attachments, customer-managed and inline
/// policies, its permissions boundary, a Pod Identity chain and identity providers meet
/// as the AWS CLI shapes do, and each finding names the code's own resource, line and path.
#[test]
fn application_roles_are_judged_in_terraform_and_cloudformation() {
    let wanted = |v: &Value| -> Vec<_> {
        rows(v, "findings")
            .into_iter()
            .filter(|r| r.0.starts_with("IRSA01") || r.0.starts_with("IRSA02") || r.0 == "IAM024")
            .collect()
    };
    let v = scan(&[&path("tf-app-roles")]);
    let got = wanted(&v);
    let want = [
        row(
            "IRSA021",
            "aws_iam_role",
            "aws_iam_role.orders",
            1,
            "permissions_boundary",
        ),
        row(
            "IRSA014",
            "aws_iam_role_policy_attachment",
            "aws_iam_role_policy_attachment.orders_admin",
            21,
            "policy_arn",
        ),
        row(
            "IRSA016",
            "aws_iam_policy",
            "aws_iam_policy.orders_custom",
            31,
            "policy.Statement[0].Action[1]",
        ),
        row(
            "IRSA015",
            "aws_iam_policy",
            "aws_iam_policy.orders_custom",
            36,
            "policy.Statement[1].Action",
        ),
        row(
            "IRSA019",
            "aws_eks_pod_identity_association",
            "aws_eks_pod_identity_association.billing",
            86,
            "role_arn",
        ),
        row(
            "IAM024",
            "aws_eks_identity_provider_config",
            "aws_eks_identity_provider_config.corp",
            96,
            "oidc[0].groups_claim",
        ),
    ];
    assert_eq!(got, want);

    let v = scan(&[&path("cfn/app-roles.yaml")]);
    let got = wanted(&v);
    let role = "AWS::IAM::Role";
    let want = [
        row(
            "IRSA021",
            role,
            "OrdersRole",
            3,
            "Properties.PermissionsBoundary",
        ),
        row(
            "IRSA014",
            role,
            "OrdersRole",
            18,
            "Properties.ManagedPolicyArns[0].PolicyArn",
        ),
        row(
            "IRSA015",
            role,
            "OrdersRole",
            25,
            "Properties.Policies[0].PolicyDocument.Statement[0].Action",
        ),
        row(
            "IRSA016",
            "AWS::IAM::ManagedPolicy",
            "OrdersDeploy",
            37,
            "Properties.PolicyDocument.Statement[0].Action[0]",
        ),
        row(
            "IAM024",
            "AWS::EKS::IdentityProviderConfig",
            "CorpIdp",
            70,
            "Properties.Oidc.UsernamePrefix",
        ),
    ];
    assert_eq!(got, want);
}

/// In a plan, a role's ARN is known only after apply; the node group and the Pod Identity
/// association reference it in the plan's `configuration`, and meet the role's policy
/// attachments through the same stand-in the HCL reader gives, in the root module and in
/// a child module.
#[test]
fn terraform_plans_link_references_known_only_after_apply() {
    let v = scan(&[&path("plan-links")]);
    let got = rows(&v, "findings");
    let att = "aws_iam_role_policy_attachment";
    let want = [
        row(
            "IRSA010",
            att,
            "aws_iam_role_policy_attachment.node_admin",
            28,
            "policy_arn",
        ),
        row(
            "IRSA021",
            "aws_iam_role",
            "module.apps.aws_iam_role.app",
            63,
            "permissions_boundary",
        ),
        row(
            "IRSA014",
            att,
            "module.apps.aws_iam_role_policy_attachment.app",
            84,
            "policy_arn",
        ),
    ];
    assert_eq!(got, want);
}

/// Terraform's JSON syntax reads as the native one: variables from `terraform.tfvars.json`,
/// references between resources, blocks written as objects, lines of the JSON.
#[test]
fn terraform_json_syntax_reads_as_hcl_with_its_lines() {
    let v = scan(&[&path("tf-json")]);
    assert_eq!(v["errors"], serde_json::json!([]), "{v}");
    assert_eq!(v["summary"]["files_scanned"], 2, "{v}");
    let c = "aws_eks_cluster";
    let main = "aws_eks_cluster.main";
    let want = [
        row(
            "IAM001",
            c,
            main,
            10,
            "vpc_config[0].public_access_cidrs[1]",
        ),
        row(
            "IAM002",
            c,
            main,
            13,
            "vpc_config[0].endpoint_private_access",
        ),
        row(
            "IRSA010",
            "aws_iam_role_policy_attachment",
            "aws_iam_role_policy_attachment.nodes_admin",
            39,
            "policy_arn",
        ),
        row(
            "NODE001",
            "aws_eks_node_group",
            "aws_eks_node_group.workers",
            49,
            "remote_access[0].ec2_ssh_key",
        ),
    ];
    assert_eq!(rows(&v, "findings"), want);
}

/// An EKS Auto Mode cluster's `compute_config.node_role_arn` is a node role: the policies
/// attached to it are checked as a node group's role's are.
#[test]
fn auto_mode_node_role_is_checked_like_a_node_groups() {
    let v = scan(&[&path("tf-auto-mode")]);
    let want = [
        row(
            "IRSA010",
            "aws_iam_role_policy_attachment",
            "aws_iam_role_policy_attachment.auto_nodes_admin",
            17,
            "policy_arn",
        ),
        row(
            "DATA001",
            "aws_eks_cluster",
            "aws_eks_cluster.auto",
            25,
            "encryption_config",
        ),
    ];
    assert_eq!(rows(&v, "findings"), want);
}

/// SG005 on plain resources: a launch template found by ID and computed version, by name
/// and `$Latest`, by a name apply computes (`name_prefix`); one that lists the cluster's
/// group on its network interface passes. The finding lands on the `launch_template` block.
#[test]
fn node_groups_leaving_out_the_cluster_security_group_in_plain_terraform() {
    let v = scan(&[&path("tf-sg005"), "--select", "SG005"]);
    let ng = "aws_eks_node_group";
    let want = [
        row(
            "SG005",
            ng,
            "aws_eks_node_group.without",
            51,
            "launch_template[0]",
        ),
        row(
            "SG005",
            ng,
            "aws_eks_node_group.by_name",
            63,
            "launch_template[0]",
        ),
        row(
            "SG005",
            ng,
            "aws_eks_node_group.prefixed",
            99,
            "launch_template[0]",
        ),
    ];
    assert_eq!(rows(&v, "findings"), want);
}

/// The security services in Terraform and CloudFormation: one builder makes the same
/// findings of both, each at the code's own line and field.
#[test]
fn security_services_in_terraform_and_cloudformation() {
    let tf = scan(&[&path("tf-services")]);
    let want = [
        row(
            "RUN005",
            "aws_guardduty_detector",
            "aws_guardduty_detector.main",
            8,
            "datasources.kubernetes.audit_logs.enable",
        ),
        row(
            "IMG011",
            "aws_ecr_repository",
            "aws_ecr_repository.app",
            15,
            "name",
        ),
        row(
            "IMG007",
            "aws_ecr_repository",
            "aws_ecr_repository.app",
            16,
            "image_tag_mutability",
        ),
        row(
            "IMG004",
            "aws_ecr_repository",
            "aws_ecr_repository.app",
            19,
            "image_scanning_configuration.scan_on_push",
        ),
        row(
            "DATA007",
            "aws_efs_file_system",
            "aws_efs_file_system.shared",
            28,
            "encrypted",
        ),
    ];
    assert_eq!(rows(&tf, "findings"), want);
    let cfn = scan(&[&path("cfn-services")]);
    let want = [
        row(
            "RUN005",
            "AWS::GuardDuty::Detector",
            "Detector",
            11,
            "Properties.DataSources.Kubernetes.AuditLogs.Enable",
        ),
        row(
            "IMG011",
            "AWS::ECR::Repository",
            "Repo",
            15,
            "Properties.RepositoryName",
        ),
        row(
            "IMG007",
            "AWS::ECR::Repository",
            "Repo",
            16,
            "Properties.ImageTagMutability",
        ),
        row(
            "IMG004",
            "AWS::ECR::Repository",
            "Repo",
            18,
            "Properties.ImageScanningConfiguration.ScanOnPush",
        ),
        row(
            "DATA007",
            "AWS::EFS::FileSystem",
            "Shared",
            24,
            "Properties.Encrypted",
        ),
    ];
    assert_eq!(rows(&cfn, "findings"), want);
}
