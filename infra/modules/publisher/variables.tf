# Inputs of the publisher module: the code, its configuration, the stream it reads and the resources it may touch.

variable "function_name" {
  type        = string
  description = "Name of the publisher Lambda function (also names its log group and role)."
}

variable "package_path" {
  type        = string
  description = "Path of the deployment zip (built by `make package`); it must hold the handler's gas_publisher package."
}

variable "handler" {
  type        = string
  description = "Handler as module.function, from contract.json lambda.handler."
}

variable "runtime" {
  type        = string
  description = "Lambda runtime; the runtime supplies boto3."
  default     = "python3.13"
}

variable "architecture" {
  type        = string
  description = "Instruction set of the function (the package is pure Python, so either works)."
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  type        = number
  description = "Memory of the function in MB."
  default     = 256
}

variable "timeout" {
  type        = number
  description = "Seconds one invocation (one stream batch) may run (contract.json lambda.timeout_seconds)."
  default     = 60
}

variable "environment" {
  type        = map(string)
  description = "Environment variables of the function; their names must be exactly required_environment."
}

variable "required_environment" {
  type        = list(string)
  description = "Environment variable names the handler reads, from contract.json lambda.environment; checked against environment before apply."
}

variable "log_retention_days" {
  type        = number
  description = "Days the function's log group keeps its logs."
  default     = 365
}

variable "aws_region" {
  type        = string
  description = "Region of the stack; names the CloudWatch Logs service principal in the log key's policy."
}

variable "kms_deletion_window_days" {
  type        = number
  description = "Days a scheduled deletion of the module's KMS key waits before the key is gone (7-30)."
  default     = 30
}

variable "table_arn" {
  type        = string
  description = "ARN of the price table; the function reads and writes only its sent-ledger partition there."
}

variable "stream_arn" {
  type        = string
  description = "ARN of the price table's stream, the event source."
}

variable "table_kms_key_arn" {
  type        = string
  description = "KMS key of the table and its stream, used through DynamoDB to read the stream and the ledger."
}

variable "ledger_partition" {
  type        = string
  description = "Partition key value of the sent ledger (\"<dataset id>#sent\"); the only partition the function may batch-read and batch-write."
}

variable "price_partition" {
  type        = string
  description = "Partition key value of the week items (contract.json partitions.prices): the sweep reads them."
}

variable "late_partition" {
  type        = string
  description = "Partition key value of the late items (contract.json partitions.late): the sweep queries them."
}

variable "metric_namespace" {
  type        = string
  description = "CloudWatch namespace the sweep puts UnsentMessages in (contract.json monitoring.namespace)."
}

variable "sweep_schedule_expression" {
  type        = string
  description = "How often EventBridge Scheduler runs the sweep (contract.json sweep.schedule_expression)."
}

variable "sweep_input" {
  type        = any
  description = "The fixed event the schedule sends, which the handler recognises as a sweep (contract.json sweep)."
}

variable "topic_arn" {
  type        = string
  description = "ARN of the alert topic, the only topic the function may publish to."
}

variable "topic_kms_key_arn" {
  type        = string
  description = "KMS key of the alert topic, needed to publish to it."
}

variable "digest_topic_arn" {
  type        = string
  description = "ARN of the weekly digest topic, the only other topic the function may publish to."
}

variable "digest_topic_kms_key_arn" {
  type        = string
  description = "KMS key of the digest topic, needed to publish to it."
}

variable "stream_filter_pattern" {
  type        = any
  description = "Decoded event filter pattern for the stream (lambda/gas_publisher/stream_filter.json); only matching records invoke the function."
}

variable "starting_position" {
  type        = string
  description = "Where a new mapping starts reading the stream (contract.json event_source_mapping). TRIM_HORIZON delivers a write made before the mapping existed; a re-created mapping then re-reads what the stream holds (24 hours), of which maximum_record_age_in_seconds (6 hours) is delivered and the rest goes to the on-failure destination; the sent ledger de-duplicates what was sent before."
  default     = "TRIM_HORIZON"

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.starting_position)
    error_message = "starting_position must be TRIM_HORIZON or LATEST."
  }
}

variable "bisect_batch_on_function_error" {
  type        = bool
  description = "Split a batch whose invocation failed in two and retry each half (contract.json event_source_mapping)."
  default     = true
}

variable "batch_size" {
  type        = number
  description = "Most stream records per invocation."
  default     = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 100
    error_message = "batch_size must be between 1 and 100."
  }
}

variable "maximum_retry_attempts" {
  type        = number
  description = "Retries of a failing batch (after bisecting) before its records go to the dead-letter queue."
  default     = 5

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 10000
    error_message = "maximum_retry_attempts must be between 0 and 10000 (a bound, never -1)."
  }
}

variable "maximum_record_age_in_seconds" {
  type        = number
  description = "Oldest record age the mapping still delivers; older records go to the dead-letter queue."
  default     = 21600

  validation {
    condition     = var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds <= 604800
    error_message = "maximum_record_age_in_seconds must be between 60 and 604800 (a bound, never -1)."
  }
}

variable "dead_letter_queue_name" {
  type        = string
  description = "Name of the SQS queue receiving records of batches that kept failing (default gas-alerts-publisher-dlq)."
}

variable "dead_letter_retention_seconds" {
  type        = number
  description = "How long the dead-letter queue keeps a message (the SQS maximum is 14 days)."
  default     = 1209600
}

variable "alarm_topic_arns" {
  type        = list(string)
  description = "Topics notified when the dead-letter queue has messages or the function reports errors."
  default     = []
}
