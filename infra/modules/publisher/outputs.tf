# Outputs of the publisher module: what an operator looks at when alerts do not arrive.

output "function_name" {
  description = "Name of the publisher Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the publisher Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "event_source_mapping_uuid" {
  description = "UUID of the stream-to-function mapping (aws lambda get-event-source-mapping --uuid ...); null without one."
  value       = aws_lambda_event_source_mapping.this.uuid
}

output "dead_letter_queue_name" {
  description = "Name of the dead-letter queue of stream batches that kept failing."
  value       = aws_sqs_queue.this.name
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue, for aws sqs receive-message."
  value       = aws_sqs_queue.this.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.this.arn
}

output "sweep_schedule_name" {
  description = "Name of the EventBridge Scheduler schedule that runs the sweep."
  value       = aws_scheduler_schedule.this.name
}
