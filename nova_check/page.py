"""Write docs/nova-divergences.md from the pinned verdicts in expected.yaml.

python -m nova_check.page
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Mapping

from conformance.spec import Rule, Spec
from nova_check.harness import REPOSITORY_ROOT
from nova_check.pinned import Pinned, PinnedVerdict, load_pinned

__all__ = ["PAGE", "render_page"]

PAGE = REPOSITORY_ROOT / "docs" / "nova-divergences.md"

INTRO = """\
# Nova {nova} against the Migrate Server rules

For spec reviewers: where the API reference and the real Nova {nova}
disagree, each with the request the suite sent and the response Nova gave.

CI starts Nova with `nova_harness`: Nova's own functional-test control plane,
with sqlite, the fake virt driver on two computes and Placement in process.
It runs the whole suite against it under both policy profiles with
`--seed {seed}`, and `nova_check/` fails when a verdict below changes, or the
set of checks behind a failed one. The verdicts and the texts on this page
come from `nova_check/expected.yaml`, and `python -m nova_check.page` writes
the page from it.

## Verdicts

| rule | level | `--policy-profile nova` | `--policy-profile document` |
| --- | --- | --- | --- |
"""


def render_page(pinned: Pinned, rules: Mapping[str, Rule]) -> str:
    """Return the Markdown page for ``pinned``."""
    parts = [INTRO.format(nova=pinned.nova, seed=pinned.seed)]
    profiles = ("nova", "document")
    by_profile = {profile: pinned.profile(profile) for profile in profiles}
    for rule_id, rule in rules.items():
        cells = " | ".join(_cell(by_profile[p].get(rule_id)) for p in profiles)
        parts.append(f"| {rule_id} | {rule.level} | {cells} |\n")
    gates = " | ".join(pinned.gates[profile] for profile in profiles)
    parts.append(f"| gate | | {gates} |\n\nEach verdict other than passed:\n\n")
    for rule_id in rules:
        pinned_verdicts = [by_profile[p].get(rule_id) for p in profiles]
        parts.extend(_explanations(rule_id, [v for v in pinned_verdicts if v]))
    parts.append("\n## Divergences\n")
    for divergence in pinned.divergences.values():
        parts.append(
            f'\n<a id="{divergence.id}"></a>\n'
            f"### {divergence.title}\n\n"
            f"Rules: {', '.join(divergence.rules)}.\n\n"
            f"```\n{divergence.request}\n```\n\n"
            f"```\n{divergence.response}\n```\n\n"
            f"{_wrap(divergence.explanation)}\n"
        )
    if pinned.readings:
        parts.append("\n## Readings of the text that running Nova settled\n\n")
        for reading in pinned.readings:
            text = " ".join(reading["text"].split())
            parts.append(_wrap(f"- **{reading['rule']}.** {text}", "  ") + "\n")
    return "".join(parts)


def _explanations(rule_id: str, verdicts: list[PinnedVerdict]) -> list[str]:
    """Return a bullet per distinct verdict and reason of a rule, with its profiles."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for verdict in verdicts:
        if verdict.verdict != "passed":
            key = (verdict.verdict, verdict.reason, verdict.divergences)
            groups.setdefault(key, []).append(verdict.profile)
    lines = []
    for (name, reason, divergences), profiles in groups.items():
        where = "both profiles" if len(profiles) > 1 else f"profile {profiles[0]}"
        links = ", ".join(f"[{d}](#{d})" for d in divergences)
        see = f" See {links}." if links else ""
        text = f"- **{rule_id}**, {name} under {where}: {reason}{see}"
        lines.append(_wrap(text, "  ") + "\n")
    return lines


def _cell(verdict: PinnedVerdict | None) -> str:
    if verdict is None:
        return "not pinned"
    if verdict.divergences:
        return f"[{verdict.verdict}](#{verdict.divergences[0]})"
    return verdict.verdict


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(
        text,
        78,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def main() -> int:
    text = render_page(load_pinned(), Spec(REPOSITORY_ROOT / "spec/openapi.yaml").rules)
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
