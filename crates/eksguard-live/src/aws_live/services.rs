//! Live reads of the AWS security services around a cluster — ECR, KMS, CloudTrail and
//! ACM Private CA (JSON 1.1 protocol), GuardDuty, Amazon Inspector and EFS (REST-JSON) —
//! through the
//! in-tree signed client of [`crate::aws_request`], with its bounds and retries. Answers
//! are turned into the JSON the AWS CLI prints for the same call and classified as a
//! saved output would be. Read-only calls only: [`ACTIONS`] lists them all.

use std::collections::BTreeSet;

use eksguard_model::aws_kinds as k;
use futures_util::future::{join, join3, join_all};
use serde_json::{json, Map, Value as Json};

use crate::aws_request::{AwsError, Call, SignedClient};

/// Every IAM action the service reads call, for the read-only policy.
pub const ACTIONS: &[&str] = &[
    "ecr:DescribeRepositories",
    "ecr:GetRegistryScanningConfiguration",
    "ecr:GetRepositoryPolicy",
    "ecr:GetLifecyclePolicy",
    "kms:DescribeKey",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:GetEventSelectors",
    "cloudtrail:GetInsightSelectors",
    "guardduty:ListDetectors",
    "guardduty:GetDetector",
    "guardduty:ListCoverage",
    "inspector2:BatchGetAccountStatus",
    "inspector2:ListCoverage",
    "inspector2:ListFindings",
    "elasticfilesystem:DescribeFileSystems",
    "elasticfilesystem:DescribeAccessPoints",
    "acm-pca:ListCertificateAuthorities",
];

/// Pages of one list; more is a server that never ends its list.
const MAX_PAGES: usize = 100;
/// Repositories whose policies are read one by one.
const MAX_REPOSITORIES: usize = 500;
const JSON_11: &str = "application/x-amz-json-1.1";
const REST_JSON: &str = "application/json";

// Kinds each service's calls provide, for the rules a failed call leaves unchecked.
pub(super) const ECR_KINDS: &[&str] = &[
    k::ECR_REPOSITORY,
    k::ECR_REGISTRY_SCANNING,
    k::ECR_REPOSITORY_POLICY,
    k::ECR_LIFECYCLE_POLICY,
];
pub(super) const KMS_KINDS: &[&str] = &[k::KMS_KEY, k::KMS_KEY_ROTATION, k::KMS_ALIAS];
pub(super) const CLOUDTRAIL_KINDS: &[&str] = &[
    k::CLOUDTRAIL_TRAIL_LIST,
    k::CLOUDTRAIL_TRAIL,
    k::CLOUDTRAIL_TRAIL_STATUS,
    k::CLOUDTRAIL_EVENT_SELECTORS,
    k::CLOUDTRAIL_INSIGHT_SELECTORS,
];
pub(super) const GUARDDUTY_KINDS: &[&str] = &[
    k::GUARDDUTY_DETECTOR_LIST,
    k::GUARDDUTY_DETECTOR,
    k::GUARDDUTY_COVERAGE,
];
pub(super) const INSPECTOR_KINDS: &[&str] = &[
    k::INSPECTOR_ACCOUNT_STATUS,
    k::INSPECTOR_COVERAGE,
    k::INSPECTOR_FINDING,
];
pub(super) const EFS_KINDS: &[&str] = &[k::EFS_FILE_SYSTEM];
pub(super) const EFS_ACCESS_POINT_KINDS: &[&str] = &[k::EFS_ACCESS_POINT];
pub(super) const ACM_PCA_KINDS: &[&str] = &[k::ACMPCA_CA];

/// `{"__type": "…#Code", "message": "…"}`, the JSON protocols' error answer.
fn json_error(body: &[u8]) -> Option<AwsError> {
    let v: Json = serde_json::from_slice(body).ok()?;
    let text = |k: &str| v.get(k).and_then(Json::as_str).map(str::to_string);
    let code = text("__type")
        .or_else(|| text("Code"))
        .or_else(|| text("code"))
        .map(|c| {
            let c = c.rsplit('#').next().unwrap_or(&c);
            c.split(':').next().unwrap_or(c).to_string()
        });
    let message = text("message")
        .or_else(|| text("Message"))
        .unwrap_or_default();
    (code.is_some() || !message.is_empty()).then(|| AwsError::coded(code, message))
}

/// One signed client per service.
pub(super) struct Clients {
    ecr: SignedClient,
    kms: SignedClient,
    cloudtrail: SignedClient,
    guardduty: SignedClient,
    inspector2: SignedClient,
    efs: SignedClient,
    acm_pca: SignedClient,
}

impl Clients {
    pub(super) fn new(conf: &aws_config::SdkConfig) -> Self {
        Clients {
            ecr: SignedClient::new(conf, "ecr", "AWS_ENDPOINT_URL_ECR"),
            kms: SignedClient::new(conf, "kms", "AWS_ENDPOINT_URL_KMS"),
            cloudtrail: SignedClient::new(conf, "cloudtrail", "AWS_ENDPOINT_URL_CLOUDTRAIL"),
            guardduty: SignedClient::new(conf, "guardduty", "AWS_ENDPOINT_URL_GUARDDUTY"),
            inspector2: SignedClient::new(conf, "inspector2", "AWS_ENDPOINT_URL_INSPECTOR2"),
            efs: SignedClient::new(conf, "elasticfilesystem", "AWS_ENDPOINT_URL_EFS"),
            acm_pca: SignedClient::new(conf, "acm-pca", "AWS_ENDPOINT_URL_ACM_PCA"),
        }
    }
}

/// A JSON 1.1 call (`X-Amz-Target: <prefix>.<Operation>`).
async fn json11(
    client: &SignedClient,
    prefix: &str,
    op: &str,
    body: &Json,
) -> Result<Json, AwsError> {
    let target = format!("{prefix}.{op}");
    let call = Call {
        method: "POST",
        path: "/",
        content_type: JSON_11,
        body: body.to_string().into_bytes(),
    };
    let bytes = client
        .send_with_headers(&call, &[("x-amz-target", &target)], json_error)
        .await?;
    parse(&bytes)
}

/// A REST-JSON call.
async fn rest(
    client: &SignedClient,
    method: &str,
    path: &str,
    body: Option<&Json>,
) -> Result<Json, AwsError> {
    let call = Call {
        method,
        path,
        content_type: REST_JSON,
        body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
    };
    let bytes = client.send(&call, json_error).await?;
    parse(&bytes)
}

fn parse(bytes: &[u8]) -> Result<Json, AwsError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes).map_err(|e| AwsError::local(format!("answer is not JSON: {e}")))
}

/// Follows `token_key` pages, gathering the `list` arrays.
async fn paged<F, Fut>(list: &str, token_key: &str, call: F) -> Result<Vec<Json>, AwsError>
where
    F: Fn(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Json, AwsError>>,
{
    let mut out = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let page = call(token.take()).await?;
        if let Some(items) = page.get(list).and_then(Json::as_array) {
            out.extend(items.iter().cloned());
        }
        match page.get(token_key).and_then(Json::as_str) {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
    Err(AwsError::local(format!(
        "more than {MAX_PAGES} pages of {list}"
    )))
}

/// What the service reads hand back: CLI-shaped outputs, and failures as
/// `(action, resource, kinds, error)`.
#[derive(Default)]
pub(super) struct Read {
    pub outputs: Vec<Json>,
    pub failures: Vec<(&'static str, String, &'static [&'static str], String)>,
}

impl Read {
    fn fail(
        &mut self,
        api: &'static str,
        resource: &str,
        kinds: &'static [&'static str],
        e: &AwsError,
    ) {
        self.failures
            .push((api, resource.to_string(), kinds, e.to_string()));
    }

    fn extend(&mut self, other: Read) {
        self.outputs.extend(other.outputs);
        self.failures.extend(other.failures);
    }
}

/// Reads every service; `keys` are the KMS keys the cluster names (ARNs or aliases).
pub(super) async fn read(clients: &Clients, keys: &BTreeSet<String>) -> Read {
    let ((ecr, kms, trails), (guardduty, inspector, efs), pca) = join3(
        join3(
            ecr(&clients.ecr),
            kms(&clients.kms, keys),
            cloudtrail(&clients.cloudtrail),
        ),
        join3(
            guardduty(&clients.guardduty),
            inspector(&clients.inspector2),
            efs(&clients.efs),
        ),
        acm_pca(&clients.acm_pca),
    )
    .await;
    let mut out = Read::default();
    for r in [ecr, kms, trails, guardduty, inspector, efs, pca] {
        out.extend(r);
    }
    out
}

async fn ecr(c: &SignedClient) -> Read {
    const P: &str = "AmazonEC2ContainerRegistry_V20150921";
    let mut out = Read::default();
    match json11(c, P, "GetRegistryScanningConfiguration", &json!({})).await {
        Ok(v) => out.outputs.push(v),
        Err(e) => out.fail(
            "ecr:GetRegistryScanningConfiguration",
            "registry",
            ECR_KINDS,
            &e,
        ),
    }
    let repos = paged("repositories", "nextToken", |token| async move {
        let mut body = json!({"maxResults": 1000});
        if let Some(t) = token {
            body["nextToken"] = json!(t);
        }
        json11(c, P, "DescribeRepositories", &body).await
    })
    .await;
    let repos = match repos {
        Ok(r) => r,
        Err(e) => {
            out.fail("ecr:DescribeRepositories", "registry", ECR_KINDS, &e);
            return out;
        }
    };
    let names: Vec<(String, String)> = repos
        .iter()
        .filter_map(|r| {
            Some((
                r.get("registryId")?.as_str()?.to_string(),
                r.get("repositoryName")?.as_str()?.to_string(),
            ))
        })
        .take(MAX_REPOSITORIES)
        .collect();
    if repos.len() > MAX_REPOSITORIES {
        let detail = AwsError::local(format!(
            "{} repositories; the policies of the first {MAX_REPOSITORIES} were read (the cap), \
             those of the other {} were not",
            repos.len(),
            repos.len() - MAX_REPOSITORIES
        ));
        out.fail("ecr:GetRepositoryPolicy", "registry", ECR_KINDS, &detail);
    }
    out.outputs.push(json!({ "repositories": repos }));
    let per_repo = join_all(names.iter().map(|(registry, name)| async move {
        let body = json!({"registryId": registry, "repositoryName": name});
        let (policy, lifecycle) = join(
            json11(c, P, "GetRepositoryPolicy", &body),
            json11(c, P, "GetLifecyclePolicy", &body),
        )
        .await;
        (name, policy, lifecycle)
    }))
    .await;
    for (name, policy, lifecycle) in per_repo {
        for (api, answer, absent) in [
            (
                "ecr:GetRepositoryPolicy",
                policy,
                "RepositoryPolicyNotFoundException",
            ),
            (
                "ecr:GetLifecyclePolicy",
                lifecycle,
                "LifecyclePolicyNotFoundException",
            ),
        ] {
            match answer {
                Ok(v) => out.outputs.push(v),
                // No policy is an answer, not a failure: the rules judge its absence.
                Err(e) if e.code.as_deref() == Some(absent) => {}
                Err(e) => out.fail(api, name, ECR_KINDS, &e),
            }
        }
    }
    out
}

async fn kms(c: &SignedClient, keys: &BTreeSet<String>) -> Read {
    const P: &str = "TrentService";
    let mut out = Read::default();
    if keys.is_empty() {
        return out;
    }
    if keys
        .iter()
        .any(|k| k.contains(":alias/") || k.starts_with("alias/"))
    {
        let aliases = paged("Aliases", "NextMarker", |marker| async move {
            let mut body = json!({});
            if let Some(m) = marker {
                body["Marker"] = json!(m);
            }
            json11(c, P, "ListAliases", &body).await
        })
        .await;
        match aliases {
            Ok(a) => out.outputs.push(json!({ "Aliases": a })),
            Err(e) => out.fail("kms:ListAliases", "aliases", KMS_KINDS, &e),
        }
    }
    let answers = join_all(keys.iter().map(|key| async move {
        let body = json!({ "KeyId": key });
        let (described, rotation) = join(
            json11(c, P, "DescribeKey", &body),
            json11(c, P, "GetKeyRotationStatus", &body),
        )
        .await;
        (key, described, rotation)
    }))
    .await;
    for (key, described, rotation) in answers {
        let arn = match described {
            Ok(v) => {
                let arn = v
                    .pointer("/KeyMetadata/Arn")
                    .and_then(Json::as_str)
                    .map(str::to_string);
                out.outputs.push(v);
                arn
            }
            Err(e) => {
                out.fail("kms:DescribeKey", key, KMS_KINDS, &e);
                None
            }
        };
        match rotation {
            Ok(mut v) => {
                // Older answers do not name the key: name it as the call did.
                if v.get("KeyId").is_none() {
                    v["KeyId"] = json!(arn.as_deref().unwrap_or(key));
                }
                out.outputs.push(v);
            }
            Err(e) => out.fail("kms:GetKeyRotationStatus", key, KMS_KINDS, &e),
        }
    }
    out
}

async fn cloudtrail(c: &SignedClient) -> Read {
    const P: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";
    let mut out = Read::default();
    let trails = match json11(
        c,
        P,
        "DescribeTrails",
        &json!({"includeShadowTrails": true}),
    )
    .await
    {
        Ok(v) => v,
        Err(e) => {
            out.fail("cloudtrail:DescribeTrails", "trails", CLOUDTRAIL_KINDS, &e);
            return out;
        }
    };
    let arns: Vec<String> = trails
        .get("trailList")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|t| t.get("TrailARN")?.as_str().map(str::to_string))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    out.outputs
        .push(json!({ "trailList": trails.get("trailList").cloned().unwrap_or(json!([])) }));
    let answers = join_all(arns.iter().map(|arn| async move {
        let (status, selectors, insights) = join3(
            json11(c, P, "GetTrailStatus", &json!({ "Name": arn })),
            json11(c, P, "GetEventSelectors", &json!({ "TrailName": arn })),
            json11(c, P, "GetInsightSelectors", &json!({ "TrailName": arn })),
        )
        .await;
        (arn, status, selectors, insights)
    }))
    .await;
    for (arn, status, selectors, insights) in answers {
        match status {
            // The status does not name its trail; the live read knows which it is.
            Ok(mut v) => {
                v["TrailARN"] = json!(arn);
                out.outputs.push(v);
            }
            Err(e) => out.fail("cloudtrail:GetTrailStatus", arn, CLOUDTRAIL_KINDS, &e),
        }
        match selectors {
            Ok(mut v) => {
                v["TrailARN"] = json!(arn);
                out.outputs.push(v);
            }
            Err(e) => out.fail("cloudtrail:GetEventSelectors", arn, CLOUDTRAIL_KINDS, &e),
        }
        match insights {
            Ok(mut v) => {
                v["TrailARN"] = json!(arn);
                if v.get("InsightSelectors").is_none() {
                    v["InsightSelectors"] = json!([]);
                }
                out.outputs.push(v);
            }
            // A trail without Insights answers with an error that means "none".
            Err(e) if e.code.as_deref() == Some("InsightNotEnabledException") => {
                out.outputs
                    .push(json!({ "TrailARN": arn, "InsightSelectors": [] }));
            }
            Err(e) => out.fail("cloudtrail:GetInsightSelectors", arn, CLOUDTRAIL_KINDS, &e),
        }
    }
    out
}

/// GuardDuty's wire names are lower camel case; the CLI prints the model's member names,
/// which start with a capital. Tag maps keep their keys.
fn capitalised(v: Json) -> Json {
    match v {
        Json::Object(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let v = if k == "tags" { v } else { capitalised(v) };
                    let mut c = k.chars();
                    let key = match c.next() {
                        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                        None => k,
                    };
                    (key, v)
                })
                .collect::<Map<_, _>>(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(capitalised).collect()),
        other => other,
    }
}

async fn guardduty(c: &SignedClient) -> Read {
    let mut out = Read::default();
    let ids = paged("detectorIds", "nextToken", |token| async move {
        let path = match token {
            Some(t) => format!("/detector?nextToken={}", urlencode(&t)),
            None => "/detector".to_string(),
        };
        rest(c, "GET", &path, None).await
    })
    .await;
    let ids: Vec<String> = match ids {
        Ok(ids) => ids
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Err(e) => {
            out.fail("guardduty:ListDetectors", "detectors", GUARDDUTY_KINDS, &e);
            return out;
        }
    };
    out.outputs.push(json!({ "DetectorIds": ids }));
    for id in &ids {
        let path = format!("/detector/{}", urlencode(id));
        match rest(c, "GET", &path, None).await {
            Ok(v) => {
                let mut v = capitalised(v);
                v["DetectorId"] = json!(id);
                out.outputs.push(v);
            }
            Err(e) => out.fail("guardduty:GetDetector", id, GUARDDUTY_KINDS, &e),
        }
        let path = format!("/detector/{}/coverage", urlencode(id));
        let coverage = paged("resources", "nextToken", |token| {
            let path = path.clone();
            async move {
                let mut body = json!({"maxResults": 50});
                if let Some(t) = token {
                    body["nextToken"] = json!(t);
                }
                rest(c, "POST", &path, Some(&body)).await
            }
        })
        .await;
        match coverage {
            Ok(items) => {
                let items: Vec<Json> = items.into_iter().map(capitalised).collect();
                if !items.is_empty() {
                    out.outputs.push(json!({ "Resources": items }));
                }
            }
            Err(e) => out.fail("guardduty:ListCoverage", id, GUARDDUTY_KINDS, &e),
        }
    }
    out
}

async fn inspector(c: &SignedClient) -> Read {
    let mut out = Read::default();
    match rest(c, "POST", "/status/batch/get", Some(&json!({}))).await {
        Ok(v) => out.outputs.push(v),
        Err(e) => out.fail(
            "inspector2:BatchGetAccountStatus",
            "account",
            INSPECTOR_KINDS,
            &e,
        ),
    }
    let coverage = paged("coveredResources", "nextToken", |token| async move {
        let mut body = json!({"maxResults": 200});
        if let Some(t) = token {
            body["nextToken"] = json!(t);
        }
        rest(c, "POST", "/coverage/list", Some(&body)).await
    })
    .await;
    match coverage {
        Ok(items) => out.outputs.push(json!({ "coveredResources": items })),
        Err(e) => out.fail("inspector2:ListCoverage", "account", INSPECTOR_KINDS, &e),
    }
    // Open package vulnerabilities are what the rules read.
    let findings = paged("findings", "nextToken", |token| async move {
        let mut body = json!({
            "maxResults": 100,
            "filterCriteria": {
                "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}],
                "findingType": [{"comparison": "EQUALS", "value": "PACKAGE_VULNERABILITY"}]
            }
        });
        if let Some(t) = token {
            body["nextToken"] = json!(t);
        }
        rest(c, "POST", "/findings/list", Some(&body)).await
    })
    .await;
    match findings {
        Ok(items) if !items.is_empty() => out.outputs.push(json!({ "findings": items })),
        Ok(_) => {}
        Err(e) => out.fail("inspector2:ListFindings", "account", INSPECTOR_KINDS, &e),
    }
    out
}

async fn efs(c: &SignedClient) -> Read {
    let mut out = Read::default();
    let systems = paged("FileSystems", "NextMarker", |marker| async move {
        let path = match marker {
            Some(m) => format!("/2015-02-01/file-systems?Marker={}", urlencode(&m)),
            None => "/2015-02-01/file-systems".to_string(),
        };
        rest(c, "GET", &path, None).await
    })
    .await;
    match systems {
        Ok(items) if !items.is_empty() => out.outputs.push(json!({ "FileSystems": items })),
        Ok(_) => {}
        Err(e) => out.fail(
            "elasticfilesystem:DescribeFileSystems",
            "file-systems",
            EFS_KINDS,
            &e,
        ),
    }
    let points = paged("AccessPoints", "NextToken", |token| async move {
        let path = match token {
            Some(t) => format!("/2015-02-01/access-points?NextToken={}", urlencode(&t)),
            None => "/2015-02-01/access-points".to_string(),
        };
        rest(c, "GET", &path, None).await
    })
    .await;
    match points {
        Ok(items) if !items.is_empty() => out.outputs.push(json!({ "AccessPoints": items })),
        Ok(_) => {}
        Err(e) => out.fail(
            "elasticfilesystem:DescribeAccessPoints",
            "access-points",
            EFS_ACCESS_POINT_KINDS,
            &e,
        ),
    }
    out
}

/// The private CAs of the account, each as `acm-pca describe-certificate-authority`
/// prints it.
async fn acm_pca(c: &SignedClient) -> Read {
    const P: &str = "ACMPrivateCA";
    let mut out = Read::default();
    let cas = paged("CertificateAuthorities", "NextToken", |token| async move {
        let mut body = json!({ "MaxResults": 1000 });
        if let Some(t) = token {
            body["NextToken"] = json!(t);
        }
        json11(c, P, "ListCertificateAuthorities", &body).await
    })
    .await;
    match cas {
        Ok(items) => out.outputs.extend(
            items
                .into_iter()
                .filter(Json::is_object)
                .map(|ca| json!({ "CertificateAuthority": pca_times(ca) })),
        ),
        Err(e) => out.fail(
            "acm-pca:ListCertificateAuthorities",
            "certificate-authorities",
            ACM_PCA_KINDS,
            &e,
        ),
    }
    out
}

/// JSON 1.1 sends times as epoch seconds; the CLI prints them as ISO text.
fn pca_times(mut ca: Json) -> Json {
    for key in [
        "CreatedAt",
        "LastStateChangeAt",
        "NotBefore",
        "NotAfter",
        "RestorableUntil",
    ] {
        if let Some(t) = ca.get(key).and_then(super::convert::json_time) {
            ca[key] = json!(t);
        }
    }
    ca
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_and_wire_names() {
        let e =
            json_error(br#"{"__type":"com.amazonaws.kms#NotFoundException","message":"no key"}"#)
                .unwrap();
        assert_eq!(e.code.as_deref(), Some("NotFoundException"));
        assert_eq!(e.message, "no key");
        assert!(json_error(b"<html>").is_none());
        let v = capitalised(
            json!({"dataSources": {"kubernetes": {"auditLogs": {"status": "ENABLED"}}},
            "tags": {"team": "a"}, "features": [{"name": "RUNTIME_MONITORING"}]}),
        );
        assert_eq!(
            v.pointer("/DataSources/Kubernetes/AuditLogs/Status"),
            Some(&json!("ENABLED"))
        );
        assert_eq!(v.pointer("/Tags/team"), Some(&json!("a")));
        assert_eq!(
            v.pointer("/Features/0/Name"),
            Some(&json!("RUNTIME_MONITORING"))
        );
    }

    #[test]
    fn actions_are_read_only() {
        for a in ACTIONS {
            let (_, op) = a.split_once(':').unwrap();
            assert!(
                ["Describe", "Get", "List", "BatchGet"]
                    .iter()
                    .any(|p| op.starts_with(p)),
                "{a}"
            );
        }
    }
}
