# Terraform and provider versions of the gas-alerts stack. Terraform 1.11 made the S3 backend's use_lockfile (the
# runbook's state lock) generally available. hashicorp/aws is held to the 5.x line from 5.100.0, the version the tests
# apply (python3.13 needs 5.80 or newer); 6.0 is a major release that nothing here has applied, and
# .terraform.lock.hcl selects 5.100.0 exactly.
terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 6.0.0"
    }
  }
}
