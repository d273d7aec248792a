"""Nova's own API paste pipeline, with the Keystone stand-in in auth_token's place."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["PipelineError", "shipped_paste_config", "write_paste_config"]

# The one line of Nova's api-paste.ini that the harness changes.
AUTHTOKEN_FACTORY = (
    "paste.filter_factory = keystonemiddleware.auth_token:filter_factory"
)
STANDIN_FACTORY = "paste.filter_factory = nova_harness.auth:filter_factory"


class PipelineError(Exception):
    """Nova's api-paste.ini is missing or no longer has the expected filter."""


def shipped_paste_config() -> Path:
    """Return the api-paste.ini that the nova package installs under its prefix."""
    # pip installs nova's data files (etc/nova/*) under the environment's prefix.
    return Path(sys.prefix) / "etc" / "nova" / "api-paste.ini"


def write_paste_config(
    directory: Path, personas_file: Path, source: Path | None = None
) -> Path:
    """Write Nova's api-paste.ini with auth_token swapped for the stand-in.

    Every other filter of Nova's pipeline (request ids, fault wrapping, body
    size limit, request log, Nova's Keystone context) stays as Nova ships it.
    """
    source = source or shipped_paste_config()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise PipelineError(
            f"cannot read Nova's paste config {source}: {exc.strerror}; is nova "
            f"installed in this environment (sys.prefix {sys.prefix})?"
        ) from exc
    if text.count(AUTHTOKEN_FACTORY) != 1:
        raise PipelineError(
            f"{source} has {text.count(AUTHTOKEN_FACTORY)} lines "
            f"{AUTHTOKEN_FACTORY!r}, expected exactly one; this Nova version's "
            "pipeline differs from 34.0.0's"
        )
    replacement = f"{STANDIN_FACTORY}\npersonas_file = {personas_file.resolve()}"
    target = directory / "api-paste.ini"
    target.write_text(text.replace(AUTHTOKEN_FACTORY, replacement), encoding="utf-8")
    return target
