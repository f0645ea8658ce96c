//! Signed requests to AWS APIs without a generated SDK client: SigV4 signing, an HTTPS
//! client over rustls with ring, bounded answers and retries with backoff on throttling,
//! server errors and broken connections. EC2 (Query API), STS (Query API) and Security
//! Hub (REST-JSON) go through it; each protocol brings its own reader of error answers.

use std::sync::atomic::{AtomicBool, Ordering};
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

/// Bytes of an error answer kept for `--verbose`.
const RAW_KEPT: usize = 512;

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Makes every [`AwsError`] printed afterwards carry its request ID, attempts and the
/// start of the raw error answer (the command line's `--verbose`).
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// What failed, with the code the service sent when it sent one
/// (`InvalidGroup.NotFound`, `ThrottlingException`). Printed as one line: operation,
/// code, HTTP status, the service's message and what to check; with `--verbose` also the
/// request ID, the attempts made and the raw answer, escaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsError {
    pub code: Option<String>,
    pub message: String,
    /// Boxed: errors travel in every `Result` of the clients.
    pub detail: Box<ErrorDetail>,
}

/// Where an [`AwsError`] came from, for the one-line message and `--verbose`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetail {
    /// The IAM action of the call (`eks:DescribeCluster`), when it is named in front.
    pub operation: Option<String>,
    pub status: Option<u16>,
    pub request_id: Option<String>,
    /// The start of the error answer, escaped.
    pub raw: Option<String>,
    /// Attempts made, retries included (0: not sent).
    pub attempts: u32,
}

impl AwsError {
    pub(crate) fn local(message: impl Into<String>) -> Self {
        AwsError {
            message: message.into(),
            ..AwsError::default()
        }
    }

    pub(crate) fn coded(code: Option<String>, message: String) -> Self {
        AwsError {
            code,
            message,
            ..AwsError::default()
        }
    }

    /// The same error with the action that failed in front (`eks:ListClusters failed:`).
    pub fn with_operation(mut self, operation: &str) -> Self {
        self.detail.operation = Some(operation.to_string());
        self
    }

    /// What to look at for the errors people meet.
    fn hint(&self) -> &'static str {
        let code = self.code.as_deref().unwrap_or("");
        if code.contains("AccessDenied")
            || code.contains("Unauthorized")
            || code.contains("NotAuthorized")
            || self.detail.status == Some(403) && code.is_empty()
        {
            return "check the IAM permissions of the credentials in use";
        }
        match code {
            "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
            | "AuthFailure"
            | "InvalidSignatureException"
            | "MissingAuthenticationToken" => {
                return "check the AWS credentials (AWS_PROFILE or --profile, the environment)"
            }
            "ResourceNotFoundException" | "NoSuchEntity" => {
                return "check the name and the region (--region)"
            }
            _ => {}
        }
        if self.code.is_none() && self.detail.status.is_none() {
            if self.message.contains("credential") {
                return "check the AWS credentials (AWS_PROFILE or --profile, the environment, \
                        the instance or pod role)";
            }
            if self.message.starts_with("cannot reach") || self.message.starts_with("no answer") {
                return "check the region (--region), the endpoint (--endpoint-url) and the \
                        network";
            }
        }
        if self.detail.status == Some(404) && self.code.is_none() {
            return "check the endpoint (--endpoint-url)";
        }
        ""
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(op) = &self.detail.operation {
            write!(f, "{op} failed: ")?;
        }
        let status = match self.detail.status {
            Some(s) if self.code.is_some() => format!(" (HTTP {s})"),
            _ => String::new(),
        };
        match &self.code {
            Some(code) if self.message.is_empty() => write!(f, "{code}{status}")?,
            Some(code) => write!(f, "{code}{status}: {}", one_line(&self.message))?,
            None => f.write_str(&one_line(&self.message))?,
        }
        match self.hint() {
            "" => {}
            h => write!(f, "; {h}")?,
        }
        if VERBOSE.load(Ordering::Relaxed) && self.detail.attempts > 0 {
            write!(f, " [attempts: {}", self.detail.attempts)?;
            if let Some(id) = &self.detail.request_id {
                write!(f, "; request ID: {}", one_line(id))?;
            }
            if let Some(raw) = &self.detail.raw {
                write!(f, "; answer: \"{raw}\"")?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}

/// The first line of a message, without a trailing full stop.
fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    line.trim_end_matches('.').to_string()
}

/// The first [`RAW_KEPT`] bytes of an answer as printable ASCII.
fn escaped_start(body: &[u8]) -> String {
    let cut = body.len().min(RAW_KEPT);
    let mut out: String = String::from_utf8_lossy(&body[..cut])
        .chars()
        .flat_map(char::escape_default)
        .collect();
    if body.len() > cut {
        out.push_str(&format!("… ({} bytes)", body.len()));
    }
    out
}

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
    /// Attempts of one call, the first included.
    attempts: u32,
}

impl SignedClient {
    /// A client from the shared SDK configuration: its credential chain, region and
    /// endpoint override, and the service's own override in `AWS_ENDPOINT_URL_<SERVICE>`.
    /// A client that cannot be built fails each call with the reason.
    pub(crate) fn new(conf: &aws_config::SdkConfig, service: &'static str, env: &str) -> Self {
        let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
        let endpoint = default_endpoint(service, &region);
        Self::with_region(conf, service, env, region, endpoint)
    }

    /// A client of a global service (IAM): signed for the partition's home region, sent
    /// to the partition's endpoint unless an override names another.
    pub(crate) fn global(conf: &aws_config::SdkConfig, service: &'static str, env: &str) -> Self {
        let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
        let (home, endpoint) = match eksguard_model::arn::partition_of(&region) {
            "aws-cn" => (
                "cn-north-1",
                format!("https://{service}.cn-north-1.amazonaws.com.cn"),
            ),
            "aws-us-gov" => (
                "us-gov-west-1",
                format!("https://{service}.us-gov.amazonaws.com"),
            ),
            _ => ("us-east-1", format!("https://{service}.amazonaws.com")),
        };
        Self::with_region(conf, service, env, home.to_string(), endpoint)
    }

    fn with_region(
        conf: &aws_config::SdkConfig,
        service: &'static str,
        env: &str,
        region: String,
        default: String,
    ) -> Self {
        let endpoint = std::env::var(env)
            .ok()
            .or_else(|| conf.endpoint_url().map(str::to_string))
            .unwrap_or(default);
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
            attempts: ATTEMPTS,
        }
    }

    /// The same client making up to `attempts` attempts of each call.
    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
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
                Err(Failure::Transient(_)) if attempt < self.attempts => {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(Failure::Transient(mut e) | Failure::Final(mut e)) => {
                    e.detail.attempts = attempt;
                    return Err(e);
                }
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
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header("x-amzn-requestid").or_else(|| header("x-amz-request-id"));
        // REST-JSON services may name the error only in this header.
        let error_type = header("x-amzn-errortype")
            .map(|t| t.split(':').next().unwrap_or_default().to_string())
            .filter(|t| !t.is_empty());
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
        let mut error = errors(&bytes).unwrap_or_else(|| {
            AwsError::local(match status.as_u16() {
                404 => "HTTP 404: the endpoint does not implement this operation".into(),
                s => format!("HTTP {s}: unrecognised error response"),
            })
        });
        if error.code.is_none() && error_type.is_some() {
            error.code = error_type;
        }
        error.detail.status = Some(status.as_u16());
        error.detail.request_id = error.detail.request_id.or(request_id);
        error.detail.raw = Some(escaped_start(&bytes));
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
