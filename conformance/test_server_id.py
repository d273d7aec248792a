"""The server_id path parameter: a UUID naming a server the caller can see."""

from __future__ import annotations

import uuid

import pytest

from conformance.expect import expect_fault, expect_status


@pytest.mark.rule("server-id-unknown", "fault-body")
def test_unknown_server_is_404(compute, servers, spec):
    persona = servers.migrating_persona()
    server_id = str(uuid.uuid4())

    response = compute.migrate(persona, server_id)

    title = f"migrate of server {server_id}, which does not exist"
    expect_fault(response, spec, 404, title, rule="server-id-unknown")


@pytest.mark.rule("server-id-not-uuid", "no-server-error")
@pytest.mark.parametrize(
    "make_id",
    [
        pytest.param(lambda real: "not-a-uuid", id="word"),
        pytest.param(lambda real: "12345", id="number"),
        pytest.param(lambda real: real + "0", id="real-id-plus-a-digit"),
        pytest.param(lambda real: real[:-1], id="real-id-short-a-digit"),
        pytest.param(lambda real: real.replace("-", "_"), id="real-id-underscores"),
        pytest.param(lambda real: "{" + real + "}", id="real-id-in-braces"),
        pytest.param(lambda real: "%20", id="percent-encoded-space"),
        pytest.param(lambda real: "x" * 300, id="300-characters"),
    ],
)
def test_non_uuid_server_id_is_never_accepted(make_id, compute, servers):
    real_id = servers.create("ACTIVE")
    before = servers.snapshot(real_id)
    persona = servers.migrating_persona()
    server_id = make_id(real_id)

    response = compute.migrate(persona, server_id)

    title = f"migrate of server id {server_id!r}, not a UUID"
    expect_status(response, range(400, 500), title, rule="server-id-not-uuid")
    servers.assert_unchanged(
        real_id,
        before,
        f"the id {server_id!r} is not a UUID",
        rule="server-id-not-uuid",
    )
