"""Turn the suite's command-line options into checked settings."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conformance.personas import (
    DEFAULT_PERSONAS_PATH,
    PersonasError,
    PersonasFile,
    load_personas,
)
from conformance.policy import PROFILES, PolicyError, PolicyModel
from conformance.spec import DEFAULT_SPEC_PATH, Spec, SpecError

__all__ = ["SuiteSettings", "add_options", "settings_from_options"]

DEFAULT_EXAMPLES = 25
# A URL the user copied from a service catalog often ends in /v2.1 or
# /v2.1/<project>; the suite adds that part itself.
_VERSION_SUFFIX = re.compile(r"/v2(\.1)?(/[^/]*)?/?$")


@dataclass(frozen=True)
class SuiteSettings:
    """Everything a run of the suite is configured with."""

    target_url: str | None
    personas: PersonasFile
    policy: PolicyModel
    spec: Spec
    examples: int
    request_timeout: float
    state_timeout: float
    seed: int
    report_json: Path | None = None
    report_markdown: Path | None = None

    @property
    def embedded(self) -> bool:
        return self.target_url is None


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("migrate-conformance", "Migrate Server conformance")
    group.addoption(
        "--target",
        dest="conformance_target",
        metavar="URL",
        help="root URL of the Compute API to check, before /v2.1 (it may carry a "
        "path prefix). Without it the suite starts the bundled reference server "
        "on a free loopback port.",
    )
    group.addoption(
        "--personas",
        dest="conformance_personas",
        metavar="FILE",
        help="YAML file with each persona's token, project and roles, and what to "
        "send to create a server. Required with --target; default: the reference "
        "server's personas/reference.yaml.",
    )
    group.addoption(
        "--policy-file",
        dest="conformance_policy_file",
        metavar="FILE",
        help="the policy file (YAML or JSON, oslo.policy syntax) the target "
        "enforces; the suite predicts each persona's outcome from it. Default: "
        "the API reference's rule, administrators or the server's owner.",
    )
    group.addoption(
        "--policy-profile",
        dest="conformance_policy_profile",
        metavar="NAME",
        choices=sorted(PROFILES),
        help="a built-in policy instead of --policy-file: 'document' (the API "
        "reference's admin or owner, the default) or 'nova' (Nova 34's project "
        "manager or admin).",
    )
    group.addoption(
        "--examples",
        dest="conformance_examples",
        metavar="N",
        default=str(DEFAULT_EXAMPLES),
        help="requests schemathesis generates per generated test (default: "
        f"{DEFAULT_EXAMPLES}).",
    )
    group.addoption(
        "--seed",
        dest="conformance_seed",
        metavar="N",
        help="seed for the generated requests, to repeat a run's requests "
        "(default: a random seed, shown in the report header).",
    )
    group.addoption(
        "--report-json",
        dest="conformance_report_json",
        metavar="FILE",
        help="write the conformance report, a verdict per rule, as JSON to FILE.",
    )
    group.addoption(
        "--report-md",
        dest="conformance_report_markdown",
        metavar="FILE",
        help="write the conformance report as a Markdown page to FILE.",
    )
    group.addoption(
        "--request-timeout",
        dest="conformance_request_timeout",
        metavar="SECONDS",
        default="10",
        help="how long to wait for one HTTP response (default: 10).",
    )
    group.addoption(
        "--state-timeout",
        dest="conformance_state_timeout",
        metavar="SECONDS",
        default="60",
        help="how long to wait for a server to reach a status (default: 60).",
    )


def settings_from_options(config: pytest.Config) -> SuiteSettings:
    """Check the options and load what they name; raise pytest.UsageError if bad."""
    _check_file_options_kept_rootdir(config)
    target = config.getoption("conformance_target")
    personas_option = config.getoption("conformance_personas")
    if target is not None and personas_option is None:
        raise pytest.UsageError(
            "--target needs --personas FILE with that cloud's tokens and project "
            f"ids; {DEFAULT_PERSONAS_PATH} shows the format"
        )
    policy_option = config.getoption("conformance_policy_file")
    profile_option = config.getoption("conformance_policy_profile")
    if policy_option and profile_option:
        raise pytest.UsageError(
            "--policy-file and --policy-profile both name the target's policy; "
            "give one of them"
        )
    try:
        personas = load_personas(Path(personas_option or DEFAULT_PERSONAS_PATH))
        policy = PolicyModel(
            Path(policy_option) if policy_option else None, profile=profile_option
        )
        spec = Spec(DEFAULT_SPEC_PATH)
        spec.rules  # noqa: B018 - parse the catalogue now, so a bad one is a usage error
    except PersonasError as exc:
        raise pytest.UsageError(f"--personas: {exc}") from None
    except PolicyError as exc:
        raise pytest.UsageError(f"--policy-file: {exc}") from None
    except SpecError as exc:
        raise pytest.UsageError(str(exc)) from None

    if target is None and personas.compute_endpoint is not None:
        # The owner logged in through Keystone: its catalog names the target.
        target = personas.compute_endpoint
    return SuiteSettings(
        target_url=_parse_target(target) if target is not None else None,
        personas=personas,
        policy=policy,
        spec=spec,
        examples=_parse_number(config, "examples", int, minimum=1),
        request_timeout=_parse_number(config, "request-timeout", float, minimum=0.1),
        state_timeout=_parse_number(config, "state-timeout", float, minimum=0.1),
        seed=_parse_seed(config),
        report_json=_optional_path(config, "conformance_report_json"),
        report_markdown=_optional_path(config, "conformance_report_markdown"),
    )


def _optional_path(config: pytest.Config, dest: str) -> Path | None:
    value = config.getoption(dest)
    return Path(value) if value else None


def _check_file_options_kept_rootdir(config: pytest.Config) -> None:
    """Reject ``--personas FILE`` that cost pytest its rootdir and configuration.

    pytest picks its rootdir before plugins add their options, so it reads the
    FILE of ``--personas FILE`` as a test path. A FILE outside the repository
    then hides pyproject.toml, and pytest collects the project's own tests too.
    """
    if config.inipath is not None:
        return
    args = list(config.invocation_params.args)
    for option in ("--personas", "--policy-file"):
        if option in args[:-1] and Path(args[args.index(option) + 1]).exists():
            raise pytest.UsageError(
                f"{option} {args[args.index(option) + 1]}: pytest took the file for a "
                f"test path and lost this project's pyproject.toml; write {option}=FILE"
            )


def _parse_target(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise pytest.UsageError(
            f"--target {url!r} is not an http:// or https:// URL; give the Compute "
            "API's root, such as http://127.0.0.1:8774"
        )
    if parts.query or parts.fragment:
        raise pytest.UsageError(f"--target {url!r} must not carry a query or fragment")
    path = _VERSION_SUFFIX.sub("", parts.path).rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path}"


def _parse_seed(config: pytest.Config) -> int:
    if config.getoption("conformance_seed") is None:
        return random.SystemRandom().randrange(2**32)
    return _parse_number(config, "seed", int, minimum=0)


def _parse_number(config: pytest.Config, option: str, kind: type, minimum: float):
    raw = config.getoption("conformance_" + option.replace("-", "_"))
    try:
        value = kind(raw)
    except ValueError:
        raise pytest.UsageError(
            f"--{option} {raw!r} is not a {'whole ' if kind is int else ''}number"
        ) from None
    if value < minimum:
        raise pytest.UsageError(f"--{option} must be at least {minimum}, not {raw}")
    return value
