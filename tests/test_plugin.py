"""The pytest plugin: its options, usage errors, header, and an unreachable target."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
SUITE = str(REPOSITORY_ROOT / "conformance")
PERSONAS_FILE = str(REPOSITORY_ROOT / "personas" / "reference.yaml")
ONE_CHECK = f"{SUITE}/test_server_id.py::test_unknown_server_is_404"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def html_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<html><body>It works!</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


BAD_OPTIONS = [
    pytest.param(
        ["--examples", "many"],
        "ERROR: --examples 'many' is not a whole number",
        id="examples-not-a-number",
    ),
    pytest.param(
        ["--examples", "0"],
        "ERROR: --examples must be at least 1, not 0",
        id="examples-zero",
    ),
    pytest.param(
        ["--request-timeout", "soon"],
        "ERROR: --request-timeout 'soon' is not a number",
        id="timeout-not-a-number",
    ),
    pytest.param(
        ["--seed", "-1"], "ERROR: --seed must be at least 0, not -1", id="seed-negative"
    ),
    pytest.param(
        ["--target", "ftp://example.test", "--personas", PERSONAS_FILE],
        "ERROR: --target 'ftp://example.test' is not an http:// or https:// URL*",
        id="target-not-http",
    ),
    pytest.param(
        ["--target", "http://127.0.0.1:9"],
        "ERROR: --target needs --personas FILE*",
        id="target-without-personas",
    ),
    pytest.param(
        ["--personas", "/nonexistent/personas.yaml"],
        "ERROR: --personas: cannot read*",
        id="personas-missing",
    ),
    pytest.param(
        ["--policy-file", "policies/nova.yaml", "--policy-profile", "nova"],
        "ERROR: --policy-file and --policy-profile both name the target's policy*",
        id="policy-file-and-profile",
    ),
    pytest.param(
        ["--policy-profile", "keystone"],
        "*argument --policy-profile: invalid choice: 'keystone'*",
        id="policy-profile-unknown",
    ),
    pytest.param(
        ["--policy-file", "/nonexistent/policy.yaml"],
        "ERROR: --policy-file: policy file /nonexistent/policy.yaml does not exist",
        id="policy-file-missing",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_OPTIONS)
def test_bad_option_is_usage_error(pytester, args, message):
    result = run(pytester, SUITE, *args)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_personas_path_outside_repository_needs_equals_form(pytester):
    personas = pytester.path / "personas.yaml"
    personas.write_text(Path(PERSONAS_FILE).read_text())

    result = run(pytester, "--personas", str(personas))

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --personas {personas}: pytest took the file for a test path*"]
    )


def test_personas_without_other_project_is_usage_error(pytester):
    personas = pytester.path / "personas.yaml"
    personas.write_text(
        "personas:\n"
        "  admin: {token: a, project_id: p1, roles: [admin]}\n"
        "  owner: {token: b, project_id: p2, roles: [member]}\n"
        "server: {flavorRef: '1'}\n"
    )

    result = run(pytester, SUITE, "--personas", str(personas))

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --personas: personas file * lacks other*"])


def test_unparsable_policy_file_is_usage_error(pytester):
    policy = pytester.path / "policy.yaml"
    policy.write_text("os_compute_api:os-migrate-server:migrate: [unclosed\n")

    result = run(pytester, SUITE, "--policy-file", str(policy))

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --policy-file: cannot parse policy file*"])


def test_unreachable_target_is_reported_without_traceback(pytester, closed_port):
    url = f"http://127.0.0.1:{closed_port}"

    result = run(pytester, ONE_CHECK, "--target", url, "--personas", PERSONAS_FILE)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --target: cannot connect to {url}/: *"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_target_answering_html_is_reported(pytester, html_server):
    result = run(
        pytester, ONE_CHECK, "--target", html_server, "--personas", PERSONAS_FILE
    )

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: --target: GET {html_server}/ answered 200 with text/html, "
            "not the Compute API's*"
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_header_names_target_personas_policy_and_spec(pytester):
    result = run(
        pytester,
        SUITE,
        "--collect-only",
        "--target",
        "http://127.0.0.1:9/compute/v2.1/abc",
        "--personas",
        PERSONAS_FILE,
        "--seed",
        "7",
    )

    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "conformance target: http://127.0.0.1:9/compute",
            f"conformance personas: {PERSONAS_FILE}",
            "conformance policy: profile document: the API reference's default, *",
            "conformance spec: */spec/openapi.yaml (version 2.1, * rules)",
            "conformance seed: 7 (repeat the generated requests with --seed 7)",
        ]
    )


def test_no_header_outside_the_suite(pytester):
    pytester.makepyfile(test_other="def test_other():\n    pass\n")

    result = run(pytester, "test_other.py")

    assert result.ret == pytest.ExitCode.OK
    assert "conformance target" not in result.stdout.str()


def test_without_target_runs_the_reference_server(pytester):
    junit = pytester.path / "junit.xml"

    result = run(pytester, ONE_CHECK, f"--junitxml={junit}")

    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "conformance target: the bundled reference server, on a free loopback port",
            "conformance target was http://127.0.0.1:*",
            "*1 passed*",
        ]
    )
    assert 'name="test_unknown_server_is_404"' in junit.read_text()


def test_reports_give_a_verdict_per_rule(pytester):
    json_path = pytester.path / "report.json"
    markdown_path = pytester.path / "report.md"

    result = run(
        pytester,
        ONE_CHECK,
        f"--report-json={json_path}",
        f"--report-md={markdown_path}",
    )

    assert result.ret == pytest.ExitCode.OK
    report = json.loads(json_path.read_text())
    verdicts = {rule["id"]: rule["verdict"] for rule in report["rules"]}
    assert report["gate"] == "passed"
    assert report["profile"] == "document"
    assert report["target"].startswith("http://127.0.0.1:")
    assert verdicts["server-id-unknown"] == "passed"
    assert verdicts["migrate-accepted"] == "not run"
    assert "| `server-id-unknown` | required | passed |" in markdown_path.read_text()
    result.stdout.fnmatch_lines(
        ["*conformance verdicts per rule*", "server-id-unknown * required  passed"]
    )
