"""Who may migrate: the default policy, a cloud's policy file, and the token."""

from __future__ import annotations

import uuid

import pytest

from conformance.compute import ComputeClient
from conformance.expect import (
    expect_accepted,
    expect_empty_body,
    expect_fault,
    expect_status,
    not_applicable,
)
from conformance.personas import PersonasFile
from conformance.policy import PolicyModel
from conformance.servers import ServerFactory
from conformance.spec import Spec

# Each persona of the personas file, on an ACTIVE server, and the two that may
# migrate by default on a SHUTOFF one too.
PERSONA_CASES = [
    pytest.param("admin", "ACTIVE", id="admin-active"),
    pytest.param("admin", "SHUTOFF", id="admin-shutoff"),
    pytest.param("owner", "ACTIVE", id="owner-active"),
    pytest.param("owner", "SHUTOFF", id="owner-shutoff"),
    pytest.param("manager", "ACTIVE", id="project-manager"),
    pytest.param("reader", "ACTIVE", id="project-reader"),
    pytest.param("no-roles", "ACTIVE", id="project-token-without-roles"),
    pytest.param("other", "ACTIVE", id="other-project-member"),
    pytest.param("other-admin", "ACTIVE", id="other-project-admin"),
]


def check_persona_outcome(
    policy_rule: str,
    persona_name: str,
    state: str,
    servers: ServerFactory,
    compute: ComputeClient,
    personas: PersonasFile,
    policy_model: PolicyModel,
    spec: Spec,
) -> None:
    if persona_name not in personas.personas:
        not_applicable(f"the personas file {personas.path} has no {persona_name!r}")
    persona = personas[persona_name]
    server_id = servers.create(state)
    owner_project = personas["owner"].project_id
    expected = policy_model.expected_statuses(persona, owner_project)
    before = servers.snapshot(server_id)

    response = compute.migrate(persona, server_id)

    title = (
        f"migrate by {persona_name} of a server that is {state}, under "
        f"{policy_model.description}"
    )
    if expected == {202}:
        expect_accepted(response, title, rule=policy_rule)
    else:
        expect_status(response, expected, title, rule=policy_rule)
    if response.status_code == 202:
        expect_empty_body(response, f"{title}: the 202 has a body")
        servers.expect_reaches(server_id, "VERIFY_RESIZE", rule="server-migrates")
    else:
        expect_fault(response, spec, expected, title, rule=policy_rule)
        servers.assert_unchanged(
            server_id, before, f"{title} was refused", rule=policy_rule
        )


@pytest.mark.rule(
    "policy-default",
    "migrate-accepted",
    "accepted-empty-body",
    "server-migrates",
    "fault-body",
)
@pytest.mark.parametrize(("persona_name", "state"), PERSONA_CASES)
def test_default_policy_outcome(
    persona_name, state, servers, compute, personas, policy_model, spec
):
    if policy_model.profile != "document":
        not_applicable(
            f"the target runs {policy_model.description}, not the default "
            "policy, so test_policy_file_outcome checks it"
        )
    check_persona_outcome(
        "policy-default",
        persona_name,
        state,
        servers,
        compute,
        personas,
        policy_model,
        spec,
    )


@pytest.mark.rule(
    "policy-configurable",
    "migrate-accepted",
    "accepted-empty-body",
    "server-migrates",
    "fault-body",
)
@pytest.mark.parametrize(("persona_name", "state"), PERSONA_CASES)
def test_policy_file_outcome(
    persona_name, state, servers, compute, personas, policy_model, spec
):
    if policy_model.profile == "document":
        not_applicable(
            "the target runs the default policy, which test_default_policy_outcome "
            "checks; give --policy-file or --policy-profile nova for another"
        )
    check_persona_outcome(
        "policy-configurable",
        persona_name,
        state,
        servers,
        compute,
        personas,
        policy_model,
        spec,
    )


@pytest.mark.rule("token-required", "fault-body")
@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="missing-token"),
        pytest.param("unknown", id="unknown-token"),
    ],
)
def test_request_without_valid_token_is_401(token, servers, compute, personas, spec):
    owner = personas["owner"]
    server_id = servers.create("ACTIVE")
    before = servers.snapshot(server_id)
    headers = {}
    if token is not None:
        headers["X-Auth-Token"] = f"conformance-{uuid.uuid4().hex}"

    response = compute.migrate(
        None, server_id, project_id=owner.project_id, headers=headers
    )

    title = f"migrate with a {token or 'missing'} token"
    expect_fault(response, spec, 401, title, rule="token-required")
    servers.assert_unchanged(
        server_id, before, "the request had no valid token", rule="token-required"
    )


@pytest.mark.rule("tenant-id-mismatch", "fault-body")
def test_tenant_id_of_another_project_is_400(servers, compute, personas, spec):
    server_id = servers.create("ACTIVE")
    before = servers.snapshot(server_id)
    owner = personas["owner"]

    response = compute.migrate(
        owner, server_id, project_id=personas["other"].project_id
    )

    title = "migrate by owner with the other project's id in the URL"
    expect_fault(response, spec, 400, title, rule="tenant-id-mismatch")
    servers.assert_unchanged(
        server_id, before, "the URL named another project", rule="tenant-id-mismatch"
    )
