# The gas-alerts stack: price table, alert and digest topics, publisher Lambda with its hourly sweep, the operator's
# alarms and topic, and the policies of the flow runner and of the operator.

provider "aws" {
  region = var.aws_region
  # Credentials come from the standard AWS chain (environment, shared profile, SSO, instance role); none live here.

  default_tags {
    tags = merge({ Project = var.name_prefix, ManagedBy = "terraform" }, var.tags)
  }
}

locals {
  # The one contract shared with the flow and the Lambda, and the stream filter the local stream runner also reads.
  contract_file      = "${path.module}/../lambda/gas_publisher/contract.json"
  stream_filter_file = "${path.module}/../lambda/gas_publisher/stream_filter.json"
  # Built by `make package` (python -m gas_local.package), whose default output is this path.
  default_lambda_package = "${path.module}/build/gas-alerts-publisher.zip"
  lambda_package         = coalesce(var.lambda_package_path, local.default_lambda_package)

  contract   = jsondecode(file(local.contract_file))
  region_ids = [for region in local.contract.regions : region.id]

  # The table's partitions (contract.json): week items, the alerts told after their week was stored, and the
  # publisher's sent ledger.
  price_partition  = local.contract.partitions.prices
  late_partition   = local.contract.partitions.late
  ledger_partition = local.contract.partitions.sent

  table_name        = "${var.name_prefix}-prices"
  topic_name        = "${var.name_prefix}-price-drops"
  digest_topic_name = "${var.name_prefix}-weekly-digest"
  dead_letter_queue = "${var.name_prefix}-publisher-dlq"
  function_name     = "${var.name_prefix}-publisher"
  operator_topic    = "${var.name_prefix}-operator"

  # What the operator's alarms watch, and the sweep the schedule runs (contract.json).
  monitoring = local.contract.monitoring
  sweep      = local.contract.sweep
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

module "table" {
  source = "./modules/price_table"

  name                = local.table_name
  partition_key       = local.contract.table.partition_key
  sort_key            = local.contract.table.sort_key
  key_type            = local.contract.table.key_type
  stream_view_type    = local.contract.table.stream_view_type
  deletion_protection = var.deletion_protection
}

locals {
  alert_attributes  = local.contract.message_attributes
  digest_attributes = local.contract.digest_attributes

  # SubscriberFilter.policy() of gas_alerts/filter_policy.py, in Terraform: the regions sorted and de-duplicated, and
  # one numeric rule for each threshold that is set above 0; a key is left out when unset, so {} means every message.
  alert_subscribers = [
    for s in var.subscribers : {
      email = s.email
      filter_policy = jsonencode(merge(
        { for name, ids in { (local.alert_attributes.region.name) = sort(distinct(s.regions)) } : name => ids if length(ids) > 0 },
        {
          for rule in [
            [local.alert_attributes.drop_cents.name, ">=", s.min_drop_cents],
            [local.alert_attributes.price.name, "<=", s.max_price],
            [local.alert_attributes.drop_percent.name, ">=", s.min_drop_percent],
            [local.alert_attributes.low_weeks.name, ">=", s.min_low_weeks],
          ] : rule[0] => [{ numeric = [rule[1], rule[2]] }] if coalesce(rule[2], 0) > 0
        },
      ))
    } if !s.digest
  ]
  digest_subscribers = [
    for s in var.subscribers : {
      email = s.email
      filter_policy = jsonencode({
        for rule in [
          [local.digest_attributes.regions_fallen.name, ">=", s.min_regions_fallen],
          [local.digest_attributes.largest_drop_cents.name, ">=", s.min_largest_drop_cents],
        ] : rule[0] => [{ numeric = [rule[1], rule[2]] }] if coalesce(rule[2], 0) > 0
      })
    } if s.digest
  ]
}

# One email per region that dropped, to each subscriber whose filter admits it.
module "alerts" {
  source = "./modules/subscriber_topic"

  name                = local.topic_name
  subscribers         = local.alert_subscribers
  known_values        = { (local.alert_attributes.region.name) = local.region_ids }
  max_filter_policies = var.max_filter_policies_per_topic
}

# One email a week listing every region that fell, to each digest subscriber whose filter admits it.
module "digest" {
  source = "./modules/subscriber_topic"

  name                = local.digest_topic_name
  subscribers         = local.digest_subscribers
  max_filter_policies = var.max_filter_policies_per_topic
}

module "operator" {
  source = "./modules/operator_topic"

  name   = local.operator_topic
  emails = var.alarm_emails
}

module "publisher" {
  source = "./modules/publisher"

  function_name      = local.function_name
  package_path       = local.lambda_package
  handler            = local.contract.lambda.handler
  timeout            = local.contract.lambda.timeout_seconds
  aws_region         = var.aws_region
  log_retention_days = var.log_retention_days

  # The variable names come from the contract, which the handler reads them by too.
  environment = {
    (local.contract.lambda.environment.table_name)       = module.table.table_name
    (local.contract.lambda.environment.topic_arn)        = module.alerts.topic_arn
    (local.contract.lambda.environment.digest_topic_arn) = module.digest.topic_arn
    (local.contract.lambda.environment.log_level)        = var.log_level
  }
  required_environment = values(local.contract.lambda.environment)

  table_arn         = module.table.table_arn
  stream_arn        = module.table.stream_arn
  table_kms_key_arn = module.table.kms_key_arn
  ledger_partition  = local.ledger_partition
  price_partition   = local.price_partition
  late_partition    = local.late_partition
  metric_namespace  = local.monitoring.namespace

  sweep_schedule_expression = local.sweep.schedule_expression
  sweep_input = {
    (local.sweep.event_key) = { older_than_seconds = local.sweep.grace_seconds, weeks = local.sweep.weeks }
  }

  topic_arn                = module.alerts.topic_arn
  topic_kms_key_arn        = module.alerts.kms_key_arn
  digest_topic_arn         = module.digest.topic_arn
  digest_topic_kms_key_arn = module.digest.kms_key_arn

  stream_filter_pattern = jsondecode(file(local.stream_filter_file))
  # The local stream runner plays the mapping with these same values when none is deployed.
  batch_size                     = local.contract.event_source_mapping.batch_size
  maximum_retry_attempts         = local.contract.event_source_mapping.maximum_retry_attempts
  maximum_record_age_in_seconds  = local.contract.event_source_mapping.maximum_record_age_in_seconds
  starting_position              = local.contract.event_source_mapping.starting_position
  bisect_batch_on_function_error = local.contract.event_source_mapping.bisect_batch_on_function_error
  dead_letter_queue_name         = local.dead_letter_queue
  alarm_topic_arns               = [module.operator.topic_arn]
}

module "alarms" {
  source = "./modules/service_alarms"

  name_prefix                  = var.name_prefix
  table_name                   = module.table.table_name
  namespace                    = local.monitoring.namespace
  dimension_name               = local.monitoring.dimension
  metrics                      = local.monitoring.metrics
  check_silence_period_seconds = local.monitoring.check_silence.period_seconds
  check_silence_periods        = local.monitoring.check_silence.evaluation_periods
  source_stale_after_days      = local.monitoring.source_stale_after_days
  sweep_silence_period_seconds = local.monitoring.sweep_silence.period_seconds
  sweep_silence_periods        = local.monitoring.sweep_silence.evaluation_periods
  alarm_topic_arns             = [module.operator.topic_arn]
}

# Whoever runs the Prefect flow (an IAM user whose keys go into a prefect-aws AwsCredentials block, or a worker's
# role) gets exactly the DynamoDB calls the flow makes on this table, on the partitions it writes only.
data "aws_iam_policy_document" "flow_runner" {
  statement {
    sid = "PriceTableCallsOfTheFlow"
    actions = [
      # Put and Update items inside a TransactWriteItems are authorised as PutItem and UpdateItem.
      "dynamodb:Query",        # latest weeks (PriceTable.recent_weeks) and the paged full history (all_weeks)
      "dynamodb:PutItem",      # conditional write of a new week (the check's, and each of a backfill's)
      "dynamodb:UpdateItem",   # recording a revision of a stored week
      "dynamodb:BatchGetItem", # reading back a write whose condition failed: this run's own, or another's
    ]
    resources = [module.table.table_arn]
    # Only the week items and the late items a check writes beside them, in the same transaction: the flow can
    # neither read nor rewrite the publisher's sent ledger.
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = [local.price_partition, local.late_partition]
    }
  }

  statement {
    sid       = "UseTableKeyThroughDynamoDB"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.table.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${var.aws_region}.amazonaws.com"]
    }
  }

  statement {
    sid     = "ReportEachCompletedCheck"
    actions = ["cloudwatch:PutMetricData"] # CheckSucceeded and SourceAgeDays, the heartbeat the alarms watch
    # PutMetricData has no resource ARN; the namespace condition keeps the flow to the product's own metrics.
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.monitoring.namespace]
    }
  }
}

resource "aws_iam_policy" "flow_runner" {
  name        = "${var.name_prefix}-flow-runner"
  description = "DynamoDB calls of the gas-alerts Prefect flows on ${local.table_name}, and their heartbeat metric"
  policy      = data.aws_iam_policy_document.flow_runner.json
}

resource "aws_iam_role_policy_attachment" "flow_runner" {
  for_each = toset(var.flow_runner_role_names)

  role       = each.value
  policy_arn = aws_iam_policy.flow_runner.arn
}

# Whoever operates the stack (`gas-alerts status`, `sweep`, `redrive`, `send-test`, `subscribers`, from a laptop or a
# runbook's shell) gets exactly the calls those commands make; tests/contract/test_least_privilege.py proves it from
# the recorded calls. The sweep and redrive publish as the publisher does, through the same ledger.
data "aws_iam_policy_document" "operator" {
  statement {
    sid       = "ReadTheNewestWeeksAndTheirLateItems"
    actions   = ["dynamodb:Query"] # sweep and status: the newest stored weeks and their late items
    resources = [module.table.table_arn]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = [local.price_partition, local.late_partition]
    }
  }

  statement {
    sid       = "ReadTheSentLedger"
    actions   = ["dynamodb:BatchGetItem"] # sweep, status and redrive: what the sent ledger holds
    resources = [module.table.table_arn]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = [local.ledger_partition]
    }
  }

  statement {
    sid       = "ClaimAndMarkOnlyInTheSentLedger"
    actions   = ["dynamodb:UpdateItem"] # sweep and redrive: claim, mark sent, release (also inside transactions)
    resources = [module.table.table_arn]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = [local.ledger_partition]
    }
  }

  statement {
    sid       = "FindTheTableStream"
    actions   = ["dynamodb:DescribeTable"] # redrive: the table's current stream
    resources = [module.table.table_arn]
  }

  statement {
    sid = "ReadDeadLetteredRecordsAgain"
    actions = [
      "dynamodb:DescribeStream",   # redrive: whether the stream still lists a pointer's shard
      "dynamodb:GetShardIterator", # redrive: at a pointer's first sequence number
      "dynamodb:GetRecords",       # redrive: the pointer's records
    ]
    resources = [module.table.stream_arn]
  }

  statement {
    sid       = "UseTableKeyThroughDynamoDB"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"] # reads, and the ledger's writes
    resources = [module.table.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${var.aws_region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "PublishAlertsDigestsAndSamples"
    actions   = ["sns:Publish"] # sweep and redrive: what the stream lost; send-test: the samples
    resources = [module.alerts.topic_arn, module.digest.topic_arn]
  }

  statement {
    sid       = "UseTopicKeysThroughSns"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [module.alerts.kms_key_arn, module.digest.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${var.aws_region}.amazonaws.com"]
    }
  }

  statement {
    sid     = "FindTheTopicsByName"
    actions = ["sns:ListTopics"] # every command finds the topics by name
    # ListTopics has no resource ARN; it lists topic ARNs only.
    resources = ["*"]
  }

  statement {
    sid = "ReadTheSubscriptions"
    actions = [
      "sns:ListSubscriptionsByTopic",  # status and subscribers
      "sns:GetSubscriptionAttributes", # status and subscribers: pending or confirmed, and the filter policy
    ]
    # SNS authorises GetSubscriptionAttributes against the subscription's topic, as its refusals name it.
    resources = [module.alerts.topic_arn, module.digest.topic_arn, module.operator.topic_arn]
  }

  statement {
    sid = "WorkTheDeadLetterQueue"
    actions = [
      "sqs:GetQueueUrl",             # status and redrive
      "sqs:GetQueueAttributes",      # status: how many pointers wait
      "sqs:ReceiveMessage",          # redrive
      "sqs:DeleteMessage",           # redrive: a pointer whose alerts are all sent
      "sqs:ChangeMessageVisibility", # redrive: a kept pointer is shown again at once
    ]
    resources = [module.publisher.dead_letter_queue_arn]
  }

  statement {
    sid     = "FindTheEventSourceMapping"
    actions = ["lambda:ListEventSourceMappings"] # redrive: the mapping's batch size and filters
    # ListEventSourceMappings has no resource ARN.
    resources = ["*"]
  }

  statement {
    sid     = "ReadTheHeartbeat"
    actions = ["cloudwatch:GetMetricData"] # status: the last completed check
    # GetMetricData has no resource ARN.
    resources = ["*"]
  }

  statement {
    sid     = "PutTheSweepMetric"
    actions = ["cloudwatch:PutMetricData"] # sweep: UnsentMessages, as the scheduled sweep does
    # PutMetricData has no resource ARN; the namespace condition keeps it to the product's own metrics.
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.monitoring.namespace]
    }
  }

  statement {
    sid     = "ReadTheAlarms"
    actions = ["cloudwatch:DescribeAlarms"] # status: each alarm of the stack and its state
    # A DescribeAlarms call with AlarmNamePrefix is authorised against alarm:* whatever the prefix, so a policy
    # scoped to this stack's names denies it; this only reads alarm configurations of this account and region.
    resources = ["arn:${data.aws_partition.current.partition}:cloudwatch:${var.aws_region}:${data.aws_caller_identity.current.account_id}:alarm:*"]
  }
}

resource "aws_iam_policy" "operator" {
  name        = "${var.name_prefix}-operator"
  description = "What gas-alerts status, sweep, redrive, send-test and subscribers call on this stack, and nothing else"
  policy      = data.aws_iam_policy_document.operator.json
}
