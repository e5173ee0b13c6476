"""The embedded queue against real SQLite files: Service Bus semantics, threads, killed processes."""

from __future__ import annotations

import gc
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.adapters.embedded_queue import (
    MAX_DELIVERY_COUNT_EXCEEDED,
    EmbeddedQueue,
    MessageLockLostError,
    OutgoingMessage,
    ReceivedMessage,
)
from shared.domain.messages import DEAD_LETTER_SUBQUEUE

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "jobs"

SEND_AND_HANG = """
import sys, time
from pathlib import Path
from shared.adapters.embedded_queue import EmbeddedQueue, OutgoingMessage
queue = EmbeddedQueue(Path(sys.argv[1]))
for i in range(100):
    queue.send("jobs", OutgoingMessage(message_id=f"m{i}", body=str(i).encode()))
print("sent", flush=True)
time.sleep(120)
"""

RECEIVE_AND_HANG = """
import sys, time
from pathlib import Path
from shared.adapters.embedded_queue import EmbeddedQueue
queue = EmbeddedQueue(Path(sys.argv[1]))
message = queue.receive("jobs", max_wait=10)
print("received", message.message_id if message else "", flush=True)
time.sleep(120)
"""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


QueueFactory = Callable[..., EmbeddedQueue]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def open_queue(tmp_path: Path, clock: FakeClock) -> Iterator[QueueFactory]:
    opened: list[EmbeddedQueue] = []

    def factory(
        *, lock_duration: float = 30.0, max_delivery_count: int = 10, duplicate_window: float = 600.0
    ) -> EmbeddedQueue:
        queue = EmbeddedQueue(
            tmp_path / "queue.db",
            lock_duration=lock_duration,
            max_delivery_count=max_delivery_count,
            duplicate_window=duplicate_window,
            clock=clock,
        )
        opened.append(queue)
        return queue

    yield factory
    for queue in opened:
        queue.close()


def message(message_id: str, body: bytes = b"{}") -> OutgoingMessage:
    return OutgoingMessage(message_id=message_id, body=body)


def must_receive(queue: EmbeddedQueue, name: str = QUEUE, max_wait: float = 0.0) -> ReceivedMessage:
    received = queue.receive(name, max_wait=max_wait)
    assert received is not None
    return received


def run_script(script: str, db: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", script, str(db)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )


def open_descriptors() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL


def test_receives_in_fifo_order_with_metadata(open_queue: QueueFactory, clock: FakeClock) -> None:
    queue = open_queue()
    for i in range(5):
        queue.send(QUEUE, message(f"m{i}", body=f"body-{i}".encode()))

    received = [must_receive(queue) for _ in range(5)]

    assert [m.message_id for m in received] == [f"m{i}" for i in range(5)]
    assert [m.body for m in received] == [f"body-{i}".encode() for i in range(5)]
    assert [m.sequence_number for m in received] == sorted(m.sequence_number for m in received)
    first = received[0]
    assert first.queue == QUEUE
    assert first.delivery_count == 1
    assert first.content_type == "application/json"
    assert first.enqueued_time == datetime.fromtimestamp(clock.now, tz=UTC)
    assert first.locked_until == datetime.fromtimestamp(clock.now + 30.0, tz=UTC)
    assert queue.receive(QUEUE) is None
    assert queue.active_count(QUEUE) == 5


def test_queues_are_separate(open_queue: QueueFactory) -> None:
    queue = open_queue()
    queue.send("a", message("m1"))

    assert queue.receive("b") is None
    assert must_receive(queue, "a").message_id == "m1"


def test_application_properties_keep_their_types(open_queue: QueueFactory) -> None:
    queue = open_queue()
    properties: dict[str, str | int | float | bool] = {
        "text": "x",
        "count": 3,
        "ratio": 1.0,
        "flag": True,
        "off": False,
    }
    queue.send(QUEUE, OutgoingMessage("m1", b"\x00\xff", "application/octet-stream", properties))

    received = must_receive(queue)

    assert received.body == b"\x00\xff"
    assert received.content_type == "application/octet-stream"
    assert received.application_properties == properties
    assert {k: type(v) for k, v in received.application_properties.items()} == {
        k: type(v) for k, v in properties.items()
    }


def test_complete_deletes_the_message(open_queue: QueueFactory) -> None:
    queue = open_queue()
    queue.send(QUEUE, message("m1"))

    queue.complete(must_receive(queue))

    assert queue.active_count(QUEUE) == 0
    assert queue.receive(QUEUE) is None


def test_abandon_redelivers_with_incremented_delivery_count(open_queue: QueueFactory) -> None:
    queue = open_queue()
    queue.send(QUEUE, message("m1"))
    queue.send(QUEUE, message("m2"))

    first = must_receive(queue)
    queue.abandon(first)
    again = must_receive(queue)

    assert again.message_id == "m1"
    assert again.delivery_count == 2
    assert again.lock_token != first.lock_token


def test_expired_lock_makes_the_message_deliverable_again(open_queue: QueueFactory, clock: FakeClock) -> None:
    queue = open_queue(lock_duration=30.0)
    queue.send(QUEUE, message("m1"))
    must_receive(queue)

    clock.advance(29.0)
    assert queue.receive(QUEUE) is None
    clock.advance(2.0)
    again = must_receive(queue)

    assert again.message_id == "m1"
    assert again.delivery_count == 2


def test_renew_lock_extends_the_lock(open_queue: QueueFactory, clock: FakeClock) -> None:
    queue = open_queue(lock_duration=30.0)
    queue.send(QUEUE, message("m1"))
    received = must_receive(queue)

    clock.advance(20.0)
    renewed = queue.renew_lock(received)
    clock.advance(20.0)

    assert renewed.locked_until == datetime.fromtimestamp(clock.now + 10.0, tz=UTC)
    assert queue.receive(QUEUE) is None
    queue.complete(renewed)
    assert queue.active_count(QUEUE) == 0


def test_abandon_after_max_delivery_count_dead_letters(open_queue: QueueFactory) -> None:
    queue = open_queue(max_delivery_count=3)
    queue.send(QUEUE, message("m1", body=b"poison"))

    for expected in range(1, 4):
        received = must_receive(queue)
        assert received.delivery_count == expected
        queue.abandon(received)

    assert queue.receive(QUEUE) is None
    assert queue.active_count(QUEUE) == 0
    [dead] = queue.dead_letters(QUEUE)
    assert dead.message_id == "m1"
    assert dead.body == b"poison"
    assert dead.delivery_count == 3
    assert dead.reason == MAX_DELIVERY_COUNT_EXCEEDED == "MaxDeliveryCountExceeded"


def test_lock_expiry_after_max_delivery_count_dead_letters(open_queue: QueueFactory, clock: FakeClock) -> None:
    queue = open_queue(max_delivery_count=2, lock_duration=10.0)
    queue.send(QUEUE, message("m1"))
    queue.send(QUEUE, message("m2"))

    assert must_receive(queue).message_id == "m1"
    clock.advance(11.0)
    assert must_receive(queue).delivery_count == 2
    clock.advance(11.0)
    after = must_receive(queue)

    assert after.message_id == "m2"
    assert [d.message_id for d in queue.dead_letters(QUEUE)] == ["m1"]
    assert queue.dead_letters(QUEUE)[0].reason == MAX_DELIVERY_COUNT_EXCEEDED
    assert queue.dead_letters(QUEUE)[0].dead_lettered_time == datetime.fromtimestamp(clock.now, tz=UTC)


def test_explicit_dead_letter(open_queue: QueueFactory, clock: FakeClock) -> None:
    queue = open_queue()
    queue.send(QUEUE, message("m1", body=b"bad"))

    queue.dead_letter(must_receive(queue), "InvalidProgram", "line 3: unknown gate")

    assert queue.active_count(QUEUE) == 0
    [dead] = queue.dead_letters(QUEUE)
    assert (dead.message_id, dead.body, dead.delivery_count) == ("m1", b"bad", 1)
    assert (dead.reason, dead.description) == ("InvalidProgram", "line 3: unknown gate")
    assert dead.dead_lettered_time == datetime.fromtimestamp(clock.now, tz=UTC)
    assert queue.dead_letters("other") == []


def test_a_dead_letter_is_received_from_the_subqueue_with_its_reason_and_never_dead_lettered_again(
    open_queue: QueueFactory,
) -> None:
    queue = open_queue(max_delivery_count=2)
    queue.send(QUEUE, message("m1", body=b"poison"))
    queue.abandon(must_receive(queue))
    queue.abandon(must_receive(queue))
    subqueue = QUEUE + DEAD_LETTER_SUBQUEUE

    for delivery in (3, 4, 5):  # a dead-letter trigger that keeps failing keeps its letter
        letter = queue.receive(subqueue)
        assert letter is not None and letter.delivery_count == delivery
        assert letter.body == b"poison"
        assert letter.application_properties["DeadLetterReason"] == MAX_DELIVERY_COUNT_EXCEEDED
        assert "after 2 delivery attempts" in str(letter.application_properties["DeadLetterErrorDescription"])
        queue.abandon(letter)
    must_receive(queue, subqueue)
    assert queue.release_all_locks() == 1, "unlocked, not moved: a restart keeps it too"
    queue.complete(must_receive(queue, subqueue))
    assert queue.dead_letters(QUEUE) == []
    assert queue.receive(QUEUE) is None


def test_dead_letters_of_a_file_from_before_the_subqueue_are_kept_as_messages(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL,"
            " message_id TEXT NOT NULL, body BLOB NOT NULL, delivery_count INTEGER NOT NULL, reason TEXT NOT NULL,"
            " description TEXT NOT NULL, dead_lettered_at REAL NOT NULL)"
        )
        old.execute("INSERT INTO dead_letters VALUES (1, 'jobs', 'm1', x'6869', 10, 'Why', 'How', 1700000000.0)")
    old.close()

    [dead] = EmbeddedQueue(path).dead_letters(QUEUE)

    assert (dead.message_id, dead.body, dead.delivery_count) == ("m1", b"hi", 10)
    assert (dead.reason, dead.description) == ("Why", "How")
    assert dead.dead_lettered_time == datetime.fromtimestamp(1_700_000_000.0, tz=UTC)
    assert EmbeddedQueue(path).dead_letters(QUEUE) == [dead], "moved once"


def test_duplicates_are_dropped_within_the_window_only(open_queue: QueueFactory, clock: FakeClock) -> None:
    queue = open_queue(duplicate_window=600.0)

    assert queue.send(QUEUE, message("m1")) is True
    clock.advance(599.0)
    assert queue.send(QUEUE, message("m1")) is False
    assert queue.send("other", message("m1")) is True
    clock.advance(2.0)
    assert queue.send(QUEUE, message("m1")) is True
    assert queue.active_count(QUEUE) == 2


def test_duplicate_window_counts_from_the_first_send(open_queue: QueueFactory, clock: FakeClock) -> None:
    queue = open_queue(duplicate_window=600.0)
    queue.send(QUEUE, message("m1"))
    clock.advance(400.0)
    assert queue.send(QUEUE, message("m1")) is False
    clock.advance(201.0)

    assert queue.send(QUEUE, message("m1")) is True


def test_duplicates_survive_completion_and_reopening(open_queue: QueueFactory) -> None:
    queue = open_queue()
    queue.send(QUEUE, message("m1"))
    queue.complete(must_receive(queue))

    assert open_queue().send(QUEUE, message("m1")) is False


def test_send_many_counts_accepted_messages(open_queue: QueueFactory) -> None:
    queue = open_queue()
    queue.send(QUEUE, message("m0"))

    accepted = queue.send_many(QUEUE, [message("m0"), message("m1"), message("m2"), message("m1")])

    assert accepted == 2
    assert [must_receive(queue).message_id for _ in range(3)] == ["m0", "m1", "m2"]


def test_settling_after_the_lock_was_lost_raises(open_queue: QueueFactory, clock: FakeClock) -> None:
    queue = open_queue(lock_duration=30.0)
    queue.send(QUEUE, message("m1"))
    stale = must_receive(queue)
    clock.advance(31.0)
    current = must_receive(queue)

    with pytest.raises(MessageLockLostError) as raised:
        queue.complete(stale)
    assert raised.value.code == "MessageLockLost"
    with pytest.raises(MessageLockLostError):
        queue.abandon(stale)
    with pytest.raises(MessageLockLostError):
        queue.renew_lock(stale)
    with pytest.raises(MessageLockLostError):
        queue.dead_letter(stale, "Reason", "description")
    queue.complete(current)
    with pytest.raises(MessageLockLostError):
        queue.complete(current)


def test_receive_wakes_on_a_send_from_another_thread(open_queue: QueueFactory) -> None:
    queue = open_queue()
    results: list[tuple[ReceivedMessage | None, float]] = []

    def receive() -> None:
        started = time.monotonic()
        received = queue.receive(QUEUE, max_wait=30.0)
        results.append((received, time.monotonic() - started))

    receiver = threading.Thread(target=receive)
    receiver.start()
    time.sleep(0.2)
    queue.send(QUEUE, message("m1"))
    receiver.join(timeout=30.0)

    [(received, waited)] = results
    assert received is not None
    assert received.message_id == "m1"
    assert waited < 5.0


def test_receive_sees_a_send_from_another_instance(open_queue: QueueFactory) -> None:
    receiver, sender = open_queue(), open_queue()
    timer = threading.Timer(0.2, lambda: sender.send(QUEUE, message("m1")))
    timer.start()
    started = time.monotonic()

    received = receiver.receive(QUEUE, max_wait=30.0)

    timer.join()
    assert received is not None
    assert received.message_id == "m1"
    assert time.monotonic() - started < 5.0


def test_receive_with_max_wait_returns_none_when_nothing_arrives(open_queue: QueueFactory) -> None:
    queue = open_queue()
    started = time.monotonic()

    assert queue.receive(QUEUE, max_wait=0.2) is None
    assert 0.2 <= time.monotonic() - started < 5.0


def test_concurrent_receivers_get_each_message_exactly_once(open_queue: QueueFactory) -> None:
    queue = open_queue()
    queue.send_many(QUEUE, [message(f"m{i}") for i in range(500)])
    delivered: list[list[str]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def consume(seen: list[str]) -> None:
        start.wait()
        while (received := queue.receive(QUEUE)) is not None:
            seen.append(received.message_id)
            queue.complete(received)

    threads = [threading.Thread(target=consume, args=(seen,)) for seen in delivered]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60.0)

    everything = [message_id for seen in delivered for message_id in seen]
    assert sorted(everything) == sorted(f"m{i}" for i in range(500))
    assert queue.active_count(QUEUE) == 0


def test_release_all_locks_dead_letters_exhausted_messages(open_queue: QueueFactory) -> None:
    queue = open_queue(max_delivery_count=1)
    queue.send(QUEUE, message("m1"))
    queue.send(QUEUE, message("m2"))
    must_receive(queue)

    assert queue.release_all_locks() == 1

    assert [d.reason for d in queue.dead_letters(QUEUE)] == [MAX_DELIVERY_COUNT_EXCEEDED]
    assert must_receive(queue).message_id == "m2"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count file descriptors")
def test_connections_of_finished_threads_are_closed(open_queue: QueueFactory) -> None:
    queue = open_queue()
    queue.send(QUEUE, message("warm-up"))
    before = open_descriptors()

    for i in range(50):
        sender = threading.Thread(target=queue.send, args=(QUEUE, message(f"m{i}")))
        sender.start()
        sender.join()
    gc.collect()

    assert open_descriptors() - before < 10
    assert queue.active_count(QUEUE) == 51


def test_sends_survive_a_killed_process(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    sender = run_script(SEND_AND_HANG, db)
    try:
        assert sender.stdout is not None
        assert sender.stdout.readline().strip() == "sent"
    finally:
        kill(sender)

    queue = EmbeddedQueue(db)
    try:
        received = []
        while (got := queue.receive(QUEUE)) is not None:
            received.append(got.message_id)
            queue.complete(got)
    finally:
        queue.close()
    assert received == [f"m{i}" for i in range(100)]


def test_lock_of_a_killed_process_is_released_on_start_up(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    queue = EmbeddedQueue(db)
    queue.send(QUEUE, message("m1"))
    queue.close()
    receiver = run_script(RECEIVE_AND_HANG, db)
    try:
        assert receiver.stdout is not None
        assert receiver.stdout.readline().split() == ["received", "m1"]
    finally:
        kill(receiver)

    restarted = EmbeddedQueue(db)
    try:
        assert restarted.receive(QUEUE) is None
        assert restarted.release_all_locks() == 1
        again = must_receive(restarted)
    finally:
        restarted.close()
    assert again.message_id == "m1"
    assert again.delivery_count == 2
