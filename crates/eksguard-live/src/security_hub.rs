//! AWS Security Hub through its REST-JSON API: findings in the AWS Security Finding Format
//! are imported in batches (`BatchImportFindings`), and the findings an earlier import of
//! the same scope made that are gone now are archived, so Security Hub shows the current
//! state. Batches are cut to Security Hub's bounds (100 findings, 6 MB a request, 240 KB
//! a finding); a batch it refuses does not stop the next, and every finding not taken is
//! reported. A run that could not read all its inputs archives nothing.
//! Requests are signed and sent by [`crate::aws_request`]; the account comes from
//! STS `GetCallerIdentity` when not given.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value as Json};

use crate::aws_live::{sdk_config, LiveError};
use crate::aws_request::{AwsError, Call, SignedClient};

/// `BatchImportFindings` takes at most 100 findings a call.
pub const BATCH: usize = 100;
/// ... of at most 6 MB a request (counted in bytes of 1,000 here, to be safe).
pub const MAX_REQUEST_BYTES: usize = 6_000_000;
/// ... and 240 KB a finding.
pub const MAX_FINDING_BYTES: usize = 240_000;
/// `{"Findings":[` and `]}` around the findings of a request.
const ENVELOPE: usize = 16;
/// `GetFindings` pages; more than this many pages is a server that never ends its list.
const MAX_PAGES: usize = 1_000;
const JSON_TYPE: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Setup(#[from] LiveError),
    #[error("{call}: {source}")]
    Call {
        call: &'static str,
        source: AwsError,
    },
    #[error("{call}: unexpected answer: {detail}")]
    Answer { call: &'static str, detail: String },
}

/// Where to send: the overrides of the command line; the rest comes from the AWS
/// configuration and credential chain.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// Credentials to use instead of the default chain (a role assumed in the account the
    /// findings belong to).
    pub credentials: Option<aws_credential_types::Credentials>,
}

/// The account and region findings belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubTarget {
    pub account: String,
    pub region: String,
    pub partition: &'static str,
}

/// Findings to import for one scope (a cluster, a set of paths), and how to recognise the
/// findings an earlier import of that scope made.
#[derive(Debug, Clone)]
pub struct Import {
    pub findings: Vec<Json>,
    pub product_arn: String,
    /// The `ProductFields` key holding the scope, and the scope.
    pub scope_key: String,
    pub scope: String,
    /// RFC 3339, for `UpdatedAt` of the findings archived.
    pub now: String,
    /// Whether the run read all its inputs. An earlier finding an incomplete run does
    /// not find again may be in what it could not read, or depend on it (a rule that
    /// looks across objects): it is left as it is.
    pub complete: bool,
}

/// A finding Security Hub refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedFinding {
    pub id: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Current findings accepted.
    pub imported: usize,
    /// Findings of an earlier import, gone now, archived.
    pub archived: usize,
    /// Findings of an earlier import not found again by a run that could not read all
    /// its inputs: left as they are.
    pub kept: usize,
    /// Findings refused: by Security Hub, too large to send, or in a request that failed
    /// (for [`Importer::import`], those are in `unsent` instead).
    pub failed: Vec<FailedFinding>,
    pub batches: usize,
    /// [`Importer::import`]: the findings (by index) of requests that failed, to send
    /// again, and why they failed.
    pub unsent: Vec<usize>,
    pub call_errors: Vec<String>,
}

fn runtime() -> Result<tokio::runtime::Runtime, HubError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HubError::Setup(LiveError::Runtime(e)))
}

/// The region of the configuration and the account of the credentials (`account` when
/// given, else STS `GetCallerIdentity`).
pub fn target(opts: &HubOptions, account: Option<&str>) -> Result<HubTarget, HubError> {
    runtime()?.block_on(async {
        let conf = config(opts).await?;
        let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
        let account = match account {
            Some(a) => a.to_string(),
            None => caller_account(&conf).await?,
        };
        Ok(HubTarget {
            partition: eksguard_model::arn::partition_of(&region),
            account,
            region,
        })
    })
}

async fn config(opts: &HubOptions) -> Result<aws_config::SdkConfig, HubError> {
    let conf = sdk_config(
        opts.region.as_deref(),
        opts.profile.as_deref(),
        opts.endpoint_url.as_deref(),
    )
    .await?;
    Ok(match &opts.credentials {
        Some(c) => conf
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(c.clone()),
            )
            .build(),
        None => conf,
    })
}

/// STS `GetCallerIdentity`: the account of the credentials in use.
async fn caller_account(conf: &aws_config::SdkConfig) -> Result<String, HubError> {
    const CALL: &str = "sts:GetCallerIdentity";
    let sts = SignedClient::new(conf, "sts", "AWS_ENDPOINT_URL_STS");
    let call = Call {
        method: "POST",
        path: "/",
        content_type: FORM,
        body: b"Action=GetCallerIdentity&Version=2011-06-15".to_vec(),
    };
    let body = sts
        .send(&call, sts_error)
        .await
        .map_err(|source| HubError::Call { call: CALL, source })?;
    let root = crate::ec2_query::parse_xml(&body)
        .map_err(|detail| HubError::Answer { call: CALL, detail })?;
    root.child("GetCallerIdentityResult")
        .and_then(|r| r.child("Account"))
        .map(|a| a.text.trim().to_string())
        .filter(|a| !a.is_empty())
        .ok_or(HubError::Answer {
            call: CALL,
            detail: "no Account in the answer".into(),
        })
}

/// `<ErrorResponse><Error><Code>…</Code><Message>…</Message></Error></ErrorResponse>`
pub(crate) fn sts_error(body: &[u8]) -> Option<AwsError> {
    let root = crate::ec2_query::parse_xml(body).ok()?;
    let error = root.child("Error")?;
    Some(AwsError::coded(
        error.child("Code").map(|c| c.text.trim().to_string()),
        error
            .child("Message")
            .map(|m| m.text.trim().to_string())
            .unwrap_or_default(),
    ))
}

/// `{"__type": "…", "Message": "…"}` or `{"Code": "…", "Message": "…"}`.
fn json_error(body: &[u8]) -> Option<AwsError> {
    let v: Json = serde_json::from_slice(body).ok()?;
    let text = |k: &str| v.get(k).and_then(Json::as_str).map(str::to_string);
    let code = text("__type")
        .or_else(|| text("Code"))
        .or_else(|| text("code"))
        .map(|c| c.rsplit('#').next().unwrap_or(&c).to_string());
    let message = text("Message").or_else(|| text("message"))?;
    Some(AwsError::coded(code, message))
}

/// Imports `import.findings` and archives the findings of an earlier import of the same
/// scope that are not among them.
pub fn sync(opts: &HubOptions, import: Import) -> Result<SyncReport, HubError> {
    runtime()?.block_on(async {
        let conf = config(opts).await?;
        let hub = SignedClient::new(&conf, "securityhub", "AWS_ENDPOINT_URL_SECURITYHUB");
        let earlier = active_findings(&hub, &import).await?;
        let mut findings = import.findings;
        let current: BTreeSet<String> = findings.iter().filter_map(id_of).collect();
        // A finding seen before keeps the time it was first reported.
        for f in &mut findings {
            let created = id_of(f)
                .and_then(|id| earlier.get(&id))
                .and_then(|e| e.get("CreatedAt").cloned());
            if let (Some(created), Some(obj)) = (created, f.as_object_mut()) {
                obj.insert("CreatedAt".into(), created);
            }
        }
        let imported_count = findings.len();
        let gone = earlier.into_iter().filter(|(id, _)| !current.contains(id));
        let (mut gone, kept): (Vec<Json>, usize) = if import.complete {
            (gone.map(|(_, f)| archived(f, &import.now)).collect(), 0)
        } else {
            (Vec::new(), gone.count())
        };
        let archived_count = gone.len();
        findings.append(&mut gone);

        let (mut report, unsent) = import_all(&hub, &findings).await;
        // A request that failed refuses its findings, with why.
        for (i, why) in unsent {
            report.failed.push(FailedFinding {
                id: id_of(&findings[i]).unwrap_or_default(),
                code: "RequestFailed".into(),
                message: why,
            });
        }
        let failed_ids: BTreeSet<&str> = report.failed.iter().map(|f| f.id.as_str()).collect();
        let accepted = |f: &&Json| {
            f.get("Id")
                .and_then(Json::as_str)
                .is_none_or(|id| !failed_ids.contains(id))
        };
        let imported = findings[..imported_count].iter().filter(accepted).count();
        let archived = findings[imported_count..].iter().filter(accepted).count();
        debug_assert_eq!(findings.len(), imported_count + archived_count);
        report.imported = imported;
        report.archived = archived;
        report.kept = kept;
        Ok(report)
    })
}

/// Each finding serialized once, and the batches that fit Security Hub's bounds (by
/// index), with the findings too large to send at all.
fn plan(findings: &[Json]) -> (Vec<Vec<u8>>, Vec<Vec<usize>>, Vec<usize>) {
    let bytes: Vec<Vec<u8>> = findings
        .iter()
        .map(|f| serde_json::to_vec(f).unwrap_or_default())
        .collect();
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut too_large = Vec::new();
    let mut size = ENVELOPE;
    for (i, b) in bytes.iter().enumerate() {
        if b.len() > MAX_FINDING_BYTES {
            too_large.push(i);
            continue;
        }
        let fits = batches
            .last()
            .is_some_and(|last| last.len() < BATCH && size + 1 + b.len() <= MAX_REQUEST_BYTES);
        if fits {
            size += 1 + b.len();
            if let Some(last) = batches.last_mut() {
                last.push(i);
            }
        } else {
            size = ENVELOPE + b.len();
            batches.push(vec![i]);
        }
    }
    (bytes, batches, too_large)
}

/// Imports `findings` in batches within Security Hub's bounds, going on past a request
/// that fails: its findings are returned with why.
async fn import_all(hub: &SignedClient, findings: &[Json]) -> (SyncReport, Vec<(usize, String)>) {
    let mut report = SyncReport::default();
    let mut unsent = Vec::new();
    let (bytes, batches, too_large) = plan(findings);
    for i in too_large {
        report.failed.push(FailedFinding {
            id: id_of(&findings[i]).unwrap_or_default(),
            code: "FindingTooLarge".into(),
            message: format!(
                "{} bytes, more than the {MAX_FINDING_BYTES} Security Hub takes; not sent",
                bytes[i].len()
            ),
        });
    }
    for batch in batches {
        let mut body = br#"{"Findings":["#.to_vec();
        for (n, &i) in batch.iter().enumerate() {
            if n > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&bytes[i]);
        }
        body.extend_from_slice(b"]}");
        report.batches += 1;
        match import_batch(hub, body).await {
            Ok(failed) => {
                report.imported += batch.len() - failed.len().min(batch.len());
                report.failed.extend(failed);
            }
            Err(e) => {
                let why = e.to_string();
                unsent.extend(batch.iter().map(|&i| (i, why.clone())));
            }
        }
    }
    (report, unsent)
}

/// Imports findings as they are found (a follower's): no archiving, since findings on
/// events never go away, and one client for every call.
pub struct Importer {
    hub: SignedClient,
}

impl Importer {
    pub async fn connect(opts: &HubOptions) -> Result<Importer, HubError> {
        let conf = config(opts).await?;
        Ok(Importer {
            hub: SignedClient::new(&conf, "securityhub", "AWS_ENDPOINT_URL_SECURITYHUB"),
        })
    }

    /// `BatchImportFindings` of `findings`, in batches within Security Hub's bounds; the
    /// findings it refused are in the report, and those of requests that failed in
    /// `unsent`, to be sent again.
    pub async fn import(&self, findings: &[Json]) -> SyncReport {
        let (mut report, unsent) = import_all(&self.hub, findings).await;
        for (i, why) in unsent {
            if report.call_errors.last() != Some(&why) {
                report.call_errors.push(why);
            }
            report.unsent.push(i);
        }
        report
    }
}

fn id_of(f: &Json) -> Option<String> {
    f.get("Id").and_then(Json::as_str).map(str::to_string)
}

/// A finding of an earlier import marked as gone: archived, and passed, since what it
/// reported is no longer there.
fn archived(mut f: Json, now: &str) -> Json {
    if let Some(obj) = f.as_object_mut() {
        obj.insert("RecordState".into(), json!("ARCHIVED"));
        obj.insert("UpdatedAt".into(), json!(now));
        obj.insert("Compliance".into(), json!({"Status": "PASSED"}));
    }
    f
}

/// `BatchImportFindings` of one request body: the findings refused, with why.
async fn import_batch(hub: &SignedClient, body: Vec<u8>) -> Result<Vec<FailedFinding>, HubError> {
    const CALL: &str = "securityhub:BatchImportFindings";
    let call = Call {
        method: "POST",
        path: "/findings/import",
        content_type: JSON_TYPE,
        body,
    };
    let answer = hub
        .send(&call, json_error)
        .await
        .map_err(|source| HubError::Call { call: CALL, source })?;
    let v: Json = serde_json::from_slice(&answer).map_err(|e| HubError::Answer {
        call: CALL,
        detail: e.to_string(),
    })?;
    let text = |f: &Json, k: &str| f.get(k).and_then(Json::as_str).unwrap_or("").to_string();
    Ok(v.get("FailedFindings")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .map(|f| FailedFinding {
                    id: text(f, "Id"),
                    code: text(f, "ErrorCode"),
                    message: text(f, "ErrorMessage"),
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The active findings an earlier import of this scope made, by Id. The filter is also
/// applied here, so an endpoint that ignores filters cannot make other findings look gone.
async fn active_findings(
    hub: &SignedClient,
    import: &Import,
) -> Result<BTreeMap<String, Json>, HubError> {
    const CALL: &str = "securityhub:GetFindings";
    let filters = json!({
        "ProductArn": [{"Value": import.product_arn, "Comparison": "EQUALS"}],
        "ProductFields": [{"Key": import.scope_key, "Value": import.scope, "Comparison": "EQUALS"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
    });
    let mut found = BTreeMap::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut request = json!({ "Filters": filters, "MaxResults": 100 });
        if let Some(t) = &token {
            request["NextToken"] = json!(t);
        }
        let call = Call {
            method: "POST",
            path: "/findings",
            content_type: JSON_TYPE,
            body: request.to_string().into_bytes(),
        };
        let answer = hub
            .send(&call, json_error)
            .await
            .map_err(|source| HubError::Call { call: CALL, source })?;
        let v: Json = serde_json::from_slice(&answer).map_err(|e| HubError::Answer {
            call: CALL,
            detail: e.to_string(),
        })?;
        for f in v
            .get("Findings")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let ours = f.get("ProductArn").and_then(Json::as_str) == Some(&import.product_arn)
                && f.pointer(&format!(
                    "/ProductFields/{}",
                    pointer_key(&import.scope_key)
                ))
                .and_then(Json::as_str)
                    == Some(&import.scope)
                && f.get("RecordState").and_then(Json::as_str) != Some("ARCHIVED");
            if let (true, Some(id)) = (ours, id_of(f)) {
                found.insert(id, f.clone());
            }
        }
        match v.get("NextToken").and_then(Json::as_str) {
            Some(t) if !t.is_empty() && Some(t) != token.as_deref() => token = Some(t.into()),
            _ => return Ok(found),
        }
    }
    Err(HubError::Answer {
        call: CALL,
        detail: format!("more than {MAX_PAGES} pages of findings"),
    })
}

/// A key as one JSON pointer step (`/` and `~` escaped).
fn pointer_key(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws_request;

    #[test]
    fn error_answers() {
        let e = json_error(br#"{"__type":"com.amazon#ThrottlingException","Message":"slow down"}"#)
            .unwrap();
        assert_eq!(e.code.as_deref(), Some("ThrottlingException"));
        assert!(aws_request::is_retryable_code(e.code.as_deref().unwrap()));
        let e =
            json_error(br#"{"Code":"InvalidAccessException","Message":"not subscribed"}"#).unwrap();
        assert_eq!(e.to_string(), "InvalidAccessException: not subscribed");
        assert!(json_error(b"<html>").is_none());
        let e = sts_error(
            b"<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>bad</Message></Error></ErrorResponse>",
        )
        .unwrap();
        assert_eq!(e.code.as_deref(), Some("InvalidClientTokenId"));
    }

    fn sized(id: usize, bytes: usize) -> Json {
        json!({"Id": format!("f{id}"), "Pad": "x".repeat(bytes.saturating_sub(24))})
    }

    #[test]
    fn batches_hold_at_most_100_findings_and_6_mb() {
        // 250 small findings: 100, 100, 50.
        let small: Vec<Json> = (0..250).map(|i| sized(i, 500)).collect();
        let (_, batches, too_large) = plan(&small);
        let lens: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(lens, [100, 100, 50]);
        assert!(too_large.is_empty());
        // 60 findings of 210 KB: 28 a request (6 MB), and one of 300 KB not sent.
        let mut big: Vec<Json> = (0..60).map(|i| sized(i, 210_000)).collect();
        big.insert(7, sized(999, 300_000));
        let (bytes, batches, too_large) = plan(&big);
        assert_eq!(too_large, [7]);
        for b in &batches {
            let body: usize = ENVELOPE + b.iter().map(|&i| bytes[i].len() + 1).sum::<usize>();
            assert!(body <= MAX_REQUEST_BYTES, "{body}");
        }
        let lens: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(lens, [28, 28, 4]);
        // Every finding but the one too large is in exactly one batch, in order.
        let all: Vec<usize> = batches.concat();
        let want: Vec<usize> = (0..61).filter(|&i| i != 7).collect();
        assert_eq!(all, want);
    }

    #[test]
    fn gone_findings_are_archived_and_passed() {
        let f = archived(
            json!({"Id": "x", "RecordState": "ACTIVE", "Compliance": {"Status": "FAILED"}}),
            "2026-01-01T00:00:00Z",
        );
        assert_eq!(f["RecordState"], "ARCHIVED");
        assert_eq!(f["Compliance"]["Status"], "PASSED");
        assert_eq!(f["UpdatedAt"], "2026-01-01T00:00:00Z");
        assert_eq!(pointer_key("eksguard/scope"), "eksguard~1scope");
    }
}
