"""Requests generated from spec/openapi.yaml by schemathesis, valid and invalid.

The ids in the path are pinned to a real server, because random ids only ever
reach 404; a second test lets schemathesis generate the server id itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis

from conformance import checks
from conformance.compute import ComputeClient, PreconditionError
from conformance.expect import CheckFailure, RuleFailure, describe_statuses
from conformance.plugin import current_settings
from conformance.servers import ServerFactory, find_migrating_persona
from conformance.settings import SuiteSettings

GENERATED_RULES = (
    "no-server-error",
    "migrate-accepted",
    "accepted-empty-body",
    "body-malformed",
    "body-action-key",
    "body-single-key",
    "token-required",
    "fault-body",
)
CUSTOM_CHECKS = [checks.accepted_without_body]


def generation_persona_name(settings: SuiteSettings) -> str:
    """Pick the persona whose token generated requests carry: one the policy allows.

    Under a policy that allows no persona, it picks admin, whose valid requests
    must then be answered 403.
    """
    persona = find_migrating_persona(settings.personas, settings.policy)
    return persona.name if persona else "admin"


def load_schema(settings: SuiteSettings, accepted_status: int) -> Any:
    persona = settings.personas[generation_persona_name(settings)]
    config = schemathesis.Config.from_dict(
        {
            "seed": settings.seed,
            "auth": {"openapi": {"keystoneToken": {"api_key": persona.token}}},
            "generation": {"mode": "all", "max-examples": settings.examples},
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [str(accepted_status)]
                },
                # Replaced by expect_rule_status, which checks the status each
                # rule names and leaves advisory rules to their own tests.
                "negative_data_rejection": {"enabled": False},
                # No rule of the API reference covers other HTTP methods.
                "unsupported_method": {"enabled": False},
            },
        }
    )
    schema = schemathesis.openapi.from_path(settings.spec.path, config=config)
    return schema.include(operation_id="migrateServer")


_settings = current_settings()
_persona_name = generation_persona_name(_settings)
_allowed = _settings.policy.allows_migrate(
    _settings.personas[_persona_name], _settings.personas["owner"].project_id
)
pinned_schema = load_schema(_settings, 202 if _allowed else 403)
server_id_schema = load_schema(_settings, 404)


def expect_rule_status(
    case: schemathesis.Case, invalid: set[Any], token: str, response: Any
) -> None:
    """Fail when an invalid request is not answered with the status its rule names.

    ``invalid`` must be read right after the test edits the case: reading
    ``case.meta`` then re-judges the pinned ids as valid, while ``case.call()``
    would take the edited values as generated ones.
    """
    expectation = checks.expected_rejection(case, invalid, token)
    if expectation is None:
        return
    statuses, rule = expectation
    if response.status_code in statuses:
        return
    parts = ", ".join(sorted(location.value for location in invalid))
    failure = CheckFailure(
        rule,
        f"a generated request with an invalid {parts} was not rejected as required",
        describe_statuses(statuses),
        response,
    )
    failure.add_note(f"Reproduce with: {case.as_curl_command()}")
    raise failure


def send(
    case: schemathesis.Case,
    target: str,
    settings: SuiteSettings,
    invalid: set[Any],
    token: str,
    valid_rule: str,
) -> Any:
    """Send the case; a response that never comes fails the rule that was due.

    That is the rule an invalid request breaks, or ``valid_rule`` for a valid one.
    """
    try:
        return case.call(base_url=target, timeout=settings.request_timeout)
    except requests.Timeout:
        expectation = checks.expected_rejection(case, invalid, token)
        rule = expectation[1] if expectation else valid_rule
        failure = RuleFailure(
            rule,
            f"a generated request got no response within {settings.request_timeout} s "
            f"(raise it with --request-timeout; rule {rule})",
        )
        failure.add_note(f"Reproduce with: {case.as_curl_command()}")
        raise failure from None


class PinnedServer:
    """One server that every generated request targets, settled between requests.

    A server that fails to settle once fails every later request at once:
    waiting again for each example would only repeat the same timeout.
    """

    def __init__(self, factory: ServerFactory) -> None:
        self.factory = factory
        self.id = factory.create("ACTIVE")
        self.failure: RuleFailure | None = None

    def ready(self) -> str:
        if self.failure is not None:
            raise self.failure
        try:
            self.factory.settle(self.id)
        except PreconditionError as exc:
            self.failure = RuleFailure(
                "server-migrates",
                f"after a 202, {exc}; the server must reach VERIFY_RESIZE and, once "
                "confirmed, ACTIVE or SHUTOFF (rule server-migrates)",
            )
            raise self.failure from None
        return self.id


@pytest.fixture(scope="module")
def pinned_server(
    compute: ComputeClient, conformance_settings: SuiteSettings
) -> Iterator[PinnedServer]:
    factory = ServerFactory(
        compute, conformance_settings.personas, conformance_settings.policy
    )
    yield PinnedServer(factory)
    factory.cleanup()


@pytest.mark.rule(*GENERATED_RULES)
@pinned_schema.parametrize()
def test_generated_migrate_requests(case, target, pinned_server, conformance_settings):
    persona = conformance_settings.personas[_persona_name]
    case.path_parameters = {
        "tenant_id": persona.project_id,
        "server_id": pinned_server.ready(),
    }
    invalid = checks.invalid_locations(case)

    token = persona.token
    response = send(
        case, target, conformance_settings, invalid, token, "migrate-accepted"
    )

    expect_rule_status(case, invalid, token, response)
    case.validate_response(response, additional_checks=CUSTOM_CHECKS)


@pytest.mark.rule(
    "server-id-unknown", "server-id-not-uuid", "no-server-error", "fault-body"
)
@server_id_schema.parametrize()
def test_generated_server_ids(case, target, conformance_settings):
    persona = conformance_settings.personas[_persona_name]
    case.path_parameters = {**case.path_parameters, "tenant_id": persona.project_id}
    case.body = {"migrate": None}
    invalid = checks.invalid_locations(case)

    token = persona.token
    response = send(
        case, target, conformance_settings, invalid, token, "server-id-unknown"
    )

    expect_rule_status(case, invalid, token, response)
    case.validate_response(response, additional_checks=CUSTOM_CHECKS)
