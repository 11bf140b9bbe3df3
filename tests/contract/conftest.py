"""The Terraform tests' fixtures, shared by the apply test and the parity test."""

from tests.support.terraform import applied_stack, moto_process, terraform_tools

__all__ = ["applied_stack", "moto_process", "terraform_tools"]
