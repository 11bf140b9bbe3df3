# A customer-managed KMS key with rotation, an alias, and a key policy: this account administers it through IAM,
# and the AWS services the caller names may use it on the caller's conditions.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource means this key only; the account root keeps control so the key cannot become unmanageable.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource means this key only; services use it only on the conditions their statements carry.
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

  dynamic "statement" {
    for_each = var.service_statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = ["*"] # in a key policy "*" is this key
      principals {
        type        = "Service"
        identifiers = statement.value.services
      }
      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_days
  policy                  = data.aws_iam_policy_document.this.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}
