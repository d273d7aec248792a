"""The pinned verdicts of Nova 34 in nova_check/expected.yaml, read and checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Divergence", "Pinned", "PinnedVerdict", "load_pinned"]

EXPECTED_FILE = Path(__file__).resolve().parent / "expected.yaml"
VERDICTS = ("passed", "failed", "skipped", "not applicable", "not run")


@dataclass(frozen=True)
class PinnedVerdict:
    """The verdict the suite must give Nova on one rule under one profile."""

    profile: str
    rule: str
    verdict: str
    failed_checks: frozenset[str] = frozenset()
    divergences: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Divergence:
    """A place where Nova 34 and the API reference disagree, with the exchange."""

    id: str
    title: str
    rules: tuple[str, ...]
    request: str
    response: str
    explanation: str


@dataclass
class Pinned:
    """The whole file: Nova's version, the suite's seed, verdicts and divergences."""

    nova: str
    seed: int
    gates: dict[str, str]
    verdicts: list[PinnedVerdict]
    divergences: dict[str, Divergence]
    readings: list[dict[str, str]] = field(default_factory=list)

    def profile(self, name: str) -> dict[str, PinnedVerdict]:
        return {v.rule: v for v in self.verdicts if v.profile == name}


def load_pinned(path: Path = EXPECTED_FILE) -> Pinned:
    """Read the pinned verdicts; a malformed entry raises ValueError naming it."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    divergences = {
        entry["id"]: Divergence(
            entry["id"],
            entry["title"],
            tuple(entry["rules"]),
            entry["request"].rstrip("\n"),
            entry["response"].rstrip("\n"),
            " ".join(entry["explanation"].split()),
        )
        for entry in document["divergences"]
    }
    verdicts: list[PinnedVerdict] = []
    gates: dict[str, str] = {}
    for profile, entry in document["profiles"].items():
        gates[profile] = entry["gate"]
        for rule, value in entry["rules"].items():
            verdicts.append(_verdict(profile, rule, value))
    return Pinned(
        nova=str(document["nova"]),
        seed=int(document["seed"]),
        gates=gates,
        verdicts=verdicts,
        divergences=divergences,
        readings=document.get("readings", []),
    )


def _verdict(profile: str, rule: str, value: Any) -> PinnedVerdict:
    if isinstance(value, str):
        value = {"verdict": value}
    verdict = value["verdict"]
    if verdict not in VERDICTS:
        raise ValueError(
            f"{EXPECTED_FILE.name}: {profile}/{rule}: verdict {verdict!r} is not one "
            f"of {', '.join(VERDICTS)}"
        )
    return PinnedVerdict(
        profile,
        rule,
        verdict,
        frozenset(value.get("failed_checks", ())),
        tuple(value.get("divergences", ())),
        " ".join(str(value.get("reason", "")).split()),
    )
