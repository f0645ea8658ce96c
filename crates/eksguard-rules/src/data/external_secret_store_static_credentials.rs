use eksguard_model::{FieldPath, Node, Object};

use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// External Secrets Operator stores (`SecretStore`, `ClusterSecretStore` of
    /// `external-secrets.io`) that reach AWS Secrets Manager or Parameter Store
    /// (`spec.provider.aws`) with an IAM access key read from a Kubernetes Secret
    /// (`auth.secretRef`), rather than with the identity of a ServiceAccount
    /// (`auth.jwt`, IRSA) or of the operator's pod (no `auth`: IRSA or EKS Pod Identity).
    /// An assumed `role` does not lift it: the access key is still what signs in.
    ///
    /// ## Why it matters
    /// The guide recommends an external secrets provider so that secrets live in a store
    /// with fine-grained access control, audit and rotation. A store opened with a
    /// long-lived access key puts the key to all of those secrets back into the cluster, as
    /// a Secret: whoever reads it can fetch every secret the key allows, from anywhere,
    /// until someone rotates it by hand. Workload identity gives the operator short-lived
    /// credentials tied to one ServiceAccount instead.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: external-secrets.io/v1
    /// kind: ClusterSecretStore
    /// spec:
    ///   provider:
    ///     aws:
    ///       service: SecretsManager
    ///       auth:
    ///         secretRef:
    ///           accessKeyIDSecretRef: {name: aws-creds, key: access-key-id}
    /// ```
    ///
    /// ## Fix
    /// Remove `auth.secretRef`: give the external-secrets ServiceAccount an IAM role
    /// (EKS Pod Identity association, or IRSA with `auth.jwt.serviceAccountRef`), then
    /// delete the access key in IAM and the Secret that held it.
    pub ExternalSecretStoreStaticCredentials {
        id: "DATA011",
        name: "external-secret-store-static-credentials",
        severity: Medium,
        data: [Kubernetes],
        scope: Objects(&["SecretStore", "ClusterSecretStore"]),
        summary: "External secrets store reaches AWS with a long-lived access key kept in a Secret",
        remediation: "Authenticate the external secrets store with workload identity (EKS Pod Identity or IRSA) and delete the access key.",
        guide: &["DE-10"],
    }
}

impl ObjectRule for ExternalSecretStoreStaticCredentials {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if !obj.api_version.starts_with("external-secrets.io/") {
            return;
        }
        let Some(secret_ref) = obj
            .spec()
            .at("provider.aws.auth.secretRef")
            .filter(|n| n.is_map() && !n.is_empty_value())
        else {
            return;
        };
        let name = |key: &str| {
            secret_ref
                .at(key)
                .and_then(Node::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let held = name("accessKeyIDSecretRef.name")
            .or_else(|| name("secretAccessKeySecretRef.name"))
            .map(|s| format!("Secret `{s}`"))
            .unwrap_or_else(|| "a Secret".to_string());
        out.report(
            obj,
            FieldPath::parse("spec.provider.aws.auth.secretRef"),
            format!(
                "{} `{}` signs in to AWS with an IAM access key kept in {held}: whoever reads it can fetch every secret the key allows",
                obj.kind, obj.name
            ),
        );
    }
}
