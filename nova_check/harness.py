"""Start nova_harness in its own interpreter, and stop it, for one suite run."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from types import TracebackType

__all__ = ["HarnessError", "NovaHarness"]

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
SERVING = re.compile(r"serving the Nova API at (http://127\.0\.0\.1:\d+)")
LOG_TAIL_LINES = 30


class HarnessError(RuntimeError):
    """nova_harness did not start, or did not stop."""


class NovaHarness:
    """The real Nova API on a free loopback port, run by ``python -m nova_harness``.

    Use it as a context manager: entering starts the harness and waits until it
    serves; leaving sends SIGTERM and waits for the orderly stop.
    """

    def __init__(
        self,
        python: Path,
        work_dir: Path,
        *,
        start_timeout: float = 180.0,
        stop_timeout: float = 60.0,
    ) -> None:
        self.python = python
        self.personas = work_dir / "nova-personas.yaml"
        self.log = work_dir / "nova-harness.log"
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.url = ""
        self.start_seconds = 0.0
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> NovaHarness:
        command = [
            str(self.python),
            "-m",
            "nova_harness",
            "--port",
            "0",
            "--personas-out",
            str(self.personas),
        ]
        started = time.monotonic()
        with self.log.open("wb") as log:
            try:
                self._process = subprocess.Popen(
                    command, cwd=REPOSITORY_ROOT, stdout=log, stderr=subprocess.STDOUT
                )
            except OSError as exc:
                raise HarnessError(
                    f"cannot start nova_harness with {self.python}: {exc.strerror}"
                ) from None
        try:
            self.url = self._wait_until_serving(started)
        except BaseException:
            self._stop()
            raise
        self.start_seconds = time.monotonic() - started
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def log_tail(self) -> str:
        """Return the last lines of the harness's log."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def _wait_until_serving(self, started: float) -> str:
        assert self._process is not None
        while time.monotonic() - started < self.start_timeout:
            match = SERVING.search(self.log.read_text(errors="replace"))
            if match:
                return match.group(1)
            if self._process.poll() is not None:
                raise HarnessError(
                    f"nova_harness exited with status {self._process.returncode} "
                    f"before it served; the end of {self.log}:\n{self.log_tail()}"
                )
            time.sleep(0.2)
        raise HarnessError(
            f"nova_harness did not serve within {self.start_timeout:.0f} s; the end "
            f"of {self.log}:\n{self.log_tail()}"
        )

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise HarnessError(
                f"nova_harness did not stop within {self.stop_timeout:.0f} s of "
                "SIGTERM and was killed"
            ) from None
