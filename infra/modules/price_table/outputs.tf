# Outputs of the price table module: what the publisher and the flow runner's policy need.

output "table_name" {
  description = "Name of the price table."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the price table (the resource of the flow runner's and the ledger's permissions)."
  value       = aws_dynamodb_table.this.arn
}

output "stream_arn" {
  description = "ARN of the table's current stream, the publisher's event source."
  value       = aws_dynamodb_table.this.stream_arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the table and its stream; readers and writers need it through DynamoDB."
  value       = module.key.arn
}
