"""Contract tier: Terraform, the code and the shared JSON files agree, checked by parsing and by running them."""
