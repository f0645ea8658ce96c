use eksguard_model::Object;

use crate::{declare_rule, Ctx, ObjectRule, Sink, WORKLOAD_KINDS};

use super::parse_image;

declare_rule! {
    /// ## What it checks
    /// Containers (init, regular and ephemeral) whose image has neither a tag nor a
    /// digest, or is tagged `latest` (in any letter case). An image pinned by digest is
    /// left alone even when it also carries `latest`: the runtime pulls the digest.
    ///
    /// ## Why it matters
    /// A missing tag means `latest`, and `latest` moves: each node may run a different
    /// build, a compromised push reaches the cluster on the next pull, and nobody can
    /// tell which code is running or roll back to it.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: app
    ///   image: nginx:latest
    /// ```
    ///
    /// ## Fix
    /// Use an immutable version tag (with ECR tag immutability) or, better, a digest.
    pub ImageMutableTag {
        id: "IMG001",
        name: "image-mutable-tag",
        severity: Low,
        data: [Kubernetes],
        scope: Objects(WORKLOAD_KINDS),
        summary: "Image has no tag or uses `latest`",
        remediation: "Reference the image by a version tag or a digest instead of `latest`.",
        guide: &["IM-14"],
    }
}

impl ObjectRule for ImageMutableTag {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let Some(pod) = obj.pod_spec() else { return };
        for c in pod.containers() {
            let Some(img) = c.image().and_then(parse_image) else {
                continue;
            };
            if img.digest.is_some() {
                continue;
            }
            let problem = match img.tag.as_deref() {
                None => "has no tag (pulls `latest`)",
                Some(t) if t.eq_ignore_ascii_case("latest") => "uses the `latest` tag",
                Some(_) => continue,
            };
            out.report(
                obj,
                c.path_to("image"),
                format!(
                    "{} image `{}` {problem}",
                    c.describe(),
                    c.image().unwrap_or_default().trim()
                ),
            );
        }
    }
}
