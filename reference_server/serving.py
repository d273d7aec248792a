"""Serving the WSGI application over HTTP in a background thread.

The server is cheroot, CherryPy's maintained WSGI server, in pure Python. Its
thread pool runs concurrent requests concurrently, which the concurrency checks
need. It supports keep-alive and chunked request bodies, and it sets TCP_NODELAY
by default, so Nagle's algorithm does not delay a response sent in small parts.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from types import TracebackType
from typing import Any

from cheroot import wsgi

__all__ = ["RunningServer", "ServerStartError", "serve_in_thread"]

logger = logging.getLogger("reference_server")

# Maximum size of the request line plus headers. cheroot's default is no limit.
# Past this limit cheroot itself sends a 413 with a plain-text body.
MAX_REQUEST_HEADER_BYTES = 65536


class ServerStartError(RuntimeError):
    """The HTTP server sent no response within the start timeout."""


class RunningServer:
    """A cheroot server running in a thread, stopped by ``stop()`` or ``with``."""

    def __init__(
        self, server: wsgi.Server, thread: threading.Thread, host: str
    ) -> None:
        self._server = server
        self._thread = thread
        self._stop_lock = threading.Lock()
        self._stopped = False
        self.host = host
        self.port: int = server.bind_addr[1]

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:41234``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and join the thread. Calling it again does nothing."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self._server.stop()
        self._thread.join(timeout)
        logger.info("Stopped serving the Compute API on %s", self.url)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    threads: int = 16,
    start_timeout: float = 10.0,
) -> RunningServer:
    """Serve ``app`` on ``host:port`` (0 picks a free port) until stopped.

    Returns once the server responds to ``GET /``. Raises OSError if the address
    cannot be bound, ServerStartError if no response comes within
    ``start_timeout`` seconds.
    """
    server = wsgi.Server(
        (host, port),
        app,
        numthreads=threads,
        server_name="reference_server",
        # The listen() backlog. With cheroot's default of 5, bursts of 16
        # simultaneous connections had some reset in the concurrency test.
        request_queue_size=128,
    )
    server.max_request_header_size = MAX_REQUEST_HEADER_BYTES
    server.prepare()

    thread = threading.Thread(
        target=server.serve, name=f"cheroot-{host}-{port}", daemon=True
    )
    thread.start()
    running = RunningServer(server, thread, host)
    try:
        _wait_until_answering(running, start_timeout)
    except BaseException:
        running.stop()
        raise
    logger.info("Serving the Compute API on %s", running.url)
    return running


def _wait_until_answering(running: RunningServer, timeout: float) -> None:
    """Poll ``GET /`` with growing pauses until the server sends any response."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(running.host, running.port, timeout=1.0)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
            return
        except OSError as exc:
            last_error = exc
        finally:
            connection.close()
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
    raise ServerStartError(
        f"the server on {running.url} sent no response to GET / within {timeout} s:"
        f" {last_error}"
    )
