//! The three EC2 calls of the live reader, over the EC2 Query API: a form-encoded POST
//! signed with SigV4, an XML answer rewritten as the JSON `aws ec2 describe-*` prints.
//!
//! The generated EC2 SDK client covers hundreds of operations and was most of the build
//! time of the binary; these calls need a signer, an HTTPS client and a table of the
//! fields the rules read. Fields not in the tables (user data above all: a bootstrap
//! script that may hold secrets) are never copied.

use std::borrow::Cow;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value as Json};

use crate::aws_request::{AwsError, Call, SignedClient};

const API_VERSION: &str = "2016-11-15";
const MAX_DEPTH: usize = 64;
/// A server that hands out tokens forever must not hold the scan forever.
const MAX_PAGES: usize = 1_000;
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// What failed, with the code EC2 sent when it sent one (`InvalidGroup.NotFound`).
pub(crate) type Ec2Error = AwsError;

pub(crate) struct Ec2Client {
    client: SignedClient,
}

impl Ec2Client {
    /// A client from the shared SDK configuration: its credential chain, region and
    /// endpoint override. A client that cannot be built fails each call with the reason.
    pub(crate) fn new(conf: &aws_config::SdkConfig) -> Self {
        Ec2Client {
            client: SignedClient::new(conf, "ec2", "AWS_ENDPOINT_URL_EC2"),
        }
    }

    pub(crate) async fn describe_security_groups(
        &self,
        ids: &[String],
    ) -> Result<Vec<Json>, Ec2Error> {
        self.pages(
            "DescribeSecurityGroups",
            numbered("GroupId", ids),
            "securityGroupInfo",
            &SECURITY_GROUP,
        )
        .await
    }

    pub(crate) async fn describe_subnets(&self, ids: &[String]) -> Result<Vec<Json>, Ec2Error> {
        self.pages(
            "DescribeSubnets",
            numbered("SubnetId", ids),
            "subnetSet",
            &SUBNET,
        )
        .await
    }

    /// The regions enabled for the account (`RegionName`, `OptInStatus`).
    pub(crate) async fn describe_regions(&self) -> Result<Vec<Json>, Ec2Error> {
        self.pages("DescribeRegions", Vec::new(), "regionInfo", &REGION)
            .await
    }

    /// The versions of one template, named by ID (`is_id`) or by name.
    pub(crate) async fn describe_launch_template_versions(
        &self,
        key: &str,
        is_id: bool,
        versions: &[String],
    ) -> Result<Vec<Json>, Ec2Error> {
        let by = if is_id {
            "LaunchTemplateId"
        } else {
            "LaunchTemplateName"
        };
        let mut params = vec![(by.to_string(), key.to_string())];
        params.extend(numbered("LaunchTemplateVersion", versions));
        self.pages(
            "DescribeLaunchTemplateVersions",
            params,
            "launchTemplateVersionSet",
            &LAUNCH_TEMPLATE_VERSION,
        )
        .await
    }

    /// Flow logs of the given resources (VPC, subnet or interface IDs).
    pub(crate) async fn describe_flow_logs(
        &self,
        resources: &[String],
    ) -> Result<Vec<Json>, Ec2Error> {
        let mut params = vec![("Filter.1.Name".to_string(), "resource-id".to_string())];
        params.extend(numbered("Filter.1.Value", resources));
        self.pages("DescribeFlowLogs", params, "flowLogSet", &FLOW_LOG)
            .await
    }

    /// The endpoints of one VPC.
    pub(crate) async fn describe_vpc_endpoints(&self, vpc: &str) -> Result<Vec<Json>, Ec2Error> {
        let params = vec![
            ("Filter.1.Name".to_string(), "vpc-id".to_string()),
            ("Filter.1.Value.1".to_string(), vpc.to_string()),
        ];
        self.pages(
            "DescribeVpcEndpoints",
            params,
            "vpcEndpointSet",
            &VPC_ENDPOINT,
        )
        .await
    }

    pub(crate) async fn describe_instance_types(
        &self,
        types: &[String],
    ) -> Result<Vec<Json>, Ec2Error> {
        self.pages(
            "DescribeInstanceTypes",
            numbered("InstanceType", types),
            "instanceTypeSet",
            &INSTANCE_TYPE,
        )
        .await
    }

    async fn pages(
        &self,
        action: &str,
        params: Vec<(String, String)>,
        list: &str,
        item: &Shape,
    ) -> Result<Vec<Json>, Ec2Error> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut page_params = params.clone();
            if let Some(t) = &token {
                page_params.push(("NextToken".into(), t.clone()));
            }
            let call = Call {
                method: "POST",
                path: "/",
                content_type: FORM,
                body: form_body(action, &page_params).into_bytes(),
            };
            let body = self.client.send(&call, parse_error).await?;
            let page = parse_page(&body, list, item)?;
            items.extend(page.items);
            match page.next_token {
                Some(t) if !t.is_empty() && Some(&t) != token.as_ref() => token = Some(t),
                _ => return Ok(items),
            }
        }
        Err(Ec2Error::local(format!(
            "more than {MAX_PAGES} pages of results"
        )))
    }
}

/// `GroupId.1=a&GroupId.2=b`: how the EC2 protocol writes a list.
fn numbered(name: &str, values: &[String]) -> Vec<(String, String)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("{name}.{}", i + 1), v.clone()))
        .collect()
}

/// RFC 3986 unreserved characters stay; everything else is percent-encoded.
pub(crate) const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn form_body(action: &str, params: &[(String, String)]) -> String {
    let mut body = format!("Action={action}&Version={API_VERSION}");
    for (k, v) in params {
        body.push('&');
        body.extend(utf8_percent_encode(k, QUERY_VALUE));
        body.push('=');
        body.extend(utf8_percent_encode(v, QUERY_VALUE));
    }
    body
}

/// The fields of an answer that are copied, in the CLI's names and types.
pub(crate) enum Shape {
    Str,
    Int,
    Bool,
    /// A timestamp, printed as the CLI prints it (`2024-05-01T10:00:00+00:00`).
    Time,
    Struct(&'static [Field]),
    /// A list whose entries are elements of the given name.
    List(&'static str, &'static Shape),
}

pub(crate) struct Field {
    xml: &'static str,
    json: &'static str,
    shape: &'static Shape,
}

pub(crate) const fn f(xml: &'static str, json: &'static str, shape: &'static Shape) -> Field {
    Field { xml, json, shape }
}

pub(crate) static STR: Shape = Shape::Str;
pub(crate) static INT: Shape = Shape::Int;
pub(crate) static BOOL: Shape = Shape::Bool;
pub(crate) static TIME: Shape = Shape::Time;
static STRS: Shape = Shape::List("item", &STR);

static TAGS: Shape = Shape::List(
    "item",
    &Shape::Struct(&[f("key", "Key", &STR), f("value", "Value", &STR)]),
);

static REGION: Shape = Shape::Struct(&[
    f("regionName", "RegionName", &STR),
    f("optInStatus", "OptInStatus", &STR),
]);

static PERMISSION: Shape = Shape::Struct(&[
    f("ipProtocol", "IpProtocol", &STR),
    f("fromPort", "FromPort", &INT),
    f("toPort", "ToPort", &INT),
    f(
        "groups",
        "UserIdGroupPairs",
        &Shape::List(
            "item",
            &Shape::Struct(&[
                f("description", "Description", &STR),
                f("groupId", "GroupId", &STR),
                f("groupName", "GroupName", &STR),
                f("userId", "UserId", &STR),
                f("vpcId", "VpcId", &STR),
            ]),
        ),
    ),
    f(
        "ipRanges",
        "IpRanges",
        &Shape::List(
            "item",
            &Shape::Struct(&[
                f("cidrIp", "CidrIp", &STR),
                f("description", "Description", &STR),
            ]),
        ),
    ),
    f(
        "ipv6Ranges",
        "Ipv6Ranges",
        &Shape::List(
            "item",
            &Shape::Struct(&[
                f("cidrIpv6", "CidrIpv6", &STR),
                f("description", "Description", &STR),
            ]),
        ),
    ),
    f(
        "prefixListIds",
        "PrefixListIds",
        &Shape::List(
            "item",
            &Shape::Struct(&[
                f("prefixListId", "PrefixListId", &STR),
                f("description", "Description", &STR),
            ]),
        ),
    ),
]);

static SECURITY_GROUP: Shape = Shape::Struct(&[
    f("groupDescription", "Description", &STR),
    f("groupName", "GroupName", &STR),
    f(
        "ipPermissions",
        "IpPermissions",
        &Shape::List("item", &PERMISSION),
    ),
    f("ownerId", "OwnerId", &STR),
    f("groupId", "GroupId", &STR),
    f(
        "ipPermissionsEgress",
        "IpPermissionsEgress",
        &Shape::List("item", &PERMISSION),
    ),
    f("tagSet", "Tags", &TAGS),
    f("vpcId", "VpcId", &STR),
    f("securityGroupArn", "SecurityGroupArn", &STR),
]);

static SUBNET: Shape = Shape::Struct(&[
    f("availabilityZone", "AvailabilityZone", &STR),
    f("availabilityZoneId", "AvailabilityZoneId", &STR),
    f("availableIpAddressCount", "AvailableIpAddressCount", &INT),
    f("cidrBlock", "CidrBlock", &STR),
    f("defaultForAz", "DefaultForAz", &BOOL),
    f("mapPublicIpOnLaunch", "MapPublicIpOnLaunch", &BOOL),
    f("state", "State", &STR),
    f("subnetId", "SubnetId", &STR),
    f("vpcId", "VpcId", &STR),
    f("ownerId", "OwnerId", &STR),
    f(
        "assignIpv6AddressOnCreation",
        "AssignIpv6AddressOnCreation",
        &BOOL,
    ),
    f("tagSet", "Tags", &TAGS),
    f("subnetArn", "SubnetArn", &STR),
]);

static TEMPLATE_DATA: Shape = Shape::Struct(&[
    f(
        "iamInstanceProfile",
        "IamInstanceProfile",
        &Shape::Struct(&[f("arn", "Arn", &STR), f("name", "Name", &STR)]),
    ),
    f(
        "blockDeviceMappingSet",
        "BlockDeviceMappings",
        &Shape::List(
            "item",
            &Shape::Struct(&[
                f("deviceName", "DeviceName", &STR),
                f(
                    "ebs",
                    "Ebs",
                    &Shape::Struct(&[
                        f("encrypted", "Encrypted", &BOOL),
                        f("deleteOnTermination", "DeleteOnTermination", &BOOL),
                        f("kmsKeyId", "KmsKeyId", &STR),
                        f("volumeSize", "VolumeSize", &INT),
                        f("volumeType", "VolumeType", &STR),
                    ]),
                ),
            ]),
        ),
    ),
    f(
        "networkInterfaceSet",
        "NetworkInterfaces",
        &Shape::List(
            "item",
            &Shape::Struct(&[
                f(
                    "associatePublicIpAddress",
                    "AssociatePublicIpAddress",
                    &BOOL,
                ),
                f("deleteOnTermination", "DeleteOnTermination", &BOOL),
                f("deviceIndex", "DeviceIndex", &INT),
                f("groupSet", "Groups", &Shape::List("groupId", &STR)),
                f("subnetId", "SubnetId", &STR),
            ]),
        ),
    ),
    f("imageId", "ImageId", &STR),
    f("instanceType", "InstanceType", &STR),
    f("keyName", "KeyName", &STR),
    f("securityGroupIdSet", "SecurityGroupIds", &STRS),
    f("securityGroupSet", "SecurityGroups", &STRS),
    f(
        "metadataOptions",
        "MetadataOptions",
        &Shape::Struct(&[
            f("state", "State", &STR),
            f("httpTokens", "HttpTokens", &STR),
            f("httpPutResponseHopLimit", "HttpPutResponseHopLimit", &INT),
            f("httpEndpoint", "HttpEndpoint", &STR),
            f("httpProtocolIpv6", "HttpProtocolIpv6", &STR),
            f("instanceMetadataTags", "InstanceMetadataTags", &STR),
        ]),
    ),
]);

static FLOW_LOG: Shape = Shape::Struct(&[
    f("creationTime", "CreationTime", &TIME),
    f("deliverLogsErrorMessage", "DeliverLogsErrorMessage", &STR),
    f("deliverLogsPermissionArn", "DeliverLogsPermissionArn", &STR),
    f("deliverLogsStatus", "DeliverLogsStatus", &STR),
    f("flowLogId", "FlowLogId", &STR),
    f("flowLogStatus", "FlowLogStatus", &STR),
    f("logGroupName", "LogGroupName", &STR),
    f("resourceId", "ResourceId", &STR),
    f("trafficType", "TrafficType", &STR),
    f("logDestinationType", "LogDestinationType", &STR),
    f("logDestination", "LogDestination", &STR),
    f("logFormat", "LogFormat", &STR),
    f("tagSet", "Tags", &TAGS),
    f("maxAggregationInterval", "MaxAggregationInterval", &INT),
]);

static VPC_ENDPOINT: Shape = Shape::Struct(&[
    f("vpcEndpointId", "VpcEndpointId", &STR),
    f("vpcEndpointType", "VpcEndpointType", &STR),
    f("vpcId", "VpcId", &STR),
    f("serviceName", "ServiceName", &STR),
    f("state", "State", &STR),
    // JSON text, as the CLI prints it; the reader parses it.
    f("policyDocument", "PolicyDocument", &STR),
    f("routeTableIdSet", "RouteTableIds", &STRS),
    f("subnetIdSet", "SubnetIds", &STRS),
    f(
        "groupSet",
        "Groups",
        &Shape::List(
            "item",
            &Shape::Struct(&[
                f("groupId", "GroupId", &STR),
                f("groupName", "GroupName", &STR),
            ]),
        ),
    ),
    f("privateDnsEnabled", "PrivateDnsEnabled", &BOOL),
    f("creationTimestamp", "CreationTimestamp", &TIME),
    f("tagSet", "Tags", &TAGS),
    f("ownerId", "OwnerId", &STR),
]);

static INSTANCE_TYPE: Shape = Shape::Struct(&[
    f("instanceType", "InstanceType", &STR),
    f("currentGeneration", "CurrentGeneration", &BOOL),
    f(
        "networkInfo",
        "NetworkInfo",
        &Shape::Struct(&[
            f("networkPerformance", "NetworkPerformance", &STR),
            f("maximumNetworkInterfaces", "MaximumNetworkInterfaces", &INT),
            f(
                "encryptionInTransitSupported",
                "EncryptionInTransitSupported",
                &BOOL,
            ),
            f("enaSupport", "EnaSupport", &STR),
        ]),
    ),
]);

static LAUNCH_TEMPLATE_VERSION: Shape = Shape::Struct(&[
    f("launchTemplateId", "LaunchTemplateId", &STR),
    f("launchTemplateName", "LaunchTemplateName", &STR),
    f("versionNumber", "VersionNumber", &INT),
    f("versionDescription", "VersionDescription", &STR),
    f("createTime", "CreateTime", &TIME),
    f("createdBy", "CreatedBy", &STR),
    f("defaultVersion", "DefaultVersion", &BOOL),
    f("launchTemplateData", "LaunchTemplateData", &TEMPLATE_DATA),
]);

/// An XML element: its local name, its text, its child elements.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
}

impl Element {
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

pub(crate) fn parse_xml(body: &[u8]) -> Result<Element, String> {
    let mut reader = Reader::from_reader(body);
    let mut stack = vec![Element::default()];
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => {
                if stack.len() > MAX_DEPTH {
                    return Err(format!("XML nested deeper than {MAX_DEPTH} levels"));
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push(Element {
                    name,
                    ..Element::default()
                });
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if let Some(top) = stack.last_mut() {
                    top.children.push(Element {
                        name,
                        ..Element::default()
                    });
                }
            }
            Event::End(_) => {
                let done = stack.pop().filter(|_| !stack.is_empty());
                match (done, stack.last_mut()) {
                    (Some(done), Some(parent)) => parent.children.push(done),
                    _ => return Err("unbalanced XML".into()),
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| format!("bad text in XML: {e}"))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Cow::Owned(c.to_string()),
                    _ => match r.decode().as_deref() {
                        Ok("amp") => Cow::Borrowed("&"),
                        Ok("lt") => Cow::Borrowed("<"),
                        Ok("gt") => Cow::Borrowed(">"),
                        Ok("quot") => Cow::Borrowed("\""),
                        Ok("apos") => Cow::Borrowed("'"),
                        _ => return Err("unknown entity in XML".into()),
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    match (stack.pop(), stack.is_empty()) {
        (Some(mut doc), true) if doc.children.len() == 1 => Ok(doc.children.remove(0)),
        _ => Err("the XML answer has no single root element".into()),
    }
}

struct Page {
    items: Vec<Json>,
    next_token: Option<String>,
}

fn parse_page(body: &[u8], list: &str, item: &Shape) -> Result<Page, Ec2Error> {
    let root = parse_xml(body).map_err(Ec2Error::local)?;
    let items = root
        .child(list)
        .map(|l| {
            l.children
                .iter()
                .filter(|c| c.name == "item")
                .filter_map(|c| convert(c, item))
                .collect()
        })
        .unwrap_or_default();
    let next_token = root.child("nextToken").map(|t| t.text.trim().to_string());
    Ok(Page { items, next_token })
}

/// `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>…`
fn parse_error(body: &[u8]) -> Option<Ec2Error> {
    let root = parse_xml(body).ok()?;
    let error = root.child("Errors").and_then(|e| e.child("Error"))?;
    let code = error.child("Code").map(|c| c.text.trim().to_string());
    let message = error
        .child("Message")
        .map(|m| m.text.trim().to_string())
        .unwrap_or_default();
    code.as_ref()?;
    Some(Ec2Error::coded(code, message))
}

/// The JSON of one element, or `None` for a value that is absent or not of its type (the
/// CLI leaves such fields out).
pub(crate) fn convert(el: &Element, shape: &Shape) -> Option<Json> {
    let text = el.text.trim();
    match shape {
        Shape::Str => Some(Json::String(text.to_string())),
        Shape::Int => text.parse::<i64>().ok().map(Json::from),
        Shape::Bool => match text {
            "true" => Some(Json::Bool(true)),
            "false" => Some(Json::Bool(false)),
            _ => None,
        },
        Shape::Time => Some(Json::String(cli_time(text))),
        Shape::Struct(fields) => {
            let mut out = Map::new();
            for field in *fields {
                if let Some(v) = el.child(field.xml).and_then(|c| convert(c, field.shape)) {
                    out.insert(field.json.to_string(), v);
                }
            }
            Some(Json::Object(out))
        }
        Shape::List(member, item) => Some(Json::Array(
            el.children
                .iter()
                .filter(|c| c.name == *member)
                .filter_map(|c| convert(c, item))
                .collect(),
        )),
    }
}

/// EC2's `2024-05-01T10:00:00.000Z` as the CLI prints it: `2024-05-01T10:00:00+00:00`,
/// with microseconds when there are any.
pub(crate) fn cli_time(text: &str) -> String {
    let Some(base) = text.strip_suffix('Z') else {
        return text.to_string();
    };
    match base.split_once('.') {
        Some((secs, frac)) if frac.bytes().any(|b| b != b'0') => {
            format!("{secs}.{:0<6.6}+00:00", frac)
        }
        Some((secs, _)) => format!("{secs}+00:00"),
        None => format!("{base}+00:00"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn network_outputs_become_cli_json() {
        let xml = br#"<DescribeVpcEndpointsResponse><vpcEndpointSet><item>
  <vpcEndpointId>vpce-1</vpcEndpointId><vpcEndpointType>Interface</vpcEndpointType>
  <vpcId>vpc-1</vpcId><serviceName>com.amazonaws.eu-west-1.ecr.api</serviceName>
  <state>available</state>
  <policyDocument>{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"}]}</policyDocument>
  <subnetIdSet><item>subnet-1</item></subnetIdSet>
</item></vpcEndpointSet></DescribeVpcEndpointsResponse>"#;
        let page = parse_page(xml, "vpcEndpointSet", &VPC_ENDPOINT).unwrap();
        assert_eq!(page.items[0]["VpcEndpointId"], "vpce-1");
        assert_eq!(page.items[0]["SubnetIds"], json!(["subnet-1"]));
        assert!(page.items[0]["PolicyDocument"]
            .as_str()
            .unwrap()
            .starts_with("{\"Statement\""));
        let xml = br#"<DescribeFlowLogsResponse><flowLogSet><item>
  <flowLogId>fl-1</flowLogId><flowLogStatus>ACTIVE</flowLogStatus>
  <deliverLogsStatus>SUCCESS</deliverLogsStatus><resourceId>vpc-1</resourceId>
  <trafficType>REJECT</trafficType>
</item></flowLogSet></DescribeFlowLogsResponse>"#;
        let page = parse_page(xml, "flowLogSet", &FLOW_LOG).unwrap();
        assert_eq!(
            page.items,
            vec![json!({"FlowLogId": "fl-1", "FlowLogStatus": "ACTIVE",
                "DeliverLogsStatus": "SUCCESS", "ResourceId": "vpc-1", "TrafficType": "REJECT"})]
        );
        let xml = br#"<DescribeInstanceTypesResponse><instanceTypeSet><item>
  <instanceType>t3.large</instanceType>
  <networkInfo><encryptionInTransitSupported>false</encryptionInTransitSupported></networkInfo>
</item></instanceTypeSet></DescribeInstanceTypesResponse>"#;
        let page = parse_page(xml, "instanceTypeSet", &INSTANCE_TYPE).unwrap();
        assert_eq!(
            page.items[0]["NetworkInfo"]["EncryptionInTransitSupported"],
            json!(false)
        );
    }

    #[test]
    fn security_groups_page_becomes_cli_json() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-1</requestId>
  <securityGroupInfo>
    <item>
      <ownerId>111122223333</ownerId>
      <groupId>sg-1</groupId>
      <groupName>nodes</groupName>
      <groupDescription>a &amp; b &#x3c;c&#62;</groupDescription>
      <vpcId>vpc-1</vpcId>
      <ipPermissions>
        <item>
          <ipProtocol>tcp</ipProtocol>
          <fromPort>22</fromPort>
          <toPort>22</toPort>
          <groups><item><groupId>sg-2</groupId><userId>1</userId></item></groups>
          <ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges>
          <ipv6Ranges/>
          <prefixListIds/>
        </item>
      </ipPermissions>
      <ipPermissionsEgress/>
      <tagSet><item><key>Name</key><value>n</value></item></tagSet>
    </item>
  </securityGroupInfo>
  <nextToken>t-2</nextToken>
</DescribeSecurityGroupsResponse>"#;
        let page = parse_page(xml, "securityGroupInfo", &SECURITY_GROUP).unwrap();
        assert_eq!(page.next_token.as_deref(), Some("t-2"));
        assert_eq!(
            page.items,
            vec![json!({
                "Description": "a & b <c>",
                "GroupName": "nodes",
                "IpPermissions": [{
                    "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                    "UserIdGroupPairs": [{"GroupId": "sg-2", "UserId": "1"}],
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                    "Ipv6Ranges": [], "PrefixListIds": []
                }],
                "OwnerId": "111122223333",
                "GroupId": "sg-1",
                "IpPermissionsEgress": [],
                "Tags": [{"Key": "Name", "Value": "n"}],
                "VpcId": "vpc-1"
            })]
        );
    }

    #[test]
    fn launch_template_keeps_imds_and_groups_and_drops_user_data() {
        let xml = br#"<DescribeLaunchTemplateVersionsResponse>
  <launchTemplateVersionSet>
    <item>
      <launchTemplateId>lt-1</launchTemplateId>
      <versionNumber>3</versionNumber>
      <createTime>2024-05-01T10:00:00.000Z</createTime>
      <defaultVersion>true</defaultVersion>
      <launchTemplateData>
        <userData>c2VjcmV0</userData>
        <metadataOptions>
          <httpTokens>optional</httpTokens>
          <httpPutResponseHopLimit>2</httpPutResponseHopLimit>
        </metadataOptions>
        <networkInterfaceSet><item>
          <deviceIndex>0</deviceIndex>
          <groupSet><groupId>sg-9</groupId></groupSet>
          <subnetId>subnet-9</subnetId>
        </item></networkInterfaceSet>
        <securityGroupIdSet><item>sg-8</item></securityGroupIdSet>
      </launchTemplateData>
    </item>
  </launchTemplateVersionSet>
</DescribeLaunchTemplateVersionsResponse>"#;
        let page = parse_page(xml, "launchTemplateVersionSet", &LAUNCH_TEMPLATE_VERSION).unwrap();
        assert_eq!(page.next_token, None);
        assert_eq!(
            page.items,
            vec![json!({
                "LaunchTemplateId": "lt-1",
                "VersionNumber": 3,
                "CreateTime": "2024-05-01T10:00:00+00:00",
                "DefaultVersion": true,
                "LaunchTemplateData": {
                    "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 2},
                    "NetworkInterfaces": [{"DeviceIndex": 0, "Groups": ["sg-9"], "SubnetId": "subnet-9"}],
                    "SecurityGroupIds": ["sg-8"]
                }
            })]
        );
    }

    #[test]
    fn error_answers_give_code_and_message() {
        let xml = br#"<?xml version="1.0"?>
<Response><Errors><Error><Code>InvalidGroup.NotFound</Code><Message>The security group 'sg-x' does not exist</Message></Error></Errors><RequestID>1</RequestID></Response>"#;
        let e = parse_error(xml).unwrap();
        assert_eq!(e.code.as_deref(), Some("InvalidGroup.NotFound"));
        assert_eq!(
            e.to_string(),
            "InvalidGroup.NotFound: The security group 'sg-x' does not exist"
        );
        assert_eq!(parse_error(b"<html>gateway timeout</html>"), None);
    }

    #[test]
    fn hostile_xml_is_an_error_not_a_panic() {
        let deep = "<a>".repeat(10_000);
        assert!(parse_xml(deep.as_bytes()).is_err());
        for bad in [
            &b"<a><b></a>"[..],
            b"</a>",
            b"<a>&bogus;</a>",
            b"",
            b"<a/><b/>",
            b"\xff\xfe<",
        ] {
            assert!(
                parse_xml(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // Wrong types are left out, as the CLI leaves out what is absent.
        let el = parse_xml(b"<x><fromPort>many</fromPort></x>").unwrap();
        assert_eq!(convert(&el, &PERMISSION), Some(json!({})));
    }

    #[test]
    fn lists_and_values_are_form_encoded() {
        let body = form_body(
            "DescribeSubnets",
            &numbered("SubnetId", &["subnet-1".into(), "a b&c=d".into()]),
        );
        assert_eq!(
            body,
            "Action=DescribeSubnets&Version=2016-11-15&SubnetId.1=subnet-1&SubnetId.2=a%20b%26c%3Dd"
        );
        assert_eq!(
            crate::aws_request::default_endpoint("ec2", "cn-north-1"),
            "https://ec2.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn times_as_the_cli_prints_them() {
        assert_eq!(
            cli_time("2024-05-01T10:00:00.000Z"),
            "2024-05-01T10:00:00+00:00"
        );
        assert_eq!(
            cli_time("2024-05-01T10:00:00.5Z"),
            "2024-05-01T10:00:00.500000+00:00"
        );
        assert_eq!(
            cli_time("2024-05-01T10:00:00Z"),
            "2024-05-01T10:00:00+00:00"
        );
    }
}
