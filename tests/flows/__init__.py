"""Flow tier: real Prefect runs (a temporary server), marked `prefect`."""
