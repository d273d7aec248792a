"""Start Nova's control plane in this process with Nova's functional-test fixtures.

Nova 34.0.0 ships the fixtures its own functional tests run on, in
``nova.tests.functional.integrated_helpers``. They provide SQLite databases for
the API and the cells, oslo.messaging's in-process ``fake`` bus, Placement
(openstack-placement 16.0.0) behind wsgi-intercept, and stand-ins for Glance,
Neutron and Cinder. They also run the real conductor, scheduler and compute
services, the computes with the fake virt driver. This module borrows that
set-up and keeps it running as a long-lived control plane instead of one test's
world.

Import this module only after ``nova_harness.__main__.select_threading_mode``
has chosen Nova's threading mode: importing ``nova.tests.functional`` would
otherwise choose eventlet.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import futurist._thread

# nova.api.wsgi uses webob.dec without importing it, so it fails to import
# unless something imported webob.dec before it.
import webob.dec  # noqa: F401
from nova import conf as nova_conf
from nova import policy as nova_policy
from nova.api import wsgi as nova_wsgi
from nova.api.openstack import wsgi_app
from nova.tests.functional import integrated_helpers

from nova_harness.sqlite_writes import ImmediateWriterTransactions

__all__ = ["ControlPlane", "ControlPlaneError"]

CONF = nova_conf.CONF
logger = logging.getLogger("nova_harness")

# A driver with room for the hundreds of servers one suite run creates: Nova's
# fixtures default to fake.SmallFakeDriver (2 vCPUs a host), too small for that.
COMPUTE_DRIVER = "fake.FakeDriver"

# How often idle futurist workers look for a shutdown while the harness stops.
STOPPING_IDLE_POLL_SECONDS = 0.01


class ControlPlaneError(Exception):
    """The control plane could not be started as configured."""


class _FixtureWorld(integrated_helpers._IntegratedTestBase):
    """Nova's integrated-test world, set up once and kept until ``stop``.

    ``_IntegratedTestBase.setUp`` starts Placement, the Glance, Neutron and
    Cinder stand-ins, Nova's default policy, the conductor and the scheduler.
    The overrides below start several computes and no in-process API client,
    since the API is served over HTTP instead.
    """

    # RPC casts stay asynchronous as in a deployment, so a migrate request is
    # answered 202 before the conductor and the computes do the work.
    CAST_AS_CALL = False

    def __init__(self, compute_hosts: list[str], policy_file: Path | None) -> None:
        super().__init__("runTest")
        self.compute_hosts = compute_hosts
        self.policy_file = policy_file

    def runTest(self) -> None:
        """Do nothing: the world is used through ``setUp`` and ``doCleanups``."""

    def _setup_services(self) -> None:
        self._configure()
        self.conductor = self.start_service("conductor")
        self.addCleanup(self.conductor.stop)
        self.scheduler = self.start_service("scheduler")
        self.addCleanup(self.scheduler.stop)

        for host in self.compute_hosts:
            self._start_compute(host)
        self.addCleanup(self._stop_computes)

        # Record the API service as nova-api's WSGI entry point does; some
        # checks of minimum service versions look for it.
        wsgi_app._setup_service(CONF.host, "osapi_compute")

    def _configure(self) -> None:
        self.flags(compute_driver=COMPUTE_DRIVER)

        # Production's setting, not the fixtures' "error", which would turn a
        # response that misses its schema into a 500.
        self.flags(response_validation="warn", group="api")

        # PlacementFixture sets oslo.policy's option default
        # enforce_new_defaults to False for every configuration in the
        # process, Nova's included. Nova 34 runs with oslo.policy's own
        # default, True, so the policy is loaded again with that.
        self.flags(enforce_new_defaults=True, group="oslo_policy")
        if self.policy_file is not None:
            # oslo.policy looks a relative path up in the config directories,
            # not the working directory, and falls back to the defaults silently.
            policy_path = str(self.policy_file.resolve())
            self.flags(policy_file=policy_path, group="oslo_policy")
        nova_policy.reset()
        nova_policy.init(suppress_deprecation_warnings=True)


@contextmanager
def _process_settings_kept() -> Iterator[None]:
    """Undo, on exit, the process-wide settings that Nova's test set-up changes.

    Nova's StandardLogging fixture sends every log record to an in-memory buffer,
    which would grow for as long as the harness runs, and oslo.log gives the
    root handlers its own formatter. nova.test.TestCase.setUp also makes idle
    futurist workers poll their queue every 10 ms, to end short tests sooner.
    Idle workers never exit, so over a suite run hundreds of them built up,
    burned a core and more than doubled the suite's run time.
    """
    root = logging.getLogger()
    level = root.level
    formatters = [(handler, handler.formatter) for handler in root.handlers]
    idle_poll = futurist._thread.ThreadWorker.MAX_IDLE_FOR
    try:
        yield
    finally:
        root.handlers = [handler for handler, _ in formatters]
        for handler, formatter in formatters:
            handler.setFormatter(formatter)
        root.setLevel(level)
        futurist._thread.ThreadWorker.MAX_IDLE_FOR = idle_poll


class ControlPlane:
    """Nova's API application and the services behind it, in this process."""

    def __init__(
        self,
        compute_hosts: list[str],
        paste_config: Path,
        policy_file: Path | None = None,
    ) -> None:
        if len(compute_hosts) < 2:
            raise ControlPlaneError(
                f"cold migration needs at least two compute hosts, got "
                f"{compute_hosts!r}; pass --computes 2 or more"
            )
        if policy_file is not None and not policy_file.is_file():
            raise ControlPlaneError(
                f"policy file {policy_file} does not exist; pass an existing "
                "YAML or JSON policy file to --policy-file"
            )
        self.compute_hosts = compute_hosts
        self.paste_config = paste_config
        self.policy_file = policy_file
        self._world: _FixtureWorld | None = None
        self._immediate_writers = ImmediateWriterTransactions()

    def start(self) -> object:
        """Start the services and return the API's WSGI application."""
        # oslotest arms a SIGALRM timeout per test when OS_TEST_TIMEOUT is set,
        # which would end a long-lived control plane after that many seconds.
        os.environ.pop("OS_TEST_TIMEOUT", None)

        self._immediate_writers.install()
        world = _FixtureWorld(self.compute_hosts, self.policy_file)
        self._world = world
        try:
            with _process_settings_kept():
                world.setUp()
        except Exception:
            self.stop()
            raise

        CONF.set_override("api_paste_config", str(self.paste_config), group="wsgi")
        logger.info(
            "started the conductor, the scheduler and computes on %s",
            ", ".join(self.compute_hosts),
        )
        return nova_wsgi.Loader().load_app("osapi_compute")

    def stop(self) -> None:
        """Stop the services and undo every fixture; safe to call twice."""
        world, self._world = self._world, None
        if world is None:
            return
        CONF.clear_override("api_paste_config", group="wsgi")

        # An idle worker notices that its pool shuts down only when its poll
        # times out, and the pools shut down one after another: with futurist's
        # 1 s poll the stop took about 10 s. The short poll stays afterwards,
        # so that the workers futurist joins at interpreter exit end at once.
        futurist._thread.ThreadWorker.MAX_IDLE_FOR = STOPPING_IDLE_POLL_SECONDS
        try:
            world.doCleanups()
        finally:
            self._immediate_writers.uninstall()
        logger.info("stopped the control plane")
