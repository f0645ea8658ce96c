use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

use super::{governs, Direction};

declare_rule! {
    /// ## What it checks
    /// NetworkPolicy ingress or egress rules that are `{}` (or `null`), or whose `from`/`to`
    /// and `ports` are all empty, which means the same: every peer on every port. Rules of
    /// a direction the policy does not govern (by its `policyTypes`) are ignored by
    /// Kubernetes and are not reported.
    ///
    /// ## Why it matters
    /// An empty rule allows all traffic in that direction for the selected pods, which
    /// cancels any default deny and is easy to miss in review.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   podSelector: {}
    ///   ingress:
    ///   - {}
    /// ```
    ///
    /// ## Fix
    /// Replace the empty rule with the peers (`from`/`to`) and ports that are needed.
    pub NetworkPolicyAllowAll {
        id: "NET004",
        name: "network-policy-allow-all",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(&["NetworkPolicy"]),
        summary: "NetworkPolicy rule allows all traffic",
        remediation: "Replace the empty rule with explicit peers and ports.",
        guide: &["NS-04"],
    }
}

fn allows_everything(rule: &Node, peers: &str) -> bool {
    rule.is_empty_value()
        || rule
            .entries()
            .iter()
            .all(|e| (&*e.key == peers || &*e.key == "ports") && e.value.is_empty_value())
}

impl ObjectRule for NetworkPolicyAllowAll {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        for (dir, peers) in [(Direction::Ingress, "from"), (Direction::Egress, "to")] {
            if !governs(obj, dir) {
                continue;
            }
            let rules = obj.spec().get(dir.field()).map(Node::items).unwrap_or(&[]);
            for (i, rule) in rules.iter().enumerate() {
                if allows_everything(rule, peers) {
                    out.report(
                        obj,
                        FieldPath::parse("spec").key(dir.field()).index(i),
                        format!(
                            "{} rule {} is empty and allows all {} traffic",
                            dir.field(),
                            i + 1,
                            dir.field()
                        ),
                    );
                }
            }
        }
    }
}
