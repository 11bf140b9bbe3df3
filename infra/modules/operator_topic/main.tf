# The operator topic: CloudWatch alarms of this account publish to it, through its own KMS key, and it emails operators.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

module "key" {
  source = "../kms_key"

  description          = "Encrypts the ${var.name} SNS topic"
  alias                = var.name
  deletion_window_days = var.kms_deletion_window_days
  service_statements = [
    {
      sid      = "SnsUsesKeyForThisAccount"
      actions  = ["kms:Decrypt", "kms:GenerateDataKey*"]
      services = ["sns.amazonaws.com"]
      conditions = [{
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }]
    },
    # AWS documents this statement without conditions, and reports that an account condition makes alarm actions
    # fail; the key encrypts only this topic, and the topic policy below limits publishing to this account's alarms.
    {
      sid      = "CloudWatchAlarmsPublishToEncryptedTopic"
      actions  = ["kms:Decrypt", "kms:GenerateDataKey*"]
      services = ["cloudwatch.amazonaws.com"]
    },
  ]
}

resource "aws_sns_topic" "this" {
  name              = var.name
  kms_master_key_id = module.key.arn
}

# Identities of this account publish through their IAM policies; this lets CloudWatch alarms of this account publish.
data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ThisAccountsAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:cloudwatch:*:${data.aws_caller_identity.current.account_id}:alarm:*"]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_sns_topic_subscription" "this" {
  for_each = toset([for email in var.emails : lower(email)])

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}
