"""A bare WSGI app answering 404, served by the same cheroot server as the reference.

It is the baseline for the reference server's throughput: what the HTTP server
and the client cost with no Compute API work at all.
"""

from __future__ import annotations

import argparse
import signal
import threading

from reference_server import serve_in_thread

BODY = b'{"itemNotFound": {"code": 404, "message": "Not found."}}'


def not_found(environ, start_response):
    start_response(
        "404 Not Found",
        [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))],
    )
    return [BODY]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with serve_in_thread(not_found, host="127.0.0.1", port=args.port):
        stop.wait()


if __name__ == "__main__":
    main()
