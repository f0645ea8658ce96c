//! EKS authentication without a kubeconfig: the bearer token `aws eks get-token` prints,
//! and the API server's address and CA from `DescribeCluster`.
//!
//! The token is `k8s-aws-v1.` and the base64url (unpadded) of a presigned STS
//! `GetCallerIdentity` URL whose signature covers the `x-k8s-aws-id` header naming the
//! cluster; the API server replays the URL to STS to learn who is calling. The URL is built
//! as the AWS CLI builds it (operation parameters first, then the signing parameters in
//! botocore's order, `X-Amz-Expires=60`), so the token is the CLI's, byte for byte. The
//! server accepts a token for 15 minutes after its signing time; [`TokenSource`] signs a
//! new one well before that.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The prefix the API server's authenticator expects.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The signed header that binds a token to one cluster.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// Seconds the presigned URL is valid for, as the CLI sets it.
const URL_EXPIRES: u64 = 60;
/// A token is signed again after this long: the server's limit is 15 minutes.
pub const REFRESH_AFTER: Duration = Duration::from_secs(10 * 60);

/// Unreserved characters (RFC 3986) stay; the rest is percent-encoded, as botocore's
/// `percent_encode` does for query strings.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot sign the EKS token: {0}")]
    Sign(String),
    #[error("no AWS credentials for the EKS token: {0}")]
    Credentials(String),
}

/// The STS endpoint the token names: the regional one, as the CLI uses by default.
pub fn sts_host(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("sts.{region}.{suffix}")
}

/// The bearer token for `cluster` (its name) in `region`, signed with `credentials` at
/// `time`.
pub fn token(
    cluster: &str,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<String, TokenError> {
    let url = presigned_url(cluster, region, credentials, time)?;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
    ))
}

/// The presigned `GetCallerIdentity` URL inside the token.
pub fn presigned_url(
    cluster: &str,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<String, TokenError> {
    let host = sts_host(region);
    let operation = "Action=GetCallerIdentity&Version=2011-06-15";
    let base = format!("https://{host}/?{operation}");
    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(URL_EXPIRES));
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| TokenError::Sign(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        "GET",
        base.as_str(),
        [("host", host.as_str()), (CLUSTER_ID_HEADER, cluster)].into_iter(),
        SignableBody::UnsignedPayload,
    )
    .map_err(|e| TokenError::Sign(e.to_string()))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| TokenError::Sign(e.to_string()))?
        .into_parts();
    let (_, query) = instructions.into_parts();
    let value = |name: &str| {
        query
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| TokenError::Sign(format!("the signer gave no {name}")))
    };
    // botocore writes the operation's parameters, then the signing parameters in this
    // order, the session token last of them, and appends the signature.
    let mut url = base;
    let mut names = vec![
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
    ];
    if credentials.session_token().is_some() {
        names.push("X-Amz-Security-Token");
    }
    names.push("X-Amz-Signature");
    for name in names {
        url.push('&');
        url.push_str(name);
        url.push('=');
        url.extend(utf8_percent_encode(&value(name)?, QUERY));
    }
    Ok(url)
}

/// Tokens for one cluster, signed again before they run out, with the credentials of a
/// provider (the default chain, or an assumed role's).
pub struct TokenSource {
    cluster: String,
    region: String,
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<(String, Instant)>>,
}

impl TokenSource {
    pub fn new(
        cluster: impl Into<String>,
        region: impl Into<String>,
        provider: SharedCredentialsProvider,
    ) -> Self {
        TokenSource {
            cluster: cluster.into(),
            region: region.into(),
            provider,
            cached: Mutex::new(None),
        }
    }

    /// A token younger than [`REFRESH_AFTER`].
    pub async fn token(&self) -> Result<String, TokenError> {
        if let Ok(cached) = self.cached.lock() {
            if let Some((t, at)) = cached.as_ref() {
                if at.elapsed() < REFRESH_AFTER {
                    return Ok(t.clone());
                }
            }
        }
        let credentials = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| TokenError::Credentials(e.to_string()))?;
        let t = token(&self.cluster, &self.region, &credentials, SystemTime::now())?;
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some((t.clone(), Instant::now()));
        }
        Ok(t)
    }
}

#[cfg(feature = "cluster")]
impl crate::kube_live::BearerSource for TokenSource {
    fn bearer(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + '_>>
    {
        Box::pin(async move { self.token().await.map_err(|e| e.to_string()) })
    }
}

/// Where a cluster's API server is and the CA that signs its certificate, from
/// `DescribeCluster`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiEndpoint {
    pub arn: Option<String>,
    pub server: String,
    /// Base64 of the PEM bundle, as `certificateAuthority.data` gives it.
    pub ca_data: Option<String>,
    /// Whether the endpoint is reachable from outside the cluster's VPC.
    pub public: bool,
}

/// `DescribeCluster` for the API server's address and CA.
pub async fn describe_endpoint(
    conf: &aws_config::SdkConfig,
    cluster: &str,
) -> Result<ApiEndpoint, String> {
    use serde_json::Value as Json;
    let c = crate::aws_api::Eks::new(conf)
        .describe_cluster(cluster)
        .await
        .map_err(|e| e.with_operation("eks:DescribeCluster").to_string())?
        .ok_or_else(|| "eks:DescribeCluster gave no cluster".to_string())?;
    let text = |p: &str| c.pointer(p).and_then(Json::as_str).map(str::to_string);
    let server = text("/endpoint").filter(|e| !e.is_empty()).ok_or_else(|| {
        "the cluster has no API endpoint (is it still being created?)".to_string()
    })?;
    Ok(ApiEndpoint {
        arn: text("/arn"),
        server,
        ca_data: text("/certificateAuthority/data"),
        // The SDK read an absent flag as false.
        public: c.get("resourcesVpcConfig").is_none_or(|v| {
            v.get("endpointPublicAccess")
                .and_then(Json::as_bool)
                .unwrap_or(false)
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn sha256_hex(data: &[u8]) -> String {
        Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// HMAC-SHA256 (RFC 2104), written out so the test depends on no signer.
    fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
        let mut inner = Sha256::new();
        inner.update(pad(0x36));
        inner.update(data);
        let mut outer = Sha256::new();
        outer.update(pad(0x5c));
        outer.update(inner.finalize());
        outer.finalize().to_vec()
    }

    /// The token by the SigV4 specification (query-string authentication) and the CLI's
    /// layout of the URL, step by step.
    fn expected_token(
        cluster: &str,
        region: &str,
        key_id: &str,
        secret: &str,
        session: Option<&str>,
        amz_date: &str,
    ) -> String {
        let enc = |s: &str| utf8_percent_encode(s, QUERY).to_string();
        let date = &amz_date[..8];
        let host = format!("sts.{region}.amazonaws.com");
        let scope = format!("{date}/{region}/sts/aws4_request");
        let mut params = vec![
            ("Action", "GetCallerIdentity".to_string()),
            ("Version", "2011-06-15".to_string()),
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_string()),
            ("X-Amz-Credential", format!("{key_id}/{scope}")),
            ("X-Amz-Date", amz_date.to_string()),
            ("X-Amz-Expires", "60".to_string()),
            ("X-Amz-SignedHeaders", "host;x-k8s-aws-id".to_string()),
        ];
        if let Some(t) = session {
            params.push(("X-Amz-Security-Token", t.to_string()));
        }
        let mut sorted: Vec<(String, String)> =
            params.iter().map(|(k, v)| (enc(k), enc(v))).collect();
        sorted.sort();
        let canonical_query = sorted
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let canonical_request = format!(
            "GET\n/\n{canonical_query}\nhost:{host}\nx-k8s-aws-id:{cluster}\n\nhost;x-k8s-aws-id\nUNSIGNED-PAYLOAD"
        );
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            sha256_hex(canonical_request.as_bytes())
        );
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
        let k_region = hmac(&k_date, region.as_bytes());
        let k_service = hmac(&k_region, b"sts");
        let k_signing = hmac(&k_service, b"aws4_request");
        let signature: String = hmac(&k_signing, string_to_sign.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let query = params
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .chain(std::iter::once(format!("X-Amz-Signature={signature}")))
            .collect::<Vec<_>>()
            .join("&");
        let url = format!("https://{host}/?{query}");
        format!(
            "k8s-aws-v1.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
        )
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn token_equals_the_cli_algorithm_byte_for_byte() {
        // 2024-05-01T12:34:56Z
        let time = at(1_714_566_896);
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let got = token("prod", "eu-west-1", &creds, time).unwrap();
        let want = expected_token(
            "prod",
            "eu-west-1",
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            "20240501T123456Z",
        );
        assert_eq!(got, want);
        assert!(!got.contains('='), "unpadded: {got}");
    }

    #[test]
    fn session_token_is_signed_and_placed_as_the_cli_places_it() {
        let time = at(1_700_000_000);
        let session = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+abc/def==";
        let creds = Credentials::new(
            "ASIAEXAMPLE",
            "secret/key+1",
            Some(session.into()),
            None,
            "t",
        );
        let got = token("team-a", "us-east-1", &creds, time).unwrap();
        let want = expected_token(
            "team-a",
            "us-east-1",
            "ASIAEXAMPLE",
            "secret/key+1",
            Some(session),
            "20231114T221320Z",
        );
        assert_eq!(got, want);
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(got.trim_start_matches(TOKEN_PREFIX))
                .unwrap(),
        )
        .unwrap();
        assert!(url.starts_with(
            "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20231114%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20231114T221320Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Security-Token="
        ), "{url}");
    }

    #[test]
    fn another_cluster_or_time_is_another_token() {
        let creds = Credentials::new("AKID", "secret", None, None, "t");
        let a = token("a", "eu-west-1", &creds, at(1_700_000_000)).unwrap();
        assert_ne!(
            a,
            token("b", "eu-west-1", &creds, at(1_700_000_000)).unwrap()
        );
        assert_ne!(
            a,
            token("a", "eu-west-1", &creds, at(1_700_000_001)).unwrap()
        );
        assert_eq!(
            a,
            token("a", "eu-west-1", &creds, at(1_700_000_000)).unwrap()
        );
    }

    #[test]
    fn source_reuses_a_fresh_token() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(source_reuses_a_fresh_token_async());
    }

    async fn source_reuses_a_fresh_token_async() {
        let creds = Credentials::new("AKID", "secret", None, None, "t");
        let source = TokenSource::new("c", "eu-west-1", SharedCredentialsProvider::new(creds));
        let first = source.token().await.unwrap();
        assert!(first.starts_with(TOKEN_PREFIX));
        assert_eq!(source.token().await.unwrap(), first);
        // An entry older than the refresh age is signed again.
        *source.cached.lock().unwrap() = Some(("old".into(), Instant::now() - REFRESH_AFTER));
        assert_ne!(source.token().await.unwrap(), "old");
    }

    #[test]
    fn sts_hosts() {
        assert_eq!(sts_host("eu-west-1"), "sts.eu-west-1.amazonaws.com");
        assert_eq!(sts_host("cn-north-1"), "sts.cn-north-1.amazonaws.com.cn");
    }
}
