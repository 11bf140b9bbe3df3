"""Prefect tasks of the weekly check: each one I/O boundary or one pure step."""
