# Outputs of the subscriber topic module: the topic for the publisher, its key, and what each subscriber filters on.

output "topic_arn" {
  description = "ARN of the topic."
  value       = aws_sns_topic.this.arn
}

output "topic_name" {
  description = "Name of the topic."
  value       = aws_sns_topic.this.name
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the topic; publishers need kms:GenerateDataKey and kms:Decrypt on it."
  value       = module.key.arn
}

output "filter_policies" {
  description = "The filter policy of each subscriber's email subscription, keyed by lower-cased email ({} = every message)."
  value       = local.filter_policies
}
