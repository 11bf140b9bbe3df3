# The service's own alarms, on the metrics the flow and the publisher put in the contract's namespace: checks that
# stopped, a source that stopped publishing, told alerts left unsent, and a sweep that stopped reporting.

locals {
  dimensions = { (var.dimension_name) = var.table_name }
}

# A completed check puts CheckSucceeded = 1. Every hour without one is breaching, a worker that never started too,
# so the alarm fires once `check_silence_periods` hours pass without a completed check (26: a daily check that
# runs a little late never alarms, and the operator hears within 27 hours and a few minutes of the last one).
resource "aws_cloudwatch_metric_alarm" "check_silent" {
  alarm_name          = "${var.name_prefix}-check-silent"
  alarm_description   = "No gas price check has completed for ${var.check_silence_periods} hours: the Prefect worker, its schedule or its credentials stopped. Run `gas-alerts status`, bring the worker back (docs/deploy.md, step 7), then `prefect deployment run 'check-gas-prices/weekly'`. Falls of the last 14 days are still told when checks resume."
  namespace           = var.namespace
  metric_name         = var.metrics.check_succeeded
  dimensions          = local.dimensions
  statistic           = "SampleCount"
  period              = var.check_silence_period_seconds
  evaluation_periods  = var.check_silence_periods
  datapoints_to_alarm = var.check_silence_periods
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_topic_arns
  ok_actions          = var.alarm_topic_arns
}

# Each check puts how old the source's newest week is. A source that publishes within its week is at most 11 days
# old at a check; 13 days or more means the dataset stopped, moved, or an old copy is served. Between checks the
# state holds (missing data is ignored), so it stays in alarm until a check sees a fresh week.
resource "aws_cloudwatch_metric_alarm" "source_stale" {
  alarm_name          = "${var.name_prefix}-source-stale"
  alarm_description   = "The source's newest week was more than ${var.source_stale_after_days} days old at the last check: data.ny.gov stopped updating dataset wuxr-ni2i, moved it, or serves an old copy. Look at https://data.ny.gov/d/wuxr-ni2i and `gas-alerts status`; checks go on and tell the falls once it publishes again."
  namespace           = var.namespace
  metric_name         = var.metrics.source_age_days
  dimensions          = local.dimensions
  statistic           = "Maximum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = var.source_stale_after_days
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "ignore"
  alarm_actions       = var.alarm_topic_arns
  ok_actions          = var.alarm_topic_arns
}

# The hourly sweep puts how many told messages it could not send (and items it could not read).
resource "aws_cloudwatch_metric_alarm" "unsent_messages" {
  alarm_name          = "${var.name_prefix}-unsent-messages"
  alarm_description   = "The publisher's hourly sweep found told alerts it could not send, or items it could not read. Run `gas-alerts status`, then `gas-alerts sweep`; the publisher's log group says why SNS refused them."
  namespace           = var.namespace
  metric_name         = var.metrics.unsent_messages
  dimensions          = local.dimensions
  statistic           = "Maximum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arns
  ok_actions          = var.alarm_topic_arns
}

# The sweep reports every hour, even when it sent nothing; hours without a report mean its schedule stopped or the
# function fails before it reports, and then nothing heals what the stream loses.
resource "aws_cloudwatch_metric_alarm" "sweep_silent" {
  alarm_name          = "${var.name_prefix}-sweep-silent"
  alarm_description   = "The publisher's hourly sweep has not reported for ${var.sweep_silence_periods} hours: its EventBridge schedule is disabled or the function fails before it reports (see the publisher's errors alarm and log group). Run `gas-alerts sweep` by hand meanwhile."
  namespace           = var.namespace
  metric_name         = var.metrics.unsent_messages
  dimensions          = local.dimensions
  statistic           = "SampleCount"
  period              = var.sweep_silence_period_seconds
  evaluation_periods  = var.sweep_silence_periods
  datapoints_to_alarm = var.sweep_silence_periods
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_topic_arns
  ok_actions          = var.alarm_topic_arns
}
