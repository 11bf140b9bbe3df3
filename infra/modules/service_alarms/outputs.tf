# Outputs of the service alarms: their names, for `gas-alerts status` and the runbook.

output "alarm_names" {
  description = "Name of each alarm, by what it watches."
  value = {
    check_silent    = aws_cloudwatch_metric_alarm.check_silent.alarm_name
    source_stale    = aws_cloudwatch_metric_alarm.source_stale.alarm_name
    unsent_messages = aws_cloudwatch_metric_alarm.unsent_messages.alarm_name
    sweep_silent    = aws_cloudwatch_metric_alarm.sweep_silent.alarm_name
  }
}
