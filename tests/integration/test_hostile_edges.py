"""The security review's edge findings replayed as attacks on real servers: each fails cleanly, the host stays up.

F9 (malformed input → 4xx), F10 (the local HTTP server), F13 (nextLink), F8 and F16 (blob intake) against the
session's local host; the connection cap and idle timeout on a host of the test's own; F14 (webhook redirects)
and F15 (qjobs redirects) against small servers that redirect.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func
import pytest
import requests
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from qjobs.client import QuantumClient
from qjobs.config import Connection
from qjobs.config import Workspace as CliWorkspace
from qjobs.errors import QJobsError
from shared.adapters.blob_artifacts import BlobArtifactStore
from shared.adapters.embedded_queue import EmbeddedQueue
from shared.adapters.webhooks import WebhookDispatcher
from shared.config import AZURITE_ACCOUNT, AZURITE_KEY, Settings
from shared.domain.events import pending_events
from shared.domain.jobs import JobStatus
from shared.domain.query import MAX_FILTER_TERMS
from shared.localhost.host import LocalHost
from shared.services.intake import drop_job_id
from tests.e2e.helpers import Api, ionq_job_body
from tests.event_receiver import EventReceiver, event_receiver
from tests.factories import new_job
from tests.servers import API_KEY, SUBSCRIPTION, LocalHostProcess, free_port

pytestmark = pytest.mark.integration

BELL = {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}
CONDITION = "Name eq 'a'"


def raw_exchange(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes as they are and read the answer until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_and_json(answer: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else {}


def assert_host_answers(host: LocalHostProcess) -> None:
    assert host.process is not None and host.process.poll() is None, "the host exited"
    response = requests.get(
        f"{host.workspace_url}/providerStatus", headers={"x-ms-quantum-api-key": API_KEY}, timeout=10
    )
    assert response.status_code == 200


# ------------------------------------------------------------------------------------- F10: the HTTP server


@pytest.mark.parametrize("length", [b"-1", b"abc", b"1e3", b"\xc2\xb2", b"5, 7"])
def test_a_content_length_that_is_no_byte_count_is_400_before_any_body_is_read(
    host: LocalHostProcess, length: bytes
) -> None:
    # The client's side stays open: a server reading to the end of the stream would never answer.
    request = b"PUT /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: " + length + b"\r\n\r\n"
    status, body = status_and_json(raw_exchange(host.port, request))
    assert status == 400
    assert body["error"]["code"] == "BadRequest" and "Content-Length" in body["error"]["message"]
    assert_host_answers(host)


def test_two_different_content_lengths_are_400(host: LocalHostProcess) -> None:
    answer = raw_exchange(
        host.port, b"PUT /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
    )
    assert status_and_json(answer)[0] == 400


@pytest.mark.parametrize("method", ["TRACE", "OPTIONS", "CONNECT", "BREW"])
def test_a_method_nobody_serves_is_a_json_error(host: LocalHostProcess, method: str) -> None:
    answer = raw_exchange(host.port, f"{method} /api/portal/ HTTP/1.1\r\nHost: a\r\n\r\n".encode())
    status, body = status_and_json(answer)
    assert status == 501
    assert body["error"]["code"] == "NotImplemented" and method in body["error"]["message"]
    assert b"<html" not in answer.lower()


def test_head_gets_the_status_and_headers_without_a_body(host: LocalHostProcess) -> None:
    answer = raw_exchange(host.port, b"HEAD /api/portal/ HTTP/1.1\r\nHost: a\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 501") and b"Content-Type: application/json" in head and body == b""


@pytest.mark.parametrize(
    ("request_bytes", "code"),
    [
        pytest.param(b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", "RequestURITooLong", id="request-line-too-long"),
        pytest.param(b"GET / HTTP/1.1\r\n" + b"x: y\r\n" * 200 + b"\r\n", "RequestHeaderFieldsTooLarge", id="headers"),
        # No HTTP version to answer in: the stdlib answers as HTTP/0.9 does, with the body alone.
        pytest.param(b"GARBAGE\r\n\r\n", "BadRequest", id="no-version"),
        pytest.param(b'GET / HTTP/9"9\r\n\r\n', "BadRequest", id="bad-version-with-a-quote"),
    ],
)
def test_the_servers_own_refusals_are_json(host: LocalHostProcess, request_bytes: bytes, code: str) -> None:
    answer = raw_exchange(host.port, request_bytes)
    body = json.loads(answer.rpartition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == code and body["error"]["message"]
    assert_host_answers(host)


def test_a_body_shorter_than_its_content_length_gets_no_answer_and_the_host_goes_on(host: LocalHostProcess) -> None:
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as sock:
        sock.sendall(b"PUT /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nshort")
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(65536) == b""
    assert_host_answers(host)


@pytest.fixture
def small_host(tmp_path: Path, azurite_port: int) -> Iterator[Settings]:
    """A host of the test's own with one HTTP function, 2 connections at most, closed after 1 s idle."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.function_name("ping")
    @app.route(route="ping", methods=["GET"])
    def ping(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("{}", mimetype="application/json")

    settings = Settings(port=free_port(), local_state_dir=tmp_path, azurite_blob_port=azurite_port)
    storage = BlobArtifactStore.from_connection_string(settings.blob_connection_string)
    host = LocalHost(app, settings, EmbeddedQueue(tmp_path / "q.sqlite3"), storage, idle_timeout=1.0, max_connections=2)
    host.start()
    yield settings
    host.stop()


def test_connections_past_the_cap_are_refused_and_idle_ones_are_closed(small_host: Settings) -> None:
    address = ("127.0.0.1", small_host.port)
    idle = [socket.create_connection(address, timeout=20) for _ in range(2)]
    try:
        with socket.create_connection(address, timeout=20) as third:
            refused = b"".join(iter(lambda: third.recv(65536), b""))
        status, body = status_and_json(refused)
        assert status == 503 and body["error"]["code"] == "ServerBusy"
        for sock in idle:
            assert sock.recv(1) == b"", "the server closes a connection that sends nothing"
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 20
    while requests.get(f"http://127.0.0.1:{small_host.port}/api/ping", timeout=20).status_code == 503:
        assert time.monotonic() < deadline, "the closed connections' slots were not freed"
        time.sleep(0.05)


# ------------------------------------------------------------------------------------- F9: malformed input


def test_a_non_ascii_key_is_401(host: LocalHostProcess) -> None:
    path = urlsplit(host.workspace_url).path
    for key in (b"k\xc3\xa9y", b"\xff\xfe", API_KEY.encode() + b"\xc3\xa9"):
        request = b"GET " + path.encode() + b"/jobs HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
        status, body = status_and_json(raw_exchange(host.port, request + b"x-ms-quantum-api-key: " + key + b"\r\n\r\n"))
        assert status == 401 and body["error"]["code"] == "Unauthorized"
    assert_host_answers(host)


def test_a_deeply_nested_body_is_400_naming_the_limit(host: LocalHostProcess) -> None:
    api = Api(host)
    for body in (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", b"[" * 500_000):
        response = api.session.put(f"{api.base}/jobs/{uuid.uuid4()}", data=body, timeout=30)
        assert response.status_code == 400, response.text
        assert "nested more than 64 levels deep" in response.json()["error"]["message"]
    assert_host_answers(host)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("(" * 600 + CONDITION + ")" * 600, "nested more than", id="600-parentheses"),
        pytest.param("not " * 3000 + CONDITION, "nested more than", id="3000-not"),
        pytest.param(" or ".join([CONDITION] * 1200), "conditions", id="1200-or"),
    ],
)
def test_hostile_filters_are_400_and_say_why(host: LocalHostProcess, text: str, words: str) -> None:
    api = Api(host)
    response = api.session.get(f"{api.base}/jobs", params={"filter": text}, timeout=30)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "InvalidRequest" and words in error["message"] and error["target"] == "filter"
    assert_host_answers(host)


def test_the_widest_filter_allowed_reaches_sqlite_and_answers(host: LocalHostProcess) -> None:
    api = Api(host)
    terms = " or ".join(["(not (State eq 'Failed') and startswith(Name, 'zz-none'))"] * (MAX_FILTER_TERMS // 2))
    response = api.session.get(f"{api.base}/jobs", params={"filter": terms}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["value"] == []


# ------------------------------------------------------------------------------------- F13: links


def test_next_link_ignores_the_host_header(host: LocalHostProcess) -> None:
    api = Api(host)
    program = api.upload_program(json.dumps(BELL).encode())
    prefix = f"link-{uuid.uuid4().hex[:8]}"
    for n in range(2):
        assert api.put_job(str(uuid.uuid4()), ionq_job_body(program, f"{prefix}{n}")).status_code == 201
    response = api.session.get(
        f"{api.base}/jobs",
        params={"top": "1", "filter": f"startswith(Name, '{prefix}')"},
        headers={"Host": "attacker.example"},
        timeout=10,
    )
    assert response.status_code == 200
    next_link = response.json()["nextLink"]
    assert next_link.startswith(f"http://127.0.0.1:{host.port}/api/subscriptions/{SUBSCRIPTION}/"), next_link
    assert "attacker" not in next_link
    assert len(api.session.get(next_link, timeout=10).json()["value"]) == 1


# ------------------------------------------------------------------------------------- F8, F16: blob intake


@pytest.fixture(scope="module")
def programs(azurite_port: int, host: LocalHostProcess) -> Any:
    settings = Settings(azurite_blob_port=azurite_port, storage_connection=None)
    return BlobServiceClient.from_connection_string(settings.blob_connection_string).get_container_client("programs")


def put_blob_as_named(azurite_port: int, name: str, data: bytes) -> None:
    """Upload with the name exactly as written (`..` segments kept), as `curl --path-as-is` does."""
    token = generate_container_sas(
        AZURITE_ACCOUNT,
        "programs",
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(create=True, write=True),
        expiry=datetime.now(UTC) + timedelta(minutes=5),
    )
    connection = http.client.HTTPConnection("127.0.0.1", azurite_port, timeout=10)
    connection.request("PUT", f"/{AZURITE_ACCOUNT}/programs/{name}?{token}", data, {"x-ms-blob-type": "BlockBlob"})
    assert connection.getresponse().status == 201
    connection.close()


def jobs_named(api: Api, name: str) -> list[dict[str, Any]]:
    value: list[dict[str, Any]] = api.session.get(
        f"{api.base}/jobs", params={"filter": f"Name eq '{name}'"}, timeout=10
    ).json()["value"]
    return value


def wait_for(condition: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.2)
    raise AssertionError(f"after {timeout} s, still not: {what}")


def test_an_unreadable_blob_is_set_aside_as_a_failed_job_and_later_blobs_go_on(
    host: LocalHostProcess, azurite_port: int, programs: Any
) -> None:
    api = Api(host)
    folder = f"dotdot-{uuid.uuid4().hex[:8]}"
    put_blob_as_named(azurite_port, f"{folder}/../escape.json", json.dumps(BELL).encode())
    after = f"zz-after-{folder}.json"  # listed after the unreadable one
    programs.upload_blob(after, json.dumps(BELL).encode(), metadata={"target": "ionq.simulator"})

    taken = wait_for(lambda: api.get_job(drop_job_id("programs", after, json.dumps(BELL).encode())).ok, "later blob")
    assert taken
    set_aside = wait_for(
        lambda: [
            job for job in jobs_named(api, "rejected-blob") if f"{folder}/../escape.json" in job["errorData"]["message"]
        ],
        "the unreadable blob as a Failed job",
    )
    assert len(set_aside) == 1
    job = set_aside[0]
    assert job["status"] == "Failed" and job["errorData"]["code"] == "InputDataNotFound"
    assert "could not be read in 5 attempts; it was set aside" in job["errorData"]["message"]
    assert "RequestId" not in job["errorData"]["message"] and "Authorization" not in job["errorData"]["message"]
    assert_host_answers(host)


def test_an_oversized_blob_is_a_failed_job_stating_size_and_limit(host: LocalHostProcess, programs: Any) -> None:
    api = Api(host)
    name = f"huge-{uuid.uuid4().hex[:8]}.json"
    limit = Settings().max_input_bytes
    programs.upload_blob(name, b" " * (limit + 1), metadata={"target": "ionq.simulator"})
    [job] = wait_for(lambda: jobs_named(api, name), "the oversized blob as a job")
    assert job["status"] == "Failed" and job["errorData"]["code"] == "InputTooLarge"
    assert job["errorData"]["message"] == f"The program is {limit + 1} bytes; the limit is {limit}."
    assert_host_answers(host)


# ------------------------------------------------------------------------------------- F14, F15: redirects


@contextlib.contextmanager
def redirector(location: str) -> Iterator[str]:
    """A server that answers OPTIONS as a willing webhook and everything else with 302 to `location`."""

    class Handler(BaseHTTPRequestHandler):
        def do_OPTIONS(self) -> None:
            self.send_response(200)
            self.send_header("WebHook-Allowed-Origin", self.headers.get("WebHook-Request-Origin", ""))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _redirect(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = _redirect  # noqa: N815 - the stdlib's names

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            return

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_webhook_that_redirects_is_dead_lettered_and_the_target_gets_nothing(tmp_path: Path) -> None:
    with event_receiver(EventReceiver("s3cret")) as target, redirector(target.url) as hook:
        webhooks = WebhookDispatcher(tmp_path / "events.sqlite3", [hook], "s3cret", first_backoff=0.01)
        now = datetime.now(UTC)
        job = new_job("j1", created=now).transition_to(JobStatus.EXECUTING, at=now, cause="test")
        webhooks.publish(pending_events(job, "w", "https://h/api/j1"))
        deadline = time.monotonic() + 10
        while webhooks.pending() and time.monotonic() < deadline:
            webhooks.deliver_due()
            time.sleep(0.02)
        assert webhooks.pending() == 0
        dead = webhooks.dead_letters()
        assert dead and all(reason == "HTTP 302 (redirects are not followed)" for _, _, reason in dead)
        assert target.received == [] and target.handshakes == []
        webhooks.close()


def test_qjobs_never_sends_the_key_along_a_redirect() -> None:
    seen: list[dict[str, str]] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers.items()))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            return

    elsewhere = ThreadingHTTPServer(("127.0.0.2", free_port()), Recorder)
    thread = threading.Thread(target=elsewhere.serve_forever, daemon=True)
    thread.start()
    try:
        with redirector(f"http://127.0.0.2:{elsewhere.server_port}/steal") as endpoint:
            client = QuantumClient(Connection(endpoint, "TOPSECRET", CliWorkspace("s", "r", "w")))
            with pytest.raises(QJobsError) as caught:
                client.job("j1")
        assert "redirect (302)" in str(caught.value) and "does not follow redirects" in str(caught.value)
        assert seen == [], "the redirect target was asked"
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()
        thread.join(timeout=5)


def test_portal_page_tells_an_anonymous_visitor_nothing_about_the_workspace(host: LocalHostProcess) -> None:
    page = requests.get(f"{host.endpoint}portal/", timeout=10)
    assert page.status_code == 200
    assert SUBSCRIPTION not in page.text and "resourceGroups" not in page.text and "quantum-workspace" not in page.text
    probe = f"{host.endpoint}subscriptions/-/resourceGroups/-/providers/Microsoft.Quantum/workspaces/-/providerStatus"
    assert requests.get(probe, timeout=10).status_code == 401, "without a key the probe learns nothing"
    served = requests.get(probe, headers={"x-ms-quantum-api-key": API_KEY}, timeout=10)
    assert served.status_code == 404
    assert served.json()["error"]["details"][0]["target"] == urlsplit(host.workspace_url).path.removeprefix("/api/")
