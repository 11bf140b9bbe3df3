# Inputs of the operator topic module: its name and who it emails.

variable "name" {
  type        = string
  description = "Topic name (default gas-alerts-operator)."
}

variable "emails" {
  type        = list(string)
  description = "Operator email addresses; each gets an unfiltered email subscription (pending until confirmed)."
  default     = []

  validation {
    condition     = alltrue([for email in var.emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))])
    error_message = "Every operator email must be a valid email address."
  }
}

variable "kms_deletion_window_days" {
  type        = number
  description = "Days a scheduled deletion of the topic's KMS key waits before the key is gone (7-30)."
  default     = 30
}
