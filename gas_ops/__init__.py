"""Operator commands against the deployed stack, on AWS or any AWS_ENDPOINT_URL: redrive, sweep and status.

Nothing here stands in for AWS: it reads and drives what Terraform deployed. It imports neither `gas_local` nor moto.
"""
