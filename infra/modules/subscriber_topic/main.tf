# An encrypted SNS topic and one email subscription per subscriber, each with the filter policy it was given, checked
# against SNS's own limits at plan time.

data "aws_caller_identity" "current" {}

locals {
  subscribers     = { for s in var.subscribers : lower(s.email) => s }
  filter_policies = { for email, s in local.subscribers : email => jsondecode(s.filter_policy) }

  # SNS refuses a subscription whose policy has more keys, more value combinations or more precise numbers than this.
  max_keys           = 5
  max_combinations   = 150
  max_decimal_places = 5
  max_number         = 1000000000

  key_counts = { for email, policy in local.filter_policies : email => length(keys(policy)) }
  # The product of the array sizes. Terraform has no product(), so the sizes are padded to five factors with ones;
  # a policy with more than five keys already fails the key limit.
  value_counts = { for email, policy in local.filter_policies : email => concat([for v in values(policy) : length(v)], [1, 1, 1, 1, 1]) }
  combinations = { for email, n in local.value_counts : email => n[0] * n[1] * n[2] * n[3] * n[4] }
  # Every number of every numeric rule ({"numeric": [">=", 5]} holds the operator and the number).
  numbers = {
    for email, policy in local.filter_policies : email => flatten([
      for v in values(policy) : [for rule in v : [for n in try(rule.numeric, []) : n if can(n + 0)]]
    ])
  }
  # A number's decimal places, counted on its exact decimal text (tostring never uses an exponent).
  bad_numbers = {
    for email, numbers in local.numbers : email => [
      for n in numbers : tostring(n)
      if length(try(regex("\\.([0-9]+)$", tostring(n))[0], "")) > local.max_decimal_places || abs(n) > local.max_number
    ]
  }
  # SNS counts the filter policies of a topic against a quota (200 by default), and refuses one more.
  filter_policy_count = length([for policy in values(local.filter_policies) : policy if length(policy) > 0])

  unknown_values = {
    for email, policy in local.filter_policies : email => flatten([
      for key, known in var.known_values : [for v in try(policy[key], []) : "${key} ${v}" if !contains(known, v)]
    ])
  }
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

  lifecycle {
    precondition {
      condition     = local.filter_policy_count <= var.max_filter_policies
      error_message = "Topic ${var.name}: ${local.filter_policy_count} subscribers have a filter policy; SNS allows ${var.max_filter_policies} on a topic (its default quota is 200; raise max_filter_policies_per_topic only if the account's quota was raised)."
    }
  }
}

resource "aws_sns_topic_subscription" "this" {
  for_each = local.subscribers

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value.email

  # SNS rejects a scope without a policy, so a subscriber who takes every message gets neither.
  filter_policy       = length(local.filter_policies[each.key]) > 0 ? jsonencode(local.filter_policies[each.key]) : null
  filter_policy_scope = length(local.filter_policies[each.key]) > 0 ? "MessageAttributes" : null

  lifecycle {
    precondition {
      condition     = local.key_counts[each.key] <= local.max_keys
      error_message = "Subscriber ${each.value.email}: the filter policy has ${local.key_counts[each.key]} keys; SNS allows at most ${local.max_keys}."
    }
    precondition {
      condition     = local.combinations[each.key] <= local.max_combinations
      error_message = "Subscriber ${each.value.email}: the filter policy has ${local.combinations[each.key]} value combinations (the product of its array sizes); SNS allows at most ${local.max_combinations}."
    }
    precondition {
      condition     = length(local.bad_numbers[each.key]) == 0
      error_message = "Subscriber ${each.value.email}: SNS takes filter numbers with at most ${local.max_decimal_places} decimal places, between -${local.max_number} and ${local.max_number}; got ${join(", ", local.bad_numbers[each.key])}."
    }
    precondition {
      condition     = length(local.unknown_values[each.key]) == 0
      error_message = "Subscriber ${each.value.email}: unknown ${join(", ", local.unknown_values[each.key])}. Known values: ${join("; ", [for key, known in var.known_values : "${key} ${join(", ", known)}"])}."
    }
  }
}
