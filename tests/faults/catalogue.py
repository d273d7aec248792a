"""The catalogue of faulty servers: the rule each breaks, the tests that catch it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.faults.base import REPOSITORY_ROOT, Middleware
from tests.faults.variants import (
    AcceptedAs200,
    AcceptedAs201,
    AcceptedAs204,
    BadBodyIs409,
    BadRequestAsPlainText,
    BodyOn202,
    ClientBodyRejected,
    ConcurrentDoubleAccept,
    ConfirmReverts,
    DocumentBodyRejected,
    ExtraKeysAccepted,
    FaultBodyAsHtml,
    FaultBodyWrongShape,
    KeystoneProjectIdRejected,
    LockIgnoredForOwner,
    LongServerIdTruncated,
    MalformedBodyAccepted,
    MalformedJsonIs500,
    MigrateRedirected,
    MissingActionKeyAccepted,
    MissingResponseHeaders,
    MissingTokenAccepted,
    NonJsonContentTypeAccepted,
    NonUuidServerIdIs500,
    NothingHappens,
    OtherProjectAcceptedAsNoOp,
    OtherProjectAllowed,
    OversizedBodyIs400,
    OversizedBodyIs500,
    PausedAccepted,
    StringValueAccepted,
    TenantMismatchAccepted,
    UnknownServerHangs,
    UnknownServerIs200,
    UnknownServerIs403,
    UnknownTokenAccepted,
    VerifyResizeAccepted,
)


@dataclass(frozen=True)
class Fault:
    """A faulty variant: how to build it, and which tests must catch it."""

    name: str
    rule: str
    must_fail: tuple[str, ...]
    middleware: type[Middleware] | None = None
    server_policy: Path | None = None
    suite_policy: Path | None = None
    advisory: bool = False


POLICIES = REPOSITORY_ROOT / "policies"

# Whether the suite caught each fault (its rule's verdict was "failed"), filled in
# by test_faulty_servers.py and summed up as the kill rate at the end of the run.
FAULT_OUTCOMES: dict[str, bool] = {}

# In the order of the rules in spec/openapi.yaml's x-rules.
FAULTS = [
    Fault(
        "accepted-as-200",
        "migrate-accepted",
        ("test_document_body_is_accepted",),
        AcceptedAs200,
    ),
    Fault(
        "accepted-as-201",
        "migrate-accepted",
        ("test_document_body_is_accepted",),
        AcceptedAs201,
    ),
    Fault(
        "accepted-as-204",
        "migrate-accepted",
        ("test_document_body_is_accepted",),
        AcceptedAs204,
    ),
    Fault(
        "migrate-redirected",
        "migrate-accepted",
        ("test_document_body_is_accepted",),
        MigrateRedirected,
    ),
    Fault(
        "body-on-202",
        "accepted-empty-body",
        ("test_document_body_is_accepted", "test_generated_migrate_requests"),
        BodyOn202,
    ),
    Fault(
        "nothing-happens",
        "server-migrates",
        ("test_migrated_server_lands_on_another_host",),
        NothingHappens,
    ),
    Fault(
        "confirm-reverts",
        "server-migrates",
        ("test_migrated_server_lands_on_another_host",),
        ConfirmReverts,
    ),
    Fault(
        "missing-action-key-accepted",
        "body-action-key",
        (
            "test_bad_body_is_400[empty-object-is-400]",
            "test_bad_body_is_400[wrong-case-key-is-400]",
        ),
        MissingActionKeyAccepted,
    ),
    Fault(
        "document-body-rejected",
        "body-migrate-null",
        ("test_document_body_is_accepted",),
        DocumentBodyRejected,
    ),
    Fault(
        "client-body-rejected",
        "body-migrate-empty-object",
        ("test_client_body_is_accepted",),
        ClientBodyRejected,
    ),
    Fault(
        "string-value-accepted",
        "body-migrate-other-values",
        ("test_other_migrate_value_is_400[string-is-400]",),
        StringValueAccepted,
        advisory=True,
    ),
    Fault(
        "extra-keys-accepted",
        "body-single-key",
        ("test_bad_body_is_400[extra-key-is-400]",),
        ExtraKeysAccepted,
    ),
    Fault(
        "malformed-body-accepted",
        "body-malformed",
        (
            "test_bad_body_is_400[empty-body-is-400]",
            "test_bad_body_is_400[json-array-is-400]",
        ),
        MalformedBodyAccepted,
    ),
    Fault(
        "malformed-json-is-500",
        "body-malformed",
        ("test_bad_body_is_400[truncated-json-is-400]",),
        MalformedJsonIs500,
    ),
    Fault(
        "bad-body-is-409",
        "body-malformed",
        ("test_bad_body_is_400[empty-body-is-400]", "test_generated_migrate_requests"),
        BadBodyIs409,
    ),
    Fault(
        "non-json-content-type-accepted",
        "content-type-json",
        ("test_body_not_sent_as_json_is_415[application/xml]",),
        NonJsonContentTypeAccepted,
    ),
    Fault(
        "oversized-body-is-400",
        "body-size-limit",
        ("test_oversized_body_is_413",),
        OversizedBodyIs400,
        advisory=True,
    ),
    Fault(
        "unknown-server-is-403",
        "server-id-unknown",
        ("test_unknown_server_is_404", "test_generated_server_ids"),
        UnknownServerIs403,
    ),
    Fault(
        "unknown-server-is-200",
        "server-id-unknown",
        ("test_unknown_server_is_404", "test_generated_server_ids"),
        UnknownServerIs200,
    ),
    Fault(
        "unknown-server-hangs",
        "server-id-unknown",
        ("test_unknown_server_is_404",),
        UnknownServerHangs,
    ),
    Fault(
        "non-uuid-server-id-is-500",
        "server-id-not-uuid",
        (
            "test_non_uuid_server_id_is_never_accepted[word]",
            "test_generated_server_ids",
        ),
        NonUuidServerIdIs500,
    ),
    Fault(
        "long-server-id-truncated",
        "server-id-not-uuid",
        ("test_non_uuid_server_id_is_never_accepted[real-id-plus-a-digit]",),
        LongServerIdTruncated,
    ),
    Fault(
        "keystone-project-id-rejected",
        "tenant-id-form",
        ("test_tenant_id_in_keystone_form_is_accepted",),
        KeystoneProjectIdRejected,
    ),
    Fault(
        "tenant-mismatch-accepted",
        "tenant-id-mismatch",
        ("test_tenant_id_of_another_project_is_400",),
        TenantMismatchAccepted,
    ),
    Fault(
        "missing-token-accepted",
        "token-required",
        ("test_request_without_valid_token_is_401[missing-token]",),
        MissingTokenAccepted,
    ),
    Fault(
        "unknown-token-accepted",
        "token-required",
        ("test_request_without_valid_token_is_401[unknown-token]",),
        UnknownTokenAccepted,
    ),
    Fault(
        "other-project-allowed",
        "policy-default",
        ("test_default_policy_outcome[other-project-member]",),
        OtherProjectAllowed,
    ),
    Fault(
        "other-project-accepted-as-no-op",
        "policy-default",
        ("test_default_policy_outcome[other-project-member]",),
        OtherProjectAcceptedAsNoOp,
    ),
    # The server runs admin-only.yaml, while the suite expects the default policy.
    Fault(
        "owner-forbidden",
        "policy-default",
        ("test_default_policy_outcome[owner-active]",),
        server_policy=POLICIES / "admin-only.yaml",
    ),
    # In the next two faults, the server runs the default policy while the suite is
    # given a policy file.
    Fault(
        "policy-file-ignored",
        "policy-configurable",
        ("test_policy_file_outcome[owner-active]",),
        suite_policy=POLICIES / "admin-only.yaml",
    ),
    Fault(
        "owner-only-policy-ignored",
        "policy-configurable",
        ("test_policy_file_outcome[admin-active]",),
        suite_policy=POLICIES / "owner-only.yaml",
    ),
    Fault(
        "verify-resize-accepted",
        "state-conflict",
        ("test_server_that_cannot_move_is_409[VERIFY_RESIZE]",),
        VerifyResizeAccepted,
    ),
    Fault(
        "paused-accepted",
        "state-conflict",
        ("test_server_that_cannot_move_is_409[PAUSED]",),
        PausedAccepted,
    ),
    Fault(
        "lock-ignored-for-owner",
        "locked-conflict",
        ("test_locked_server_is_409_for_non_admin[owner]",),
        LockIgnoredForOwner,
    ),
    Fault(
        "concurrent-double-accept",
        "concurrent-single-accept",
        ("test_concurrent_migrates_accept_exactly_one",),
        ConcurrentDoubleAccept,
    ),
    Fault(
        "fault-body-wrong-shape",
        "fault-body",
        ("test_unknown_server_is_404",),
        FaultBodyWrongShape,
    ),
    Fault(
        "fault-body-as-html",
        "fault-body",
        ("test_unknown_server_is_404",),
        FaultBodyAsHtml,
    ),
    Fault(
        "bad-request-as-plain-text",
        "fault-body",
        ("test_bad_body_is_400[empty-body-is-400]",),
        BadRequestAsPlainText,
    ),
    Fault(
        "missing-response-headers",
        "response-headers",
        ("test_accepted_response_names_request_and_microversion",),
        MissingResponseHeaders,
        advisory=True,
    ),
    Fault(
        "oversized-body-is-500",
        "no-server-error",
        ("test_oversized_body_is_not_server_error",),
        OversizedBodyIs500,
    ),
]
