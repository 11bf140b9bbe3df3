# Inputs of the subscriber topic module: the topic, its email subscribers with their filter policies, and known values.

variable "name" {
  type        = string
  description = "Topic name (gas-alerts-price-drops for the alerts and gas-alerts-weekly-digest for the digest, see gas_alerts/settings.py)."
}

variable "subscribers" {
  type = list(object({
    email         = string
    filter_policy = optional(string, "{}")
  }))
  description = "Email subscribers, each with its SNS filter policy on the message attributes as JSON; \"{}\" means every message."
  default     = []

  validation {
    condition     = length(distinct([for s in var.subscribers : lower(s.email)])) == length(var.subscribers)
    error_message = "Each email address may subscribe to the topic only once."
  }

  validation {
    condition     = alltrue([for s in var.subscribers : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", s.email))])
    error_message = "Every subscriber needs a valid email address."
  }

  validation {
    condition     = alltrue([for s in var.subscribers : can(keys(jsondecode(s.filter_policy)))])
    error_message = "Subscriber(s) ${join(", ", [for s in var.subscribers : s.email if !can(keys(jsondecode(s.filter_policy)))])}: filter_policy must be a JSON object."
  }
}

variable "max_filter_policies" {
  type        = number
  description = "How many subscriptions with a filter policy SNS lets this topic have: 200 by default, more where the account's quota was raised."
  default     = 200

  validation {
    condition     = var.max_filter_policies >= 1
    error_message = "max_filter_policies must be at least 1."
  }
}

variable "known_values" {
  type        = map(list(string))
  description = "For a message attribute holding one of a fixed set of strings (the region), that set; a policy naming any other value is refused."
  default     = {}
}

variable "kms_deletion_window_days" {
  type        = number
  description = "Days a scheduled deletion of the topic's KMS key waits before the key is gone (7-30)."
  default     = 30
}
