"""Integration tier: the product against moto on 127.0.0.1, no Prefect server."""
