"""The pytest plugin: options, fixtures, rule markers and the advisory verdicts.

Registered through the ``pytest11`` entry point, so it loads in every pytest run
of this environment; it starts nothing until a conformance test requests the
``target`` fixture.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from conformance.compute import ComputeClient
from conformance.personas import PersonasFile
from conformance.policy import PolicyModel
from conformance.servers import ServerFactory
from conformance.settings import SuiteSettings, add_options, settings_from_options
from conformance.spec import Spec
from conformance.target import TargetError, open_target

SETTINGS_KEY = pytest.StashKey[SuiteSettings]()
ADVISORY_KEY = pytest.StashKey[list[tuple[str, str]]]()
TARGET_KEY = pytest.StashKey[str]()

_current_settings: SuiteSettings | None = None


def current_settings() -> SuiteSettings:
    """Return the settings of the running session, for module-level test setup."""
    if _current_settings is None:
        raise RuntimeError("the migrate conformance plugin is not configured")
    return _current_settings


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    global _current_settings
    config.addinivalue_line(
        "markers",
        "rule(*ids): the x-rules of spec/openapi.yaml that a check verifies",
    )
    settings = settings_from_options(config)
    config.stash[SETTINGS_KEY] = settings
    config.stash[ADVISORY_KEY] = []
    _current_settings = settings


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS_KEY]
    target = (
        settings.target_url or "the bundled reference server, on a free loopback port"
    )
    return [
        f"conformance target: {target}",
        f"conformance personas: {settings.personas.path}",
        f"conformance policy: {settings.policy.description}",
        f"conformance spec: {settings.spec.path} "
        f"(version {settings.spec.version}, {len(settings.spec.rules)} rules)",
        f"conformance seed: {settings.seed} (repeat the generated requests with "
        f"--seed {settings.seed})",
    ]


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Reject a conformance test that names no rule, or a rule the catalogue lacks."""
    rules = config.stash[SETTINGS_KEY].spec.rules
    for item in items:
        if not _is_conformance_test(item):
            continue
        ids = rule_ids(item)
        if not ids:
            raise pytest.UsageError(
                f"{item.nodeid} names no rule; add @pytest.mark.rule"
            )
        unknown = [rule_id for rule_id in ids if rule_id not in rules]
        if unknown:
            raise pytest.UsageError(
                f"{item.nodeid} names unknown rule {', '.join(unknown)}; "
                "the rules are listed under x-rules in spec/openapi.yaml"
            )


def rule_ids(item: pytest.Item) -> list[str]:
    return [rule_id for mark in item.iter_markers("rule") for rule_id in mark.args]


def _is_conformance_test(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return module is not None and module.__name__.startswith("conformance.")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Report a failed check whose rules are all advisory without failing the run."""
    report = yield
    if report.when != "call" or not report.failed or not _is_conformance_test(item):
        return report
    rules = item.config.stash[SETTINGS_KEY].spec.rules
    ids = rule_ids(item)
    if ids and all(not rules[rule_id].required for rule_id in ids):
        message = _first_line(call.excinfo.value if call.excinfo else None)
        report.outcome = "skipped"
        report.wasxfail = f"advisory rule {', '.join(ids)} not met: {message}"
        item.config.stash[ADVISORY_KEY].append((item.nodeid, report.wasxfail))
    return report


def _first_line(error: BaseException | None) -> str:
    text = str(error or "").strip()
    return text.splitlines()[0] if text else "failed"


def pytest_terminal_summary(
    terminalreporter, exitstatus: int, config: pytest.Config
) -> None:
    if TARGET_KEY in config.stash:
        terminalreporter.write_line(
            f"conformance target was {config.stash[TARGET_KEY]}"
        )
    advisories = config.stash.get(ADVISORY_KEY, [])
    if advisories:
        terminalreporter.section(
            "advisory rules not met (reported, not failing the run)"
        )
        for nodeid, reason in advisories:
            terminalreporter.write_line(f"{nodeid}: {reason}")


@pytest.fixture(scope="session")
def conformance_settings(pytestconfig: pytest.Config) -> SuiteSettings:
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def target(
    pytestconfig: pytest.Config, conformance_settings: SuiteSettings
) -> Iterator[str]:
    """Yield the root URL of the Compute API under test; end the run if it is down."""
    try:
        with open_target(conformance_settings) as root_url:
            pytestconfig.stash[TARGET_KEY] = root_url
            yield root_url
    except TargetError as exc:
        pytest.exit(f"--target: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def personas(conformance_settings: SuiteSettings) -> PersonasFile:
    return conformance_settings.personas


@pytest.fixture(scope="session")
def policy_model(conformance_settings: SuiteSettings) -> PolicyModel:
    return conformance_settings.policy


@pytest.fixture(scope="session")
def spec(conformance_settings: SuiteSettings) -> Spec:
    return conformance_settings.spec


@pytest.fixture(scope="session")
def compute(target: str, conformance_settings: SuiteSettings) -> ComputeClient:
    return ComputeClient(
        target,
        request_timeout=conformance_settings.request_timeout,
        state_timeout=conformance_settings.state_timeout,
    )


@pytest.fixture
def servers(
    compute: ComputeClient, personas: PersonasFile, policy_model: PolicyModel
) -> Iterator[ServerFactory]:
    """Create servers for one check, deleted when the check ends."""
    factory = ServerFactory(compute, personas, policy_model)
    yield factory
    factory.cleanup()
