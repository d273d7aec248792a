"""Predict what the target's policy allows, with oslo.policy as OpenStack does."""

from __future__ import annotations

from pathlib import Path

from oslo_config import cfg
from oslo_policy import policy

from conformance.personas import Persona

__all__ = ["MIGRATE_RULE", "PROFILES", "PolicyError", "PolicyModel"]

MIGRATE_RULE = "os_compute_api:os-migrate-server:migrate"

# The API reference's default: "only users with the administrative role or the
# owner of the server". The owner is the server's project, which is how
# OpenStack policy writes ownership.
DOCUMENT_DEFAULTS = (
    policy.RuleDefault("context_is_admin", "role:admin"),
    policy.RuleDefault("admin_or_owner", "is_admin:True or project_id:%(project_id)s"),
    policy.RuleDefault(MIGRATE_RULE, "rule:admin_or_owner"),
)


POLICIES_DIR = Path(__file__).resolve().parent.parent / "policies"
# Built-in profiles, so that users need not write a policy file for the common
# cases: the API reference's default, and the default Nova ships.
# "document" is the rules registered below, so it needs no file.
PROFILES: dict[str, Path | None] = {
    "document": None,
    "nova": POLICIES_DIR / "nova.yaml",
}


class PolicyError(Exception):
    """The policy file is missing or oslo.policy cannot parse it."""


class PolicyModel:
    """The migrate rule as the target enforces it: a built-in profile or a file."""

    def __init__(
        self, policy_file: Path | None = None, profile: str | None = None
    ) -> None:
        if policy_file is not None and profile is not None:
            raise PolicyError("give a policy file or a profile, not both")
        if profile is not None and profile not in PROFILES:
            raise PolicyError(
                f"unknown profile {profile!r}; the profiles are {', '.join(PROFILES)}"
            )
        self.profile = profile or ("file" if policy_file else "document")
        if profile is not None:
            policy_file = PROFILES[profile]
        # oslo.policy looks a relative path up in its config directories.
        self.policy_file = policy_file.resolve() if policy_file else None
        self._enforcer = self._load(self.policy_file)

    @staticmethod
    def _load(policy_file: Path | None) -> policy.Enforcer:
        conf = cfg.ConfigOpts()
        conf([], project="migrate_conformance", default_config_files=[])
        if policy_file is not None and not policy_file.is_file():
            raise PolicyError(f"policy file {policy_file} does not exist")
        enforcer = policy.Enforcer(
            conf, policy_file=str(policy_file) if policy_file else None, use_conf=True
        )
        enforcer.register_defaults(DOCUMENT_DEFAULTS)
        try:
            enforcer.load_rules()
        except ValueError as exc:
            raise PolicyError(f"cannot parse policy file {policy_file}: {exc}") from exc
        if policy_file is not None and not enforcer.policy_path:
            # oslo.policy skips a policy file it cannot find without a word.
            raise PolicyError(f"oslo.policy did not load policy file {policy_file}")
        return enforcer

    @property
    def description(self) -> str:
        if self.profile == "document":
            return "profile document: the API reference's default, admin or owner"
        if self.profile == "nova":
            return "profile nova: Nova 34's default, project manager or admin"
        return f"policy file {self.policy_file}"

    def is_admin(self, persona: Persona) -> bool:
        """Return whether the cloud treats the persona as an administrator."""
        return self._enforce("context_is_admin", persona, {})

    def allows_migrate(self, persona: Persona, server_project_id: str) -> bool:
        """Return whether the migrate rule lets the persona migrate the server."""
        return self._enforce(MIGRATE_RULE, persona, {"project_id": server_project_id})

    def expected_statuses(self, persona: Persona, server_project_id: str) -> set[int]:
        """Return the statuses a correct cloud may give this persona's migrate request.

        Compute hides a project's servers from non-administrators of other
        projects, so for them 404 is as correct as the policy's verdict.
        """
        allowed = self.allows_migrate(persona, server_project_id)
        verdict = 202 if allowed else 403
        if persona.project_id == server_project_id or self.is_admin(persona):
            return {verdict}
        return {verdict, 404}

    def _enforce(self, rule: str, persona: Persona, target: dict[str, str]) -> bool:
        credentials = persona.policy_credentials()
        credentials["is_admin"] = rule != "context_is_admin" and self.is_admin(persona)
        return bool(self._enforcer.enforce(rule, target, credentials))
