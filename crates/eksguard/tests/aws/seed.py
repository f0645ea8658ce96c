"""Seeds an AWS-compatible endpoint (moto's server) with two EKS clusters for the live
tests: `bad-SUFFIX`, which breaks the E/I/C rules, and `good-SUFFIX`, which does not.
Prints what it made as one JSON object.

usage: seed.py ENDPOINT_URL SUFFIX
"""

import json
import sys

import boto3

endpoint, suffix = sys.argv[1], sys.argv[2]
region = "us-east-1"


def client(service):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


eks, iam, ec2, logs = client("eks"), client("iam"), client("ec2"), client("logs")


def trust(service):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def managed_policy(name):
    """The AWS managed policy's ARN; moto knows those only when started with
    MOTO_IAM_LOAD_MANAGED_POLICIES=true, so fall back to a look-alike customer policy."""
    arn = "arn:aws:iam::aws:policy/" + name
    try:
        iam.get_policy(PolicyArn=arn)
        return arn
    except iam.exceptions.NoSuchEntityException:
        pass
    try:
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        return iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return f"arn:aws:iam::123456789012:policy/{name}"


def role(name, service, managed=(), inline=None):
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(service))["Role"]["Arn"]
    for policy in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=managed_policy(policy))
    if inline:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(inline))
    return arn


def irsa_role(name, issuer, conditions):
    provider = issuer.removeprefix("https://")
    account = "123456789012"
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{provider}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{provider}:{k}": v for k, v in conditions.items()}
                },
            }
        ],
    }
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(doc))["Role"]["Arn"]


def app_policy(role_arn, name, statement):
    """A customer-managed policy attached to an application role."""
    doc = {"Version": "2012-10-17", "Statement": [statement]}
    arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role_arn.rsplit("/", 1)[-1], PolicyArn=arn)
    return arn


vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]


def subnet(cidr, public):
    sid = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
    if public:
        ec2.modify_subnet_attribute(SubnetId=sid, MapPublicIpOnLaunch={"Value": True})
    return sid


def security_group(name, port, cidr):
    gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": port,
                "ToPort": port,
                "IpRanges": [{"CidrIp": cidr}],
            }
        ],
    )
    return gid


def launch_template(name, tokens, hops, groups):
    lt = ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={
            "MetadataOptions": {"HttpTokens": tokens, "HttpPutResponseHopLimit": hops},
            "SecurityGroupIds": groups,
        },
    )["LaunchTemplate"]
    return lt["LaunchTemplateId"]


made = {}

# The badly configured cluster.
public_subnet = subnet("10.0.1.0/24", True)
ssh_open = security_group(f"ssh-open-{suffix}", 22, "0.0.0.0/0")
bad_cluster_role = role(f"bad-cluster-{suffix}", "eks.amazonaws.com")
bad_node_role = role(
    f"bad-node-{suffix}",
    "ec2.amazonaws.com",
    managed=["AdministratorAccess"],
    inline={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
)
bad_lt = launch_template(f"bad-lt-{suffix}", "optional", 2, [ssh_open])
bad = eks.create_cluster(
    name=f"bad-{suffix}",
    roleArn=bad_cluster_role,
    resourcesVpcConfig={
        "subnetIds": [public_subnet],
        "securityGroupIds": [ssh_open],
        "endpointPublicAccess": True,
        "endpointPrivateAccess": False,
        "publicAccessCidrs": ["0.0.0.0/0"],
    },
    logging={"clusterLogging": [{"types": ["api", "audit", "authenticator", "controllerManager", "scheduler"], "enabled": False}]},
)["cluster"]
eks.create_nodegroup(
    clusterName=bad["name"],
    nodegroupName="ssh",
    nodeRole=bad_node_role,
    subnets=[public_subnet],
    remoteAccess={"ec2SshKey": "ops-key", "sourceSecurityGroups": [ssh_open]},
    amiType="AL2_x86_64",
)
eks.create_nodegroup(
    clusterName=bad["name"],
    nodegroupName="lt",
    nodeRole=bad_node_role,
    subnets=[public_subnet],
    launchTemplate={"id": bad_lt, "version": "1"},
)
# A node role of another account: it must not be looked up by name in this one.
eks.create_nodegroup(
    clusterName=bad["name"],
    nodegroupName="foreign",
    nodeRole="arn:aws:iam::999999999999:role/" + f"bad-node-{suffix}",
    subnets=[public_subnet],
    amiType="AL2023_x86_64_STANDARD",
)
bad_issuer = eks.describe_cluster(name=bad["name"])["cluster"]["identity"]["oidc"]["issuer"]
bad_irsa = irsa_role(f"bad-irsa-{suffix}", bad_issuer, {"aud": "sts.amazonaws.com"})
bad_irsa_policy = app_policy(
    bad_irsa, f"bad-app-{suffix}", {"Effect": "Allow", "Action": ["ec2:RunInstances", "iam:PassRole"], "Resource": "*"}
)
made["bad"] = {
    "irsa_policy": bad_irsa_policy,
    "cluster": bad["arn"],
    "name": bad["name"],
    "node_role": bad_node_role,
    "irsa_role": bad_irsa,
    "security_group": ssh_open,
    "launch_template": bad_lt,
    "subnet": public_subnet,
}

# The well configured cluster.
private_subnet = subnet("10.0.2.0/24", False)
https_in = security_group(f"https-in-{suffix}", 443, "10.0.0.0/16")
good_cluster_role = role(f"good-cluster-{suffix}", "eks.amazonaws.com")
good_node_role = role(
    f"good-node-{suffix}",
    "ec2.amazonaws.com",
    managed=[
        "AmazonEKSWorkerNodePolicy",
        "AmazonEC2ContainerRegistryReadOnly",
        "AmazonEKS_CNI_Policy",
    ],
)
good_lt = launch_template(f"good-lt-{suffix}", "required", 1, [https_in])
good = eks.create_cluster(
    name=f"good-{suffix}",
    # moto's default version is long past support.
    version="1.33",
    roleArn=good_cluster_role,
    resourcesVpcConfig={
        "subnetIds": [private_subnet],
        "securityGroupIds": [https_in],
        "endpointPublicAccess": False,
        "endpointPrivateAccess": True,
    },
    logging={"clusterLogging": [{"types": ["api", "audit", "authenticator", "controllerManager", "scheduler"], "enabled": True}]},
    encryptionConfig=[
        {
            "resources": ["secrets"],
            "provider": {"keyArn": "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"},
        }
    ],
)["cluster"]
eks.create_nodegroup(
    clusterName=good["name"],
    nodegroupName="workers",
    nodeRole=good_node_role,
    subnets=[private_subnet],
    launchTemplate={"id": good_lt, "version": "1"},
    amiType="BOTTLEROCKET_x86_64",
    version="1.33",
)
good_issuer = eks.describe_cluster(name=good["name"])["cluster"]["identity"]["oidc"]["issuer"]
good_irsa = irsa_role(
    f"good-irsa-{suffix}",
    good_issuer,
    {"aud": "sts.amazonaws.com", "sub": "system:serviceaccount:app:api"},
)
good_irsa_policy = app_policy(
    good_irsa, f"good-app-{suffix}", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::app-data/*"}
)
made["good"] = {
    "irsa_policy": good_irsa_policy,
    "cluster": good["arn"],
    "name": good["name"],
    "node_role": good_node_role,
    "irsa_role": good_irsa,
    "security_group": https_in,
    "launch_template": good_lt,
    "subnet": private_subnet,
}


# The bad cluster's control-plane log group: an audit stream with events in two time
# windows, and an authenticator stream whose lines are not audit events.
import time

log_group = f"/aws/eks/{bad['name']}/cluster"
logs.create_log_group(logGroupName=log_group)
audit_stream = f"kube-apiserver-audit-{suffix}"
logs.create_log_stream(logGroupName=log_group, logStreamName=audit_stream)
logs.create_log_stream(logGroupName=log_group, logStreamName=f"authenticator-{suffix}")
now_ms = int(time.time() * 1000)
old_ms = now_ms - 3 * 3600 * 1000


def audit_event(i, ts_ms, verb, resource, subresource=None, user="alice", code=200, uri=None):
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_ms / 1000)) + ".000000Z"
    ref = {"resource": resource, "namespace": "prod", "name": f"obj-{i}", "apiVersion": "v1"}
    if subresource:
        ref["subresource"] = subresource
    return json.dumps({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": f"00000000-0000-0000-0000-{i:012d}",
        "stage": "ResponseComplete",
        "requestURI": uri or f"/api/v1/namespaces/prod/{resource}/obj-{i}",
        "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]},
        "sourceIPs": ["203.0.113.7"],
        "userAgent": "kubectl/v1.33.0",
        "objectRef": ref,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": ts,
        "stageTimestamp": ts,
        "annotations": {"authorization.k8s.io/decision": "allow" if code < 400 else "forbid",
                        "authorization.k8s.io/reason": ""},
    }, separators=(",", ":"))


old_events = [
    {"timestamp": old_ms + i, "message": audit_event(i, old_ms + i, "get", "configmaps")}
    for i in range(5)
]
recent = now_ms - 10 * 60 * 1000
new_events = [
    {"timestamp": recent + i, "message": audit_event(100 + i, recent + i, "get", "secrets")}
    for i in range(20)
]
new_events.append({
    "timestamp": recent + 50,
    "message": audit_event(
        200, recent + 50, "create", "pods", subresource="exec", code=101,
        uri="/api/v1/namespaces/prod/pods/obj-200/exec?command=sh&container=app&stdin=true&tty=true",
    ),
})
logs.put_log_events(logGroupName=log_group, logStreamName=audit_stream, logEvents=old_events + new_events)
logs.put_log_events(
    logGroupName=log_group,
    logStreamName=f"authenticator-{suffix}",
    logEvents=[{"timestamp": recent + i, "message": f"time=now level=info msg=access granted {i}"} for i in range(3)],
)
made["logs"] = {
    "group": log_group,
    "audit_stream": audit_stream,
    "old_ms": old_ms,
    "recent_ms": recent,
    "old_events": len(old_events),
    "new_events": len(new_events),
}

print(json.dumps(made))
