"""The suite passes a correct server and fails each faulty one on the broken rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_server import create_app, serve_in_thread
from tests.faults import FAULT_OUTCOMES, FAULTS, POLICIES, Fault
from tests.suite_run import SuiteRun, run_suite

PERSONAS_FILE = str(
    Path(__file__).resolve().parent.parent / "personas" / "reference.yaml"
)
# Ten generated requests reach every kind of invalid input and keep one run of
# the suite short. The reference server settles within 0.2 s, so a 2 s wait for a
# status is ample, and a 2 s wait for a response catches a fault that hangs.
SUITE_OPTIONS = ("--examples", "10", "--state-timeout", "2", "--request-timeout", "2")


def run_suite_against(url: str, policy_file: Path | None, tmp_path: Path) -> SuiteRun:
    options = ["--target", url, "--personas", PERSONAS_FILE, *SUITE_OPTIONS]
    if policy_file is not None:
        options += ["--policy-file", str(policy_file)]
    return run_suite(*options, tmp_path=tmp_path)


@pytest.fixture
def serve():
    started = []

    def start(app) -> str:
        server = serve_in_thread(app, host="127.0.0.1", port=0)
        started.append(server)
        return server.url

    yield start
    for server in started:
        server.stop()


@pytest.mark.parametrize(
    "policy",
    [None, "admin-only.yaml", "owner-only.yaml"],
    ids=["default", "admin-only", "owner-only"],
)
def test_correct_server_passes(policy, serve, tmp_path):
    policy_file = POLICIES / policy if policy else None
    url = serve(create_app(policy_file=policy_file))

    run = run_suite_against(url, policy_file, tmp_path)

    assert run.exit_code == 0, run.summary()
    assert run.gate == "passed", run.summary()
    assert not run.failed, run.summary()
    assert not run.advisory, run.summary()
    assert "failed" not in run.verdicts.values(), run.verdicts
    assert len(run.passed) > 40, run.summary()


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_faulty_server_fails_on_broken_rule(fault: Fault, serve, tmp_path):
    app = create_app(policy_file=fault.server_policy)
    if fault.middleware is not None:
        app = fault.middleware(app)
    url = serve(app)

    run = run_suite_against(url, fault.suite_policy, tmp_path)

    caught = run.advisory if fault.advisory else run.failed
    missed = [
        name for name in fault.must_fail if not any(name in test for test in caught)
    ]
    FAULT_OUTCOMES[fault.name] = run.verdicts.get(fault.rule) == "failed"
    assert run.verdicts.get(fault.rule) == "failed", (
        f"{fault.name} breaks {fault.rule}, whose verdict is "
        f"{run.verdicts.get(fault.rule)}\n{run.summary()}"
    )
    assert not missed, (
        f"{fault.name} ({fault.rule}) was not caught by {missed}\n{run.summary()}"
    )
    assert run.gate == ("passed" if fault.advisory else "failed"), run.summary()
    assert run.exit_code == (0 if fault.advisory else 1), run.summary()
