"""The TLS settings every HTTP client of this project uses, made once per process."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Httpx's default TLS context (its CA bundle, or SSL_CERT_FILE's), built once: each build takes about 20 ms."""
    return httpx.create_ssl_context()
