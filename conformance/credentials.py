"""Log in as a persona through a clouds.yaml entry, the way OpenStack clients do.

clouds.yaml is read with openstacksdk's ``openstack.config`` loader, the one the
``openstack`` CLI uses, so ``secure.yaml``, vendor profiles, ``auth_type`` and the
TLS options (``cacert``, ``verify``, ``cert``) mean the same here as there. The
login itself is keystoneauth1's. Reading the file with PyYAML alone would be
lighter, but would drift from the CLI on exactly those merging rules.

openstacksdk 4.22.0 brings nine packages besides keystoneauth1 and
os-service-types (cryptography, dogpile.cache and others), and importing it took
0.2 s (``python -X importtime``, on a 2-core machine). The plugin should import
this module only when a persona names a cloud.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.access import AccessInfo
from keystoneauth1.identity.base import BaseIdentityPlugin
from openstack import exceptions as sdk_exceptions
from openstack import warnings as sdk_warnings
from openstack.config import cloud_region, loader

__all__ = ["CloudCredentials", "CredentialsError", "credentials_from_cloud"]

logger = logging.getLogger("conformance.credentials")

# Parts of an auth section's keys that mark a secret: password, token,
# application_credential_secret, passcode, client_secret, access_token.
_SECRET_KEY_PARTS = ("password", "token", "secret", "passcode")
_MAX_REASON_CHARS = 200


@dataclass(frozen=True)
class CloudCredentials:
    """A persona's project-scoped token, and the identity Keystone issued it for."""

    token: str = field(repr=False)
    project_id: str
    user_id: str
    roles: tuple[str, ...]
    # The public compute endpoint as the catalog lists it, often ending in /v2.1
    # or /v2.1/<project_id>. None when the catalog has no compute service.
    compute_endpoint: str | None


class CredentialsError(Exception):
    """Reading a cloud from clouds.yaml or logging in to its Keystone failed.

    The message names the cloud, the cause and what to check, on one line, and
    never contains a password, token or other secret from the auth section.
    """


def credentials_from_cloud(
    cloud: str, *, config_file: Path | None = None, timeout: float = 10.0
) -> CloudCredentials:
    """Log in to Keystone as the clouds.yaml entry ``cloud`` and read the token.

    clouds.yaml is ``config_file`` when given, else found where the ``openstack``
    CLI looks. ``timeout`` limits each HTTP request to Keystone, in seconds.
    Raises CredentialsError when the entry cannot be read or the login fails.
    """
    if not timeout > 0:
        raise ValueError(
            f"timeout must be a positive number of seconds, not {timeout!r}"
        )

    path, secure_files = _find_clouds_yaml(cloud, config_file)
    region = _load_cloud(cloud, path, secure_files)
    secrets = _secrets_of(region.config.get("auth") or {})
    access = _authenticate(cloud, region, timeout, secrets)
    credentials = _read_access(cloud, access, region.region_name or None)

    logger.info(
        "Logged in as cloud %r from %s: user %s, project %s, roles %s",
        cloud,
        path,
        credentials.user_id,
        credentials.project_id,
        ", ".join(credentials.roles) or "none",
    )
    return credentials


def _find_clouds_yaml(cloud: str, config_file: Path | None) -> tuple[Path, list[str]]:
    """Pick the clouds.yaml to read, and the secure.yaml files that may add to it.

    openstacksdk silently skips a missing OS_CLIENT_CONFIG_FILE and reads the next
    clouds.yaml it finds. This raises instead, because logging in to a cloud from
    another file than the one named is worse than stopping.
    """
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise CredentialsError(
                f"cloud {cloud!r}: clouds.yaml {path} does not exist; check the path"
            )
        return path, [
            str(path.with_name(name)) for name in ("secure.yaml", "secure.yml")
        ]

    # Read at call time, so a test can point the search at its own directory.
    secure_files = list(loader.SECURE_FILES)
    if os.environ.get("OS_CLIENT_SECURE_FILE"):
        secure_files.insert(0, os.environ["OS_CLIENT_SECURE_FILE"])

    override = os.environ.get("OS_CLIENT_CONFIG_FILE")
    if override:
        path = Path(override)
        if not path.is_file():
            raise CredentialsError(
                f"cloud {cloud!r}: OS_CLIENT_CONFIG_FILE is {path}, which does not "
                "exist; fix the path or unset the variable"
            )
        return path, secure_files

    for candidate in loader.CONFIG_FILES:
        if os.path.isfile(candidate):
            return Path(candidate), secure_files

    directories = ", ".join(dict.fromkeys(map(os.path.dirname, loader.CONFIG_FILES)))
    raise CredentialsError(
        f"cloud {cloud!r}: no clouds.yaml found in {directories}; create one there "
        "or set OS_CLIENT_CONFIG_FILE to its path"
    )


def _load_cloud(
    cloud: str, path: Path, secure_files: list[str]
) -> cloud_region.CloudRegion:
    """Read ``cloud`` from clouds.yaml and build its keystoneauth1 auth plugin."""
    _check_yaml_syntax(cloud, path)
    try:
        config = loader.OpenStackConfig(
            config_files=[str(path)],
            secure_files=secure_files,
            # OS_* variables would add a cloud named "envvars" and could
            # replace config_file with OS_CLIENT_CONFIG_FILE.
            load_envvars=False,
        )
    except sdk_exceptions.ConfigException as exc:
        raise CredentialsError(
            f"cloud {cloud!r}: {path} is invalid: {_reason(exc, [])}"
        ) from None

    clouds = config.cloud_config.get("clouds", {})
    if cloud not in clouds:
        known = ", ".join(sorted(map(str, clouds))) or "none"
        raise CredentialsError(
            f"cloud {cloud!r} is not in {path}, whose clouds are: {known}; "
            "check the cloud name"
        )

    auth_section = (
        clouds[cloud].get("auth") if isinstance(clouds[cloud], dict) else None
    )
    secrets = _secrets_of(auth_section if isinstance(auth_section, dict) else {})
    try:
        with warnings.catch_warnings():
            # NOTE: openstacksdk 4.21.0 and 4.22.0 warn about InfluxDB on every
            # get_one(), configured or not, and a test run with warnings as
            # errors would fail on it.
            warnings.filterwarnings(
                "ignore",
                message="Support for InfluxDB",
                category=sdk_warnings.RemovedInSDK60Warning,
            )
            return config.get_one(cloud)
    except ks_exceptions.MissingRequiredOptions as exc:
        missing = ", ".join(option.dest for option in exc.options)
        raise CredentialsError(
            f"cloud {cloud!r} in {path} lacks auth options: {missing}; add them "
            "under its auth section"
        ) from None
    except ks_exceptions.NoMatchingPlugin as exc:
        raise CredentialsError(
            f"cloud {cloud!r} in {path} has auth_type {exc.name!r}, which "
            "keystoneauth1 does not provide; check auth_type"
        ) from None
    except (sdk_exceptions.ConfigException, ks_exceptions.ClientException) as exc:
        raise CredentialsError(
            f"cloud {cloud!r} in {path} is invalid: {_reason(exc, secrets)}"
        ) from None


def _check_yaml_syntax(cloud: str, path: Path) -> None:
    """Raise on a file openstacksdk would skip with only a logged warning."""
    try:
        yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CredentialsError(
            f"cloud {cloud!r}: cannot read {path}: {exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise CredentialsError(
            f"cloud {cloud!r}: {path} is not UTF-8 text; check the file"
        ) from None
    except yaml.YAMLError as exc:
        # Report only the position and the problem, because PyYAML's full
        # message quotes the offending line, which may contain a password.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise CredentialsError(
            f"cloud {cloud!r}: {path} is not valid YAML{where}: {problem}"
        ) from None


def _authenticate(
    cloud: str,
    region: cloud_region.CloudRegion,
    timeout: float,
    secrets: list[str],
) -> AccessInfo:
    """Request a token from Keystone with the cloud's auth plugin."""
    auth = region.get_auth()
    auth_type = region.config.get("auth_type")
    if not isinstance(auth, BaseIdentityPlugin):
        raise CredentialsError(
            f"cloud {cloud!r}: auth_type {auth_type!r} yields no Keystone token; "
            "use password, token, v3applicationcredential or another identity plugin"
        )

    # A session of our own instead of region.get_session(), which also changes
    # the process's warning filters. Closing it closes the connection to Keystone.
    verify, cert = region.get_requests_verify_args()
    keystone = f"Keystone at {(region.config.get('auth') or {}).get('auth_url')}"
    with requests.Session() as http:
        session = ks_session.Session(
            auth=auth,
            session=http,
            verify=verify,
            cert=cert,
            timeout=timeout,
            app_name="migrate-conformance",
        )
        return _get_access(cloud, auth, session, keystone, timeout, secrets)


def _get_access(
    cloud: str,
    auth: BaseIdentityPlugin,
    session: ks_session.Session,
    keystone: str,
    timeout: float,
    secrets: list[str],
) -> AccessInfo:
    """Request the token, turning keystoneauth1's errors into CredentialsError."""
    try:
        return auth.get_access(session)
    except ks_exceptions.Unauthorized:
        raise CredentialsError(
            f"cloud {cloud!r}: {keystone} rejected the credentials with 401; "
            "check the user, password or token, the project and their domains"
        ) from None
    except ks_exceptions.HttpError as exc:
        raise CredentialsError(
            f"cloud {cloud!r}: {keystone} returned HTTP {exc.http_status}: "
            f"{_reason(exc, secrets)}; check auth_url and the auth section"
        ) from None
    except (ks_exceptions.ConnectionError, ks_exceptions.DiscoveryFailure) as exc:
        reason = _connection_failure(exc, keystone, timeout, secrets)
        raise CredentialsError(f"cloud {cloud!r}: {reason}") from None
    except ks_exceptions.ClientException as exc:
        raise CredentialsError(
            f"cloud {cloud!r}: logging in to {keystone} failed: {_reason(exc, secrets)}"
        ) from None


def _connection_failure(
    exc: Exception, keystone: str, timeout: float, secrets: list[str]
) -> str:
    """Describe why ``keystone`` could not be reached, and what to check."""
    # keystoneauth1 tries version discovery first and, when that fails, wraps
    # the connection error in a DiscoveryFailure, so the cause is in the chain.
    chain = _exception_chain(exc)
    if any(isinstance(link, ks_exceptions.ConnectTimeout) for link in chain):
        return (
            f"the request to {keystone} timed out after {timeout} s; check "
            "auth_url and that Keystone is reachable"
        )
    if any(isinstance(link, ks_exceptions.SSLError) for link in chain):
        return (
            f"TLS with {keystone} failed: {_reason(exc, secrets)}; check cacert, "
            "cert and verify in clouds.yaml"
        )
    errors = [link for link in chain if isinstance(link, OSError) and link.strerror]
    if errors:
        return (
            f"cannot connect to {keystone}: {errors[-1].strerror}; check auth_url "
            "and that Keystone is running"
        )
    return (
        f"cannot find the identity API at {keystone}: {_reason(exc, secrets)}; "
        "check auth_url"
    )


def _read_access(
    cloud: str, access: AccessInfo, region_name: str | None
) -> CloudCredentials:
    """Read the token, its project, user, roles and compute endpoint."""
    if access.project_id is None:
        raise CredentialsError(
            f"cloud {cloud!r}: Keystone issued a token that is not scoped to a "
            "project; set project_id, or project_name and project_domain_name, "
            "under auth in clouds.yaml"
        )
    token, user_id = access.auth_token, access.user_id
    if token is None or user_id is None:
        raise CredentialsError(
            f"cloud {cloud!r}: the response to the token request lacks the token or "
            "its user; check that auth_url is a Keystone identity API"
        )

    # The compute endpoint the catalog gives for the public interface, in the
    # cloud's region_name when clouds.yaml sets one.
    compute_endpoint: str | None
    try:
        compute_endpoint = access.service_catalog.url_for(
            service_type="compute", interface="public", region_name=region_name
        )
    except ks_exceptions.EndpointNotFound:
        compute_endpoint = None

    return CloudCredentials(
        token=token,
        project_id=access.project_id,
        user_id=user_id,
        roles=tuple(access.role_names or ()),
        compute_endpoint=compute_endpoint,
    )


def _secrets_of(auth_section: dict[str, Any]) -> list[str]:
    """Return the secret values of an auth section, to keep them out of messages."""
    return [
        str(value)
        for key, value in auth_section.items()
        if value and any(part in str(key).lower() for part in _SECRET_KEY_PARTS)
    ]


def _reason(exc: Exception, secrets: list[str]) -> str:
    """Return an exception's message on one line, shortened and with secrets masked."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    if len(text) > _MAX_REASON_CHARS:
        text = text[: _MAX_REASON_CHARS - 3] + "..."
    return text


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """Return ``exc`` and the exceptions it was raised from or during, in order."""
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    return chain
