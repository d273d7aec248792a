"""Tests of the reference server: in-process through WSGI, and over real HTTP."""

from __future__ import annotations

import io
import json
import logging
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import requests
from werkzeug.test import Client, EnvironBuilder, TestResponse

from reference_server import create_app, serve_in_thread
from reference_server.app import ComputeApp
from reference_server.auth import load_personas
from reference_server.policy import PolicyFileError

REPO_ROOT = Path(__file__).resolve().parent.parent
PERSONAS = {p.name: p for p in load_personas().values()}
ADMIN = PERSONAS["admin"]
OWNER = PERSONAS["owner"]
OTHER = PERSONAS["other"]

KEYSTONE_401 = {
    "error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }
}
REQUEST_ID = re.compile(
    r"req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)


class FakeClock:
    """A monotonic clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def app() -> ComputeApp:
    return create_app(build_seconds=0, migrate_seconds=0)


@pytest.fixture
def client(app: ComputeApp) -> Client:
    return Client(app)


@pytest.fixture
def clock(app: ComputeApp) -> FakeClock:
    fake = FakeClock()
    app.store.clock = fake
    app.store.build_seconds = 5
    app.store.migrate_seconds = 10
    return fake


def auth(persona: Any = OWNER, **extra: str) -> dict[str, str]:
    return {"X-Auth-Token": persona.token, **extra}


def servers_url(persona: Any = OWNER) -> str:
    return f"/v2.1/{persona.project_id}/servers"


def action_url(server_id: str, persona: Any = OWNER) -> str:
    return f"{servers_url(persona)}/{server_id}/action"


def create(client: Client, persona: Any = OWNER, name: str = "vm") -> str:
    body = {"server": {"name": name, "flavorRef": "1", "imageRef": str(uuid.uuid4())}}
    response = client.post(servers_url(persona), json=body, headers=auth(persona))
    assert response.status_code == 202, response.data
    return response.get_json()["server"]["id"]


def act(
    client: Client, server_id: str, body: Any, persona: Any = OWNER
) -> TestResponse:
    return client.post(action_url(server_id, persona), json=body, headers=auth(persona))


def migrate(client: Client, server_id: str, persona: Any = OWNER) -> TestResponse:
    return act(client, server_id, {"migrate": None}, persona)


def show(client: Client, server_id: str, persona: Any = OWNER) -> dict[str, Any]:
    response = client.get(f"{servers_url(persona)}/{server_id}", headers=auth(persona))
    assert response.status_code == 200, response.data
    return response.get_json()["server"]


def migrations(client: Client) -> list[dict[str, Any]]:
    url = f"/v2.1/{ADMIN.project_id}/os-migrations"
    response = client.get(url, headers=auth(ADMIN))
    assert response.status_code == 200, response.data
    return response.get_json()["migrations"]


def fault(response: TestResponse, name: str) -> str:
    """Return the message of a Nova fault body named ``name``."""
    body = response.get_json()
    assert list(body) == [name], body
    assert body[name]["code"] == response.status_code
    return body[name]["message"]


def write_policy(
    tmp_path: Path, rules: dict[str, str], name: str = "policy.yaml"
) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(rules), encoding="utf-8")
    return path


# -- version documents -------------------------------------------------------


def test_root_lists_versions_without_token(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.get_json()["versions"][0]["id"] == "v2.1"


@pytest.mark.parametrize("path", ["/v2.1", "/v2.1/"])
def test_version_document_without_token(client: Client, path: str) -> None:
    version = client.get(path).get_json()["version"]
    assert version["id"] == "v2.1"
    assert version["status"] == "CURRENT"
    assert version["version"] == "2.1"
    assert version["min_version"] == "2.1"


# -- headers and microversions ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/", {}, 200),
        (f"/v2.1/{OWNER.project_id}/servers", {}, 401),
        (f"/v2.1/{OWNER.project_id}/nothing", auth(), 404),
        (f"/v2.1/{OWNER.project_id}/servers", auth(), 200),
    ],
)
def test_every_response_has_openstack_headers(
    client: Client, path: str, headers: dict[str, str], status: int
) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == status
    assert REQUEST_ID.fullmatch(response.headers["x-openstack-request-id"])
    assert (
        response.headers["x-compute-request-id"]
        == response.headers["x-openstack-request-id"]
    )
    assert response.headers["OpenStack-API-Version"] == "compute 2.1"
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.1"
    assert (
        response.headers["Vary"]
        == "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
    )


def test_request_ids_differ_per_request(client: Client) -> None:
    first = client.get("/").headers["x-openstack-request-id"]
    second = client.get("/").headers["x-openstack-request-id"]
    assert first != second


@pytest.mark.parametrize(
    "headers",
    [
        {"OpenStack-API-Version": "compute 2.1"},
        {"OpenStack-API-Version": "compute latest"},
        {"OpenStack-API-Version": "volume 3.0"},
        {"OpenStack-API-Version": "volume 3.0, compute 2.1"},
        {"X-OpenStack-Nova-API-Version": "2.1"},
        {"X-OpenStack-Nova-API-Version": "latest"},
    ],
)
def test_supported_microversion_is_accepted(
    client: Client, headers: dict[str, str]
) -> None:
    server_id = create(client)
    response = client.post(
        action_url(server_id), json={"migrate": None}, headers=auth(**headers)
    )
    assert response.status_code == 202


@pytest.mark.parametrize(
    "headers",
    [
        {"OpenStack-API-Version": "compute 2.56"},
        {"OpenStack-API-Version": "compute 3.0"},
        {"X-OpenStack-Nova-API-Version": "2.2"},
        {"OpenStack-API-Version": "compute 2.0", "X-OpenStack-Nova-API-Version": "2.1"},
    ],
)
def test_unsupported_microversion_is_406(
    client: Client, headers: dict[str, str]
) -> None:
    response = client.get(servers_url(), headers=auth(**headers))
    assert response.status_code == 406
    assert "is not supported by the API" in fault(response, "notAcceptable")


@pytest.mark.parametrize(
    "headers",
    [
        {"OpenStack-API-Version": "compute 2"},
        {"OpenStack-API-Version": "compute two"},
        {"OpenStack-API-Version": "compute"},
        {"OpenStack-API-Version": "compute 2.1, compute 2.1"},
        {"X-OpenStack-Nova-API-Version": "2.01"},
        {"X-OpenStack-Nova-API-Version": ""},
    ],
)
def test_malformed_microversion_is_400(client: Client, headers: dict[str, str]) -> None:
    response = client.get(servers_url(), headers=auth(**headers))
    assert response.status_code == 400
    assert fault(response, "badRequest")


# -- authentication ------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"X-Auth-Token": "no-such-token"}])
def test_missing_or_unknown_token_is_keystone_401(
    client: Client, headers: dict[str, str]
) -> None:
    server_id = create(client)
    response = client.post(
        action_url(server_id), json={"migrate": None}, headers=headers
    )
    assert response.status_code == 401
    assert response.get_json() == KEYSTONE_401
    assert response.headers["WWW-Authenticate"].startswith('Keystone uri="')


def test_unknown_path_without_token_is_401(client: Client) -> None:
    assert client.get("/v2.1/x/nowhere").status_code == 401


def test_token_never_logged(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="reference_server")
    server_id = create(client)
    migrate(client, server_id)
    client.get("/", headers={"X-Auth-Token": "secret-unknown-token"})
    client.get(servers_url(), headers={"X-Auth-Token": "secret-unknown-token"})
    assert OWNER.token not in caplog.text
    assert "secret-unknown-token" not in caplog.text


def test_one_log_line_per_request(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="reference_server")
    response = client.get("/")
    request_id = response.headers["x-openstack-request-id"]
    lines = [r.getMessage() for r in caplog.records if request_id in r.getMessage()]
    assert len(lines) == 1
    assert re.fullmatch(rf"GET / 200 {request_id} \d+\.\dms", lines[0])


# -- routing -------------------------------------------------------------------


def test_unknown_path_is_404_item_not_found(client: Client) -> None:
    response = client.get(f"/v2.1/{OWNER.project_id}/flavors", headers=auth())
    assert response.status_code == 404
    assert fault(response, "itemNotFound") == "The resource could not be found."


def test_wrong_method_is_405_with_allow(client: Client) -> None:
    server_id = create(client)
    response = client.get(action_url(server_id), headers=auth())
    assert response.status_code == 405
    assert fault(response, "badMethod")
    assert response.headers["Allow"] == "POST"


# -- size limit and media type -------------------------------------------------


def test_body_over_limit_is_413_over_limit() -> None:
    client = Client(create_app(build_seconds=0, max_body_bytes=100))
    body = json.dumps({"migrate": None, "pad": "x" * 200})
    response = client.post(action_url(str(uuid.uuid4())), data=body, headers=auth())
    assert response.status_code == 413
    assert "100 bytes" in fault(response, "overLimit")


def test_body_at_limit_is_read() -> None:
    client = Client(create_app(build_seconds=0, max_body_bytes=100))
    server_id = create(client)
    body = '{"migrate": null}'.ljust(100)
    response = client.post(action_url(server_id), data=body, headers=auth())
    assert response.status_code == 202


def test_large_content_length_is_413_without_reading(app: ComputeApp) -> None:
    class Unreadable(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("the server read a body it should have rejected")

    environ = EnvironBuilder(
        path=action_url(str(uuid.uuid4())), method="POST", headers=auth()
    ).get_environ()
    environ["CONTENT_LENGTH"] = str(10**12)
    environ["wsgi.input"] = Unreadable()
    statuses: list[str] = []
    body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["413 Request Entity Too Large"]
    assert json.loads(body)["overLimit"]["code"] == 413


def test_size_limit_comes_before_auth() -> None:
    client = Client(create_app(max_body_bytes=10))
    response = client.post(action_url(str(uuid.uuid4())), data="x" * 11)
    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "application/json; charset=UTF-8",
        "Application/JSON",
        "application/vnd.openstack.compute+json",
        "text/plain",
        "",
    ],
)
def test_json_content_types_are_accepted(
    client: Client, content_type: str | None
) -> None:
    server_id = create(client)
    headers = auth()
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = client.post(
        action_url(server_id), data='{"migrate": null}', headers=headers
    )
    assert response.status_code == 202


@pytest.mark.parametrize(
    "content_type",
    ["application/xml", "application/x-www-form-urlencoded", "text/html"],
)
def test_other_content_type_is_415(client: Client, content_type: str) -> None:
    server_id = create(client)
    headers = auth(**{"Content-Type": content_type})
    response = client.post(
        action_url(server_id), data='{"migrate": null}', headers=headers
    )
    assert response.status_code == 415
    assert fault(response, "badMediaType") == "Unsupported Content-Type"


def test_content_type_comes_before_auth(client: Client) -> None:
    response = client.post(
        action_url(str(uuid.uuid4())), data="{}", headers={"Content-Type": "text/html"}
    )
    assert response.status_code == 415


# -- project in the URL --------------------------------------------------------


@pytest.mark.parametrize("persona", [OWNER, ADMIN])
def test_url_project_mismatch_is_400(client: Client, persona: Any) -> None:
    server_id = create(client)
    url = f"/v2.1/{OTHER.project_id}/servers/{server_id}/action"
    response = client.post(url, json={"migrate": None}, headers=auth(persona))
    assert response.status_code == 400
    assert fault(response, "badRequest") == (
        f"Malformed request URL: URL's project_id '{OTHER.project_id}' doesn't match"
        f" Context's project_id '{persona.project_id}'"
    )


def test_project_check_comes_before_body(client: Client) -> None:
    url = f"/v2.1/{OTHER.project_id}/servers/{uuid.uuid4()}/action"
    response = client.post(url, data=b"not json", headers=auth())
    assert "Malformed request URL" in fault(response, "badRequest")


# -- request body --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "Malformed request body"),
        (b"   ", "Malformed request body"),
        (b"not json", "Malformed request body"),
        (b'{"migrate": nul', "Malformed request body"),
        (b'{"migrate": "\xff"}', "Malformed request body"),
        (b"\xef\xbb\xbf{}", "Malformed request body"),
        (b"[" * 50000 + b"]" * 50000, "Malformed request body"),
        (b'{"migrate": ' + b"1" * 5000 + b"}", "Malformed request body"),
        (b"[]", "Malformed request body"),
        (b'"migrate"', "Malformed request body"),
        (b"null", "Malformed request body"),
        (b"{}", "Malformed request body"),
        (b'{"migrate": null, "pause": null}', "too many body keys"),
        (b'{"fly": null}', "There is no such action: fly"),
        (b'{"Migrate": null}', "There is no such action: Migrate"),
        (
            b'{"migrate": {"host": "compute-2"}}',
            "Additional properties are not allowed",
        ),
        (b'{"migrate": "now"}', "Invalid input for field/attribute migrate"),
        (b'{"migrate": 1}', "Invalid input for field/attribute migrate"),
        (b'{"migrate": true}', "Invalid input for field/attribute migrate"),
        (b'{"migrate": []}', "Invalid input for field/attribute migrate"),
        (b'{"migrate": NaN}', "Invalid input for field/attribute migrate"),
    ],
)
def test_bad_action_body_is_400(client: Client, body: bytes, message: str) -> None:
    server_id = create(client)
    response = client.post(action_url(server_id), data=body, headers=auth())
    assert response.status_code == 400
    assert message in fault(response, "badRequest")


@pytest.mark.parametrize("value", [None, {}])
def test_migrate_accepts_null_and_empty_object(client: Client, value: Any) -> None:
    server_id = create(client)
    response = act(client, server_id, {"migrate": value})
    assert response.status_code == 202


def test_accepted_migrate_has_empty_body(client: Client) -> None:
    response = migrate(client, create(client))
    assert response.status_code == 202
    assert response.data == b""
    assert response.headers["Content-Length"] == "0"


# -- server lookup -------------------------------------------------------------


@pytest.mark.parametrize("server_id", ["not-a-uuid", str(uuid.uuid4()), "%00", "..."])
def test_unknown_server_is_404(client: Client, server_id: str) -> None:
    response = migrate(client, server_id)
    assert response.status_code == 404
    assert (
        fault(response, "itemNotFound")
        == f"Instance {unquote(server_id)} could not be found."
    )


def test_other_projects_server_is_404(client: Client) -> None:
    server_id = create(client)
    response = migrate(client, server_id, persona=OTHER)
    assert response.status_code == 404
    assert (
        fault(response, "itemNotFound") == f"Instance {server_id} could not be found."
    )


def test_server_id_case_is_ignored(client: Client) -> None:
    server_id = create(client)
    assert migrate(client, server_id.upper()).status_code == 202


def test_bad_body_comes_before_lookup(client: Client) -> None:
    response = act(client, str(uuid.uuid4()), {"migrate": 1})
    assert response.status_code == 400


# -- policy --------------------------------------------------------------------


@pytest.mark.parametrize("persona", [OWNER, ADMIN])
def test_default_policy_allows_owner_and_admin(client: Client, persona: Any) -> None:
    server_id = create(client)
    assert migrate(client, server_id, persona=persona).status_code == 202


@pytest.mark.parametrize(
    ("rule", "owner_status", "admin_status"),
    [
        ("!", 403, 403),
        ("role:admin", 403, 202),
        ("rule:context_is_admin", 403, 202),
        ("rule:no_such_rule", 403, 403),
        ("@", 202, 202),
    ],
)
def test_policy_file_overrides_migrate_rule(
    tmp_path: Path, rule: str, owner_status: int, admin_status: int
) -> None:
    policy_file = write_policy(
        tmp_path, {"os_compute_api:os-migrate-server:migrate": rule}
    )
    client = Client(
        create_app(policy_file=policy_file, build_seconds=0, migrate_seconds=0)
    )
    assert migrate(client, create(client), persona=OWNER).status_code == owner_status
    assert migrate(client, create(client), persona=ADMIN).status_code == admin_status


def test_policy_denial_message(tmp_path: Path) -> None:
    policy_file = write_policy(
        tmp_path, {"os_compute_api:os-migrate-server:migrate": "!"}
    )
    client = Client(create_app(policy_file=policy_file, build_seconds=0))
    response = migrate(client, create(client))
    assert response.status_code == 403
    assert fault(response, "forbidden") == (
        "Policy doesn't allow os_compute_api:os-migrate-server:migrate to be performed."
    )


def test_yaml_policy_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "# admins only\n'os_compute_api:os-migrate-server:migrate': 'role:admin'\n",
        encoding="utf-8",
    )
    client = Client(create_app(policy_file=path, build_seconds=0))
    assert migrate(client, create(client)).status_code == 403


def test_context_is_admin_rule_makes_admins(tmp_path: Path) -> None:
    policy_file = write_policy(tmp_path, {"context_is_admin": "role:member"})
    client = Client(create_app(policy_file=policy_file, build_seconds=0))
    server_id = create(client)
    url = f"/v2.1/{OTHER.project_id}/servers/{server_id}/action"
    response = client.post(url, json={"migrate": None}, headers=auth(OTHER))
    assert response.status_code == 202


def test_policy_is_checked_after_lookup(tmp_path: Path) -> None:
    policy_file = write_policy(
        tmp_path, {"os_compute_api:os-migrate-server:migrate": "!"}
    )
    client = Client(create_app(policy_file=policy_file))
    assert migrate(client, str(uuid.uuid4())).status_code == 404


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not: [valid", "is not valid YAML or JSON"),
        ("- a\n- b\n", "must map rule names to check strings"),
        ('{"a": ["role:admin"]}', "must be a string mapped to a check string"),
        ('{"a": "rule:b", "b": "rule:a"}', "rules reference each other"),
        ('{"a": "http://127.0.0.1:9/check"}', "uses a http: check"),
    ],
)
def test_broken_policy_file_fails_at_startup(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PolicyFileError, match=re.escape(message)):
        create_app(policy_file=path)


def test_missing_policy_file_fails_at_startup(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="cannot read policy file"):
        create_app(policy_file=tmp_path / "absent.yaml")


# -- lock ----------------------------------------------------------------------


def test_locked_server_is_409_for_owner(client: Client) -> None:
    server_id = create(client)
    assert act(client, server_id, {"lock": None}).status_code == 202
    response = migrate(client, server_id)
    assert response.status_code == 409
    assert fault(response, "conflictingRequest") == f"Instance {server_id} is locked"


def test_locked_server_migrates_for_admin(client: Client) -> None:
    server_id = create(client)
    act(client, server_id, {"lock": None})
    assert migrate(client, server_id, persona=ADMIN).status_code == 202


def test_unlocked_server_migrates_again(client: Client) -> None:
    server_id = create(client)
    act(client, server_id, {"lock": None})
    assert act(client, server_id, {"unlock": None}).status_code == 202
    assert migrate(client, server_id).status_code == 202


def test_owner_cannot_lift_admin_lock(client: Client) -> None:
    server_id = create(client)
    assert act(client, server_id, {"lock": None}, persona=ADMIN).status_code == 202
    response = act(client, server_id, {"unlock": None})
    assert response.status_code == 403
    assert "unlock_override" in fault(response, "forbidden")


def test_locked_server_delete_is_409(client: Client) -> None:
    server_id = create(client)
    act(client, server_id, {"lock": None})
    response = client.delete(f"{servers_url()}/{server_id}", headers=auth())
    assert response.status_code == 409


# -- state machine -------------------------------------------------------------


def test_migration_walks_nova_states(client: Client, clock: FakeClock) -> None:
    server_id = create(client)
    assert show(client, server_id)["status"] == "BUILD"
    assert show(client, server_id)["OS-EXT-STS:vm_state"] == "building"

    clock.advance(5)
    assert show(client, server_id)["status"] == "ACTIVE"
    assert migrate(client, server_id).status_code == 202

    server = show(client, server_id, persona=ADMIN)
    assert server["status"] == "RESIZE"
    assert server["OS-EXT-STS:task_state"] == "resize_prep"
    assert server["OS-EXT-SRV-ATTR:host"] == "compute-1"
    [migration] = migrations(client)
    assert migration["status"] == "migrating"
    assert (migration["source_compute"], migration["dest_compute"]) == (
        "compute-1",
        "compute-2",
    )

    clock.advance(10)
    server = show(client, server_id, persona=ADMIN)
    assert server["status"] == "VERIFY_RESIZE"
    assert server["OS-EXT-STS:vm_state"] == "resized"
    assert server["OS-EXT-STS:task_state"] is None
    assert server["OS-EXT-SRV-ATTR:host"] == "compute-2"
    assert migrations(client)[0]["status"] == "finished"

    assert act(client, server_id, {"confirmResize": None}).status_code == 204
    assert show(client, server_id)["status"] == "ACTIVE"
    assert migrations(client)[0]["status"] == "confirmed"


def test_revert_returns_to_source_host(client: Client) -> None:
    server_id = create(client)
    migrate(client, server_id)
    assert act(client, server_id, {"revertResize": None}).status_code == 202
    server = show(client, server_id, persona=ADMIN)
    assert server["status"] == "ACTIVE"
    assert server["OS-EXT-SRV-ATTR:host"] == "compute-1"
    assert migrations(client)[0]["status"] == "reverted"


def test_stopped_server_migrates_and_stays_stopped(client: Client) -> None:
    server_id = create(client)
    assert act(client, server_id, {"os-stop": None}).status_code == 202
    assert show(client, server_id)["status"] == "SHUTOFF"
    assert migrate(client, server_id).status_code == 202
    assert show(client, server_id)["OS-EXT-STS:power_state"] == 4
    act(client, server_id, {"confirmResize": None})
    assert show(client, server_id)["status"] == "SHUTOFF"


def test_migrate_during_build_is_409(client: Client, clock: FakeClock) -> None:
    server_id = create(client)
    response = migrate(client, server_id)
    assert response.status_code == 409
    assert fault(response, "conflictingRequest") == (
        f"Cannot 'migrate' instance {server_id} while it is in vm_state building"
    )


def test_migrate_during_migration_is_409(client: Client, clock: FakeClock) -> None:
    server_id = create(client)
    clock.advance(5)
    migrate(client, server_id)
    response = migrate(client, server_id)
    assert response.status_code == 409
    assert fault(response, "conflictingRequest") == (
        f"Cannot 'migrate' instance {server_id} while it is in task_state resize_prep"
    )


def test_migrate_in_verify_resize_is_409(client: Client) -> None:
    server_id = create(client)
    migrate(client, server_id)
    response = migrate(client, server_id)
    assert response.status_code == 409
    assert "vm_state resized" in fault(response, "conflictingRequest")


def test_migrate_paused_server_is_409(client: Client) -> None:
    server_id = create(client)
    assert act(client, server_id, {"pause": None}).status_code == 202
    response = migrate(client, server_id)
    assert response.status_code == 409
    assert "vm_state paused" in fault(response, "conflictingRequest")


@pytest.mark.parametrize(
    ("setup", "action", "state"),
    [
        ("os-stop", "pause", "stopped"),
        (None, "unpause", "active"),
        ("os-stop", "os-stop", "stopped"),
        (None, "os-start", "active"),
        (None, "confirmResize", "active"),
        (None, "revertResize", "active"),
    ],
)
def test_action_in_wrong_state_is_409(
    client: Client, setup: str | None, action: str, state: str
) -> None:
    server_id = create(client)
    if setup:
        act(client, server_id, {setup: None})
    response = act(client, server_id, {action: None})
    nova_name = {"os-stop": "stop", "os-start": "start"}.get(action, action)
    assert response.status_code == 409
    assert fault(response, "conflictingRequest") == (
        f"Cannot '{nova_name}' instance {server_id} while it is in vm_state {state}"
    )


def test_pause_cycle_round_trips(client: Client) -> None:
    server_id = create(client)
    act(client, server_id, {"pause": None})
    assert show(client, server_id)["status"] == "PAUSED"
    assert act(client, server_id, {"unpause": None}).status_code == 202
    assert show(client, server_id)["status"] == "ACTIVE"


def test_single_host_is_400_no_valid_host() -> None:
    client = Client(create_app(hosts=["compute-1"], build_seconds=0))
    response = migrate(client, create(client))
    assert response.status_code == 400
    assert fault(response, "badRequest").startswith("No valid host was found.")


def test_lock_check_comes_before_state(client: Client, clock: FakeClock) -> None:
    server_id = create(client)
    act(client, server_id, {"lock": None})
    response = migrate(client, server_id)
    assert fault(response, "conflictingRequest") == f"Instance {server_id} is locked"


# -- servers and os-migrations -------------------------------------------------


def test_create_returns_id_and_admin_pass(client: Client) -> None:
    body = {"server": {"name": "vm", "flavorRef": "1", "imageRef": "img"}}
    response = client.post(servers_url(), json=body, headers=auth())
    server = response.get_json()["server"]
    assert response.status_code == 202
    assert str(uuid.UUID(server["id"], version=4)) == server["id"]
    assert server["adminPass"]
    assert response.headers["Location"].endswith(f"/servers/{server['id']}")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"server": "vm"},
        {"server": {"flavorRef": "1"}},
        {"server": {"name": "vm"}},
        {"server": {"name": "", "flavorRef": "1"}},
        {"server": {"name": " vm", "flavorRef": "1"}},
        {"server": {"name": 7, "flavorRef": "1"}},
        {"server": {"name": "vm", "flavorRef": True}},
        {"server": {"name": "vm", "flavorRef": "1", "imageRef": 3}},
        {"server": {"name": "vm", "flavorRef": "1", "networks": "none"}},
        {"server": {"name": "vm", "flavorRef": "1", "metadata": {"a": 1}}},
        {"server": {"name": "vm", "flavorRef": "1", "colour": "red"}},
        {"server": {"name": "vm", "flavorRef": "1"}, "extra": 1},
    ],
)
def test_invalid_create_is_400(client: Client, body: Any) -> None:
    response = client.post(servers_url(), json=body, headers=auth())
    assert response.status_code == 400
    assert fault(response, "badRequest").startswith("Invalid input for field/attribute")


def test_show_has_nova_fields(client: Client) -> None:
    server_id = create(client)
    server = show(client, server_id)
    assert server["tenant_id"] == OWNER.project_id
    assert server["user_id"] == OWNER.user_id
    assert server["OS-EXT-STS:power_state"] == 1
    assert server["metadata"] == {}
    assert server["addresses"] == {}
    assert "OS-EXT-SRV-ATTR:host" not in server
    assert "OS-EXT-SRV-ATTR:hypervisor_hostname" not in server


def test_show_has_host_for_admin(client: Client) -> None:
    server = show(client, create(client), persona=ADMIN)
    assert server["OS-EXT-SRV-ATTR:host"] == "compute-1"
    assert server["OS-EXT-SRV-ATTR:hypervisor_hostname"] == "compute-1"


def test_list_shows_own_project_only(client: Client) -> None:
    own = create(client)
    create(client, persona=OTHER)
    response = client.get(servers_url(), headers=auth())
    assert [s["id"] for s in response.get_json()["servers"]] == [own]


def test_delete_then_show_is_404(client: Client) -> None:
    server_id = create(client)
    response = client.delete(f"{servers_url()}/{server_id}", headers=auth())
    assert response.status_code == 204
    response = client.get(f"{servers_url()}/{server_id}", headers=auth())
    assert response.status_code == 404


def test_migrations_need_admin(client: Client) -> None:
    response = client.get(f"/v2.1/{OWNER.project_id}/os-migrations", headers=auth())
    assert response.status_code == 403
    assert fault(response, "forbidden") == (
        "Policy doesn't allow os_compute_api:os-migrations:index to be performed."
    )


def test_migration_record_has_nova_fields(client: Client) -> None:
    server_id = create(client)
    migrate(client, server_id)
    [migration] = migrations(client)
    assert set(migration) == {
        "id",
        "instance_uuid",
        "source_compute",
        "dest_compute",
        "source_node",
        "dest_node",
        "status",
        "old_instance_type_id",
        "new_instance_type_id",
        "created_at",
        "updated_at",
    }
    assert migration["instance_uuid"] == server_id


def test_migrations_filter_by_instance(client: Client) -> None:
    first, second = create(client), create(client)
    migrate(client, first)
    migrate(client, second)
    url = f"/v2.1/{ADMIN.project_id}/os-migrations?instance_uuid={second}"
    found = client.get(url, headers=auth(ADMIN)).get_json()["migrations"]
    assert [m["instance_uuid"] for m in found] == [second]


def test_unexpected_error_is_500_compute_fault(
    app: ComputeApp,
    client: Client,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_list(project_id: str | None) -> list[Any]:
        raise RuntimeError("store is broken")

    monkeypatch.setattr(app.store, "list_servers", broken_list)
    response = client.get(servers_url(), headers=auth())
    assert response.status_code == 500
    assert fault(response, "computeFault").startswith("Unexpected API Error.")
    assert "RuntimeError: store is broken" in caplog.text


# -- fuzzing: no input reaches the 500 path ----------------------------------

ODD_BODIES = [
    b"",
    b"{",
    b"\x00",
    b"\xff" * 10,
    b'{"migrate": null}' * 3,
    b'{"migrate": {"host": null}}',
    b'{"\\ud800": null}',
    b'{"migrate": "\\ud800"}',
    b'{"migrate": 1e999}',
    b'{"migrate": -0}',
    b'{"migrate": {"": {}}}',
    b'{"server": {"name": "\\u0000", "flavorRef": 0}}',
    b'{"server": {"name": "vm", "flavorRef": 1, "metadata": {"": ""}}}',
    b'{"server": {"name": "vm", "flavorRef": "1", "networks": [1]}}',
    b"[" * 3000,
    b"{" * 3000,
    b'{"a":' * 3000,
    json.dumps({"migrate": None, "x" * 1000: [1] * 1000}).encode(),
]
ODD_PATHS = [
    "/v2.1/{p}/servers/{s}/action",
    "/v2.1/{p}/servers/{s}",
    "/v2.1/{p}/servers",
    "/v2.1/{p}/os-migrations",
    "/v2.1/{p}/servers/%2e%2e/action",
    "/v2.1/{p}/servers/{s}%00/action",
    "/v2.1/{p}/servers/{s}/action/",
    "/v2.1//servers",
    "/v2.1/%ff/servers",
    "/v2.1/{p}/servers/\u00e9/action",
    "/" + "a/" * 500,
    "/v2.1",
    "/",
]
ODD_HEADERS: list[dict[str, str]] = [
    {},
    {"Content-Type": ""},
    {"Content-Type": ";;;"},
    {"Content-Type": "application/json; charset=latin-1"},
    {"OpenStack-API-Version": "compute " + "9" * 5000 + ".1"},
    {"OpenStack-API-Version": ",,,"},
    {"X-OpenStack-Nova-API-Version": "2." + "1" * 5000},
    {"X-Auth-Token": ""},
    {"X-Auth-Token": "x" * 20000},
    {"Host": "\u00ff" * 10},
    {"Accept": "application/xml"},
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "BREW"]


def test_fuzzed_requests_never_get_500(client: Client) -> None:
    server_id = create(client)
    chooser = random.Random(20240601)
    for _ in range(1500):
        path = chooser.choice(ODD_PATHS).format(p=OWNER.project_id, s=server_id)
        headers = {**chooser.choice([auth(), {}]), **chooser.choice(ODD_HEADERS)}
        response = client.open(
            path,
            method=chooser.choice(METHODS),
            data=chooser.choice(ODD_BODIES),
            headers=headers,
        )
        assert response.status_code < 500, (path, headers, response.data)


# -- over real HTTP ------------------------------------------------------------


@pytest.fixture
def live() -> Iterator[Any]:
    app = create_app(build_seconds=0, migrate_seconds=60)
    with serve_in_thread(app) as running:
        yield running


def live_create(base_url: str) -> str:
    body = {"server": {"name": "vm", "flavorRef": "1", "imageRef": "img"}}
    response = requests.post(
        f"{base_url}/v2.1/{OWNER.project_id}/servers",
        json=body,
        headers=auth(),
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return response.json()["server"]["id"]


def test_serve_in_thread_reports_url_and_port(live: Any) -> None:
    assert live.url == f"http://127.0.0.1:{live.port}"
    assert live.port > 0
    assert requests.get(live.url + "/", timeout=10).status_code == 200


def test_stop_is_idempotent_and_closes_port() -> None:
    running = serve_in_thread(create_app())
    running.stop()
    running.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", running.port), timeout=1).close()


def test_concurrent_migrates_accept_exactly_one(live: Any) -> None:
    server_id = live_create(live.url)
    url = f"{live.url}/v2.1/{OWNER.project_id}/servers/{server_id}/action"
    count = 16
    barrier = threading.Barrier(count)
    statuses: list[int] = []

    def send() -> None:
        with requests.Session() as session:
            barrier.wait()
            response = session.post(
                url, json={"migrate": None}, headers=auth(), timeout=30
            )
            statuses.append(response.status_code)

    workers = [threading.Thread(target=send) for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(statuses) == [202] + [409] * (count - 1)


def test_chunked_body_over_limit_is_413(live: Any) -> None:
    server_id = live_create(live.url)
    url = f"{live.url}/v2.1/{OWNER.project_id}/servers/{server_id}/action"

    def chunks() -> Iterator[bytes]:
        yield b'{"migrate": null, "pad": "'
        for _ in range(20):
            yield b"x" * 8192
        yield b'"}'

    response = requests.post(url, data=chunks(), headers=auth(), timeout=30)
    assert response.status_code == 413
    assert response.json()["overLimit"]["code"] == 413


def test_chunked_migrate_is_accepted(live: Any) -> None:
    server_id = live_create(live.url)
    url = f"{live.url}/v2.1/{OWNER.project_id}/servers/{server_id}/action"
    response = requests.post(
        url, data=iter([b'{"migrate":', b" null}"]), headers=auth(), timeout=30
    )
    assert response.status_code == 202


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes and return what comes back before the server closes.

    A server that rejects a request early may reset the connection, so a send
    or receive error ends the exchange with whatever arrived.
    """
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        try:
            connection.sendall(request)
            connection.shutdown(socket.SHUT_WR)
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        except OSError:
            pass
    return b"".join(chunks)


@pytest.mark.parametrize(
    "target",
    [
        "/v2.1/{p}/servers/%2541/action",
        "/v2.1/{p}/servers/%ZZ/action",
        "/v2.1/{p}/servers/%C3%28/action",
        "/v2.1/%7B%7D/servers",
        "/v2.1/{p}/servers?%ff=%fe&&==",
    ],
)
def test_raw_percent_encodings_never_get_500(live: Any, target: str) -> None:
    path = target.format(p=OWNER.project_id)
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: {OWNER.token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 17\r\n"
        'Connection: close\r\n\r\n{"migrate": null}'
    ).encode()
    status_line = raw_exchange(live.port, request).split(b"\r\n", 1)[0]
    assert int(status_line.split()[1]) < 500, status_line


def test_large_header_is_served(live: Any) -> None:
    request = (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 60000 + b"\r\n"
        b"Connection: close\r\n\r\n"
    )
    status_line = raw_exchange(live.port, request).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 200 OK"


def test_oversized_headers_are_rejected(live: Any) -> None:
    request = (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 200000 + b"\r\n"
        b"Connection: close\r\n\r\n"
    )
    status_line = raw_exchange(live.port, request).split(b"\r\n", 1)[0]
    # cheroot sends 413 past its header limit, or resets the connection when
    # the unread rest of the headers is still in its receive buffer.
    assert status_line in (b"", b"HTTP/1.1 413 Request Entity Too Large")


# -- command line --------------------------------------------------------------


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reference_server", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_cli_help_lists_options() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for option in (
        "--port",
        "--host",
        "--policy-file",
        "--personas",
        "--hosts",
        "--log-level",
    ):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy-file", "/nonexistent/policy.yaml"], "cannot read policy file"),
        (["--personas", "/nonexistent/personas.yaml"], "cannot read personas file"),
        (["--port", "70000"], "invalid port"),
        (["--port", "http"], "invalid port"),
        (["--hosts", "a,,b"], "invalid host list"),
    ],
)
def test_cli_bad_option_exits_2(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_unparsable_policy_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("{not: [valid", encoding="utf-8")
    result = run_cli("--policy-file", str(path))
    assert result.returncode == 2
    assert "is not valid YAML or JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_serves_until_sigterm() -> None:
    command = [sys.executable, "-m", "reference_server", "--port", "0"]
    with subprocess.Popen(
        command, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stderr is not None
            url = None
            for line in process.stderr:
                found = re.search(r"Serving the Compute API on (http://\S+)", line)
                if found:
                    url = found.group(1)
                    break
            assert url is not None
            assert requests.get(url + "/v2.1", timeout=10).status_code == 200
            process.send_signal(signal.SIGTERM)
            remaining = process.stderr.read()
            assert process.wait(timeout=30) == 0
            assert f"Stopped serving the Compute API on {url}" in remaining
        finally:
            if process.poll() is None:
                process.kill()
