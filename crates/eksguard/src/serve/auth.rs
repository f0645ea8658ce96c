//! Who may read `/report`: the caller's bearer token is checked by the API server
//! (TokenReview), and the user it names must be allowed `get` on the `services/proxy`
//! subresource of the Service named with `--report-access` (SubjectAccessReview) — the
//! same permission that reads the Service through the API server's proxy. The report
//! lists the cluster's weak points, so it is off unless that Service is named.

use eksguard_live::kube_live::Watcher;
use serde_json::{json, Value as Json};

/// The Service whose `services/proxy` permission grants the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportAccess {
    pub namespace: String,
    pub service: String,
}

impl std::str::FromStr for ReportAccess {
    type Err = String;
    fn from_str(s: &str) -> Result<ReportAccess, String> {
        match s.split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(ReportAccess {
                    namespace: ns.to_string(),
                    service: name.to_string(),
                })
            }
            _ => Err("expected NAMESPACE/SERVICE".into()),
        }
    }
}

/// Why a caller may not read the report.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 401: no token, or one the API server does not accept.
    Unauthenticated(String),
    /// 403: a known user without the permission.
    Forbidden(String),
    /// 503: the API server could not be asked.
    Unavailable(String),
}

pub struct Authorizer {
    pub watcher: Watcher,
    pub access: ReportAccess,
}

/// The bearer token of an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let (scheme, token) = header?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl Authorizer {
    /// The user the token belongs to, when allowed to read the report.
    pub async fn check(&self, token: Option<&str>) -> Result<String, Refusal> {
        let Some(token) = token else {
            return Err(Refusal::Unauthenticated(
                "a bearer token is required (Authorization: Bearer ...)".into(),
            ));
        };
        let review = json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token},
        });
        let answer = self
            .watcher
            .create("/apis/authentication.k8s.io/v1/tokenreviews", &review)
            .await
            .map_err(|e| Refusal::Unavailable(format!("TokenReview failed: {e}")))?;
        let status = &answer["status"];
        if status["authenticated"] != Json::Bool(true) {
            return Err(Refusal::Unauthenticated(
                "the token was not accepted by the API server".into(),
            ));
        }
        let user = &status["user"];
        let username = user["username"].as_str().unwrap_or("").to_string();
        if username.is_empty() {
            return Err(Refusal::Unauthenticated("the token names no user".into()));
        }
        let mut spec = json!({
            "user": username,
            "resourceAttributes": {
                "namespace": self.access.namespace,
                "verb": "get",
                "resource": "services",
                "subresource": "proxy",
                "name": self.access.service,
            },
        });
        for key in ["groups", "uid", "extra"] {
            if let Some(v) = user.get(key).filter(|v| !v.is_null()) {
                spec[key] = v.clone();
            }
        }
        let sar = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": spec,
        });
        let answer = self
            .watcher
            .create("/apis/authorization.k8s.io/v1/subjectaccessreviews", &sar)
            .await
            .map_err(|e| Refusal::Unavailable(format!("SubjectAccessReview failed: {e}")))?;
        if answer["status"]["allowed"] == Json::Bool(true) {
            Ok(username)
        } else {
            Err(Refusal::Forbidden(format!(
                "{} may not get services/proxy of {}/{}",
                crate::term::shown(&username),
                self.access.namespace,
                self.access.service
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_and_access() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
        assert_eq!(
            "eksguard/eksguard-webhook".parse::<ReportAccess>(),
            Ok(ReportAccess {
                namespace: "eksguard".into(),
                service: "eksguard-webhook".into()
            })
        );
        assert!("eksguard".parse::<ReportAccess>().is_err());
        assert!("a/b/c".parse::<ReportAccess>().is_err());
    }
}
