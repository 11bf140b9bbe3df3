# Outputs of the gas-alerts stack: everything the Prefect flow, its deployment and an operator need.

output "aws_region" {
  description = "Region everything was created in (region_name of the AwsCredentials block, AWS_DEFAULT_REGION of the flow)."
  value       = var.aws_region
}

output "table_name" {
  description = "Price table name: the flow's table_name parameter, or GAS_ALERTS_TABLE."
  value       = module.table.table_name
}

output "table_arn" {
  description = "ARN of the price table."
  value       = module.table.table_arn
}

output "topic_name" {
  description = "Alert topic name (GAS_ALERTS_TOPIC)."
  value       = module.alerts.topic_name
}

output "topic_arn" {
  description = "Alert topic ARN (GAS_ALERTS_TOPIC_ARN; the publisher Lambda's TOPIC_ARN)."
  value       = module.alerts.topic_arn
}

output "subscriber_filter_policies" {
  description = "The SNS filter policy of each alert subscriber's email subscription, by lower-cased email ({} means every alert)."
  value       = module.alerts.filter_policies
}

output "digest_topic_name" {
  description = "Weekly digest topic name (GAS_ALERTS_DIGEST_TOPIC)."
  value       = module.digest.topic_name
}

output "digest_topic_arn" {
  description = "Weekly digest topic ARN (the publisher Lambda's DIGEST_TOPIC_ARN)."
  value       = module.digest.topic_arn
}

output "digest_subscriber_filter_policies" {
  description = "The SNS filter policy of each digest subscriber's email subscription, by lower-cased email ({} means every digest)."
  value       = module.digest.filter_policies
}

output "operator_topic_arn" {
  description = "Topic every alarm notifies (checks stopped, source stale, alerts unsent, sweep stopped, publisher errors, dead letters); subscribe more endpoints to it if needed."
  value       = module.operator.topic_arn
}

output "dead_letter_queue_name" {
  description = "Dead-letter queue of stream batches the publisher could not handle (GAS_ALERTS_DLQ)."
  value       = module.publisher.dead_letter_queue_name
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue, for aws sqs receive-message."
  value       = module.publisher.dead_letter_queue_url
}

output "publisher_function_name" {
  description = "Name of the publisher Lambda function."
  value       = module.publisher.function_name
}

output "publisher_log_group" {
  description = "CloudWatch log group of the publisher (aws logs tail ... --follow)."
  value       = module.publisher.log_group_name
}

output "flow_runner_policy_arn" {
  description = "ARN of the IAM policy to attach to the user or role whose credentials run the Prefect flow."
  value       = aws_iam_policy.flow_runner.arn
}

output "flow_runner_policy_json" {
  description = "The flow runner policy document, for review or for attaching elsewhere."
  value       = data.aws_iam_policy_document.flow_runner.json
}

output "prefect_environment" {
  description = "Environment variables for the flow's process (for example job_variables.env of a Prefect deployment)."
  value = {
    AWS_DEFAULT_REGION   = var.aws_region
    GAS_ALERTS_TABLE     = module.table.table_name
    GAS_ALERTS_TOPIC     = module.alerts.topic_name
    GAS_ALERTS_TOPIC_ARN = module.alerts.topic_arn
    # The flow writes only to the table; the other names keep the rest of its Settings (gas_alerts/settings.py) on this stack.
    GAS_ALERTS_DIGEST_TOPIC = module.digest.topic_name
    GAS_ALERTS_DLQ          = module.publisher.dead_letter_queue_name
    # `gas-alerts status` looks at the operator topic's subscriptions.
    GAS_ALERTS_OPERATOR_TOPIC = module.operator.topic_name
  }
}

output "operator_policy_arn" {
  description = "ARN of the IAM policy to attach to whoever runs gas-alerts status, sweep, redrive, send-test and subscribers."
  value       = aws_iam_policy.operator.arn
}

output "operator_policy_json" {
  description = "The operator policy document, for review or for attaching elsewhere."
  value       = data.aws_iam_policy_document.operator.json
}

output "alarm_names" {
  description = "The service's own alarms, by what they watch (the publisher's errors and dead-letter alarms besides)."
  value       = module.alarms.alarm_names
}

output "sweep_schedule_name" {
  description = "EventBridge Scheduler schedule that runs the publisher's hourly sweep."
  value       = module.publisher.sweep_schedule_name
}
