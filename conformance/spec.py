"""Read the OpenAPI document: its rule catalogue and its response schemas."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["DEFAULT_SPEC_PATH", "MIGRATE_PATH", "Rule", "Spec", "SpecError"]

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC_PATH = REPOSITORY_ROOT / "spec" / "openapi.yaml"
MIGRATE_PATH = "/v2.1/{tenant_id}/servers/{server_id}/action"
LEVELS = ("required", "advisory")
_SPEC_URI = "urn:conformance:spec"


class SpecError(Exception):
    """The OpenAPI document is missing, unreadable or lacks what the suite needs."""


@dataclass(frozen=True)
class Rule:
    """One rule of the catalogue under ``x-rules``."""

    id: str
    level: str
    origin: str
    statement: str
    source: str
    reading: str = ""

    @property
    def required(self) -> bool:
        return self.level == "required"


class Spec:
    """The OpenAPI document of the migrate action, loaded once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"cannot read the OpenAPI document {path}: {exc}") from exc
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"{path} is not valid YAML: {exc}") from exc
        if not isinstance(document, Mapping) or "paths" not in document:
            raise SpecError(f"{path} is not an OpenAPI document: it has no 'paths'")
        self.document: Mapping[str, Any] = document

    @property
    def version(self) -> str:
        return str(self.document.get("info", {}).get("version", "unknown"))

    @cached_property
    def rules(self) -> dict[str, Rule]:
        """Return the rule catalogue, keyed by rule id, in document order."""
        rules: dict[str, Rule] = {}
        for entry in self.document.get("x-rules", []):
            rule = Rule(
                id=entry["id"],
                level=entry["level"],
                origin=entry["origin"],
                statement=" ".join(entry["statement"].split()),
                source=" ".join(entry["source"].split()),
                reading=" ".join(entry.get("reading", "").split()),
            )
            if rule.level not in LEVELS:
                raise SpecError(
                    f"rule {rule.id} has level {rule.level!r}, not one of {LEVELS}"
                )
            if rule.id in rules:
                raise SpecError(f"rule {rule.id} is listed twice under x-rules")
            rules[rule.id] = rule
        if not rules:
            raise SpecError(f"{self.path} has no rule catalogue under x-rules")
        return rules

    @cached_property
    def _registry(self) -> Registry:
        resource = Resource.from_contents(
            dict(self.document), default_specification=DRAFT202012
        )
        return Registry().with_resource(_SPEC_URI, resource)

    def documented_statuses(self) -> set[int]:
        """Return the status codes the migrate operation documents."""
        responses = self.document["paths"][MIGRATE_PATH]["post"]["responses"]
        return {int(status) for status in responses}

    def response_validator(self, status: int) -> Draft202012Validator | None:
        """Return a validator for the migrate operation's JSON body at ``status``.

        Returns None for a status the document gives no JSON body, such as 202.
        """
        responses = self.document["paths"][MIGRATE_PATH]["post"]["responses"]
        response = responses.get(str(status))
        if response is None:
            return None
        if "$ref" in response:
            response = self._resolve_local(response["$ref"])
        media = response.get("content", {}).get("application/json")
        if media is None:
            return None
        schema = _rebase(media["schema"])
        return Draft202012Validator(schema, registry=self._registry)

    def _resolve_local(self, reference: str) -> Mapping[str, Any]:
        node: Any = self.document
        for part in reference.removeprefix("#/").split("/"):
            node = node[_unescape(part)]
        return node


def _rebase(schema: Any) -> Any:
    """Point the schema's local references at the whole document."""
    if isinstance(schema, dict):
        return {
            key: (
                f"{_SPEC_URI}{value}"
                if key == "$ref" and isinstance(value, str) and value.startswith("#")
                else _rebase(value)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(item) for item in schema]
    return schema


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")
