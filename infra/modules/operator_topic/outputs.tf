# Outputs of the operator topic module: the topic alarms notify.

output "topic_arn" {
  description = "ARN of the operator topic, for alarm_actions and ok_actions."
  value       = aws_sns_topic.this.arn
}

output "topic_name" {
  description = "Name of the operator topic."
  value       = aws_sns_topic.this.name
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the operator topic."
  value       = module.key.arn
}
