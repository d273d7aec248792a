"""What a migrate request that may succeed must do: 202, no body, a moved server."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from conformance.expect import expect_empty_body, expect_status


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

    expect_status(response, 202, f"migrate by {persona.name} of an ACTIVE server")
    compute.wait_for_status(owner, server_id, ["VERIFY_RESIZE"])
    if migrations_before is not None:
        migrations_after = servers.migration_count(server_id)
        assert migrations_after == migrations_before + 1, (
            f"os-migrations lists {migrations_after} migrations of server {server_id} "
            f"after the 202, expected {migrations_before + 1}"
        )
    compute.setup_action(owner, server_id, "confirmResize")
    compute.wait_for_status(owner, server_id, ["ACTIVE"])
    host_after = compute.show(admin, server_id).host
    assert host_after != host_before, (
        f"server {server_id} is still on host {host_before} after the migration "
        "was confirmed; the scheduler must choose another host"
    )


@pytest.mark.rule("body-migrate-null", "migrate-accepted", "accepted-empty-body")
def test_document_body_is_accepted(servers, compute):
    server_id = servers.create("ACTIVE")
    persona = servers.migrating_persona()

    response = compute.migrate(persona, server_id, body={"migrate": None})

    expect_status(response, 202, 'migrate with the body {"migrate": null}')
    expect_empty_body(response, "the 202 has a body")


@pytest.mark.rule("body-migrate-empty-object", "migrate-accepted")
def test_client_body_is_accepted(servers, compute):
    server_id = servers.create("ACTIVE")
    persona = servers.migrating_persona()

    response = compute.migrate(persona, server_id, body={"migrate": {}})

    expect_status(
        response, 202, 'migrate with the body {"migrate": {}}, which Nova clients send'
    )


@pytest.mark.rule("tenant-id-form", "migrate-accepted")
def test_tenant_id_in_keystone_form_is_accepted(servers, compute, spec):
    persona = servers.migrating_persona()
    tenant_schema = spec.document["components"]["schemas"]["TenantId"]
    validator = Draft202012Validator(
        tenant_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    assert validator.is_valid(persona.project_id), (
        f"persona {persona.name}'s project id {persona.project_id!r} is neither a "
        "dashed UUID nor 32 hex digits"
    )
    server_id = servers.create("ACTIVE")

    response = compute.migrate(persona, server_id)

    expect_status(
        response, 202, f"migrate with tenant_id {persona.project_id} in the URL"
    )


@pytest.mark.rule("response-headers")
def test_accepted_response_names_request_and_microversion(servers, compute):
    server_id = servers.create("ACTIVE")
    persona = servers.migrating_persona()

    response = compute.migrate(persona, server_id)

    expect_status(response, 202, "migrate of an ACTIVE server")
    request_id = response.headers.get("x-openstack-request-id", "")
    assert request_id.startswith("req-"), (
        f"x-openstack-request-id is {request_id!r}, expected req-<uuid>"
    )
    version = response.headers.get("OpenStack-API-Version")
    assert version == "compute 2.1", (
        f"OpenStack-API-Version is {version!r}, expected 'compute 2.1'"
    )
