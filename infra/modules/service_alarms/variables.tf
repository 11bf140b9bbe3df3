# Inputs of the service alarms: whose metrics (the namespace, and the table as their dimension), the thresholds, and
# who is told. The root passes contract.json's monitoring section.

variable "name_prefix" {
  type        = string
  description = "Prefix of the alarm names (the stack's name_prefix); `gas-alerts status` lists the alarms by it."
}

variable "table_name" {
  type        = string
  description = "The price table: the value of the metrics' dimension, so each stack's alarms watch its own metrics."
}

variable "namespace" {
  type        = string
  description = "CloudWatch namespace the flow and the publisher put their metrics in (contract.json)."
}

variable "dimension_name" {
  type        = string
  description = "Name of the dimension that carries the table's name (contract.json)."
}

variable "metrics" {
  type = object({
    check_succeeded = string
    source_age_days = string
    unsent_messages = string
  })
  description = "Metric names (contract.json monitoring.metrics)."
}

variable "check_silence_period_seconds" {
  type        = number
  description = "Period of the no-completed-check alarm."
}

variable "check_silence_periods" {
  type        = number
  description = "Periods without a completed check before the alarm fires."

  validation {
    condition     = var.check_silence_periods >= 1
    error_message = "check_silence_periods must be at least 1."
  }
}

variable "source_stale_after_days" {
  type        = number
  description = "Age in days of the source's newest week above which the source counts as stale."
}

variable "sweep_silence_period_seconds" {
  type        = number
  description = "Period of the sweep-stopped alarm."
}

variable "sweep_silence_periods" {
  type        = number
  description = "Periods without a sweep report before the alarm fires."
}

variable "alarm_topic_arns" {
  type        = list(string)
  description = "Topics each alarm notifies when it fires and when it recovers."
}
