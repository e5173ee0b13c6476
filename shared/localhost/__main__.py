"""`python -m shared.localhost`: serve the app on http://127.0.0.1:$PORT/api/ with embedded backends."""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared import bootstrap
from shared.api.local_identity import management_url
from shared.config import Settings
from shared.localhost import azurite, cloud, tls
from shared.localhost.host import LocalHost, load_host_json
from shared.services import sweep

logger = logging.getLogger("shared.localhost")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Recovery looks this far before the previous start too, in case the clock was set back a little since; older
# jobs are the sweeper's (by their deadlines), and their blobs the journal's restore. Each start reads back the
# outputs of the jobs that succeeded in this span, so it is kept short.
CLOCK_MARGIN = timedelta(seconds=10)


def _with_key(settings: Settings) -> Settings:
    """Use QUANTUM_API_KEYS when set; otherwise a key made once and kept under the state folder."""
    if settings.accepted_keys():
        return settings
    path = settings.local_state_dir / "api-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return settings.model_copy(update={"api_keys": path.read_text().strip()})


def _recover(settings: Settings) -> None:
    """Reconcile what a crash of the previous run left (`sweep.recover`), for the jobs created since it started.

    The previous start is the high-water mark, kept in the state folder; this start becomes it once done.
    """
    mark = settings.local_state_dir / "last-start"
    pipeline = bootstrap.pipeline()
    started = pipeline.clock.now()
    since = (
        datetime.fromisoformat(mark.read_text()) - CLOCK_MARGIN if mark.exists() else datetime.min.replace(tzinfo=UTC)
    )
    sweep.recover(pipeline, since)
    written = mark.with_suffix(".tmp")
    written.write_text(started.isoformat())
    written.replace(mark)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDKs log every HTTP request at INFO
    os.environ.setdefault("QDK_PYTHON_TELEMETRY", "none")
    settings = Settings()
    settings.local_state_dir.mkdir(parents=True, exist_ok=True)
    settings = _with_key(settings)
    bootstrap.configure(settings)
    simulators = bootstrap.simulators()  # its worker processes start now, while the rest gets ready
    storage_process = None
    if settings.start_azurite:
        storage_process = azurite.start_azurite(
            PROJECT_ROOT, settings.local_state_dir / "azurite", settings.azurite_blob_port
        )
    journal = bootstrap.journal()
    if journal is not None:
        journal.restore()  # blobs Azurite lost in a crash are back before any trigger runs
    _recover(settings)  # and every job in flight then is on its way again
    app = importlib.import_module("function_app").app
    if settings.local_https:
        app.register_functions(cloud.bp)
    host = LocalHost(
        app,
        settings,
        bootstrap.embedded_queue(),
        bootstrap.blob_storage(),
        load_host_json(PROJECT_ROOT),
        webhooks=bootstrap.webhooks(),
    )
    signal.signal(signal.SIGTERM, lambda *_: host.request_stop())
    signal.signal(signal.SIGINT, lambda *_: host.request_stop())
    # Nothing is taken off a queue before a worker is set up: a message taken earlier would wait for it, and in
    # a crash loop (the stack killed within seconds of each start) its deliveries would run out without a run.
    simulators.wait_ready()
    host.start()
    key = next(iter(settings.accepted_keys())) if len(settings.accepted_keys()) == 1 else "(from QUANTUM_API_KEYS)"
    print(  # noqa: T201 - the lines a person starting the service needs
        f"Quantum job service ready on {settings.api_base_url}\n"
        f"  workspace: {settings.workspace_path}\n"
        f"  API key (header x-ms-quantum-api-key): {key}",
        flush=True,
    )
    if settings.local_https:
        print(  # noqa: T201 - what `az` and the SDKs need to reach it (README: Use it from az)
            f"  trust: REQUESTS_CA_BUNDLE={tls.ca_bundle(settings).resolve()}\n"
            f"  identity: IDENTITY_ENDPOINT={settings.api_base_url}identity/token IDENTITY_HEADER=<the API key>\n"
            f"  cloud: az cloud register -n QuantumLocal --endpoint-resource-manager {management_url(settings)}",
            flush=True,
        )
    try:
        host.wait()
    finally:
        simulators.close()  # a run under way fails transiently: its message is delivered again next time
        host.stop()
        if storage_process is not None:
            azurite.stop(storage_process)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    sys.exit(main())
