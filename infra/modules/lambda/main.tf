# The publisher Lambda: zipped from source, fed by the filtered table stream, failing over to an encrypted SQS queue.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id     = data.aws_caller_identity.current.account_id
  partition      = data.aws_partition.current.partition
  log_group_name = "/aws/lambda/${var.function_name}"
  log_group_arn  = "arn:${local.partition}:logs:${var.aws_region}:${local.account_id}:log-group:${local.log_group_name}"
}

data "archive_file" "this" {
  type        = "zip"
  source_dir  = var.source_dir
  output_path = "${path.root}/.build/${var.function_name}.zip"
  # Bytecode is rebuilt by the runtime; shipping a developer's caches would also change the hash on every run.
  excludes = ["**/__pycache__/**", "**/*.pyc"]
}

# ---- encryption key of the log group -------------------------------------------------------------

data "aws_iam_policy_document" "log_key" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource means this key only; the account root keeps control so the key cannot become unmanageable.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource means this key only; CloudWatch Logs may use it only for this function's log group.
  #checkov:skip=CKV_AWS_356:In a key policy the resource "*" is the key the policy is attached to, not every resource.
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsThisLogGroup"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"] # in a key policy "*" is this key
    principals {
      type        = "Service"
      identifiers = ["logs.${var.aws_region}.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = [local.log_group_arn]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Encrypts the logs of the ${var.function_name} Lambda function"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.log_key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.function_name}-logs"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
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
    sid       = "ReadThisTableStream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = [var.stream_arn]
  }

  statement {
    sid     = "ListStreams"
    actions = ["dynamodb:ListStreams"]
    # ListStreams supports no resource-level permission, so "*" is the only resource IAM accepts; it only lists
    # stream ARNs, and every read above is limited to this table's stream.
    resources = ["*"]
  }

  statement {
    sid       = "ReadAndWriteOnlyTheSentLedger"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"]
    resources = [var.table_arn]
    # Every key in the request must be in the ledger partition, so the price items stay out of reach.
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "dynamodb:LeadingKeys"
      values   = [var.ledger_partition]
    }
  }

  statement {
    sid       = "UseTableKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.table_kms_key_arn]
    # No kms:ViaService condition here, unlike the flow runner's: the stream is read through the DynamoDB Streams
    # endpoint, and a service name that does not match would stop every alert; the grant is still this one key.
  }

  statement {
    sid       = "PublishToTheAlertTopic"
    actions   = ["sns:Publish"] # also authorises PublishBatch
    resources = [var.topic_arn]
  }

  statement {
    sid       = "UseTopicKeyThroughSns"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.topic_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${var.aws_region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "SendFailedBatchesToTheDeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.this.arn]
  }

  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
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
  #checkov:skip=CKV_AWS_272:The package is built from the repository by archive_file at plan time; there is no signing profile to verify it against.
  #checkov:skip=CKV_AWS_50:X-Ray needs a wildcard-resource permission and adds cost; logs plus the error and dead-letter alarms cover this single-purpose function.
  function_name    = var.function_name
  description      = "Publishes one SNS alert per dropped region from the price table's stream"
  role             = aws_iam_role.this.arn
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout
  filename         = data.archive_file.this.output_path
  source_code_hash = data.archive_file.this.output_base64sha256

  environment {
    variables = var.environment
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]

  lifecycle {
    precondition {
      condition     = sort(keys(var.environment)) == sort(var.required_environment)
      error_message = "The function's environment must set exactly ${join(", ", sort(var.required_environment))} (contract.json lambda.environment)."
    }
  }
}

resource "aws_lambda_event_source_mapping" "this" {
  function_name     = aws_lambda_function.this.arn
  event_source_arn  = var.stream_arn
  # From the oldest record still in the stream: a write made before the mapping existed is still
  # delivered, and a re-created mapping re-reads at most 24 hours, which the sent ledger de-duplicates.
  starting_position = "TRIM_HORIZON"
  batch_size        = var.batch_size

  # Both halves of partial failure: the handler names failed records, and a failing batch is split, retried a
  # bounded number of times, then recorded in the dead-letter queue instead of blocking the shard.
  function_response_types        = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error = true
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

# ---- alarms --------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${var.dead_letter_queue_name}-not-empty"
  alarm_description   = "Stream records that kept failing are in ${var.dead_letter_queue_name}; their alerts were not sent."
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
  alarm_description   = "The ${var.function_name} function failed whole invocations; the mapping retries, then dead-letters them."
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
