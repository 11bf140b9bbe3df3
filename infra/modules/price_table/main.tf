# The price table: on-demand, streamed to the publisher, encrypted with its own key, recoverable to any second.

module "key" {
  source = "../kms_key"

  description          = "Encrypts the ${var.name} DynamoDB table and its stream"
  alias                = var.name
  deletion_window_days = var.kms_deletion_window_days
  # No service statement: DynamoDB uses the key on behalf of callers whose IAM policies allow it.
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
    kms_key_arn = module.key.arn
  }

  deletion_protection_enabled = var.deletion_protection
}
