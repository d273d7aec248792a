"""A small Compute API client: the suite's way to set up and observe servers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests

from conformance.personas import Persona, ServerTemplate

__all__ = ["ComputeClient", "PreconditionError", "describe_exchange"]

MICROVERSION = "2.1"
BODY_EXCERPT_CHARS = 500


class PreconditionError(AssertionError):
    """The target did not reach a state a check needs, so the check cannot run."""


@dataclass(frozen=True)
class ServerView:
    """A server as the Compute API shows it."""

    id: str
    status: str
    task_state: str | None
    host: str | None
    project_id: str | None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ServerView:
        server = body["server"]
        return cls(
            id=server["id"],
            status=server["status"],
            task_state=server.get("OS-EXT-STS:task_state"),
            host=server.get("OS-EXT-SRV-ATTR:host"),
            project_id=server.get("tenant_id"),
        )


class ComputeClient:
    """Send Compute API requests to one target as any persona."""

    def __init__(
        self, root_url: str, *, request_timeout: float, state_timeout: float
    ) -> None:
        self.root_url = root_url.rstrip("/")
        self.request_timeout = request_timeout
        self.state_timeout = state_timeout
        self.session = requests.Session()

    def url(self, persona_or_project: Persona | str, *parts: str) -> str:
        project = getattr(persona_or_project, "project_id", persona_or_project)
        return "/".join([self.root_url, "v2.1", str(project), *parts])

    def request(
        self,
        method: str,
        url: str,
        *,
        persona: Persona | None,
        json_body: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        microversion: str | None = MICROVERSION,
    ) -> requests.Response:
        """Send one request; a persona of None sends no token."""
        sent_headers = {"Accept": "application/json"}
        if microversion is not None:
            sent_headers["OpenStack-API-Version"] = f"compute {microversion}"
            sent_headers["X-OpenStack-Nova-API-Version"] = microversion
        if persona is not None:
            sent_headers["X-Auth-Token"] = persona.token
        if json_body is not None:
            data = json.dumps(json_body)
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(headers or {})
        try:
            # A redirect is a response to judge, not to follow, because the
            # Compute API responds to this operation itself.
            return self.session.request(
                method,
                url,
                data=data,
                headers=sent_headers,
                timeout=self.request_timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise AssertionError(
                f"{method} {url} timed out after {self.request_timeout} s "
                "(raise it with --request-timeout)"
            ) from exc
        except requests.ConnectionError as exc:
            raise AssertionError(f"{method} {url} failed to connect: {exc}") from exc

    def migrate(
        self,
        persona: Persona | None,
        server_id: str,
        *,
        body: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        project_id: str | None = None,
    ) -> requests.Response:
        """Send the migrate action; by default the document's ``{"migrate": null}``."""
        project = project_id or (persona.project_id if persona else "0" * 32)
        url = self.url(project, "servers", server_id, "action")
        if body is None and data is None:
            body = {"migrate": None}
        if data is not None:
            merged = {"Content-Type": "application/json", **(headers or {})}
            return self.request("POST", url, persona=persona, data=data, headers=merged)
        return self.request(
            "POST", url, persona=persona, json_body=body, headers=headers
        )

    def create_server(self, persona: Persona, template: ServerTemplate) -> str:
        name = f"conformance-{uuid.uuid4().hex[:8]}"
        response = self.request(
            "POST",
            self.url(persona, "servers"),
            persona=persona,
            json_body=template.create_body(name),
            microversion=template.microversion or MICROVERSION,
        )
        if response.status_code != 202:
            raise PreconditionError(
                "creating a server failed, so the check could not run:\n"
                + describe_exchange(response)
            )
        return str(response.json()["server"]["id"])

    def show(self, persona: Persona, server_id: str) -> ServerView:
        response = self.request(
            "GET", self.url(persona, "servers", server_id), persona=persona
        )
        if response.status_code != 200:
            raise PreconditionError(
                f"reading server {server_id} failed:\n" + describe_exchange(response)
            )
        return ServerView.from_body(response.json())

    def action(
        self, persona: Persona, server_id: str, name: str, value: Any = None
    ) -> requests.Response:
        url = self.url(persona, "servers", server_id, "action")
        return self.request("POST", url, persona=persona, json_body={name: value})

    def setup_action(self, persona: Persona, server_id: str, name: str) -> None:
        """Run a setup action (os-stop, pause, lock ...) that must succeed."""
        response = self.action(persona, server_id, name)
        if response.status_code not in (202, 204):
            raise PreconditionError(
                f"the setup action {name!r} on server {server_id} failed:\n"
                + describe_exchange(response)
            )

    def wait_for_status(
        self, persona: Persona, server_id: str, statuses: Iterable[str]
    ) -> ServerView:
        """Poll the server until its status is one of ``statuses`` and no task runs."""
        expected = set(statuses)
        deadline = time.monotonic() + self.state_timeout
        delay = 0.02
        while True:
            view = self.show(persona, server_id)
            if view.status in expected and view.task_state is None:
                return view
            if view.status == "ERROR" or time.monotonic() > deadline:
                raise PreconditionError(
                    f"server {server_id} is {view.status} (task {view.task_state}); "
                    f"waited {self.state_timeout} s for {', '.join(sorted(expected))} "
                    "(raise it with --state-timeout)"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def delete_server(self, persona: Persona, server_id: str) -> None:
        """Delete a server, ignoring one already gone."""
        self.action(persona, server_id, "unlock")
        self.request("DELETE", self.url(persona, "servers", server_id), persona=persona)


def describe_exchange(response: Any) -> str:
    """Describe a request and its response for a failure message, token masked.

    Takes a ``requests.Response`` or a schemathesis ``Response``.
    """
    request = response.request
    lines = [f"> {request.method} {request.url}"]
    for name, value in request.headers.items():
        shown = "[masked]" if name.lower() == "x-auth-token" else value
        lines.append(f"> {name}: {shown}")
    body = request.body
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        lines.append(f"> {_excerpt(text)}")
    reason = getattr(response, "reason", None) or getattr(response, "message", "")
    lines.append(f"< {response.status_code} {reason}")
    for name, value in response.headers.items():
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        lines.append(f"< {name}: {shown}")
    if response.content:
        lines.append(f"< {_excerpt(response.content.decode('utf-8', 'replace'))}")
    return "\n".join(lines)


def _excerpt(text: str) -> str:
    if len(text) <= BODY_EXCERPT_CHARS:
        return text
    return f"{text[:BODY_EXCERPT_CHARS]}... ({len(text)} characters in all)"
