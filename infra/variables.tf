# Inputs of the gas-alerts stack; the defaults give the resource names the flow uses by default (gas_alerts/settings.py).

variable "aws_region" {
  type        = string
  description = "AWS region to deploy to (the flow's default region is us-east-1)."
  default     = "us-east-1"
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name; the default gives gas-alerts-prices, gas-alerts-price-drops and gas-alerts-publisher-dlq, the names the flow uses when no GAS_ALERTS_* variable is set."
  default     = "gas-alerts"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "subscribers" {
  type = list(object({
    email          = string
    regions        = optional(list(string), [])
    min_drop_cents = optional(number, 0)
  }))
  description = "Who gets price-drop emails. regions (ids from lambda/gas_publisher/contract.json) and min_drop_cents narrow what each receives; leave both out for every alert."
  default     = []
}

variable "alarm_emails" {
  type        = list(string)
  description = "Operator emails notified when the publisher fails (its errors, or records in the dead-letter queue)."
  default     = []
}

variable "lambda_package_path" {
  type        = string
  description = "Path of the publisher's deployment zip; null means build/gas-alerts-publisher.zip in this folder, where `make package` writes it."
  default     = null
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the price table from deletion; set to false and apply before terraform destroy."
  default     = true
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL of the publisher Lambda."
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Days the publisher's CloudWatch log group keeps logs."
  default     = 365
}

variable "flow_runner_role_names" {
  type        = list(string)
  description = "Existing IAM roles (for example a Prefect worker's task role) to attach the flow runner policy to; users are attached by hand (see README)."
  default     = []
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for every resource."
  default     = {}
}
