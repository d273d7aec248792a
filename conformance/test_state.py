"""When a server cannot move: its state, its lock, and a migration already running."""

from __future__ import annotations

import threading

import pytest
import requests

from conformance.expect import (
    RuleFailure,
    expect_accepted,
    expect_fault,
    expect_status,
    not_applicable,
)

CONCURRENT_REQUESTS = 8


@pytest.mark.rule("state-conflict", "fault-body")
@pytest.mark.parametrize("state", ["PAUSED", "VERIFY_RESIZE"])
def test_server_that_cannot_move_is_409(state, servers, compute, spec):
    server_id = servers.create(state)
    before = servers.snapshot(server_id)
    persona = servers.migrating_persona()

    response = compute.migrate(persona, server_id)

    title = f"migrate of a server that is {state}"
    expect_fault(response, spec, 409, title, rule="state-conflict")
    servers.assert_unchanged(
        server_id, before, f"the server was {state}", rule="state-conflict"
    )


# A 403 here breaks the policy rule in force, but a pass is no evidence for
# it, so the marker leaves the policy rules out.
@pytest.mark.rule("locked-conflict", "fault-body")
@pytest.mark.parametrize("name", ["owner", "manager"])
def test_locked_server_is_409_for_non_admin(
    name, servers, compute, personas, policy_model, spec
):
    if name not in personas.personas:
        not_applicable(f"the personas file {personas.path} has no {name!r}")
    persona = personas[name]
    if "admin" in persona.roles:
        not_applicable(f"{name} has the admin role, which a lock does not stop")
    if not policy_model.allows_migrate(persona, personas["owner"].project_id):
        not_applicable(
            f"the policy ({policy_model.description}) does not let {name} "
            "migrate, so the lock cannot be what rejects it"
        )
    server_id = servers.create("LOCKED")
    before = servers.snapshot(server_id)

    response = compute.migrate(persona, server_id)

    title = f"migrate by {name} of a server its owner locked"
    if response.status_code == 403:
        # The policy is checked before the lock: a 403 means the target's policy
        # is not the one the suite was given, which the policy checks report.
        policy_rule = (
            "policy-default"
            if policy_model.profile == "document"
            else ("policy-configurable")
        )
        expect_status(response, 409, title, rule=policy_rule)
    expect_fault(response, spec, 409, title, rule="locked-conflict")
    servers.assert_unchanged(
        server_id, before, "the server was locked", rule="locked-conflict"
    )


@pytest.mark.rule("locked-conflict", "migrate-accepted")
def test_locked_server_is_202_for_admin(servers, compute, personas, policy_model):
    admin = personas["admin"]
    if not policy_model.allows_migrate(admin, personas["owner"].project_id):
        not_applicable(
            f"the policy ({policy_model.description}) does not let admin migrate"
        )
    server_id = servers.create("LOCKED")

    response = compute.migrate(admin, server_id)

    title = "migrate by admin of a server its owner locked"
    expect_accepted(response, title, rule="locked-conflict")


@pytest.mark.rule("concurrent-single-accept", "state-conflict", "no-server-error")
def test_concurrent_migrates_accept_exactly_one(servers, compute):
    server_id = servers.create("ACTIVE")
    persona = servers.migrating_persona()
    url = compute.url(persona, "servers", server_id, "action")
    headers = {
        "X-Auth-Token": persona.token,
        "Content-Type": "application/json",
        "OpenStack-API-Version": "compute 2.1",
    }
    barrier = threading.Barrier(CONCURRENT_REQUESTS)
    statuses: list[int] = []

    def send() -> None:
        with requests.Session() as session:
            barrier.wait()
            response = session.post(
                url,
                data=b'{"migrate": null}',
                headers=headers,
                timeout=compute.request_timeout,
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(CONCURRENT_REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    rule = "concurrent-single-accept"
    server_errors = [status for status in statuses if status >= 500]
    if server_errors:
        raise RuleFailure(
            "no-server-error",
            f"{CONCURRENT_REQUESTS} concurrent migrates of one server were answered "
            f"{sorted(statuses)}; none may be 5xx, and each that lost the race must "
            "be 409 (rules no-server-error and concurrent-single-accept)",
            also_broken=(rule,),
        )
    if len(statuses) != CONCURRENT_REQUESTS:
        raise RuleFailure(
            rule,
            f"only {len(statuses)} of {CONCURRENT_REQUESTS} concurrent requests "
            f"got a response within {compute.request_timeout} s",
        )
    if statuses.count(202) != 1:
        raise RuleFailure(
            rule,
            f"{CONCURRENT_REQUESTS} concurrent migrates of one server were answered "
            f"{sorted(statuses)}; exactly one may be 202",
        )
    if statuses.count(409) != CONCURRENT_REQUESTS - 1:
        raise RuleFailure(
            rule,
            f"the requests that lost the race were answered {sorted(statuses)}; "
            "each must be 409",
        )
