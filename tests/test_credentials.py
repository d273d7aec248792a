"""Tests of logging in through clouds.yaml, against a Keystone stand-in over HTTP."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from openstack.config import loader

from conformance.credentials import (
    CloudCredentials,
    CredentialsError,
    credentials_from_cloud,
)
from reference_server import serve_in_thread
from tests.keystone_standin import (
    ApplicationCredential,
    KeystoneStandin,
    KeystoneUser,
    Project,
)

DEMO = Project(id="2b3c4d5e6f7a48b9c0d1e2f3a4b5c6d7", name="demo")
ALT_DEMO = Project(id="8c9d0e1f2a3b44c5d6e7f8a9b0c1d2e3", name="alt_demo")
NO_ROLE = Project(id="6f0e1d2c3b4a49586f7e8d9c0b1a2f3e", name="no_role")
ALICE_PASSWORD = "correct-horse-battery-staple"
ALICE = KeystoneUser(
    id="1c2d3e4f5a6b47c8d9e0f1a2b3c4d5e6",
    name="alice",
    password=ALICE_PASSWORD,
    roles={DEMO.id: ("member", "reader"), ALT_DEMO.id: ("admin", "member")},
)
APP_CREDENTIAL = ApplicationCredential(
    id="4e5f6a7b8c9d40e1f2a3b4c5d6e7f8a9",
    secret="app-credential-secret-0451",
    user_id=ALICE.id,
    project_id=DEMO.id,
    roles=("reader",),
)
COMPUTE_PUBLIC = f"http://127.0.0.1:8774/v2.1/{DEMO.id}"
COMPUTE_INTERNAL = "http://127.0.0.1:18774/v2.1"


@pytest.fixture(autouse=True)
def isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the user's OS_* variables and clouds.yaml files out of every test."""
    for name in list(os.environ):
        if name.startswith("OS_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "no-config-here"
    monkeypatch.setattr(loader, "CONFIG_FILES", [str(empty / "clouds.yaml")])
    monkeypatch.setattr(loader, "SECURE_FILES", [str(empty / "secure.yaml")])
    monkeypatch.setattr(loader, "VENDOR_FILES", [str(empty / "clouds-public.yaml")])


@contextmanager
def serve_keystone(
    compute_endpoints: dict[str, str],
) -> Iterator[tuple[KeystoneStandin, str]]:
    """Serve a Keystone stand-in on a free loopback port, and yield it and its URL."""
    app = KeystoneStandin(
        users=[ALICE],
        projects=[DEMO, ALT_DEMO, NO_ROLE],
        compute_endpoints=compute_endpoints,
        application_credentials=[APP_CREDENTIAL],
    )
    with serve_in_thread(app, "127.0.0.1", 0) as server:
        yield app, server.url


@pytest.fixture(scope="module")
def keystone() -> Iterator[tuple[KeystoneStandin, str]]:
    """Serve one stand-in for the module, because stopping cheroot takes 0.5 s."""
    endpoints = {"internal": COMPUTE_INTERNAL, "public": COMPUTE_PUBLIC}
    with serve_keystone(endpoints) as started:
        yield started


def write_clouds(path: Path, clouds: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"clouds": clouds}), encoding="utf-8")
    return path


def password_cloud(auth_url: str, **auth: Any) -> dict[str, Any]:
    """Return a clouds.yaml entry for alice in the demo project.

    ``auth`` replaces or adds keys of its auth section.
    """
    entry = {
        "auth_url": auth_url,
        "username": ALICE.name,
        "password": ALICE_PASSWORD,
        "user_domain_name": "Default",
        "project_id": DEMO.id,
    }
    entry.update(auth)
    return {"auth_type": "password", "auth": entry}


@contextmanager
def closed_port() -> Iterator[int]:
    """Yield a loopback port that refuses connections until the context exits."""
    with socket.socket() as sock:
        # The socket is bound but never listens, so connecting gets ECONNREFUSED
        # and no other process can take the port while the socket is open.
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# --- password authentication -------------------------------------------------


def test_password_auth_reads_token_and_scope(
    keystone: tuple[KeystoneStandin, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, url = keystone
    path = write_clouds(tmp_path / "clouds.yaml", {"demo": password_cloud(f"{url}/v3")})
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))

    credentials = credentials_from_cloud("demo")

    assert credentials.token
    assert app.token_scope(credentials.token) == (ALICE.id, DEMO.id)
    assert credentials.project_id == DEMO.id
    assert credentials.user_id == ALICE.id
    assert credentials.roles == ("member", "reader")
    assert credentials.compute_endpoint == COMPUTE_PUBLIC


def test_password_auth_project_by_name(
    keystone: tuple[KeystoneStandin, str], tmp_path: Path
) -> None:
    _, url = keystone
    entry = password_cloud(
        f"{url}/v3", project_name=ALT_DEMO.name, project_domain_id="default"
    )
    del entry["auth"]["project_id"]
    path = write_clouds(tmp_path / "clouds.yaml", {"alt": entry})

    credentials = credentials_from_cloud("alt", config_file=path)

    assert credentials.project_id == ALT_DEMO.id
    assert credentials.roles == ("admin", "member")


def test_password_auth_discovers_unversioned_url(
    keystone: tuple[KeystoneStandin, str], tmp_path: Path
) -> None:
    _, url = keystone
    path = write_clouds(tmp_path / "clouds.yaml", {"demo": password_cloud(url)})

    credentials = credentials_from_cloud("demo", config_file=path)

    assert credentials.project_id == DEMO.id


def test_password_from_secure_yaml(
    keystone: tuple[KeystoneStandin, str], tmp_path: Path
) -> None:
    _, url = keystone
    entry = password_cloud(f"{url}/v3")
    del entry["auth"]["password"]
    path = write_clouds(tmp_path / "clouds.yaml", {"demo": entry})
    write_clouds(
        tmp_path / "secure.yaml", {"demo": {"auth": {"password": ALICE_PASSWORD}}}
    )

    credentials = credentials_from_cloud("demo", config_file=path)

    assert credentials.user_id == ALICE.id


def test_compute_endpoint_missing_is_none(tmp_path: Path) -> None:
    with serve_keystone(compute_endpoints={}) as (_, url):
        path = write_clouds(
            tmp_path / "clouds.yaml", {"demo": password_cloud(f"{url}/v3")}
        )

        credentials = credentials_from_cloud("demo", config_file=path)

    assert credentials.compute_endpoint is None


def test_compute_endpoint_is_public_interface(
    keystone: tuple[KeystoneStandin, str], tmp_path: Path
) -> None:
    # The stand-in lists the internal endpoint first, so a lookup that ignored
    # the interface would return it.
    _, url = keystone
    path = write_clouds(tmp_path / "clouds.yaml", {"demo": password_cloud(f"{url}/v3")})

    credentials = credentials_from_cloud("demo", config_file=path)

    assert credentials.compute_endpoint == COMPUTE_PUBLIC
    assert credentials.compute_endpoint != COMPUTE_INTERNAL


# --- token and application credential authentication ------------------------


@pytest.mark.parametrize("auth_type", ["v3token", "token"])
def test_token_auth_rescopes_token(
    keystone: tuple[KeystoneStandin, str], tmp_path: Path, auth_type: str
) -> None:
    app, url = keystone
    first = credentials_from_cloud(
        "demo",
        config_file=write_clouds(
            tmp_path / "clouds.yaml", {"demo": password_cloud(f"{url}/v3")}
        ),
    )
    entry = {
        "auth_type": auth_type,
        "auth": {
            "auth_url": f"{url}/v3",
            "token": first.token,
            "project_id": ALT_DEMO.id,
        },
    }
    path = write_clouds(tmp_path / "token" / "clouds.yaml", {"alt": entry})

    credentials = credentials_from_cloud("alt", config_file=path)

    assert credentials.token != first.token
    assert app.token_scope(credentials.token) == (ALICE.id, ALT_DEMO.id)
    assert credentials.user_id == ALICE.id
    assert credentials.project_id == ALT_DEMO.id
    assert credentials.roles == ("admin", "member")


def test_application_credential_auth(
    keystone: tuple[KeystoneStandin, str], tmp_path: Path
) -> None:
    _, url = keystone
    entry = {
        "auth_type": "v3applicationcredential",
        "auth": {
            "auth_url": f"{url}/v3",
            "application_credential_id": APP_CREDENTIAL.id,
            "application_credential_secret": APP_CREDENTIAL.secret,
        },
    }
    path = write_clouds(tmp_path / "clouds.yaml", {"app": entry})

    credentials = credentials_from_cloud("app", config_file=path)

    assert credentials.user_id == ALICE.id
    assert credentials.project_id == DEMO.id
    assert credentials.roles == ("reader",)


# --- where clouds.yaml is read from -------------------------------------------


def test_config_file_wins_over_environment(
    keystone: tuple[KeystoneStandin, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, url = keystone
    decoy = write_clouds(
        tmp_path / "env" / "clouds.yaml", {"other": password_cloud(f"{url}/v3")}
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(decoy))
    path = write_clouds(tmp_path / "clouds.yaml", {"demo": password_cloud(f"{url}/v3")})

    credentials = credentials_from_cloud("demo", config_file=path)

    assert credentials.project_id == DEMO.id


def test_standard_search_path_is_read(
    keystone: tuple[KeystoneStandin, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, url = keystone
    path = write_clouds(
        tmp_path / "etc" / "clouds.yaml", {"demo": password_cloud(f"{url}/v3")}
    )
    monkeypatch.setattr(
        loader, "CONFIG_FILES", [str(tmp_path / "home" / "clouds.yaml"), str(path)]
    )

    credentials = credentials_from_cloud("demo")

    assert credentials.project_id == DEMO.id


def test_no_clouds_yaml_anywhere(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError) as caught:
        credentials_from_cloud("demo")

    message = str(caught.value)
    assert message.startswith("cloud 'demo': no clouds.yaml found in ")
    assert str(tmp_path / "no-config-here") in message
    assert "OS_CLIENT_CONFIG_FILE" in message


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    with pytest.raises(CredentialsError) as caught:
        credentials_from_cloud("demo", config_file=path)

    assert str(caught.value) == (
        f"cloud 'demo': clouds.yaml {path} does not exist; check the path"
    )


def test_missing_os_client_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "absent.yaml"
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))

    with pytest.raises(CredentialsError) as caught:
        credentials_from_cloud("demo")

    assert str(caught.value) == (
        f"cloud 'demo': OS_CLIENT_CONFIG_FILE is {path}, which does not exist; "
        "fix the path or unset the variable"
    )


def test_unknown_cloud_lists_known_clouds(
    keystone: tuple[KeystoneStandin, str], tmp_path: Path
) -> None:
    _, url = keystone
    path = write_clouds(
        tmp_path / "clouds.yaml",
        {"demo": password_cloud(f"{url}/v3"), "alt": password_cloud(f"{url}/v3")},
    )

    with pytest.raises(CredentialsError) as caught:
        credentials_from_cloud("prod", config_file=path)

    assert str(caught.value) == (
        f"cloud 'prod' is not in {path}, whose clouds are: alt, demo; "
        "check the cloud name"
    )


def test_invalid_yaml_hides_the_line(tmp_path: Path) -> None:
    path = tmp_path / "clouds.yaml"
    path.write_text(
        f"clouds:\n  demo:\n    auth:\n      password: {ALICE_PASSWORD}: [\n",
        encoding="utf-8",
    )

    with pytest.raises(CredentialsError) as caught:
        credentials_from_cloud("demo", config_file=path)

    message = str(caught.value)
    assert message.startswith(f"cloud 'demo': {path} is not valid YAML at line 4")
    assert ALICE_PASSWORD not in message


def test_missing_auth_url(tmp_path: Path) -> None:
    entry = password_cloud("http://127.0.0.1:1")
    del entry["auth"]["auth_url"]
    path = write_clouds(tmp_path / "clouds.yaml", {"demo": entry})

    with pytest.raises(CredentialsError) as caught:
        credentials_from_cloud("demo", config_file=path)

    assert str(caught.value) == (
        f"cloud 'demo' in {path} lacks auth options: auth_url; "
        "add them under its auth section"
    )


def test_unknown_auth_type(tmp_path: Path) -> None:
    entry = password_cloud("http://127.0.0.1:1")
    entry["auth_type"] = "kerberos-v9"
    path = write_clouds(tmp_path / "clouds.yaml", {"demo": entry})

    with pytest.raises(CredentialsError) as caught:
        credentials_from_cloud("demo", config_file=path)

    assert "auth_type 'kerberos-v9'" in str(caught.value)


# --- failures at Keystone -----------------------------------------------------


def test_wrong_password_names_cloud_not_password(
    keystone: tuple[KeystoneStandin, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, url = keystone
    wrong = "Wr0ng-pa55word-7f3e"
    path = write_clouds(
        tmp_path / "clouds.yaml", {"demo": password_cloud(f"{url}/v3", password=wrong)}
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(CredentialsError) as caught:
        credentials_from_cloud("demo", config_file=path)

    message = str(caught.value)
    assert message == (
        f"cloud 'demo': Keystone at {url}/v3 rejected the credentials with 401; "
        "check the user, password or token, the project and their domains"
    )
    assert wrong not in repr(caught.value)
    assert wrong not in caplog.text
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_unscoped_token_is_rejected(
    keystone: tuple[KeystoneStandin, str], tmp_path: Path
) -> None:
    _, url = keystone
    entry = password_cloud(f"{url}/v3")
    del entry["auth"]["project_id"]
    path = write_clouds(tmp_path / "clouds.yaml", {"demo": entry})

    with pytest.raises(CredentialsError) as caught:
        credentials_from_cloud("demo", config_file=path)

    assert str(caught.value) == (
        "cloud 'demo': Keystone issued a token that is not scoped to a project; "
        "set project_id, or project_name and project_domain_name, under auth in "
        "clouds.yaml"
    )


@pytest.mark.parametrize(
    "project_id",
    [NO_ROLE.id, "0" * 32],
    ids=["project-without-role", "unknown-project"],
)
def test_scope_not_granted_is_401(
    keystone: tuple[KeystoneStandin, str], tmp_path: Path, project_id: str
) -> None:
    _, url = keystone
    path = write_clouds(
        tmp_path / "clouds.yaml",
        {"demo": password_cloud(f"{url}/v3", project_id=project_id)},
    )

    with pytest.raises(CredentialsError, match="rejected the credentials with 401"):
        credentials_from_cloud("demo", config_file=path)


@pytest.mark.parametrize("versioned", [True, False], ids=["v3-url", "unversioned-url"])
def test_keystone_down_is_one_line(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    versioned: bool,
) -> None:
    with closed_port() as port:
        auth_url = f"http://127.0.0.1:{port}" + ("/v3" if versioned else "")
        path = write_clouds(
            tmp_path / "clouds.yaml", {"demo": password_cloud(auth_url)}
        )

        with pytest.raises(CredentialsError) as caught:
            credentials_from_cloud("demo", config_file=path, timeout=5.0)

    assert str(caught.value) == (
        f"cloud 'demo': cannot connect to Keystone at {auth_url}: Connection refused;"
        " check auth_url and that Keystone is running"
    )
    assert caught.value.__cause__ is None
    assert "Traceback" not in capfd.readouterr().err
    assert not [record for record in caplog.records if record.exc_info]


def test_keystone_silent_times_out(tmp_path: Path) -> None:
    with socket.socket() as listener:
        # The socket listens but never accepts, so the kernel completes the TCP
        # handshake and the HTTP request waits for a response that never comes.
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        auth_url = f"http://127.0.0.1:{listener.getsockname()[1]}/v3"
        path = write_clouds(
            tmp_path / "clouds.yaml", {"demo": password_cloud(auth_url)}
        )

        with pytest.raises(CredentialsError) as caught:
            credentials_from_cloud("demo", config_file=path, timeout=0.3)

    assert str(caught.value) == (
        f"cloud 'demo': the request to Keystone at {auth_url} timed out after "
        "0.3 s; check auth_url and that Keystone is reachable"
    )


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_timeout_must_be_positive(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        credentials_from_cloud("demo", timeout=timeout)


# --- secrets stay out of reprs and logs --------------------------------------


def test_repr_hides_token() -> None:
    credentials = CloudCredentials(
        token="gAAAAABsecret-token",
        project_id=DEMO.id,
        user_id=ALICE.id,
        roles=("member",),
        compute_endpoint=None,
    )

    assert "gAAAAABsecret-token" not in repr(credentials)
    assert "token=" not in repr(credentials)
    assert DEMO.id in repr(credentials)


def test_login_logs_no_secret(
    keystone: tuple[KeystoneStandin, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, url = keystone
    path = write_clouds(tmp_path / "clouds.yaml", {"demo": password_cloud(f"{url}/v3")})
    caplog.set_level(logging.DEBUG)

    credentials = credentials_from_cloud("demo", config_file=path)

    assert ALICE_PASSWORD not in caplog.text
    assert credentials.token not in caplog.text
    assert f"Logged in as cloud 'demo' from {path}" in caplog.text
