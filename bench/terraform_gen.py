#!/usr/bin/env python3
"""Writes a repository-sized Terraform tree for benchmarks: N directories (one module
scope each, default 50) of six files, a deterministic mix of EKS clusters (plain
resources or the terraform-aws-modules/eks module), node groups with launch templates,
security groups and rules, subnets, IRSA roles with policy documents and attachments.
Some settings are insecure on purpose, so every reader and join is exercised.
usage: bench/terraform_gen.py OUT_DIR [N]"""
import os
import sys


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


VARIABLES = """variable "name" {
  type    = string
  default = "svc-%(i)d"
}

variable "vpc_id" {
  type    = string
  default = "vpc-%(i)08x"
}

variable "admin_cidrs" {
  type    = list(string)
  default = ["10.%(octet)d.0.0/16"]
}

locals {
  oidc = "oidc.eks.eu-west-1.amazonaws.com/id/%(i)032X"
  tags = { team = "team-%(team)d", env = "prod" }
}
"""

CLUSTER = """resource "aws_eks_cluster" "this" {
  name     = var.name
  version  = "1.3%(minor)d"
  role_arn = aws_iam_role.cluster.arn

  vpc_config {
    subnet_ids              = aws_subnet.private[*].id
    endpoint_public_access  = %(public)s
    endpoint_private_access = true
    public_access_cidrs     = var.admin_cidrs
  }

  enabled_cluster_log_types = ["api", "audit", "authenticator"]

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = aws_kms_key.eks.arn
    }
  }

  access_config {
    authentication_mode = "API"
  }
}

resource "aws_kms_key" "eks" {
  description = "${var.name} secrets"
}

resource "aws_iam_role" "cluster" {
  name = "${var.name}-cluster"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "eks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}
"""

MODULE = """module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> %(major)d.0"

  %(name_input)s = var.name
  %(public_input)s = %(public)s

  vpc_id     = var.vpc_id
  subnet_ids = aws_subnet.private[*].id

  eks_managed_node_groups = {
    general = {
      ami_type       = "AL2023_x86_64_STANDARD"
      instance_types = ["m6i.large"]
    }
    batch = {
      ami_type = "BOTTLEROCKET_x86_64"
      metadata_options = {
        http_tokens                 = "required"
        http_put_response_hop_limit = %(hop)d
      }
    }
  }
}
"""

NODES = """resource "aws_launch_template" "nodes" {
  name = "${var.name}-nodes"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = %(hop)d
  }

  vpc_security_group_ids = [aws_security_group.nodes.id]
  tags                   = local.tags
}

resource "aws_eks_node_group" "nodes" {
  cluster_name    = %(cluster_ref)s
  node_group_name = "nodes"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = aws_subnet.private[*].id
  ami_type        = "%(ami)s"

  scaling_config {
    desired_size = 2
    max_size     = 4
    min_size     = 1
  }

  launch_template {
    id      = aws_launch_template.nodes.id
    version = aws_launch_template.nodes.latest_version
  }
}

resource "aws_iam_role" "node" {
  name               = "${var.name}-node"
  assume_role_policy = data.aws_iam_policy_document.ec2.json
}

data "aws_iam_policy_document" "ec2" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each   = toset([%(policies)s])
  role       = aws_iam_role.node.name
  policy_arn = "arn:aws:iam::aws:policy/${each.value}"
}
"""

NETWORK = """resource "aws_subnet" "private" {
  count                   = 3
  vpc_id                  = var.vpc_id
  cidr_block              = "10.%(octet)d.${count.index}.0/24"
  map_public_ip_on_launch = %(public_ip)s
  tags                    = merge(local.tags, { tier = "private" })
}

resource "aws_security_group" "nodes" {
  name   = "${var.name}-nodes"
  vpc_id = var.vpc_id

  ingress {
    description = "node to node"
    from_port   = 0
    to_port     = 65535
    protocol    = "tcp"
    self        = true
  }

  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = %(ssh_cidrs)s
  }

  tags = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  security_group_id = aws_security_group.nodes.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "10.0.0.0/8"
}
"""

IAM = """resource "aws_iam_role" "app" {
  for_each = toset(["api", "worker", "cron"])
  name     = "${var.name}-${each.key}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = "arn:aws:iam::111122223333:oidc-provider/${local.oidc}" }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        %(operator)s = {
          "${local.oidc}:sub" = "system:serviceaccount:${each.key}:%(sa)s"
          "${local.oidc}:aud" = "sts.amazonaws.com"
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "app" {
  name = "app"
  role = aws_iam_role.node.name
  policy = <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::bucket-%(i)d/*"}
  ]
}
POLICY
}
"""

OUTPUTS = """output "cluster_name" {
  value = var.name
}

output "node_role" {
  value = aws_iam_role.node.arn
}
"""


def directory(d, i):
    major = 19 + i % 3
    v = {
        "i": i,
        "octet": i % 250,
        "team": i % 7,
        "minor": i % 4,
        "public": "true" if i % 3 == 0 else "false",
        "hop": 2 if i % 4 == 0 else 1,
        "major": major,
        "name_input": "name" if major == 21 else "cluster_name",
        "public_input": "endpoint_public_access" if major == 21 else "cluster_endpoint_public_access",
        "cluster_ref": "aws_eks_cluster.this.name" if i % 2 == 0 else "module.eks.cluster_name",
        "ami": "AL2_x86_64" if i % 5 == 0 else "AL2023_x86_64_STANDARD",
        "policies": ", ".join(
            '"%s"' % p
            for p in ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"]
            + (["AmazonS3FullAccess"] if i % 6 == 0 else [])
        ),
        "public_ip": "true" if i % 8 == 0 else "false",
        "ssh_cidrs": '["0.0.0.0/0"]' if i % 9 == 0 else "var.admin_cidrs",
        "operator": "StringLike" if i % 10 == 0 else "StringEquals",
        "sa": "*" if i % 10 == 0 else "app",
    }
    write(os.path.join(d, "variables.tf"), VARIABLES % v)
    write(os.path.join(d, "main.tf"), (CLUSTER if i % 2 == 0 else MODULE) % v)
    write(os.path.join(d, "nodes.tf"), NODES % v)
    write(os.path.join(d, "network.tf"), NETWORK % v)
    write(os.path.join(d, "iam.tf"), IAM % v)
    write(os.path.join(d, "outputs.tf"), OUTPUTS)


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    for i in range(n):
        d = os.path.join(out, "service-%03d" % i)
        os.makedirs(d, exist_ok=True)
        directory(d, i)


if __name__ == "__main__":
    main()
