//! The rule catalog and the engine.
//!
//! Each rule lives in its own file under a family module, declared with [`declare_rule!`]
//! (and [`rule_params!`](crate::rule_params!) for its parameters) so its docs, metadata and parameters sit
//! beside its logic. [`registry::all`] lists every rule in ID order; docs, `rules list`,
//! SARIF and config validation read it. Rules do no I/O: they see objects through [`Ctx`]
//! and report an object plus a field path to a [`Sink`].

pub mod context;
pub mod engine;
pub mod events;
pub mod params;
pub mod registry;
pub mod suppress;
pub mod util;

mod aws_ec2;
pub(crate) mod aws_iam;
mod aws_svc;
#[cfg(test)]
mod scan_test;

pub mod aud;
pub mod data;
pub mod det;
pub mod iam;
pub mod img;
pub mod irsa;
pub mod net;
pub mod node;
pub mod pod;
pub mod qos;
pub mod run;
pub mod sg;
pub mod ten;

pub use context::{Ctx, Params};
use eksguard_model::audit::AuditEvent;
pub use eksguard_model::workload::WORKLOAD_KINDS;
use eksguard_model::{Facts, FieldPath, Finding, Object, RuleMeta, Severity};
pub use engine::{Engine, EngineConfig, RunResult};
pub use events::{AuditEngine, EventCtx, EventFinding, EventHit, EventSink, EventWindow};

/// Gives access to a rule's static metadata; implemented by [`declare_rule!`].
pub trait Described {
    fn meta(&self) -> &'static RuleMeta;
}

/// A rule, as the registry holds it. [`declare_rule!`] implements it from the rule's
/// declared scope, so the scope in the metadata and the check the engines call cannot
/// disagree: a rule declared `Objects` must implement [`ObjectRule`], and so on.
pub trait Rule: Described + Sync + Send {
    fn dispatch(&self) -> Dispatch<'_>;
}

/// The check a rule implements, one variant per [`Scope`](eksguard_model::Scope).
pub enum Dispatch<'a> {
    /// Run by the [`Engine`] on each object whose kind the scope lists.
    Objects(&'a dyn ObjectRule),
    /// Run by the [`Engine`] once per run.
    Inventory(&'a dyn InventoryRule),
    /// Run by the [`AuditEngine`] on every event, in parallel (so it keeps no state).
    Events(&'a dyn EventRule),
    /// Run by the [`AuditEngine`]: its window sees the events one by one in input order.
    EventWindow(&'a dyn WindowRule),
}

pub trait ObjectRule: Sync + Send {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink);
}

pub trait InventoryRule: Sync + Send {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink);
}

pub trait EventRule: Sync + Send {
    fn check_event(&self, cx: &EventCtx<'_>, ev: &AuditEvent<'_>, out: &mut EventSink);
}

pub trait WindowRule: Sync + Send {
    /// The window for this run; `None` when the parameters leave the rule inactive.
    fn event_window(&self, cx: &EventCtx<'_>) -> Option<Box<dyn EventWindow>>;
}

/// Collects a rule's findings.
pub struct Sink {
    meta: &'static RuleMeta,
    findings: Vec<Finding>,
}

impl Sink {
    pub fn new(meta: &'static RuleMeta) -> Self {
        Sink {
            meta,
            findings: Vec::new(),
        }
    }

    /// Reports `obj` at `path` with the rule's default severity.
    pub fn report(&mut self, obj: &Object, path: FieldPath, message: impl Into<String>) {
        self.report_with(obj, path, self.meta.severity, message);
    }

    /// Reports with a severity other than the default (rules whose severity depends on
    /// what they find).
    pub fn report_with(
        &mut self,
        obj: &Object,
        path: FieldPath,
        severity: Severity,
        message: impl Into<String>,
    ) {
        self.report_facts(obj, path, severity, message, Facts::new());
    }

    /// Reports with named values beside the message, for reports that tabulate them.
    pub fn report_facts(
        &mut self,
        obj: &Object,
        path: FieldPath,
        severity: Severity,
        message: impl Into<String>,
        facts: Facts,
    ) {
        self.findings.push(Finding {
            rule: self.meta,
            severity,
            message: message.into(),
            object: obj.id,
            path,
            facts,
        });
    }

    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}

/// Declares a rule: a unit struct plus its [`RuleMeta`], with the doc comment as its docs.
/// The scope names the trait the rule implements (`Objects` → [`ObjectRule`],
/// `Inventory` → [`InventoryRule`], `Events` → [`EventRule`], `EventWindow` →
/// [`WindowRule`]); `params` names its [`rule_params!`](crate::rule_params!) struct.
///
/// ```ignore
/// declare_rule! {
///     /// Markdown docs.
///     pub HostNetwork {
///         id: "POD007", name: "host-network", severity: High,
///         data: [Kubernetes],
///         scope: Objects(WORKLOAD_KINDS),
///         // optional: kinds looked up across the inventory
///         reads: &["ServiceAccount"],
///         summary: "Pod shares the node's network namespace",
///         remediation: "Remove `hostNetwork: true`.",
///         // optional
///         params: Params,
///     }
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub $name:ident {
            id: $id:literal,
            name: $rname:literal,
            severity: $sev:ident,
            data: [$($data:ident),+ $(,)?],
            scope: $scope:ident $(($kinds:expr))?,
            $(reads: $reads:expr,)?
            summary: $summary:literal,
            remediation: $remediation:literal,
            $(params: $params:ty,)?
            $(guide: $guide:expr,)?
        }
    ) => {
        #[doc = concat!("`", $id, "` ", $rname, ": ", $summary)]
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl $name {
            pub const META: $crate::__private::RuleMeta = $crate::__private::RuleMeta {
                id: $id,
                name: $rname,
                severity: $crate::__private::Severity::$sev,
                data: $crate::__private::DataSet::of(&[$($crate::__private::Data::$data),+]),
                scope: $crate::__private::Scope::$scope $(($kinds))?,
                reads: $crate::__reads!($($reads)?),
                summary: $summary,
                remediation: $remediation,
                docs: concat!($($doc, "\n"),*),
                params: $crate::__params!($($params)?),
                guide: $crate::__reads!($($guide)?),
            };
        }

        impl $crate::Described for $name {
            fn meta(&self) -> &'static $crate::__private::RuleMeta {
                &Self::META
            }
        }

        impl $crate::Rule for $name {
            fn dispatch(&self) -> $crate::Dispatch<'_> {
                $crate::Dispatch::$scope(self)
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __params {
    () => {
        None
    };
    ($params:ty) => {
        Some(&$crate::__private::ParamSet {
            fields: <$params as $crate::params::RuleParams>::FIELDS,
            defaults: $crate::params::defaults::<$params>,
            check: $crate::params::check::<$params>,
        })
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __reads {
    () => {
        &[]
    };
    ($reads:expr) => {
        $reads
    };
}

#[doc(hidden)]
pub mod __private {
    pub use eksguard_model::{
        Data, DataSet, ParamKind, ParamMeta, ParamSet, RuleMeta, Scope, Severity,
    };
    pub use serde;
}
