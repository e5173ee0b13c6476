"""The Azure Functions app: triggers only. Each body parses its input and calls one service."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import azure.functions as func

from shared import bootstrap
from shared.api import workspace as api
from shared.api.http import ANY_METHOD
from shared.api.openapi import bp as openapi_bp
from shared.domain.catalog import load_catalog
from shared.domain.messages import (
    DEAD_LETTER_SUBQUEUE,
    JOB_RESULTS_QUEUE,
    SIMULATOR_QUEUE,
    JobOutcome,
    Message,
    RunJob,
    TranslateJob,
)
from shared.portal.blueprint import bp as portal_bp
from shared.services import execute, intake, sweep

logger = logging.getLogger(__name__)

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(portal_bp)
app.register_functions(openapi_bp)

CATALOG = load_catalog()
WORKSPACE = (
    "subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.Quantum/workspaces/{workspaceName}"
)


@app.function_name("jobs_list")
@app.route(route=f"{WORKSPACE}/jobs", methods=ANY_METHOD)
def jobs_list(req: func.HttpRequest) -> func.HttpResponse:
    return api.jobs_collection(req, bootstrap.api_context())


@app.function_name("job_item")
@app.route(route=f"{WORKSPACE}/jobs/{{jobRef}}", methods=ANY_METHOD)
def job_item(req: func.HttpRequest) -> func.HttpResponse:
    return api.job_item(req, bootstrap.api_context())


@app.function_name("sessions_list")
@app.route(route=f"{WORKSPACE}/sessions", methods=ANY_METHOD)
def sessions_list(req: func.HttpRequest) -> func.HttpResponse:
    return api.sessions_collection(req, bootstrap.api_context())


@app.function_name("session_item")
@app.route(route=f"{WORKSPACE}/sessions/{{sessionRef}}", methods=ANY_METHOD)
def session_item(req: func.HttpRequest) -> func.HttpResponse:
    return api.session_item(req, bootstrap.api_context())


@app.function_name("session_jobs")
@app.route(route=f"{WORKSPACE}/sessions/{{sessionId}}/jobs", methods=ANY_METHOD)
def session_jobs(req: func.HttpRequest) -> func.HttpResponse:
    return api.session_jobs(req, bootstrap.api_context())


@app.function_name("top_level_items")
@app.route(route=f"{WORKSPACE}/topLevelItems", methods=ANY_METHOD)
def top_level_items(req: func.HttpRequest) -> func.HttpResponse:
    return api.top_level_items(req, bootstrap.api_context())


@app.function_name("validate_job")
@app.route(route=f"{WORKSPACE}/jobs:validate", methods=ANY_METHOD)
def validate_job(req: func.HttpRequest) -> func.HttpResponse:
    return api.validate_job(req, bootstrap.api_context())


@app.function_name("job_history")
@app.route(route=f"{WORKSPACE}/jobs/{{jobId}}/history", methods=ANY_METHOD)
def job_history(req: func.HttpRequest) -> func.HttpResponse:
    return api.job_history(req, bootstrap.api_context())


@app.function_name("job_data")
@app.route(route=f"{WORKSPACE}/jobs/{{jobId}}/{{which}}", methods=ANY_METHOD)
def job_data(req: func.HttpRequest) -> func.HttpResponse:
    return api.job_data(req, bootstrap.api_context())


@app.function_name("job_update_options")
@app.route(route=f"{WORKSPACE}/jobUpdateOptions/{{jobId}}", methods=ANY_METHOD)
def job_update_options(req: func.HttpRequest) -> func.HttpResponse:
    return api.job_update_options(req, bootstrap.api_context())


@app.function_name("provider_status")
@app.route(route=f"{WORKSPACE}/providerStatus", methods=ANY_METHOD)
def provider_status(req: func.HttpRequest) -> func.HttpResponse:
    return api.provider_status(req, bootstrap.api_context())


@app.function_name("storage_sas")
@app.route(route=f"{WORKSPACE}/storage/sasUri", methods=ANY_METHOD)
def storage_sas(req: func.HttpRequest) -> func.HttpResponse:
    return api.storage_sas(req, bootstrap.api_context())


@app.function_name("quotas")
@app.route(route=f"{WORKSPACE}/quotas", methods=ANY_METHOD)
def quotas(req: func.HttpRequest) -> func.HttpResponse:
    return api.quotas(req, bootstrap.api_context())


@app.function_name("intake_program")
@app.blob_trigger(
    arg_name="blob",
    path="%PROGRAMS_CONTAINER%/{name}",
    connection="JobsStorage",  # job data's own account, apart from the host's (AzureWebJobsStorage)
    source=func.BlobSource.EVENT_GRID,  # Flex Consumption has no container scan; infra/ subscribes the webhook
)
def intake_program(blob: func.InputStream) -> None:
    container, _, name = (blob.name or "").partition("/")
    metadata = getattr(blob, "metadata", None) or {}
    intake.intake_blob(bootstrap.pipeline(), container, name, blob.length, blob.read, metadata)


# One translator per provider in the catalog, named by its def, on the provider's queue (test_app_wiring checks).
def _provider_queue(provider_id: str) -> Callable[..., Any]:
    queue = CATALOG.provider(provider_id).queue
    return app.service_bus_queue_trigger(arg_name="msg", queue_name=queue, connection="ServiceBusConnection")


def _translate(msg: func.ServiceBusMessage) -> None:
    execute.translate_job(bootstrap.pipeline(), TranslateJob.model_validate_json(msg.get_body()))


@_provider_queue("ionq")
def translate_ionq(msg: func.ServiceBusMessage) -> None:
    _translate(msg)


@_provider_queue("quantinuum")
def translate_quantinuum(msg: func.ServiceBusMessage) -> None:
    _translate(msg)


@_provider_queue("rigetti")
def translate_rigetti(msg: func.ServiceBusMessage) -> None:
    _translate(msg)


@_provider_queue("microsoft-qc")
def translate_microsoft_qc(msg: func.ServiceBusMessage) -> None:
    _translate(msg)


@_provider_queue("microsoft.test.firstparty")
def translate_microsoft_test_firstparty(msg: func.ServiceBusMessage) -> None:
    _translate(msg)


@_provider_queue("pasqal")
def translate_pasqal(msg: func.ServiceBusMessage) -> None:
    _translate(msg)


@app.function_name("run_simulator")
@app.service_bus_queue_trigger(arg_name="msg", queue_name=SIMULATOR_QUEUE, connection="ServiceBusConnection")
def run_simulator(msg: func.ServiceBusMessage) -> None:
    execute.run_job(bootstrap.pipeline(), bootstrap.backend(), RunJob.model_validate_json(msg.get_body()))


@app.function_name("record_result")
@app.service_bus_queue_trigger(arg_name="msg", queue_name=JOB_RESULTS_QUEUE, connection="ServiceBusConnection")
def record_result(msg: func.ServiceBusMessage) -> None:
    execute.record_outcome(bootstrap.pipeline(), JobOutcome.model_validate_json(msg.get_body()))


def _redrive_dead_letters(queue: str, kind: type[Message]) -> None:
    """A trigger on `queue`'s dead-letter subqueue, named `redrive_{queue}`: a message whose deliveries ran out
    re-drives its job at once, or fails it once its re-drives are spent (the sweep's deadlines are the backstop)."""

    def redrive(msg: func.ServiceBusMessage) -> None:
        reason = str(msg.application_properties.get("DeadLetterReason", "no reason given"))
        try:
            letter = kind.model_validate_json(msg.get_body())
        except ValueError:  # not a message this version reads: retrying would loop for ever (a dead letter stays)
            logger.exception("A dead letter on %s is not a %s; left to the sweep", queue, kind.__name__)
            return
        sweep.redrive_dead_letter(bootstrap.pipeline(), letter, queue, reason)

    trigger = app.service_bus_queue_trigger(
        arg_name="msg", queue_name=queue + DEAD_LETTER_SUBQUEUE, connection="ServiceBusConnection"
    )
    app.function_name("redrive_" + re.sub(r"[^A-Za-z0-9]", "_", queue))(trigger(redrive))


for _provider in CATALOG.providers:
    _redrive_dead_letters(_provider.queue, TranslateJob)
_redrive_dead_letters(SIMULATOR_QUEUE, RunJob)
_redrive_dead_letters(JOB_RESULTS_QUEUE, JobOutcome)


@app.function_name("sweep_stuck_jobs")
@app.timer_trigger(arg_name="timer", schedule="%SWEEP_SCHEDULE%", run_on_startup=False)
def sweep_stuck_jobs(timer: func.TimerRequest) -> None:
    sweep.sweep_stuck_jobs(bootstrap.pipeline())
