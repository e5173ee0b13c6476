"""A durable queue with Azure Service Bus semantics, embedded in one SQLite file.

It stands in for Service Bus queues on the local host: peek-lock receive, complete, abandon,
dead-letter, lock renewal, max delivery count and duplicate detection. Every send is committed
before it returns, in WAL mode, so a killed process loses nothing it acknowledged; a message
locked by a dead process becomes deliverable again when its lock expires or on `release_all_locks`.

Lock checks compare lock tokens: settling a message whose lock expired still succeeds as long as
nobody received it again in the meantime (Service Bus would refuse), which spares the local host a
needless redelivery.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from shared.domain.errors import DependencyError, TransientJobError
from shared.domain.messages import DEAD_LETTER_SUBQUEUE, is_dead_letter_queue

PropertyValue = str | int | float | bool

MAX_DELIVERY_COUNT_EXCEEDED = "MaxDeliveryCountExceeded"

_BUSY_TIMEOUT_SECONDS = 5.0
_POLL_INTERVAL_SECONDS = 0.05

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body BLOB NOT NULL,
    content_type TEXT NOT NULL,
    properties TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    delivery_count INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0,
    lock_token TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue);
CREATE TABLE IF NOT EXISTS duplicates (
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    first_sent_at REAL NOT NULL,
    PRIMARY KEY (queue, message_id)
) WITHOUT ROWID;
"""

_INSERT_MESSAGE = """
INSERT INTO messages (queue, message_id, body, content_type, properties, enqueued_at)
VALUES (?, ?, ?, ?, ?, ?)
"""

# Accepted when new, or when the earlier send of the same id is older than the window.
_RECORD_SEND = """
INSERT INTO duplicates (queue, message_id, first_sent_at) VALUES (?, ?, ?)
ON CONFLICT (queue, message_id) DO UPDATE SET first_sent_at = excluded.first_sent_at
WHERE duplicates.first_sent_at <= ?
"""

_OLDEST_VISIBLE = """
SELECT seq, delivery_count FROM messages
WHERE queue = ? AND locked_until <= ? ORDER BY seq LIMIT 1
"""

_LOCK = """
UPDATE messages SET delivery_count = delivery_count + 1, locked_until = ?, lock_token = ?
WHERE seq = ?
RETURNING message_id, body, content_type, properties, enqueued_at, delivery_count
"""

# A dead-lettered message moves to `{queue}/$DeadLetterQueue`, a queue like any other (a trigger may take
# it), carrying the reason in the application properties Service Bus uses. As in Service Bus, a dead letter
# is not dead-lettered again, however often it is delivered.
_MOVE_TO_DEAD_LETTERS = """
UPDATE messages SET queue = queue || ?, enqueued_at = ?, locked_until = 0, lock_token = NULL,
    properties = json_set(properties, '$.DeadLetterReason', ?, '$.DeadLetterErrorDescription', ?)
WHERE seq = ?
"""

# A file made before dead letters were kept as messages: its old table's rows become messages.
_MIGRATE_DEAD_LETTERS = """
INSERT INTO messages (queue, message_id, body, content_type, properties, enqueued_at, delivery_count)
SELECT queue || ?, message_id, body, 'application/json',
    json_object('DeadLetterReason', reason, 'DeadLetterErrorDescription', description), dead_lettered_at, delivery_count
FROM dead_letters
"""


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to send."""

    message_id: str
    body: bytes
    content_type: str = "application/json"
    application_properties: Mapping[str, PropertyValue] = field(default_factory=dict)


@dataclass(frozen=True)
class ReceivedMessage:
    """A message received with peek-lock; settle it with its lock token."""

    queue: str
    message_id: str
    body: bytes
    content_type: str
    application_properties: Mapping[str, PropertyValue]
    delivery_count: int
    sequence_number: int
    enqueued_time: datetime
    lock_token: str
    locked_until: datetime


@dataclass(frozen=True)
class DeadLetter:
    """A message in a queue's dead-letter subqueue."""

    message_id: str
    body: bytes
    delivery_count: int
    reason: str
    description: str
    dead_lettered_time: datetime


class MessageLockLostError(TransientJobError):
    """The lock expired and the message was received again, or it is no longer in the queue."""

    default_message = "The message lock was lost: the message was received again or already settled."
    code = "MessageLockLost"


class _ThreadConnection:
    """One thread's connection, closed in that thread when it ends and its thread-locals are cleared.

    Closing it from another thread after the thread ended would leave the file descriptor open
    for as long as any other connection of the process holds a lock on the file.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        weakref.finalize(self, conn.close)


def _locked_delivery_count(conn: sqlite3.Connection, message: ReceivedMessage) -> int:
    row = conn.execute(
        "SELECT delivery_count FROM messages WHERE seq = ? AND lock_token = ?",
        (message.sequence_number, message.lock_token),
    ).fetchone()
    if row is None:
        raise MessageLockLostError
    return int(row[0])


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _move_to_dead_letters(conn: sqlite3.Connection, seq: int, reason: str, description: str, now: float) -> None:
    conn.execute(_MOVE_TO_DEAD_LETTERS, (DEAD_LETTER_SUBQUEUE, now, reason, description, seq))


def _dead_letter_exhausted(conn: sqlite3.Connection, seq: int, delivery_count: int, now: float) -> None:
    description = f"Message could not be consumed after {delivery_count} delivery attempts."
    _move_to_dead_letters(conn, seq, MAX_DELIVERY_COUNT_EXCEEDED, description, now)


class EmbeddedQueue:
    """Service Bus-like queues in one SQLite file, safe across threads and processes."""

    def __init__(
        self,
        path: Path,
        *,
        lock_duration: float = 30.0,
        max_delivery_count: int = 10,
        duplicate_window: float = 600.0,
        clock: Callable[[], float] = time.time,
        poll_interval: float = _POLL_INTERVAL_SECONDS,
    ) -> None:
        self._path = path
        self._poll_interval = poll_interval
        self._lock_duration = lock_duration
        self._max_delivery_count = max_delivery_count
        self._duplicate_window = duplicate_window
        self._clock = clock
        self._local = threading.local()
        self._connections: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()
        self._connections_lock = threading.Lock()
        self._closed = False
        # Serialises this instance's writers without SQLite's sleeping busy handler.
        self._write_lock = threading.Lock()
        # Per queue, how often this instance made messages visible; receivers wait for a change. A queue's
        # receivers wait on its own condition, and each new message wakes one of them, not every receiver.
        self._wake_lock = threading.Lock()
        self._wakes: dict[str, threading.Condition] = {}
        self._changes: dict[str, int] = {}
        self._last_prune = float("-inf")
        with self._reading() as conn:
            # Small pages for small messages: each commit appends whole pages to the WAL, and copying
            # them back at checkpoints is what bounds throughput. Takes effect on a new file only.
            conn.execute("PRAGMA page_size = 1024")
            conn.execute("PRAGMA journal_mode = WAL")
        with self._transaction() as tx:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    tx.execute(statement)
            if tx.execute("SELECT 1 FROM sqlite_master WHERE name = 'dead_letters'").fetchone() is not None:
                tx.execute(_MIGRATE_DEAD_LETTERS, (DEAD_LETTER_SUBQUEUE,))
                tx.execute("DROP TABLE dead_letters")

    def send(self, queue: str, message: OutgoingMessage) -> bool:
        """Commit one message; False when dropped as a duplicate within the window (0 turns that off)."""
        return self.send_many(queue, [message]) == 1

    def send_many(self, queue: str, messages: Sequence[OutgoingMessage]) -> int:
        """Commit messages in one transaction; return how many were not duplicates."""
        accepted = 0
        with self._transaction() as conn:
            now = self._clock()
            self._prune_duplicates(conn, now)
            for message in messages:
                if self._duplicate_window > 0:
                    recorded = conn.execute(
                        _RECORD_SEND, (queue, message.message_id, now, now - self._duplicate_window)
                    )
                    if recorded.rowcount == 0:
                        continue
                conn.execute(
                    _INSERT_MESSAGE,
                    (
                        queue,
                        message.message_id,
                        message.body,
                        message.content_type,
                        json.dumps(dict(message.application_properties)),
                        now,
                    ),
                )
                accepted += 1
        if accepted:
            self._notify(queue, accepted)
        return accepted

    def receive(self, queue: str, max_wait: float = 0.0) -> ReceivedMessage | None:
        """Peek-lock the oldest visible message, waiting up to max_wait seconds for one."""
        deadline = time.monotonic() + max_wait
        while True:
            wake = self._wake(queue)
            with wake:
                seen = self._changes.get(queue, 0)
            message = self._receive_now(queue)
            remaining = deadline - time.monotonic()
            if message is not None or remaining <= 0:
                return message
            with wake:
                wake.wait_for(partial(self._changed, queue, seen), min(remaining, self._poll_interval))

    def complete(self, message: ReceivedMessage) -> None:
        """Delete a received message."""
        with self._transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM messages WHERE seq = ? AND lock_token = ?",
                (message.sequence_number, message.lock_token),
            )
            if deleted.rowcount == 0:
                raise MessageLockLostError

    def abandon(self, message: ReceivedMessage) -> None:
        """Make a received message visible again now, or dead-letter it if it ran out of deliveries."""
        with self._transaction() as conn:
            now = self._clock()
            delivery_count = _locked_delivery_count(conn, message)
            if delivery_count >= self._max_delivery_count and not is_dead_letter_queue(message.queue):
                _dead_letter_exhausted(conn, message.sequence_number, delivery_count, now)
            else:
                conn.execute(
                    "UPDATE messages SET locked_until = 0, lock_token = NULL WHERE seq = ?",
                    (message.sequence_number,),
                )
        self._notify(message.queue)

    def dead_letter(self, message: ReceivedMessage, reason: str, description: str) -> None:
        """Move a received message to the dead-letter subqueue."""
        with self._transaction() as conn:
            now = self._clock()
            _locked_delivery_count(conn, message)
            _move_to_dead_letters(conn, message.sequence_number, reason, description, now)

    def renew_lock(self, message: ReceivedMessage) -> ReceivedMessage:
        """Extend the lock by lock_duration from now; return the message with its new expiry."""
        with self._transaction() as conn:
            locked_until = self._clock() + self._lock_duration
            renewed = conn.execute(
                "UPDATE messages SET locked_until = ? WHERE seq = ? AND lock_token = ?",
                (locked_until, message.sequence_number, message.lock_token),
            )
            if renewed.rowcount == 0:
                raise MessageLockLostError
        return replace(message, locked_until=_utc(locked_until))

    def release_all_locks(self) -> int:
        """Unlock every locked message (its holder is gone); return how many locks were released.

        Messages that already used up their deliveries go to the dead-letter subqueue instead.
        """
        with self._transaction() as conn:
            now = self._clock()
            exhausted = conn.execute(
                "SELECT seq, delivery_count FROM messages"
                " WHERE lock_token IS NOT NULL AND delivery_count >= ? AND queue NOT LIKE ?",
                (self._max_delivery_count, f"%{DEAD_LETTER_SUBQUEUE}"),
            ).fetchall()
            for seq, delivery_count in exhausted:
                _dead_letter_exhausted(conn, int(seq), int(delivery_count), now)
            released = conn.execute(
                "UPDATE messages SET locked_until = 0, lock_token = NULL WHERE lock_token IS NOT NULL"
            )
            count = len(exhausted) + released.rowcount
        self._wake_all()
        return count

    def active_count(self, queue: str) -> int:
        """Messages in the queue, locked or not (not dead-lettered)."""
        with self._reading() as conn:
            row = conn.execute("SELECT count(*) FROM messages WHERE queue = ?", (queue,)).fetchone()
        return int(row[0])

    def dead_letters(self, queue: str) -> list[DeadLetter]:
        """The queue's dead-letter subqueue, in the order the messages were sent."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT message_id, body, delivery_count, properties, enqueued_at FROM messages"
                " WHERE queue = ? ORDER BY seq",
                (queue + DEAD_LETTER_SUBQUEUE,),
            ).fetchall()
        letters = []
        for message_id, body, delivery_count, properties, at in rows:
            details = json.loads(properties)
            letters.append(
                DeadLetter(
                    message_id=str(message_id),
                    body=bytes(body),
                    delivery_count=int(delivery_count),
                    reason=str(details["DeadLetterReason"]),
                    description=str(details["DeadLetterErrorDescription"]),
                    dead_lettered_time=_utc(float(at)),
                )
            )
        return letters

    def close(self) -> None:
        """Close every connection once in-flight writes end; later calls raise DependencyError."""
        with self._write_lock, self._connections_lock:
            self._closed = True
            connections = list(self._connections)
        for connection in connections:
            connection.conn.close()
        self._wake_all()

    def _receive_now(self, queue: str) -> ReceivedMessage | None:
        with self._reading() as reader:  # a lock-free look first: idle polls take no write lock
            if reader.execute(_OLDEST_VISIBLE, (queue, self._clock())).fetchone() is None:
                return None
        with self._transaction() as conn:
            now = self._clock()
            while True:
                candidate = conn.execute(_OLDEST_VISIBLE, (queue, now)).fetchone()
                if candidate is None:
                    return None
                seq, delivery_count = int(candidate[0]), int(candidate[1])
                if delivery_count < self._max_delivery_count or is_dead_letter_queue(queue):
                    break
                _dead_letter_exhausted(conn, seq, delivery_count, now)
            lock_token = uuid.uuid4().hex
            locked_until = now + self._lock_duration
            row = conn.execute(_LOCK, (locked_until, lock_token, seq)).fetchone()
        message_id, body, content_type, properties, enqueued_at, delivered = row
        application_properties: dict[str, PropertyValue] = json.loads(properties)
        return ReceivedMessage(
            queue=queue,
            message_id=str(message_id),
            body=bytes(body),
            content_type=str(content_type),
            application_properties=application_properties,
            delivery_count=int(delivered),
            sequence_number=seq,
            enqueued_time=_utc(float(enqueued_at)),
            lock_token=lock_token,
            locked_until=_utc(locked_until),
        )

    def _prune_duplicates(self, conn: sqlite3.Connection, now: float) -> None:
        """Drop expired duplicate-detection records, at most ten times per window."""
        if self._duplicate_window <= 0 or now - self._last_prune < self._duplicate_window / 10:
            return
        conn.execute("DELETE FROM duplicates WHERE first_sent_at <= ?", (now - self._duplicate_window,))
        self._last_prune = now

    def _wake(self, queue: str) -> threading.Condition:
        with self._wake_lock:
            return self._wakes.setdefault(queue, threading.Condition(self._wake_lock))

    def _notify(self, queue: str, messages: int = 1) -> None:
        wake = self._wake(queue)
        with wake:
            self._changes[queue] = self._changes.get(queue, 0) + 1
            wake.notify(messages)

    def _wake_all(self) -> None:
        with self._wake_lock:
            for queue, wake in self._wakes.items():
                self._changes[queue] = self._changes.get(queue, 0) + 1
                wake.notify_all()

    def _changed(self, queue: str, seen: int) -> bool:
        return self._closed or self._changes.get(queue, 0) != seen

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection; the thread-local holds the only strong reference."""
        connection: _ThreadConnection | None = getattr(self._local, "connection", None)
        if connection is not None and not self._closed:
            return connection.conn
        with self._connections_lock:
            if self._closed:
                raise DependencyError("The embedded queue is closed.")
            try:
                conn = sqlite3.connect(
                    self._path,
                    timeout=_BUSY_TIMEOUT_SECONDS,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute("PRAGMA synchronous = NORMAL")
            except sqlite3.Error as exc:
                raise DependencyError(f"Cannot open the embedded queue at {self._path}.") from exc
            connection = _ThreadConnection(conn)
            self._connections.add(connection)
        self._local.connection = connection
        return conn

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """Reads outside a transaction; SQLite failures become DependencyError."""
        try:
            yield self._connection()
        except sqlite3.Error as exc:
            raise DependencyError("The embedded queue could not be read.") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; SQLite failures become DependencyError."""
        conn = self._connection()
        with self._write_lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise DependencyError("The embedded queue is unavailable.") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                with suppress(sqlite3.Error):
                    conn.rollback()
                if isinstance(exc, sqlite3.Error):
                    raise DependencyError("The embedded queue could not be written.") from exc
                raise
