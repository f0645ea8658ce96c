//! The Helm chart (`deploy/helm/eksguard`), rendered and linted by Helm's own engine
//! through helm-python-sdk (`crates/eksguard/tests/helm/render.py`), with default and
//! other values: lint passes, `eksguard scan` of the output finds nothing at or above
//! medium that the templates do not suppress with a reason, and the objects have the
//! properties the chart promises. Skipped with a message when helm-python-sdk is absent,
//! unless `EKSGUARD_TEST_HELM=1` says it must be there.

use std::path::{Path, PathBuf};
use std::process::Command;

use eksguard_load::files::{load_text, LoadOptions};
use eksguard_model::{Inventory, Node, Object};
use serde_json::{json, Value};

use crate::common;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn chart() -> PathBuf {
    repo().join("deploy/helm/eksguard")
}

/// Runs the helper; `None` when helm-python-sdk is absent and not required.
fn helper(mode: &str, values: &Value, namespace: &str) -> Option<std::process::Output> {
    let out = Command::new("python3")
        .arg(repo().join("crates/eksguard/tests/helm/render.py"))
        .arg(mode)
        .arg(chart())
        .arg(values.to_string())
        .arg(namespace)
        .output();
    let required = std::env::var("EKSGUARD_TEST_HELM").is_ok_and(|v| v == "1");
    let absent = match &out {
        Err(_) => true,
        Ok(o) => o.status.code() == Some(3),
    };
    if absent {
        assert!(
            !required,
            "EKSGUARD_TEST_HELM=1 but python3 or helm-python-sdk is missing: {out:?}"
        );
        eprintln!("SKIPPED: helm-python-sdk is not installed (pip install helm-python-sdk)");
        return None;
    }
    Some(out.unwrap())
}

/// The rendered manifests as text, or the error Helm gave.
fn try_render(values: &Value) -> Option<Result<String, String>> {
    let out = helper("render", values, "eksguard")?;
    Some(if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

pub(crate) struct Rendered {
    text: String,
    inv: Inventory,
}

impl Rendered {
    fn all(&self, kind: &str) -> Vec<&Object> {
        self.inv.iter().filter(|o| &*o.kind == kind).collect()
    }

    pub(crate) fn one(&self, kind: &str, name: &str) -> &Object {
        self.inv
            .objects
            .iter()
            .find(|o| &*o.kind == kind && &*o.name == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in\n{}", self.text))
    }

    pub(crate) fn has(&self, kind: &str) -> bool {
        !self.all(kind).is_empty()
    }
}

fn render_in(values: Value, namespace: &str) -> Option<Rendered> {
    let out = helper("render", &values, namespace)?;
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{values}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inv = load_text("rendered.yaml", text.as_bytes(), &LoadOptions::default());
    assert!(inv.errors.is_empty(), "{:?}\n{text}", inv.errors);
    Some(Rendered { text, inv })
}

pub(crate) fn render(values: Value) -> Option<Rendered> {
    render_in(values, "eksguard")
}

fn json_of(n: Option<&Node>) -> Value {
    n.map(Node::to_json).unwrap_or(Value::Null)
}

/// The string at a path of keys (keys may contain dots: `ca.crt`, annotation names).
fn str_at<'a>(o: &'a Object, keys: &[&str]) -> &'a str {
    keys.iter()
        .try_fold(&o.root, |n, k| n.get(k))
        .and_then(Node::as_str)
        .unwrap_or_else(|| panic!("{}: no string at {keys:?}", o.display_name()))
}

/// Lint passes: no warning or error (strict mode), for these values.
pub(crate) fn assert_lints(values: Value) {
    let Some(out) = helper("lint", &values, "eksguard") else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["errors"], json!([]), "{values}: {report}");
    let serious: Vec<&Value> = report["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["severity"].as_u64() >= Some(2))
        .collect();
    assert!(serious.is_empty(), "{values}: {serious:?}");
}

/// `eksguard scan` of the rendered output: no unsuppressed finding at or above medium,
/// and every suppression has a reason.
pub(crate) fn assert_scan_clean(r: &Rendered) {
    let out = common::run_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_eksguard")).args([
            "scan",
            "-",
            "--no-config",
            "-f",
            "json",
            "--fail-on",
            "medium",
        ]),
        &r.text,
    );
    let v = common::json(&out);
    assert_eq!(v["errors"], json!([]), "{v}");
    let bad: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("medium" | "high" | "critical")))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(out.status.code(), Some(0), "{v}");
    for s in v["suppressed"].as_array().unwrap() {
        // Suppressed in the templates, with a reason.
        assert_eq!(s["source"], json!("inline"), "{s}");
        let reason = s["reason"].as_str().unwrap_or("");
        assert!(reason.len() > 10, "suppressed without a reason: {s}");
    }
}

fn pod_labels(o: &Object) -> Value {
    json_of(o.root.at("spec.template.metadata.labels"))
}

/// Every key of `selector` is in `labels` with the same value.
fn selects(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|m| !m.is_empty() && m.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

pub(crate) fn args(o: &Object, container: &str) -> Vec<String> {
    let spec = o.pod_spec().unwrap();
    let c = spec
        .containers()
        .find(|c| c.name() == container)
        .unwrap_or_else(|| panic!("no container {container}"));
    c.node
        .get("args")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// The restricted Pod Security profile, on the pod and each container.
pub(crate) fn assert_restricted(o: &Object) {
    let spec = o.pod_spec().unwrap();
    let psc = json_of(spec.security_context());
    assert_eq!(psc["runAsNonRoot"], json!(true), "{}", o.display_name());
    assert_eq!(psc["runAsUser"], json!(65532));
    assert_eq!(psc["seccompProfile"]["type"], json!("RuntimeDefault"));
    for c in spec.containers() {
        let sc = json_of(c.security_context());
        assert_eq!(sc["allowPrivilegeEscalation"], json!(false));
        assert_eq!(sc["readOnlyRootFilesystem"], json!(true));
        assert_eq!(sc["privileged"], json!(false));
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
        let res = json_of(c.node.get("resources"));
        assert!(res["limits"]["memory"].is_string(), "{res}");
        assert!(res["requests"]["cpu"].is_string(), "{res}");
    }
}

#[test]
fn default_values_lint_scan_clean_and_make_a_safe_webhook() {
    assert_lints(json!({}));
    let Some(r) = render(json!({})) else { return };
    assert_scan_clean(&r);

    let dep = r.one("Deployment", "eksguard-webhook");
    assert_eq!(dep.root.at("spec.replicas").and_then(Node::as_i64), Some(2));
    assert_restricted(dep);
    let spec = dep.pod_spec().unwrap();
    assert!(spec
        .field("affinity")
        .and_then(|a| a.get("podAntiAffinity"))
        .is_some());
    let c = spec.containers().next().unwrap();
    assert_eq!(
        c.image(),
        Some("ghcr.io/eksguard/eksguard:0.1.0"),
        "the chart's appVersion"
    );
    // The probes go to the metrics listener, which the webhook's connections cannot
    // starve.
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let p = json_of(c.node.get(probe));
        assert_eq!(p["httpGet"]["path"], json!(path));
        assert_eq!(p["httpGet"]["port"], json!("metrics"));
        assert_eq!(p["httpGet"]["scheme"], json!("HTTP"));
    }
    assert_eq!(
        args(dep, "eksguard"),
        [
            "serve",
            "--listen=0.0.0.0:8443",
            "--tls-cert=/etc/eksguard/tls/tls.crt",
            "--tls-key=/etc/eksguard/tls/tls.key",
            "--deny-on=high",
            "--warn-on=low",
            "--metrics-listen=0.0.0.0:9090",
            "--max-concurrent-reviews=2",
            "--max-connections-per-peer=128"
        ]
    );
    // No annotation is trusted and the report is off unless asked for.
    assert!(!r.text.contains("--trust-annotations-in"));
    assert!(!r.text.contains("--report-access"));
    assert!(!r.text.contains("system:auth-delegator"));

    // The webhook port open to any source without apiServerCIDRs, the metrics port to
    // the monitoring namespace only.
    let np = r.one("NetworkPolicy", "eksguard-webhook");
    let ingress = json_of(np.root.at("spec.ingress"));
    assert_eq!(ingress[0]["ports"][0]["port"], json!(8443));
    assert!(ingress[0].get("from").is_none(), "{ingress}");
    assert_eq!(ingress[1]["ports"][0]["port"], json!(9090));
    assert_eq!(
        ingress[1]["from"],
        json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}])
    );

    // The PDB and the Service select the webhook's pods.
    let labels = pod_labels(dep);
    let pdb = r.one("PodDisruptionBudget", "eksguard-webhook");
    assert_eq!(
        pdb.root.at("spec.minAvailable").and_then(Node::as_i64),
        Some(1)
    );
    assert!(selects(
        &json_of(pdb.root.at("spec.selector.matchLabels")),
        &labels
    ));
    let svc = r.one("Service", "eksguard-webhook");
    assert!(selects(&json_of(svc.root.at("spec.selector")), &labels));

    // The webhook configuration: fail open, no side effects, a short timeout, its own
    // namespace and kube-system left out, the CA of the generated Secret.
    let vwc = r.one("ValidatingWebhookConfiguration", "eksguard");
    let hook = json_of(vwc.root.at("webhooks")).as_array().unwrap()[0].clone();
    assert_eq!(hook["failurePolicy"], json!("Ignore"));
    assert_eq!(hook["sideEffects"], json!("None"));
    assert!(hook["timeoutSeconds"].as_i64().unwrap() <= 10);
    assert_eq!(hook["admissionReviewVersions"], json!(["v1"]));
    assert_eq!(
        hook["clientConfig"]["service"],
        json!({"name": "eksguard-webhook", "namespace": "eksguard", "path": "/validate", "port": 443})
    );
    assert_eq!(
        hook["namespaceSelector"]["matchExpressions"][0],
        json!({"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["eksguard", "kube-system"]})
    );
    assert!(hook.get("objectSelector").is_none());
    let secret = r.one("Secret", "eksguard-webhook-tls");
    assert_eq!(str_at(secret, &["type"]), "kubernetes.io/tls");
    assert_eq!(
        hook["clientConfig"]["caBundle"].as_str(),
        Some(str_at(secret, &["data", "ca.crt"])).filter(|s| s.len() > 100)
    );
    assert_eq!(
        json_of(spec.field("volumes"))[0]["secret"]["secretName"],
        json!("eksguard-webhook-tls")
    );

    // Read-only RBAC, no Secrets, ConfigMaps only by name.
    for kind in ["ClusterRole", "Role"] {
        for role in r.all(kind) {
            for rule in role.root.get("rules").map(Node::items).unwrap_or(&[]) {
                let rule = rule.to_json();
                for verb in rule["verbs"].as_array().unwrap() {
                    assert!(
                        matches!(verb.as_str(), Some("get" | "list" | "watch")),
                        "{rule}"
                    );
                }
                let resources = rule["resources"].as_array().unwrap();
                assert!(!resources.contains(&json!("secrets")), "{rule}");
                assert!(!resources.iter().any(|r| r.as_str().unwrap().contains('/')));
                if resources.contains(&json!("configmaps")) {
                    assert_eq!(rule["resourceNames"], json!(["aws-auth", "amazon-vpc-cni"]));
                }
            }
        }
    }
    // Optional parts stay off.
    for kind in [
        "ServiceMonitor",
        "Certificate",
        "DaemonSet",
        "Job",
        "ConfigMap",
        "PersistentVolumeClaim",
    ] {
        assert!(!r.has(kind), "{kind} rendered by default");
    }
    assert!(!r.text.contains("--scan-interval"));
}

fn everything_on() -> Value {
    json!({
        "image": {"digest": "sha256:5b0c3b8d1f4c1e3a2d7f9e8c6b5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e"},
        "config": "fail_on = \"high\"\n\n[severity]\nPOD013 = \"medium\"\n",
        "certManager": {"enabled": true},
        "serviceMonitor": {"enabled": true, "labels": {"release": "prom"}},
        "webhook": {
            "scanInterval": "1h",
            "dryRun": true,
            "failurePolicy": "Fail",
            "timeoutSeconds": 3,
            "excludedNamespaces": ["kube-system", "istio-system"],
            "namespaceSelector": {"matchLabels": {"eksguard.io/enforce": "true"}},
            "objectSelector": {"matchExpressions": [{"key": "eksguard.io/skip", "operator": "DoesNotExist"}]}
        },
        "follower": {
            "enabled": true,
            "logGroup": "/aws/eks/prod/cluster",
            "region": "eu-west-1",
            "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/eksguard-follower"}}
        },
        "nodeCheck": {"daemonset": {"enabled": true}, "job": {"enabled": true, "nodeName": "ip-10-0-1-1"}}
    })
}

#[test]
fn every_option_on_lints_scans_clean_and_wires_the_parts() {
    assert_lints(everything_on());
    let Some(r) = render(everything_on()) else {
        return;
    };
    assert_scan_clean(&r);

    // cert-manager: a Certificate into the Secret the pods mount, the cainjector fills
    // the CA bundle; the chart makes no Secret itself.
    let vwc = r.one("ValidatingWebhookConfiguration", "eksguard");
    assert_eq!(
        str_at(
            vwc,
            &["metadata", "annotations", "cert-manager.io/inject-ca-from"]
        ),
        "eksguard/eksguard-webhook"
    );
    let hook = json_of(vwc.root.at("webhooks")).as_array().unwrap()[0].clone();
    assert!(hook["clientConfig"].get("caBundle").is_none());
    assert!(!r.has("Secret"));
    let cert = r.one("Certificate", "eksguard-webhook");
    assert_eq!(
        str_at(cert, &["spec", "secretName"]),
        "eksguard-webhook-tls"
    );
    assert_eq!(
        str_at(cert, &["spec", "issuerRef", "name"]),
        "eksguard-selfsigned"
    );
    r.one("Issuer", "eksguard-selfsigned");
    assert_eq!(hook["failurePolicy"], json!("Fail"));
    assert_eq!(hook["timeoutSeconds"], json!(3));
    assert_eq!(
        hook["namespaceSelector"],
        json!({
            "matchLabels": {"eksguard.io/enforce": "true"},
            "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["eksguard", "kube-system", "istio-system"]}]
        })
    );
    assert_eq!(
        hook["objectSelector"]["matchExpressions"][0]["key"],
        json!("eksguard.io/skip")
    );

    // The webhook: the config file, the continuous scan, dry run, the pinned image.
    let dep = r.one("Deployment", "eksguard-webhook");
    assert_restricted(dep);
    let a = args(dep, "eksguard");
    for want in [
        "--dry-run",
        "--config=/etc/eksguard/config/config.toml",
        "--scan-interval=1h",
    ] {
        assert!(a.iter().any(|x| x == want), "{want} in {a:?}");
    }
    let cm = r.one("ConfigMap", "eksguard-config");
    assert!(str_at(cm, &["data", "config.toml"]).contains("POD013 = \"medium\""));
    assert!(dep.pod_spec().unwrap().containers().all(|c| c
        .image()
        .unwrap()
        .starts_with("ghcr.io/eksguard/eksguard@sha256:")));

    // The follower: one replica, the shared flags, a volume for the checkpoint, the IRSA
    // annotation on its own service account, metrics behind a Service.
    let f = r.one("Deployment", "eksguard-follower");
    assert_restricted(f);
    assert_eq!(f.root.at("spec.replicas").and_then(Node::as_i64), Some(1));
    assert_eq!(str_at(f, &["spec", "strategy", "type"]), "Recreate");
    assert_eq!(
        args(f, "follower"),
        [
            "audit",
            "scan",
            "--cloudwatch",
            "/aws/eks/prod/cluster",
            "--follow",
            "--checkpoint=/var/lib/eksguard/checkpoint.json",
            "--poll-interval=10s",
            "--metrics-listen=0.0.0.0:9090",
            "--config=/etc/eksguard/config/config.toml"
        ]
    );
    let fspec = f.pod_spec().unwrap();
    assert_eq!(
        json_of(fspec.field("volumes"))[0]["persistentVolumeClaim"]["claimName"],
        json!("eksguard-follower-checkpoint")
    );
    r.one("PersistentVolumeClaim", "eksguard-follower-checkpoint");
    let sa = r.one("ServiceAccount", "eksguard-follower");
    assert_eq!(
        str_at(
            sa,
            &["metadata", "annotations", "eks.amazonaws.com/role-arn"]
        ),
        "arn:aws:iam::111122223333:role/eksguard-follower"
    );
    assert_eq!(fspec.service_account(), "eksguard-follower");
    let fsvc = r.one("Service", "eksguard-follower");
    assert!(selects(
        &json_of(fsvc.root.at("spec.selector")),
        &pod_labels(f)
    ));
    assert!(!selects(
        &json_of(fsvc.root.at("spec.selector")),
        &pod_labels(dep)
    ));

    // Scraped: the webhook over HTTPS against its CA, the follower over HTTP.
    let sm = r.one("ServiceMonitor", "eksguard");
    assert_eq!(str_at(sm, &["metadata", "labels", "release"]), "prom");
    let eps = json_of(sm.root.at("spec.endpoints"));
    assert_eq!(eps[0]["port"], json!("webhook-metrics"));
    assert_eq!(eps[0]["scheme"], json!("http"));
    assert_eq!(eps[1]["port"], json!("metrics"));
    let svc = r.one("Service", "eksguard-webhook");
    assert_eq!(
        json_of(svc.root.at("spec.ports"))[1],
        json!({"name": "webhook-metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"})
    );

    // Node checks in their own privileged namespace.
    let ns = r.one("Namespace", "eksguard-node");
    assert_eq!(
        str_at(
            ns,
            &["metadata", "labels", "pod-security.kubernetes.io/enforce"]
        ),
        "privileged"
    );
    let ds = r.one("DaemonSet", "eksguard-node");
    assert_eq!(ds.ns(), Some("eksguard-node"));
    assert!(ds.pod_spec().unwrap().bool_field("hostPID"));
    let job = r.one("Job", "eksguard-node");
    assert_eq!(
        str_at(job, &["spec", "template", "spec", "nodeName"]),
        "ip-10-0-1-1"
    );
    assert_eq!(args(job, "check"), ["node", "--root", "/host"]);
}

#[test]
fn other_values_one_replica_no_pdb_secrets_on_request_emptydir_checkpoint() {
    let values = json!({
        "webhook": {"replicas": 1, "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "role", "operator": "In", "values": ["system"]}]}]}}}},
        "rbac": {"readSecrets": true},
        "follower": {"enabled": true, "logGroup": "/aws/eks/x/cluster", "checkpoint": {"type": "emptyDir"}}
    });
    assert_lints(values.clone());
    let Some(r) = render(values) else { return };
    assert_scan_clean(&r);
    assert!(
        !r.has("PodDisruptionBudget"),
        "a PDB of one replica blocks drains"
    );
    let dep = r.one("Deployment", "eksguard-webhook");
    let aff = json_of(dep.pod_spec().unwrap().field("affinity"));
    assert!(aff.get("podAntiAffinity").is_none() && aff.get("nodeAffinity").is_some());
    let role = r.one("ClusterRole", "eksguard-read");
    let secrets: Vec<Value> = role
        .root
        .get("rules")
        .map(Node::items)
        .unwrap()
        .iter()
        .map(Node::to_json)
        .filter(|r| r["resources"] == json!(["secrets"]))
        .collect();
    assert_eq!(
        secrets,
        [json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]})]
    );
    assert!(!r.has("PersistentVolumeClaim"));
    let f = r.one("Deployment", "eksguard-follower");
    assert!(json_of(f.pod_spec().unwrap().field("volumes"))[0]["emptyDir"].is_object());
    // Without the allow rules, no default deny either: it would cut the pods off.
    let Some(r) = render(json!({"networkPolicy": {"enabled": false}})) else {
        return;
    };
    assert!(!r.has("NetworkPolicy"));
    r.one("ResourceQuota", "eksguard");
}

#[test]
fn bad_values_are_refused_with_a_message() {
    for (values, message) in [
        (
            json!({"follower": {"enabled": true}}),
            "follower.logGroup is required",
        ),
        // values.schema.json: refused before any template runs.
        (
            json!({"follower": {"enabled": true, "logGroup": "g", "checkpoint": {"type": "configMap"}}}),
            "/follower/checkpoint/type",
        ),
        (json!({"webhook": {"denyOn": "hgh"}}), "/webhook/denyOn"),
        (
            json!({"webhook": {"timeoutSeconds": 60}}),
            "/webhook/timeoutSeconds",
        ),
        (
            json!({"webhook": {"failurePolicy": "ignore"}}),
            "/webhook/failurePolicy",
        ),
        (
            json!({"networkPolicy": {"apiServerCIDRs": ["api-server"]}}),
            "/networkPolicy/apiServerCIDRs/0",
        ),
        (
            json!({"webhook": {"maxConcurrentReviews": 0}}),
            "/webhook/maxConcurrentReviews",
        ),
        (
            json!({"nodeCheck": {"namespace": "eksguard", "job": {"enabled": true}}}),
            "nodeCheck.namespace must differ",
        ),
    ] {
        let Some(result) = try_render(&values) else {
            return;
        };
        let err = result.expect_err("rendered");
        assert!(err.contains(message), "{values}: {err}");
    }
}

/// The plain manifests under deploy/manifests run the same node-check pods as the chart.
#[test]
fn plain_manifests_match_the_charts_node_checks() {
    let Some(r) = render_in(
        json!({
            "webhook": {"enabled": false},
            "namespacePolicies": {"enabled": false},
            "nodeCheck": {"namespace": "eksguard", "daemonset": {"enabled": true}, "job": {"enabled": true}}
        }),
        "eksguard-system",
    ) else {
        return;
    };
    let dir = repo().join("deploy/manifests");
    let mut plain = Inventory::default();
    for f in [
        "namespace.yaml",
        "policies.yaml",
        "daemonset.yaml",
        "job.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        plain.extend(load_text(f, text.as_bytes(), &LoadOptions::default()));
    }
    assert!(plain.errors.is_empty(), "{:?}", plain.errors);
    assert_eq!(plain.objects.len(), r.inv.objects.len());
    for o in &r.inv.objects {
        let p = plain
            .objects
            .iter()
            .find(|p| p.kind == o.kind && p.name == o.name && p.ns() == o.ns())
            .unwrap_or_else(|| panic!("{} is not in deploy/manifests", o.display_name()));
        for path in [
            "spec.template.spec",
            "spec.template.metadata.annotations",
            "spec.hard",
            "spec.limits",
            "spec.policyTypes",
            "metadata.annotations",
            "automountServiceAccountToken",
        ] {
            assert_eq!(
                json_of(p.root.at(path)),
                json_of(o.root.at(path)),
                "{} {path}",
                o.display_name()
            );
        }
    }
}

/// The image the chart runs: the Dockerfile's last stage is a minimal base with the
/// binary at /eksguard as its entry point, run as the chart's non-root UID; the chart's
/// appVersion (its default image tag) is the workspace's version.
#[test]
fn dockerfile_ships_the_binary_non_root_on_a_minimal_base() {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let instructions: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let last_from = instructions
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .unwrap();
    let base = instructions[last_from];
    assert!(
        base.starts_with("FROM gcr.io/distroless/static") || base == "FROM scratch",
        "{base}"
    );
    let final_stage = &instructions[last_from..];
    assert!(
        final_stage.contains(&"COPY --from=build /eksguard /eksguard"),
        "{final_stage:?}"
    );
    assert!(final_stage.contains(&"USER 65532:65532"), "{final_stage:?}");
    assert_eq!(final_stage.last(), Some(&"ENTRYPOINT [\"/eksguard\"]"));
    // The build stage builds from the lock file, for a musl (static) target.
    assert!(instructions
        .iter()
        .any(|l| l.starts_with("FROM rust:") && l.contains("-alpine AS build")));
    assert!(text.contains("cargo build --release --locked --bin eksguard"));
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "target"), "{ignore}");

    let chart_yaml = std::fs::read_to_string(chart().join("Chart.yaml")).unwrap();
    let cargo = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("version = "))
        .unwrap()
        .trim_matches('"');
    assert!(
        chart_yaml.contains(&format!("appVersion: \"{version}\"")),
        "{chart_yaml}"
    );
    let values = std::fs::read_to_string(chart().join("values.yaml")).unwrap();
    assert!(values.contains("repository: ghcr.io/eksguard/eksguard"));
    let helpers = std::fs::read_to_string(chart().join("templates/_helpers.tpl")).unwrap();
    assert!(helpers.contains("runAsUser: 65532"));
}

/// The values of `values-fail-closed.yaml`, the chart's preset for `failurePolicy: Fail`.
fn fail_closed_preset() -> Value {
    let text = std::fs::read_to_string(chart().join("values-fail-closed.yaml")).unwrap();
    let docs = eksguard_model::yaml::parse_documents(&text, false, Default::default());
    let doc = docs.into_iter().next().unwrap().unwrap();
    doc.root.to_json()
}

#[test]
fn the_fail_closed_preset_is_highly_available_and_alerts() {
    let preset = fail_closed_preset();
    assert_lints(preset.clone());
    let Some(r) = render(preset) else { return };
    assert_scan_clean(&r);
    let vwc = r.one("ValidatingWebhookConfiguration", "eksguard");
    let hook = json_of(vwc.root.at("webhooks")).as_array().unwrap()[0].clone();
    assert_eq!(hook["failurePolicy"], json!("Fail"));
    // The cluster and eksguard itself can still be repaired while it is down.
    assert_eq!(
        hook["namespaceSelector"]["matchExpressions"][0]["values"],
        json!(["eksguard", "kube-system"])
    );
    let dep = r.one("Deployment", "eksguard-webhook");
    assert_eq!(dep.root.at("spec.replicas").and_then(Node::as_i64), Some(3));
    let spec = dep.pod_spec().unwrap();
    assert_eq!(
        spec.field("priorityClassName").and_then(Node::as_str),
        Some("system-cluster-critical")
    );
    let c = spec.containers().next().unwrap();
    let res = json_of(c.node.get("resources"));
    assert_eq!(res["limits"]["memory"], json!("640Mi"));
    assert_eq!(res["requests"]["memory"], json!("256Mi"));
    let pdb = r.one("PodDisruptionBudget", "eksguard-webhook");
    assert_eq!(
        pdb.root.at("spec.minAvailable").and_then(Node::as_i64),
        Some(2)
    );
    let rule = r.one("PrometheusRule", "eksguard");
    let rules = json_of(rule.root.at("spec.groups"))[0]["rules"].clone();
    let alerts: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["alert"].as_str().unwrap())
        .collect();
    assert_eq!(
        alerts,
        [
            "EksguardWebhookUnavailable",
            "EksguardWebhookFailingOpen",
            "EksguardWebhookCallsFailing",
            "EksguardWebhookSlow",
            "EksguardWebhookThrottling"
        ]
    );
    let slow = rules[3]["expr"].as_str().unwrap();
    assert!(
        slow.contains(r#"endpoint="/validate""#) && slow.ends_with("> 2.5"),
        "{slow}"
    );
    assert!(rules[0]["expr"]
        .as_str()
        .unwrap()
        .contains(r#"service="eksguard-webhook""#));
}

#[test]
fn network_policy_report_and_trust_values_are_wired() {
    let values = json!({
        "networkPolicy": {"apiServerCIDRs": ["10.0.0.0/28", "10.0.0.16/28"], "monitoringNamespace": "prometheus"},
        "webhook": {
            "scanInterval": "1h",
            "trustAnnotationsIn": ["legacy"],
            "controllerUsers": ["system:kube-controller-manager"],
            "report": {"enabled": true, "readers": [{"kind": "Group", "name": "security-team", "apiGroup": "rbac.authorization.k8s.io"}]}
        },
        "follower": {"enabled": true, "logGroup": "/aws/eks/x/cluster"}
    });
    assert_lints(values.clone());
    let Some(r) = render(values) else { return };
    assert_scan_clean(&r);
    let np = r.one("NetworkPolicy", "eksguard-webhook");
    let ingress = json_of(np.root.at("spec.ingress"));
    assert_eq!(
        ingress[0]["from"],
        json!([{"ipBlock": {"cidr": "10.0.0.0/28"}}, {"ipBlock": {"cidr": "10.0.0.16/28"}}])
    );
    assert_eq!(
        ingress[1]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        json!("prometheus")
    );
    let f = r.one("NetworkPolicy", "eksguard-follower");
    assert_eq!(
        json_of(f.root.at("spec.ingress"))[0]["from"][0]["namespaceSelector"]["matchLabels"]
            ["kubernetes.io/metadata.name"],
        json!("prometheus")
    );
    let dep = r.one("Deployment", "eksguard-webhook");
    let a = args(dep, "eksguard");
    for want in [
        "--trust-annotations-in=legacy",
        "--controller-user=system:kube-controller-manager",
        "--report-access=eksguard/eksguard-webhook",
    ] {
        assert!(a.iter().any(|x| x == want), "{want} in {a:?}");
    }
    // The webhook may ask who a caller is and what they may do, nothing more.
    let crb = r.one("ClusterRoleBinding", "eksguard-auth-delegator");
    assert_eq!(str_at(crb, &["roleRef", "name"]), "system:auth-delegator");
    let role = r.one("Role", "eksguard-report-reader");
    assert_eq!(
        json_of(role.root.get("rules")),
        json!([{"apiGroups": [""], "resources": ["services/proxy"], "resourceNames": ["eksguard-webhook"], "verbs": ["get"]}])
    );
    let rb = r.one("RoleBinding", "eksguard-report-reader");
    assert_eq!(
        json_of(rb.root.get("subjects"))[0]["name"],
        json!("security-team")
    );
}

/// The webhook's memory limit is at least twice the peak the book's performance chapter
/// reports for the
/// largest reviews under load.
#[test]
fn the_memory_limit_is_twice_the_measured_peak() {
    let page = std::fs::read_to_string(repo().join("docs/book/src/performance.md")).unwrap();
    let line = page
        .lines()
        .find(|l| l.contains("MiB, sets the chart's memory limit"))
        .expect("the performance chapter states the measured peak");
    let peak: f64 = line
        .split(" MiB, sets the chart's memory limit")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.trim_start_matches('(').parse().ok())
        .unwrap_or_else(|| panic!("no figure in {line:?}"));
    let values = std::fs::read_to_string(chart().join("values.yaml")).unwrap();
    let docs = eksguard_model::yaml::parse_documents(&values, false, Default::default());
    let values = docs.into_iter().next().unwrap().unwrap().root.to_json();
    let limit = values["webhook"]["resources"]["limits"]["memory"]
        .as_str()
        .unwrap();
    let mib: f64 = limit.strip_suffix("Mi").unwrap().parse().unwrap();
    assert!(mib >= 2.0 * peak, "limit {limit} under twice {peak} MiB");
    let preset = fail_closed_preset();
    let preset_limit = preset["webhook"]["resources"]["limits"]["memory"]
        .as_str()
        .unwrap();
    let preset_mib: f64 = preset_limit.strip_suffix("Mi").unwrap().parse().unwrap();
    assert!(preset_mib >= 2.0 * peak, "preset limit {preset_limit}");
}
