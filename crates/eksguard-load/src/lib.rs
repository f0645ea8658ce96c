//! Offline input of eksguard. Files and directories are walked (honouring `.gitignore`
//! inside a git work tree, counting every file left out), each read is bounded
//! ([`read_file`]), each document is parsed into a position-carrying
//! [`eksguard_model::Node`] tree, and Kubernetes objects are collected into an
//! [`eksguard_model::Inventory`]. Anything that cannot be read becomes an
//! [`eksguard_model::InputError`] and the run goes on.
//!
//! Nothing here opens a network connection: the live readers (Kubernetes and AWS APIs)
//! are in `eksguard-live`, which parses what they return with the readers of this crate.
//!
//! Which reader takes a file or a document is decided in one place, [`format`]. The
//! modules depend on each other one way, from the bottom up:
//!
//! * [`read`]: bounded reads of one file, display names;
//! * readers of one kind of input: [`aws_json`] (over [`iam_json`] and
//!   [`cloudtrail_events`], all over [`aws_shape`]),
//!   [`snapshot`], [`iac`], [`rootfs`] then [`kubeconfig`], [`audit`];
//! * [`format`]: the table from a file name or a document to its reader;
//! * [`files`]: walking paths and loading what [`format`] recognises;
//! * readers that load files themselves: [`kustomize`], [`kubelet`] then [`node`].

pub mod audit;
pub mod aws_json;
pub mod aws_shape;
pub mod cloudtrail_events;
pub mod files;
pub mod format;
pub mod iac;
pub mod iam_json;
pub mod kubeconfig;
pub mod kubelet;
pub mod kustomize;
pub mod node;
pub mod read;
pub mod rootfs;
pub mod snapshot;
pub mod walk;

pub use eksguard_model::yaml::{parse_documents, Document, ParseLimits, YamlError};
pub use files::LoadOptions;
pub use read::{read_file, ReadError};
pub use walk::load;
