"""The pytest plugin: options, fixtures, rule markers and the advisory verdicts.

Registered through the ``pytest11`` entry point, so it loads in every pytest run
of this environment. It reaches the target, or starts the reference server, only
after collecting conformance checks, and never with --collect-only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from conformance.compute import ComputeClient
from conformance.personas import PersonasFile
from conformance.policy import PolicyModel
from conformance.report import build_report, render_table, write_reports
from conformance.servers import ServerFactory
from conformance.settings import SuiteSettings, add_options, settings_from_options
from conformance.spec import Spec
from conformance.target import TargetError, open_target
from conformance.verdicts import (
    CheckResult,
    RuleVerdict,
    broken_rules,
    met_rules,
    rule_verdicts,
)

SETTINGS_KEY = pytest.StashKey[SuiteSettings]()
RESULTS_KEY = pytest.StashKey[dict[str, CheckResult]]()
VERDICTS_KEY = pytest.StashKey[list[RuleVerdict]]()
TARGET_KEY = pytest.StashKey[str]()
TARGET_STACK_KEY = pytest.StashKey[contextlib.ExitStack]()

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
    config.stash[RESULTS_KEY] = {}
    _current_settings = settings


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not _selects_suite(config):
        return []
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


def _selects_suite(config: pytest.Config) -> bool:
    """Return whether the paths pytest was given hold the suite, or lie inside it."""
    suite_dir = Path(__file__).resolve().parent
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == suite_dir or suite_dir in path.parents or path in suite_dir.parents:
            return True
    return False


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
    """Record each check's outcome and broken rules; let advisory failures pass."""
    report = yield
    if not _is_conformance_test(item):
        return report
    config = item.config
    ids = tuple(rule_ids(item))
    result = config.stash[RESULTS_KEY].setdefault(
        item.nodeid, CheckResult(item.nodeid, ids)
    )
    if report.when == "setup":
        item.user_properties.extend(("rule", rule_id) for rule_id in ids)
    if report.skipped:
        result.outcome = "skipped"
        result.message = _skip_reason(report)
    elif report.failed:
        _record_failure(config, item, report, result, call.excinfo)
    return report


def _record_failure(
    config: pytest.Config,
    item: pytest.Item,
    report: pytest.TestReport,
    result: CheckResult,
    excinfo: pytest.ExceptionInfo[BaseException] | None,
) -> None:
    error = excinfo.value if excinfo else None
    rules = config.stash[SETTINGS_KEY].spec.rules
    result.broken = broken_rules(error, result.rules)
    result.met = met_rules(error, result.broken)
    result.message = _first_line(error)
    result.outcome = "failed"
    item.user_properties.extend(("broken_rule", rule_id) for rule_id in result.broken)
    advisory = all(
        rule_id in rules and not rules[rule_id].required for rule_id in result.broken
    )
    if report.when == "call" and result.broken and advisory:
        result.outcome = "advisory"
        report.outcome = "skipped"
        report.wasxfail = (
            f"advisory rule {', '.join(result.broken)} not met: {result.message}"
        )


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr or "")


def _first_line(error: BaseException | None) -> str:
    text = str(error or "").strip()
    return text.splitlines()[0] if text else "failed"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Decide each rule's verdict and write the reports that were requested."""
    config = session.config
    results = config.stash.get(RESULTS_KEY, {})
    if not results:
        return
    settings = config.stash[SETTINGS_KEY]
    verdicts = rule_verdicts(settings.spec.rules, results.values())
    config.stash[VERDICTS_KEY] = verdicts
    report = build_report(settings, config.stash.get(TARGET_KEY, None), verdicts)
    write_reports(report, settings.report_json, settings.report_markdown)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    verdicts = config.stash.get(VERDICTS_KEY, None)
    if verdicts is None:
        return
    terminalreporter.section("conformance verdicts per rule")
    for line in render_table(verdicts):
        terminalreporter.write_line(line)
    settings = config.stash[SETTINGS_KEY]
    target = config.stash.get(TARGET_KEY, "not reached")
    terminalreporter.write_line(
        f"conformance target was {target}, seed {settings.seed}"
    )
    for path in (settings.report_json, settings.report_markdown):
        if path is not None:
            terminalreporter.write_line(f"conformance report written to {path}")


@pytest.fixture(scope="session")
def conformance_settings(pytestconfig: pytest.Config) -> SuiteSettings:
    return pytestconfig.stash[SETTINGS_KEY]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Reach the target, or start the reference server, before the first check.

    A target that is down is a usage error here, before any check has run.
    Nothing starts for a run without conformance checks, or with --collect-only.
    """
    config = session.config
    if config.option.collectonly:
        return
    if not any(_is_conformance_test(item) for item in session.items):
        return
    settings = config.stash[SETTINGS_KEY]
    stack = contextlib.ExitStack()
    try:
        config.stash[TARGET_KEY] = stack.enter_context(open_target(settings))
    except TargetError as exc:
        stack.close()
        what = "--target" if settings.target_url else "the bundled reference server"
        raise pytest.UsageError(f"{what}: {exc}") from None
    config.stash[TARGET_STACK_KEY] = stack


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(TARGET_STACK_KEY, None)
    if stack is not None:
        stack.close()


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> str:
    """Return the root URL of the Compute API under test, reached after collection."""
    return pytestconfig.stash[TARGET_KEY]


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
