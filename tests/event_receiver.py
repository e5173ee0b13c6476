"""A webhook subscriber for the job-event tests: checks the handshake and signatures, records what arrives."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from tests.servers import free_port


@dataclass
class Received:
    event: dict[str, Any]
    headers: dict[str, str]
    signature_valid: bool


@dataclass
class EventReceiver:
    """Answers the CloudEvents validation handshake and takes structured CloudEvents (or Event Grid batches).

    `fail_first` makes the first N deliveries of every event fail with `refuse_with` (503 by default).
    """

    secret: str
    port: int = field(default_factory=free_port)
    allow_origin: bool = True
    fail_first: int = 0
    refuse_with: int = 503
    received: list[Received] = field(default_factory=list)
    handshakes: list[str] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # First arrivals, in order, all and by job: a crash bench's audit asks for thousands of jobs' events.
    _first: list[dict[str, Any]] = field(default_factory=list)
    _first_by_job: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def events(self, job_id: str | None = None) -> list[dict[str, Any]]:
        """Received events, first arrivals only (redeliveries of an id dropped), optionally of one job."""
        with self.lock:
            return list(self._first if job_id is None else self._first_by_job.get(job_id, []))

    def take(self, item: Received) -> None:
        """Record one delivery; the caller holds the lock."""
        self.received.append(item)
        event = item.event
        if event["id"] not in self._seen:
            self._seen.add(event["id"])
            self._first.append(event)
            self._first_by_job.setdefault(event["data"]["jobId"], []).append(event)

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        """The signature checked as a subscriber checks it: by the Standard Webhooks library, age included."""
        key = self.secret if self.secret.startswith("whsec_") else self.secret.encode()
        try:
            Webhook(key).verify(body, headers, json_parse=False)
        except WebhookVerificationError:
            return False
        return True


@contextlib.contextmanager
def event_receiver(receiver: EventReceiver) -> Iterator[EventReceiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_OPTIONS(self) -> None:
            origin = self.headers.get("WebHook-Request-Origin", "")
            receiver.handshakes.append(origin)
            self.send_response(200)
            if receiver.allow_origin:
                self.send_header("WebHook-Allowed-Origin", origin)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender was killed mid-request (a crash test): nothing was delivered
                self.close_connection = True
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            payload = json.loads(body)
            events = payload if isinstance(payload, list) else [payload]
            with receiver.lock:
                ids = [e["id"] for e in events]
                if any(receiver.refused.get(i, 0) < receiver.fail_first for i in ids):
                    for i in ids:
                        receiver.refused[i] = receiver.refused.get(i, 0) + 1
                    self.send_response(receiver.refuse_with)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                valid = receiver.verify(headers, body)
                for event in events:
                    receiver.take(Received(event, headers, valid))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the http.server signature
            return

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
