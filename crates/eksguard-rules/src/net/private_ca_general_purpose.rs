use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Object};

use crate::aws_svc::{is, text};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// cert-manager `AWSPCAClusterIssuer` and `AWSPCAIssuer` objects
    /// (`awspca.cert-manager.io`) whose `spec.arn` names a private CA that
    /// `acm-pca describe-certificate-authority` shows with `UsageMode`
    /// `GENERAL_PURPOSE`. CAs the scan does not describe are not judged.
    ///
    /// ## Why it matters
    /// For workload mTLS certificates, which live for hours or days, the guide
    /// recommends a CA in short-lived certificate mode: it costs a fraction of a
    /// general-purpose CA per certificate and issues certificates that expire before
    /// revocation would matter.
    ///
    /// ## Reads
    /// - CLI: `aws acm-pca describe-certificate-authority --certificate-authority-arn A`
    /// - API: `DescribeCertificateAuthority`
    /// - Terraform: `aws_acmpca_certificate_authority.usage_mode`
    /// - CloudFormation: `AWS::ACMPCA::CertificateAuthority` `UsageMode`
    ///
    /// ## Example
    /// ```yaml
    /// kind: AWSPCAClusterIssuer
    /// spec:
    ///   arn: arn:aws:acm-pca:eu-west-1:111122223333:certificate-authority/1111…
    /// # describe-certificate-authority: "UsageMode": "GENERAL_PURPOSE"
    /// ```
    ///
    /// ## Fix
    /// Issue workload certificates from a private CA created with
    /// `UsageMode: SHORT_LIVED_CERTIFICATE`.
    pub PrivateCaGeneralPurpose {
        id: "NET018",
        name: "private-ca-general-purpose",
        severity: Info,
        data: [PrivateCa, Kubernetes],
        scope: Objects(&["AWSPCAClusterIssuer", "AWSPCAIssuer"]),
        reads: &[k::ACMPCA_CA],
        summary: "An AWS Private CA issuer uses a general-purpose CA for workload certificates",
        remediation: "Issue workload certificates from a short-lived certificate mode private CA.",
        guide: &["NS-15"],
    }
}

impl ObjectRule for PrivateCaGeneralPurpose {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if !obj.api_version.starts_with("awspca.cert-manager.io/") {
            return;
        }
        let Some(arn) = text(&obj.root, "spec.arn") else {
            return;
        };
        let general = cx.objects_of(k::ACMPCA_CA).any(|ca| {
            text(&ca.root, "Arn") == Some(arn) && is(&ca.root, "UsageMode", "GENERAL_PURPOSE")
        });
        if general {
            out.report(
                obj,
                FieldPath::parse("spec.arn"),
                format!(
                    "private CA {arn} is in GENERAL_PURPOSE mode, not short-lived certificate mode"
                ),
            );
        }
    }
}
