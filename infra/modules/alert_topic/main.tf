# The alert topic, encrypted with its own KMS key, and one email subscription per subscriber with its filter policy.

data "aws_caller_identity" "current" {}

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

module "key" {
  source = "../kms_key"

  description          = "Encrypts the ${var.name} SNS topic"
  alias                = var.name
  deletion_window_days = var.kms_deletion_window_days
  service_statements = [{
    sid      = "SnsUsesKeyForThisAccount"
    actions  = ["kms:Decrypt", "kms:GenerateDataKey*"]
    services = ["sns.amazonaws.com"]
    conditions = [{
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }]
  }]
}

resource "aws_sns_topic" "this" {
  name              = var.name
  kms_master_key_id = module.key.arn
}

resource "aws_sns_topic_subscription" "this" {
  for_each = local.subscribers

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value.email

  # SNS rejects a scope without a policy, so a subscriber who takes every alert gets neither.
  filter_policy       = length(local.filter_policies[each.key]) > 0 ? jsonencode(local.filter_policies[each.key]) : null
  filter_policy_scope = length(local.filter_policies[each.key]) > 0 ? "MessageAttributes" : null

  lifecycle {
    precondition {
      condition     = length(local.unknown_regions) == 0
      error_message = "Unknown region id(s) in subscribers: ${join(", ", local.unknown_regions)}. Known ids: ${join(", ", var.region_ids)}."
    }
  }
}
