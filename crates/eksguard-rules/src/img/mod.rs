//! IMG — container images: mutable tags, digests and registries.

mod ecr;
mod ecr_endpoint_policy_unrestricted;
mod ecr_enhanced_scanning_disabled;
mod ecr_image_scanning_disabled;
mod ecr_lifecycle_policy_missing;
mod ecr_mutable_tags;
mod ecr_private_endpoints_missing;
mod ecr_repository_policy_public;
mod exposure;
mod image_mutable_tag;
mod image_not_pinned;
mod image_signature_verification_absent;
mod image_untrusted_registry;
mod image_with_known_vulnerabilities;

pub use image_mutable_tag::ImageMutableTag;
pub use image_not_pinned::ImageNotPinned;
pub use image_signature_verification_absent::ImageSignatureVerificationAbsent;
pub use image_untrusted_registry::ImageUntrustedRegistry;

pub use ecr_endpoint_policy_unrestricted::EcrEndpointPolicyUnrestricted;
pub use ecr_enhanced_scanning_disabled::EcrEnhancedScanningDisabled;
pub use ecr_image_scanning_disabled::EcrImageScanningDisabled;
pub use ecr_lifecycle_policy_missing::EcrLifecyclePolicyMissing;
pub use ecr_mutable_tags::EcrMutableTags;
pub use ecr_private_endpoints_missing::EcrPrivateEndpointsMissing;
pub use ecr_repository_policy_public::EcrRepositoryPolicyPublic;
pub use image_with_known_vulnerabilities::ImageWithKnownVulnerabilities;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &ImageMutableTag,
    &ImageNotPinned,
    &ImageUntrustedRegistry,
    &EcrImageScanningDisabled,
    &EcrEnhancedScanningDisabled,
    &ImageWithKnownVulnerabilities,
    &EcrMutableTags,
    &EcrRepositoryPolicyPublic,
    &EcrPrivateEndpointsMissing,
    &EcrEndpointPolicyUnrestricted,
    &EcrLifecyclePolicyMissing,
    &ImageSignatureVerificationAbsent,
];

/// Docker Hub, where references without a registry host resolve.
pub const DOCKER_HUB: &str = "docker.io";

/// A container image reference split the way container runtimes read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host (with port), `docker.io` when the reference names none.
    pub registry: String,
    /// The repository path; Docker Hub official images get their implicit `library/`.
    pub repository: String,
    pub tag: Option<String>,
    /// `algorithm:hex` after the `@`.
    pub digest: Option<String>,
}

impl ImageRef {
    /// `registry/repository`, the form registry allow-lists are written in.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The last path component of the repository (`node` for `calico/node`).
    pub fn base_name(&self) -> &str {
        self.repository.rsplit('/').next().unwrap_or("")
    }
}

/// Normalises Docker Hub's aliases to `docker.io`; other hosts are lower-cased.
pub fn normalize_registry(host: &str) -> String {
    let h = host.to_ascii_lowercase();
    match h.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_string()
        }
        _ => h,
    }
}

/// Parses an image reference such as `nginx`, `nginx:1.27`, `localhost:5000/app@sha256:…`
/// or `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1`. The first component is
/// a registry host when it contains a dot or a colon or is `localhost`, as in the Docker
/// reference grammar. Returns `None` for an empty reference.
pub fn parse_image(image: &str) -> Option<ImageRef> {
    let image = image.trim();
    if image.is_empty() {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string()).filter(|d| !d.is_empty())),
        None => (image, None),
    };
    let (registry, rest) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (normalize_registry(first), rest)
        }
        _ => (DOCKER_HUB.to_string(), name),
    };
    // A colon after the last slash separates the tag; one before it belongs to a port.
    let last = rest.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match rest[last..].rfind(':') {
        Some(i) => (
            &rest[..last + i],
            Some(rest[last + i + 1..].to_string()).filter(|t| !t.is_empty()),
        ),
        None => (rest, None),
    };
    let mut repository = repository.to_string();
    if registry == DOCKER_HUB && !repository.contains('/') {
        repository = format!("library/{repository}");
    }
    Some(ImageRef {
        registry,
        repository,
        tag,
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r = parse_image(s).unwrap();
        (r.registry, r.repository, r.tag, r.digest)
    }

    fn t(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn parses_references() {
        assert_eq!(
            p("nginx"),
            ("docker.io".into(), "library/nginx".into(), None, None)
        );
        assert_eq!(
            p("bitnami/redis:7.2"),
            ("docker.io".into(), "bitnami/redis".into(), t("7.2"), None)
        );
        assert_eq!(
            p("localhost:5000/app"),
            ("localhost:5000".into(), "app".into(), None, None)
        );
        assert_eq!(
            p("localhost/app:1"),
            ("localhost".into(), "app".into(), t("1"), None)
        );
        assert_eq!(
            p("registry.example.com:8443/team/app:v2@sha256:abc"),
            (
                "registry.example.com:8443".into(),
                "team/app".into(),
                t("v2"),
                t("sha256:abc")
            )
        );
        assert_eq!(
            p("public.ecr.aws/eks/aws-load-balancer-controller@sha256:0f"),
            (
                "public.ecr.aws".into(),
                "eks/aws-load-balancer-controller".into(),
                None,
                t("sha256:0f")
            )
        );
        assert_eq!(
            p("index.docker.io/library/busybox:latest"),
            (
                "docker.io".into(),
                "library/busybox".into(),
                t("latest"),
                None
            )
        );
        assert!(parse_image("  ").is_none());
    }
}
