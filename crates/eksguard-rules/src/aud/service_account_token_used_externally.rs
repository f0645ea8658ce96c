use std::net::IpAddr;

use eksguard_model::audit::AuditEvent;
use eksguard_model::FieldPath;

use crate::aud::{ReportedRecently, REPORTED_KEYS};
use crate::{declare_rule, EventCtx, EventSink, EventWindow, WindowRule};

declare_rule! {
    /// ## What it checks
    /// A request by a service account (`system:serviceaccount:NS:NAME`) whose source IP
    /// (the last of `sourceIPs`, the one the API server saw) lies outside every CIDR of
    /// `cluster_cidrs`. Set the list to the VPC CIDRs (and any secondary pod CIDRs) of the
    /// cluster; the rule is inactive while it is empty. Each service account and IP pair
    /// is reported once per `report_every_seconds` (default one hour) so a stolen token
    /// in use does not flood the report; the message says whether the token was a
    /// long-lived Secret-based one (no pod binding in the user's `extra`). Falco has no
    /// corresponding rule.
    ///
    /// ## Why it matters
    /// Service-account tokens belong to pods; used from elsewhere, a token was taken out
    /// of the cluster. Long-lived Secret-based tokens never expire and are the usual
    /// loot.
    ///
    /// ## Example
    /// With `cluster_cidrs = ["10.0.0.0/16"]`:
    /// ```json
    /// {"kind":"Event","verb":"list","user":{"username":"system:serviceaccount:ci:deployer"},
    ///  "sourceIPs":["203.0.113.50"],"objectRef":{"resource":"secrets"}}
    /// ```
    ///
    /// ## Fix
    /// Delete the token's Secret (or rotate the service account), find where it leaked,
    /// and use short-lived projected tokens.
    pub ServiceAccountTokenUsedExternally {
        id: "AUD024",
        name: "service-account-token-used-externally",
        severity: High,
        data: [Audit],
        scope: EventWindow,
        summary: "A service-account token was used from outside the cluster",
        remediation: "Revoke the token, find where it leaked, and use short-lived projected tokens.",
        params: Params,
        guide: &["DC-07", "IAM-03"],
    }
}

crate::rule_params! {
    pub struct Params {
        /// CIDRs the cluster's pods and nodes call from (VPC and pod CIDRs); the rule is
        /// inactive while empty.
        cluster_cidrs: Vec<String> = Vec::new(),
        /// Each service account and source IP pair is reported at most once per this many
        /// seconds.
        report_every_seconds: i64 = 3600,
    }
}

/// A parsed CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let (ip, bits) = match s.trim().split_once('/') {
            Some((ip, b)) => (ip.parse::<IpAddr>().ok()?, b.parse::<u8>().ok()?),
            None => {
                let ip: IpAddr = s.trim().parse().ok()?;
                (ip, if ip.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Cidr { net: ip, bits })
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let mask = |len: u32, bits: u8| -> u128 {
            if bits == 0 {
                0
            } else {
                (!0u128 << (len - u32::from(bits))) & (if len == 32 { 0xffff_ffff } else { !0 })
            }
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let m = mask(32, self.bits);
                (u128::from(u32::from(n)) & m) == (u128::from(u32::from(i)) & m)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let m = mask(128, self.bits);
                (u128::from(n) & m) == (u128::from(i) & m)
            }
            (IpAddr::V4(_), IpAddr::V6(i)) => i
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            _ => false,
        }
    }
}

struct External {
    cidrs: Vec<Cidr>,
    reported: ReportedRecently,
}

impl EventWindow for External {
    fn observe(&mut self, _cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink) {
        let user = ev.username();
        let Some(sa) = user.strip_prefix("system:serviceaccount:") else {
            return;
        };
        let Some(ip_text) = ev.source_ip() else {
            return;
        };
        let Ok(ip) = ip_text.parse::<IpAddr>() else {
            return;
        };
        if ip.is_loopback() || self.cidrs.iter().any(|c| c.contains(ip)) {
            return;
        }
        if !self.reported.due((user, ip_text), ev.time_micros()) {
            return;
        }
        let bound = ev
            .user
            .extra_map()
            .keys()
            .any(|k| k.starts_with("authentication.kubernetes.io/"));
        let token = if bound { "token" } else { "long-lived token" };
        out.report(
            FieldPath::parse("sourceIPs"),
            format!(
                "service account `{}` {token} used from {ip_text}, outside the cluster CIDRs: {} {}",
                sa.replacen(':', "/", 1),
                ev.verb(),
                ev.uri()
            ),
        );
    }

    fn save(&self) -> serde_json::Value {
        self.reported.save()
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        self.reported.restore(state)
    }
}

impl WindowRule for ServiceAccountTokenUsedExternally {
    fn event_window(&self, cx: &EventCtx<'_>) -> Option<Box<dyn EventWindow>> {
        let params = cx.params::<Params>(&Self::META);
        let cidrs: Vec<Cidr> = params
            .cluster_cidrs
            .iter()
            .filter_map(|c| Cidr::parse(c))
            .collect();
        if cidrs.is_empty() {
            return None;
        }
        Some(Box::new(External {
            cidrs,
            reported: ReportedRecently::new(params.report_every_seconds, REPORTED_KEYS),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::Cidr;
    use crate::aud::testing::{event, params, run};

    #[test]
    fn cidrs() {
        let c = Cidr::parse("10.0.0.0/16").unwrap();
        assert!(c.contains("10.0.200.1".parse().unwrap()));
        assert!(!c.contains("10.1.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("fd00::/8")
            .unwrap()
            .contains("fd12::1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nonsense").is_none());
    }

    #[test]
    fn fires_outside_the_cidrs_once_per_pair() {
        let call = |user: &str, ip: &str| {
            event(user, "list", r#""resource":"secrets""#, 200, "").replace("192.0.2.10", ip)
        };
        let lines = [
            call("system:serviceaccount:ci:deployer", "10.0.3.4"),
            call("system:serviceaccount:ci:deployer", "203.0.113.50"),
            call("system:serviceaccount:ci:deployer", "203.0.113.50"),
            call("alice", "203.0.113.50"),
        ];
        assert!(
            run("AUD024", Default::default(), &lines).is_empty(),
            "inactive without CIDRs"
        );
        let p = params(
            "AUD024",
            "cluster_cidrs",
            serde_json::json!(["10.0.0.0/16"]),
        );
        let got = run("AUD024", p, &lines);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].0, got[0].1.as_str()), (2, "sourceIPs"));
        assert!(
            got[0].2.starts_with(
                "service account `ci/deployer` long-lived token used from 203.0.113.50"
            ),
            "{}",
            got[0].2
        );
    }
}
