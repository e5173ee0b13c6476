"""Runs function_app's functions by their declared triggers: HTTP, Service Bus queue, blob and timer.

Service Bus is the embedded durable queue (peek-lock: a function that returns completes the message,
one that raises abandons it, and the queue dead-letters it after the maximum deliveries). Blob
triggers poll the container and keep receipts, so each blob version is taken in once; a blob that
cannot be read, or is larger than MAX_INPUT_BYTES, never stalls the blobs after it (see `_fire_blob`).
Timers follow their NCRONTAB schedules. Binding values written `%NAME%` are read from the settings.

HTTP answers every request with JSON, refusals by the server itself included, and holds at most
MAX_CONNECTIONS connections, each closed after IDLE_TIMEOUT_SECONDS without a byte from the client.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
from azure.functions.blob import InputStream
from azure.functions.servicebus import ServiceBusMessage
from azure.functions.timer import TimerRequest
from croniter import croniter

from shared.adapters.blob_artifacts import BlobArtifactStore
from shared.adapters.embedded_queue import EmbeddedQueue, MessageLockLostError, ReceivedMessage
from shared.adapters.webhooks import WebhookDispatcher
from shared.config import Settings
from shared.domain.errors import DependencyError, InputNotFoundError, InputTooLargeError, JobServiceError
from shared.domain.messages import is_dead_letter_queue
from shared.localhost import tls  # LOCAL_HTTPS
from shared.localhost.routes import Route, Router

logger = logging.getLogger(__name__)

BLOB_MAX_ATTEMPTS = 5
IDLE_TIMEOUT_SECONDS = 30.0  # a connection that sends nothing for this long (between or within requests) is closed
MAX_CONNECTIONS = 128  # connections served at once; one more is answered 503 and closed
_CONTENT_LENGTH = re.compile(r"[0-9]{1,20}")


def resolve(value: str, settings: Settings) -> str:
    """Replace `%NAME%` with the app setting NAME, as the Functions host does for binding values."""
    values = settings.model_dump(by_alias=True)

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values or values[name] is None:
            raise KeyError(f"Binding expression %{name}% names no setting")
        return str(values[name])

    return re.sub(r"%([A-Za-z0-9_]+)%", lookup, value)


@dataclass
class Functions:
    """function_app's functions, grouped by trigger type, with their trigger bindings."""

    http: list[tuple[dict[str, Any], Callable[..., Any]]] = field(default_factory=list)
    queues: list[tuple[dict[str, Any], Callable[..., Any]]] = field(default_factory=list)
    blobs: list[tuple[dict[str, Any], Callable[..., Any]]] = field(default_factory=list)
    timers: list[tuple[dict[str, Any], Callable[..., Any]]] = field(default_factory=list)

    @classmethod
    def index(cls, app: func.FunctionApp, settings: Settings) -> Functions:
        found = cls()
        groups = {
            "httpTrigger": found.http,
            "serviceBusTrigger": found.queues,
            "blobTrigger": found.blobs,
            "timerTrigger": found.timers,
        }
        for function in app.get_functions():
            name = function.get_function_name() or ""
            if settings.is_disabled(name):
                logger.warning("Function %s is disabled by LOCAL_DISABLED_FUNCTIONS", name)
                continue
            trigger = next(
                b.get_dict_repr() for b in function.get_bindings() if b.get_dict_repr()["type"].endswith("Trigger")
            )
            if trigger["type"] not in groups:
                raise ValueError(f"The local host cannot run {trigger['type']} ({function.get_function_name()})")
            groups[trigger["type"]].append((trigger, function.get_user_function()))
        return found


class LocalHost:
    def __init__(
        self,
        app: func.FunctionApp,
        settings: Settings,
        queue: EmbeddedQueue,
        storage: BlobArtifactStore,
        route_prefix: str = "api",
        *,
        webhooks: WebhookDispatcher | None = None,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.settings = settings
        self.queue = queue
        self.storage = storage
        self.webhooks = webhooks
        self.functions = Functions.index(app, settings)
        self.router = Router(
            [Route.compile(route_prefix, t["route"], t.get("methods") or ["GET"], f) for t, f in self.functions.http]
        )
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self._stop = threading.Event()
        self._renewer = _LockRenewer(queue, settings.queue_lock_seconds)
        self._threads: list[threading.Thread] = []
        self._server: ThreadingHTTPServer | None = None
        self._receipts = sqlite3.connect(settings.local_state_dir / "blob-receipts.sqlite3", check_same_thread=False)
        self._receipts.execute(
            "CREATE TABLE IF NOT EXISTS receipts (container TEXT, name TEXT, etag TEXT, attempts INTEGER,"
            " done INTEGER, PRIMARY KEY (container, name, etag))"
        )
        self._receipts_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        released = self.queue.release_all_locks()
        if released:
            logger.info("Released %d message lock(s) left by a previous run", released)
        self._server = _BoundedServer(("127.0.0.1", self.settings.port), _handler(self), self.max_connections)
        tls.secure(self._server, self.settings)  # LOCAL_HTTPS: TLS on the listening socket (shared/localhost/tls.py)
        self._spawn("http", self._server.serve_forever)
        for trigger, function in self.functions.queues:
            queue_name = resolve(trigger["queueName"], self.settings)
            # A dead-letter subqueue is seldom written: one receiver each.
            workers = 1 if is_dead_letter_queue(queue_name) else self.settings.queue_workers
            for n in range(workers):
                self._spawn(f"queue-{queue_name}-{n}", partial(self._consume, queue_name, function))
        for trigger, function in self.functions.blobs:
            container = resolve(trigger["path"], self.settings).split("/", 1)[0]
            self.storage.ensure_container(container)
            self._spawn(f"blob-{container}", partial(self._poll_blobs, container, function))
        for trigger, function in self.functions.timers:
            schedule = resolve(trigger["schedule"], self.settings)
            self._spawn(f"timer-{schedule}", partial(self._tick, schedule, function))
        if self.webhooks is not None:
            self._spawn("event-webhooks", partial(self.webhooks.run, self._stop))
        self._spawn("lock-renewal", partial(self._renewer.run, self._stop))

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        if self.webhooks is not None:
            self.webhooks.close()

    def wait(self) -> None:
        self._stop.wait()

    def request_stop(self) -> None:
        """Safe from a signal handler: wakes wait(); stop() then shuts everything down."""
        self._stop.set()

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- Service Bus queue triggers ----------------------------------------------------------

    def _consume(self, queue_name: str, function: Callable[[ServiceBusMessage], None]) -> None:
        while not self._stop.is_set():
            message = self.queue.receive(queue_name, max_wait=1.0)
            if message is None:
                continue
            try:
                with self._renewer.holding(message):
                    function(_as_function_message(message))
            except Exception:  # a failed invocation abandons the message; the queue redelivers it
                logger.exception(
                    "%s: message %s failed (delivery %d)",
                    queue_name,
                    message.message_id,
                    message.delivery_count,
                )
                self.queue.abandon(message)
            else:
                self.queue.complete(message)

    # -- blob triggers ------------------------------------------------------------------------

    def _poll_blobs(self, container: str, function: Callable[[InputStream], None]) -> None:
        while not self._stop.is_set():
            try:
                for name, etag in self.storage.list_blobs(container):
                    attempts = None if self._stop.is_set() else self._claim(container, name, etag)
                    if attempts is not None:
                        self._fire_blob(container, name, etag, attempts, function)
            except Exception:  # storage down: try again on the next poll
                logger.exception("Polling container %s failed", container)
            self._stop.wait(self.settings.blob_poll_seconds)

    def _claim(self, container: str, name: str, etag: str) -> int | None:
        """The attempts made so far on this blob version, or None when it is done or given up on."""
        with self._receipts_lock:
            row = self._receipts.execute(
                "SELECT attempts, done FROM receipts WHERE container=? AND name=? AND etag=?",
                (container, name, etag),
            ).fetchone()
        if row is None:
            return 0
        return None if row[1] or row[0] >= BLOB_MAX_ATTEMPTS else int(row[0])

    def _fire_blob(
        self, container: str, name: str, etag: str, attempts: int, function: Callable[[InputStream], None]
    ) -> None:
        """Hand one blob version to its function; every outcome counts as an attempt, so no blob stalls the rest.

        The body is read only up to MAX_INPUT_BYTES: a larger blob reaches the function with its true length and
        a stream whose read() raises InputTooLargeError. A read that fails is retried on later polls; the last
        attempt hands the function a stream whose read() raises InputNotFoundError, so the function can record
        the blob as failed, and the receipt then sets the blob aside.
        """
        blob_name, uri = f"{container}/{name}", self.storage.blob_url(container, name)
        limit = self.settings.max_input_bytes
        stream: InputStream
        try:
            found = self.storage.read_with_metadata(container, name, max_bytes=limit)
        except DependencyError as error:
            logger.warning("Reading blob %s failed (attempt %d): %s", blob_name, attempts + 1, error.message)
            if attempts + 1 < BLOB_MAX_ATTEMPTS:
                self._record(container, name, etag, done=False)
                return
            unreadable = InputNotFoundError(
                f"The blob {blob_name} could not be read in {BLOB_MAX_ATTEMPTS} attempts; it was set aside.",
                target="inputDataUri",
            )
            stream = _FailedRead(unreadable, name=blob_name, uri=uri, length=None, metadata={})
        else:
            if found is None:
                return
            data, size, metadata = found
            if data is None:
                too_large = InputTooLargeError(
                    f"The program is {size} bytes; the limit is {limit}.", target="inputData"
                )
                stream = _FailedRead(too_large, name=blob_name, uri=uri, length=size, metadata=metadata)
            else:
                stream = InputStream(data=data, name=blob_name, uri=uri, length=size, metadata=metadata)
        done = True
        try:
            function(stream)
        except Exception:
            logger.exception("Blob trigger for %s/%s failed", container, name)
            done = False
        self._record(container, name, etag, done=done)

    def _record(self, container: str, name: str, etag: str, *, done: bool) -> None:
        with self._receipts_lock, self._receipts:
            self._receipts.execute(
                "INSERT INTO receipts VALUES (?,?,?,1,?) ON CONFLICT (container, name, etag)"
                " DO UPDATE SET attempts = attempts + 1, done = excluded.done",
                (container, name, etag, int(done)),
            )

    # -- timer triggers -----------------------------------------------------------------------

    def _tick(self, schedule: str, function: Callable[[TimerRequest], None]) -> None:
        times = croniter(schedule, datetime.now(UTC), second_at_beginning=True)
        while not self._stop.is_set():
            due: datetime = times.get_next(datetime)
            if self._stop.wait(max(0.0, (due - datetime.now(UTC)).total_seconds())):
                return
            try:
                function(TimerRequest(past_due=False))
            except Exception:
                logger.exception("Timer function on %s failed", schedule)


class _LockRenewer:
    """Keeps the locks of the messages being processed, as the Functions host's automatic lock renewal does
    for Service Bus: a run longer than the lock is not handed to a second consumer while the first works."""

    def __init__(self, queue: EmbeddedQueue, lock_seconds: float) -> None:
        self._queue = queue
        self._interval = lock_seconds / 3
        self._held: dict[int, ReceivedMessage] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def holding(self, message: ReceivedMessage) -> Iterator[None]:
        with self._lock:
            self._held[message.sequence_number] = message
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(message.sequence_number, None)

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval):
            with self._lock:
                held = list(self._held.values())
            for message in held:
                with contextlib.suppress(MessageLockLostError):  # settled meanwhile, or already lost
                    self._queue.renew_lock(message)


class _FailedRead(InputStream):
    """A blob trigger's stream whose body was not read: read() raises why, everything else is the blob's."""

    def __init__(
        self, error: JobServiceError, *, name: str, uri: str, length: int | None, metadata: dict[str, str]
    ) -> None:
        super().__init__(data=b"", name=name, uri=uri, length=length, metadata=metadata)
        self._error = error

    def read(self, size: int | None = -1) -> bytes:
        raise self._error


def _as_function_message(message: ReceivedMessage) -> ServiceBusMessage:
    return ServiceBusMessage(
        body=message.body,
        message_id=message.message_id,
        content_type=message.content_type,
        delivery_count=message.delivery_count,
        enqueued_time_utc=message.enqueued_time,
        sequence_number=message.sequence_number,
        lock_token=message.lock_token,
        locked_until=message.locked_until,
        application_properties=dict(message.application_properties),
        user_properties=dict(message.application_properties),
    )


class _BoundedServer(ThreadingHTTPServer):
    """A thread per connection, at most `max_connections` at once: one more is answered 503 and closed."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], max_connections: int) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(max_connections)
        self._busy = _busy_response(max_connections)

    def verify_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> bool:
        if self._slots.acquire(blocking=False):
            return True
        if isinstance(request, socket.socket):
            with contextlib.suppress(OSError):  # the client may be gone already
                request.sendall(self._busy)
        return False

    def process_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        try:
            super().process_request(request, client_address)
        except RuntimeError:  # no thread could be started: the slot is free again
            self._slots.release()
            raise

    def process_request_thread(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _busy_response(max_connections: int) -> bytes:
    """A whole 503 response, sent as a connection is accepted and before it is closed, with no handler."""
    message = f"The host serves {max_connections} connections at once; try again."
    body = json.dumps({"error": {"code": "ServerBusy", "message": message}}).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _handler(host: LocalHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "quantum-local-host"
        disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait on delayed ACKs
        timeout = host.idle_timeout  # a read or write that waits longer ends the connection (the stdlib's handling)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            logger.debug("%s %s", self.address_string(), format % args)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """The stdlib's own refusals (a bad request line, 414, 431, a method nobody serves) in our JSON shape."""
            status = HTTPStatus(code)
            self.log_error("code %d, message %s", code, message)
            self._reply(status, _error_body(status, message or status.description), close=True)

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
            if len(lengths) > 1 or not all(_CONTENT_LENGTH.fullmatch(value) for value in lengths):
                message = "Content-Length must be one whole number of bytes."
                self._reply(HTTPStatus.BAD_REQUEST, _error_body(HTTPStatus.BAD_REQUEST, message), close=True)
                return
            length = int(lengths.pop()) if lengths else 0
            limit = host.settings.max_request_bytes
            if length > limit:
                self._reply(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    {
                        "error": {
                            "code": "InputTooLarge",
                            "message": f"The request body is {length} bytes; the limit is {limit}.",
                        }
                    },
                )
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            if len(body) < length:  # the client stopped sending: nobody waits for an answer
                self.close_connection = True
                return
            found = host.router.match(parts.path, self.command)
            if not isinstance(found, tuple):
                status = HTTPStatus.METHOD_NOT_ALLOWED if found is False else HTTPStatus.NOT_FOUND
                self._reply(
                    status,
                    {
                        "error": {
                            "code": status.phrase.replace(" ", ""),
                            "message": f"No function serves {self.command} {parts.path}.",
                        }
                    },
                )
                return
            route, params = found
            request = func.HttpRequest(
                method=self.command,
                # The server's own address, as the request line's path: a Host header names nothing here.
                url=f"http://127.0.0.1:{host.settings.port}{parts.path}" + (f"?{parts.query}" if parts.query else ""),
                headers=dict(self.headers.items()),
                params=dict(parse_qsl(parts.query, keep_blank_values=True)),
                route_params=params,
                body=body,
            )
            try:
                response = route.function(request)
            except Exception:
                logger.exception("HTTP function %s failed", route.template)
                self._reply(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    {"error": {"code": "InternalError", "message": "The function failed."}},
                )
                return
            payload = response.get_body()
            self.send_response(response.status_code)
            headers: Mapping[str, str] = response.headers
            for key, value in headers.items():
                if key.lower() not in {"content-length", "content-type"}:
                    self.send_header(key, value)
            if payload or response.status_code != HTTPStatus.NO_CONTENT:
                self.send_header("Content-Type", response.mimetype or "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _reply(self, status: HTTPStatus, body: object, *, close: bool = False) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _serve  # noqa: N815 - the stdlib's names

    return Handler


def _error_body(status: HTTPStatus, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": "".join(c for c in status.phrase if c.isalnum()), "message": message}}


def load_host_json(project_root: Path) -> str:
    """The HTTP route prefix from host.json (`extensions.http.routePrefix`, default `api`)."""
    path = project_root / "host.json"
    config = json.loads(path.read_text()) if path.exists() else {}
    prefix: str = config.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    return prefix
