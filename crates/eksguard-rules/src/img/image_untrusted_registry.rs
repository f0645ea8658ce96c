use eksguard_model::Object;

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

use super::{normalize_registry, parse_image, ImageRef};

crate::rule_params! {
    pub struct Params {
        /// Registries (`123456789012.dkr.ecr.eu-west-1.amazonaws.com`) or registry/path
        /// prefixes (`docker.io/bitnami`) images may come from; `*.` at the start of a host
        /// matches any subdomain. Empty disables the rule.
        trusted_registries: Vec<String> = Vec::new(),
    }
}

declare_rule! {
    /// ## What it checks
    /// Containers (init, regular and ephemeral) whose image comes from outside the
    /// `trusted_registries` list. The rule does nothing until the list is set. Entries are
    /// registry hosts (with port when used), or a host followed by a path prefix, which
    /// matches whole path components only (`docker.io/bitnami` trusts
    /// `bitnami/redis` but not `bitnamilabs/x`). A host starting with `*.` matches any
    /// subdomain (on any port unless the entry gives one). Images without a registry host come from Docker Hub, `docker.io`, and
    /// official images live under `docker.io/library`.
    ///
    /// ## Why it matters
    /// Images from arbitrary registries escape your scanning, signing and provenance
    /// controls; typosquatted or hijacked public images are a common supply-chain attack.
    ///
    /// ## Example
    /// With `trusted_registries = ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]`:
    /// ```yaml
    /// image: docker.io/someone/tool:1.0
    /// ```
    ///
    /// ## Fix
    /// Mirror the image into a trusted registry (an ECR pull-through cache, for example)
    /// and reference it there.
    pub ImageUntrustedRegistry {
        id: "IMG003",
        name: "image-untrusted-registry",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Image from a registry outside the trusted list",
        remediation: "Pull images only from the registries listed in `trusted_registries`.",
        params: Params,
        guide: &["IM-10"],
    }
}

/// Whether `image` matches one allow-list entry.
fn trusted_by(image: &ImageRef, entry: &str) -> bool {
    let entry = entry.trim();
    let entry = entry
        .strip_prefix("https://")
        .or_else(|| entry.strip_prefix("http://"))
        .unwrap_or(entry)
        .trim_end_matches('/');
    if entry.is_empty() {
        return false;
    }
    let (host, path) = entry.split_once('/').unwrap_or((entry, ""));
    let host_ok = match host.strip_prefix("*.") {
        Some(suffix) => {
            // Without a port in the entry, the wildcard accepts the host on any port.
            let reg = if suffix.contains(':') {
                image.registry.as_str()
            } else {
                image.registry.split(':').next().unwrap_or("")
            };
            reg.ends_with(&format!(".{}", suffix.to_ascii_lowercase()))
        }
        None => image.registry == normalize_registry(host),
    };
    host_ok
        && (path.is_empty()
            || image.repository == path
            || image.repository.starts_with(&format!("{path}/")))
}

impl ObjectRule for ImageUntrustedRegistry {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let params = cx.params::<Params>(&Self::META);
        let trusted = &params.trusted_registries;
        if trusted.is_empty() {
            return;
        }
        let Some(pod) = obj.pod_spec() else { return };
        for c in pod.containers() {
            let Some(img) = c.image().and_then(parse_image) else {
                continue;
            };
            if !trusted.iter().any(|t| trusted_by(&img, t)) {
                out.report(
                    obj,
                    c.path_to("image"),
                    format!(
                        "{} image `{}` is not from a trusted registry",
                        c.describe(),
                        img.full_name()
                    ),
                );
            }
        }
    }
}
