//! IAM and EKS identity outputs beyond a role's own: `iam list-access-keys`,
//! `iam get-account-authorization-details` and `eks describe-identity-provider-config`,
//! recognised by their top-level keys like the rest of [`crate::aws_json`].
//!
//! | command | kind (one object per resource) |
//! |---|---|
//! | `iam list-access-keys` | `IAMAccessKey` (name: `AccessKeyId`) |
//! | `iam get-account-authorization-details` | `IAMRole` with its `IAMRolePolicy` and `IAMAttachedPolicies`, `IAMUser`, `IAMGroup`, `IAMManagedPolicy` (name: ARN) |
//! | `eks describe-identity-provider-config` | `EKSIdentityProviderConfig` (name: `identityProviderConfigArn`) |
//!
//! The authorization details split each role into the objects per-role commands give
//! (`get-role`, `get-role-policy`, `list-attached-role-policies`), so every join made on
//! those works on one file too; users, groups and managed policies stay whole.

use eksguard_model::aws_kinds as k;
use std::sync::Arc;

use eksguard_model::node::Entry;
use eksguard_model::{Node, Object, Source, Value};

use crate::aws_shape::{decode_policy_field, take, take_seq, Classified, EKS, IAM};

/// The objects of one of the outputs above, or `None` for any other shape.
pub fn classify(root: &mut Node, path: &Arc<str>, doc: u32) -> Option<Classified> {
    let src = |item: Option<u32>| Source::File {
        path: path.clone(),
        doc,
        item,
    };
    if root
        .get("AccessKeyMetadata")
        .is_some_and(|n| n.as_seq().is_some())
    {
        let objects = take_seq(root, "AccessKeyMetadata")
            .into_iter()
            .enumerate()
            .filter(|(_, n)| n.is_map())
            .map(|(i, n)| {
                let name = text(&n, "AccessKeyId");
                Object::synthetic(IAM, k::IAM_ACCESS_KEY, &name, n, src(Some(i as u32)))
            })
            .collect();
        return Some(Classified::Objects(objects));
    }
    if root.get("identityProviderConfig").is_some_and(Node::is_map) {
        let mut wrapper = take(root, "identityProviderConfig");
        let node = take(&mut wrapper, "oidc");
        if !node.is_map() {
            return Some(Classified::Known);
        }
        let name = text(&node, "identityProviderConfigArn");
        return Some(Classified::Objects(vec![Object::synthetic(
            EKS,
            k::EKS_IDENTITY_PROVIDER_CONFIG,
            &name,
            node,
            src(None),
        )]));
    }
    let lists = ["RoleDetailList", "UserDetailList", "GroupDetailList"];
    if lists
        .iter()
        .any(|k| root.get(k).is_some_and(|n| n.as_seq().is_some()))
    {
        return Some(Classified::Objects(authorization_details(root, &src)));
    }
    None
}

fn authorization_details(root: &mut Node, src: &dyn Fn(Option<u32>) -> Source) -> Vec<Object> {
    let mut out = Vec::new();
    let mut n = 0u32;
    let mut next = || {
        n += 1;
        Some(n - 1)
    };
    for mut role in take_seq(root, "RoleDetailList") {
        if !role.is_map() {
            continue;
        }
        decode_policy_field(&mut role, "AssumeRolePolicyDocument");
        let name = text(&role, "RoleName");
        let arn = text(&role, "Arn");
        let pos = role.pos;
        for mut p in take_seq(&mut role, "RolePolicyList") {
            decode_policy_field(&mut p, "PolicyDocument");
            let policy = text(&p, "PolicyName");
            push_entry(&mut p, "RoleName", str_node(&name, pos));
            out.push(Object::synthetic(
                IAM,
                k::IAM_ROLE_POLICY,
                &format!("{name}/{policy}"),
                p,
                src(next()),
            ));
        }
        let attached = take(&mut role, "AttachedManagedPolicies");
        if attached.as_seq().is_some() {
            let list = Node::new(
                Value::Map(vec![
                    entry("RoleName", str_node(&name, pos)),
                    entry("AttachedPolicies", attached),
                ]),
                pos,
            );
            out.push(Object::synthetic(
                IAM,
                k::IAM_ATTACHED_POLICIES,
                &name,
                list,
                src(next()),
            ));
        }
        out.push(Object::synthetic(IAM, k::IAM_ROLE, &arn, role, src(next())));
    }
    for (key, kind, lists) in [
        ("UserDetailList", k::IAM_USER, "UserPolicyList"),
        ("GroupDetailList", k::IAM_GROUP, "GroupPolicyList"),
    ] {
        for mut item in take_seq(root, key) {
            if !item.is_map() {
                continue;
            }
            if let Value::Map(entries) = &mut item.value {
                for e in entries.iter_mut().filter(|e| &*e.key == lists) {
                    if let Value::Seq(policies) = &mut e.value.value {
                        policies
                            .iter_mut()
                            .for_each(|p| decode_policy_field(p, "PolicyDocument"));
                    }
                }
            }
            let name = text(&item, "Arn");
            out.push(Object::synthetic(IAM, kind, &name, item, src(next())));
        }
    }
    for mut policy in take_seq(root, "Policies") {
        if !policy.is_map() {
            continue;
        }
        if let Value::Map(entries) = &mut policy.value {
            for e in entries
                .iter_mut()
                .filter(|e| &*e.key == "PolicyVersionList")
            {
                if let Value::Seq(versions) = &mut e.value.value {
                    versions
                        .iter_mut()
                        .for_each(|v| decode_policy_field(v, "Document"));
                }
            }
        }
        let name = text(&policy, "Arn");
        out.push(Object::synthetic(
            IAM,
            k::IAM_MANAGED_POLICY,
            &name,
            policy,
            src(next()),
        ));
    }
    out
}

fn text(node: &Node, key: &str) -> String {
    node.get(key)
        .and_then(Node::scalar_text)
        .unwrap_or_default()
}

fn str_node(s: &str, pos: eksguard_model::Pos) -> Node {
    Node::new(Value::Str(s.into()), pos)
}

fn entry(key: &str, value: Node) -> Entry {
    Entry {
        key: key.into(),
        key_pos: value.pos,
        value,
    }
}

fn push_entry(node: &mut Node, key: &str, value: Node) {
    if let Value::Map(entries) = &mut node.value {
        if !entries.iter().any(|e| &*e.key == key) {
            entries.push(entry(key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::yaml::{parse_documents, ParseLimits};
    use eksguard_model::FieldPath;

    fn objects(text: &str) -> Vec<Object> {
        let mut d = parse_documents(text, false, ParseLimits::default());
        let mut root = d.remove(0).unwrap().root;
        match classify(&mut root, &Arc::from("t.json"), 0) {
            Some(Classified::Objects(o)) => o,
            other => panic!("not objects: {other:?}"),
        }
    }

    #[test]
    fn authorization_details_split_roles_and_keep_positions() {
        let o = objects(
            "{\"RoleDetailList\": [{\"RoleName\": \"app\", \"Arn\": \"arn:aws:iam::1:role/app\",\n \"RolePolicyList\": [{\"PolicyName\": \"p\", \"PolicyDocument\": \"%7B%22Statement%22%3A%5B%5D%7D\"}],\n \"AttachedManagedPolicies\": [{\"PolicyName\": \"A\", \"PolicyArn\": \"arn:aws:iam::aws:policy/A\"}]}],\n \"UserDetailList\": [{\"UserName\": \"u\", \"Arn\": \"arn:aws:iam::1:user/u\"}],\n \"Policies\": [{\"Arn\": \"arn:aws:iam::1:policy/x\", \"PolicyVersionList\": [{\"Document\": {\"Statement\": []}, \"IsDefaultVersion\": true}]}]}",
        );
        let kinds: Vec<(&str, &str)> = o.iter().map(|o| (&*o.kind, &*o.name)).collect();
        assert_eq!(
            kinds,
            [
                ("IAMRolePolicy", "app/p"),
                ("IAMAttachedPolicies", "app"),
                ("IAMRole", "arn:aws:iam::1:role/app"),
                ("IAMUser", "arn:aws:iam::1:user/u"),
                ("IAMManagedPolicy", "arn:aws:iam::1:policy/x"),
            ]
        );
        assert!(o[0].root.at("PolicyDocument.Statement").is_some());
        assert_eq!(
            o[0].root.get("RoleName").and_then(Node::as_str),
            Some("app")
        );
        let line = o[1]
            .locate(&FieldPath::parse("AttachedPolicies[0].PolicyArn"))
            .unwrap()
            .line;
        assert_eq!(line, 3);
    }

    #[test]
    fn access_keys_and_identity_providers() {
        let o = objects(
            r#"{"AccessKeyMetadata": [{"UserName": "u", "AccessKeyId": "AKIA1", "Status": "Active"}]}"#,
        );
        assert_eq!((&*o[0].kind, &*o[0].name), ("IAMAccessKey", "AKIA1"));
        let o = objects(
            r#"{"identityProviderConfig": {"oidc": {"identityProviderConfigArn": "arn:x", "groupsClaim": "groups"}}}"#,
        );
        assert_eq!(
            (&*o[0].kind, &*o[0].name),
            ("EKSIdentityProviderConfig", "arn:x")
        );
    }
}
