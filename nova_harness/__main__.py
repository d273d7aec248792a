"""Run the real Nova API on 127.0.0.1 until SIGTERM or SIGINT.

Usage (with the interpreter of the venv that setup.sh makes)::

    .venv-nova/bin/python -m nova_harness --port 8774 --personas-out nova-personas.yaml
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from nova_harness.personas import make_identities, write_personas_file

logger = logging.getLogger("nova_harness")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m nova_harness",
        description=(
            "Serve the real Nova 34 Compute API on 127.0.0.1, backed by Nova's "
            "functional-test fixtures, and write a personas file for it."
        ),
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8774,
        help="TCP port on 127.0.0.1 to serve on; 0 picks a free one (default 8774)",
    )
    parser.add_argument(
        "--personas-out",
        type=Path,
        default=Path("nova-personas.yaml"),
        metavar="FILE",
        help="where to write the personas file (default nova-personas.yaml)",
    )
    parser.add_argument(
        "--policy-file",
        type=Path,
        metavar="FILE",
        help="a Nova policy file (YAML or JSON) to enforce; default: Nova's own "
        "default rules, with enforce_new_defaults on",
    )
    parser.add_argument(
        "--computes",
        type=int,
        default=2,
        metavar="N",
        help="number of compute hosts, at least 2 (default 2)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="level of the log written to stderr (default INFO)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is out of range; use 0 to 65535")
    if args.computes < 2:
        parser.error(
            f"--computes {args.computes} is too few: cold migration needs a "
            "second host; use 2 or more"
        )
    return args


def select_threading_mode() -> None:
    """Make Nova run on native threads instead of eventlet, before it is imported.

    Importing ``nova.tests.functional`` applies eventlet monkey patching unless
    this variable is set. With it set, ``patch`` instead blocks any later import
    of eventlet, so it must run before a library that would import eventlet
    when it can (futurist does).
    """
    os.environ["OS_NOVA_DISABLE_EVENTLET_PATCHING"] = "true"
    from nova import monkey_patch

    monkey_patch.patch()


def install_stop_handlers() -> threading.Event:
    """Return an event that SIGTERM or SIGINT sets, from now on.

    Installed before Nova starts, so a signal during the start-up still ends
    in an orderly stop that removes the temporary databases.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    stop = install_stop_handlers()

    select_threading_mode()
    # Imported after the mode is chosen: these modules import Nova.
    from nova_harness.control_plane import ControlPlane, ControlPlaneError
    from nova_harness.pipeline import PipelineError, write_paste_config

    # Configured after those imports, because importing nova.test sets up
    # oslo.log, which replaces the root logger's handlers with one on stdout.
    logging.basicConfig(
        level=args.log_level, format=LOG_FORMAT, stream=sys.stderr, force=True
    )

    identities = make_identities()
    write_personas_file(args.personas_out, identities)
    compute_hosts = [f"compute{number}" for number in range(1, args.computes + 1)]

    with tempfile.TemporaryDirectory(prefix="nova-harness-") as work_dir:
        try:
            paste_config = write_paste_config(Path(work_dir), args.personas_out)
            plane = ControlPlane(compute_hosts, paste_config, args.policy_file)
        except (PipelineError, ControlPlaneError) as exc:
            logger.error("%s", exc)
            return 2

        try:
            app = plane.start()
            return serve(app, args, stop, started)
        finally:
            plane.stop()


def serve(
    app: object, args: argparse.Namespace, stop: threading.Event, started: float
) -> int:
    """Serve ``app`` on 127.0.0.1 until ``stop`` is set; return the exit status."""
    from nova_harness.serving import HttpServer, ServerStartError

    server = HttpServer(app, args.port)
    try:
        server.start()
    except (OSError, ServerStartError) as exc:
        logger.error(
            "could not serve on 127.0.0.1:%s: %s; choose another --port",
            args.port,
            exc,
        )
        return 1

    try:
        logger.info(
            "serving the Nova API at %s (started in %.1f s); personas in %s",
            server.url,
            time.monotonic() - started,
            args.personas_out,
        )
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
