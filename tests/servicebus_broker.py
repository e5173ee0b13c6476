"""An AMQP 1.0 test broker with the Service Bus queue semantics the unmodified azure-servicebus SDK relies on.

`servicebus_broker()` runs a python-qpid-proton container in a background thread on 127.0.0.1 and yields a
`Broker` with its connection string and a few inspection helpers. What the broker does, and why:

- `$cbs`: answers every put-token request with status-code 202. The SDK authenticates each connection that
  way before it attaches a link, and hangs against a broker that does not answer (`answer_cbs=False`
  keeps quiet, for the tests of that).
- Queues: the name is the last path segment of the link address (`sb://host:port/jobs` → `jobs`), and
  `jobs/$deadletterqueue` is the dead-letter subqueue. Queues exist on first use.
- Peek-lock: deliveries carry 16-byte tags (the SDK's lock tokens) and the message annotations
  `x-opt-sequence-number`, `x-opt-enqueued-time` and `x-opt-locked-until`. The header's delivery-count
  counts earlier deliveries, as on Service Bus, so the SDK reports 0 on the first delivery.
- Settlement: accepted → complete; modified → abandon (redelivered with delivery-count + 1, or
  dead-lettered as `MaxDeliveryCountExceeded` once the count reaches `max_delivery_count`); released →
  back to the queue uncounted (AMQP: not a delivery attempt; the SDK releases prefetched messages it never
  handed out); rejected → dead-letter, with the reason and description of the `com.microsoft:dead-letter`
  error. The broker echoes the outcome in its own settled disposition, which the SDK waits for. A lock
  lasts until settlement or until its link or connection goes away, which counts as a delivery attempt.
- Batches: the SDK sends a list of messages as one transfer of message format 0x80013700 whose data
  sections each hold an encoded message. Proton's Python API does not expose a transfer's message format,
  so a message whose data sections all decode as AMQP messages is taken for a batch and unpacked.
- Duplicate detection: a message id already sent to the queue within `duplicate_window` seconds is
  accepted and dropped, as on a Service Bus queue with `requiresDuplicateDetection`.
- Size: a message over `max_message_size` (Service Bus Standard's 256 KB by default) is rejected with
  `amqp:link:message-size-exceeded`, which the SDK raises as MessageSizeExceededError. Links to queues
  also advertise the limit when they attach.

Not supported: `$management` (peek, schedule, renew-lock, deferral), sessions, topics, TTL, lock expiry.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from urllib.parse import urlparse

from proton import (
    AnnotationDict,
    Condition,
    Connection,
    Data,
    DataException,
    Delivery,
    Endpoint,
    Event,
    Handler,
    Link,
    Message,
    MessageException,
    Receiver,
    Sender,
    symbol,
    timestamp,
)
from proton.handlers import Handshaker
from proton.reactor import ApplicationEvent, Container, EventInjector

from tests.servers import free_port

DEAD_LETTER_SUFFIX = "/$deadletterqueue"
MAX_DELIVERY_COUNT_EXCEEDED = "MaxDeliveryCountExceeded"
STANDARD_MAX_MESSAGE_BYTES = 256 * 1024

_CBS = "$cbs"
_DEAD_LETTER_CONDITION = "com.microsoft:dead-letter"
_INCOMING_CREDIT = 100
_STOP_TIMEOUT_SECONDS = 10.0
# Descriptor codes of the sections of an AMQP message (header 0x70 … footer 0x78).
_SECTIONS = range(0x70, 0x79)
_HEADER = 0x70
_BARE_MESSAGE = range(0x73, 0x78)  # properties, application-properties, data, amqp-sequence, amqp-value
_BODY = range(0x75, 0x78)
_DATA = 0x75
_OUTCOMES = (Delivery.ACCEPTED, Delivery.REJECTED, Delivery.RELEASED, Delivery.MODIFIED)


@dataclass(frozen=True)
class StoredMessage:
    """A message in a queue: the sender's encoding, and what the broker tracks about it."""

    encoded: bytes
    message_id: str | None
    sequence_number: int
    enqueued_time: float
    delivery_count: int = 0  # earlier deliveries, as in the AMQP header

    def decode(self) -> Message:
        return _decode(self.encoded)


@dataclass(frozen=True)
class DeadLetter:
    """A message in a dead-letter subqueue, for assertions."""

    message_id: str | None
    body: object
    reason: str | None
    description: str | None
    delivery_count: int


@dataclass
class _Queue:
    ready: list[StoredMessage] = field(default_factory=list)  # in sequence-number order
    locked: int = 0
    next_sequence: int = 1
    first_sent: dict[str, float] = field(default_factory=dict)  # message id → time, for duplicate detection


@dataclass(frozen=True)
class _Lock:
    queue: str
    message: StoredMessage
    link: Sender


def queue_name(address: str | None) -> str:
    """The queue a link address names: its last path segment, or `<queue>/$deadletterqueue`."""
    segments = [s for s in urlparse(address or "").path.split("/") if s]
    if not segments:
        raise ValueError(f"no queue in link address {address!r}")
    if len(segments) > 1 and segments[-1].lower() == DEAD_LETTER_SUFFIX[1:]:
        return segments[-2] + DEAD_LETTER_SUFFIX
    return segments[-1]


def _sections(encoded: bytes) -> list[tuple[int, object]]:
    """The (descriptor code, value) sections of an encoded AMQP message; ValueError if it is not one."""
    sections: list[tuple[int, object]] = []
    offset = 0
    while offset < len(encoded):
        data = Data()
        try:
            consumed = data.decode(encoded[offset:])
            data.rewind()
            if consumed <= 0 or data.next() != Data.DESCRIBED:
                raise ValueError("not a described section")
            data.enter()
            data.next()
            code = data.get_object()
            data.next()
            value = data.get_object()
            if isinstance(value, memoryview):  # binary: a view into `data`, which is about to go
                value = value.tobytes()
        except Exception as exc:  # proton raises DataException and others on garbage
            raise ValueError("not an AMQP message") from exc
        if not isinstance(code, int) or code not in _SECTIONS:
            raise ValueError(f"not an AMQP message section: {code!r}")
        sections.append((code, value))
        offset += consumed
    return sections


def _is_message(encoded: bytes) -> bool:
    try:
        return any(code in _BARE_MESSAGE for code, _ in _sections(encoded))
    except ValueError:
        return False


def _unbatch(encoded: bytes) -> list[bytes]:
    """The messages one transfer carries: a batch's inner messages, or else the message itself."""
    try:
        body = [(code, value) for code, value in _sections(encoded) if code in _BODY]
    except ValueError:
        return [encoded]
    inner = [value for code, value in body if code == _DATA and isinstance(value, bytes) and _is_message(value)]
    return inner if body and len(inner) == len(body) else [encoded]


class _BrokerHandler(Handler):
    """The broker's events, all on the container thread. `state_lock` guards the queues tests inspect."""

    def __init__(
        self,
        *,
        max_delivery_count: int,
        duplicate_window: float,
        lock_duration: float,
        max_message_size: int,
        answer_cbs: bool,
    ) -> None:
        self.handlers = [Handshaker()]  # opens connections and sessions, closes what the peer closes
        self.state_lock = threading.Lock()
        self.queues: dict[str, _Queue] = {}
        self._locks: dict[Delivery, _Lock] = {}
        self._queue_of: dict[Link, str] = {}  # every open link's queue, or $cbs
        self._connections: set[Connection] = set()
        self.close_listener: Callable[[], None] | None = None
        self._max_delivery_count = max_delivery_count
        self._duplicate_window = duplicate_window
        self._lock_duration = lock_duration
        self._max_message_size = max_message_size
        self._answer_cbs = answer_cbs

    # Connections and links.

    def on_connection_init(self, event: Event) -> None:
        if event.connection is not None:
            self._connections.add(event.connection)

    def on_connection_final(self, event: Event) -> None:
        if event.connection is not None:
            self._connections.discard(event.connection)

    def on_link_remote_open(self, event: Event) -> None:
        link = event.link
        if link is None:
            return
        link.source.copy(link.remote_source)
        link.target.copy(link.remote_target)
        address = link.target.address if isinstance(link, Receiver) else link.source.address
        try:
            queue = _CBS if address == _CBS else queue_name(address)
        except ValueError as exc:
            _refuse(link, "amqp:invalid-field", str(exc))
            return
        if queue.startswith("$") and queue != _CBS:
            _refuse(link, "amqp:not-implemented", f"the test broker has no {queue} node")
            return
        if queue != _CBS:
            with self.state_lock:
                self.queues.setdefault(queue, _Queue())
        self._queue_of[link] = queue
        if isinstance(link, Receiver):
            link.max_message_size = self._max_message_size
            link.open()
            link.flow(_INCOMING_CREDIT)
        else:
            link.open()

    def on_link_flow(self, event: Event) -> None:
        link = event.link
        queue = self._queue_of.get(link) if isinstance(link, Sender) else None
        if isinstance(link, Sender) and queue is not None and queue != _CBS:
            self._pump(queue)
            if link.drain_mode:
                link.drained()

    def on_link_remote_close(self, event: Event) -> None:
        closed = event.link
        self._forget(lambda link: link == closed)

    def on_transport_closed(self, event: Event) -> None:
        connection = event.connection
        if connection is not None:
            self._forget(lambda link: link.connection == connection)

    # Transfers and settlement.

    def on_delivery(self, event: Event) -> None:
        delivery = event.delivery
        if delivery is None:
            return
        link = delivery.link
        if isinstance(link, Sender):
            if delivery.remote_state not in _OUTCOMES:
                return
            lock = self._locks.pop(delivery, None)
            if lock is not None:
                self._settle(delivery, lock)
            else:
                delivery.settle()  # a $cbs reply, or a delivery whose lock was already lost
            return
        queue = self._queue_of.get(link)
        if queue is None or not delivery.readable or delivery.partial:
            return
        encoded = bytes(link.recv(delivery.pending) or b"")
        link.advance()
        outcome: int = Delivery.ACCEPTED
        if queue == _CBS:
            if self._answer_cbs:
                _answer_put_token(link, encoded)
        elif len(encoded) > self._max_message_size:  # Service Bus rejects it, and keeps the link
            limit = f"The message is {len(encoded)} bytes; the limit is {self._max_message_size}."
            outcome = _reject(delivery, "amqp:link:message-size-exceeded", limit)
        else:
            try:
                messages = [(inner, _decode(inner)) for inner in _unbatch(encoded)]
            except (DataException, MessageException) as exc:
                outcome = _reject(delivery, "amqp:decode-error", str(exc))
            else:
                self._enqueue(queue, messages)
        delivery.update(outcome)
        delivery.settle()
        link.flow(1)

    def on_broker_stop(self, event: Event) -> None:
        """Close the port and drop every connection at once, as a crashed broker would."""
        if self.close_listener is not None:
            self.close_listener()
        for connection in list(self._connections):
            transport = connection.transport
            if transport is not None:
                transport.close_tail()
                transport.close_head()

    # Queue behaviour.

    def _enqueue(self, queue: str, messages: list[tuple[bytes, Message]]) -> None:
        now = time.time()
        with self.state_lock:
            state = self.queues.setdefault(queue, _Queue())
            for inner, message in messages:
                message_id = None if message.id is None else str(message.id)
                if message_id is not None and self._duplicate_window > 0:
                    first = state.first_sent.get(message_id)
                    if first is not None and now - first < self._duplicate_window:
                        continue
                    state.first_sent[message_id] = now
                state.ready.append(StoredMessage(inner, message_id, state.next_sequence, now))
                state.next_sequence += 1
        self._pump(queue)

    def _pump(self, queue: str) -> None:
        """Hand ready messages to the queue's receivers while they have credit."""
        receivers = [link for link, name in self._queue_of.items() if name == queue and isinstance(link, Sender)]
        for link in receivers:
            while link.credit > 0 and link.state & Endpoint.LOCAL_ACTIVE:
                with self.state_lock:
                    state = self.queues[queue]
                    if not state.ready:
                        return
                    stored = state.ready.pop(0)
                    state.locked += 1
                self._locks[self._deliver(link, stored)] = _Lock(queue, stored, link)

    def _deliver(self, link: Sender, stored: StoredMessage) -> Delivery:
        message = stored.decode()
        message.annotations = {
            **(message.annotations or {}),
            symbol("x-opt-sequence-number"): stored.sequence_number,
            symbol("x-opt-enqueued-time"): timestamp(int(stored.enqueued_time * 1000)),
            symbol("x-opt-locked-until"): timestamp(int((time.time() + self._lock_duration) * 1000)),
        }
        delivery = link.delivery(uuid.uuid4().bytes)  # type: ignore[arg-type]  # proton takes bytes tags as is
        link.stream(_encode_with_header(message, stored.delivery_count))
        link.advance()
        return delivery

    def _settle(self, delivery: Delivery, lock: _Lock) -> None:
        outcome = delivery.remote_state
        with self.state_lock:
            self.queues[lock.queue].locked -= 1
        if outcome == Delivery.REJECTED:
            condition = delivery.remote.condition
            is_dead_letter = condition is not None and condition.name == _DEAD_LETTER_CONDITION
            info = condition.info if condition is not None and is_dead_letter else None
            details = info if isinstance(info, dict) else {}
            reason, description = details.get("DeadLetterReason"), details.get("DeadLetterErrorDescription")
            self._dead_letter(lock.queue, lock.message, _text(reason), _text(description))
        elif outcome == Delivery.RELEASED:
            self._make_ready(lock.queue, lock.message)
        elif outcome == Delivery.MODIFIED:
            self._abandon(lock.queue, lock.message)
        # ACCEPTED completes: the message is gone.
        delivery.update(outcome)  # the echo the SDK waits for
        delivery.settle()

    def _abandon(self, queue: str, message: StoredMessage) -> None:
        counted = replace(message, delivery_count=message.delivery_count + 1)
        if counted.delivery_count >= self._max_delivery_count and not queue.endswith(DEAD_LETTER_SUFFIX):
            description = f"Message could not be consumed after {counted.delivery_count} delivery attempts."
            self._dead_letter(queue, counted, MAX_DELIVERY_COUNT_EXCEEDED, description)
        else:
            self._make_ready(queue, counted)

    def _dead_letter(self, queue: str, message: StoredMessage, reason: str | None, description: str | None) -> None:
        decoded = message.decode()
        properties = _application_properties(decoded)
        if reason is not None:
            properties["DeadLetterReason"] = reason
        if description is not None:
            properties["DeadLetterErrorDescription"] = description
        decoded.properties = properties  # type: ignore[assignment]  # proton types the attribute as None
        decoded.annotations = {**(decoded.annotations or {}), symbol("x-opt-deadletter-source"): queue}
        subqueue = queue if queue.endswith(DEAD_LETTER_SUFFIX) else queue + DEAD_LETTER_SUFFIX
        self._make_ready(subqueue, replace(message, encoded=decoded.encode()))

    def _make_ready(self, queue: str, message: StoredMessage) -> None:
        with self.state_lock:
            state = self.queues.setdefault(queue, _Queue())
            bisect.insort(state.ready, message, key=lambda m: m.sequence_number)
        self._pump(queue)

    def _forget(self, gone: Callable[[Link], bool]) -> None:
        """Links went away: drop them; the locks they held are lost, which counts as a delivery."""
        for link in [link for link in self._queue_of if gone(link)]:
            del self._queue_of[link]
        for delivery, lock in list(self._locks.items()):
            if gone(lock.link):
                del self._locks[delivery]
                with self.state_lock:
                    self.queues[lock.queue].locked -= 1
                self._abandon(lock.queue, lock.message)


def _decode(encoded: bytes) -> Message:
    message = Message()
    message.decode(encoded)
    return message


def _reject(delivery: Delivery, condition: str, description: str) -> int:
    """Set the error of a rejected transfer. It carries an info map, as Service Bus's errors do: the SDK's
    send never returns (whatever its timeout) on an error without one."""
    tracking = AnnotationDict({symbol("com.microsoft:tracking-id"): str(uuid.uuid4())})
    delivery.local.condition = Condition(condition, description, tracking)
    return Delivery.REJECTED


def _answer_put_token(link: Link, encoded: bytes) -> None:
    """Accept any token: reply 202 on the connection's `$cbs` response link."""
    request = _decode(encoded)
    reply = Message(correlation_id=request.id, properties={"status-code": 202, "status-description": "Accepted"})
    responder = link.connection.link_head(Endpoint.LOCAL_ACTIVE)
    while responder is not None:
        if isinstance(responder, Sender) and responder.source.address == _CBS:
            responder.send(reply)
            return
        responder = responder.next(Endpoint.LOCAL_ACTIVE)


def _encode_with_header(message: Message, delivery_count: int) -> bytes:
    """The message with every header field spelled out: proton leaves out trailing defaults, such as a
    delivery-count of 0, and the SDK then reports a delivery count of None."""
    encoded = bytes(message.encode())
    consumed = Data().decode(encoded)  # proton encodes the header first, always
    header = Data()
    header.put_described()
    header.enter()
    header.put_ulong(_HEADER)
    header.put_list()
    header.enter()
    header.put_bool(message.durable)
    header.put_ubyte(message.priority)
    if message.ttl:
        header.put_uint(int(message.ttl * 1000))
    else:
        header.put_null()
    header.put_bool(delivery_count == 0)  # first-acquirer
    header.put_uint(delivery_count)
    header.exit()
    header.exit()
    return bytes(header.encode()) + encoded[consumed:]


def _body(message: Message) -> object:
    body: object = message.body  # proton types the attribute as None; a data section decodes to a view
    return body.tobytes() if isinstance(body, memoryview) else body


def _application_properties(message: Message) -> dict[str, object]:
    properties: object = message.properties  # proton types the attribute as None
    return dict(properties) if isinstance(properties, dict) else {}


def connection_string(port: int) -> str:
    """For `ServiceBusClient.from_connection_string`: plain AMQP on 127.0.0.1:port, as for the emulator."""
    return (
        f"Endpoint=sb://127.0.0.1:{port};SharedAccessKeyName=RootManageSharedAccessKey;"
        "SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;"
    )


def _refuse(link: Link, condition: str, description: str) -> None:
    link.open()
    link.condition = Condition(condition, description)
    link.close()


def _text(value: object) -> str | None:
    return None if value is None else str(value)


class Broker:
    """A running test broker: its connection string, and what its queues hold."""

    def __init__(self, port: int, handler: _BrokerHandler) -> None:
        self.port = port
        self._handler = handler
        self._container = Container(handler)
        self._container.container_id = f"servicebus-test-broker-{port}"
        self._injector = EventInjector()
        handler.close_listener = self._container.listen(f"127.0.0.1:{port}").close
        self._container.selectable(self._injector)
        self._errors: list[BaseException] = []
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=f"servicebus-broker-{port}", daemon=True)

    @property
    def connection_string(self) -> str:
        return connection_string(self.port)

    def active_count(self, queue: str) -> int:
        """Messages in the queue, locked or not; `<queue>/$deadletterqueue` for the dead-letter subqueue."""
        with self._handler.state_lock:
            state = self._handler.queues.get(queue)
            return 0 if state is None else len(state.ready) + state.locked

    def dead_letters(self, queue: str) -> list[DeadLetter]:
        """The unlocked messages of the queue's dead-letter subqueue, oldest first."""
        with self._handler.state_lock:
            state = self._handler.queues.get(queue + DEAD_LETTER_SUFFIX)
            stored = list(state.ready) if state is not None else []
        letters = []
        for message in stored:
            decoded = message.decode()
            properties = _application_properties(decoded)
            letters.append(
                DeadLetter(
                    message_id=message.message_id,
                    body=_body(decoded),
                    reason=_text(properties.get("DeadLetterReason")),
                    description=_text(properties.get("DeadLetterErrorDescription")),
                    delivery_count=message.delivery_count,
                )
            )
        return letters

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Drop every connection, close the port and end the thread; raise what the thread raised."""
        if not self._stopped:
            self._stopped = True
            self._injector.trigger(ApplicationEvent("broker_stop"))
            self._injector.close()
            self._thread.join(_STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                raise RuntimeError(f"the test broker on port {self.port} did not stop")
            for fd in self._injector.pipe:  # proton never closes the injector's pipe
                os.close(fd)
        if self._errors:
            raise RuntimeError(f"the test broker on port {self.port} failed") from self._errors[0]

    def _run(self) -> None:
        try:
            self._container.run()
        except BaseException as exc:  # surfaced by stop(), in the test's thread
            self._errors.append(exc)


@contextlib.contextmanager
def servicebus_broker(
    *,
    port: int | None = None,
    max_delivery_count: int = 10,
    duplicate_window: float = 600.0,
    lock_duration: float = 30.0,
    max_message_size: int = STANDARD_MAX_MESSAGE_BYTES,
    answer_cbs: bool = True,
) -> Iterator[Broker]:
    """A test broker on 127.0.0.1 (a free port unless given), stopped when the block ends."""
    handler = _BrokerHandler(
        max_delivery_count=max_delivery_count,
        duplicate_window=duplicate_window,
        lock_duration=lock_duration,
        max_message_size=max_message_size,
        answer_cbs=answer_cbs,
    )
    broker = Broker(port if port is not None else free_port(), handler)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word, until it hangs up."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = int(self._listener.getsockname()[1])
        self._accepted: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"silent-server-{self.port}", daemon=True)
        self._thread.start()

    @property
    def connection_string(self) -> str:
        return connection_string(self.port)

    def hang_up(self) -> None:
        """Stop listening and close every accepted connection."""
        self._stopping.set()
        self._thread.join(_STOP_TIMEOUT_SECONDS)
        self._listener.close()
        for connection in self._accepted:
            connection.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                self._accepted.append(self._listener.accept()[0])


@contextlib.contextmanager
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.hang_up()
