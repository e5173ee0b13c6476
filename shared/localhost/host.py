"""Runs function_app's functions by their declared triggers: HTTP, Service Bus queue, blob and timer.

Service Bus is the embedded durable queue (peek-lock: a function that returns completes the message,
one that raises abandons it, and the queue dead-letters it after the maximum deliveries). Blob
triggers poll the container and keep receipts, so each blob version is taken in once. Timers follow
their NCRONTAB schedules. Binding values written `%NAME%` are read from the settings.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Mapping
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
from shared.adapters.embedded_queue import EmbeddedQueue, ReceivedMessage
from shared.adapters.webhooks import WebhookDispatcher
from shared.config import Settings
from shared.localhost.routes import Route, Router

logger = logging.getLogger(__name__)

BLOB_MAX_ATTEMPTS = 5


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
    ) -> None:
        self.settings = settings
        self.queue = queue
        self.storage = storage
        self.webhooks = webhooks
        self.functions = Functions.index(app, settings)
        self.router = Router(
            [Route.compile(route_prefix, t["route"], t.get("methods") or ["GET"], f) for t, f in self.functions.http]
        )
        self._stop = threading.Event()
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
        self._server = ThreadingHTTPServer(("127.0.0.1", self.settings.port), _handler(self))
        self._server.daemon_threads = True
        self._spawn("http", self._server.serve_forever)
        for trigger, function in self.functions.queues:
            queue_name = resolve(trigger["queueName"], self.settings)
            for n in range(self.settings.queue_workers):
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
                    if not self._stop.is_set() and self._claim(container, name, etag):
                        self._fire_blob(container, name, etag, function)
            except Exception:  # storage down: try again on the next poll
                logger.exception("Polling container %s failed", container)
            self._stop.wait(self.settings.blob_poll_seconds)

    def _claim(self, container: str, name: str, etag: str) -> bool:
        with self._receipts_lock:
            row = self._receipts.execute(
                "SELECT attempts, done FROM receipts WHERE container=? AND name=? AND etag=?",
                (container, name, etag),
            ).fetchone()
        return row is None or (not row[1] and row[0] < BLOB_MAX_ATTEMPTS)

    def _fire_blob(self, container: str, name: str, etag: str, function: Callable[[InputStream], None]) -> None:
        found = self.storage.read_with_metadata(container, name)
        if found is None:
            return
        data, metadata = found
        stream = InputStream(
            data=data,
            name=f"{container}/{name}",
            uri=self.storage.blob_url(container, name),
            length=len(data),
            metadata=metadata,
        )
        done = 1
        try:
            function(stream)
        except Exception:
            logger.exception("Blob trigger for %s/%s failed", container, name)
            done = 0
        with self._receipts_lock, self._receipts:
            self._receipts.execute(
                "INSERT INTO receipts VALUES (?,?,?,1,?) ON CONFLICT (container, name, etag)"
                " DO UPDATE SET attempts = attempts + 1, done = excluded.done",
                (container, name, etag, done),
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


def _handler(host: LocalHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "quantum-local-host"
        disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait on delayed ACKs

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            logger.debug("%s %s", self.address_string(), format % args)

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
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
                url=f"http://{self.headers.get('Host') or f'127.0.0.1:{host.settings.port}'}{self.path}",
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

        def _reply(self, status: HTTPStatus, body: object) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _serve  # noqa: N815 - the stdlib's names

    return Handler


def load_host_json(project_root: Path) -> str:
    """The HTTP route prefix from host.json (`extensions.http.routePrefix`, default `api`)."""
    path = project_root / "host.json"
    config = json.loads(path.read_text()) if path.exists() else {}
    prefix: str = config.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    return prefix
