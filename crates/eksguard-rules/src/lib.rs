//! The rule catalog and the engine.
//!
//! Each rule lives in its own file under a family module, declared with [`declare_rule!`]
//! so its docs and metadata sit beside its logic. [`registry::all`] lists every rule in ID
//! order; docs, `rules list`, SARIF and config validation read it. Rules do no I/O: they
//! see objects through [`Ctx`] and report an object plus a field path to a [`Sink`].

pub mod context;
pub mod engine;
pub mod events;
pub mod registry;
pub mod suppress;
pub mod util;

mod aws_ec2;
pub(crate) mod aws_iam;

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
use eksguard_model::{FieldPath, Finding, Object, RuleMeta, Severity};
pub use engine::{Engine, EngineConfig, RunResult};
pub use events::{AuditEngine, EventCtx, EventFinding, EventHit, EventSink, EventWindow};

/// Gives access to a rule's static metadata; implemented by [`declare_rule!`].
pub trait Described {
    fn meta(&self) -> &'static RuleMeta;
}

/// A rule. The engine calls `check_object` for each object whose kind is in
/// `meta().kinds`, and `check_inventory` once per run for cross-object rules.
///
/// Audit-event rules (data source `A`) are run by the [`AuditEngine`] instead: it calls
/// `check_event` for every event (in parallel, so the rule keeps no state), and feeds the
/// events in input order to the [`EventWindow`] a rule returns from `event_window` when
/// it has to look across events.
pub trait Rule: Described + Sync + Send {
    fn check_object(&self, _cx: &Ctx<'_>, _obj: &Object, _out: &mut Sink) {}
    fn check_inventory(&self, _cx: &Ctx<'_>, _out: &mut Sink) {}
    fn check_event(&self, _cx: &EventCtx<'_>, _ev: &AuditEvent<'_>, _out: &mut EventSink) {}
    fn event_window(&self, _cx: &EventCtx<'_>) -> Option<Box<dyn EventWindow>> {
        None
    }
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
        self.findings.push(Finding {
            rule_id: self.meta.id,
            severity,
            message: message.into(),
            object: obj.id,
            path,
        });
    }

    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}

/// Declares a rule: a unit struct plus its [`RuleMeta`], with the doc comment as its docs.
///
/// ```ignore
/// declare_rule! {
///     /// Markdown docs.
///     pub HostNetwork {
///         id: "POD007", name: "host-network", severity: High, sources: "K",
///         kinds: WORKLOAD_KINDS,
///         // optional: kinds looked up across the inventory
///         reads: &["ServiceAccount"],
///         summary: "Pod shares the node's network namespace",
///         remediation: "Remove `hostNetwork: true`.",
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
            sources: $src:literal,
            kinds: $kinds:expr,
            $(reads: $reads:expr,)?
            summary: $summary:literal,
            remediation: $remediation:literal,
            $(params: [$($param:expr),* $(,)?],)?
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
                sources: $src,
                kinds: $kinds,
                reads: $crate::__reads!($($reads)?),
                summary: $summary,
                remediation: $remediation,
                docs: concat!($($doc, "\n"),*),
                params: &[$($($param),*)?],
            };
        }

        impl $crate::Described for $name {
            fn meta(&self) -> &'static $crate::__private::RuleMeta {
                &Self::META
            }
        }
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
    pub use eksguard_model::{ParamKind, ParamMeta, RuleMeta, Severity};
}
