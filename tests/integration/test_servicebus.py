"""The Service Bus sender and the unmodified azure-servicebus SDK, over AMQP 1.0, against the test broker.

Every test has a hard timeout: the SDK blocks, rather than fails, against a server that does not speak
Service Bus (see test_a_silent_server_blocks_the_sdk_past_its_timeout).
"""

from __future__ import annotations

import gc
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.functions.servicebus import ServiceBusMessage as TriggerMessage
from azure.servicebus import (
    ServiceBusClient,
    ServiceBusMessage,
    ServiceBusReceivedMessage,
    ServiceBusReceiver,
    ServiceBusSubQueue,
)

from shared.adapters.servicebus_sender import MessageTooLargeError, SendPolicy, ServiceBusSender
from shared.domain.errors import DependencyError, PermanentJobError
from shared.domain.jobs import ErrorData
from shared.domain.messages import JobOutcome, Message, RunJob, TranslateJob
from tests.servicebus_broker import (
    MAX_DELIVERY_COUNT_EXCEEDED,
    Broker,
    queue_name,
    servicebus_broker,
    silent_server,
)

pytestmark = pytest.mark.integration

# Bounds for a working broker: an attempt has room for the SDK's open (about 0.5 s here), and a broker
# that is gone still fails the send within seconds.
FAST = SendPolicy(timeout=4.0, try_timeout=2.0, retry_total=2, retry_backoff_factor=0.2, retry_backoff_max=1.0)
# For the tests of brokers that never let a send succeed.
NEVER_OPENS = SendPolicy(timeout=2.0, try_timeout=1.0, retry_total=1, retry_backoff_factor=0.2, retry_backoff_max=0.5)
RECEIVE_SECONDS = 5.0
BEGAN = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ENDED = datetime(2026, 11, 25, 12, 0, 3, tzinfo=UTC)

MESSAGES: list[Message] = [
    TranslateJob(job_id="job-1", program=b"OPENQASM 2.0;\nqreg q[1];\n"),
    RunJob(job_id="job-2", attempt=2, program=b"\x00\x01binary\xff"),
    JobOutcome(job_id="job-3", succeeded=True, began_at=BEGAN, ended_at=ENDED, output='{"histogram":{"0":1.0}}'),
    JobOutcome(
        job_id="job-4",
        succeeded=False,
        began_at=BEGAN,
        ended_at=ENDED,
        error=ErrorData(code="InvalidProgram", message="line 3: unknown gate"),
        usage={"shots": 100.0},
    ),
]


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    with servicebus_broker() as running:
        yield running


@pytest.fixture
def queue() -> str:
    """A queue of this test's own on the shared broker."""
    return f"q-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def sender(broker: Broker) -> Iterator[ServiceBusSender]:
    with ServiceBusSender.from_connection_string(broker.connection_string, FAST) as adapter:
        yield adapter


@pytest.fixture(scope="module")
def client(broker: Broker) -> Iterator[ServiceBusClient]:
    """The SDK's own client, for receiving and settling as the Functions host would."""
    with ServiceBusClient.from_connection_string(broker.connection_string, retry_total=0) as sdk:
        yield sdk


def receive(receiver: ServiceBusReceiver, count: int) -> list[ServiceBusReceivedMessage]:
    """Exactly `count` messages, or fail after RECEIVE_SECONDS."""
    received: list[ServiceBusReceivedMessage] = []
    deadline = time.monotonic() + RECEIVE_SECONDS
    while len(received) < count and (left := deadline - time.monotonic()) > 0:
        received += receiver.receive_messages(max_message_count=count - len(received), max_wait_time=left)
    assert len(received) == count, f"received {len(received)} of {count} messages"
    return received


def body(received: ServiceBusReceivedMessage) -> bytes:
    return b"".join(received.body)


def open_descriptors() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


@pytest.mark.timeout(30)
@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: f"{type(m).__name__}-{m.job_id}")
def test_each_message_type_arrives_with_its_id_body_and_properties(
    sender: ServiceBusSender, client: ServiceBusClient, queue: str, message: Message
) -> None:
    sender.send(queue, message)

    with client.get_queue_receiver(queue) as receiver:
        [received] = receive(receiver, 1)
        lock_token, locked_until = received.lock_token, received.locked_until_utc
        receiver.complete_message(received)  # which clears both

    assert type(message).model_validate_json(body(received)) == message
    assert received.message_id == message.message_id() == f"{message.job_id}:{type(message).__name__}:{message.attempt}"
    assert received.content_type == "application/json"
    assert received.subject == type(message).__name__
    # The pure-Python AMQP transport hands application properties back as bytes.
    assert received.application_properties == {
        b"jobId": message.job_id.encode(),
        b"messageType": type(message).__name__.encode(),
    }
    assert received.delivery_count == 0
    assert received.sequence_number == 1
    assert received.enqueued_time_utc is not None
    assert locked_until is not None
    assert locked_until > received.enqueued_time_utc
    assert isinstance(lock_token, uuid.UUID)  # the SDK reads the 16-byte delivery tag as one


@pytest.mark.timeout(30)
def test_the_function_trigger_parses_the_received_body(
    sender: ServiceBusSender, client: ServiceBusClient, queue: str
) -> None:
    message = RunJob(job_id="job-1", attempt=1, program=b"\x00\x01")
    sender.send(queue, message)
    with client.get_queue_receiver(queue) as receiver:
        [received] = receive(receiver, 1)
        receiver.complete_message(received)

    msg = TriggerMessage(
        body=body(received),
        message_id=str(received.message_id),
        content_type=received.content_type,
        application_properties={},
        user_properties={},
    )

    assert RunJob.model_validate_json(msg.get_body()) == message  # as function_app's run_job does
    assert msg.message_id == "job-1:RunJob:1"


@pytest.mark.timeout(30)
def test_a_repeated_message_is_delivered_once(
    broker: Broker, sender: ServiceBusSender, client: ServiceBusClient, queue: str
) -> None:
    message = TranslateJob(job_id="job-1")

    sender.send(queue, message)
    sender.send(queue, message)

    assert broker.active_count(queue) == 1
    with client.get_queue_receiver(queue) as receiver:
        [received] = receive(receiver, 1)
        receiver.complete_message(received)
    assert received.message_id == message.message_id()
    assert broker.active_count(queue) == 0


@pytest.mark.timeout(30)
def test_each_attempt_is_a_new_message(
    broker: Broker, sender: ServiceBusSender, client: ServiceBusClient, queue: str
) -> None:
    sender.send(queue, RunJob(job_id="job-1", attempt=0))
    sender.send(queue, RunJob(job_id="job-1", attempt=1))

    with client.get_queue_receiver(queue) as receiver:
        received = receive(receiver, 2)
        for each in received:
            receiver.complete_message(each)

    assert [m.message_id for m in received] == ["job-1:RunJob:0", "job-1:RunJob:1"]
    assert broker.active_count(queue) == 0


@pytest.mark.timeout(30)
def test_complete_removes_the_message(
    broker: Broker, sender: ServiceBusSender, client: ServiceBusClient, queue: str
) -> None:
    sender.send(queue, RunJob(job_id="job-1"))

    with client.get_queue_receiver(queue) as receiver:
        [received] = receive(receiver, 1)
        assert broker.active_count(queue) == 1  # locked, still in the queue
        receiver.complete_message(received)

        assert broker.active_count(queue) == 0
        assert receiver.receive_messages(max_message_count=1, max_wait_time=0.3) == []


@pytest.mark.timeout(30)
def test_abandon_redelivers_with_the_delivery_count_raised(
    sender: ServiceBusSender, client: ServiceBusClient, queue: str
) -> None:
    sender.send(queue, RunJob(job_id="job-1"))

    with client.get_queue_receiver(queue) as receiver:
        [first] = receive(receiver, 1)
        first_lock = first.lock_token
        receiver.abandon_message(first)
        [again] = receive(receiver, 1)
        again_lock = again.lock_token
        receiver.complete_message(again)

    assert (first.message_id, first.delivery_count) == ("job-1:RunJob:0", 0)
    assert (again.message_id, again.delivery_count) == ("job-1:RunJob:0", 1)
    assert again.sequence_number == first.sequence_number
    assert again_lock != first_lock


@pytest.mark.timeout(30)
def test_a_lock_held_by_a_closed_receiver_is_lost_and_counted(
    broker: Broker, sender: ServiceBusSender, client: ServiceBusClient, queue: str
) -> None:
    """As when the Functions host dies holding a message: it comes back, one delivery later."""
    sender.send(queue, RunJob(job_id="job-1"))
    with client.get_queue_receiver(queue) as receiver:
        receive(receiver, 1)

    assert broker.active_count(queue) == 1
    with client.get_queue_receiver(queue) as receiver:
        [again] = receive(receiver, 1)
        receiver.complete_message(again)
    assert (again.message_id, again.delivery_count) == ("job-1:RunJob:0", 1)


@pytest.mark.timeout(30)
def test_dead_letter_moves_the_message_to_the_subqueue_with_its_reason(
    broker: Broker, sender: ServiceBusSender, client: ServiceBusClient, queue: str
) -> None:
    message = RunJob(job_id="job-1", program=b"poison")
    sender.send(queue, message)

    with client.get_queue_receiver(queue) as receiver:
        [received] = receive(receiver, 1)
        receiver.dead_letter_message(received, reason="InvalidProgram", error_description="line 3: unknown gate")
    assert broker.active_count(queue) == 0
    [letter] = broker.dead_letters(queue)
    assert (letter.message_id, letter.reason) == (message.message_id(), "InvalidProgram")

    with client.get_queue_receiver(queue, sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dead_letters:
        [dead] = receive(dead_letters, 1)
        dead_letters.complete_message(dead)

    assert RunJob.model_validate_json(body(dead)) == message
    assert dead.dead_letter_reason == "InvalidProgram"
    assert dead.dead_letter_error_description == "line 3: unknown gate"
    assert dead.dead_letter_source == queue
    assert broker.dead_letters(queue) == []


@pytest.mark.timeout(30)
def test_abandoning_up_to_the_max_delivery_count_dead_letters() -> None:
    with (
        servicebus_broker(max_delivery_count=3) as broker,
        ServiceBusClient.from_connection_string(broker.connection_string, retry_total=0) as client,
        ServiceBusSender.from_connection_string(broker.connection_string, FAST) as sender,
    ):
        sender.send("jobs", RunJob(job_id="job-1"))
        with client.get_queue_receiver("jobs") as receiver:
            for expected in range(3):
                [received] = receive(receiver, 1)
                assert received.delivery_count == expected
                receiver.abandon_message(received)

            assert receiver.receive_messages(max_message_count=1, max_wait_time=0.3) == []
        [letter] = broker.dead_letters("jobs")

    assert letter.message_id == "job-1:RunJob:0"
    assert letter.reason == MAX_DELIVERY_COUNT_EXCEEDED
    assert letter.delivery_count == 3


@pytest.mark.timeout(30)
def test_a_batch_is_unpacked_into_its_messages(client: ServiceBusClient, queue: str) -> None:
    messages = [RunJob(job_id=f"job-{i}") for i in range(3)]
    with client.get_queue_sender(queue) as batch_sender:
        batch_sender.send_messages(
            [ServiceBusMessage(m.model_dump_json(), message_id=m.message_id()) for m in messages], timeout=10
        )

    with client.get_queue_receiver(queue) as receiver:
        received = receive(receiver, 3)
        for each in received:
            receiver.complete_message(each)

    assert [m.message_id for m in received] == [m.message_id() for m in messages]
    assert [RunJob.model_validate_json(body(m)) for m in received] == messages


@pytest.mark.timeout(30)
def test_sends_from_eight_threads_arrive_exactly_once(
    broker: Broker, sender: ServiceBusSender, client: ServiceBusClient
) -> None:
    queues = [f"q-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    messages = [RunJob(job_id=f"job-{i}") for i in range(40)]
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def send_all(offset: int) -> None:
        start.wait()
        try:
            # Every thread sends every fourth message; two threads send each one, to both queues.
            for message in messages[offset % 4 :: 4]:
                for target in queues:
                    sender.send(target, message)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=send_all, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert failures == []
    assert not any(thread.is_alive() for thread in threads)
    for target in queues:
        assert broker.active_count(target) == len(messages)
        with client.get_queue_receiver(target) as receiver:
            received = receive(receiver, len(messages))
            for each in received:
                receiver.complete_message(each)
        assert sorted(str(m.message_id) for m in received) == sorted(m.message_id() for m in messages)


@pytest.mark.timeout(30)
def test_a_message_too_large_for_the_queue_is_a_permanent_error(
    broker: Broker, sender: ServiceBusSender, queue: str
) -> None:
    started = time.monotonic()

    with pytest.raises(MessageTooLargeError) as raised:
        sender.send(queue, RunJob(job_id="job-1", program=b"\x00" * 300_000))

    assert isinstance(raised.value, PermanentJobError)
    assert raised.value.code == "MessageTooLarge"
    assert "job-1:RunJob:0" in raised.value.message
    assert time.monotonic() - started < 2.0  # rejected by the broker, and not retried
    assert broker.active_count(queue) == 0
    sender.send(queue, RunJob(job_id="job-1", program=b"\x00" * 1000))  # the sender is still usable
    assert broker.active_count(queue) == 1


@pytest.mark.timeout(30)
def test_a_gone_broker_fails_the_send_quickly_and_a_returning_one_serves_it() -> None:
    with servicebus_broker() as first, ServiceBusSender.from_connection_string(first.connection_string, FAST) as sender:
        sender.send("jobs", RunJob(job_id="job-1"))
        port = first.port
        first.stop()

        started = time.monotonic()
        with pytest.raises(DependencyError, match="Service Bus failed sending to queue 'jobs'"):
            sender.send("jobs", RunJob(job_id="job-2"))
        assert time.monotonic() - started < FAST.timeout + 1.0

        with servicebus_broker(port=port) as second:
            sender.send("jobs", RunJob(job_id="job-3"))
            assert second.active_count("jobs") == 1


@pytest.mark.timeout(30)
def test_a_broker_that_never_answers_cbs_fails_the_send_within_its_timeout() -> None:
    with (
        servicebus_broker(answer_cbs=False) as broker,
        ServiceBusSender.from_connection_string(broker.connection_string, NEVER_OPENS) as sender,
    ):
        started = time.monotonic()
        with pytest.raises(DependencyError, match="Timed out waiting for the AMQP link to open"):
            sender.send("jobs", RunJob(job_id="job-1"))
        elapsed = time.monotonic() - started

        assert NEVER_OPENS.try_timeout <= elapsed < NEVER_OPENS.timeout + 1.5
        assert broker.active_count("jobs") == 0


@pytest.mark.timeout(30)
def test_a_silent_server_blocks_the_sdk_past_its_timeout() -> None:
    """An SDK limit, pinned down: SASL negotiation reads a blocking socket with no timeout.

    azure-servicebus 7.15 (`_pyamqp/sasl.py`, under `transport.block()`) waits for the server's SASL
    header with the socket timeout off, so none of `timeout`, `try_timeout` or `retry_total` applies: a
    server that accepts the connection and says nothing holds the send until it hangs up. If a later SDK
    bounds this, this test fails and the adapter's own bounds cover the case.
    """
    with (
        silent_server() as server,
        ServiceBusSender.from_connection_string(server.connection_string, NEVER_OPENS) as sender,
    ):
        outcome: list[BaseException | None] = []

        def send() -> None:
            try:
                sender.send("jobs", RunJob(job_id="job-1"))
                outcome.append(None)
            except BaseException as exc:  # inspected below, in the test's thread
                outcome.append(exc)

        blocked = threading.Thread(target=send, daemon=True)
        blocked.start()
        blocked.join(NEVER_OPENS.timeout + 1.0)
        assert blocked.is_alive(), f"the send ended on its own: {outcome}"

        server.hang_up()
        blocked.join(10.0)

    assert not blocked.is_alive()
    [error] = outcome
    assert isinstance(error, DependencyError)


@pytest.mark.timeout(30)
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count file descriptors")
def test_the_broker_stops_cleanly_with_connections_open() -> None:
    before = open_descriptors()
    with (
        servicebus_broker() as broker,
        ServiceBusSender.from_connection_string(broker.connection_string, FAST) as sender,
    ):
        sender.send("jobs", RunJob(job_id="job-1"))  # leaves a connection open
        broker.stop()

        assert f"servicebus-broker-{broker.port}" not in {thread.name for thread in threading.enumerate()}
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", broker.port), timeout=1.0)

    gc.collect()  # the SDK's close leaves the socket of a connection that broke under it to the collector
    assert open_descriptors() <= before  # other tests' connections may still be closing


@pytest.mark.timeout(30)
def test_send_after_close_is_a_dependency_error(broker: Broker, queue: str) -> None:
    sender = ServiceBusSender.from_connection_string(broker.connection_string, FAST)
    sender.send(queue, RunJob(job_id="job-1"))
    sender.close()

    with pytest.raises(DependencyError, match="closed"):
        sender.send(queue, RunJob(job_id="job-2"))
    assert broker.active_count(queue) == 1


@pytest.mark.timeout(5)
@pytest.mark.parametrize(
    "make",
    [
        lambda: SendPolicy(timeout=0.0),
        lambda: SendPolicy(try_timeout=0.0),
        lambda: SendPolicy(timeout=5.0, try_timeout=10.0),
        lambda: SendPolicy(retry_total=-1),
    ],
    ids=["no-timeout", "no-try-timeout", "try-longer-than-all", "negative-retries"],
)
def test_a_send_policy_must_bound_every_send(make: Callable[[], SendPolicy]) -> None:
    with pytest.raises(ValueError, match=r"try_timeout|negative"):
        make()


@pytest.mark.timeout(5)
@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("sb://127.0.0.1:5672/jobs-ionq", "jobs-ionq"),
        ("amqps://ns.servicebus.windows.net/job-results", "job-results"),
        ("simulator-runs", "simulator-runs"),
        ("sb://127.0.0.1:5672/jobs/$DeadLetterQueue", "jobs/$deadletterqueue"),
        ("sb://127.0.0.1:5672/jobs/$deadletterqueue", "jobs/$deadletterqueue"),
    ],
)
def test_the_broker_names_queues_by_the_last_segment_of_the_link_address(address: str, expected: str) -> None:
    assert queue_name(address) == expected
