use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use crate::aws_ec2::{eksctl_nodegroups, nodegroup_name, text};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Node groups that allow SSH:
    ///
    /// - `eks describe-nodegroup`: `remoteAccess.ec2SshKey` is set.
    /// - eksctl `nodeGroups` / `managedNodeGroups`: `ssh.allow: true`, or an SSH key
    ///   (`ssh.publicKeyName`, `publicKeyPath` or `publicKey`) without `ssh.allow: false`,
    ///   since eksctl turns SSH on when a key is given and `allow` is not explicitly false.
    /// - launch template versions (`ec2 describe-launch-template-versions`, every template
    ///   of the scan): `LaunchTemplateData.KeyName` is set; reported on
    ///   `<LaunchTemplateId>:<VersionNumber>`. Terraform `aws_launch_template.key_name` and
    ///   CloudFormation `AWS::EC2::LaunchTemplate` `LaunchTemplateData.KeyName` are read the
    ///   same way.
    ///
    /// ## Why it matters
    /// An SSH key on the nodes is a long-lived credential that bypasses Kubernetes RBAC and
    /// audit logging, and managed node groups with remote access open port 22 (to the whole
    /// internet when no source security groups are given). SSM Session Manager gives shell
    /// access with IAM authorization and a session log instead.
    ///
    /// ## Example
    /// ```yaml
    /// managedNodeGroups:
    ///   - name: workers
    ///     ssh:
    ///       allow: true
    /// ```
    ///
    /// ## Fix
    /// Remove the SSH key and remote access from the node group (a managed node group must
    /// be recreated) and use SSM Session Manager (the AmazonSSMManagedInstanceCore policy
    /// on the node role) for break-glass access.
    pub NodegroupSshAccess {
        id: "NODE001",
        name: "nodegroup-ssh-access",
        severity: Medium,
        data: [Eks, Ec2],
        scope: Objects(&[k::EKS_NODEGROUP, "ClusterConfig", k::EC2_LAUNCH_TEMPLATE_VERSION]),
        summary: "Node group allows SSH access with an EC2 key pair",
        remediation: "Remove the node group's SSH key and remote access; use SSM Session Manager instead.",
        guide: &["HS-05"],
    }
}

const KEY_FIELDS: &[&str] = &["publicKeyName", "publicKeyPath", "publicKey"];

impl ObjectRule for NodegroupSshAccess {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if &*obj.kind == k::EC2_LAUNCH_TEMPLATE_VERSION {
            if let Some(key) = text(obj.root.at("LaunchTemplateData.KeyName")) {
                out.report(
                    obj,
                    FieldPath::parse("LaunchTemplateData.KeyName"),
                    format!(
                        "launch template version `{}` gives its instances key pair `{key}` for SSH",
                        obj.name
                    ),
                );
            }
            return;
        }
        if &*obj.kind == k::EKS_NODEGROUP {
            if let Some(key) = text(obj.root.at("remoteAccess.ec2SshKey")) {
                let sources = obj
                    .root
                    .at("remoteAccess.sourceSecurityGroups")
                    .map(Node::items)
                    .unwrap_or(&[]);
                let scope = if sources.is_empty() {
                    "port 22 open to any address"
                } else {
                    "port 22 open to its source security groups"
                };
                out.report(
                    obj,
                    FieldPath::parse("remoteAccess.ec2SshKey"),
                    format!(
                        "node group `{}` allows SSH with key pair `{key}` ({scope})",
                        nodegroup_name(obj)
                    ),
                );
            }
            return;
        }
        for ng in eksctl_nodegroups(obj) {
            let Some(ssh) = ng.node.get("ssh") else {
                continue;
            };
            let allow = ssh.get("allow").and_then(Node::as_bool_lenient);
            let key = KEY_FIELDS.iter().find(|k| text(ssh.get(k)).is_some());
            let path = match (allow, key) {
                (Some(true), _) => ng.at("ssh.allow"),
                (None, Some(k)) => ng.at("ssh").key(k),
                _ => continue,
            };
            out.report(
                obj,
                path,
                format!("eksctl node group `{}` allows SSH to its nodes", ng.name()),
            );
        }
    }
}
