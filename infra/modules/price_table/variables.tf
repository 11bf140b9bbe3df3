# Inputs of the price table module; the key schema and stream view type come from contract.json via the root.

variable "name" {
  type        = string
  description = "Table name (the flow's default is gas-alerts-prices, see gas_alerts/settings.py)."
}

variable "partition_key" {
  type        = string
  description = "Partition key attribute name, from contract.json table.partition_key."
}

variable "sort_key" {
  type        = string
  description = "Sort key attribute name, from contract.json table.sort_key."
}

variable "key_type" {
  type        = string
  description = "DynamoDB scalar type of both key attributes (S, N or B), from contract.json table.key_type."

  validation {
    condition     = contains(["S", "N", "B"], var.key_type)
    error_message = "key_type must be one of S, N or B."
  }
}

variable "stream_view_type" {
  type        = string
  description = "What the table stream carries, from contract.json table.stream_view_type (the publisher reads NewImage)."

  validation {
    condition     = contains(["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"], var.stream_view_type)
    error_message = "stream_view_type must be KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the table (terraform destroy fails) until this is set to false and applied."
  default     = true
}

variable "kms_deletion_window_days" {
  type        = number
  description = "Days a scheduled deletion of the table's KMS key waits before the key is gone (7-30)."
  default     = 30
}
