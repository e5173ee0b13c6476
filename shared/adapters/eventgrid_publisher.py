"""Job events in Azure: CloudEvents 1.0 to an Event Grid custom topic, through azure-eventgrid.

Bootstrap passes the managed identity's credential (the identity holds EventGrid Data Sender on the
topic, whose local auth is disabled). A job's pending events go in one batch, in order.
"""

from __future__ import annotations

from collections.abc import Sequence

from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient

from shared.domain.errors import DependencyError, PermanentJobError
from shared.domain.events import JobEvent


class EventGridTopicPublisher:
    def __init__(
        self, endpoint: str, credential: TokenCredential | AzureKeyCredential, *, timeout: float = 10.0
    ) -> None:
        self._client = EventGridPublisherClient(
            endpoint, credential, retry_total=2, connection_timeout=timeout, read_timeout=timeout
        )

    def publish(self, events: Sequence[JobEvent]) -> None:
        batch = [
            CloudEvent(
                source=event.source,
                type=event.type,
                id=event.id,
                time=event.time,
                subject=event.subject,
                data=event.data.to_wire(),
                datacontenttype="application/json",
                extensions={"sequence": str(event.sequence)},
            )
            for event in events
        ]
        try:
            self._client.send(batch)
        except HttpResponseError as error:
            if error.status_code in (400, 413):
                raise PermanentJobError(
                    f"Event Grid refused the events ({error.status_code}): {error.message}"
                ) from error
            raise DependencyError(f"Event Grid failed ({error.status_code}): {error.message}") from error
        except AzureError as error:
            raise DependencyError(f"Event Grid is unreachable: {error}") from error

    def close(self) -> None:
        self._client.close()
