# Provider requirements of the subscriber topic module (aws >= 5.80, the same floor as the root module).
terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80"
    }
  }
}
