"""Personas that log in through clouds.yaml: Keystone's token and catalog drive a run.

A stand-in for Keystone issues the tokens, and a token-checking middleware in
front of the reference server plays keystonemiddleware: it asks the stand-in
whose token it is, as the real middleware asks Keystone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.personas import DEFAULT_PERSONAS_PATH, load_personas
from reference_server import create_app, serve_in_thread
from tests.keystone_standin import KeystoneStandin, KeystoneUser, Project
from tests.suite_run import run_suite

REFERENCE = load_personas(DEFAULT_PERSONAS_PATH)
CLOUD_PERSONAS = ("admin", "owner", "manager", "other")
NOVA_POLICY = Path(__file__).resolve().parent.parent / "policies" / "nova.yaml"


def password_of(name: str) -> str:
    return f"{name}-secret-password"


class KeystoneTokenCheck:
    """Swap a Keystone token for the reference server's token of the same user."""

    def __init__(self, app: Any, keystone: KeystoneStandin) -> None:
        self.app = app
        self.keystone = keystone
        self.tokens_by_user = {p.user_id: p.token for p in REFERENCE.personas.values()}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        scope = self.keystone.token_scope(environ.get("HTTP_X_AUTH_TOKEN", ""))
        if scope is not None:
            environ["HTTP_X_AUTH_TOKEN"] = self.tokens_by_user[scope[0]]
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def cloud() -> Iterator[tuple[str, KeystoneStandin]]:
    """Serve Keystone and a Compute API behind it; yield Keystone's URL."""
    personas = [REFERENCE[name] for name in CLOUD_PERSONAS]
    projects = {
        p.project_id: Project(p.project_id, f"project-{p.project_id[:6]}")
        for p in personas
    }
    users = [
        KeystoneUser(p.user_id, p.name, password_of(p.name), {p.project_id: p.roles})
        for p in personas
    ]
    keystone = KeystoneStandin(
        users=users, projects=projects.values(), compute_endpoints={}
    )
    compute_app = KeystoneTokenCheck(create_app(policy_file=NOVA_POLICY), keystone)
    with (
        serve_in_thread(compute_app, port=0) as compute,
        serve_in_thread(keystone, port=0) as identity,
    ):
        keystone.compute_endpoints["public"] = f"{compute.url}/v2.1"
        yield identity.url, keystone


def write_cloud_personas(tmp_path: Path, keystone_url: str) -> Path:
    clouds = {
        name: {
            "auth_type": "password",
            "auth": {
                "auth_url": f"{keystone_url}/v3",
                "username": name,
                "password": password_of(name),
                "user_domain_name": "Default",
                "project_id": REFERENCE[name].project_id,
            },
        }
        for name in CLOUD_PERSONAS
    }
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump({"clouds": clouds}))
    document = {
        "clouds_file": "clouds.yaml",
        "personas": {name: {"cloud": name} for name in CLOUD_PERSONAS},
        "server": {"flavorRef": "1", "imageRef": "image"},
    }
    path = tmp_path / "personas.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_cloud_personas_get_token_and_roles_from_keystone(cloud, tmp_path):
    keystone_url, keystone = cloud
    path = write_cloud_personas(tmp_path, keystone_url)

    personas = load_personas(path)

    manager = personas["manager"]
    assert keystone.token_scope(manager.token) == (
        REFERENCE["manager"].user_id,
        REFERENCE["manager"].project_id,
    )
    assert set(manager.roles) == set(REFERENCE["manager"].roles)
    assert personas.compute_endpoint.endswith("/v2.1")


def test_suite_runs_against_catalog_endpoint(cloud, tmp_path, monkeypatch):
    keystone_url, keystone = cloud
    path = write_cloud_personas(tmp_path, keystone_url)
    monkeypatch.delenv("OS_CLOUD", raising=False)

    run = run_suite(
        "--personas",
        str(path),
        "--policy-profile",
        "nova",
        tmp_path=tmp_path,
        paths=("conformance/test_policy.py",),
    )

    assert run.exit_code == 0, run.summary()
    assert run.verdicts["policy-configurable"] == "passed", run.summary()
    target = keystone.compute_endpoints["public"].removesuffix("/v2.1")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["target"] == target


def test_tokens_never_appear_in_output(cloud, tmp_path):
    keystone_url, _ = cloud
    path = write_cloud_personas(tmp_path, keystone_url)
    personas = load_personas(path)
    # A policy the server does not enforce makes checks fail and print exchanges.
    failing = run_suite(
        "--personas",
        str(path),
        "--policy-file",
        str(Path("policies/deny-all.yaml").resolve()),
        "--report-md",
        str(tmp_path / "report.md"),
        tmp_path=tmp_path,
        paths=("conformance/test_policy.py",),
    )

    assert failing.exit_code == 1, failing.summary()
    written = [
        failing.output,
        (tmp_path / "report.json").read_text(),
        (tmp_path / "report.md").read_text(),
        (tmp_path / "junit.xml").read_text(),
    ]
    for persona in personas.personas.values():
        for text in written:
            assert persona.token not in text, f"{persona.name}'s token was printed"
    for name in CLOUD_PERSONAS:
        for text in written:
            assert password_of(name) not in text
