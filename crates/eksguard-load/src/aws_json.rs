//! AWS CLI JSON outputs (EKS, IAM, EC2), recognised by their shape and turned into objects
//! the rules read like any other: `api_version` names the service (`aws:eks`, `aws:iam`,
//! `aws:ec2`), `kind` the resource (`EKSCluster`, `IAMRole`, ...), `name` its ARN or ID, and
//! the root is the resource's JSON as the CLI prints it, positions included.
//!
//! | command | kind (one object per resource) |
//! |---|---|
//! | `eks describe-cluster` | `EKSCluster` |
//! | `eks describe-nodegroup` | `EKSNodegroup` |
//! | `eks list-access-entries`, `describe-access-entry` | `EKSAccessEntry` |
//! | `eks list-associated-access-policies` | `EKSAccessPolicies` |
//! | `eks list-pod-identity-associations`, `describe-pod-identity-association` | `EKSPodIdentityAssociation` |
//! | `eks describe-addon` | `EKSAddon` |
//! | `iam get-role`, `list-roles` | `IAMRole` |
//! | `iam list-attached-role-policies` | `IAMAttachedPolicies` |
//! | `iam get-role-policy` | `IAMRolePolicy` |
//! | `iam get-policy-version`, a bare policy document | `IAMPolicyDocument` (named by a `PolicyArn` key when present) |
//! | `ec2 describe-security-groups` | `EC2SecurityGroup` |
//! | `ec2 describe-launch-template-versions` | `EC2LaunchTemplateVersion` |
//! | `ec2 describe-subnets` | `EC2Subnet` |
//! | `ec2 describe-instances` | `EC2Instance` |
//! | `iam list-access-keys`, `get-account-authorization-details`, `eks describe-identity-provider-config` | see [`crate::iam_json`] |
//! | `cloudtrail lookup-events` | `CloudTrailEvent` ([`crate::cloudtrail_events`]) |
//!
//! The security services' outputs (GuardDuty, Inspector, ECR, KMS, CloudTrail, EC2 flow
//! logs, VPC endpoints and instance types, EFS, ACM Private CA) are read by
//! [`classify_service`], into the kinds of [`eksguard_model::aws_kinds`].
//!
//! Policy documents that IAM returns URL-encoded are decoded into trees in place.

use std::sync::Arc;

use eksguard_model::aws_kinds as k;
use eksguard_model::node::Entry;
use eksguard_model::{Node, Object, Source, Value};

pub use crate::aws_shape::{decode_policy_field, Classified, EC2, EKS, IAM};
use crate::aws_shape::{take, take_seq};

/// Recognises an AWS CLI output (or a bare IAM policy document).
pub fn classify(root: Node, path: &Arc<str>, doc: u32) -> Classified {
    let src = |item: Option<u32>| Source::File {
        path: path.clone(),
        doc,
        item,
    };
    let mut root = match classify_service(root, path, doc) {
        Ok(found) => return found,
        Err(root) => root,
    };
    if let Some(c) = crate::iam_json::classify(&mut root, path, doc) {
        return c;
    }
    if let Some(c) = crate::cloudtrail_events::classify(&mut root, path, doc) {
        return c;
    }
    let keys: Vec<&str> = root.entries().iter().map(|e| &*e.key).collect();
    let has = |k: &str| keys.contains(&k);

    // Single resources wrapped in one key.
    for (key, api, kind, name_keys) in [
        ("cluster", EKS, k::EKS_CLUSTER, &["arn", "name"][..]),
        (
            "nodegroup",
            EKS,
            k::EKS_NODEGROUP,
            &["nodegroupArn", "nodegroupName"][..],
        ),
        (
            "accessEntry",
            EKS,
            k::EKS_ACCESS_ENTRY,
            &["accessEntryArn", "principalArn"][..],
        ),
        (
            "association",
            EKS,
            k::EKS_POD_IDENTITY_ASSOCIATION,
            &["associationArn", "associationId"][..],
        ),
        ("addon", EKS, k::EKS_ADDON, &["addonArn", "addonName"][..]),
        ("Role", IAM, k::IAM_ROLE, &["Arn", "RoleName"][..]),
    ] {
        if has(key) && root.get(key).is_some_and(Node::is_map) {
            let mut node = take(&mut root, key);
            if kind == k::IAM_ROLE {
                decode_policy_field(&mut node, "AssumeRolePolicyDocument");
            }
            let name = first_text(&node, name_keys);
            return Classified::Objects(vec![Object::synthetic(api, kind, &name, node, src(None))]);
        }
    }

    // Lists of resources.
    for (key, api, kind, name_keys) in [
        (
            "SecurityGroups",
            EC2,
            k::EC2_SECURITY_GROUP,
            &["GroupId"][..],
        ),
        ("Subnets", EC2, k::EC2_SUBNET, &["SubnetId"][..]),
        ("Roles", IAM, k::IAM_ROLE, &["Arn", "RoleName"][..]),
        (
            "associations",
            EKS,
            k::EKS_POD_IDENTITY_ASSOCIATION,
            &["associationArn", "associationId"][..],
        ),
    ] {
        if has(key) && root.get(key).is_some_and(|n| n.as_seq().is_some()) {
            let items = take_seq(&mut root, key);
            let objects = items
                .into_iter()
                .enumerate()
                .filter(|(_, n)| n.is_map())
                .map(|(i, mut node)| {
                    if kind == k::IAM_ROLE {
                        decode_policy_field(&mut node, "AssumeRolePolicyDocument");
                    }
                    let name = first_text(&node, name_keys);
                    Object::synthetic(api, kind, &name, node, src(Some(i as u32)))
                })
                .collect();
            return Classified::Objects(objects);
        }
    }

    if has("LaunchTemplateVersions") {
        let items = take_seq(&mut root, "LaunchTemplateVersions");
        let objects = items
            .into_iter()
            .enumerate()
            .filter(|(_, n)| n.is_map())
            .map(|(i, node)| {
                let id = first_text(&node, &["LaunchTemplateId", "LaunchTemplateName"]);
                let version = node
                    .get("VersionNumber")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default();
                let name = format!("{id}:{version}");
                Object::synthetic(
                    EC2,
                    k::EC2_LAUNCH_TEMPLATE_VERSION,
                    &name,
                    node,
                    src(Some(i as u32)),
                )
            })
            .collect();
        return Classified::Objects(objects);
    }

    if has("Reservations") {
        let mut objects = Vec::new();
        let mut n = 0u32;
        for mut reservation in take_seq(&mut root, "Reservations") {
            for node in take_seq(&mut reservation, "Instances") {
                let name = first_text(&node, &["InstanceId"]);
                objects.push(Object::synthetic(
                    EC2,
                    k::EC2_INSTANCE,
                    &name,
                    node,
                    src(Some(n)),
                ));
                n += 1;
            }
        }
        return Classified::Objects(objects);
    }

    if has("accessEntries") {
        // `list-access-entries` gives principal ARNs only.
        let cluster = root.get("clusterName").and_then(Node::scalar_text);
        let objects = take_seq(&mut root, "accessEntries")
            .into_iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let arn = item.as_str()?.to_string();
                let pos = item.pos;
                let mut entries = vec![entry("principalArn", item)];
                if let Some(c) = &cluster {
                    entries.push(entry(
                        "clusterName",
                        Node::new(Value::Str(c.as_str().into()), pos),
                    ));
                }
                let node = Node::new(Value::Map(entries), pos);
                Some(Object::synthetic(
                    EKS,
                    k::EKS_ACCESS_ENTRY,
                    &arn,
                    node,
                    src(Some(i as u32)),
                ))
            })
            .collect();
        return Classified::Objects(objects);
    }

    if has("associatedAccessPolicies") {
        let name = first_text(&root, &["principalArn"]);
        return Classified::Objects(vec![Object::synthetic(
            EKS,
            k::EKS_ACCESS_POLICIES,
            &name,
            root,
            src(None),
        )]);
    }

    if has("AttachedPolicies") {
        // The CLI output does not name the role; the rules join it by file or by the
        // `RoleName` some exports add.
        let name = first_text(&root, &["RoleName"]);
        let name = if name.is_empty() {
            path.to_string()
        } else {
            name
        };
        return Classified::Objects(vec![Object::synthetic(
            IAM,
            k::IAM_ATTACHED_POLICIES,
            &name,
            root,
            src(None),
        )]);
    }

    if has("PolicyDocument") && has("PolicyName") {
        decode_policy_field(&mut root, "PolicyDocument");
        let role = first_text(&root, &["RoleName"]);
        let policy = first_text(&root, &["PolicyName"]);
        let name = format!("{role}/{policy}");
        return Classified::Objects(vec![Object::synthetic(
            IAM,
            k::IAM_ROLE_POLICY,
            &name,
            root,
            src(None),
        )]);
    }

    if has("PolicyVersion") {
        // Some exports add the `PolicyArn` the CLI output lacks: it names the policy.
        let arn = first_text(&root, &["PolicyArn"]);
        let name: &str = if arn.is_empty() { path } else { &arn };
        let mut node = take(&mut root, "PolicyVersion");
        decode_policy_field(&mut node, "Document");
        let doc_node = take(&mut node, "Document");
        if doc_node.is_map() {
            return Classified::Objects(vec![Object::synthetic(
                IAM,
                k::IAM_POLICY_DOCUMENT,
                name,
                doc_node,
                src(None),
            )]);
        }
        return Classified::Known;
    }

    if has("Statement") && (has("Version") || has("Id")) {
        return Classified::Objects(vec![Object::synthetic(
            IAM,
            k::IAM_POLICY_DOCUMENT,
            path,
            root,
            src(None),
        )]);
    }

    // Outputs that only list names or carry nothing the rules read.
    const KNOWN: &[&str] = &[
        "clusters",
        "nodegroups",
        "addons",
        "PolicyNames",
        "fargateProfileNames",
        "accessPolicies",
        "update",
        "updateIds",
        "tags",
        "Credentials",
        "Account",
    ];
    if keys.len() <= 3 && keys.iter().any(|k| KNOWN.contains(k)) {
        return Classified::Known;
    }
    Classified::Unknown(root)
}

/// Whether every item of the list under `key` is a mapping with `member` (and there is at
/// least one): how outputs that share a top-level key with others are told apart.
fn items_have(root: &Node, key: &str, member: &str) -> bool {
    root.get(key)
        .and_then(Node::as_seq)
        .is_some_and(|items| !items.is_empty() && items.iter().all(|i| i.get(member).is_some()))
}

/// The first path component that looks like a GuardDuty detector ID (32 lowercase hex
/// characters): `get-detector` does not print the ID it was asked for.
fn detector_id_in_path(path: &str) -> Option<&str> {
    path.split(['/', '\\']).find(|c| {
        c.len() == 32
            && c.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The security services' CLI outputs; the document is handed back when it is none of
/// them.
pub fn classify_service(mut root: Node, path: &Arc<str>, doc: u32) -> Result<Classified, Node> {
    let src = |item: Option<u32>| Source::File {
        path: path.clone(),
        doc,
        item,
    };
    let has = |root: &Node, key: &str| root.get(key).is_some();
    let whole = |root: Node, api: &str, kind: &str, name: &str| {
        Ok(Classified::Objects(vec![Object::synthetic(
            api,
            kind,
            name,
            root,
            src(None),
        )]))
    };

    // (key, a member every item has, api, kind, name keys, a whole-output object of this
    // kind too, a policy string to parse)
    type ListShape = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        Option<&'static str>,
        Option<&'static str>,
    );
    const LISTS: &[ListShape] = &[
        (
            "Resources",
            "CoverageStatus",
            k::GUARDDUTY,
            k::GUARDDUTY_COVERAGE,
            &["ResourceId"],
            None,
            None,
        ),
        (
            "accounts",
            "resourceState",
            k::INSPECTOR2,
            k::INSPECTOR_ACCOUNT_STATUS,
            &["accountId"],
            None,
            None,
        ),
        (
            "coveredResources",
            "resourceId",
            k::INSPECTOR2,
            k::INSPECTOR_COVERAGE,
            &["resourceId"],
            None,
            None,
        ),
        (
            "findings",
            "findingArn",
            k::INSPECTOR2,
            k::INSPECTOR_FINDING,
            &["findingArn"],
            None,
            None,
        ),
        (
            "repositories",
            "repositoryName",
            k::ECR,
            k::ECR_REPOSITORY,
            &["repositoryArn", "repositoryName"],
            None,
            None,
        ),
        (
            "Aliases",
            "AliasName",
            k::KMS,
            k::KMS_ALIAS,
            &["AliasArn", "AliasName"],
            None,
            None,
        ),
        (
            "trailList",
            "TrailARN",
            k::CLOUDTRAIL,
            k::CLOUDTRAIL_TRAIL,
            &["TrailARN", "Name"],
            Some(k::CLOUDTRAIL_TRAIL_LIST),
            None,
        ),
        (
            "FlowLogs",
            "FlowLogId",
            k::EC2,
            k::EC2_FLOW_LOG,
            &["FlowLogId"],
            Some(k::EC2_FLOW_LOG_LIST),
            None,
        ),
        (
            "VpcEndpoints",
            "VpcEndpointId",
            k::EC2,
            k::EC2_VPC_ENDPOINT,
            &["VpcEndpointId"],
            Some(k::EC2_VPC_ENDPOINT_LIST),
            Some("PolicyDocument"),
        ),
        (
            "InstanceTypes",
            "InstanceType",
            k::EC2,
            k::EC2_INSTANCE_TYPE,
            &["InstanceType"],
            None,
            None,
        ),
        (
            "FileSystems",
            "PerformanceMode",
            k::EFS,
            k::EFS_FILE_SYSTEM,
            &["FileSystemId"],
            None,
            None,
        ),
        (
            "AccessPoints",
            "AccessPointId",
            k::EFS,
            k::EFS_ACCESS_POINT,
            &["AccessPointId"],
            None,
            None,
        ),
    ];
    for &(key, member, api, kind, name_keys, list_kind, policy) in LISTS {
        let Some(items) = root.get(key).and_then(Node::as_seq) else {
            continue;
        };
        if items.is_empty() {
            // An empty list is data where the rules judge the listing itself; otherwise
            // there is nothing to read, and a key other outputs share says nothing about
            // which service printed it (`fsx describe-file-systems` prints `FileSystems`).
            if root.entries().len() == 1 {
                return Ok(match list_kind {
                    Some(list_kind) => Classified::Objects(vec![Object::synthetic(
                        api,
                        list_kind,
                        path,
                        root,
                        src(None),
                    )]),
                    None => Classified::Known,
                });
            }
            continue;
        }
        if !items_have(&root, key, member) {
            continue;
        }
        let mut objects = Vec::new();
        if let Some(list_kind) = list_kind {
            objects.push(Object::synthetic(
                api,
                list_kind,
                path,
                root.clone(),
                src(None),
            ));
        }
        for (i, mut node) in take_seq(&mut root, key).into_iter().enumerate() {
            if !node.is_map() {
                continue;
            }
            if let Some(field) = policy {
                decode_policy_field(&mut node, field);
            }
            let name = first_text(&node, name_keys);
            objects.push(Object::synthetic(
                api,
                kind,
                &name,
                node,
                src(Some(i as u32)),
            ));
        }
        return Ok(Classified::Objects(objects));
    }

    // FSx prints `FileSystems` too; its file systems are always encrypted at rest.
    if items_have(&root, "FileSystems", "FileSystemType") {
        return Ok(Classified::Known);
    }
    if root
        .get("DetectorIds")
        .is_some_and(|n| n.as_seq().is_some())
    {
        return whole(root, k::GUARDDUTY, k::GUARDDUTY_DETECTOR_LIST, path);
    }
    if has(&root, "ServiceRole")
        && has(&root, "Status")
        && (has(&root, "Features") || has(&root, "DataSources"))
    {
        // The CLI does not print the ID; a live read adds it as `DetectorId`.
        let name = first_text(&root, &["DetectorId"]);
        let name = if name.is_empty() {
            detector_id_in_path(path).unwrap_or(path).to_string()
        } else {
            name
        };
        return whole(root, k::GUARDDUTY, k::GUARDDUTY_DETECTOR, &name);
    }
    if root.get("scanningConfiguration").is_some_and(Node::is_map) {
        let name = first_text(&root, &["registryId"]);
        let name = if name.is_empty() {
            path.to_string()
        } else {
            name
        };
        return whole(root, k::ECR, k::ECR_REGISTRY_SCANNING, &name);
    }
    if has(&root, "repositoryName") && has(&root, "policyText") {
        decode_policy_field(&mut root, "policyText");
        let name = format!(
            "{}/{}",
            first_text(&root, &["registryId"]),
            first_text(&root, &["repositoryName"])
        );
        return whole(root, k::ECR, k::ECR_REPOSITORY_POLICY, &name);
    }
    if has(&root, "repositoryName") && has(&root, "lifecyclePolicyText") {
        let name = format!(
            "{}/{}",
            first_text(&root, &["registryId"]),
            first_text(&root, &["repositoryName"])
        );
        return whole(root, k::ECR, k::ECR_LIFECYCLE_POLICY, &name);
    }
    if root.get("KeyMetadata").is_some_and(Node::is_map) {
        let node = take(&mut root, "KeyMetadata");
        let name = first_text(&node, &["Arn", "KeyId"]);
        return whole(node, k::KMS, k::KMS_KEY, &name);
    }
    if has(&root, "KeyRotationEnabled") {
        let name = first_text(&root, &["KeyId"]);
        let name = if name.is_empty() {
            path.to_string()
        } else {
            name
        };
        return whole(root, k::KMS, k::KMS_KEY_ROTATION, &name);
    }
    if has(&root, "IsLogging") && !has(&root, "trailList") {
        return whole(root, k::CLOUDTRAIL, k::CLOUDTRAIL_TRAIL_STATUS, path);
    }
    if has(&root, "TrailARN") {
        let name = first_text(&root, &["TrailARN"]);
        if has(&root, "EventSelectors") || has(&root, "AdvancedEventSelectors") {
            return whole(root, k::CLOUDTRAIL, k::CLOUDTRAIL_EVENT_SELECTORS, &name);
        }
        if has(&root, "InsightSelectors") {
            return whole(root, k::CLOUDTRAIL, k::CLOUDTRAIL_INSIGHT_SELECTORS, &name);
        }
    }
    if root.get("CertificateAuthority").is_some_and(Node::is_map) {
        let node = take(&mut root, "CertificateAuthority");
        let name = first_text(&node, &["Arn"]);
        return whole(node, k::ACM_PCA, k::ACMPCA_CA, &name);
    }
    Err(root)
}

fn entry(key: &str, value: Node) -> Entry {
    Entry {
        key: key.into(),
        key_pos: value.pos,
        value,
    }
}

/// The first of `keys` that holds text, or an empty string.
fn first_text(node: &Node, keys: &[&str]) -> String {
    keys.iter()
        .find_map(|k| {
            node.get(k)
                .and_then(Node::scalar_text)
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::yaml::{parse_documents, ParseLimits};
    use eksguard_model::FieldPath;

    fn one(text: &str) -> Classified {
        let mut d = parse_documents(text, false, ParseLimits::default());
        classify(d.remove(0).unwrap().root, &Arc::from("t.json"), 0)
    }

    fn objects(text: &str) -> Vec<Object> {
        match one(text) {
            Classified::Objects(o) => o,
            other => panic!("not objects: {other:?}"),
        }
    }

    #[test]
    fn describe_cluster_keeps_positions() {
        let o = objects("{\n  \"cluster\": {\n    \"name\": \"prod\",\n    \"arn\": \"arn:aws:eks:eu-west-1:1:cluster/prod\",\n    \"resourcesVpcConfig\": {\"endpointPublicAccess\": true}\n  }\n}\n");
        assert_eq!(o.len(), 1);
        assert_eq!(&*o[0].kind, "EKSCluster");
        assert_eq!(&*o[0].name, "arn:aws:eks:eu-west-1:1:cluster/prod");
        assert_eq!(
            o[0].locate(&FieldPath::parse("resourcesVpcConfig.endpointPublicAccess"))
                .unwrap()
                .line,
            5
        );
    }

    #[test]
    fn lists_become_one_object_each() {
        let o = objects(r#"{"SecurityGroups": [{"GroupId": "sg-1"}, {"GroupId": "sg-2"}]}"#);
        assert_eq!(
            o.iter().map(|o| &*o.name).collect::<Vec<_>>(),
            ["sg-1", "sg-2"]
        );
        let o = objects(
            r#"{"Reservations": [{"Instances": [{"InstanceId": "i-1"}, {"InstanceId": "i-2"}]}]}"#,
        );
        assert_eq!(o.len(), 2);
        let o = objects(r#"{"accessEntries": ["arn:aws:iam::1:user/alice"], "clusterName": "c"}"#);
        assert_eq!(
            o[0].root.get("principalArn").unwrap().as_str(),
            Some("arn:aws:iam::1:user/alice")
        );
    }

    #[test]
    fn url_encoded_trust_policy_is_decoded() {
        let o = objects(
            r#"{"Role": {"RoleName": "r", "Arn": "arn:aws:iam::1:role/r", "AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22sts%3AAssumeRoleWithWebIdentity%22%7D%5D%7D"}}"#,
        );
        let doc = o[0].root.get("AssumeRolePolicyDocument").unwrap();
        assert_eq!(doc.at("Version").and_then(Node::as_str), Some("2012-10-17"));
        assert_eq!(
            doc.get("Statement").unwrap().items()[0]
                .get("Action")
                .unwrap()
                .as_str(),
            Some("sts:AssumeRoleWithWebIdentity")
        );
    }

    #[test]
    fn unknown_and_known_shapes() {
        assert!(matches!(
            one(r#"{"name": "x", "version": 3}"#),
            Classified::Unknown(_)
        ));
        assert!(matches!(
            one(r#"{"clusters": ["a", "b"]}"#),
            Classified::Known
        ));
        assert!(matches!(
            one(r#"{"Version": "2012-10-17", "Statement": []}"#),
            Classified::Objects(_)
        ));
    }
    fn kinds(text: &str) -> Vec<(String, String)> {
        objects(text)
            .iter()
            .map(|o| (o.kind.to_string(), o.name.to_string()))
            .collect()
    }

    #[test]
    fn security_service_outputs_by_content() {
        let k = |kind: &str, name: &str| (kind.to_string(), name.to_string());
        assert_eq!(
            kinds(r#"{"DetectorIds": []}"#),
            [k("GuardDutyDetectorList", "t.json")]
        );
        assert_eq!(
            kinds(r#"{"ServiceRole": "r", "Status": "ENABLED", "Features": []}"#),
            [k("GuardDutyDetector", "t.json")]
        );
        assert_eq!(
            kinds(r#"{"Resources": [{"ResourceId": "prod", "CoverageStatus": "HEALTHY"}]}"#),
            [k("GuardDutyCoverage", "prod")]
        );
        assert_eq!(
            kinds(
                r#"{"accounts": [{"accountId": "1", "resourceState": {}}], "failedAccounts": []}"#
            ),
            [k("InspectorAccountStatus", "1")]
        );
        assert_eq!(
            kinds(r#"{"findings": [{"findingArn": "arn:f"}]}"#),
            [k("InspectorFinding", "arn:f")]
        );
        assert_eq!(
            kinds(r#"{"KeyMetadata": {"KeyId": "k", "Arn": "arn:aws:kms:r:1:key/k"}}"#),
            [k("KMSKey", "arn:aws:kms:r:1:key/k")]
        );
        assert_eq!(
            kinds(r#"{"KeyRotationEnabled": false}"#),
            [k("KMSKeyRotationStatus", "t.json")]
        );
        assert_eq!(
            kinds(r#"{"trailList": [{"TrailARN": "arn:t", "Name": "t"}]}"#),
            [
                k("CloudTrailTrailList", "t.json"),
                k("CloudTrailTrail", "arn:t")
            ]
        );
        assert_eq!(
            kinds(r#"{"IsLogging": true}"#),
            [k("CloudTrailTrailStatus", "t.json")]
        );
        assert_eq!(
            kinds(r#"{"TrailARN": "arn:t", "InsightSelectors": []}"#),
            [k("CloudTrailInsightSelectors", "arn:t")]
        );
        assert_eq!(
            kinds(r#"{"FlowLogs": []}"#),
            [k("EC2FlowLogList", "t.json")]
        );
        assert_eq!(
            kinds(r#"{"FileSystems": [{"FileSystemId": "fs-1", "PerformanceMode": "maxIO"}]}"#),
            [k("EFSFileSystem", "fs-1")]
        );
        assert_eq!(
            kinds(r#"{"CertificateAuthority": {"Arn": "arn:ca", "UsageMode": "GENERAL_PURPOSE"}}"#),
            [k("ACMPCACertificateAuthority", "arn:ca")]
        );
        // FSx shares the key; an empty list of a shared key is nothing to read.
        assert!(matches!(
            one(r#"{"FileSystems": [{"FileSystemId": "fs-1", "FileSystemType": "LUSTRE"}]}"#),
            Classified::Known
        ));
        assert!(matches!(one(r#"{"findings": []}"#), Classified::Known));
        // eksguard's own report is not Inspector output.
        assert!(matches!(
            one(r#"{"schema_version": "1", "findings": [{"rule_id": "POD001"}]}"#),
            Classified::Unknown(_)
        ));
    }

    #[test]
    fn json_text_policies_are_parsed_in_place() {
        let o = objects(
            r#"{"registryId": "1", "repositoryName": "a", "policyText": "{\"Statement\": [{\"Effect\": \"Allow\"}]}"}"#,
        );
        assert_eq!(&*o[0].kind, "ECRRepositoryPolicy");
        assert_eq!(&*o[0].name, "1/a");
        assert!(o[0].root.at("policyText.Statement").is_some());
        let o = objects(
            r#"{"VpcEndpoints": [{"VpcEndpointId": "vpce-1", "PolicyDocument": "{\"Statement\": []}"}]}"#,
        );
        assert_eq!(&*o[1].kind, "EC2VpcEndpoint");
        assert!(o[1].root.get("PolicyDocument").is_some_and(Node::is_map));
    }

    #[test]
    fn detector_ids_come_from_the_path() {
        assert_eq!(
            detector_id_in_path("out/12abc34d567e8fa901bc2d34e56789f0/get-detector.json"),
            Some("12abc34d567e8fa901bc2d34e56789f0")
        );
        assert_eq!(detector_id_in_path("out/get-detector.json"), None);
    }
}
