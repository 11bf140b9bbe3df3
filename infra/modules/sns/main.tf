# An SNS topic encrypted with its own KMS key, and one email subscription per subscriber with its filter policy.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  subscribers = { for s in var.subscribers : lower(s.email) => s }

  # Same shape as gas_alerts/filter_policy.py: {"region": [sorted ids], "drop_cents": [{"numeric": [">=", N]}]},
  # each key present only when set, so a subscriber with neither gets no policy and receives every alert.
  filter_policies = {
    for email, s in local.subscribers : email => merge(
      { for name, ids in { (var.region_attribute) = sort(distinct(s.regions)) } : name => ids if length(ids) > 0 },
      { for name, cents in { (var.drop_cents_attribute) = s.min_drop_cents } : name => [{ numeric = [">=", cents] }] if cents > 0 },
    )
  }

  unknown_regions = sort(distinct(flatten([for s in var.subscribers : [for r in s.regions : r if !contains(var.region_ids, r)]])))
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource means this key only; the account root keeps control so the key cannot become unmanageable.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource means this key only; SNS is held to this account by condition, CloudWatch by the topic policy.
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

  statement {
    sid       = "SnsUsesKeyForThisAccount"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"] # in a key policy "*" is this key
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }

  # AWS documents this statement without conditions, and reports that an account condition makes alarm actions
  # fail; the key encrypts only this topic, and the topic policy below limits publishing to this account's alarms.
  dynamic "statement" {
    for_each = var.allow_cloudwatch_alarms ? [true] : []
    content {
      sid       = "CloudWatchAlarmsPublishToEncryptedTopic"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
      resources = ["*"] # in a key policy "*" is this key
      principals {
        type        = "Service"
        identifiers = ["cloudwatch.amazonaws.com"]
      }
    }
  }
}

# Only for the operator topic. Without a topic policy SNS applies its default one; identities of this account (the
# publisher's role) publish through their IAM policies either way.
data "aws_iam_policy_document" "topic" {
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

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${var.name} SNS topic"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_sns_topic" "this" {
  name              = var.name
  kms_master_key_id = aws_kms_key.this.arn
}

resource "aws_sns_topic_policy" "this" {
  count = var.allow_cloudwatch_alarms ? 1 : 0

  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "this" {
  for_each = local.subscribers

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value.email

  filter_policy_scope = "MessageAttributes"
  filter_policy       = length(local.filter_policies[each.key]) > 0 ? jsonencode(local.filter_policies[each.key]) : null

  lifecycle {
    precondition {
      condition     = length(local.unknown_regions) == 0
      error_message = "Unknown region id(s) in subscribers: ${join(", ", local.unknown_regions)}. Known ids: ${join(", ", var.region_ids)}."
    }
  }
}
