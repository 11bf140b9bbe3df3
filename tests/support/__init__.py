"""Shared test support: data builders, fakes at the AWS boundary, the HCL evaluator, and the flow steps."""
