"""The OpenAPI documents are valid, and rules, spec elements and checks agree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from conformance.catalogue import RULES_PAGE, check_rules, render_rules_page
from conformance.spec import DEFAULT_SPEC_PATH, Spec

SPEC_DIR = DEFAULT_SPEC_PATH.parent


@pytest.mark.parametrize("name", ["openapi.yaml", "setup.yaml"])
def test_document_is_valid_openapi(name):
    document, uri = read_from_filename(str(SPEC_DIR / name))

    validate(document, base_uri=uri)


def spec_element_rule_ids(node: Any) -> Iterator[str]:
    """Yield every rule id named by an ``x-rules`` list inside the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "x-rules" and all(isinstance(item, str) for item in value):
                yield from value
            else:
                yield from spec_element_rule_ids(value)
    elif isinstance(node, list):
        for item in node:
            yield from spec_element_rule_ids(item)


def test_spec_elements_name_only_catalogue_rules():
    spec = Spec(DEFAULT_SPEC_PATH)

    unknown = set(spec_element_rule_ids(spec.document)) - set(spec.rules)

    assert not unknown, f"spec elements name rules missing from x-rules: {unknown}"


def test_every_rule_is_encoded_by_a_spec_element():
    spec = Spec(DEFAULT_SPEC_PATH)

    unencoded = set(spec.rules) - set(spec_element_rule_ids(spec.document))

    assert not unencoded, f"rules no spec element names in x-rules: {unencoded}"


def test_every_rule_is_verified_by_a_check():
    spec = Spec(DEFAULT_SPEC_PATH)
    checked = set().union(*check_rules().values())

    unchecked = set(spec.rules) - checked

    assert not unchecked, f"rules no conformance check names: {unchecked}"


def test_every_check_names_known_rules():
    rules = set(Spec(DEFAULT_SPEC_PATH).rules)

    for check, ids in check_rules().items():
        assert ids, f"{check} names no rule"
        assert set(ids) <= rules, f"{check} names unknown rules {set(ids) - rules}"


def test_rules_have_statement_source_and_level():
    document = yaml.safe_load(DEFAULT_SPEC_PATH.read_text())

    for entry in document["x-rules"]:
        assert entry.get("statement"), f"rule {entry['id']} has no statement"
        assert entry.get("source"), f"rule {entry['id']} has no source"
        assert entry.get("level") in ("required", "advisory"), entry["id"]
        assert entry.get("origin") in ("stated", "derived"), entry["id"]


def test_ambiguous_readings_are_advisory_or_explained():
    spec = Spec(DEFAULT_SPEC_PATH)

    assert spec.rules["body-migrate-other-values"].level == "advisory"
    assert spec.rules["body-migrate-empty-object"].reading
    assert spec.rules["tenant-id-form"].reading


def test_tenant_schema_admits_keystone_and_uuid_forms():
    from jsonschema import Draft202012Validator

    schema = Spec(DEFAULT_SPEC_PATH).document["components"]["schemas"]["TenantId"]
    validator = Draft202012Validator(
        schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )

    assert validator.is_valid("2b3c4d5e6f7a48b9c0d1e2f3a4b5c6d7")
    assert validator.is_valid("2b3c4d5e-6f7a-48b9-c0d1-e2f3a4b5c6d7")
    assert not validator.is_valid("not-a-project")


def test_migrate_body_schema_accepts_null_and_empty_object():
    from jsonschema import Draft202012Validator

    schema = Spec(DEFAULT_SPEC_PATH).document["components"]["schemas"]["MigrateRequest"]
    validator = Draft202012Validator(schema)

    assert validator.is_valid({"migrate": None})
    assert validator.is_valid({"migrate": {}})
    assert not validator.is_valid({})
    assert not validator.is_valid({"migrate": None, "extra": 1})
    assert not validator.is_valid({"migrate": "now"})


def test_readme_lists_every_rule_with_its_level():
    readme = (DEFAULT_SPEC_PATH.parent.parent / "README.md").read_text()

    for rule in Spec(DEFAULT_SPEC_PATH).rules.values():
        assert f"| `{rule.id}` | {rule.level} |" in readme, (
            f"README's rule table lacks {rule.id} ({rule.level})"
        )


def test_rules_page_is_current():
    expected = render_rules_page(Spec(DEFAULT_SPEC_PATH))

    assert RULES_PAGE.read_text() == expected, (
        "docs/rules.md is stale; run: python -m conformance.catalogue"
    )


def test_review_findings_have_topic_finding_and_reading():
    findings = Spec(DEFAULT_SPEC_PATH).document["x-review-findings"]

    for finding in findings:
        assert finding.get("topic"), finding
        assert finding.get("finding"), finding["topic"]
        assert finding.get("reading"), finding["topic"]
