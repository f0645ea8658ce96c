"""Seeds an AWS-compatible endpoint (moto's server) with a cluster whose security
services are badly set up, for the live tests of the GuardDuty, ECR, KMS, CloudTrail and
EFS rules: a Secrets key without rotation, a mutable and public repository scanned
nowhere, a single-region trail without Insights, GuardDuty without EKS audit logs or
runtime monitoring, an unencrypted file system. Prints what it made as one JSON object.

usage: seed_services.py ENDPOINT_URL SUFFIX
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


kms, eks, ecr, ec2 = client("kms"), client("eks"), client("ecr"), client("ec2")
cloudtrail, s3, guardduty, efs = (
    client("cloudtrail"),
    client("s3"),
    client("guardduty"),
    client("efs"),
)

vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
# The ECR API endpoint with the default full-access policy, no `ecr.dkr` or S3 endpoint.
endpoint_id = ec2.create_vpc_endpoint(
    VpcId=vpc,
    ServiceName=f"com.amazonaws.{region}.ecr.api",
    VpcEndpointType="Interface",
)["VpcEndpoint"]["VpcEndpointId"]

key = kms.create_key(Description=f"svc-{suffix} secrets")["KeyMetadata"]["Arn"]
name = f"svc-{suffix}"
eks.create_cluster(
    name=name,
    roleArn="arn:aws:iam::123456789012:role/svc-cluster",
    resourcesVpcConfig={"subnetIds": [subnet]},
    encryptionConfig=[{"resources": ["secrets"], "provider": {"keyArn": key}}],
)

repo = ecr.create_repository(
    repositoryName=f"svc-{suffix}/api",
    imageTagMutability="MUTABLE",
    imageScanningConfiguration={"scanOnPush": False},
)["repository"]["repositoryArn"]
ecr.set_repository_policy(
    repositoryName=f"svc-{suffix}/api",
    policyText=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["ecr:BatchGetImage", "ecr:PutImage"],
                }
            ],
        }
    ),
)

bucket = f"svc-trail-{suffix}"
s3.create_bucket(Bucket=bucket)
# Flow logs of rejected traffic only.
ec2.create_flow_logs(
    ResourceIds=[vpc],
    ResourceType="VPC",
    TrafficType="REJECT",
    LogDestinationType="s3",
    LogDestination=f"arn:aws:s3:::{bucket}",
)
trail = cloudtrail.create_trail(
    Name=f"svc-{suffix}", S3BucketName=bucket, IsMultiRegionTrail=False
)["TrailARN"]

detector = guardduty.create_detector(
    Enable=True,
    DataSources={"Kubernetes": {"AuditLogs": {"Enable": False}}},
    Features=[{"Name": "RUNTIME_MONITORING", "Status": "DISABLED"}],
)["DetectorId"]

fs = efs.create_file_system(CreationToken=f"svc-{suffix}", Encrypted=False)[
    "FileSystemId"
]

print(
    json.dumps(
        {
            "name": name,
            "key": key,
            "repository": repo,
            "trail": trail,
            "detector": detector,
            "file_system": fs,
            "vpc_endpoint": endpoint_id,
        }
    )
)
