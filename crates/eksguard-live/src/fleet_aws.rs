//! The AWS calls that find a fleet: the caller's identity, the organization's active
//! accounts, a role assumed in each account, the regions enabled, and the clusters of
//! each region. Every call names its IAM action (`sts:AssumeRole`), so a failure says
//! what was refused, and the documented scanning policy can be checked against the code.

use std::time::Duration;

use aws_config::Region;
pub use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
pub use aws_credential_types::Credentials;
use serde_json::{json, Value as Json};

use crate::aws_request::{AwsError, Call, SignedClient};
use crate::ec2_query::{parse_xml, Ec2Client};

const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// Organizations and EKS list pages; more is a server that never ends its list.
const MAX_PAGES: usize = 1_000;
/// The session name every assumed role carries, so CloudTrail shows who read.
pub const SESSION_NAME: &str = "eksguard";
/// An assumed role's session: long enough for a large account.
const SESSION_SECONDS: u32 = 3_600;

/// The IAM actions a fleet scan calls beyond those of one cluster's read.
pub const ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "organizations:ListAccounts",
    "ec2:DescribeRegions",
    "eks:ListClusters",
];

/// A configuration for `region` with `credentials` (an assumed role's), or the base
/// configuration's own credential chain when `None`.
pub fn scoped_config(
    base: &aws_config::SdkConfig,
    region: &str,
    credentials: Option<&Credentials>,
) -> aws_config::SdkConfig {
    let mut b = base.to_builder().region(Region::new(region.to_string()));
    if let Some(c) = credentials {
        b = b.credentials_provider(SharedCredentialsProvider::new(c.clone()));
    }
    b.build()
}

/// The shared configuration of the command line (profile, region, endpoint).
pub async fn base_config(
    region: Option<&str>,
    profile: Option<&str>,
    endpoint_url: Option<&str>,
) -> Result<aws_config::SdkConfig, crate::aws_live::LiveError> {
    crate::aws_live::sdk_config(region, profile, endpoint_url).await
}

/// Who the credentials of `conf` are: (account, ARN).
pub async fn caller_identity(conf: &aws_config::SdkConfig) -> Result<(String, String), AwsError> {
    let sts = SignedClient::new(conf, "sts", "AWS_ENDPOINT_URL_STS");
    let call = Call {
        method: "POST",
        path: "/",
        content_type: FORM,
        body: b"Action=GetCallerIdentity&Version=2011-06-15".to_vec(),
    };
    let body = sts
        .send(&call, crate::security_hub::sts_error)
        .await
        .map_err(|e| named("sts:GetCallerIdentity", e))?;
    let root =
        parse_xml(&body).map_err(|e| AwsError::local(format!("sts:GetCallerIdentity: {e}")))?;
    let result = root.child("GetCallerIdentityResult");
    let text = |name: &str| {
        result
            .and_then(|r| r.child(name))
            .map(|a| a.text.trim().to_string())
            .filter(|a| !a.is_empty())
    };
    match (text("Account"), text("Arn")) {
        (Some(account), Some(arn)) => Ok((account, arn)),
        _ => Err(AwsError::local(
            "sts:GetCallerIdentity: no Account or Arn in the answer",
        )),
    }
}

/// `sts:AssumeRole` of `role_arn` with session name `eksguard`.
pub async fn assume_role(
    conf: &aws_config::SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
) -> Result<Credentials, AwsError> {
    const CALL: &str = "sts:AssumeRole";
    let sts = SignedClient::new(conf, "sts", "AWS_ENDPOINT_URL_STS");
    let mut params = vec![
        ("Action", "AssumeRole".to_string()),
        ("Version", "2011-06-15".to_string()),
        ("RoleArn", role_arn.to_string()),
        ("RoleSessionName", SESSION_NAME.to_string()),
        ("DurationSeconds", SESSION_SECONDS.to_string()),
    ];
    if let Some(id) = external_id {
        params.push(("ExternalId", id.to_string()));
    }
    let call = Call {
        method: "POST",
        path: "/",
        content_type: FORM,
        body: form(&params).into_bytes(),
    };
    let body = sts
        .send(&call, crate::security_hub::sts_error)
        .await
        .map_err(|e| named(CALL, e))?;
    let root = parse_xml(&body).map_err(|e| AwsError::local(format!("{CALL}: {e}")))?;
    let c = root
        .child("AssumeRoleResult")
        .and_then(|r| r.child("Credentials"));
    let text = |name: &str| {
        c.and_then(|c| c.child(name))
            .map(|e| e.text.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    match (
        text("AccessKeyId"),
        text("SecretAccessKey"),
        text("SessionToken"),
    ) {
        (Some(id), Some(secret), token) => Ok(Credentials::new(
            id,
            secret,
            token,
            Some(std::time::SystemTime::now() + Duration::from_secs(u64::from(SESSION_SECONDS))),
            "eksguard-assumed-role",
        )),
        _ => Err(AwsError::local(format!(
            "{CALL}: no credentials in the answer"
        ))),
    }
}

/// An account of the organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub status: String,
}

/// `organizations:ListAccounts`, every page (the caller must be the management account or
/// a delegated administrator).
pub async fn list_accounts(conf: &aws_config::SdkConfig) -> Result<Vec<Account>, AwsError> {
    const CALL: &str = "organizations:ListAccounts";
    // Organizations has one endpoint per partition, signed for its home region.
    let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
    let home = if region.starts_with("cn-") {
        "cn-northwest-1"
    } else if region.starts_with("us-gov-") {
        "us-gov-west-1"
    } else {
        "us-east-1"
    };
    let conf = conf.to_builder().region(Region::new(home)).build();
    let client = SignedClient::new(&conf, "organizations", "AWS_ENDPOINT_URL_ORGANIZATIONS");
    let mut accounts = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut request = json!({});
        if let Some(t) = &token {
            request["NextToken"] = json!(t);
        }
        let call = Call {
            method: "POST",
            path: "/",
            content_type: "application/x-amz-json-1.1",
            body: request.to_string().into_bytes(),
        };
        let body = client
            .send_with_headers(
                &call,
                &[("x-amz-target", "AWSOrganizationsV20161128.ListAccounts")],
                json_error,
            )
            .await
            .map_err(|e| named(CALL, e))?;
        let v: Json = serde_json::from_slice(&body)
            .map_err(|e| AwsError::local(format!("{CALL}: answer is not JSON: {e}")))?;
        let text = |a: &Json, k: &str| a.get(k).and_then(Json::as_str).unwrap_or("").to_string();
        for a in v
            .get("Accounts")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            accounts.push(Account {
                id: text(a, "Id"),
                name: text(a, "Name"),
                status: text(a, "Status"),
            });
        }
        match v.get("NextToken").and_then(Json::as_str) {
            Some(t) if !t.is_empty() && Some(t) != token.as_deref() => token = Some(t.into()),
            _ => return Ok(accounts),
        }
    }
    Err(AwsError::local(format!(
        "{CALL}: more than {MAX_PAGES} pages"
    )))
}

/// `ec2:DescribeRegions`: the regions enabled for the account.
pub async fn enabled_regions(conf: &aws_config::SdkConfig) -> Result<Vec<String>, AwsError> {
    let regions = Ec2Client::new(conf)
        .describe_regions()
        .await
        .map_err(|e| named("ec2:DescribeRegions", e))?;
    let mut names: Vec<String> = regions
        .iter()
        .filter(|r| {
            r.get("OptInStatus")
                .and_then(Json::as_str)
                .is_none_or(|s| s != "not-opted-in")
        })
        .filter_map(|r| r.get("RegionName").and_then(Json::as_str))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// `eks:ListClusters` in the region of `conf`, every page.
pub async fn list_clusters(conf: &aws_config::SdkConfig) -> Result<Vec<String>, AwsError> {
    let mut names = crate::aws_api::Eks::new(conf)
        .list_clusters()
        .await
        .map_err(|e| named("eks:ListClusters", e))?;
    names.sort();
    Ok(names)
}

/// The error with the action that failed in front.
fn named(action: &str, e: AwsError) -> AwsError {
    e.with_operation(action)
}

fn form(params: &[(&str, String)]) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const VALUE: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, VALUE)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `{"__type": "…", "Message": "…"}`, the JSON protocols' error.
fn json_error(body: &[u8]) -> Option<AwsError> {
    let v: Json = serde_json::from_slice(body).ok()?;
    let text = |k: &str| v.get(k).and_then(Json::as_str).map(str::to_string);
    let code = text("__type")
        .or_else(|| text("Code"))
        .map(|c| c.rsplit('#').next().unwrap_or(&c).to_string());
    let message = text("Message")
        .or_else(|| text("message"))
        .unwrap_or_default();
    (code.is_some() || !message.is_empty()).then(|| AwsError::coded(code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assume_role_form_is_encoded() {
        let body = form(&[
            ("RoleArn", "arn:aws:iam::1:role/a/b".into()),
            ("ExternalId", "x y&z".into()),
        ]);
        assert_eq!(
            body,
            "RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%2Fb&ExternalId=x%20y%26z"
        );
    }

    #[test]
    fn organizations_errors() {
        let e = json_error(br#"{"__type":"AWSOrganizationsNotInUseException","Message":"no org"}"#)
            .unwrap();
        assert_eq!(e.code.as_deref(), Some("AWSOrganizationsNotInUseException"));
        assert!(json_error(b"<html>").is_none());
        let e = named("organizations:ListAccounts", e);
        assert!(e
            .to_string()
            .starts_with("organizations:ListAccounts failed: "));
    }
}
