//! IAM policy documents as IAM evaluates them: statements that take one object or a list,
//! string-or-list `Action`/`Resource`, `NotAction`/`NotResource`, IAM wildcards, action
//! names compared case-insensitively, conditions with their qualifiers. The node-role and
//! application-role rules, trust-policy rules and every other reader of a policy share
//! this one evaluator.

use crate::arn::Arn;
use crate::aws_kinds as k;
use crate::{FieldPath, Node, Object};

fn parse_arn(arn: &str) -> Option<Arn<'_>> {
    Arn::parse(arn.trim())
}

/// IAM wildcard matching (`*` any run, `?` one character), case-insensitive as IAM
/// compares action names.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    glob(&p, &t)
}

pub fn has_wildcard(s: &str) -> bool {
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
pub struct Statement<'a> {
    pub node: &'a Node,
    pub path: FieldPath,
}

/// The statements of a policy document at `base`: `Statement` may be one object or a
/// list of them.
pub fn statements<'a>(doc: &'a Node, base: &FieldPath) -> Vec<Statement<'a>> {
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
pub struct ActionRef {
    pub pattern: String,
    pub path: FieldPath,
}

/// One condition test: `operator` as written, the operator without its `ForAnyValue:` /
/// `ForAllValues:` qualifier and `IfExists` suffix (`base`), the context key as written
/// and its values.
pub struct Cond {
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
        self.patterns("Action")
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
pub fn document_allows(sts: &[Statement<'_>], kind: &str, principal: &str, action: &str) -> bool {
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
pub fn oidc_issuer(federated: &str) -> Option<&str> {
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
pub fn web_identity_statements<'a>(
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
pub fn unpinned_issuers(
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
pub fn claim_issuer<'k>(key: &'k str, claim: &str) -> Option<&'k str> {
    let (issuer, c) = key.rsplit_once(':')?;
    c.eq_ignore_ascii_case(claim).then_some(issuer)
}

/// The policy documents of an object a trust policy may live in: an `IAMRole`'s
/// `AssumeRolePolicyDocument`, or a bare document with principals (identity policies
/// have none).
pub fn trust_policy(obj: &Object) -> Option<(&Node, FieldPath)> {
    match &*obj.kind {
        k::IAM_ROLE => {
            let doc = obj.root.get("AssumeRolePolicyDocument")?;
            doc.is_map()
                .then(|| (doc, FieldPath::parse("AssumeRolePolicyDocument")))
        }
        k::IAM_POLICY_DOCUMENT => {
            let base = FieldPath::root();
            statements(&obj.root, &base)
                .iter()
                .any(|s| s.has_principal())
                .then_some((&obj.root, base))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// What identity policies grant

/// IAM wildcard matching with case kept: resource ARNs compare case-sensitively.
pub fn wildcard_match_exact(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob(&p, &t)
}

fn glob(p: &[char], t: &[char]) -> bool {
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

/// An action pattern that matches every action of every service (`*`, `*:*`).
pub fn is_every_action(pattern: &str) -> bool {
    matches!(pattern.trim(), "*" | "*:*")
}

/// The service of a pattern that grants all of one service (`s3:*`), or `None`.
pub fn whole_service(pattern: &str) -> Option<&str> {
    pattern
        .trim()
        .strip_suffix(":*")
        .filter(|svc| !svc.is_empty() && !has_wildcard(svc))
}

/// Actions that let their holder raise its own privileges in the account, each with the
/// type of IAM resource it acts on (`role`, `user`, `group`, `policy`).
pub const ESCALATION_ACTIONS: &[(&str, &str)] = &[
    ("iam:PassRole", "role"),
    ("sts:AssumeRole", "role"),
    ("iam:CreatePolicyVersion", "policy"),
    ("iam:SetDefaultPolicyVersion", "policy"),
    ("iam:AttachRolePolicy", "role"),
    ("iam:AttachUserPolicy", "user"),
    ("iam:AttachGroupPolicy", "group"),
    ("iam:PutRolePolicy", "role"),
    ("iam:PutUserPolicy", "user"),
    ("iam:PutGroupPolicy", "group"),
    ("iam:UpdateAssumeRolePolicy", "role"),
    ("iam:CreateAccessKey", "user"),
    ("iam:CreateLoginProfile", "user"),
    ("iam:UpdateLoginProfile", "user"),
    ("iam:AddUserToGroup", "group"),
];

/// A pattern of a statement (`Action`, `Resource`, ...) with its path.
pub type Pattern = ActionRef;

impl<'a> Statement<'a> {
    /// The `Resource` patterns (empty when the statement uses `NotResource`).
    pub fn resources(&self) -> Vec<Pattern> {
        self.patterns("Resource")
    }

    /// The patterns under `key` with a path each, one reading for `Action` and `Resource`.
    fn patterns(&self, key: &str) -> Vec<Pattern> {
        let Some((k, a)) = get_ci(self.node, key) else {
            return Vec::new();
        };
        let base = self.path.key(k);
        string_or_list(a)
            .into_iter()
            .map(|(i, pattern)| ActionRef {
                pattern,
                path: i.map_or_else(|| base.clone(), |i| base.index(i)),
            })
            .collect()
    }

    /// Where the statement grants every resource: a `Resource` entry `*`, or `NotResource`
    /// (everything but a list). `None` when its resources are named.
    pub fn every_resource(&self) -> Option<FieldPath> {
        if let Some((k, _)) = get_ci(self.node, "NotResource") {
            return Some(self.path.key(k));
        }
        self.resources()
            .into_iter()
            .find(|r| r.pattern.trim() == "*")
            .map(|r| r.path)
    }

    /// Whether the statement's resources take in every IAM resource of type `ty` of an
    /// account: `*`, `arn:aws:iam::*:role/*`, `arn:aws:iam::111122223333:role/*`, or a
    /// `NotResource` that leaves them in. Tested with a probe ARN no policy names.
    pub fn covers_every(&self, ty: &str) -> bool {
        let probe = |partition: &str, account: &str| {
            format!("arn:{partition}:iam::{account}:{ty}/eksguard-probe-q7/z")
        };
        if let Some((_, nr)) = get_ci(self.node, "NotResource") {
            let p = probe("aws", "123456789012");
            return !string_or_list(nr)
                .iter()
                .any(|(_, r)| wildcard_match_exact(r.trim(), &p));
        }
        self.resources().iter().any(|r| {
            let pat = r.pattern.trim();
            let parts: Vec<&str> = pat.splitn(6, ':').collect();
            let literal = |i: usize, dflt: &'static str| -> String {
                match parts.get(i) {
                    Some(s) if !s.is_empty() && !has_wildcard(s) => s.to_string(),
                    _ => dflt.to_string(),
                }
            };
            let p = probe(&literal(1, "aws"), &literal(4, "123456789012"));
            wildcard_match_exact(pat, &p)
        })
    }

    /// The path of the `Action` entry that matches `action`, or of `NotAction` when it
    /// leaves `action` in; `None` when the statement does not cover it.
    pub fn action_covering(&self, action: &str) -> Option<FieldPath> {
        if let Some((k, na)) = get_ci(self.node, "NotAction") {
            let excluded = string_or_list(na)
                .iter()
                .any(|(_, p)| wildcard_match(p, action));
            return (!excluded).then(|| self.path.key(k));
        }
        self.actions()
            .into_iter()
            .find(|a| wildcard_match(&a.pattern, action))
            .map(|a| a.path)
    }

    /// The privilege-escalation actions the statement allows on every resource of their
    /// type, each with the path that grants it. Conditions are not weighed: one that
    /// narrows the target service still leaves the escalation.
    pub fn escalations(&self) -> Vec<(&'static str, FieldPath)> {
        if !self.is_allow() {
            return Vec::new();
        }
        ESCALATION_ACTIONS
            .iter()
            .filter(|(_, ty)| self.covers_every(ty))
            .filter_map(|(a, _)| self.action_covering(a).map(|p| (*a, p)))
            .collect()
    }

    /// Where an `Allow` statement grants more than the `allowed` actions: `NotAction`, an
    /// action pattern with a wildcard (it names more than any short list), or an action
    /// outside the list.
    pub fn grants_beyond(&self, allowed: &[&str]) -> Vec<Pattern> {
        if !self.is_allow() {
            return Vec::new();
        }
        if let Some(path) = self.not_action_path() {
            return vec![ActionRef {
                pattern: "NotAction".to_string(),
                path,
            }];
        }
        self.actions()
            .into_iter()
            .filter(|a| {
                let p = a.pattern.trim();
                has_wildcard(p) || !allowed.iter().any(|x| x.eq_ignore_ascii_case(p))
            })
            .collect()
    }

    /// Every context key and policy variable (`${aws:PrincipalTag/x}`) the statement's
    /// conditions use, lower-cased.
    pub fn condition_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in self.conditions() {
            out.push(c.key.to_ascii_lowercase());
            for (_, v) in &c.values {
                let mut rest = v.as_str();
                while let Some(i) = rest.find("${") {
                    let after = &rest[i + 2..];
                    let Some(end) = after.find('}') else { break };
                    out.push(after[..end].trim().to_ascii_lowercase());
                    rest = &after[end..];
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{parse_documents, ParseLimits};

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
    fn grants_and_escalations() {
        let d = doc(r#"{"Statement": [
              {"Effect": "Allow", "Action": ["s3:GetObject", "IAM:pass*"], "Resource": "arn:aws:iam::111122223333:role/*"},
              {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::111122223333:role/app-*"},
              {"Effect": "Allow", "NotAction": "s3:*", "NotResource": "arn:aws:s3:::x"},
              {"Effect": "Deny", "Action": "*", "Resource": "*"},
              {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/ns": "${aws:PrincipalTag/kubernetes-namespace}"}}}
            ]}"#);
        let sts = statements(&d, &FieldPath::root());
        let e: Vec<_> = sts[0]
            .escalations()
            .into_iter()
            .map(|(a, p)| (a, p.to_string()))
            .collect();
        assert_eq!(e, [("iam:PassRole", "Statement[0].Action[1]".to_string())]);
        assert!(sts[1].escalations().is_empty());
        assert_eq!(sts[2].escalations().len(), ESCALATION_ACTIONS.len());
        assert!(sts[3].escalations().is_empty());
        assert_eq!(sts[4].escalations()[0].0, "sts:AssumeRole");
        assert!(sts[4]
            .condition_keys()
            .contains(&"aws:principaltag/kubernetes-namespace".to_string()));
        assert_eq!(
            sts[2].every_resource().unwrap().to_string(),
            "Statement[2].NotResource"
        );
        assert!(sts[1].every_resource().is_none());
        assert!(is_every_action("*:*") && !is_every_action("s3:*"));
        assert_eq!(whole_service("s3:*"), Some("s3"));
        assert_eq!(whole_service("s*:*"), None);
        assert!(!wildcard_match_exact(
            "arn:aws:iam::1:role/A*",
            "arn:aws:iam::1:role/a1"
        ));
    }
}
