# Terraform and provider versions of the gas-alerts stack: aws >= 5.80 (python3.13 runtime), archive >= 2.5 (glob excludes).
terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.5.0"
    }
  }
}
