//! Helpers for the cluster and IAM rules: IAM policy documents (statements, principals,
//! actions, conditions) as IAM evaluates them, ARNs, and eksctl `ClusterConfig` access.

use eksguard_model::arn::Arn;
use eksguard_model::{FieldPath, Node, Object};

// ---------------------------------------------------------------------------------------
// Objects

/// An eksctl `ClusterConfig` (other tools also use the kind name).
pub(crate) fn is_eksctl(obj: &Object) -> bool {
    &*obj.kind == "ClusterConfig" && obj.api_version.starts_with("eksctl.io/")
}

/// An `EKSCluster` that is a real EKS cluster: registered (EKS Connector) clusters carry
/// `connectorConfig` and none of the settings these rules read apply to them.
pub(crate) fn is_eks_cluster(obj: &Object) -> bool {
    &*obj.kind == "EKSCluster" && obj.root.get("connectorConfig").is_none()
}

/// The item of eksctl `addons` named `name`, with its index.
pub(crate) fn eksctl_addon<'a>(obj: &'a Object, name: &str) -> Option<(usize, &'a Node)> {
    obj.root
        .get("addons")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .find(|(_, a)| a.get("name").and_then(Node::as_str) == Some(name))
}

/// A boolean field, with `default` when absent or not a boolean.
pub(crate) fn flag(node: &Node, dotted: &str, default: bool) -> bool {
    node.at(dotted)
        .and_then(Node::as_bool_lenient)
        .unwrap_or(default)
}

/// The text of a scalar field, trimmed; `None` when absent or blank.
pub(crate) fn text(node: &Node, dotted: &str) -> Option<String> {
    node.at(dotted)
        .and_then(Node::scalar_text)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------------------
// ARNs

/// An ARN as policies write it (surrounding spaces tolerated).
pub(crate) fn parse_arn(arn: &str) -> Option<Arn<'_>> {
    Arn::parse(arn.trim())
}

/// Whether an ARN names an IAM user (`arn:aws:iam::111122223333:user/path/name`).
pub(crate) fn is_iam_user_arn(arn: &str) -> bool {
    parse_arn(arn).is_some_and(|a| a.service == "iam" && a.resource.starts_with("user/"))
}

/// The role name of an IAM role ARN (the last path component), or `None`.
pub(crate) fn role_name(arn: &str) -> Option<&str> {
    let a = parse_arn(arn)?;
    if a.service != "iam" {
        return None;
    }
    let rest = a.resource.strip_prefix("role/")?;
    rest.rsplit('/').next().filter(|s| !s.is_empty())
}

/// The name of an AWS-managed policy (`arn:aws:iam::aws:policy/NAME`), or `None` for
/// customer-managed policies.
pub(crate) fn aws_managed_policy_name(arn: &str) -> Option<&str> {
    let a = parse_arn(arn)?;
    if a.service != "iam" || a.account != "aws" {
        return None;
    }
    let rest = a.resource.strip_prefix("policy/")?;
    rest.rsplit('/').next()
}

// ---------------------------------------------------------------------------------------
// Policy documents

/// IAM wildcard matching (`*` any run, `?` one character), case-insensitive as IAM
/// compares action names.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

pub(crate) fn has_wildcard(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

/// A value that IAM accepts as a string or a list of strings, with each string's index
/// (`None` for a lone string).
fn string_or_list(node: &Node) -> Vec<(Option<usize>, String)> {
    match node.as_seq() {
        Some(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.scalar_text().map(|s| (Some(i), s)))
            .collect(),
        None => node
            .scalar_text()
            .map(|s| vec![(None, s)])
            .unwrap_or_default(),
    }
}

fn get_ci<'a>(node: &'a Node, key: &str) -> Option<(&'a str, &'a Node)> {
    node.entries()
        .iter()
        .find(|e| e.key.eq_ignore_ascii_case(key))
        .map(|e| (&*e.key, &e.value))
}

/// One statement of a policy document with its path.
pub(crate) struct Statement<'a> {
    pub node: &'a Node,
    pub path: FieldPath,
}

/// The statements of a policy document at `base`: `Statement` may be one object or a
/// list of them.
pub(crate) fn statements<'a>(doc: &'a Node, base: &FieldPath) -> Vec<Statement<'a>> {
    let Some((key, st)) = get_ci(doc, "Statement") else {
        return Vec::new();
    };
    let path = base.key(key);
    match st.as_seq() {
        Some(items) => items
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_map())
            .map(|(i, node)| Statement {
                node,
                path: path.index(i),
            })
            .collect(),
        None if st.is_map() => vec![Statement { node: st, path }],
        None => Vec::new(),
    }
}

/// An action pattern of a statement with its path.
pub(crate) struct ActionRef {
    pub pattern: String,
    pub path: FieldPath,
}

/// One condition test: `operator` as written, the operator without its `ForAnyValue:` /
/// `ForAllValues:` qualifier and `IfExists` suffix (`base`), the context key as written
/// and its values.
pub(crate) struct Cond {
    pub operator: String,
    pub base: String,
    pub for_all_values: bool,
    pub if_exists: bool,
    pub key: String,
    pub values: Vec<(Option<usize>, String)>,
    pub path: FieldPath,
}

impl Cond {
    /// Operators that allow only the listed values when the key is present (string and
    /// ARN equality or pattern tests); negated and `Null` tests restrict nothing.
    pub fn is_positive_match(&self) -> bool {
        let b = self.base.to_ascii_lowercase();
        matches!(
            b.as_str(),
            "stringequals" | "stringequalsignorecase" | "stringlike" | "arnequals" | "arnlike"
        )
    }

    /// A pattern operator (`StringLike`, `ArnLike`), under which `*` and `?` match.
    pub fn is_like(&self) -> bool {
        let b = self.base.to_ascii_lowercase();
        b == "stringlike" || b == "arnlike"
    }

    /// Whether the test passes when the key is absent from the request: `...IfExists`
    /// and `ForAllValues:` (vacuously true over an empty set).
    pub fn passes_when_absent(&self) -> bool {
        self.if_exists || self.for_all_values
    }

    /// The values as the condition matches them: a value with `*` or `?` under a
    /// pattern operator is a wildcard; under an equality operator it is literal.
    pub fn wildcard_values(&self) -> impl Iterator<Item = &(Option<usize>, String)> {
        let like = self.is_like();
        self.values
            .iter()
            .filter(move |(_, v)| like && has_wildcard(v))
    }

    /// Whether the test allows only the values it lists, and lists some: a positive
    /// operator with no pattern under `StringLike` or `ArnLike`.
    pub fn pins_values(&self) -> bool {
        self.is_positive_match()
            && !self.values.is_empty()
            && self.wildcard_values().next().is_none()
    }

    pub fn value_path(&self, idx: Option<usize>) -> FieldPath {
        match idx {
            Some(i) => self.path.index(i),
            None => self.path.clone(),
        }
    }
}

impl<'a> Statement<'a> {
    pub fn is_allow(&self) -> bool {
        get_ci(self.node, "Effect")
            .and_then(|(_, n)| n.as_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("Allow"))
    }

    /// The principals of one type (`AWS`, `Service`, `Federated`, `CanonicalUser`);
    /// `Principal: "*"` counts as `AWS: "*"`.
    pub fn principals(&self, kind: &str) -> Vec<String> {
        let Some((_, p)) = get_ci(self.node, "Principal") else {
            return Vec::new();
        };
        if p.as_str() == Some("*") {
            return if kind.eq_ignore_ascii_case("AWS") {
                vec!["*".to_string()]
            } else {
                Vec::new()
            };
        }
        get_ci(p, kind)
            .map(|(_, v)| string_or_list(v).into_iter().map(|(_, s)| s).collect())
            .unwrap_or_default()
    }

    pub fn has_principal(&self) -> bool {
        get_ci(self.node, "Principal").is_some() || get_ci(self.node, "NotPrincipal").is_some()
    }

    /// The `Action` patterns (empty when the statement uses `NotAction`).
    pub fn actions(&self) -> Vec<ActionRef> {
        let Some((key, a)) = get_ci(self.node, "Action") else {
            return Vec::new();
        };
        let base = self.path.key(key);
        string_or_list(a)
            .into_iter()
            .map(|(i, pattern)| ActionRef {
                pattern,
                path: i.map_or_else(|| base.clone(), |i| base.index(i)),
            })
            .collect()
    }

    /// The path of `NotAction`, when the statement uses it.
    pub fn not_action_path(&self) -> Option<FieldPath> {
        get_ci(self.node, "NotAction").map(|(k, _)| self.path.key(k))
    }

    /// The path of `Action` (or `NotAction`), or of the statement.
    pub fn action_path(&self) -> FieldPath {
        get_ci(self.node, "Action")
            .or_else(|| get_ci(self.node, "NotAction"))
            .map(|(k, _)| self.path.key(k))
            .unwrap_or_else(|| self.path.clone())
    }

    /// Whether the statement's actions cover `action` (`Action` patterns match it, or
    /// `NotAction` patterns do not).
    pub fn covers_action(&self, action: &str) -> bool {
        if let Some((_, na)) = get_ci(self.node, "NotAction") {
            return !string_or_list(na)
                .iter()
                .any(|(_, p)| wildcard_match(p, action));
        }
        self.actions()
            .iter()
            .any(|a| wildcard_match(&a.pattern, action))
    }

    /// The path of `Condition`, or of the statement when it has none.
    pub fn condition_path(&self) -> FieldPath {
        get_ci(self.node, "Condition")
            .map(|(k, _)| self.path.key(k))
            .unwrap_or_else(|| self.path.clone())
    }

    /// Every condition test of the statement.
    pub fn conditions(&self) -> Vec<Cond> {
        let Some((ckey, block)) = get_ci(self.node, "Condition") else {
            return Vec::new();
        };
        let cpath = self.path.key(ckey);
        let mut out = Vec::new();
        for op in block.entries() {
            let operator = op.key.to_string();
            let (qualifier, rest) = match operator.split_once(':') {
                Some((q, r)) => (q.to_ascii_lowercase(), r.to_string()),
                None => (String::new(), operator.clone()),
            };
            let lower = rest.to_ascii_lowercase();
            let if_exists = lower.ends_with("ifexists");
            let base = if if_exists {
                rest[..rest.len() - "IfExists".len()].to_string()
            } else {
                rest
            };
            for k in op.value.entries() {
                out.push(Cond {
                    operator: operator.clone(),
                    base: base.clone(),
                    for_all_values: qualifier == "forallvalues",
                    if_exists,
                    key: k.key.to_string(),
                    values: string_or_list(&k.value),
                    path: cpath.key(&op.key).key(&k.key),
                });
            }
        }
        out
    }
}

/// Whether the statements of a document allow `action` to principals of `kind` matching
/// `principal` (exact, case-insensitive).
pub(crate) fn document_allows(
    sts: &[Statement<'_>],
    kind: &str,
    principal: &str,
    action: &str,
) -> bool {
    sts.iter().any(|s| {
        s.is_allow()
            && s.principals(kind)
                .iter()
                .any(|p| p.eq_ignore_ascii_case(principal))
            && s.covers_action(action)
    })
}

/// The issuer of an OIDC provider ARN
/// (`arn:aws:iam::1:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC` gives
/// `oidc.eks.eu-west-1.amazonaws.com/id/ABC`).
pub(crate) fn oidc_issuer(federated: &str) -> Option<&str> {
    let a = parse_arn(federated)?;
    if a.service != "iam" {
        return None;
    }
    a.resource
        .strip_prefix("oidc-provider/")
        .filter(|s| !s.is_empty())
}

/// The IRSA-style statements of a trust policy: `Allow` with an OIDC provider as
/// `Federated` principal and `sts:AssumeRoleWithWebIdentity`, each with its issuers.
pub(crate) fn web_identity_statements<'a>(
    sts: &'a [Statement<'a>],
) -> impl Iterator<Item = (&'a Statement<'a>, Vec<String>)> {
    sts.iter().filter_map(|s| {
        if !s.is_allow() || !s.covers_action("sts:AssumeRoleWithWebIdentity") {
            return None;
        }
        let issuers: Vec<String> = s
            .principals("Federated")
            .iter()
            .filter_map(|p| oidc_issuer(p).map(str::to_string))
            .collect();
        (!issuers.is_empty()).then_some((s, issuers))
    })
}

/// The issuers the web-identity statements of `obj`'s trust policy trust without a
/// condition that pins them (as `pinned(condition, issuer)` judges), each with the path of
/// its statement's conditions.
pub(crate) fn unpinned_issuers(
    obj: &Object,
    pinned: impl Fn(&Cond, &str) -> bool,
) -> Vec<(FieldPath, String)> {
    let Some((doc, base)) = trust_policy(obj) else {
        return Vec::new();
    };
    let sts = statements(doc, &base);
    let mut out = Vec::new();
    for (st, issuers) in web_identity_statements(&sts) {
        let conds = st.conditions();
        for issuer in issuers {
            if !conds.iter().any(|c| pinned(c, &issuer)) {
                out.push((st.condition_path(), issuer));
            }
        }
    }
    out
}

/// The issuer part of a condition key `<issuer>:<claim>` when the claim is `claim`.
pub(crate) fn claim_issuer<'k>(key: &'k str, claim: &str) -> Option<&'k str> {
    let (issuer, c) = key.rsplit_once(':')?;
    c.eq_ignore_ascii_case(claim).then_some(issuer)
}

/// The policy documents of an object a trust policy may live in: an `IAMRole`'s
/// `AssumeRolePolicyDocument`, or a bare document with principals (identity policies
/// have none).
pub(crate) fn trust_policy(obj: &Object) -> Option<(&Node, FieldPath)> {
    match &*obj.kind {
        "IAMRole" => {
            let doc = obj.root.get("AssumeRolePolicyDocument")?;
            doc.is_map()
                .then(|| (doc, FieldPath::parse("AssumeRolePolicyDocument")))
        }
        "IAMPolicyDocument" => {
            let base = FieldPath::root();
            statements(&obj.root, &base)
                .iter()
                .any(|s| s.has_principal())
                .then_some((&obj.root, base))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::yaml::{parse_documents, ParseLimits};

    fn doc(text: &str) -> Node {
        parse_documents(text, false, ParseLimits::default())
            .swap_remove(0)
            .unwrap()
            .root
    }

    #[test]
    fn wildcards_match_like_iam() {
        assert!(wildcard_match("sts:*", "sts:AssumeRole"));
        assert!(wildcard_match("*", "sts:AssumeRole"));
        assert!(wildcard_match("STS:assume?ole", "sts:AssumeRole"));
        assert!(wildcard_match(
            "sts:Assume*WebIdentity",
            "sts:AssumeRoleWithWebIdentity"
        ));
        assert!(!wildcard_match(
            "sts:AssumeRole",
            "sts:AssumeRoleWithWebIdentity"
        ));
        assert!(!wildcard_match("s3:*", "sts:AssumeRole"));
    }

    #[test]
    fn statement_shapes_and_conditions() {
        let d = doc(
            r#"{"Statement": {"Effect": "Allow", "Principal": {"Federated": ["arn:aws:iam::1:oidc-provider/oidc.eks.x.amazonaws.com/id/A"]}, "NotAction": "s3:*", "Condition": {"ForAllValues:StringLikeIfExists": {"oidc.eks.x.amazonaws.com/id/A:SUB": ["a", "b*"]}}}}"#,
        );
        let sts = statements(&d, &FieldPath::root());
        assert_eq!(sts.len(), 1);
        assert!(sts[0].covers_action("sts:AssumeRoleWithWebIdentity"));
        let c = &sts[0].conditions()[0];
        assert_eq!(c.base, "StringLike");
        assert!(c.if_exists && c.for_all_values && c.is_like() && c.is_positive_match());
        assert_eq!(
            claim_issuer(&c.key, "sub"),
            Some("oidc.eks.x.amazonaws.com/id/A")
        );
        assert_eq!(c.wildcard_values().count(), 1);
        let (_, issuers) = web_identity_statements(&sts).next().unwrap();
        assert_eq!(issuers, ["oidc.eks.x.amazonaws.com/id/A"]);
        let d = doc(
            r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]}"#,
        );
        let sts = statements(&d, &FieldPath::root());
        assert_eq!(sts[0].principals("aws"), ["*"]);
        assert!(document_allows(&sts, "AWS", "*", "sts:assumerole"));
    }

    #[test]
    fn arns() {
        assert!(is_iam_user_arn("arn:aws:iam::1:user/a/b"));
        assert!(!is_iam_user_arn("arn:aws:iam::1:role/user/b"));
        assert_eq!(
            role_name("arn:aws:iam::1:role/path/x/NodeRole"),
            Some("NodeRole")
        );
        assert_eq!(
            aws_managed_policy_name("arn:aws-cn:iam::aws:policy/AmazonEKS_CNI_Policy"),
            Some("AmazonEKS_CNI_Policy")
        );
        assert_eq!(
            aws_managed_policy_name("arn:aws:iam::1:policy/AmazonEKS_CNI_Policy"),
            None
        );
    }
}
