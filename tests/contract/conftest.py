"""The Terraform tests' fixtures, shared by the apply test and the parity test."""

from tests.support.terraform import moto_process, terraform_tools

__all__ = ["moto_process", "terraform_tools"]
