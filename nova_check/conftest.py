"""Run the suite against the real Nova once per policy profile, on demand."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from nova_check.harness import REPOSITORY_ROOT, HarnessError, NovaHarness
from nova_check.pinned import load_pinned
from tests.suite_run import SuiteRun, run_suite

DEFAULT_NOVA_PYTHON = REPOSITORY_ROOT / ".venv-nova" / "bin" / "python"
RUNS_KEY = pytest.StashKey["NovaRuns"]()


@dataclass
class NovaRun:
    """One run of the suite against a freshly started Nova."""

    profile: str
    suite: SuiteRun
    start_seconds: float
    suite_seconds: float
    work_dir: Path


class NovaRuns:
    """Runs of the suite against Nova, one per profile, made when first needed."""

    def __init__(self, python: Path, base_dir: Path, seed: int) -> None:
        self.python = python
        self.base_dir = base_dir
        self.seed = seed
        self.runs: dict[str, NovaRun] = {}
        self.errors: dict[str, str] = {}

    def get(self, profile: str) -> NovaRun:
        """Return the run under ``profile``; fail the test if Nova could not run it."""
        if profile not in self.runs and profile not in self.errors:
            try:
                self.runs[profile] = self._run(profile)
            except HarnessError as exc:
                self.errors[profile] = str(exc)
        if profile in self.errors:
            pytest.fail(self.errors[profile], pytrace=False)
        return self.runs[profile]

    def _run(self, profile: str) -> NovaRun:
        work_dir = self.base_dir / profile
        work_dir.mkdir(parents=True)
        with NovaHarness(self.python, work_dir) as harness:
            started = time.monotonic()
            try:
                suite = run_suite(
                    f"--target={harness.url}",
                    f"--personas={harness.personas}",
                    f"--policy-profile={profile}",
                    f"--seed={self.seed}",
                    f"--report-md={work_dir / 'report.md'}",
                    tmp_path=work_dir,
                )
            except subprocess.TimeoutExpired as exc:
                raise HarnessError(
                    f"the suite timed out after {exc.timeout:.0f} s under profile "
                    f"{profile}; the end of {harness.log}:\n{harness.log_tail()}"
                ) from None
            suite_seconds = time.monotonic() - started

        if suite.gate == "missing":
            raise HarnessError(
                f"the suite wrote no report under profile {profile} (exit code "
                f"{suite.exit_code}):\n{suite.summary()}"
            )
        return NovaRun(profile, suite, harness.start_seconds, suite_seconds, work_dir)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nova_check", "judging the real Nova")
    group.addoption(
        "--nova-python",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"interpreter of Nova's environment (default {DEFAULT_NOVA_PYTHON})",
    )


def pytest_configure(config: pytest.Config) -> None:
    python = config.getoption("nova_python")
    if python is None:
        return
    if not python.exists():
        raise pytest.UsageError(
            f"--nova-python {python} does not exist; give the interpreter of the "
            "environment that 'bash nova_harness/setup.sh' made"
        )
    # The harness starts in the repository root, so a relative path must not
    # depend on where pytest was started.
    config.option.nova_python = (config.invocation_params.dir / python).absolute()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Stop before any test when a selected test needs Nova and it is not set up."""
    needs_nova = any(
        "nova_runs" in getattr(item, "fixturenames", ()) for item in session.items
    )
    if needs_nova and not nova_python(session.config).exists():
        raise pytest.UsageError(
            f"{DEFAULT_NOVA_PYTHON} does not exist: create Nova's environment with "
            "'bash nova_harness/setup.sh', or give its interpreter with --nova-python"
        )


def nova_python(config: pytest.Config) -> Path:
    """Return the interpreter of Nova's environment that this run uses."""
    python: Path | None = config.getoption("nova_python")
    return python or DEFAULT_NOVA_PYTHON


@pytest.fixture(scope="session")
def nova_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> NovaRuns:
    runs = NovaRuns(
        nova_python(request.config),
        tmp_path_factory.mktemp("nova", numbered=True),
        load_pinned().seed,
    )
    request.config.stash[RUNS_KEY] = runs
    return runs


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    runs = config.stash.get(RUNS_KEY, None)
    if runs is None or not (runs.runs or runs.errors):
        return
    terminalreporter.section("runs against Nova")
    for profile, run in runs.runs.items():
        terminalreporter.write_line(
            f"profile {profile}: Nova served after {run.start_seconds:.1f} s; the "
            f"suite ran {run.suite_seconds:.1f} s, exit code {run.suite.exit_code}, "
            f"gate {run.suite.gate}; reports in {run.work_dir}"
        )
    for profile, error in runs.errors.items():
        terminalreporter.write_line(f"profile {profile}: {error.splitlines()[0]}")
