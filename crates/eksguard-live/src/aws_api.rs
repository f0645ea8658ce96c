//! EKS (REST-JSON), IAM (Query API, XML answers) and CloudWatch Logs (JSON 1.1) over the
//! in-tree signed client of [`crate::aws_request`]: the same bounds (answer size, attempt
//! time, pages), retries and error model as every other AWS call of eksguard. Answers are
//! handed back as JSON in the service's own field names; IAM's XML is rewritten through a
//! table of the fields read ([`crate::ec2_query::Shape`]).

use percent_encoding::utf8_percent_encode;
use serde_json::{json, Value as Json};

use crate::aws_request::{AwsError, Call, SignedClient};
use crate::ec2_query::{convert, parse_xml, Element, Shape, QUERY_VALUE};

/// Pages of one list; more is a server that never ends its list.
pub(crate) const MAX_PAGES: usize = 1_000;
const REST_JSON: &str = "application/json";
const JSON_11: &str = "application/x-amz-json-1.1";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
const IAM_VERSION: &str = "2010-05-08";

/// `{"__type": "…#Code", "message": "…"}`, the JSON protocols' error answer.
pub(crate) fn json_error(body: &[u8]) -> Option<AwsError> {
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

/// `<ErrorResponse><Error><Code>…</Code><Message>…</Message></Error><RequestId>…`, the
/// Query protocol's error answer (IAM, STS).
pub(crate) fn query_error(body: &[u8]) -> Option<AwsError> {
    let root = parse_xml(body).ok()?;
    let error = root.child("Error")?;
    let mut e = AwsError::coded(
        error.child("Code").map(|c| c.text.trim().to_string()),
        error
            .child("Message")
            .map(|m| m.text.trim().to_string())
            .unwrap_or_default(),
    );
    e.detail.request_id = root
        .child("RequestId")
        .map(|r| r.text.trim().to_string())
        .filter(|r| !r.is_empty());
    Some(e)
}

/// One path segment or query value, percent-encoded (an access entry's principal ARN
/// has `:` and `/`).
pub(crate) fn enc(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

fn parse_json(bytes: &[u8]) -> Result<Json, AwsError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes).map_err(|e| AwsError::local(format!("answer is not JSON: {e}")))
}

/// EKS: REST-JSON, `GET /clusters/…`.
pub(crate) struct Eks {
    client: SignedClient,
}

impl Eks {
    pub(crate) fn new(conf: &aws_config::SdkConfig) -> Self {
        Eks {
            client: SignedClient::new(conf, "eks", "AWS_ENDPOINT_URL_EKS"),
        }
    }

    async fn get(&self, path: &str) -> Result<Json, AwsError> {
        let call = Call {
            method: "GET",
            path,
            content_type: REST_JSON,
            body: Vec::new(),
        };
        parse_json(&self.client.send(&call, json_error).await?)
    }

    /// Every page of a list under `path`: the entries of `key`.
    async fn list(&self, path: &str, key: &str) -> Result<Vec<Json>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = format!("{path}?maxResults=100");
            if let Some(t) = &token {
                url.push_str("&nextToken=");
                url.push_str(&enc(t));
            }
            let page = self.get(&url).await?;
            if let Some(items) = page.get(key).and_then(Json::as_array) {
                out.extend(items.iter().cloned());
            }
            match page.get("nextToken").and_then(Json::as_str) {
                Some(t) if !t.is_empty() && Some(t) != token.as_deref() => {
                    token = Some(t.to_string())
                }
                _ => return Ok(out),
            }
        }
        Err(AwsError::local(format!(
            "more than {MAX_PAGES} pages of {key}"
        )))
    }

    /// Names in a list answer.
    async fn names(&self, path: &str, key: &str) -> Result<Vec<String>, AwsError> {
        Ok(self
            .list(path, key)
            .await?
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect())
    }

    /// The `key` member of an answer, absent when the service sent none.
    async fn one(&self, path: &str, key: &str) -> Result<Option<Json>, AwsError> {
        let mut v = self.get(path).await?;
        Ok(v.get_mut(key).map(Json::take).filter(Json::is_object))
    }

    pub(crate) async fn list_clusters(&self) -> Result<Vec<String>, AwsError> {
        self.names("/clusters", "clusters").await
    }

    pub(crate) async fn describe_cluster(&self, name: &str) -> Result<Option<Json>, AwsError> {
        self.one(&format!("/clusters/{}", enc(name)), "cluster")
            .await
    }

    pub(crate) async fn list_nodegroups(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        self.names(
            &format!("/clusters/{}/node-groups", enc(cluster)),
            "nodegroups",
        )
        .await
    }

    pub(crate) async fn describe_nodegroup(
        &self,
        cluster: &str,
        name: &str,
    ) -> Result<Option<Json>, AwsError> {
        let path = format!("/clusters/{}/node-groups/{}", enc(cluster), enc(name));
        self.one(&path, "nodegroup").await
    }

    pub(crate) async fn list_access_entries(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        let path = format!("/clusters/{}/access-entries", enc(cluster));
        self.names(&path, "accessEntries").await
    }

    pub(crate) async fn describe_access_entry(
        &self,
        cluster: &str,
        principal: &str,
    ) -> Result<Option<Json>, AwsError> {
        let path = format!(
            "/clusters/{}/access-entries/{}",
            enc(cluster),
            enc(principal)
        );
        self.one(&path, "accessEntry").await
    }

    pub(crate) async fn list_associated_access_policies(
        &self,
        cluster: &str,
        principal: &str,
    ) -> Result<Vec<Json>, AwsError> {
        let path = format!(
            "/clusters/{}/access-entries/{}/access-policies",
            enc(cluster),
            enc(principal)
        );
        self.list(&path, "associatedAccessPolicies").await
    }

    /// Summaries (`associationId`, `namespace`, `serviceAccount`, …).
    pub(crate) async fn list_pod_identity_associations(
        &self,
        cluster: &str,
    ) -> Result<Vec<Json>, AwsError> {
        let path = format!("/clusters/{}/pod-identity-associations", enc(cluster));
        self.list(&path, "associations").await
    }

    pub(crate) async fn describe_pod_identity_association(
        &self,
        cluster: &str,
        id: &str,
    ) -> Result<Option<Json>, AwsError> {
        let path = format!(
            "/clusters/{}/pod-identity-associations/{}",
            enc(cluster),
            enc(id)
        );
        self.one(&path, "association").await
    }

    pub(crate) async fn list_addons(&self, cluster: &str) -> Result<Vec<String>, AwsError> {
        self.names(&format!("/clusters/{}/addons", enc(cluster)), "addons")
            .await
    }

    pub(crate) async fn describe_addon(
        &self,
        cluster: &str,
        name: &str,
    ) -> Result<Option<Json>, AwsError> {
        let path = format!("/clusters/{}/addons/{}", enc(cluster), enc(name));
        self.one(&path, "addon").await
    }
}

/// IAM: the Query API, `Action=…&Version=2010-05-08` posted as a form, XML answers.
pub(crate) struct Iam {
    client: SignedClient,
}

impl Iam {
    pub(crate) fn new(conf: &aws_config::SdkConfig) -> Self {
        Iam {
            client: SignedClient::global(conf, "iam", "AWS_ENDPOINT_URL_IAM"),
        }
    }

    /// One call: the `<ActionResult>` element of the answer.
    pub(crate) async fn call(
        &self,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Element, AwsError> {
        let mut body = format!("Action={action}&Version={IAM_VERSION}");
        for (k, v) in params {
            body.push('&');
            body.push_str(k);
            body.push('=');
            body.push_str(&enc(v));
        }
        let call = Call {
            method: "POST",
            path: "/",
            content_type: FORM,
            body: body.into_bytes(),
        };
        let answer = self.client.send(&call, query_error).await?;
        let mut root = parse_xml(&answer).map_err(AwsError::local)?;
        let result = format!("{action}Result");
        match root.children.iter().position(|c| c.name == result) {
            Some(i) => Ok(root.children.swap_remove(i)),
            None => Err(AwsError::local(format!("no {result} in the answer"))),
        }
    }

    /// One call, the member `field` of its result as JSON (`None`: absent).
    pub(crate) async fn get(
        &self,
        action: &str,
        params: &[(&str, &str)],
        field: &str,
        shape: &Shape,
    ) -> Result<Option<Json>, AwsError> {
        let result = self.call(action, params).await?;
        Ok(result.child(field).and_then(|e| convert(e, shape)))
    }

    /// Every page (`Marker`, `IsTruncated`) of the list `field`, its `<member>` entries
    /// converted with `item`.
    pub(crate) async fn pages(
        &self,
        action: &str,
        params: &[(&str, &str)],
        field: &str,
        item: &Shape,
    ) -> Result<Vec<Json>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut p: Vec<(&str, &str)> = params.to_vec();
            p.push(("MaxItems", "1000"));
            if let Some(m) = &marker {
                p.push(("Marker", m));
            }
            let result = self.call(action, &p).await?;
            if let Some(list) = result.child(field) {
                out.extend(
                    list.children
                        .iter()
                        .filter(|c| c.name == "member")
                        .filter_map(|c| convert(c, item)),
                );
            }
            let truncated = result
                .child("IsTruncated")
                .is_some_and(|t| t.text.trim() == "true");
            let next = result
                .child("Marker")
                .map(|m| m.text.trim().to_string())
                .filter(|m| !m.is_empty());
            match next {
                Some(m) if truncated && Some(&m) != marker.as_ref() => marker = Some(m),
                _ => return Ok(out),
            }
        }
        Err(AwsError::local(format!(
            "more than {MAX_PAGES} pages of {field}"
        )))
    }
}

/// CloudWatch Logs: JSON 1.1 (`X-Amz-Target: Logs_20140328.<Operation>`).
pub(crate) struct Logs {
    client: SignedClient,
}

impl Logs {
    pub(crate) fn new(conf: &aws_config::SdkConfig) -> Self {
        Logs {
            client: SignedClient::new(conf, "logs", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"),
        }
    }

    /// The same client making up to `attempts` attempts of each call.
    pub(crate) fn with_attempts(self, attempts: u32) -> Self {
        Logs {
            client: self.client.with_attempts(attempts),
        }
    }

    pub(crate) async fn call(&self, op: &str, body: &Json) -> Result<Json, AwsError> {
        let target = format!("Logs_20140328.{op}");
        let call = Call {
            method: "POST",
            path: "/",
            content_type: JSON_11,
            body: body.to_string().into_bytes(),
        };
        let bytes = self
            .client
            .send_with_headers(&call, &[("x-amz-target", &target)], json_error)
            .await?;
        parse_json(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_of_each_protocol() {
        let e = json_error(br#"{"__type":"com.amazon#ResourceNotFoundException:http://x","message":"No cluster found for name: x."}"#)
            .unwrap();
        assert_eq!(e.code.as_deref(), Some("ResourceNotFoundException"));
        assert_eq!(e.to_string(), "ResourceNotFoundException: No cluster found for name: x; check the name and the region (--region)");
        let e = query_error(br#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name x cannot be found.</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"#)
            .unwrap();
        assert_eq!(e.code.as_deref(), Some("NoSuchEntity"));
        assert_eq!(e.detail.request_id.as_deref(), Some("r-1"));
        assert!(json_error(b"<html>").is_none());
        assert!(query_error(b"{}").is_none());
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(
            enc("arn:aws:iam::1:role/a b"),
            "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%20b"
        );
    }
}
