//! Rule parameters: one struct per rule, declared with [`rule_params!`](crate::rule_params!), whose `Default`
//! is the documented default and whose deserialisation is the config check.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use eksguard_model::{ParamKind, ParamMeta, RuleMeta};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value as Json;

use crate::Params;

/// A rule's parameter struct; implemented by [`rule_params!`](crate::rule_params!).
pub trait RuleParams: DeserializeOwned + Serialize + Default + Send + Sync + 'static {
    /// Name, type and doc of each field, for docs and config errors.
    const FIELDS: &'static [ParamMeta];
}

/// The parameter type a Rust type stands for in `.eksguard.toml`.
pub trait ParamType {
    const KIND: ParamKind;
}

impl ParamType for i64 {
    const KIND: ParamKind = ParamKind::Integer;
}

impl ParamType for bool {
    const KIND: ParamKind = ParamKind::Boolean;
}

impl ParamType for String {
    const KIND: ParamKind = ParamKind::String;
}

impl ParamType for Vec<String> {
    const KIND: ParamKind = ParamKind::StringList;
}

/// The defaults of `P` as a JSON object (for [`eksguard_model::ParamSet::defaults`]).
pub fn defaults<P: RuleParams>() -> Json {
    serde_json::to_value(P::default()).unwrap_or(Json::Null)
}

/// Whether `table` reads into `P` (for [`eksguard_model::ParamSet::check`]).
pub fn check<P: RuleParams>(table: Json) -> Result<(), String> {
    serde_json::from_value::<P>(table)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Declares a rule's parameter struct: each field with its doc, type and default, written
/// once.
///
/// ```ignore
/// rule_params! {
///     pub struct Params {
///         /// Highest acceptable hop limit.
///         max_hop_limit: i64 = 1,
///     }
/// }
/// ```
#[macro_export]
macro_rules! rule_params {
    (
        $(#[doc = $sdoc:literal])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $field:ident: $ty:ty = $default:expr,
            )+
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $(
                $(#[doc = $doc])+
                pub $field: $ty,
            )+
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $($field: $default,)+
                }
            }
        }

        impl $crate::params::RuleParams for $name {
            const FIELDS: &'static [$crate::__private::ParamMeta] = &[$(
                $crate::__private::ParamMeta {
                    name: stringify!($field),
                    kind: <$ty as $crate::params::ParamType>::KIND,
                    doc: concat!($($doc, "\n"),+),
                },
            )+];
        }
    };
}

/// Parameter structs read from the configuration, each once, by rule ID.
#[derive(Default)]
pub struct ParamCache(RwLock<HashMap<&'static str, Arc<dyn Any + Send + Sync>>>);

impl ParamCache {
    /// The rule's parameters: its configured values over its defaults. A table that does
    /// not read into `P` gives the defaults; configuration loading has already refused
    /// such tables with the file's line.
    pub fn get<P: RuleParams>(&self, params: &Params, meta: &'static RuleMeta) -> Arc<P> {
        if let Some(p) = self
            .0
            .read()
            .ok()
            .and_then(|m| m.get(meta.id).cloned())
            .and_then(|p| p.downcast::<P>().ok())
        {
            return p;
        }
        let table = params
            .0
            .get(meta.id)
            .map(|t| Json::Object(t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()));
        let parsed = Arc::new(
            table
                .and_then(|t| serde_json::from_value::<P>(t).ok())
                .unwrap_or_default(),
        );
        if let Ok(mut m) = self.0.write() {
            m.insert(meta.id, parsed.clone());
        }
        parsed
    }
}

/// An owned copy of a list of strings, for list defaults.
pub fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::SkipNamespaces;
    use crate::qos::NamespaceWithoutLimitRange;
    use crate::Described;

    #[test]
    fn configured_values_override_defaults_and_are_read_once() {
        let meta = NamespaceWithoutLimitRange.meta();
        let mut params = Params::default();
        params.0.insert(
            meta.id.to_string(),
            [("skip_namespaces".to_string(), serde_json::json!(["batch"]))]
                .into_iter()
                .collect(),
        );
        let cache = ParamCache::default();
        let first = cache.get::<SkipNamespaces>(&params, meta);
        assert!(first.skips("batch") && !first.skips("kube-system"));
        assert!(Arc::ptr_eq(
            &first,
            &cache.get::<SkipNamespaces>(&params, meta)
        ));
        // Without configuration the struct's defaults apply, which the docs show.
        let fresh = ParamCache::default().get::<SkipNamespaces>(&Params::default(), meta);
        assert_eq!(*fresh, SkipNamespaces::default());
        assert_eq!(
            meta.params.unwrap().default_text("skip_namespaces"),
            r#"["kube-system", "kube-public", "kube-node-lease"]"#
        );
    }

    #[test]
    fn tables_are_checked_field_by_field() {
        let ok = check::<SkipNamespaces>(serde_json::json!({"skip_namespaces": ["a"]}));
        assert_eq!(ok, Ok(()));
        assert!(check::<SkipNamespaces>(serde_json::json!({"skip_namespaces": "a"})).is_err());
        assert!(check::<SkipNamespaces>(serde_json::json!({"skip": ["a"]})).is_err());
        let fields: Vec<(&str, ParamKind)> = SkipNamespaces::FIELDS
            .iter()
            .map(|f| (f.name, f.kind))
            .collect();
        assert_eq!(fields, [("skip_namespaces", ParamKind::StringList)]);
    }
}
