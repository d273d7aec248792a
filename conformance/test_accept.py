"""What a migrate request that may succeed must do: 202, no body, a moved server."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from conformance.expect import RuleFailure, expect_accepted, expect_empty_body


@pytest.mark.rule("server-migrates", "migrate-accepted")
def test_migrated_server_lands_on_another_host(servers, compute, personas):
    owner = personas["owner"]
    admin = personas["admin"]
    server_id = servers.create("ACTIVE")
    host_before = compute.show(admin, server_id).host
    assert host_before, (
        "the administrator's view of the server lacks OS-EXT-SRV-ATTR:host, so the "
        "suite cannot tell where it runs"
    )
    migrations_before = servers.migration_count(server_id)
    persona = servers.migrating_persona()

    response = compute.migrate(persona, server_id)

    title = f"migrate by {persona.name} of an ACTIVE server"
    expect_accepted(response, title, rule="migrate-accepted")
    servers.expect_reaches(server_id, "VERIFY_RESIZE", rule="server-migrates")
    if migrations_before is not None:
        migrations_after = servers.migration_count(server_id)
        if migrations_after != migrations_before + 1:
            raise RuleFailure(
                "server-migrates",
                f"os-migrations lists {migrations_after} migrations of server "
                f"{server_id} after the 202, expected {migrations_before + 1}",
            )
    compute.setup_action(owner, server_id, "confirmResize")
    servers.expect_reaches(server_id, "ACTIVE", rule="server-migrates")
    host_after = compute.show(admin, server_id).host
    if host_after == host_before:
        raise RuleFailure(
            "server-migrates",
            f"server {server_id} is still on host {host_before} after the migration "
            "was confirmed; the scheduler must choose another host",
        )


@pytest.mark.rule("body-migrate-null", "migrate-accepted", "accepted-empty-body")
def test_document_body_is_accepted(servers, compute):
    server_id = servers.create("ACTIVE")
    persona = servers.migrating_persona()

    response = compute.migrate(persona, server_id, body={"migrate": None})

    title = 'migrate with the body {"migrate": null}'
    expect_accepted(response, title, rule="body-migrate-null")
    expect_empty_body(response, "the 202 has a body")


@pytest.mark.rule("body-migrate-empty-object", "migrate-accepted")
def test_client_body_is_accepted(servers, compute):
    server_id = servers.create("ACTIVE")
    persona = servers.migrating_persona()

    response = compute.migrate(persona, server_id, body={"migrate": {}})

    title = 'migrate with the body {"migrate": {}}, which Nova clients send'
    expect_accepted(response, title, rule="body-migrate-empty-object")


@pytest.mark.rule("tenant-id-form", "migrate-accepted")
def test_tenant_id_in_keystone_form_is_accepted(servers, compute, spec):
    persona = servers.migrating_persona()
    tenant_schema = spec.document["components"]["schemas"]["TenantId"]
    validator = Draft202012Validator(
        tenant_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    if not validator.is_valid(persona.project_id):
        raise RuleFailure(
            "tenant-id-form",
            f"persona {persona.name}'s project id {persona.project_id!r} is neither "
            "a dashed UUID nor 32 hex digits",
        )
    server_id = servers.create("ACTIVE")

    response = compute.migrate(persona, server_id)

    title = f"migrate with tenant_id {persona.project_id} in the URL"
    expect_accepted(response, title, rule="tenant-id-form")


@pytest.mark.rule("response-headers", "migrate-accepted")
def test_accepted_response_names_request_and_microversion(servers, compute):
    server_id = servers.create("ACTIVE")
    persona = servers.migrating_persona()

    response = compute.migrate(persona, server_id)

    expect_accepted(response, "migrate of an ACTIVE server", rule="migrate-accepted")
    request_id = response.headers.get("x-openstack-request-id", "")
    if not request_id.startswith("req-"):
        raise RuleFailure(
            "response-headers",
            f"x-openstack-request-id is {request_id!r}, expected req-<uuid>",
        )
    version = response.headers.get("OpenStack-API-Version")
    if version != "compute 2.1":
        raise RuleFailure(
            "response-headers",
            f"OpenStack-API-Version is {version!r}, expected 'compute 2.1'",
        )
