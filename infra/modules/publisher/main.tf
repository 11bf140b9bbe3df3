# The publisher Lambda: deployed from the zip `make package` builds, fed by the filtered table stream, failing over to
# an encrypted SQS queue.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id     = data.aws_caller_identity.current.account_id
  partition      = data.aws_partition.current.partition
  log_group_name = "/aws/lambda/${var.function_name}"
  log_group_arn  = "arn:${local.partition}:logs:${var.aws_region}:${local.account_id}:log-group:${local.log_group_name}"
}

# ---- encryption key of the log group -------------------------------------------------------------

module "log_key" {
  source = "../kms_key"

  description          = "Encrypts the logs of the ${var.function_name} Lambda function"
  alias                = "${var.function_name}-logs"
  deletion_window_days = var.kms_deletion_window_days
  service_statements = [{
    sid      = "CloudWatchLogsEncryptsThisLogGroup"
    actions  = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    services = ["logs.${var.aws_region}.amazonaws.com"]
    conditions = [{
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = [local.log_group_arn]
    }]
  }]
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = module.log_key.arn
}

# ---- dead-letter queue -----------------------------------------------------------------------------

resource "aws_sqs_queue" "this" {
  name                      = var.dead_letter_queue_name
  message_retention_seconds = var.dead_letter_retention_seconds
  sqs_managed_sse_enabled   = true
}

# ---- execution role ----------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume_role" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "permissions" {
  statement {
    sid = "ReadThisTableStream"
    actions = [
      "dynamodb:DescribeStream",   # the mapping lists the stream's shards
      "dynamodb:GetShardIterator", # the mapping opens each shard at TRIM_HORIZON or its checkpoint
      "dynamodb:GetRecords",       # the mapping reads the records it then filters and delivers
    ]
    resources = [var.stream_arn]
  }

  statement {
    sid = "ListStreams"
    actions = [
      "dynamodb:ListStreams", # the mapping finds the table's current stream
    ]
    # ListStreams supports no resource-level permission, so "*" is the only resource IAM accepts; it only lists
    # stream ARNs, and every read above is limited to this table's stream.
    resources = ["*"]
  }

  statement {
    sid = "WriteOnlyTheSentLedger"
    actions = [
      "dynamodb:UpdateItem", # claim, mark sent or release messages (ledger.py), alone or several weeks a transaction
    ]
    resources = [var.table_arn]
    # Every key written must be in the ledger partition, so the price items stay out of reach of any write.
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = [var.ledger_partition]
    }
  }

  statement {
    sid = "ReadTheSentLedger"
    actions = [
      "dynamodb:BatchGetItem", # what was already sent (ledger.py), for a batch and for the sweep
    ]
    resources = [var.table_arn]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = [var.ledger_partition]
    }
  }

  statement {
    sid = "ReadTheNewestWeeksToSweep"
    actions = [
      "dynamodb:Query", # the sweep: the newest week items, and their late items (sweep.py)
    ]
    resources = [var.table_arn]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = [var.price_partition, var.late_partition]
    }
  }

  statement {
    sid = "PutTheSweepMetric"
    actions = [
      "cloudwatch:PutMetricData", # UnsentMessages after each sweep
    ]
    # PutMetricData has no resource ARN; the namespace condition keeps the function to the product's own metrics.
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }

  statement {
    sid = "UseTableKey"
    actions = [
      "kms:Decrypt",         # read the encrypted stream and ledger items
      "kms:Encrypt",         # write ledger items to the encrypted table
      "kms:GenerateDataKey", # write ledger items to the encrypted table
    ]
    resources = [var.table_kms_key_arn]
    # No kms:ViaService condition here, unlike the flow runner's: the stream is read through the DynamoDB Streams
    # endpoint, and a service name that does not match would stop every alert; the grant is still this one key.
  }

  statement {
    sid = "PublishToTheAlertTopic"
    actions = [
      "sns:Publish", # one message per dropped region; also authorises PublishBatch
    ]
    resources = [var.topic_arn]
  }

  statement {
    sid = "UseTopicKeyThroughSns"
    actions = [
      "kms:Decrypt",         # SNS checks it for publishers of an encrypted topic
      "kms:GenerateDataKey", # SNS encrypts each published message with a data key
    ]
    resources = [var.topic_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${var.aws_region}.amazonaws.com"]
    }
  }

  statement {
    sid = "PublishToTheDigestTopic"
    actions = [
      "sns:Publish", # the weekly digest: one message listing every region that fell
    ]
    resources = [var.digest_topic_arn]
  }

  statement {
    sid = "UseDigestTopicKeyThroughSns"
    actions = [
      "kms:Decrypt",         # SNS checks it for publishers of an encrypted topic
      "kms:GenerateDataKey", # SNS encrypts the digest message with a data key
    ]
    resources = [var.digest_topic_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${var.aws_region}.amazonaws.com"]
    }
  }

  statement {
    sid = "SendFailedBatchesToTheDeadLetterQueue"
    actions = [
      "sqs:SendMessage", # the mapping's on-failure destination, sent with the function's role
    ]
    resources = [aws_sqs_queue.this.arn]
  }

  statement {
    sid = "WriteOwnLogGroup"
    actions = [
      "logs:CreateLogStream", # one stream per execution environment
      "logs:PutLogEvents",    # the handler's log lines
    ]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role" "this" {
  name               = var.function_name
  description        = "Execution role of the ${var.function_name} Lambda function"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.function_name}-least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.permissions.json
}

# ---- function and its event source -------------------------------------------------------------------

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:A function-level DLQ only catches asynchronous invocations; this one is invoked by a stream mapping, whose on-failure destination is the SQS queue.
  #checkov:skip=CKV_AWS_117:The function only calls DynamoDB and SNS public endpoints and reaches nothing inside a VPC; a VPC would add NAT or endpoints for no benefit.
  #checkov:skip=CKV_AWS_115:Reserving concurrency fails on new accounts (10 total); a stream mapping runs one batch per shard at a time, which already bounds concurrency.
  #checkov:skip=CKV_AWS_173:The variables hold resource names and a log level, no secrets; a CMK here would only add a key to manage.
  #checkov:skip=CKV_AWS_272:The package is built from the repository by make package and pinned by its hash; no signing profile exists to verify it.
  #checkov:skip=CKV_AWS_50:X-Ray needs a wildcard-resource permission and adds cost; logs plus the error and dead-letter alarms cover this single-purpose function.
  function_name    = var.function_name
  description      = "Publishes one SNS alert per dropped region, and the weekly digest, from the price table's stream"
  role             = aws_iam_role.this.arn
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout
  filename         = var.package_path
  source_code_hash = filebase64sha256(var.package_path)

  environment {
    variables = var.environment
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]

  lifecycle {
    precondition {
      condition     = fileexists(var.package_path)
      error_message = "No Lambda package at ${var.package_path}: run `make package` in the repository root first (or set lambda_package_path)."
    }
    precondition {
      condition     = sort(keys(var.environment)) == sort(var.required_environment)
      error_message = "The function's environment must set exactly ${join(", ", sort(var.required_environment))} (contract.json lambda.environment)."
    }
  }
}

resource "aws_lambda_event_source_mapping" "this" {
  function_name     = aws_lambda_function.this.arn
  event_source_arn  = var.stream_arn
  starting_position = var.starting_position
  batch_size        = var.batch_size

  # Both halves of partial failure: the handler names failed records, and a failing batch is split, retried a
  # bounded number of times, then recorded in the dead-letter queue instead of blocking the shard.
  function_response_types        = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error = var.bisect_batch_on_function_error
  maximum_retry_attempts         = var.maximum_retry_attempts
  maximum_record_age_in_seconds  = var.maximum_record_age_in_seconds

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.this.arn
    }
  }

  filter_criteria {
    filter {
      pattern = jsonencode(var.stream_filter_pattern)
    }
  }

  depends_on = [aws_iam_role_policy.this]
}


# ---- the hourly sweep ------------------------------------------------------------------------------------------
# EventBridge Scheduler invokes the function with the sweep's fixed input; the handler tells it from a stream batch
# by its shape, publishes what the table told and the sent ledger lacks, and puts UnsentMessages.

data "aws_iam_policy_document" "scheduler_assume_role" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    # Scheduler names the schedule group as the source (not the schedule); this one is in the default group.
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:scheduler:${var.aws_region}:${local.account_id}:schedule-group/default"]
    }
  }
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeThePublisher"
    actions   = ["lambda:InvokeFunction"] # the sweep, once an hour
    resources = [aws_lambda_function.this.arn]
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.function_name}-sweep-schedule"
  description        = "Lets EventBridge Scheduler invoke ${var.function_name} for its hourly sweep"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume_role.json
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "${var.function_name}-invoke"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "this" {
  #checkov:skip=CKV_AWS_297:The schedule holds only the sweep's fixed settings (a grace period and a week count), no secret; a customer managed key would add a key to pay for and rotate.
  name                = "${var.function_name}-sweep"
  description         = "Publishes, from the table, the told alerts the stream did not deliver"
  schedule_expression = var.sweep_schedule_expression

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode(var.sweep_input)

    # The next hour's sweep is the retry (Lambda's own retries are off too, below); a failure counts as an error.
    retry_policy {
      maximum_retry_attempts       = 0
      maximum_event_age_in_seconds = 3600
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}

# Scheduler invokes the function asynchronously, and Lambda would retry a failed asynchronous invocation twice on its
# own: the sweep's retry is the next hour's sweep, and its failure counts in the errors alarm at once.
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 3600
}

# ---- alarms --------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${var.dead_letter_queue_name}-not-empty"
  alarm_description   = "Stream records that kept failing are in ${var.dead_letter_queue_name}; the hourly sweep sends what they told from the table. Run `gas-alerts redrive` (it also deletes pointers whose alerts are all sent), then `gas-alerts status`."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.this.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arns
  ok_actions          = var.alarm_topic_arns
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.function_name}-errors"
  alarm_description   = "The ${var.function_name} function failed whole invocations (stream batches or the hourly sweep); the mapping retries, then dead-letters them. Read its log group, fix the cause, then run `gas-alerts status`."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arns
  ok_actions          = var.alarm_topic_arns
}
