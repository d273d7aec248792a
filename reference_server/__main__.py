"""Command line: ``python -m reference_server --port 8774 --policy-file FILE``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .app import DEFAULT_MAX_BODY_BYTES, create_app
from .auth import DEFAULT_PERSONAS_PATH, PersonasError
from .policy import PolicyFileError
from .serving import serve_in_thread

logger = logging.getLogger("reference_server")


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(
            f"invalid port {text!r}: expected an integer from 0 to 65535"
        )
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"invalid duration {text!r}: expected a number of seconds >= 0"
        )
    return value


def _hosts(text: str) -> list[str]:
    hosts = [name.strip() for name in text.split(",")]
    if not all(hosts) or len(set(hosts)) != len(hosts):
        raise argparse.ArgumentTypeError(
            f"invalid host list {text!r}: expected distinct, non-empty names"
            " separated by commas"
        )
    return hosts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reference_server",
        description="Serve the reference Compute API (Migrate Server) over HTTP.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=8774,
        help="TCP port; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--policy-file",
        type=Path,
        metavar="FILE",
        help="oslo.policy rules (YAML or JSON) that override the default policy rules",
    )
    parser.add_argument(
        "--personas",
        type=Path,
        metavar="FILE",
        default=DEFAULT_PERSONAS_PATH,
        help="personas file: tokens, users, projects, roles (default: %(default)s)",
    )
    parser.add_argument(
        "--hosts",
        type=_hosts,
        default=["compute-1", "compute-2"],
        metavar="NAME,NAME",
        help="compute hosts for servers (default: compute-1,compute-2)",
    )
    parser.add_argument(
        "--build-seconds",
        type=_seconds,
        default=0.05,
        metavar="SECONDS",
        help="time a new server stays in BUILD (default: %(default)s)",
    )
    parser.add_argument(
        "--migrate-seconds",
        type=_seconds,
        default=0.1,
        metavar="SECONDS",
        help="time a migrating server stays in RESIZE (default: %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, serve until SIGINT or SIGTERM, and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    try:
        app = create_app(
            personas_path=args.personas,
            policy_file=args.policy_file,
            hosts=args.hosts,
            build_seconds=args.build_seconds,
            migrate_seconds=args.migrate_seconds,
            max_body_bytes=DEFAULT_MAX_BODY_BYTES,
        )
    except (PersonasError, PolicyFileError) as exc:
        parser.error(str(exc))

    try:
        running = serve_in_thread(app, host=args.host, port=args.port)
    except OSError as exc:
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc}")

    with running:
        _wait_for_stop_signal()
    return 0


def _wait_for_stop_signal() -> None:
    """Block until SIGINT or SIGTERM arrives."""
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("Received signal %s, stopping", signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stop_requested.wait()


if __name__ == "__main__":
    sys.exit(main())
