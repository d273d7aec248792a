"""Reach the implementation under test: a given URL, or the bundled reference server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from conformance.settings import SuiteSettings

__all__ = ["TargetError", "open_target"]

logger = logging.getLogger("conformance")


class TargetError(Exception):
    """The target is down, or what responds is not a Compute API."""


@contextmanager
def open_target(settings: SuiteSettings) -> Iterator[str]:
    """Yield the root URL of a Compute API that responds; stop what it started."""
    if settings.target_url is not None:
        probe(settings.target_url, settings.request_timeout)
        yield settings.target_url
        return

    # Imported here so that loading the plugin stays cheap when the suite is not run.
    from reference_server import create_app, serve_in_thread

    policy_file = settings.policy.policy_file
    app = create_app(personas_path=settings.personas.path, policy_file=policy_file)
    with serve_in_thread(app, host="127.0.0.1", port=0) as server:
        logger.info("started the reference server at %s", server.url)
        probe(server.url, settings.request_timeout)
        yield server.url


def probe(root_url: str, timeout: float) -> None:
    """Check that ``root_url`` responds with the Compute API's version document."""
    url = root_url + "/"
    try:
        response = requests.get(url, timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        raise TargetError(f"{url} timed out: no response within {timeout} s") from None
    except requests.ConnectionError as exc:
        reason = _root_cause(exc)
        raise TargetError(f"cannot connect to {url}: {reason}") from None
    try:
        document = response.json()
    except ValueError:
        content_type = response.headers.get("Content-Type", "no Content-Type")
        raise TargetError(
            f"GET {url} answered {response.status_code} with {content_type}, not the "
            "Compute API's JSON version document; is this the Compute endpoint?"
        ) from None
    if not isinstance(document, dict) or not {"versions", "version"} & set(document):
        raise TargetError(
            f"GET {url} answered {response.status_code} with JSON that is not a "
            "version "
            f"document (no 'versions' or 'version' key): {response.text[:200]}"
        )


def _root_cause(exc: BaseException) -> str:
    while exc.__context__ is not None or exc.__cause__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return str(exc) or type(exc).__name__
