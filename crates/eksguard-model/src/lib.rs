//! Pure data for eksguard: no I/O, no async.
//!
//! Every input becomes an [`Object`] whose [`Node`] tree keeps the line and column of each
//! field, so a rule can name a [`FieldPath`] and a reporter can turn it into a file position
//! late, pointing at the nearest existing ancestor when the field itself is absent.
//! Text parsing ([`yaml`]) lives here too: it is pure, and rules need it for YAML embedded
//! in strings (the aws-auth ConfigMap).

pub mod arn;
pub mod audit;
pub mod aws_auth;
pub mod aws_kinds;
pub mod date;
pub mod encoding;
pub mod finding;
pub mod guide;
pub mod hash;
pub mod iam_policy;
pub mod inventory;
pub mod kinds;
pub mod node;
pub mod object;
pub mod path;
pub mod podsec;
pub mod rbac;
pub mod rule;
pub mod sanitize;
pub mod selector;
pub mod suggest;
pub mod wildcard;
pub mod workload;
pub mod yaml;

pub use audit::{AuditEvent, AuditParseError, AuditStats, EventSummary};
pub use finding::{fact, FactValue, Facts, Finding, Severity, SuppressionNote, SuppressionSource};
pub use inventory::{FilesSkipped, InputError, Inventory};
pub use node::{Node, Pos, Value};
pub use object::{IacOrigin, Object, ObjectId, ResourceRef, Source};
pub use path::{FieldPath, Seg};
pub use rule::{Data, DataSet, ParamKind, ParamMeta, ParamSet, RuleMeta, Scope};
pub use workload::{ContainerKind, ContainerView, PodSpecView};
