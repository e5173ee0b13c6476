"""Job events on the local host: Event Grid's part, played for webhook subscribers listed in settings.

`publish` stores one delivery per subscriber and event in SQLite, so an accepted event survives a
restart. A dispatcher thread delivers them as CloudEvents 1.0 (structured JSON, one event per request):
- before the first delivery to a subscriber, the CloudEvents webhook validation handshake: an OPTIONS
  request with `WebHook-Request-Origin`, which the subscriber must allow in `WebHook-Allowed-Origin`;
- every request signed with HMAC-SHA256 in the Standard Webhooks form, by its library: `webhook-id`,
  `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC of "{id}.{timestamp}.{body}">`; the key is
  the secret's base64 part when it has the Standard Webhooks form `whsec_<base64>`, else its UTF-8 bytes;
- failures retried with exponential backoff (408, 429, 5xx and network errors); other 4xx answers and
  running out of attempts dead-letter the delivery, as Event Grid does;
- redirects never followed: a 3xx answer is a failed delivery, dead-lettered like a 4xx (a signed event
  goes only to the URL the operator configured), and a 3xx to the handshake is no validation;
- a job's events in order: a job's next event waits until its previous one is delivered or
  dead-lettered, while other jobs' events go on.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from standardwebhooks import Webhook

from shared.domain.errors import DependencyError
from shared.domain.events import JobEvent

logger = logging.getLogger(__name__)

ORIGIN = "quantum-jobs.localhost"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber TEXT NOT NULL,
    event_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due REAL NOT NULL,
    dead INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (subscriber, event_id)
);
CREATE INDEX IF NOT EXISTS deliveries_by_job ON deliveries (subscriber, dead, job_id, seq);
"""
_RETRIED = {408, 429}
_MAX_BACKOFF = 300.0


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx stays an answer (an HTTPError) instead of a new request to wherever it points."""

    def redirect_request(self, *_: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_RefuseRedirects)


@dataclass(frozen=True)
class Delivery:
    seq: int
    event_id: str
    body: str
    attempts: int


class WebhookDispatcher:
    def __init__(
        self,
        path: Path,
        subscribers: Sequence[str],
        secret: str,
        *,
        max_attempts: int = 8,
        first_backoff: float = 1.0,
        timeout: float = 10.0,
    ) -> None:
        self._path = path
        self._subscribers = tuple(subscribers)
        # A `whsec_<base64>` secret as Standard Webhooks libraries read it; any other secret's UTF-8 bytes are the key.
        self._signer = Webhook(secret if secret.startswith("whsec_") else secret.encode())
        self._max_attempts = max_attempts
        self._first_backoff = first_backoff
        self._timeout = timeout
        self._validated: set[str] = set()
        self._handshake_due: dict[str, float] = {}
        self._wake = threading.Event()
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def publish(self, events: Sequence[JobEvent]) -> None:
        rows = [
            (subscriber, event.id, event.job_id, json.dumps(event.to_cloudevent()), time.time())
            for event in events
            for subscriber in self._subscribers
        ]
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT OR IGNORE INTO deliveries (subscriber, event_id, job_id, body, due) VALUES (?,?,?,?,?)",
                    rows,
                )
                self._db.execute("COMMIT")
        except sqlite3.Error as error:
            with self._lock:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
            raise DependencyError(f"The local event store failed: {error}.") from error
        self._wake.set()

    def run(self, stop: threading.Event, idle: float = 1.0) -> None:
        """Deliver until `stop` is set; wakes at once when something is published."""
        while not stop.is_set():
            try:
                self.deliver_due()
            except sqlite3.Error:
                logger.exception("Webhook delivery failed; retrying")
            self._wake.wait(idle)
            self._wake.clear()

    def deliver_due(self) -> int:
        """Make every delivery that is due now; returns how many succeeded."""
        delivered = 0
        for subscriber in self._subscribers:
            if not self._validate(subscriber):
                continue
            for delivery in self._due(subscriber):
                delivered += self._deliver(subscriber, delivery)
        return delivered

    def dead_letters(self) -> list[tuple[str, str, str | None]]:
        """(subscriber, event id, last error) of every delivery given up on."""
        with self._lock:
            rows = self._db.execute(
                "SELECT subscriber, event_id, last_error FROM deliveries WHERE dead = 1 ORDER BY seq"
            ).fetchall()
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]

    def pending(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM deliveries WHERE dead = 0").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _due(self, subscriber: str) -> list[Delivery]:
        """The oldest undelivered event of each job, where it is due."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, body, attempts FROM deliveries d WHERE subscriber = ? AND dead = 0"
                " AND due <= ? AND seq = (SELECT MIN(seq) FROM deliveries e"
                " WHERE e.subscriber = d.subscriber AND e.job_id = d.job_id AND e.dead = 0)"
                " ORDER BY seq LIMIT 100",
                (subscriber, time.time()),
            ).fetchall()
        return [Delivery(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    def _deliver(self, subscriber: str, delivery: Delivery) -> int:
        sent = datetime.now(UTC)
        request = urllib.request.Request(  # noqa: S310 - subscriber URLs come from the operator's settings
            subscriber,
            data=delivery.body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/cloudevents+json; charset=utf-8",
                "WebHook-Request-Origin": ORIGIN,
                "webhook-id": delivery.event_id,
                "webhook-timestamp": str(int(sent.timestamp())),
                "webhook-signature": self._signer.sign(delivery.event_id, sent, delivery.body),
            },
        )
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            reason = f"HTTP {error.code}" + (" (redirects are not followed)" if 300 <= error.code < 400 else "")
            self._failed(subscriber, delivery, reason, retry=error.code in _RETRIED or error.code >= 500)
            return 0
        except (OSError, TimeoutError) as error:
            self._failed(subscriber, delivery, f"{type(error).__name__}: {error}", retry=True)
            return 0
        with self._lock:
            self._db.execute("DELETE FROM deliveries WHERE seq = ?", (delivery.seq,))
        return 1

    def _failed(self, subscriber: str, delivery: Delivery, reason: str, *, retry: bool) -> None:
        attempts = delivery.attempts + 1
        dead = not retry or attempts >= self._max_attempts
        due = time.time() + min(self._first_backoff * 2 ** (attempts - 1), _MAX_BACKOFF)
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET attempts = ?, due = ?, dead = ?, last_error = ? WHERE seq = ?",
                (attempts, due, int(dead), reason, delivery.seq),
            )
        outcome = "dead-lettered" if dead else "will be retried"
        logger.warning(
            "Event %s to %s failed (%s), attempt %d: %s", delivery.event_id, subscriber, reason, attempts, outcome
        )

    def _validate(self, subscriber: str) -> bool:
        """The CloudEvents webhook validation handshake, once per subscriber and process."""
        if subscriber in self._validated:
            return True
        if self._handshake_due.get(subscriber, 0.0) > time.time():
            return False
        request = urllib.request.Request(  # noqa: S310 - subscriber URLs come from the operator's settings
            subscriber, method="OPTIONS", headers={"WebHook-Request-Origin": ORIGIN}
        )
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                allowed = response.headers.get("WebHook-Allowed-Origin", "")
        except (OSError, TimeoutError) as error:
            allowed, reason = "", str(error)
        else:
            reason = f"WebHook-Allowed-Origin was {allowed!r}"
        if allowed in (ORIGIN, "*"):
            self._validated.add(subscriber)
            return True
        self._handshake_due[subscriber] = time.time() + self._first_backoff
        logger.warning("Webhook %s did not allow origin %s (%s); no events sent to it yet", subscriber, ORIGIN, reason)
        return False
