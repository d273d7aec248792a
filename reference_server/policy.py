"""Policy enforcement through oslo.policy, with Nova's legacy rule names.

By default admins and the server's owner may migrate it. A policy file (YAML or
JSON, oslo.policy syntax) overrides any rule. The server reads it once at startup,
so a broken file stops the server before it serves a request.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from oslo_config import cfg
from oslo_policy import _checks, policy

from .auth import Persona
from .faults import Forbidden

__all__ = [
    "ADMIN_OR_OWNER",
    "CONTEXT_IS_ADMIN",
    "MIGRATE_RULE",
    "RULE_DEFAULTS",
    "PolicyEngine",
    "PolicyFileError",
]

logger = logging.getLogger("reference_server")

CONTEXT_IS_ADMIN = "context_is_admin"
ADMIN_OR_OWNER = "admin_or_owner"
ADMIN_API = "admin_api"
MIGRATE_RULE = "os_compute_api:os-migrate-server:migrate"

# The legacy (pre-scope) rule names and check strings of Nova. The other rules
# guard the actions and resources the suite uses to set a server up.
# NOTE: Nova's own default for MIGRATE_RULE is admins only ("rule:admin_api"),
# widened to project managers by Nova's manager-role defaults. This reference
# cloud also allows the owner, and a policy file can set Nova's default back.
RULE_DEFAULTS = [
    policy.RuleDefault(CONTEXT_IS_ADMIN, "role:admin"),
    policy.RuleDefault(ADMIN_OR_OWNER, "is_admin:True or project_id:%(project_id)s"),
    policy.RuleDefault(ADMIN_API, "is_admin:True"),
    policy.RuleDefault(MIGRATE_RULE, "rule:admin_or_owner"),
    policy.RuleDefault("os_compute_api:servers:create", "rule:admin_or_owner"),
    policy.RuleDefault("os_compute_api:servers:index", "rule:admin_or_owner"),
    policy.RuleDefault("os_compute_api:servers:show", "rule:admin_or_owner"),
    policy.RuleDefault("os_compute_api:servers:delete", "rule:admin_or_owner"),
    policy.RuleDefault("os_compute_api:servers:start", "rule:admin_or_owner"),
    policy.RuleDefault("os_compute_api:servers:stop", "rule:admin_or_owner"),
    policy.RuleDefault("os_compute_api:servers:confirm_resize", "rule:admin_or_owner"),
    policy.RuleDefault("os_compute_api:servers:revert_resize", "rule:admin_or_owner"),
    policy.RuleDefault("os_compute_api:os-pause-server:pause", "rule:admin_or_owner"),
    policy.RuleDefault("os_compute_api:os-pause-server:unpause", "rule:admin_or_owner"),
    policy.RuleDefault("os_compute_api:os-lock-server:lock", "rule:admin_or_owner"),
    policy.RuleDefault("os_compute_api:os-lock-server:unlock", "rule:admin_or_owner"),
    policy.RuleDefault(
        "os_compute_api:os-lock-server:unlock:unlock_override", "rule:admin_api"
    ),
    policy.RuleDefault("os_compute_api:os-migrations:index", "rule:admin_api"),
    policy.RuleDefault(
        "os_compute_api:os-extended-server-attributes", "rule:admin_api"
    ),
]

# oslo.policy's http: and https: checks POST the credentials to a remote server.
# The reference server keeps all its traffic on its own socket, so it rejects them.
_REMOTE_CHECK_KINDS = frozenset({"http", "https"})


class PolicyFileError(ValueError):
    """The policy file cannot be read, parsed or used."""


class PolicyEngine:
    """An oslo.policy Enforcer loaded with the defaults and the policy file."""

    def __init__(self, policy_file: Path | str | None = None) -> None:
        self.policy_file = Path(policy_file) if policy_file is not None else None
        self.conf = _make_conf()
        self.enforcer = policy.Enforcer(
            self.conf,
            policy_file=str(self.policy_file) if self.policy_file else None,
            use_conf=False,
        )
        _disable_scope_and_new_defaults(self.conf)
        self.enforcer.register_defaults(RULE_DEFAULTS)

        rules: dict[str, str] = {d.name: d.check_str for d in RULE_DEFAULTS}
        if self.policy_file is not None:
            rules.update(_read_policy_file(self.policy_file))
        self._install_rules(rules)

    def _install_rules(self, rules: Mapping[str, str]) -> None:
        # use_conf=False keeps the Enforcer from looking up policy.yaml in
        # oslo.config's search path (~/, /etc/...) at each check.
        parsed = policy.Rules.from_dict(
            dict(rules), default_rule=self.conf.oslo_policy.policy_default_rule
        )
        _reject_remote_checks(parsed, self.policy_file)
        _reject_cycles(parsed, self.policy_file)
        self.enforcer.set_rules(parsed, overwrite=True, use_conf=False)

        for name, check in parsed.items():
            for missing in _referenced_rules(check) - set(parsed):
                logger.warning(
                    "Policy rule %r references undefined rule %r; it denies",
                    name,
                    missing,
                )

    def credentials(self, persona: Persona) -> dict[str, Any]:
        """Return the policy credentials of ``persona``, with ``is_admin`` computed.

        Nova computes ``is_admin`` from the ``context_is_admin`` rule with the
        credentials as their own target, and so does this.
        """
        creds: dict[str, Any] = {
            "user_id": persona.user_id,
            "project_id": persona.project_id,
            "roles": list(persona.roles),
            "is_admin": False,
            "system_scope": None,
            "domain_id": None,
        }
        creds["is_admin"] = self.is_allowed(CONTEXT_IS_ADMIN, dict(creds), creds)
        return creds

    def is_allowed(
        self, rule: str, target: Mapping[str, Any], creds: Mapping[str, Any]
    ) -> bool:
        """Evaluate ``rule``, counting any error inside oslo.policy as a denial."""
        try:
            return bool(self.enforcer.enforce(rule, dict(target), dict(creds)))
        except Exception:
            logger.exception("Policy rule %r failed to evaluate; denying", rule)
            return False

    def authorize(
        self, rule: str, target: Mapping[str, Any], creds: Mapping[str, Any]
    ) -> None:
        """Raise Forbidden (403) with Nova's message unless ``rule`` allows it."""
        if not self.is_allowed(rule, target, creds):
            raise Forbidden(f"Policy doesn't allow {rule} to be performed.")


def _make_conf() -> cfg.ConfigOpts:
    # No command line and no config files: the server's own options come from
    # argparse, and a stray /etc/reference_server/*.conf must not change them.
    conf = cfg.ConfigOpts()
    conf(
        [], project="reference_server", default_config_files=[], default_config_dirs=[]
    )
    return conf


def _disable_scope_and_new_defaults(conf: cfg.ConfigOpts) -> None:
    # The legacy defaults above are project-scoped rules. New defaults and scope
    # checks would replace them with Nova's newer persona rules.
    conf.set_override("enforce_new_defaults", False, group="oslo_policy")
    # oslo.policy 6.0.1 has no enforce_scope option: it checks scope only for
    # rules with scope_types, and none of these defaults has any.
    with contextlib.suppress(cfg.NoSuchOptError):
        conf.set_override("enforce_scope", False, group="oslo_policy")


def _read_policy_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError(f"cannot read policy file {path}: {exc}") from exc

    try:
        document = policy.parse_file_contents(text)
    except ValueError as exc:
        # PyYAML's messages span several lines, and a usage error fits on one.
        reason = " ".join(str(exc).split())
        raise PolicyFileError(
            f"policy file {path} is not valid YAML or JSON: {reason}"
        ) from exc

    if not isinstance(document, Mapping):
        raise PolicyFileError(
            f"policy file {path} must map rule names to check strings,"
            f" got a {type(document).__name__}"
        )
    for name, check_str in document.items():
        if not isinstance(name, str) or not isinstance(check_str, str):
            raise PolicyFileError(
                f"policy file {path}: rule {name!r} must be a string mapped to a"
                f" check string, got {check_str!r}"
            )
    return dict(document)


def _iter_checks(check: _checks.BaseCheck) -> Iterator[_checks.BaseCheck]:
    """Yield ``check`` and every check nested in it (and, or, not)."""
    yield check
    for child in getattr(check, "rules", ()):
        yield from _iter_checks(child)
    inner = getattr(check, "rule", None)
    if isinstance(inner, _checks.BaseCheck):
        yield from _iter_checks(inner)


def _referenced_rules(check: _checks.BaseCheck) -> set[str]:
    return {c.match for c in _iter_checks(check) if isinstance(c, _checks.RuleCheck)}


def _reject_remote_checks(rules: Mapping[str, Any], path: Path | None) -> None:
    for name, check in rules.items():
        for leaf in _iter_checks(check):
            kind = getattr(leaf, "kind", None)
            if kind in _REMOTE_CHECK_KINDS:
                raise PolicyFileError(
                    f"policy file {path}: rule {name!r} uses a {kind}: check,"
                    " which calls a remote server; the reference server supports"
                    " only local checks"
                )


def _reject_cycles(rules: Mapping[str, Any], path: Path | None) -> None:
    """Raise PolicyFileError if rules reference each other in a loop.

    oslo.policy only logs a warning for a loop and then recurses without end
    when it evaluates one.
    """
    graph = {
        name: _referenced_rules(check) & set(rules) for name, check in rules.items()
    }
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            loop = " -> ".join([*trail[trail.index(name) :], name])
            raise PolicyFileError(
                f"policy file {path}: rules reference each other: {loop}"
            )
        if name in done:
            return
        for child in sorted(graph[name]):
            visit(child, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
