//! Live input of eksguard: the Kubernetes API (feature `cluster`) and the AWS APIs (feature
//! `aws`: EKS, IAM, EC2 and the services the cluster-level rules read, CloudWatch Logs
//! for audit events, Security Hub as a sink for findings). What the APIs return is parsed
//! by the offline readers of `eksguard-load`, so a live read and a file or snapshot of
//! the same data give the same objects.
//!
//! Modules, from the bottom up: [`aws_request`] (a SigV4-signed HTTPS client), then
//! `ec2_query` (EC2's Query API) and `aws_api` (EKS, IAM and CloudWatch Logs) over it;
//! [`aws_live`] (the cluster read); [`cloudwatch_live`] then [`cloudwatch_follow`]; [`security_hub`];
//! [`fleet_aws`]; [`kube_live`]; [`eks_token`] (a cluster's token, over both).

#[cfg(feature = "aws")]
mod aws_api;
#[cfg(feature = "aws")]
pub mod aws_live;
#[cfg(feature = "aws")]
pub mod aws_request;
#[cfg(feature = "aws")]
pub mod cloudwatch_follow;
#[cfg(feature = "aws")]
pub mod cloudwatch_live;
#[cfg(feature = "aws")]
mod ec2_query;
#[cfg(feature = "aws")]
pub mod eks_token;
#[cfg(feature = "aws")]
pub mod fleet_aws;
#[cfg(feature = "cluster")]
pub mod kube_live;
#[cfg(feature = "aws")]
pub mod security_hub;
