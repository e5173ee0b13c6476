"""Job events end to end: the local host delivers signed CloudEvents to webhooks; Event Grid gets the same events."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.credentials import AzureKeyCredential

from shared.adapters.eventgrid_publisher import EventGridTopicPublisher
from shared.adapters.webhooks import WebhookDispatcher
from shared.domain.errors import DependencyError
from shared.domain.events import JOB_STATUS_CHANGED, JobEvent, pending_events
from shared.domain.jobs import JobStatus
from tests.e2e.helpers import Api, ionq_job_body
from tests.event_receiver import EventReceiver, event_receiver
from tests.factories import new_job
from tests.servers import API_KEY, LocalHostProcess, free_port

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-for-tests"
T0 = datetime(2026, 11, 25, tzinfo=UTC)
BELL = json.dumps(
    {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}
).encode()
SUCCEEDED_CHAIN = [
    (None, "Waiting"),
    ("Waiting", "Executing"),
    ("Executing", "Succeeded"),
]


@pytest.fixture
def start_host(azurite_port: int, tmp_path: Path) -> Iterator[Any]:
    started: list[LocalHostProcess] = []

    def start(*subscribers: str) -> LocalHostProcess:
        host = LocalHostProcess(
            state_dir=tmp_path / "state",
            blob_port=azurite_port,
            settings={
                "EVENT_WEBHOOKS": ",".join(subscribers),
                "EVENT_WEBHOOK_SECRET": SECRET,
                "EVENT_FIRST_RETRY_SECONDS": "0.1",
            },
        )
        host.start()
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()


def submit(api: Api, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    for n, job_id in enumerate(ids):
        response = api.put_job(job_id, ionq_job_body(api.upload_program(BELL), f"evented-{n}"))
        assert response.status_code == 201, response.text
    return ids


def wait_for_events(receiver: EventReceiver, job_ids: list[str], per_job: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(len(receiver.events(job_id)) >= per_job for job_id in job_ids):
            return
        time.sleep(0.05)
    counts = {job_id: len(receiver.events(job_id)) for job_id in job_ids}
    raise AssertionError(f"events per job after {timeout} s: {counts}")


def chain(events: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
    return [(e["data"]["previousStatus"], e["data"]["status"]) for e in events]


def test_every_state_change_reaches_a_webhook_signed_complete_and_in_order_despite_failures(start_host: Any) -> None:
    with (
        event_receiver(EventReceiver(SECRET, fail_first=1)) as receiver,
        event_receiver(EventReceiver(SECRET, allow_origin=False)) as refuser,
    ):
        host = start_host(receiver.url, refuser.url)
        api = Api(host)
        job_ids = submit(api, 8)
        final = api.wait_final(job_ids)
        wait_for_events(receiver, job_ids, per_job=3)

        for job_id in job_ids:
            events = receiver.events(job_id)
            assert chain(events) == SUCCEEDED_CHAIN, f"job {job_id}: events out of order or missing"
            assert [e["id"] for e in events] == [f"{job_id}:{n}" for n in range(3)]
            assert [e["sequence"] for e in events] == ["0", "1", "2"]
            last = events[-1]
            assert last["specversion"] == "1.0" and last["type"] == JOB_STATUS_CHANGED
            assert last["subject"] == f"jobs/{job_id}" and last["source"].endswith("/workspaces/local")
            assert last["data"]["target"] == "ionq.simulator" and last["data"]["providerId"] == "ionq"
            assert last["data"]["time"].replace("Z", "+00:00") == final[job_id]["endExecutionTime"].replace(
                "Z", "+00:00"
            )
            linked = requests.get(last["data"]["jobUrl"], headers={"x-ms-quantum-api-key": API_KEY}, timeout=10)
            assert linked.json()["id"] == job_id
        assert all(item.signature_valid for item in receiver.received), "every delivery carries a valid HMAC"
        assert all(item.headers["webhook-id"] == item.event["id"] for item in receiver.received)
        assert set(receiver.refused.values()) == {1}, "each event was refused once and delivered on its retry"
        assert receiver.handshakes and set(receiver.handshakes) == {"quantum-jobs.localhost"}
        assert refuser.handshakes and refuser.received == [], "no event goes to a webhook that did not allow us"


def test_events_wait_for_a_subscriber_that_is_down_and_arrive_in_order_when_it_is_up(start_host: Any) -> None:
    receiver = EventReceiver(SECRET, port=free_port())
    host = start_host(receiver.url)
    api = Api(host)
    job_ids = submit(api, 3)
    api.wait_final(job_ids)
    time.sleep(1.0)  # the subscriber stays down a while after the jobs finished
    with event_receiver(receiver):
        wait_for_events(receiver, job_ids, per_job=3)
        for job_id in job_ids:
            assert chain(receiver.events(job_id)) == SUCCEEDED_CHAIN


def test_the_event_grid_publisher_sends_a_cloudevents_batch_to_the_topic() -> None:
    job = new_job("j1", created=T0)
    moved = job.transition_to(JobStatus.EXECUTING, at=job.details.creation_time, cause="run")
    events = pending_events(moved, "subscriptions/s/resourceGroups/r/providers/x/workspaces/w", "https://h/api/j1")
    with event_receiver(EventReceiver(SECRET)) as topic:
        publisher = EventGridTopicPublisher(f"http://127.0.0.1:{topic.port}/api/events", AzureKeyCredential("key"))
        publisher.publish(events)
        publisher.close()
    assert [item.event["id"] for item in topic.received] == ["j1:0", "j1:1"]
    first = topic.received[0]
    assert first.headers["content-type"].startswith("application/cloudevents-batch+json")
    assert first.headers["aeg-sas-key"] == "key"
    event = topic.received[1].event
    assert event["specversion"] == "1.0" and event["type"] == JOB_STATUS_CHANGED and event["sequence"] == "1"
    assert (
        event["subject"] == "jobs/j1"
        and event["source"] == "/subscriptions/s/resourceGroups/r/providers/x/workspaces/w"
    )
    assert event["data"]["previousStatus"] == "Waiting" and event["data"]["status"] == "Executing"


def test_the_event_grid_publisher_fails_fast_and_transient_when_the_topic_is_unreachable() -> None:
    publisher = EventGridTopicPublisher(f"http://127.0.0.1:{free_port()}/api/events", AzureKeyCredential("key"))
    job = new_job("j1", created=T0)
    started = time.monotonic()
    with pytest.raises(DependencyError):
        publisher.publish(pending_events(job, "w", "https://h/api/j1"))
    assert time.monotonic() - started < 15


def dispatcher(tmp_path: Path, *subscribers: str, max_attempts: int = 8) -> WebhookDispatcher:
    return WebhookDispatcher(
        tmp_path / "events.sqlite3", subscribers, SECRET, max_attempts=max_attempts, first_backoff=0.01
    )


def job_events(job_id: str, changes: int) -> list[JobEvent]:
    job = new_job(job_id, created=T0)
    for n in range(changes):
        status = (JobStatus.EXECUTING, JobStatus.SUCCEEDED)[n]
        job = job.transition_to(status, at=T0, cause="test")
    return pending_events(job, "w", f"https://h/api/{job_id}")


def deliver_until_settled(webhooks: WebhookDispatcher, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while webhooks.pending() and time.monotonic() < deadline:
        webhooks.deliver_due()
        time.sleep(0.02)


def test_a_refused_event_is_dead_lettered_at_once_and_its_jobs_next_events_go_on(tmp_path: Path) -> None:
    with event_receiver(EventReceiver(SECRET, fail_first=10**6, refuse_with=400)) as refuser:
        webhooks = dispatcher(tmp_path, refuser.url)
        webhooks.publish(job_events("j1", 2))
        deliver_until_settled(webhooks)
        assert webhooks.pending() == 0
        assert webhooks.dead_letters() == [(refuser.url, f"j1:{n}", "HTTP 400") for n in range(3)]
        assert set(refuser.refused.values()) == {1}, "a 400 is not retried"
        webhooks.close()


def test_an_event_that_keeps_failing_is_dead_lettered_after_its_attempts_and_later_events_go_on(tmp_path: Path) -> None:
    with event_receiver(EventReceiver(SECRET, fail_first=2)) as flaky:
        webhooks = dispatcher(tmp_path, flaky.url, max_attempts=2)
        webhooks.publish(job_events("j1", 1))
        deliver_until_settled(webhooks)
        assert [dead[1] for dead in webhooks.dead_letters()] == ["j1:0", "j1:1"], "two 503s use up both attempts"
        flaky.fail_first = 0  # the subscriber recovers
        webhooks.publish(job_events("j2", 0))
        deliver_until_settled(webhooks)
        webhooks.publish(job_events("j2", 1))  # the same first event again (deduplicated), then the next
        deliver_until_settled(webhooks)
        assert [e["id"] for e in flaky.events("j2")] == ["j2:0", "j2:1"]
        webhooks.close()
