"""Measure the suite and the reference server, and write docs/benchmarks.md.

Figures: the suite's wall time and request count (default run and 1000
generated examples), the reference server's requests/s against a bare 404 app
on the same HTTP server, and the reference server's memory with 10,000 servers.
Run it from the repository root: ``.venv/bin/python bench/run.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from conformance.personas import DEFAULT_PERSONAS_PATH, load_personas
from reference_server import create_app, serve_in_thread

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
PAGE = REPOSITORY_ROOT / "docs" / "benchmarks.md"
PERSONAS = load_personas(DEFAULT_PERSONAS_PATH)


class CountingApp:
    """Count the requests that reach a WSGI app."""

    def __init__(self, app) -> None:
        self.app = app
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            self.count += 1
        return self.app(environ, start_response)


def measure_suite(examples: int | None) -> dict[str, float]:
    """Run the suite against an in-process reference server that counts requests."""
    app = CountingApp(create_app())
    with serve_in_thread(app, host="127.0.0.1", port=0) as server:
        command = [
            sys.executable,
            "-m",
            "pytest",
            "conformance",
            "-q",
            "-p",
            "no:cacheprovider",
            "--target",
            server.url,
            "--personas",
            str(DEFAULT_PERSONAS_PATH),
        ]
        if examples is not None:
            command += ["--examples", str(examples)]
        started = time.perf_counter()
        completed = subprocess.run(
            command, cwd=REPOSITORY_ROOT, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - started
    summary = completed.stdout.strip().splitlines()[-1] if completed.stdout else ""
    print(f"suite (examples={examples or 'default'}): {summary}", file=sys.stderr)
    return {
        "wall_seconds": wall,
        "requests": app.count,
        "exit_code": completed.returncode,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def server_process(*command: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start an HTTP server in its own process and yield its URL once it responds."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, *command, "--port", str(port)],
        cwd=REPOSITORY_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{command} did not start on {url}") from None
                time.sleep(0.05)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def requests_per_second(url: str, count: int) -> float:
    """Send ``count`` migrates of an unknown server over one keep-alive session."""
    owner = PERSONAS["owner"]
    target = f"{url}/v2.1/{owner.project_id}/servers/{uuid.uuid4()}/action"
    headers = {"X-Auth-Token": owner.token, "Content-Type": "application/json"}
    with requests.Session() as session:
        for _ in range(50):
            session.post(target, data=b'{"migrate": null}', headers=headers)
        started = time.perf_counter()
        for _ in range(count):
            session.post(target, data=b'{"migrate": null}', headers=headers)
        return count / (time.perf_counter() - started)


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def memory_with_servers(count: int) -> dict[str, float]:
    owner = PERSONAS["owner"]
    server = {"server": {"name": "bench", "flavorRef": "1", "imageRef": "image"}}
    headers = {"X-Auth-Token": owner.token}
    command = ("-m", "reference_server", "--log-level", "WARNING")
    with server_process(*command) as (url, process), requests.Session() as session:
        before = resident_kib(process.pid)
        for _ in range(count):
            response = session.post(
                f"{url}/v2.1/{owner.project_id}/servers", json=server, headers=headers
            )
            response.raise_for_status()
        after = resident_kib(process.pid)
    return {
        "rss_before_mib": before / 1024,
        "rss_after_mib": after / 1024,
        "bytes_per_server": (after - before) * 1024 / count,
    }


def write_page(figures: dict[str, Any], count: int) -> None:
    default, large = figures["suite_default"], figures["suite_1000"]
    reference, bare = figures["throughput"]["reference"], figures["throughput"]["bare"]
    memory = figures["memory"]
    cpu = platform.processor() or platform.machine()
    PAGE.write_text(
        "# Benchmarks\n\n"
        "Written by `bench/run.py`; run it again to refresh these figures. Wall times\n"
        "include starting pytest and importing schemathesis (about 3 s).\n\n"
        f"Measured {datetime.date.today()} on {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}; the 1-minute load average was "
        f"{figures['load']['before']:.1f} before and {figures['load']['after']:.1f} "
        "after; a load above the number of cores means other work shared the "
        "machine.\n\n"
        "| measurement | figure |\n| --- | --- |\n"
        f"| suite, default run: wall time | {default['wall_seconds']:.1f} s |\n"
        f"| suite, default run: requests sent | {default['requests']:.0f} |\n"
        f"| suite, `--examples 1000`: wall time | {large['wall_seconds']:.1f} s |\n"
        f"| suite, `--examples 1000`: requests sent | {large['requests']:.0f} |\n"
        f"| reference server, keep-alive client ({count} migrates, unknown server) "
        f"| {reference:.0f} requests/s |\n"
        f"| bare 404 WSGI app on the same cheroot server | {bare:.0f} requests/s |\n"
        f"| reference server / bare app | {100 * reference / bare:.0f} % |\n"
        f"| reference server memory, empty | {memory['rss_before_mib']:.1f} MiB |\n"
        f"| reference server memory, 10,000 servers "
        f"| {memory['rss_after_mib']:.1f} MiB |\n"
        f"| memory per stored server | {memory['bytes_per_server']:.0f} bytes |\n\n"
        "The suite's runs count the requests that reach the reference server, served\n"
        "in the benchmark's own process, with the suite given `--target`. The\n"
        "throughput figures use a separate server process and one `requests.Session`.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests",
        type=int,
        default=3000,
        help="requests per throughput measurement (default: 3000)",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    figures: dict[str, Any] = {
        "suite_default": measure_suite(None),
        "suite_1000": measure_suite(1000),
        "throughput": {},
        "memory": memory_with_servers(10_000),
    }
    with server_process("-m", "reference_server", "--log-level", "WARNING") as (url, _):
        figures["throughput"]["reference"] = requests_per_second(url, args.requests)
    with server_process("bench/bare_app.py") as (url, _):
        figures["throughput"]["bare"] = requests_per_second(url, args.requests)
    figures["load"] = {"before": load_before, "after": os.getloadavg()[0]}
    write_page(figures, args.requests)
    print(PAGE.read_text())


if __name__ == "__main__":
    main()
