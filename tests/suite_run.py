"""Run the conformance suite in a child pytest and read each test's verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
SUITE_TIMEOUT_SECONDS = 600


@dataclass
class SuiteRun:
    """The outcome of one run of the suite."""

    exit_code: int
    output: str
    failed: set[str] = field(default_factory=set)
    passed: set[str] = field(default_factory=set)
    advisory: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    verdicts: dict[str, str] = field(default_factory=dict)
    gate: str = "missing"
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)

    def summary(self) -> str:
        tail = "\n".join(self.output.splitlines()[-40:])
        return f"exit code {self.exit_code}; failed {sorted(self.failed)}\n{tail}"


def run_suite(
    *args: str, tmp_path: Path, paths: tuple[str, ...] = ("conformance",)
) -> SuiteRun:
    """Run the suite (``paths``) with ``args`` and collect each test's outcome."""
    junit = tmp_path / "junit.xml"
    report = tmp_path / "report.json"
    command = [
        sys.executable,
        "-m",
        "pytest",
        *paths,
        "-p",
        "no:cacheprovider",
        "-q",
        f"--junitxml={junit}",
        f"--report-json={report}",
        *args,
    ]
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    completed = subprocess.run(
        command,
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_SECONDS,
        env=environment,
        check=False,
    )
    run = SuiteRun(completed.returncode, completed.stdout + completed.stderr)
    if junit.exists():
        _read_junit(junit, run)
    if report.exists():
        document = json.loads(report.read_text())
        run.gate = document["gate"]
        run.verdicts = {rule["id"]: rule["verdict"] for rule in document["rules"]}
        run.rules = {rule["id"]: rule for rule in document["rules"]}
    return run


def _read_junit(path: Path, run: SuiteRun) -> None:
    for case in ElementTree.parse(path).iter("testcase"):
        name = case.get("name", "")
        if case.find("failure") is not None or case.find("error") is not None:
            run.failed.add(name)
            continue
        skipped = case.find("skipped")
        if skipped is None:
            run.passed.add(name)
        elif "advisory rule" in (skipped.get("message") or ""):
            run.advisory.add(name)
        else:
            run.skipped.add(name)
