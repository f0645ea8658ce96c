"""Seeds a fresh moto server with a fleet: an Organization whose management account has
one cluster, and three member accounts: `a` with clusters in eu-west-1 and us-east-1,
`b` with one cluster in us-east-1, `c` with one cluster (its role is refused by the test's
STS proxy). Member resources are made with credentials from AssumeRole, which moto maps
to the member account. Prints what it made as one JSON object.

usage: seed_fleet.py ENDPOINT_URL
"""

import json
import sys

import boto3

endpoint = sys.argv[1]
ROLE = "EksguardScanner"


def client(service, region, creds=None):
    kw = dict(
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    if creds:
        kw.update(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    return boto3.client(service, **kw)


org = client("organizations", "us-east-1")
org.create_organization(FeatureSet="ALL")
management = client("sts", "us-east-1").get_caller_identity()["Account"]
members = {}
for key in ("a", "b", "c"):
    status = org.create_account(AccountName=f"member-{key}", Email=f"{key}@example.com")
    members[key] = status["CreateAccountStatus"]["AccountId"]


def member_creds(account):
    sts = client("sts", "us-east-1")
    return sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="seed"
    )["Credentials"]


def cluster(name, region, creds=None):
    eks = client("eks", region, creds)
    eks.create_cluster(
        name=name,
        roleArn="arn:aws:iam::000000000000:role/cluster",
        resourcesVpcConfig={"endpointPublicAccess": True},
    )
    return eks.describe_cluster(name=name)["cluster"]["arn"]


made = {"management": management, "members": members, "role": ROLE, "clusters": {}}
made["clusters"]["mgmt-eu"] = cluster("mgmt-eu", "eu-west-1")
creds_a = member_creds(members["a"])
made["clusters"]["a-eu"] = cluster("a-eu", "eu-west-1", creds_a)
made["clusters"]["a-us"] = cluster("a-us", "us-east-1", creds_a)
made["clusters"]["b-us"] = cluster("b-us", "us-east-1", member_creds(members["b"]))
made["clusters"]["c-us"] = cluster("c-us", "us-east-1", member_creds(members["c"]))
print(json.dumps(made))
