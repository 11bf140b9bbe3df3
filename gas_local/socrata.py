"""A Socrata-like HTTP server on 127.0.0.1 serving the dataset from rows in memory, with faults on demand."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gas_publisher.contract import DATASET_ID

RESOURCE_PATH = f"/resource/{DATASET_ID}.json"
DEFAULT_LIMIT = 1000


@dataclass(frozen=True)
class Fault:
    """One scripted response served instead of the data (status, body, headers, delay, or a cut connection)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    cut_after: int | None = None


@dataclass
class RequestLog:
    """What the server was asked: path, query parameters and headers of each request."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]


class LocalSocrata:
    """Serves rows like the SODA API: $order=date DESC|ASC, $limit (default 1000), $offset."""

    def __init__(self, rows: Sequence[dict[str, Any]], *, port: int = 0) -> None:
        self.rows = list(rows)
        self.published_until: date | None = None
        self.faults: deque[Fault] = deque()
        self.requests: list[RequestLog] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._stalled: list[socket.socket] = []

    @property
    def url(self) -> str:
        """The JSON resource URL, like https://data.ny.gov/resource/wuxr-ni2i.json."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{RESOURCE_PATH}"

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    def start(self) -> LocalSocrata:
        """Start serving in a background thread (and stop stalling new connections)."""
        if self._stalled:
            self._release_stalled()
            self._empty_listen_queue()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._release_stalled()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def stall_connections(self) -> None:
        """Before start(): fill the listen queue so that new connections hang until they time out.

        Nothing accepts yet, so once the queue is full the kernel drops further connection attempts:
        the client sees a connect timeout, as with a host that does not answer. start() lets them in.
        """
        if self._thread.is_alive():
            raise RuntimeError("stall_connections() only works before start()")
        address = ("127.0.0.1", self.port)
        for _ in range(self._server.request_queue_size + 8):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._stalled.append(filler)
            filler.settimeout(0.2)
            try:
                filler.connect(address)
            except TimeoutError:
                return  # the queue is full: this attempt was dropped
        raise RuntimeError("the listen queue never filled; connect timeouts cannot be simulated here")

    def _release_stalled(self) -> None:
        for filler in self._stalled:
            filler.close()
        self._stalled.clear()

    def _empty_listen_queue(self) -> None:
        """Accept and close the stalled connections, so the next client finds room in the queue at once."""
        listener = self._server.socket
        listener.setblocking(False)
        try:
            while True:
                try:
                    connection, _ = listener.accept()
                except BlockingIOError:
                    return
                connection.close()
        finally:
            listener.setblocking(True)

    def reveal_until(self, week: date | None) -> None:
        """Serve only the weeks published up to this date (None serves everything)."""
        self.published_until = week

    def visible_rows(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """The rows a request with these parameters gets."""
        rows = [row for row in self.rows if self._published(row)]
        # The one $where the product sends: "date <= '<ISO timestamp>'".
        where = params.get("$where", "")
        if where.startswith("date <= '") and where.endswith("'"):
            last = where[len("date <= '") : len("date <= '") + 10]
            rows = [row for row in rows if str(row.get("date", ""))[:10] <= last]
        order = params.get("$order", "").strip().lower()
        if order.startswith("date"):
            rows.sort(key=lambda row: str(row.get("date", "")), reverse=order.endswith("desc"))
        offset = int(params.get("$offset", "0"))
        limit = int(params.get("$limit", str(DEFAULT_LIMIT)))
        return rows[offset : offset + limit]

    def _published(self, row: dict[str, Any]) -> bool:
        if self.published_until is None:
            return True
        return str(row.get("date", ""))[:10] <= self.published_until.isoformat()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                with server._lock:
                    server.requests.append(RequestLog(parts.path, params, dict(self.headers.items())))
                    fault = server.faults.popleft() if server.faults else None
                if fault is not None:
                    try:
                        self._send_fault(fault)
                    except (BrokenPipeError, ConnectionResetError):
                        self.close_connection = True  # the client gave up first (its read timeout)
                elif parts.path != RESOURCE_PATH:
                    self._send(404, b'{"error": "not found"}', {"Content-Type": "application/json"})
                else:
                    body = json.dumps(server.visible_rows(params)).encode()
                    self._send(200, body, {"Content-Type": "application/json;charset=utf-8"})

            def _send_fault(self, fault: Fault) -> None:
                time.sleep(fault.delay)
                if fault.cut_after is None:
                    self._send(fault.status, fault.body, fault.headers)
                    return
                self.send_response(fault.status)
                self.send_header("Content-Length", str(len(fault.body)))
                for name, value in fault.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(fault.body[: fault.cut_after])
                self.wfile.flush()
                self.close_connection = True

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of the base class)
                """Stay quiet: the demo and tests read the request log instead."""

        return Handler


@contextmanager
def local_socrata(rows: Sequence[dict[str, Any]]) -> Iterator[LocalSocrata]:
    """Run a LocalSocrata server for the duration of the block."""
    server = LocalSocrata(rows).start()
    try:
        yield server
    finally:
        server.stop()
