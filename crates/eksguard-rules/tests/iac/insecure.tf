resource "aws_eks_cluster" "main" {
  name     = "prod"
  role_arn = "arn:aws:iam::111122223333:role/prod-cluster"

  vpc_config { # expect: IMG009, NET012
    subnet_ids = [aws_subnet.a.id, aws_subnet.b.id]
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = aws_kms_key.secrets.arn
    }
  }
}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "a" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.0.1.0/24"
}

resource "aws_subnet" "b" {
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.0.2.0/24"
}

resource "aws_flow_log" "rejects" {
  vpc_id       = aws_vpc.main.id
  traffic_type = "REJECT"
}

resource "aws_vpc_endpoint" "ecr_api" { # expect: IMG010
  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.eu-west-1.ecr.api"
  vpc_endpoint_type = "Interface"
}

resource "aws_kms_key" "secrets" { # expect: DATA008
  description = "EKS secrets"
  is_enabled  = false # expect: DATA009
}

resource "aws_guardduty_detector" "main" {
  enable = true
  datasources {
    kubernetes {
      audit_logs {
        enable = false # expect: RUN005
      }
    }
  }
}

resource "aws_guardduty_detector_feature" "runtime" {
  detector_id = aws_guardduty_detector.main.id
  name        = "RUNTIME_MONITORING"
  status      = "DISABLED" # expect: RUN006
}

resource "aws_inspector2_enabler" "main" {
  account_ids    = ["111122223333"]
  resource_types = ["LAMBDA"] # expect: NODE014, IMG005
}

resource "aws_ecr_repository" "api" { # expect: IMG004, IMG007
  name = "team/api" # expect: IMG011
}

resource "aws_ecr_registry_scanning_configuration" "main" {
  scan_type = "BASIC" # expect: IMG005
}

resource "aws_ecr_repository_policy" "api" {
  repository = aws_ecr_repository.api.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = "*" # expect: IMG008
      Action    = ["ecr:BatchGetImage", "ecr:PutImage"]
    }]
  })
}

resource "aws_cloudtrail" "regional" { # expect: DET003, DET004
  name           = "regional"
  s3_bucket_name = "audit-logs"
}

resource "aws_efs_file_system" "shared" { # expect: DATA007
  creation_token = "shared"
}

resource "aws_acmpca_certificate_authority" "mesh" {
  certificate_authority_configuration {
    key_algorithm     = "EC_prime256v1"
    signing_algorithm = "SHA256WITHECDSA"
    subject {
      common_name = "mesh"
    }
  }
}
