# Terraform and provider versions of the gas-alerts stack: only aws >= 5.80 (python3.13 runtime).
terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80"
    }
  }
}
