# A second, self-built node group whose launch template lets pods reach the node's
# instance metadata (hop limit 2), in a security group open to SSH from anywhere.
resource "aws_launch_template" "batch" {
  name = "batch-nodes"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  vpc_security_group_ids = [aws_security_group.batch_nodes.id]
}

resource "aws_security_group" "batch_nodes" {
  name   = "batch-nodes"
  vpc_id = var.vpc_id

  ingress {
    description = "SSH"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_eks_node_group" "batch" {
  cluster_name    = module.eks.cluster_name
  node_group_name = "batch"
  node_role_arn   = aws_iam_role.batch_nodes.arn
  subnet_ids      = var.private_subnet_ids

  scaling_config {
    desired_size = 1
    max_size     = 3
    min_size     = 0
  }

  launch_template {
    id      = aws_launch_template.batch.id
    version = aws_launch_template.batch.latest_version
  }
}

resource "aws_iam_role" "batch_nodes" {
  name = "batch-nodes"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "batch_nodes_worker" {
  role       = aws_iam_role.batch_nodes.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
}

resource "aws_iam_role_policy_attachment" "batch_nodes_admin" {
  role       = aws_iam_role.batch_nodes.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
