"""Pipeline messages to Azure Service Bus queues through azure-servicebus.

In Azure the client signs in with the managed identity; locally it takes a connection string with
`UseDevelopmentEmulator=true` (the Service Bus emulator, or the tests' AMQP broker). Each message goes
out with the ids and properties the embedded queue uses: `message_id` for duplicate detection, the
model's JSON as the body, and `jobId`/`messageType` application properties.

Every send is bounded: each attempt by `try_timeout`, all attempts and back-offs together by `timeout`,
so a send to a broker that does not answer fails with DependencyError. One gap is the SDK's own
(azure-servicebus 7.15): it negotiates SASL on a blocking socket with no timeout, so a server that
accepts the TCP connection and then says nothing holds a send until it hangs up; the integration tests
pin this down. SDK senders are not thread-safe: there is one per queue, used by one thread at a time
(sends to one queue are serialised), and each keeps its own AMQP connection open between sends.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.servicebus import ServiceBusClient, ServiceBusMessage
from azure.servicebus import ServiceBusSender as QueueSender
from azure.servicebus.exceptions import MessageSizeExceededError

from shared.domain.errors import DependencyError, PermanentJobError
from shared.domain.messages import Message

CONTENT_TYPE = "application/json"


class MessageTooLargeError(PermanentJobError):
    """The message exceeds what the queue accepts; sending it again cannot help."""

    default_message = "The message is larger than the Service Bus queue accepts."
    code = "MessageTooLarge"


@dataclass(frozen=True)
class SendPolicy:
    """Retries and time limits of one send. `timeout` bounds everything, retries and back-offs included."""

    timeout: float = 30.0
    try_timeout: float = 10.0
    retry_total: int = 3
    retry_backoff_factor: float = 0.5
    retry_backoff_max: float = 8.0
    retry_mode: Literal["exponential", "fixed"] = "exponential"

    def __post_init__(self) -> None:
        if not 0 < self.try_timeout <= self.timeout:
            raise ValueError(f"need 0 < try_timeout <= timeout, got {self.try_timeout} and {self.timeout}")
        if self.retry_total < 0 or self.retry_backoff_factor < 0 or self.retry_backoff_max < 0:
            raise ValueError("retry_total and the back-off settings cannot be negative")

    def client_options(self) -> dict[str, Any]:
        return {
            "retry_total": self.retry_total,
            "retry_backoff_factor": self.retry_backoff_factor,
            "retry_backoff_max": self.retry_backoff_max,
            "retry_mode": self.retry_mode,
            "try_timeout": self.try_timeout,
        }


@dataclass
class _Queue:
    sender: QueueSender
    lock: threading.Lock


class ServiceBusSender:
    """MessageSender on Service Bus queues: one client, one SDK sender per queue, safe across threads."""

    def __init__(self, client: ServiceBusClient, policy: SendPolicy | None = None) -> None:
        self._client = client
        self._policy = policy or SendPolicy()
        self._queues: dict[str, _Queue] = {}
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def from_identity(
        cls, fully_qualified_namespace: str, credential: TokenCredential, policy: SendPolicy | None = None
    ) -> ServiceBusSender:
        """Azure: `<namespace>.servicebus.windows.net` and the managed identity's credential."""
        policy = policy or SendPolicy()
        return cls(ServiceBusClient(fully_qualified_namespace, credential, **policy.client_options()), policy)

    @classmethod
    def from_connection_string(cls, connection_string: str, policy: SendPolicy | None = None) -> ServiceBusSender:
        """The Service Bus emulator or the test broker (`...;UseDevelopmentEmulator=true;`)."""
        policy = policy or SendPolicy()
        return cls(ServiceBusClient.from_connection_string(connection_string, **policy.client_options()), policy)

    def __enter__(self) -> ServiceBusSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, queue: str, message: Message) -> None:
        message_type = type(message).__name__
        outgoing = ServiceBusMessage(
            message.model_dump_json().encode(),
            message_id=message.message_id(),
            content_type=CONTENT_TYPE,
            subject=message_type,
            application_properties={"jobId": message.job_id, "messageType": message_type},
        )
        target = self._queue(queue)
        with target.lock:
            if self._closed:  # close() got the lock first and closed this sender
                raise DependencyError("The Service Bus sender is closed.")
            try:
                target.sender.send_messages(outgoing, timeout=self._policy.timeout)
            except MessageSizeExceededError as error:
                raise MessageTooLargeError(
                    f"{message_type} {message.message_id()} is too large for Service Bus queue '{queue}': {error}"
                ) from error
            except AzureError as error:  # ServiceBusError and credential failures: the dependency may recover
                raise DependencyError(f"Service Bus failed sending to queue '{queue}': {error}") from error

    def close(self) -> None:
        """Close the senders (each after its send in flight) and the client; later sends raise DependencyError."""
        with self._lock:
            self._closed = True
            queues = list(self._queues.values())
            self._queues.clear()
        for queue in queues:
            with queue.lock:
                queue.sender.close()
        self._client.close()

    def _queue(self, queue: str) -> _Queue:
        with self._lock:
            if self._closed:
                raise DependencyError("The Service Bus sender is closed.")
            target = self._queues.get(queue)
            if target is None:
                target = _Queue(self._client.get_queue_sender(queue), threading.Lock())
                self._queues[queue] = target
            return target
