"""The suite predicts every persona's outcome under a policy file, as oslo.policy does.

For each policy file, the reference server enforcing it passes the policy checks,
and a server enforcing another rule than the suite's --policy-file fails them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_server import create_app, serve_in_thread
from tests.faults import POLICIES
from tests.suite_run import SuiteRun, run_suite

PERSONAS_FILE = Path(__file__).resolve().parent.parent / "personas" / "reference.yaml"
# The checks whose expectations depend on the policy.
POLICY_CHECKS = ("conformance/test_policy.py", "conformance/test_state.py")

POLICY_FILES = [
    pytest.param("admin-only.yaml", id="admin-only"),
    pytest.param("owner-only.yaml", id="owner"),
    pytest.param("nova.yaml", id="project-manager"),
    pytest.param("readers-only.yaml", id="custom-role"),
    pytest.param("deny-all.yaml", id="deny-all"),
    pytest.param("allow-all.yaml", id="allow-all"),
]

# A server enforcing the first file while the suite's --policy-file names the
# second: the two disagree on at least one persona.
MISMATCHES = [
    pytest.param("admin-only.yaml", "owner-only.yaml", id="admin-only-told-owner"),
    pytest.param("owner-only.yaml", "admin-only.yaml", id="owner-told-admin-only"),
    pytest.param("nova.yaml", "readers-only.yaml", id="manager-told-custom-role"),
    pytest.param("readers-only.yaml", "nova.yaml", id="custom-role-told-manager"),
    pytest.param("deny-all.yaml", "allow-all.yaml", id="deny-all-told-allow-all"),
    pytest.param("allow-all.yaml", "deny-all.yaml", id="allow-all-told-deny-all"),
]


def run_policy_checks(
    server_policy: Path, suite_policy: Path, tmp_path: Path
) -> SuiteRun:
    with serve_in_thread(create_app(policy_file=server_policy), port=0) as server:
        return run_suite(
            "--target",
            server.url,
            "--personas",
            str(PERSONAS_FILE),
            "--policy-file",
            str(suite_policy),
            "--state-timeout",
            "2",
            tmp_path=tmp_path,
            paths=POLICY_CHECKS,
        )


@pytest.mark.parametrize("policy", POLICY_FILES)
def test_server_enforcing_policy_passes(policy, tmp_path):
    run = run_policy_checks(POLICIES / policy, POLICIES / policy, tmp_path)

    assert run.exit_code == 0, run.summary()
    assert run.verdicts["policy-configurable"] == "passed", run.summary()
    persona_checks = [name for name in run.passed if "test_policy_file_outcome" in name]
    assert len(persona_checks) == 9, run.summary()


@pytest.mark.parametrize(("server_policy", "suite_policy"), MISMATCHES)
def test_server_enforcing_other_rule_fails(server_policy, suite_policy, tmp_path):
    run = run_policy_checks(POLICIES / server_policy, POLICIES / suite_policy, tmp_path)

    assert run.exit_code == 1, run.summary()
    assert run.verdicts["policy-configurable"] == "failed", run.summary()
