//! Amazon Resource Names: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.

/// The parts of an ARN, borrowed from it. The resource keeps any further `:` or `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// `None` unless the text starts with `arn:` and has all six parts.
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }
}

/// The partition of a region (`aws`, `aws-cn`, `aws-us-gov`), for the ARNs built in it.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::{partition_of, Arn};

    #[test]
    fn partitions_of_regions() {
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("eu-central-1"), "aws");
    }

    #[test]
    fn splits_six_parts_and_keeps_the_resource_whole() {
        let a = Arn::parse("arn:aws-cn:eks:cn-north-1:111122223333:cluster/a:b").unwrap();
        assert_eq!(
            (a.partition, a.service, a.region, a.account, a.resource),
            ("aws-cn", "eks", "cn-north-1", "111122223333", "cluster/a:b")
        );
        assert!(Arn::parse("arn:aws:iam::111122223333").is_none());
        assert!(Arn::parse("urn:aws:iam::1:role/x").is_none());
    }
}
