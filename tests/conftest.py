"""Shared test configuration: pytester, and the kill rate of the faulty servers."""

from __future__ import annotations

import pytest

from tests.faults import FAULT_OUTCOMES, FAULTS

pytest_plugins = ("pytester",)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    if not FAULT_OUTCOMES:
        return
    caught = sum(FAULT_OUTCOMES.values())
    missed = sorted(
        name for name, was_caught in FAULT_OUTCOMES.items() if not was_caught
    )
    terminalreporter.section("faulty servers")
    terminalreporter.write_line(
        f"kill rate: {caught}/{len(FAULT_OUTCOMES)} faults caught "
        f"({len(FAULTS)} in the catalogue)"
    )
    if missed:
        terminalreporter.write_line(f"missed: {', '.join(missed)}")
