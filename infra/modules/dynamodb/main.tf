# The price table: on-demand, streamed to the publisher, encrypted with its own key, recoverable to any second.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource means this key only; the account root keeps control so the key cannot become unmanageable.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource means this key only; writes stay limited to this account's IAM-authorised principals.
  #checkov:skip=CKV_AWS_356:In a key policy the resource "*" is the key the policy is attached to, not every resource.
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${var.name} DynamoDB table and its stream"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.this.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_dynamodb_table" "this" {
  name         = var.name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = var.partition_key
  range_key    = var.sort_key

  attribute {
    name = var.partition_key
    type = var.key_type
  }

  attribute {
    name = var.sort_key
    type = var.key_type
  }

  stream_enabled   = true
  stream_view_type = var.stream_view_type

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  deletion_protection_enabled = var.deletion_protection
}
