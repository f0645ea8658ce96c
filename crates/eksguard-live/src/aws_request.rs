//! Signed requests to AWS APIs without a generated SDK client: SigV4 signing, an HTTPS
//! client over rustls with ring, bounded answers and retries with backoff on throttling,
//! server errors and broken connections. EC2 (Query API), STS (Query API) and Security
//! Hub (REST-JSON) go through it; each protocol brings its own reader of error answers.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Per answer: a page of any of the calls made is a few megabytes at most.
const MAX_BODY: usize = 32 << 20;
const ATTEMPTS: u32 = 4;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// What failed, with the code the service sent when it sent one
/// (`InvalidGroup.NotFound`, `ThrottlingException`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    pub(crate) fn local(message: impl Into<String>) -> Self {
        AwsError {
            code: None,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) if self.message.is_empty() => f.write_str(code),
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for AwsError {}

/// Error codes that mean "try again later" in every protocol used.
pub(crate) fn is_retryable_code(code: &str) -> bool {
    matches!(
        code,
        "RequestLimitExceeded"
            | "Throttling"
            | "ThrottlingException"
            | "TooManyRequestsException"
            | "LimitExceededException"
            | "RequestThrottled"
            | "InternalError"
            | "InternalException"
            | "ServiceUnavailable"
            | "Unavailable"
    )
}

/// Reads the error a service answered with; `None` when the body is not one.
pub(crate) type ErrorReader = fn(&[u8]) -> Option<AwsError>;

/// A request to send: the path under the endpoint, its content type and body.
pub(crate) struct Call<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub content_type: &'a str,
    pub body: Vec<u8>,
}

/// A signing HTTPS client for one service in one region.
pub(crate) struct SignedClient {
    http: Option<Client<HttpsConnector<HttpConnector>, Full<Bytes>>>,
    credentials: Option<SharedCredentialsProvider>,
    region: String,
    /// The signing name (`ec2`, `sts`, `securityhub`).
    service: &'static str,
    /// Without a trailing slash.
    endpoint: String,
    setup_error: Option<String>,
}

impl SignedClient {
    /// A client from the shared SDK configuration: its credential chain, region and
    /// endpoint override, and the service's own override in `AWS_ENDPOINT_URL_<SERVICE>`.
    /// A client that cannot be built fails each call with the reason.
    pub(crate) fn new(conf: &aws_config::SdkConfig, service: &'static str, env: &str) -> Self {
        let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
        let endpoint = std::env::var(env)
            .ok()
            .or_else(|| conf.endpoint_url().map(str::to_string))
            .unwrap_or_else(|| default_endpoint(service, &region));
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.enforce_http(false);
        let (http, setup_error) = match hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
        {
            Ok(b) => {
                let https = b.https_or_http().enable_http1().wrap_connector(connector);
                (
                    Some(Client::builder(TokioExecutor::new()).build(https)),
                    None,
                )
            }
            Err(e) => (None, Some(format!("no TLS root certificates: {e}"))),
        };
        SignedClient {
            http,
            credentials: conf.credentials_provider(),
            region,
            service,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            setup_error,
        }
    }

    /// One call, retried with backoff and jitter on throttling, server errors and
    /// broken connections, as the SDK's standard retry mode does.
    pub(crate) async fn send(
        &self,
        call: &Call<'_>,
        errors: ErrorReader,
    ) -> Result<Bytes, AwsError> {
        self.send_with_headers(call, &[], errors).await
    }

    /// [`SignedClient::send`] with more signed headers (`x-amz-target` of the JSON
    /// protocols).
    pub(crate) async fn send_with_headers(
        &self,
        call: &Call<'_>,
        headers: &[(&str, &str)],
        errors: ErrorReader,
    ) -> Result<Bytes, AwsError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome =
                match tokio::time::timeout(ATTEMPT_TIMEOUT, self.attempt(call, headers, errors))
                    .await
                {
                    Ok(outcome) => outcome,
                    Err(_) => Err(Failure::Transient(AwsError::local(format!(
                        "no answer within {} s",
                        ATTEMPT_TIMEOUT.as_secs()
                    )))),
                };
            match outcome {
                Ok(body) => return Ok(body),
                Err(Failure::Transient(_)) if attempt < ATTEMPTS => {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(Failure::Transient(e) | Failure::Final(e)) => return Err(e),
            }
        }
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
        headers: &[(&str, &str)],
        errors: ErrorReader,
    ) -> Result<Bytes, Failure> {
        let (Some(http), Some(provider)) = (&self.http, &self.credentials) else {
            let reason = self
                .setup_error
                .clone()
                .unwrap_or_else(|| "no AWS credentials in the default chain".into());
            return Err(Failure::Final(AwsError::local(reason)));
        };
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| Failure::Final(AwsError::local(format!("no AWS credentials: {e}"))))?;
        let request = self
            .signed_request(credentials.into(), call, headers)
            .map_err(|e| Failure::Final(AwsError::local(e)))?;
        let response = http.request(request).await.map_err(|e| {
            Failure::Transient(AwsError::local(format!(
                "cannot reach {}: {e}",
                self.endpoint
            )))
        })?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| {
                Failure::Transient(AwsError::local(format!(
                    "reading the answer failed (limit {} MiB): {e}",
                    MAX_BODY >> 20
                )))
            })?
            .to_bytes();
        if status.is_success() {
            return Ok(bytes);
        }
        let error = errors(&bytes).unwrap_or_else(|| {
            AwsError::local(match status.as_u16() {
                404 => "HTTP 404: the endpoint does not implement this operation".into(),
                s => format!("HTTP {s}: unrecognised error response"),
            })
        });
        let throttled = error.code.as_deref().is_some_and(is_retryable_code);
        Err(
            if throttled || status.is_server_error() || status.as_u16() == 429 {
                Failure::Transient(error)
            } else {
                Failure::Final(error)
            },
        )
    }

    fn signed_request(
        &self,
        identity: Identity,
        call: &Call<'_>,
        headers: &[(&str, &str)],
    ) -> Result<http::Request<Full<Bytes>>, String> {
        let url = format!("{}{}", self.endpoint, call.path);
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("cannot sign the request: {e}"))?
            .into();
        let signable = SignableRequest::new(
            call.method,
            url.as_str(),
            std::iter::once(("content-type", call.content_type)).chain(headers.iter().copied()),
            SignableBody::Bytes(&call.body),
        )
        .map_err(|e| format!("bad endpoint {url}: {e}"))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| format!("cannot sign the request: {e}"))?
            .into_parts();
        let mut builder = http::Request::builder()
            .method(call.method)
            .uri(url.as_str())
            .header("content-type", call.content_type);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut request = builder
            .body(Full::new(Bytes::from(call.body.clone())))
            .map_err(|e| format!("bad endpoint {url}: {e}"))?;
        instructions.apply_to_request_http1x(&mut request);
        Ok(request)
    }
}

enum Failure {
    Transient(AwsError),
    Final(AwsError),
}

/// Exponential backoff from 100 ms, capped at 5 s, with full jitter.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let cap = (100u64 << attempt.min(6)).min(5_000);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Duration::from_millis(u64::from(nanos) % cap.max(1))
}

/// `https://SERVICE.REGION.amazonaws.com` (`.com.cn` in the China regions).
pub(crate) fn default_endpoint(service: &str, region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{service}.{region}.{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            default_endpoint("ec2", "eu-west-1"),
            "https://ec2.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            default_endpoint("securityhub", "cn-north-1"),
            "https://securityhub.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn backoff_is_bounded() {
        for attempt in 1..10 {
            assert!(backoff(attempt) <= Duration::from_secs(5));
        }
    }
}
