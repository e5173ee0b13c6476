"""The local host's trigger semantics, on a small function app of the test's own."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import azure.functions as func
import pytest
import requests

from shared.adapters.blob_artifacts import BlobArtifactStore
from shared.adapters.embedded_queue import EmbeddedQueue, OutgoingMessage
from shared.config import Settings
from shared.localhost.host import LocalHost
from tests.servers import free_port

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self) -> None:
        self.calls: list[object] = []
        self.event = threading.Event()

    def add(self, item: object) -> None:
        self.calls.append(item)
        self.event.set()


def wait_until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def setup(tmp_path: Path, azurite_port: int) -> Iterator[tuple[LocalHost, Recorder, Settings]]:
    recorder = Recorder()
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.function_name("echo")
    @app.route(route="things/{thingId}/parts/{partId}", methods=["GET", "POST"])
    def echo(req: func.HttpRequest) -> func.HttpResponse:
        body = {"route": dict(req.route_params), "params": dict(req.params), "method": req.method}
        return func.HttpResponse(json.dumps(body), mimetype="application/json", headers={"x-seen": "yes"})

    @app.function_name("flaky")
    @app.service_bus_queue_trigger(arg_name="msg", queue_name="%PROGRAMS_CONTAINER%-q", connection="SB")
    def flaky(msg: func.ServiceBusMessage) -> None:
        recorder.add((msg.get_body(), msg.delivery_count))
        if msg.get_body() == b"poison":
            raise RuntimeError("cannot handle this one")

    @app.function_name("dead")
    @app.service_bus_queue_trigger(
        arg_name="msg", queue_name="%PROGRAMS_CONTAINER%-q/$DeadLetterQueue", connection="SB"
    )
    def dead(msg: func.ServiceBusMessage) -> None:
        recorder.add(("dead", msg.get_body(), msg.application_properties["DeadLetterReason"]))

    @app.function_name("dropped")
    @app.blob_trigger(arg_name="blob", path="%PROGRAMS_CONTAINER%/{name}", connection="AzureWebJobsStorage")
    def dropped(blob: func.InputStream) -> None:
        recorder.add((blob.name, blob.read(), getattr(blob, "metadata", None)))

    @app.function_name("tick")
    @app.timer_trigger(arg_name="timer", schedule="* * * * * *")
    def tick(timer: func.TimerRequest) -> None:
        recorder.add("tick")

    settings = Settings(
        port=free_port(),
        local_state_dir=tmp_path,
        azurite_blob_port=azurite_port,
        storage_connection=None,
        programs_container=f"drops{free_port()}",
        blob_poll_seconds=0.1,
        queue_max_delivery_count=3,
        queue_workers=1,
    )
    queue = EmbeddedQueue(tmp_path / "q.sqlite3", max_delivery_count=3)
    host = LocalHost(app, settings, queue, BlobArtifactStore.from_connection_string(settings.blob_connection_string))
    host.start()
    yield host, recorder, settings
    host.stop()


def test_http_routes_match_parameters_case_insensitively_and_methods(
    setup: tuple[LocalHost, Recorder, Settings],
) -> None:
    _, _, settings = setup
    base = f"http://127.0.0.1:{settings.port}/api"
    response = requests.get(f"{base}/THINGS/a%20b/parts/7?x=1&empty=", timeout=5)
    assert response.status_code == 200
    assert response.headers["x-seen"] == "yes"
    assert response.json() == {
        "route": {"thingId": "a b", "partId": "7"},
        "params": {"x": "1", "empty": ""},
        "method": "GET",
    }
    assert requests.delete(f"{base}/things/a/parts/7", timeout=5).status_code == 405
    assert requests.get(f"{base}/things/a", timeout=5).status_code == 404
    assert requests.get(f"http://127.0.0.1:{settings.port}/things/a/parts/7", timeout=5).status_code == 404


def test_a_failing_queue_function_is_retried_then_dead_lettered_to_its_subqueues_trigger(
    setup: tuple[LocalHost, Recorder, Settings],
) -> None:
    host, recorder, settings = setup
    queue_name = f"{settings.programs_container}-q"
    host.queue.send(queue_name, OutgoingMessage(message_id="ok", body=b"fine"))
    host.queue.send(queue_name, OutgoingMessage(message_id="bad", body=b"poison"))
    wait_until(lambda: ("dead", b"poison", "MaxDeliveryCountExceeded") in recorder.calls)
    wait_until(lambda: host.queue.dead_letters(queue_name) == [])  # the trigger completed it
    assert (b"fine", 1) in recorder.calls
    assert [c for c in recorder.calls if isinstance(c, tuple) and c[0] == b"poison"] == [
        (b"poison", 1),
        (b"poison", 2),
        (b"poison", 3),
    ]
    assert host.queue.active_count(queue_name) == 0


def test_a_blob_fires_once_per_version_with_its_metadata(setup: tuple[LocalHost, Recorder, Settings]) -> None:
    host, recorder, settings = setup
    container = settings.programs_container
    host.storage.put(container, "p.qasm", b"v1", "text/plain")
    wait_until(lambda: any(isinstance(c, tuple) and c[1] == b"v1" for c in recorder.calls))
    time.sleep(0.5)  # several polls: no second invocation for the same version
    assert [c for c in recorder.calls if isinstance(c, tuple) and c[0] == f"{container}/p.qasm"] == [
        (f"{container}/p.qasm", b"v1", {})
    ]
    host.storage.put(container, "p.qasm", b"v2", "text/plain")
    wait_until(lambda: any(isinstance(c, tuple) and c[1] == b"v2" for c in recorder.calls))


def test_timers_fire_on_their_schedule(setup: tuple[LocalHost, Recorder, Settings]) -> None:
    _, recorder, _ = setup
    wait_until(lambda: recorder.calls.count("tick") >= 2, timeout=5)


def test_disabled_functions_do_not_run(tmp_path: Path, azurite_port: int) -> None:
    app = func.FunctionApp()

    @app.function_name("never")
    @app.timer_trigger(arg_name="timer", schedule="* * * * * *")
    def never(timer: func.TimerRequest) -> None:
        raise AssertionError("a disabled function ran")

    settings = Settings(
        port=free_port(),
        local_state_dir=tmp_path,
        azurite_blob_port=azurite_port,
        storage_connection=None,
        disabled_functions="never",
    )
    host = LocalHost(
        app,
        settings,
        EmbeddedQueue(tmp_path / "q.sqlite3"),
        BlobArtifactStore.from_connection_string(settings.blob_connection_string),
    )
    assert host.functions.timers == []


def test_a_run_longer_than_the_message_lock_is_not_handed_to_a_second_consumer(
    tmp_path: Path, azurite_port: int
) -> None:
    """The host renews the locks of messages in progress, as the Functions host does for Service Bus."""
    calls: list[int | None] = []
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.function_name("slow")
    @app.service_bus_queue_trigger(arg_name="msg", queue_name="slow", connection="SB")
    def slow(msg: func.ServiceBusMessage) -> None:
        calls.append(msg.delivery_count)
        time.sleep(2.0)  # more than three lock durations

    settings = Settings(
        port=free_port(),
        local_state_dir=tmp_path,
        azurite_blob_port=azurite_port,
        storage_connection=None,
        queue_workers=2,
        queue_lock_seconds=0.5,
    )
    queue = EmbeddedQueue(tmp_path / "q.sqlite3", lock_duration=0.5, poll_interval=0.05)
    host = LocalHost(app, settings, queue, BlobArtifactStore.from_connection_string(settings.blob_connection_string))
    host.start()
    try:
        queue.send("slow", OutgoingMessage(message_id="long-run", body=b"x"))
        wait_until(lambda: calls and queue.active_count("slow") == 0)
    finally:
        host.stop()
    assert calls == [1], "one delivery, completed by the consumer that ran it"
