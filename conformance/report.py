"""The conformance report: JSON for machines, Markdown and a table for people."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from conformance.settings import SuiteSettings
from conformance.verdicts import RuleVerdict, gate_passed

__all__ = ["build_report", "render_markdown", "render_table", "write_reports"]

REPORT_FORMAT = 1
MESSAGE_CHARS = 160


def build_report(
    settings: SuiteSettings, target: str | None, verdicts: list[RuleVerdict]
) -> dict[str, Any]:
    """Build the machine-readable report of one run."""
    return {
        "format": REPORT_FORMAT,
        "target": target,
        "spec": {"path": str(settings.spec.path), "version": settings.spec.version},
        "profile": settings.policy.profile,
        "policy": settings.policy.description,
        "personas": str(settings.personas.path),
        "seed": settings.seed,
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "gate": "passed" if gate_passed(verdicts) else "failed",
        "rules": [
            {
                "id": verdict.rule.id,
                "level": verdict.rule.level,
                "statement": verdict.rule.statement,
                "verdict": verdict.verdict,
                "reason": verdict.reason,
                "checks": verdict.checks,
                "failed_checks": verdict.failed_checks,
            }
            for verdict in verdicts
        ],
    }


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 3] + "..."


def render_table(verdicts: list[RuleVerdict]) -> list[str]:
    """Return terminal lines: one per rule, then the gate verdict."""
    width = max(len(verdict.rule.id) for verdict in verdicts)
    lines = []
    for verdict in verdicts:
        line = f"{verdict.rule.id:<{width}}  {verdict.rule.level:<8}  {verdict.verdict}"
        if verdict.reason and verdict.verdict != "passed":
            line += f": {_first_line(verdict.reason)}"
        lines.append(line)
    gate = "passed" if gate_passed(verdicts) else "failed"
    lines.append(f"gate: {gate} (every required rule must pass)")
    return lines


def render_markdown(report: dict[str, Any]) -> str:
    """Render the report as a Markdown page a vendor can attach to a CI run."""
    lines = [
        "# Migrate Server conformance report",
        "",
        f"- Gate: **{report['gate']}** (every required rule must pass)",
        f"- Target: {report['target']}",
        f"- Spec: {report['spec']['path']} (version {report['spec']['version']})",
        f"- Policy profile: {report['profile']} ({report['policy']})",
        f"- Seed: {report['seed']}",
        f"- Time: {report['timestamp']}",
        "",
        "| rule | level | verdict | detail |",
        "| --- | --- | --- | --- |",
    ]
    for rule in report["rules"]:
        detail = _first_line(rule["reason"]).replace("|", "\\|")
        lines.append(
            f"| `{rule['id']}` | {rule['level']} | {rule['verdict']} | {detail} |"
        )
    lines.append("")
    return "\n".join(lines)


def write_reports(
    report: dict[str, Any], json_path: Path | None, markdown_path: Path | None
) -> None:
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(render_markdown(report), encoding="utf-8")
