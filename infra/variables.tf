# Inputs of the gas-alerts stack; the defaults give the resource names the flow uses by default (gas_alerts/settings.py).

variable "aws_region" {
  type        = string
  description = "AWS region to deploy to (the flow's default region is us-east-1)."
  default     = "us-east-1"
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name; the default gives gas-alerts-prices, gas-alerts-price-drops, gas-alerts-weekly-digest and gas-alerts-publisher-dlq, the names the flow uses when no GAS_ALERTS_* variable is set."
  default     = "gas-alerts"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "subscribers" {
  type = list(object({
    email  = string
    digest = optional(bool, false)
    # Per-region alerts (digest = false): each narrows which alerts the subscriber receives.
    regions          = optional(list(string), [])
    min_drop_cents   = optional(number)
    max_price        = optional(number)
    min_drop_percent = optional(number)
    min_low_weeks    = optional(number)
    # The weekly digest (digest = true): each narrows which weeks' digests the subscriber receives.
    min_regions_fallen     = optional(number)
    min_largest_drop_cents = optional(number)
  }))
  description = "Who gets emails. digest = false (the default): one email per region that dropped, narrowed by regions (ids from lambda/gas_publisher/contract.json), min_drop_cents, max_price ($/gal), min_drop_percent and min_low_weeks. digest = true: one email a week listing every region that fell, narrowed by min_regions_fallen and min_largest_drop_cents. Leave the filters out for every message."
  default     = []

  validation {
    condition     = length(distinct([for s in var.subscribers : "${s.digest}:${lower(s.email)}"])) == length(var.subscribers)
    error_message = "Subscriber(s) ${join(", ", distinct([for s in var.subscribers : s.email if length([for t in var.subscribers : t if t.digest == s.digest && lower(t.email) == lower(s.email)]) > 1]))} appear more than once for the same topic; an address may be listed once with digest = false and once with digest = true."
  }

  validation {
    condition     = alltrue([for s in var.subscribers : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", s.email))])
    error_message = "Subscriber(s) ${join(", ", [for s in var.subscribers : s.email if !can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", s.email))])}: not a valid email address."
  }

  validation {
    condition = alltrue([
      for s in var.subscribers : alltrue([
        for n in [s.min_drop_cents, s.min_low_weeks, s.min_regions_fallen, s.min_largest_drop_cents] : coalesce(n, 0) >= 0 && floor(coalesce(n, 0)) == coalesce(n, 0)
      ])
    ])
    error_message = "Subscriber(s) ${join(", ", [for s in var.subscribers : s.email if !alltrue([for n in [s.min_drop_cents, s.min_low_weeks, s.min_regions_fallen, s.min_largest_drop_cents] : coalesce(n, 0) >= 0 && floor(coalesce(n, 0)) == coalesce(n, 0)])])}: min_drop_cents, min_low_weeks, min_regions_fallen and min_largest_drop_cents are whole numbers, 0 or more (0 means no limit)."
  }

  validation {
    condition     = alltrue([for s in var.subscribers : try(s.max_price > 0, true) && coalesce(s.min_drop_percent, 0) >= 0])
    error_message = "Subscriber(s) ${join(", ", [for s in var.subscribers : s.email if !(try(s.max_price > 0, true) && coalesce(s.min_drop_percent, 0) >= 0)])}: max_price must be above 0 dollars a gallon and min_drop_percent 0 or more."
  }

  # The same rule as gas_alerts/filter_policy.py: a digest covers every region that fell, so per-region choices have no
  # message attribute to filter on there, and the digest's own thresholds none on a per-region alert.
  validation {
    condition = alltrue([
      for s in var.subscribers : !s.digest || (length(s.regions) == 0 && alltrue([for n in [s.min_drop_cents, s.max_price, s.min_drop_percent, s.min_low_weeks] : coalesce(n, 0) == 0]))
    ])
    error_message = "Digest subscriber(s) ${join(", ", [for s in var.subscribers : s.email if s.digest && !(length(s.regions) == 0 && alltrue([for n in [s.min_drop_cents, s.max_price, s.min_drop_percent, s.min_low_weeks] : coalesce(n, 0) == 0]))])}: regions, min_drop_cents, max_price, min_drop_percent and min_low_weeks are for per-region alerts; a digest lists every region that fell. Leave them out, or set digest = false."
  }

  validation {
    condition     = alltrue([for s in var.subscribers : s.digest || alltrue([for n in [s.min_regions_fallen, s.min_largest_drop_cents] : coalesce(n, 0) == 0])])
    error_message = "Subscriber(s) ${join(", ", [for s in var.subscribers : s.email if !s.digest && !alltrue([for n in [s.min_regions_fallen, s.min_largest_drop_cents] : coalesce(n, 0) == 0])])}: min_regions_fallen and min_largest_drop_cents filter the weekly digest only. Set digest = true, or leave them out."
  }
}

variable "alarm_emails" {
  type        = list(string)
  description = "Operator emails every alarm notifies: no completed check, a stale source, alerts left unsent, the sweep stopped, the publisher's errors and dead letters."
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

variable "max_filter_policies_per_topic" {
  type        = number
  description = "Subscriptions with a filter policy each topic may have: SNS's default quota is 200 per topic (10,000 per account). Raise it only after AWS raised the account's quota."
  default     = 200
}
