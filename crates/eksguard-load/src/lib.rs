//! All input of eksguard. Files and directories are walked (honouring `.gitignore` inside a
//! git work tree, counting every file left out), each read is bounded ([`read_file`]),
//! each document is parsed into a position-carrying [`eksguard_model::Node`] tree, and
//! Kubernetes objects are collected into an [`eksguard_model::Inventory`]. Anything that
//! cannot be read becomes an [`eksguard_model::InputError`] and the run goes on.

pub mod audit;
#[cfg(feature = "aws")]
mod aws_api;
pub mod aws_json;
#[cfg(feature = "aws")]
pub mod aws_live;
#[cfg(feature = "aws")]
pub mod aws_request;
pub mod cloudtrail_events;
#[cfg(feature = "aws")]
pub mod cloudwatch_follow;
#[cfg(feature = "aws")]
pub mod cloudwatch_live;
#[cfg(feature = "aws")]
mod ec2_query;
#[cfg(feature = "aws")]
pub mod eks_token;
pub mod files;
#[cfg(feature = "aws")]
pub mod fleet_aws;
pub mod iac;
pub mod iam_json;
#[cfg(feature = "cluster")]
pub mod kube_live;
pub mod kubeconfig;
pub mod kubelet;
pub mod kustomize;
pub mod node;
pub mod rootfs;
#[cfg(feature = "aws")]
pub mod security_hub;
pub mod snapshot;

pub use eksguard_model::yaml::{parse_documents, Document, ParseLimits, YamlError};
pub use files::{load, read_file, LoadOptions, ReadError};
