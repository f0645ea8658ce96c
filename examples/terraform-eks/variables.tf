variable "vpc_id" {
  type    = string
  default = "vpc-0123456789abcdef0"
}

variable "private_subnet_ids" {
  type = list(string)
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

locals {
  cluster_name  = "payments"
  account_id    = "111122223333"
  oidc_provider = "oidc.eks.${var.region}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
}
