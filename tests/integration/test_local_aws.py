"""The in-process moto: connections stay open between calls, and the server is gone once its block ends."""

from __future__ import annotations

import http.client
import socket
import threading
from urllib.parse import urlsplit

from gas_local.moto_server import local_aws


def _moto_threads() -> int:
    return sum(thread.name == "moto" and thread.is_alive() for thread in threading.enumerate())


def test_one_connection_serves_call_after_call() -> None:
    """Three requests on one HTTP/1.1 connection are all answered on it; none is told the connection closes."""
    with local_aws() as endpoint:
        address = urlsplit(endpoint)
        connection = http.client.HTTPConnection(str(address.hostname), address.port, timeout=10)
        try:
            connection.connect()
            opened = connection.sock
            for _ in range(3):
                connection.request("GET", "/moto-api/")
                response = connection.getresponse()
                response.read()
                assert response.status == 200
                assert not response.will_close
                assert connection.sock is opened
        finally:
            connection.close()


def test_the_server_and_its_thread_stop_when_the_block_ends() -> None:
    """After the block, nothing listens on the port and no thread of it is left, even with a connection still open."""
    before = _moto_threads()
    with local_aws() as endpoint:
        address = urlsplit(endpoint)
        port = int(address.port or 0)
        left_open = socket.create_connection(("127.0.0.1", port), timeout=10)
        assert _moto_threads() == before + 1
    try:
        assert _moto_threads() == before
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, "something still listens on the port"
    finally:
        left_open.close()
