# Terraform and provider versions of the gas-alerts stack. Terraform 1.11 made the S3 backend's use_lockfile (the
# runbook's state lock) generally available.
terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80"
    }
  }
}
