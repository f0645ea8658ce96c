use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::aud::secret_read::secret_read;
use crate::aud::{target_name, who};
use crate::{declare_rule, EventCtx, EventRule, EventSink};

declare_rule! {
    /// ## What it checks
    /// A `get`, `list` or `watch` on secrets refused with 401 or 403 (or a `forbid`
    /// decision), by any identity, service accounts included: a workload probing for
    /// secrets it was never given is a sign of a compromised pod. A 404 (the secret does
    /// not exist) is not a refusal. Corresponds to the Falco k8saudit rule
    /// `K8s Secret Get Unsuccessfully Tried`.
    ///
    /// ## Why it matters
    /// Legitimate clients know which secrets they may read; denials show someone trying
    /// their luck.
    ///
    /// ## Example
    /// ```json
    /// {"kind":"Event","verb":"list","user":{"username":"system:serviceaccount:web:default"},
    ///  "objectRef":{"resource":"secrets","namespace":"kube-system"},"responseStatus":{"code":403}}
    /// ```
    ///
    /// ## Fix
    /// Find out what made the request; if it is a workload, inspect the pod for
    /// compromise.
    pub SecretReadDenied {
        id: "AUD017",
        name: "secret-read-denied",
        severity: Medium,
        data: [Audit],
        scope: Events,
        summary: "A read of secrets was denied",
        remediation: "Find out what made the request and inspect it for compromise.",
        guide: &["DC-02", "DC-04", "DC-07", "DE-06"],
    }
}

impl EventRule for SecretReadDenied {
    fn check_event(&self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        if !secret_read(ev) || !ev.denied() {
            return;
        }
        let reason = ev.decision_reason().filter(|r| !r.is_empty());
        let mut msg = format!(
            "{} was denied {} on secret {}",
            who(ev),
            ev.verb(),
            target_name(ev)
        );
        if let Some(r) = reason {
            msg.push_str(&format!(" ({r})"));
        }
        out.report(FieldPath::parse("responseStatus.code"), msg);
    }
}

#[cfg(test)]
mod tests {
    use crate::aud::testing::{event, run};

    #[test]
    fn fires_on_denials() {
        let s = r#""resource":"secrets","namespace":"kube-system""#;
        let lines = [
            event("system:serviceaccount:web:default", "list", s, 403, ""),
            event("alice", "get", s, 404, ""),
            event("alice", "get", s, 200, ""),
        ];
        let got = run("AUD017", Default::default(), &lines);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].0, got[0].1.as_str()), (1, "responseStatus.code"));
    }
}
