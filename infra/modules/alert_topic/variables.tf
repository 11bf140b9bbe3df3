# Inputs of the alert topic module: the topic, its email subscribers and the attribute names their filters use.

variable "name" {
  type        = string
  description = "Topic name (the alert topic's default is gas-alerts-price-drops, see gas_alerts/settings.py)."
}

variable "subscribers" {
  type = list(object({
    email          = string
    regions        = optional(list(string), [])
    min_drop_cents = optional(number, 0)
  }))
  description = "Email subscribers. regions limits alerts to those region ids and min_drop_cents to drops of at least that many cents; leave both unset for every alert."
  default     = []

  validation {
    condition     = length(distinct([for s in var.subscribers : lower(s.email)])) == length(var.subscribers)
    error_message = "Each email address may appear only once in subscribers."
  }

  validation {
    condition     = alltrue([for s in var.subscribers : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", s.email))])
    error_message = "Every subscriber needs a valid email address."
  }

  validation {
    condition     = alltrue([for s in var.subscribers : s.min_drop_cents >= 0 && floor(s.min_drop_cents) == s.min_drop_cents])
    error_message = "min_drop_cents must be a whole number of cents, 0 or more (0 means any drop)."
  }
}

variable "region_ids" {
  type        = list(string)
  description = "The region ids an alert can carry (contract.json regions[].id); subscriber regions are checked against it."
}

variable "region_attribute" {
  type        = string
  description = "Name of the String message attribute holding the region id (contract.json message_attributes.region.name)."
}

variable "drop_cents_attribute" {
  type        = string
  description = "Name of the Number message attribute holding the drop in cents (contract.json message_attributes.drop_cents.name)."
}

variable "kms_deletion_window_days" {
  type        = number
  description = "Days a scheduled deletion of the topic's KMS key waits before the key is gone (7-30)."
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}
