# Inputs of the KMS key module: what the key is for, its alias, and which services may use it.

variable "description" {
  type        = string
  description = "Description of the key, saying what it encrypts."
}

variable "alias" {
  type        = string
  description = "Alias name without the alias/ prefix (usually the name of what the key encrypts)."
}

variable "service_statements" {
  type = list(object({
    sid      = string
    actions  = list(string)
    services = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  description = "Extra key policy statements, each letting the service principals in services call actions on this key under conditions. IAM identities of the account need no statement here: the account administers the key through IAM."
  default     = []

  validation {
    condition     = length(distinct([for s in var.service_statements : s.sid])) == length(var.service_statements)
    error_message = "Each service statement needs its own sid."
  }

  validation {
    condition     = alltrue([for s in var.service_statements : length(s.services) > 0 && alltrue([for a in s.actions : a != "kms:*" && a != "*"])])
    error_message = "A service statement names at least one service and never grants kms:* or *."
  }
}

variable "deletion_window_days" {
  type        = number
  description = "Days a scheduled deletion of the key waits before the key is gone (7-30)."
  default     = 30

  validation {
    condition     = var.deletion_window_days >= 7 && var.deletion_window_days <= 30
    error_message = "deletion_window_days must be between 7 and 30."
  }
}
