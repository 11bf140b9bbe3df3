# Outputs of the KMS key module: the key for encryption settings and IAM grants.

output "arn" {
  description = "ARN of the key (for kms_key_arn / kms_master_key_id settings and IAM statements)."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "Id of the key."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "Full alias of the key (alias/...)."
  value       = aws_kms_alias.this.name
}

output "policy_json" {
  description = "The key policy, for review."
  value       = data.aws_iam_policy_document.this.json
}
