"""No state change is lost when the message sender and the event topic break mid-pipeline, and both recover.

The pipeline runs as in Azure, on real parts: the Service Bus sender over AMQP to the test broker, the
Event Grid publisher to a local topic endpoint, Blob storage on Azurite. The test plays the Functions
host: it receives each queue's messages with the Service Bus SDK and calls the function's service.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.servicebus import ServiceBusClient, ServiceBusReceivedMessage

from shared.adapters.aer_simulator import AerSimulator
from shared.adapters.blob_artifacts import BlobArtifactStore
from shared.adapters.eventgrid_publisher import EventGridTopicPublisher
from shared.adapters.local import LocalSimulators
from shared.adapters.servicebus_sender import SendPolicy, ServiceBusSender
from shared.adapters.sqlite_jobs import SqliteJobStore
from shared.adapters.sqlite_sessions import SqliteSessionStore
from shared.config import Settings
from shared.domain.catalog import load_catalog
from shared.domain.errors import DependencyError
from shared.domain.jobs import JobStatus
from shared.domain.messages import JOB_RESULTS_QUEUE, SIMULATOR_QUEUE, JobOutcome, RunJob, TranslateJob
from shared.programs.translate import QiskitPrograms
from shared.services import execute, sweep
from shared.services.notify import PublishingJobStore
from shared.services.pipeline import Limits, Pipeline
from shared.services.submit import JobSubmission, submit_job
from tests.event_receiver import EventReceiver, event_receiver
from tests.fakes import FakeClock
from tests.servers import free_port
from tests.servicebus_broker import servicebus_broker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

BELL = json.dumps(
    {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}
).encode()
FAST_FAILING_SENDS = SendPolicy(timeout=4.0, try_timeout=2.0, retry_total=1, retry_backoff_factor=0.1)
WORKSPACE = "subscriptions/s/resourceGroups/r/providers/Microsoft.Quantum/workspaces/w"


@pytest.fixture
def broker_port() -> int:
    return free_port()


@pytest.fixture
def topic() -> EventReceiver:
    return EventReceiver("unused", port=free_port())


@pytest.fixture
def pipeline(azurite_port: int, broker_port: int, topic: EventReceiver, tmp_path: Path) -> Iterator[Pipeline]:
    connection = (
        f"Endpoint=sb://127.0.0.1:{broker_port};SharedAccessKeyName=k;SharedAccessKey=k;UseDevelopmentEmulator=true;"
    )
    sender = ServiceBusSender.from_connection_string(connection, FAST_FAILING_SENDS)
    publisher = EventGridTopicPublisher(f"http://127.0.0.1:{topic.port}/api/events", AzureKeyCredential("k"), timeout=2)
    jobs = PublishingJobStore(SqliteJobStore(tmp_path / "jobs.sqlite3"), publisher, WORKSPACE, "https://app.test/api/")
    storage = Settings(AZURITE_BLOB_PORT=azurite_port, storage_connection=None)  # type: ignore[call-arg]
    yield Pipeline(
        jobs=jobs,
        outbox=jobs,
        sessions=SqliteSessionStore(tmp_path / "jobs.sqlite3"),
        artifacts=BlobArtifactStore.from_connection_string(storage.blob_connection_string),
        sender=sender,
        clock=FakeClock(),
        catalog=load_catalog(),
        limits=Limits(
            max_input_bytes=1 << 20,
            inline_message_bytes=64 * 1024,
            waiting_deadline=timedelta(seconds=60),
            executing_deadline=timedelta(seconds=120),
            max_redrives=3,
            sas_ttl=timedelta(minutes=10),
        ),
        programs=QiskitPrograms(),
    )
    sender.close()
    publisher.close()


def deliver_all(p: Pipeline, connection: str) -> None:
    """What the Functions host does: take each queue's messages to its function; complete on success."""
    backend = LocalSimulators(AerSimulator())
    queues = ("jobs-ionq", SIMULATOR_QUEUE, JOB_RESULTS_QUEUE)
    with ServiceBusClient.from_connection_string(connection) as client, contextlib.ExitStack() as stack:
        receivers = {queue: stack.enter_context(client.get_queue_receiver(queue)) for queue in queues}
        while True:
            handled = 0
            for queue, receiver in receivers.items():
                for message in receiver.receive_messages(max_message_count=10, max_wait_time=0.3):
                    run_function(p, backend, queue, message)
                    receiver.complete_message(message)
                    handled += 1
            if handled == 0:
                return


def run_function(p: Pipeline, backend: LocalSimulators, queue: str, message: ServiceBusReceivedMessage) -> None:
    body = b"".join(message.body)
    if queue == SIMULATOR_QUEUE:
        execute.run_job(p, backend, RunJob.model_validate_json(body))
    elif queue == JOB_RESULTS_QUEUE:
        execute.record_outcome(p, JobOutcome.model_validate_json(body))
    else:
        execute.translate_job(p, TranslateJob.model_validate_json(body))


def submit(p: Pipeline, job_id: str) -> None:
    p.artifacts.put(f"job-{job_id}", "inputData", BELL, "application/json")
    body = {
        "name": job_id,
        "providerId": "ionq",
        "target": "ionq.simulator",
        "inputDataUri": p.artifacts.blob_url(f"job-{job_id}", "inputData"),
        "inputDataFormat": "ionq.circuit.v1",
        "inputParams": {"shots": 100},
        "outputDataFormat": "ionq.quantum-results.v1",
    }
    submit_job(p, job_id, JobSubmission.model_validate(body), cause="test")


def statuses(topic: EventReceiver, job_id: str) -> list[str]:
    return [e["data"]["status"] for e in topic.events(job_id)]


def test_a_broken_sender_and_topic_mid_pipeline_lose_nothing_and_the_job_completes_after_recovery(
    pipeline: Pipeline, broker_port: int, topic: EventReceiver
) -> None:
    p = pipeline
    assert isinstance(p.clock, FakeClock)
    with event_receiver(topic), servicebus_broker(port=broker_port) as broker:
        submit(p, "before")
        deliver_all(p, broker.connection_string)
        assert p.require("before").status is JobStatus.SUCCEEDED
        assert statuses(topic, "before") == ["Waiting", "Executing", "Succeeded"]

        submit(p, "broken")
        with ServiceBusClient.from_connection_string(broker.connection_string) as client:
            with client.get_queue_receiver("jobs-ionq", max_wait_time=2) as receiver:
                (translate,) = receiver.receive_messages(max_message_count=1, max_wait_time=2)
                run_function(p, LocalSimulators(AerSimulator()), "jobs-ionq", translate)
                receiver.complete_message(translate)
            with client.get_queue_receiver(SIMULATOR_QUEUE, max_wait_time=2) as receiver:
                (run,) = receiver.receive_messages(max_message_count=1, max_wait_time=2)
                run_message = b"".join(run.body)

    # The broker (and every message it held) and the event topic are gone; the run goes on.
    with pytest.raises(DependencyError):
        execute.run_job(p, LocalSimulators(AerSimulator()), RunJob.model_validate_json(run_message))
    broken = p.require("broken")
    assert broken.status is JobStatus.EXECUTING, "the state change was stored although its outcome was not sent"
    assert [t.status for t in broken.history] == [JobStatus.WAITING, JobStatus.EXECUTING]
    assert broken.published == 1, "the Executing event could not be published and is still pending"
    assert statuses(topic, "broken") == ["Waiting"]

    # Service Bus comes back first (empty: the test broker kept nothing), the topic later.
    with servicebus_broker(port=broker_port) as broker:
        p.clock.advance(121)
        report = sweep.sweep_stuck_jobs(p)
        assert (report.redriven, report.republished) == (1, 0)
        deliver_all(p, broker.connection_string)
    done = p.require("broken")
    assert done.status is JobStatus.SUCCEEDED and done.redrives == 1
    assert statuses(topic, "broken") == ["Waiting"] and done.published == 1

    with event_receiver(topic):
        p.clock.advance(sweep.REPUBLISH_GRACE.total_seconds() + 1)
        assert sweep.sweep_stuck_jobs(p).republished == 1
    assert statuses(topic, "broken") == ["Waiting", "Executing", "Succeeded"]
    assert [e["data"]["sequence"] for e in topic.events("broken")] == [0, 1, 3], "a re-drive note is no event"
    assert p.require("broken").published == len(done.history)
