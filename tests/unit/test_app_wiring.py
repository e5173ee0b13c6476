"""The function app's declared triggers and settings, as the Functions host and the local host read them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from pydantic import ValidationError

import function_app
from shared.config import Settings
from shared.domain.catalog import load_catalog
from shared.domain.messages import JOB_RESULTS_QUEUE, SIMULATOR_QUEUE
from shared.localhost.host import BLOB_MAX_ATTEMPTS, load_host_json

ROOT = Path(__file__).resolve().parents[2]
HOST_LEVEL_SETTINGS = {
    "AzureWebJobsStorage",  # the Functions host's own storage; job data has its own account (JobsStorage)
    "FUNCTIONS_WORKER_RUNTIME",
    "QDK_PYTHON_TELEMETRY",
}


@cache  # azure-functions' get_functions() may be called once per app
def triggers() -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for function in function_app.app.get_functions():
        bindings = [b.get_dict_repr() for b in function.get_bindings()]
        found[function.get_function_name() or ""] = next(b for b in bindings if str(b["type"]).endswith("Trigger"))
    return found


def test_every_provider_has_exactly_one_translator_on_its_own_queue() -> None:
    queues = {name: t["queueName"] for name, t in triggers().items() if t["type"] == "serviceBusTrigger"}
    translators = sorted(str(queue) for name, queue in queues.items() if name.startswith("translate_"))
    assert translators == sorted(provider.queue for provider in load_catalog().providers)
    for provider in load_catalog().providers:
        assert queues[f"translate_{provider.id.replace('-', '_').replace('.', '_')}"] == provider.queue
    assert queues["run_simulator"] == SIMULATOR_QUEUE
    assert queues["record_result"] == JOB_RESULTS_QUEUE


def test_http_functions_are_anonymous_and_checked_in_code() -> None:
    http = {name: t for name, t in triggers().items() if t["type"] == "httpTrigger"}
    assert {"jobs_list", "job_item", "job_history", "provider_status", "storage_sas", "quotas"} <= http.keys()
    assert {str(t["authLevel"]) for t in http.values()} == {"ANONYMOUS"}


def test_binding_expressions_name_existing_settings() -> None:
    aliases = {field.alias for field in Settings.model_fields.values()}
    for trigger in triggers().values():
        for value in trigger.values():
            if isinstance(value, str) and value.count("%") >= 2:
                assert value.split("%")[1] in aliases


def test_the_settings_sample_lists_every_setting_and_nothing_else() -> None:
    sample = set(json.loads((ROOT / "local.settings.sample.json").read_text())["Values"])
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert aliases <= sample
    assert sample - aliases == HOST_LEVEL_SETTINGS


def test_host_json_keeps_the_local_host_and_azure_in_step() -> None:
    config = json.loads((ROOT / "host.json").read_text())
    assert config["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert config["extensionBundle"]["version"].startswith("[4.")
    service_bus = config["extensions"]["serviceBus"]
    assert service_bus["autoCompleteMessages"] is True, "a raised exception abandons; success completes"
    assert service_bus["prefetchCount"] == 0, "no message waits locked in a prefetch buffer during a long run"
    assert service_bus["maxAutoLockRenewalDuration"] >= config["functionTimeout"], "locks outlive the longest run"
    assert config["extensions"]["blobs"]["poisonBlobThreshold"] == BLOB_MAX_ATTEMPTS
    assert load_host_json(ROOT) == "api"


def test_an_unresolved_key_vault_reference_is_never_an_api_key() -> None:
    reference = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/quantum-api-keys/)"
    with pytest.raises(ValidationError, match="unresolved Key Vault reference"):
        Settings(QUANTUM_API_KEYS=reference)  # type: ignore[call-arg]  # by alias, as the host passes it
    assert Settings(QUANTUM_API_KEYS="k1, k2").accepted_keys() == {"k1", "k2"}  # type: ignore[call-arg]


def test_webhooks_without_a_secret_are_refused() -> None:
    with pytest.raises(ValidationError, match="EVENT_WEBHOOK_SECRET must be set"):
        Settings(EVENT_WEBHOOKS="http://127.0.0.1:9/hook")  # type: ignore[call-arg]
