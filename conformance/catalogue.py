"""Write docs/rules.md: each rule, the spec elements that encode it, the checks.

Run ``python -m conformance.catalogue`` to rewrite the page after changing
spec/openapi.yaml or a check's rules; a test fails while the page is stale.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance.spec import DEFAULT_SPEC_PATH, REPOSITORY_ROOT, Spec

__all__ = ["RULES_PAGE", "check_rules", "render_rules_page", "spec_elements"]

RULES_PAGE = REPOSITORY_ROOT / "docs" / "rules.md"
SUITE_DIR = Path(__file__).resolve().parent


def spec_elements(node: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """Yield (JSON pointer, rule id) for every rule an ``x-rules`` list names."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key == "x-rules" and all(isinstance(item, str) for item in value):
                for rule_id in value:
                    yield pointer or "/", rule_id
            elif key not in ("x-rules", "x-review-findings"):
                yield from spec_elements(value, path)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from spec_elements(item, f"{pointer}/{index}")


def check_rules(suite_dir: Path = SUITE_DIR) -> dict[str, list[str]]:
    """Map each check (``module::function``) to the rules its marker names.

    Reads the test modules' source rather than importing them, so it needs no
    configured plugin.
    """
    checks: dict[str, list[str]] = {}
    for path in sorted(suite_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = _string_tuples(tree)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                rules = [
                    rule
                    for decorator in node.decorator_list
                    for rule in _marker_rules(decorator, constants)
                ]
                checks[f"{path.name}::{node.name}"] = rules
    return checks


def _string_tuples(tree: ast.Module) -> dict[str, list[str]]:
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(
            node.value, ast.Tuple | ast.List
        ):
            values = [
                item.value for item in node.value.elts if isinstance(item, ast.Constant)
            ]
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = [str(value) for value in values]
    return constants


def _marker_rules(decorator: ast.expr, constants: dict[str, list[str]]) -> list[str]:
    if not (
        isinstance(decorator, ast.Call)
        and ast.unparse(decorator.func) == "pytest.mark.rule"
    ):
        return []
    rules: list[str] = []
    for argument in decorator.args:
        if isinstance(argument, ast.Constant):
            rules.append(str(argument.value))
        elif isinstance(argument, ast.Starred) and isinstance(argument.value, ast.Name):
            rules.extend(constants.get(argument.value.id, []))
    return rules


def render_rules_page(spec: Spec) -> str:
    """Render the traceability page for spec reviewers."""
    elements: dict[str, list[str]] = {rule_id: [] for rule_id in spec.rules}
    for pointer, rule_id in spec_elements(dict(spec.document)):
        elements.setdefault(rule_id, []).append(pointer)
    checks: dict[str, list[str]] = {rule_id: [] for rule_id in spec.rules}
    for check, rules in check_rules().items():
        for rule_id in rules:
            checks.setdefault(rule_id, []).append(check)

    lines = [
        "# Rules of the Migrate Server action",
        "",
        "Generated from `spec/openapi.yaml` and the checks in `conformance/` by",
        "`python -m conformance.catalogue`; a test fails while this page is stale.",
        "",
        "Each rule: the statement, where it comes from, its level and why, the spec",
        "elements that encode it (JSON pointers into `spec/openapi.yaml`), and the",
        "checks that verify it. Required rules are the conformance gate; advisory",
        "rules are reported and never fail it.",
        "",
    ]
    for rule in spec.rules.values():
        lines += _rule_section(rule, elements[rule.id], checks[rule.id])
    lines += _findings_section(spec)
    return "\n".join(lines)


def _rule_section(rule: Any, pointers: list[str], checks: list[str]) -> list[str]:
    lines = [
        f"## `{rule.id}`",
        "",
        f"**{rule.level}**, {rule.origin}. {rule.statement}",
        "",
        f"- Source: {rule.source}",
    ]
    if rule.reading:
        lines.append(f"- Reading: {rule.reading}")
    lines.append("- Encoded in: " + ", ".join(f"`{pointer}`" for pointer in pointers))
    lines.append("- Checked by: " + ", ".join(f"`{check}`" for check in checks))
    lines.append("")
    return lines


def _findings_section(spec: Spec) -> list[str]:
    lines = [
        "## Spec review findings",
        "",
        "Where the API reference is ambiguous, silent or at odds with itself, and",
        "the reading this suite takes.",
        "",
    ]
    for finding in spec.document.get("x-review-findings", []):
        lines += [
            f"### {finding['topic']}",
            "",
            " ".join(finding["finding"].split()),
            "",
            f"Reading: {' '.join(finding['reading'].split())}",
            "",
        ]
    return lines


def main() -> None:
    page = render_rules_page(Spec(DEFAULT_SPEC_PATH))
    RULES_PAGE.parent.mkdir(parents=True, exist_ok=True)
    RULES_PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {RULES_PAGE}", file=sys.stderr)


if __name__ == "__main__":
    main()
