//! ValidatingAdmissionPolicies: the object-local pod and container rules written in CEL, so
//! the API server itself enforces them without a webhook.
//!
//! This module is the one place that knows how each rule reads in CEL ([`check`]). Every
//! rule that looks at pod specs alone is either here or in [`NOT_EXPRESSED`] with the
//! reason; a test walks the registry to keep it so, and evaluates each expression against
//! every rule fixture, where its verdict must equal the rule's own.
//!
//! The expressions read the object through the policy's `variables` (the pod spec of
//! whichever kind matched, its containers of all three lists, ...), written for the CEL
//! environment of Kubernetes 1.30 (its string extension: `trim`, `upperAscii`,
//! `lowerAscii`, `replace`, `split`, `indexOf`, `lastIndexOf`, `substring`). Null fields never reach them: the API server decodes into
//! typed objects first. Inline `eksguard.io/ignore` annotations are not honoured: whoever
//! writes the object would write the annotation too, so exemptions belong to the binding
//! (its excluded namespaces), which the cluster's administrator controls.

use eksguard_model::kinds;
use eksguard_model::podsec::{DANGEROUS_CAPABILITIES, SELINUX_TYPES};
use eksguard_model::selector::PSS_SAFE_SYSCTLS;
use eksguard_model::{RuleMeta, Severity};

use crate::yaml::{Stream, Yaml};

/// Kinds the policies match, as (API group, resource, kind), from the kinds table. Pods
/// include their `ephemeralcontainers` subresource, which `kubectl debug` writes to.
pub fn resources() -> Vec<(&'static str, String, &'static str)> {
    let mut out = Vec::new();
    for k in kinds::admitted() {
        out.push((k.group, k.plural.to_string(), k.kind));
        if k.kind == "Pod" {
            out.push((k.group, format!("{}/ephemeralcontainers", k.plural), k.kind));
        }
    }
    out
}

/// Whether the policies judge objects of this kind.
pub fn matches_kind(kind: &str) -> bool {
    kinds::get(kind).is_some_and(|k| k.admission)
}

/// Object-local pod rules that have no CEL form here, and why; `serve` and `scan` still
/// run them.
pub const NOT_EXPRESSED: &[(&str, &str)] = &[
    (
        "POD006",
        "host paths are compared after resolving `..` and repeated slashes",
    ),
    (
        "POD017",
        "reads shell words out of commands and image references",
    ),
    ("POD018", "reads shell words out of commands"),
    (
        "POD020",
        "host paths are compared after resolving `..` and repeated slashes",
    ),
    (
        "QOS001",
        "needs resource quantities parsed and compared with zero",
    ),
    (
        "QOS002",
        "needs resource quantities parsed and compared with zero",
    ),
    ("QOS003", "needs resource quantities parsed and compared"),
    ("IMG003", "compares registries with the rule's parameters"),
    ("IRSA002", "skips namespaces set in the rule's parameters"),
    ("POD021", "skips namespaces set in the rule's parameters"),
    ("TEN003", "exempts namespaces set in the rule's parameters"),
    ("TEN004", "skips namespaces set in the rule's parameters"),
    (
        "NET019",
        "judges cert-manager issuers too, and istiod by its name",
    ),
    (
        "DATA006",
        "matches credential patterns in environment values",
    ),
];

/// The policy's variables, in the order they are computed: later ones use earlier ones.
pub fn variables() -> Vec<(&'static str, String)> {
    let spec = "object.kind == 'Pod' ? object.spec \
        : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec \
        : object.kind == 'PodTemplate' ? object.template.spec \
        : object.spec.template.spec";
    let meta = "object.kind == 'Pod' ? object.metadata \
        : object.kind == 'CronJob' ? (has(object.spec.jobTemplate.spec.template.metadata) ? object.spec.jobTemplate.spec.template.metadata : {}) \
        : object.kind == 'PodTemplate' ? (has(object.template.metadata) ? object.template.metadata : {}) \
        : (has(object.spec.template.metadata) ? object.spec.template.metadata : {})";
    let list = |f: &str| format!("(has(variables.spec.{f}) ? variables.spec.{f} : [])");
    vec![
        ("spec", spec.to_string()),
        ("meta", meta.to_string()),
        (
            "annotations",
            "has(variables.meta.annotations) ? variables.meta.annotations : {}".into(),
        ),
        (
            "containers",
            format!(
                "{} + {} + {}",
                list("initContainers"),
                list("containers"),
                list("ephemeralContainers")
            ),
        ),
        ("volumes", list("volumes")),
        // Computed once, not per volume mount of every container.
        (
            "hostPathVolumes",
            "variables.volumes.filter(v, has(v.hostPath)).map(v, has(v.name) ? v.name : '')"
                .into(),
        ),
        (
            "podSecurityContext",
            "has(variables.spec.securityContext) ? variables.spec.securityContext : {}".into(),
        ),
        // A Windows pod as the rules see it: `os.name`, else an OS node selector that
        // says only `windows`, else a required node affinity each of whose terms admits
        // only `windows`.
        (
            "osSelector",
            "has(variables.spec.nodeSelector) ? ['kubernetes.io/os', 'beta.kubernetes.io/os']\
             .filter(k, k in variables.spec.nodeSelector)\
             .map(k, variables.spec.nodeSelector[k]) : []"
                .into(),
        ),
        (
            "osTerms",
            "has(variables.spec.affinity) && has(variables.spec.affinity.nodeAffinity) \
             && has(variables.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution) \
             && has(variables.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms) \
             ? variables.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms : []"
                .into(),
        ),
        (
            "windows",
            "(has(variables.spec.os) && has(variables.spec.os.name) && variables.spec.os.name == 'windows') \
             || (size(variables.osSelector) > 0 ? variables.osSelector.all(v, v == 'windows') \
             : size(variables.osTerms) > 0 && variables.osTerms.all(t, has(t.matchExpressions) \
             && t.matchExpressions.exists(e, e.key in ['kubernetes.io/os', 'beta.kubernetes.io/os'] \
             && has(e.operator) && e.operator == 'In' && has(e.values) && size(e.values) > 0 \
             && e.values.all(v, v == 'windows'))))"
                .into(),
        ),
    ]
}

/// `c.securityContext.<path>` is set (each step guarded, as CEL needs).
fn c_has(path: &str) -> String {
    guarded("c.securityContext", path)
}

/// `base.<path>` is set, `base` itself being set.
fn guarded(base: &str, path: &str) -> String {
    let mut out = format!("has({base})");
    let mut at = base.to_string();
    for step in path.split('.') {
        at = format!("{at}.{step}");
        out.push_str(&format!(" && has({at})"));
    }
    out
}

/// Like [`guarded`] for a field under the pod's securityContext variable (always set).
fn pod_has(path: &str) -> String {
    guarded("variables.podSecurityContext", path)
        .trim_start_matches("has(variables.podSecurityContext) && ")
        .to_string()
}

fn quoted_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let items: Vec<String> = items
        .into_iter()
        .map(|s| format!("'{}'", s.as_ref()))
        .collect();
    format!("[{}]", items.join(", "))
}

/// A capability name as the rules compare it: trimmed, upper case, `CAP_` optional.
fn capability_in(var: &str, names: &[&str]) -> String {
    let both = names
        .iter()
        .flat_map(|n| [n.to_string(), format!("CAP_{n}")]);
    format!("{var}.trim().upperAscii() in {}", quoted_list(both))
}

/// The value of a securityContext field for container `c`: its own, else the pod's (the
/// fields Kubernetes inherits); `test` is applied to whichever applies, `false` when none.
fn effective(field: &str, test: &str) -> String {
    format!(
        "({own} ? c.securityContext.{field}{test} : ({pod} && variables.podSecurityContext.{field}{test}))",
        own = c_has(field),
        pod = pod_has(field),
    )
}

/// A profile `type` field reads `Unconfined`.
fn unconfined_type(base: &str, guard: &str) -> String {
    format!("({guard} && {base}.type == 'Unconfined')")
}

/// An annotation of the pod template, keyed by an expression, trimmed, equals `value`.
fn annotation_is(key: &str, value: &str) -> String {
    format!("({key} in variables.annotations && variables.annotations[{key}].trim() == '{value}')")
}

/// Pieces of an image reference `image` (a CEL string expression), as the image rules
/// read it: whether a digest follows the first `@`, and the last path segment of the name
/// before it (a colon there starts the tag; one before it belongs to a port).
struct ImageRef {
    has_digest: String,
    last_segment: String,
}

fn image_ref(image: &str) -> ImageRef {
    let name = format!("{image}.split('@')[0]");
    ImageRef {
        has_digest: format!(
            "({image}.indexOf('@') >= 0 && {image}.substring({image}.indexOf('@') + 1) != '')"
        ),
        last_segment: format!("{name}.substring({name}.lastIndexOf('/') + 1)"),
    }
}

fn container_name() -> &'static str {
    "(has(c.name) ? c.name : '')"
}

/// SELinux options at `o` (guarded by `guard`) that RUN004 reports.
fn selinux_custom(o: &str, guard: &str) -> String {
    format!(
        "({guard} && ((has({o}.type) && {o}.type.trim() != '' && !({o}.type.trim() in {types})) \
         || (has({o}.user) && {o}.user.trim() != '') || (has({o}.role) && {o}.role.trim() != '')))",
        types = quoted_list(SELINUX_TYPES),
    )
}

/// The CEL expression that holds when the object passes rule `id`; `None` for rules
/// without a CEL form.
pub fn check(id: &str) -> Option<String> {
    let all = |body: String| format!("variables.containers.all(c, {body})");
    let not_windows = |body: String| format!("variables.windows || {body}");
    let pod_flag = |f: &str| format!("!(has(variables.spec.{f}) && variables.spec.{f} == true)");
    Some(match id {
        "POD001" => all(format!(
            "!({} && c.securityContext.privileged == true)",
            c_has("privileged")
        )),
        "POD002" => all(format!(
            "!({user_zero} || (!({own_user} || {pod_user}) && !{non_root}) || {group_zero})",
            user_zero = effective("runAsUser", " == 0"),
            own_user = c_has("runAsUser"),
            pod_user = pod_has("runAsUser"),
            non_root = effective("runAsNonRoot", " == true"),
            group_zero = effective("runAsGroup", " == 0"),
        )),
        "POD003" => not_windows(all(format!(
            "{} && c.securityContext.allowPrivilegeEscalation == false",
            c_has("allowPrivilegeEscalation")
        ))),
        "POD004" => "variables.volumes.all(v, !has(v.hostPath))".into(),
        "POD005" => all(
            "!has(c.volumeMounts) || c.volumeMounts.all(m, \
             !((has(m.name) ? m.name : '') in variables.hostPathVolumes) \
             || (has(m.readOnly) && m.readOnly == true))"
                .into(),
        ),
        "POD007" => pod_flag("hostNetwork"),
        "POD008" => pod_flag("hostPID"),
        "POD009" => pod_flag("hostIPC"),
        "POD010" => all(
            "!has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0)".into(),
        ),
        "POD011" => all(format!(
            "!({}) || !c.securityContext.capabilities.add.exists(a, {})",
            c_has("capabilities.add"),
            capability_in("a", DANGEROUS_CAPABILITIES)
        )),
        "POD012" => not_windows(all(format!(
            "{} && c.securityContext.capabilities.drop.exists(d, {})",
            c_has("capabilities.drop"),
            capability_in("d", &["ALL"])
        ))),
        "POD013" => not_windows(all(format!(
            "{} && c.securityContext.readOnlyRootFilesystem == true",
            c_has("readOnlyRootFilesystem")
        ))),
        "POD016" => format!(
            "(!({sysctls}) || variables.podSecurityContext.sysctls.all(s, \
             (has(s.name) ? s.name : '').trim().replace('/', '.') in {safe})) && {procmount}",
            sysctls = pod_has("sysctls"),
            safe = quoted_list(PSS_SAFE_SYSCTLS),
            procmount = all(format!(
                "!({} && c.securityContext.procMount == 'Unmasked')",
                c_has("procMount")
            )),
        ),
        "POD019" => format!(
            "!({pod} && variables.podSecurityContext.windowsOptions.hostProcess == true) && {containers}",
            pod = pod_has("windowsOptions.hostProcess"),
            containers = all(format!(
                "!({} && c.securityContext.windowsOptions.hostProcess == true)",
                c_has("windowsOptions.hostProcess")
            )),
        ),
        "RUN001" => {
            let field_ok = |t: &str| format!("{t} in ['RuntimeDefault', 'Localhost', 'Unconfined']");
            let annotation_ok = |v: &str| {
                format!(
                    "({v}.trim() in ['runtime/default', 'docker/default', 'unconfined'] || {v}.trim().startsWith('localhost/'))"
                )
            };
            let key = format!(
                "('container.seccomp.security.alpha.kubernetes.io/' + {})",
                container_name()
            );
            let pod_key = "'seccomp.security.alpha.kubernetes.io/pod'";
            not_windows(all(format!(
                "{own} ? {own_ok} : {key} in variables.annotations ? {own_ann_ok} \
                 : {pod} ? {pod_ok} : {pod_key} in variables.annotations && {pod_ann_ok}",
                own = c_has("seccompProfile.type"),
                own_ok = field_ok("c.securityContext.seccompProfile.type"),
                own_ann_ok = annotation_ok(&format!("variables.annotations[{key}]")),
                pod = pod_has("seccompProfile.type"),
                pod_ok = field_ok("variables.podSecurityContext.seccompProfile.type"),
                pod_ann_ok = annotation_ok(&format!("variables.annotations[{pod_key}]")),
            )))
        }
        "RUN002" => format!(
            "!{pod} && !{pod_ann} && {containers}",
            pod = unconfined_type(
                "variables.podSecurityContext.seccompProfile",
                &pod_has("seccompProfile.type")
            ),
            pod_ann = annotation_is("'seccomp.security.alpha.kubernetes.io/pod'", "unconfined"),
            containers = all(format!(
                "!{} && !{}",
                unconfined_type(
                    "c.securityContext.seccompProfile",
                    &c_has("seccompProfile.type")
                ),
                annotation_is(
                    &format!(
                        "('container.seccomp.security.alpha.kubernetes.io/' + {})",
                        container_name()
                    ),
                    "unconfined"
                )
            )),
        ),
        "RUN003" => format!(
            "!{pod} && {containers}",
            pod = unconfined_type(
                "variables.podSecurityContext.appArmorProfile",
                &pod_has("appArmorProfile.type")
            ),
            containers = all(format!(
                "!{} && !{}",
                unconfined_type(
                    "c.securityContext.appArmorProfile",
                    &c_has("appArmorProfile.type")
                ),
                annotation_is(
                    &format!(
                        "('container.apparmor.security.beta.kubernetes.io/' + {})",
                        container_name()
                    ),
                    "unconfined"
                )
            )),
        ),
        "RUN004" => format!(
            "!{pod} && {containers}",
            pod = selinux_custom(
                "variables.podSecurityContext.seLinuxOptions",
                &pod_has("seLinuxOptions")
            ),
            containers = all(format!(
                "!{}",
                selinux_custom("c.securityContext.seLinuxOptions", &c_has("seLinuxOptions"))
            )),
        ),
        "IMG001" | "IMG002" => {
            let image = "c.image.trim()";
            let r = image_ref(image);
            let seg = &r.last_segment;
            let tag = format!("{seg}.substring({seg}.lastIndexOf(':') + 1)");
            let mutable = if id == "IMG001" {
                format!(" && (!{seg}.contains(':') || {tag} == '' || {tag}.lowerAscii() == 'latest')")
            } else {
                String::new()
            };
            all(format!(
                "!(has(c.image) && {image} != '' && !{digest}{mutable})",
                digest = r.has_digest
            ))
        }
        "IRSA012" => format!(
            "!('iam.amazonaws.com/role' in variables.annotations) && {}",
            all(format!(
                "!(has(c.image) && {}.split(':')[0] in ['kube2iam', 'kiam'])",
                image_ref("c.image").last_segment
            ))
        ),
        "DATA002" => all(
            "(!has(c.env) || c.env.all(e, !(has(e.valueFrom) && has(e.valueFrom.secretKeyRef)))) \
             && (!has(c.envFrom) || c.envFrom.all(e, !has(e.secretRef)))"
                .into(),
        ),
        _ => return None,
    })
}

/// A rule as the generator sees it: its metadata and the severity in force (after the
/// configuration's overrides).
#[derive(Debug, Clone, Copy)]
pub struct Selected {
    pub meta: &'static RuleMeta,
    pub severity: Severity,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Rules at or above this severity deny; `None`: none do.
    pub deny_on: Option<Severity>,
    /// Rules at or above this severity (and below `deny_on`) warn; `None`: none do.
    pub warn_on: Option<Severity>,
    /// Namespaces the bindings leave out.
    pub exempt_namespaces: Vec<String>,
    /// Prefix of the generated objects' names.
    pub name: String,
}

/// The policies and bindings for `rules`, with comments naming the rules left out.
pub fn render(rules: &[Selected], opts: &Options) -> String {
    let mut deny = Vec::new();
    let mut warn = Vec::new();
    let mut below = Vec::new();
    let mut inexpressible = Vec::new();
    for r in rules {
        let Some(expr) = check(r.meta.id) else {
            if let Some((_, why)) = NOT_EXPRESSED.iter().find(|(id, _)| *id == r.meta.id) {
                inexpressible.push((r, *why));
            }
            continue;
        };
        if opts.deny_on.is_some_and(|t| r.severity >= t) {
            deny.push((r, expr));
        } else if opts.warn_on.is_some_and(|t| r.severity >= t) {
            warn.push((r, expr));
        } else {
            below.push(r);
        }
    }
    let mut s = Stream::new();
    s.comment("ValidatingAdmissionPolicies generated by eksguard: the object-local pod and");
    s.comment("container rules that CEL can express, over Pods and the pod templates of");
    s.comment("workload controllers. Rules that need other objects run in `eksguard scan`");
    s.comment("and `eksguard serve` only; eksguard.io/ignore annotations are not honoured here.");
    if !inexpressible.is_empty() {
        s.comment("");
        s.comment("Not expressed in CEL (enforced by `eksguard serve` and `eksguard scan`):");
        for (r, why) in &inexpressible {
            s.comment(&format!(
                "  {} {} ({}): {why}",
                r.meta.id, r.meta.name, r.severity
            ));
        }
    }
    if !below.is_empty() {
        s.comment("");
        s.comment("Below the thresholds, left out:");
        for r in &below {
            s.comment(&format!("  {} {} ({})", r.meta.id, r.meta.name, r.severity));
        }
    }
    for (suffix, action, failure, checks) in [
        ("deny", "Deny", "Fail", &deny),
        ("warn", "Warn", "Ignore", &warn),
    ] {
        if checks.is_empty() {
            continue;
        }
        let name = format!("{}-{suffix}", opts.name);
        s.document(&policy(&name, failure, checks));
        s.document(&binding(&name, action, &opts.exempt_namespaces));
    }
    s.finish()
}

fn policy(name: &str, failure: &str, checks: &[(&Selected, String)]) -> Yaml {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    let resources = resources();
    for (group, resource, _) in &resources {
        match groups.iter_mut().find(|(g, _)| g == group) {
            Some((_, rs)) => rs.push(resource),
            None => groups.push((*group, vec![resource.as_str()])),
        }
    }
    let rules = groups.into_iter().map(|(group, resources)| {
        Yaml::map([
            ("apiGroups", Yaml::seq([Yaml::str(group)])),
            ("apiVersions", Yaml::seq([Yaml::str("v1")])),
            (
                "operations",
                Yaml::seq([Yaml::str("CREATE"), Yaml::str("UPDATE")]),
            ),
            ("resources", Yaml::seq(resources.into_iter().map(Yaml::str))),
        ])
    });
    let variables = variables().into_iter().map(|(name, expr)| {
        Yaml::map([("name", Yaml::str(name)), ("expression", Yaml::str(expr))])
    });
    let validations = checks.iter().map(|(r, expr)| {
        Yaml::map([
            ("expression", Yaml::str(expr)),
            ("message", Yaml::str(message(r))),
            ("reason", Yaml::str("Forbidden")),
        ])
    });
    Yaml::map([
        ("apiVersion", Yaml::str("admissionregistration.k8s.io/v1")),
        ("kind", Yaml::str("ValidatingAdmissionPolicy")),
        ("metadata", Yaml::map([("name", Yaml::str(name))])),
        (
            "spec",
            Yaml::map([
                ("failurePolicy", Yaml::str(failure)),
                (
                    "matchConstraints",
                    Yaml::map([("resourceRules", Yaml::seq(rules))]),
                ),
                ("variables", Yaml::seq(variables)),
                ("validations", Yaml::seq(validations)),
            ]),
        ),
    ])
}

/// "POD001 privileged-container (critical): Container runs privileged".
pub fn message(r: &Selected) -> String {
    format!(
        "{} {} ({}): {}",
        r.meta.id, r.meta.name, r.severity, r.meta.summary
    )
}

fn binding(policy: &str, action: &str, exempt: &[String]) -> Yaml {
    let mut spec = Yaml::map([
        ("policyName", Yaml::str(policy)),
        ("validationActions", Yaml::seq([Yaml::str(action)])),
    ]);
    if !exempt.is_empty() {
        spec.set(
            "matchResources",
            Yaml::map([(
                "namespaceSelector",
                Yaml::map([(
                    "matchExpressions",
                    Yaml::seq([Yaml::map([
                        ("key", Yaml::str("kubernetes.io/metadata.name")),
                        ("operator", Yaml::str("NotIn")),
                        ("values", Yaml::seq(exempt.iter().map(Yaml::str))),
                    ])]),
                )]),
            )]),
        );
    }
    Yaml::map([
        ("apiVersion", Yaml::str("admissionregistration.k8s.io/v1")),
        ("kind", Yaml::str("ValidatingAdmissionPolicyBinding")),
        ("metadata", Yaml::map([("name", Yaml::str(policy))])),
        ("spec", spec),
    ])
}
