"""Serve a WSGI application over HTTP on loopback with cheroot, in a thread.

cheroot is CherryPy's WSGI server: HTTP/1.1 with keep-alive and chunked
request bodies, and a thread pool, so concurrent requests reach Nova
concurrently as they would under uWSGI or mod_wsgi.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from cheroot import wsgi

__all__ = ["HttpServer", "ServerStartError"]

logger = logging.getLogger("nova_harness")

LOOPBACK = "127.0.0.1"

# Enough for the suite's concurrent migrate checks plus its polling; cheroot's
# default of 10 threads would queue them.
SERVER_THREADS = 20


class ServerStartError(RuntimeError):
    """The HTTP server did not accept connections within the start timeout."""


class HttpServer:
    """A cheroot server on 127.0.0.1, started by ``start`` and ended by ``stop``."""

    def __init__(self, app: Any, port: int) -> None:
        self._server = wsgi.Server((LOOPBACK, port), app, numthreads=SERVER_THREADS)
        self._thread = threading.Thread(
            target=self._server.serve, name="nova-api-http", daemon=True
        )

    @property
    def url(self) -> str:
        """The root URL, such as ``http://127.0.0.1:8774``."""
        return f"http://{LOOPBACK}:{self._server.bind_addr[1]}"

    def start(self, timeout: float = 10.0) -> None:
        """Bind, start serving, and return once a connection is accepted."""
        self._server.prepare()
        self._thread.start()

        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(self._server.bind_addr, timeout=1):
                    return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise ServerStartError(
                        f"{self.url} accepted no connection within {timeout} s: {exc}"
                    ) from exc
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop accepting requests and join the server thread."""
        self._server.stop()
        self._thread.join(10)
        logger.info("stopped serving %s", self.url)
