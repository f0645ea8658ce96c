//! Rule matching, entry by entry, as the API server's RBAC authorizer does it.
//!
//! Names compare exactly and case-sensitively. `*` stands for every verb, group, resource
//! or URL. In `resources`, `*/sub` stands for the subresource `sub` of every resource;
//! `pods/*` is *not* a wildcard (the authorizer compares it literally, so it matches
//! nothing real). A non-resource URL ending in `*` matches every path with that prefix.

use serde::{Deserialize, Serialize};

use crate::node::Node;

/// Whether a rule's `verbs` entry lets `verb` through.
pub fn verb_matches(rule: &str, verb: &str) -> bool {
    rule == "*" || rule == verb
}

/// Whether a rule's `apiGroups` entry lets `group` through (`""` is the core group).
pub fn api_group_matches(rule: &str, group: &str) -> bool {
    rule == "*" || rule == group
}

/// Whether a rule's `resources` entry lets `resource` (with an optional subresource) through.
pub fn resource_matches(rule: &str, resource: &str, sub: Option<&str>) -> bool {
    if rule == "*" {
        return true;
    }
    match sub {
        None => rule == resource,
        Some(sub) => {
            rule.strip_prefix(resource)
                .and_then(|r| r.strip_prefix('/'))
                .is_some_and(|r| r == sub)
                || rule.strip_prefix("*/") == Some(sub)
        }
    }
}

/// Whether a rule's `resourceNames` let a request for `name` through: an empty list
/// allows every request; a non-empty one only requests naming one of its entries, so
/// never an unnamed request (`create`, or `list` without a name).
pub fn resource_name_matches(names: &[String], name: Option<&str>) -> bool {
    names.is_empty() || name.is_some_and(|n| names.iter().any(|x| x == n))
}

/// Whether a rule's `nonResourceURLs` entry lets `path` through.
pub fn non_resource_url_matches(rule: &str, path: &str) -> bool {
    rule == "*" || rule == path || rule.strip_suffix('*').is_some_and(|p| path.starts_with(p))
}

/// One request to the API server, as the authorizer sees it: who asks, and either a
/// resource request (verb, group, resource, subresource, namespace, name) or a
/// non-resource one (verb and path).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestAttributes {
    /// The user name (`system:serviceaccount:NS:NAME` for a service account).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    pub verb: String,
    #[serde(default)]
    pub api_group: String,
    #[serde(default)]
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
    /// `None` for cluster-scoped resources and for requests across all namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Set for non-resource requests (`/metrics`); the resource fields are then unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl RequestAttributes {
    /// A resource request; `resource` may be `resource/subresource`.
    pub fn resource(verb: &str, api_group: &str, resource: &str) -> Self {
        let (resource, sub) = match resource.split_once('/') {
            Some((r, s)) if !s.is_empty() => (r, Some(s.to_string())),
            Some((r, _)) => (r, None),
            None => (resource, None),
        };
        RequestAttributes {
            verb: verb.to_string(),
            api_group: api_group.to_string(),
            resource: resource.to_string(),
            subresource: sub,
            ..Default::default()
        }
    }

    /// A non-resource request on `path`.
    pub fn non_resource(verb: &str, path: &str) -> Self {
        RequestAttributes {
            verb: verb.to_string(),
            path: Some(path.to_string()),
            ..Default::default()
        }
    }

    pub fn in_namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = Some(ns.into());
        self
    }

    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn by(mut self, user: impl Into<String>, groups: &[&str]) -> Self {
        self.user = user.into();
        self.groups = groups.iter().map(|g| g.to_string()).collect();
        self
    }

    pub fn is_resource_request(&self) -> bool {
        self.path.is_none()
    }

    /// `resource` or `resource/subresource`.
    pub fn combined_resource(&self) -> String {
        match &self.subresource {
            Some(s) => format!("{}/{s}", self.resource),
            None => self.resource.clone(),
        }
    }

    /// "list pods in ns1", "get /metrics", "create pods/exec named web in prod".
    pub fn describe(&self) -> String {
        if let Some(p) = &self.path {
            return format!("{} {p}", self.verb);
        }
        let mut s = format!("{} {}", self.verb, self.combined_resource());
        if !self.api_group.is_empty() {
            s = format!("{s}.{}", self.api_group);
        }
        if let Some(n) = &self.name {
            s.push_str(&format!(" named {n}"));
        }
        match &self.namespace {
            Some(ns) => s.push_str(&format!(" in {ns}")),
            None => s.push_str(" cluster-wide"),
        }
        s
    }
}

/// One entry of a Role's or ClusterRole's `rules`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

fn texts(node: &Node, key: &str) -> Vec<String> {
    node.get(key)
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(Node::scalar_text)
        .collect()
}

impl PolicyRule {
    /// Reads one element of `rules`; entries that are not scalars are left out.
    pub fn from_node(node: &Node) -> Self {
        PolicyRule {
            verbs: texts(node, "verbs"),
            api_groups: texts(node, "apiGroups"),
            resources: texts(node, "resources"),
            resource_names: texts(node, "resourceNames"),
            non_resource_urls: texts(node, "nonResourceURLs"),
        }
    }

    /// Whether this rule authorizes the request (the requester is not looked at).
    pub fn allows(&self, req: &RequestAttributes) -> bool {
        if !self.verbs.iter().any(|v| verb_matches(v, &req.verb)) {
            return false;
        }
        match &req.path {
            Some(path) => self
                .non_resource_urls
                .iter()
                .any(|u| non_resource_url_matches(u, path)),
            None => {
                let sub = req.subresource.as_deref();
                self.api_groups
                    .iter()
                    .any(|g| api_group_matches(g, &req.api_group))
                    && self
                        .resources
                        .iter()
                        .any(|r| resource_matches(r, &req.resource, sub))
                    && resource_name_matches(&self.resource_names, req.name.as_deref())
            }
        }
    }

    /// `get, list on pods, pods/log` or `get on /metrics`, for reports.
    pub fn summary(&self) -> String {
        let verbs = self.verbs.join(",");
        if !self.non_resource_urls.is_empty() {
            return format!("{verbs} {}", self.non_resource_urls.join(","));
        }
        let groups: Vec<&str> = self
            .api_groups
            .iter()
            .map(|g| if g.is_empty() { "core" } else { g.as_str() })
            .collect();
        let mut s = format!(
            "{verbs} {} [{}]",
            self.resources.join(","),
            groups.join(",")
        );
        if !self.resource_names.is_empty() {
            s.push_str(&format!(" names={}", self.resource_names.join(",")));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        PolicyRule {
            verbs: v(verbs),
            api_groups: v(groups),
            resources: v(resources),
            ..Default::default()
        }
    }

    #[test]
    fn wildcard_resource_matches_subresources_too() {
        let r = rule(&["get"], &[""], &["*"]);
        assert!(r.allows(&RequestAttributes::resource("get", "", "pods")));
        assert!(r.allows(&RequestAttributes::resource("get", "", "pods/log")));
        assert!(!r.allows(&RequestAttributes::resource("get", "apps", "deployments")));
    }

    #[test]
    fn star_slash_sub_matches_any_resources_subresource_only() {
        let r = rule(&["update"], &["*"], &["*/scale"]);
        assert!(r.allows(&RequestAttributes::resource(
            "update",
            "apps",
            "deployments/scale"
        )));
        assert!(r.allows(&RequestAttributes::resource(
            "update",
            "",
            "replicationcontrollers/scale"
        )));
        assert!(!r.allows(&RequestAttributes::resource(
            "update",
            "apps",
            "deployments"
        )));
        assert!(!r.allows(&RequestAttributes::resource(
            "update",
            "apps",
            "deployments/status"
        )));
    }

    #[test]
    fn resource_slash_star_is_literal() {
        // The authorizer has no `resource/*` form: it is compared as written.
        let r = rule(&["create"], &[""], &["pods/*"]);
        assert!(!r.allows(&RequestAttributes::resource("create", "", "pods/exec")));
        assert!(!r.allows(&RequestAttributes::resource("create", "", "pods")));
    }

    #[test]
    fn plain_resource_does_not_cover_its_subresources() {
        let r = rule(&["*"], &[""], &["pods"]);
        assert!(r.allows(&RequestAttributes::resource("create", "", "pods")));
        assert!(!r.allows(&RequestAttributes::resource("create", "", "pods/exec")));
        assert!(!r.allows(&RequestAttributes::resource("create", "apps", "pods")));
    }

    #[test]
    fn names_are_case_sensitive() {
        let r = rule(&["Get"], &["apps"], &["Deployments"]);
        assert!(!r.allows(&RequestAttributes::resource("get", "apps", "deployments")));
    }

    #[test]
    fn resource_names_need_a_named_request() {
        let mut r = rule(&["get", "list", "create"], &[""], &["configmaps"]);
        r.resource_names = vec!["a".into()];
        let get = RequestAttributes::resource("get", "", "configmaps");
        assert!(r.allows(&get.clone().named("a")));
        assert!(!r.allows(&get.clone().named("b")));
        assert!(!r.allows(&get));
        assert!(!r.allows(&RequestAttributes::resource("create", "", "configmaps")));
        assert!(!r.allows(&RequestAttributes::resource("list", "", "configmaps")));
    }

    #[test]
    fn non_resource_urls_with_prefix_star() {
        let r = PolicyRule {
            verbs: vec!["get".into()],
            non_resource_urls: vec!["/healthz/*".into(), "/metrics".into()],
            ..Default::default()
        };
        assert!(r.allows(&RequestAttributes::non_resource("get", "/healthz/etcd")));
        assert!(r.allows(&RequestAttributes::non_resource("get", "/healthz/")));
        assert!(!r.allows(&RequestAttributes::non_resource("get", "/healthz")));
        assert!(r.allows(&RequestAttributes::non_resource("get", "/metrics")));
        assert!(!r.allows(&RequestAttributes::non_resource("get", "/metrics/slis")));
        assert!(!r.allows(&RequestAttributes::non_resource("post", "/metrics")));
        // A resource rule never allows a non-resource request, nor the reverse.
        assert!(!r.allows(&RequestAttributes::resource("get", "", "metrics")));
        let all = rule(&["*"], &["*"], &["*"]);
        assert!(!all.allows(&RequestAttributes::non_resource("get", "/metrics")));
    }

    #[test]
    fn star_verb_in_a_request_matches_only_star_rules() {
        // who-can `*` asks for rules that grant every verb.
        let r = rule(&["get", "list"], &[""], &["pods"]);
        assert!(!r.allows(&RequestAttributes::resource("*", "", "pods")));
        let r = rule(&["*"], &[""], &["pods"]);
        assert!(r.allows(&RequestAttributes::resource("*", "", "pods")));
    }

    #[test]
    fn request_parses_subresource() {
        let r = RequestAttributes::resource("create", "", "pods/exec");
        assert_eq!(r.resource, "pods");
        assert_eq!(r.subresource.as_deref(), Some("exec"));
        assert_eq!(r.combined_resource(), "pods/exec");
        assert_eq!(
            r.in_namespace("prod").named("web").describe(),
            "create pods/exec named web in prod"
        );
    }
}
