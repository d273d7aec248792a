"""The request body: exactly one key, migrate, sent as JSON within the size limit."""

from __future__ import annotations

import json

import pytest

from conformance.expect import expect_empty_body, expect_fault, expect_status

# Each case: raw body bytes, and the rule it breaks. Ids read as the outcome.
BAD_BODIES = [
    pytest.param(b"", "body-malformed", id="empty-body-is-400"),
    pytest.param(b'{"migrate": nul', "body-malformed", id="truncated-json-is-400"),
    pytest.param(b"\xff\xfe{}", "body-malformed", id="not-utf8-is-400"),
    pytest.param(b"migrate", "body-malformed", id="bare-word-is-400"),
    pytest.param(b'[{"migrate": null}]', "body-malformed", id="json-array-is-400"),
    pytest.param(b'"migrate"', "body-malformed", id="json-string-is-400"),
    pytest.param(b"null", "body-malformed", id="json-null-is-400"),
    pytest.param(b"{}", "body-action-key", id="empty-object-is-400"),
    pytest.param(b'{"Migrate": null}', "body-action-key", id="wrong-case-key-is-400"),
    pytest.param(b'{"migrate ": null}', "body-action-key", id="padded-key-is-400"),
    pytest.param(
        b'{"migrate": null, "extra": 1}', "body-single-key", id="extra-key-is-400"
    ),
    pytest.param(
        b'{"migrate": null, "os-stop": null}',
        "body-single-key",
        id="two-actions-is-400",
    ),
]

OTHER_VALUES = [
    pytest.param("compute-2", id="string-is-400"),
    pytest.param("", id="empty-string-is-400"),
    pytest.param(1, id="number-is-400"),
    pytest.param(True, id="boolean-is-400"),
    pytest.param([], id="array-is-400"),
    pytest.param({"host": "compute-2"}, id="host-member-at-2.1-is-400"),
]


@pytest.mark.rule("body-malformed", "body-action-key", "body-single-key", "fault-body")
@pytest.mark.parametrize(("raw_body", "broken_rule"), BAD_BODIES)
def test_bad_body_is_400(raw_body, broken_rule, servers, compute, spec):
    server_id = servers.create("ACTIVE")
    before = servers.snapshot(server_id)
    persona = servers.migrating_persona()

    response = compute.migrate(persona, server_id, data=raw_body)

    title = f"migrate with body {raw_body!r}"
    expect_fault(response, spec, 400, title, rule=broken_rule)
    servers.assert_unchanged(
        server_id, before, "the body was rejected", rule=broken_rule
    )


@pytest.mark.rule("body-migrate-other-values", "fault-body")
@pytest.mark.parametrize("value", OTHER_VALUES)
def test_other_migrate_value_is_400(value, servers, compute, spec):
    server_id = servers.create("ACTIVE")
    persona = servers.migrating_persona()
    body = {"migrate": value}

    response = compute.migrate(persona, server_id, body=body)

    title = f"migrate with body {json.dumps(body)}"
    expect_fault(response, spec, 400, title, rule="body-migrate-other-values")


@pytest.mark.rule("content-type-json", "fault-body")
@pytest.mark.parametrize(
    "content_type",
    ["application/xml", "application/x-www-form-urlencoded"],
)
def test_body_not_sent_as_json_is_415(content_type, servers, compute, spec):
    server_id = servers.create("ACTIVE")
    before = servers.snapshot(server_id)
    persona = servers.migrating_persona()

    response = compute.migrate(
        persona,
        server_id,
        data=b'{"migrate": null}',
        headers={"Content-Type": content_type},
    )

    title = f"migrate sent as {content_type}"
    expect_fault(response, spec, 415, title, rule="content-type-json")
    servers.assert_unchanged(
        server_id, before, "the body was not sent as JSON", rule="content-type-json"
    )


@pytest.mark.rule("content-type-json", "fault-body")
def test_text_plain_body_is_json_or_415(servers, compute, spec):
    server_id = servers.create("ACTIVE")
    persona = servers.migrating_persona()

    response = compute.migrate(
        persona,
        server_id,
        data=b'{"migrate": null}',
        headers={"Content-Type": "text/plain"},
    )

    title = "migrate sent as text/plain"
    if response.status_code == 202:
        expect_empty_body(response, title)
    else:
        expect_fault(response, spec, {202, 415}, title, rule="content-type-json")


# Valid JSON padded with white space to 1 MiB, so only its size is wrong.
OVERSIZED_BODY = b'{"migrate": null}' + b" " * (1024 * 1024)


@pytest.mark.rule("body-size-limit", "fault-body")
def test_oversized_body_is_413(servers, compute, spec):
    server_id = servers.create("ACTIVE")
    persona = servers.migrating_persona()

    response = compute.migrate(persona, server_id, data=OVERSIZED_BODY)

    title = "migrate with a 1 MiB body"
    expect_fault(response, spec, 413, title, rule="body-size-limit")


@pytest.mark.rule("no-server-error")
def test_oversized_body_is_not_server_error(servers, compute):
    server_id = servers.create("ACTIVE")
    persona = servers.migrating_persona()

    response = compute.migrate(persona, server_id, data=OVERSIZED_BODY)

    title = "migrate with a 1 MiB body"
    expect_status(response, range(200, 500), title, rule="no-server-error")
