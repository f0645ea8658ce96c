use eksguard_model::Object;

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

use super::parse_image;

declare_rule! {
    /// ## What it checks
    /// Containers (init, regular and ephemeral) whose image is not referenced by digest
    /// (`@sha256:…`). A tag next to the digest is fine; a tag alone is reported.
    ///
    /// ## Why it matters
    /// Tags can be moved to other content; only a digest guarantees that every node runs
    /// the bytes that were scanned, signed and approved.
    ///
    /// ## Example
    /// ```yaml
    /// image: registry.example.com/shop/api:2.4.1
    /// ```
    ///
    /// ## Fix
    /// Append the digest: `registry.example.com/shop/api:2.4.1@sha256:…`, for example by
    /// resolving tags in CI.
    pub ImageNotPinned {
        id: "IMG002",
        name: "image-not-pinned",
        severity: Info,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Image not pinned by digest",
        remediation: "Reference the image by digest (`@sha256:...`).",
        guide: &["IM-14"],
    }
}

impl ObjectRule for ImageNotPinned {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for c in pod.containers() {
            let Some(img) = c.image().and_then(parse_image) else {
                continue;
            };
            if img.digest.is_none() {
                out.report(
                    obj,
                    c.path_to("image"),
                    format!(
                        "{} image `{}` is not pinned by digest",
                        c.describe(),
                        c.image().unwrap_or_default().trim()
                    ),
                );
            }
        }
    }
}
