"""The workspace endpoints of the Azure Quantum data plane, plus our own additions beside them."""

from __future__ import annotations

import azure.functions as func
from pydantic import JsonValue

from shared.api.http import (
    ApiContext,
    MethodNotAllowedError,
    absolute_link,
    endpoint,
    json_response,
    parse_body,
)
from shared.domain.catalog import TargetSpec
from shared.domain.jobs import Job, JobStatus
from shared.domain.query import MAX_PAGE, JobQuery, parse_filter, parse_int, parse_orderby
from shared.domain.storage import normalize_job_id
from shared.services import manage, sessions, validate
from shared.services import quotas as quotas_service
from shared.services.pipeline import Pipeline
from shared.services.submit import JobSubmission, submit_job


def _job(p: Pipeline, job: Job) -> dict[str, JsonValue]:
    """A job as Azure Quantum returns it: a Succeeded job's outputDataUri carries a short-lived read SAS."""
    wire = job.details.to_wire()
    if job.status is JobStatus.SUCCEEDED:
        wire["outputDataUri"] = manage.output_url(p, job)
    return wire


def _list_query(req: func.HttpRequest) -> JobQuery:
    params = req.params
    return JobQuery(
        filter=parse_filter(params.get("filter")),
        orderby=parse_orderby(params.get("orderby")),
        skip=parse_int(params.get("skip"), name="skip", default=0, low=0, high=10**9),
        top=parse_int(params.get("top"), name="top", default=MAX_PAGE, low=1, high=10**6),
    )


def _page(
    req: func.HttpRequest, ctx: ApiContext, query: JobQuery, value: list[JsonValue], next_skip: int | None
) -> func.HttpResponse:
    """One page of a list, with an absolute nextLink, at the configured base URL, while more remain."""
    next_link = None
    if next_skip is not None:
        keep = {k: v for k in ("filter", "orderby") if (v := req.params.get(k))}
        next_link = absolute_link(req, ctx.settings.api_base_url, {**keep, "skip": next_skip, "top": query.top})
    return json_response({"value": value, "nextLink": next_link})


@endpoint
def jobs_collection(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """GET jobs."""
    query = _list_query(req)
    page = manage.list_jobs(ctx.pipeline, query)
    return _page(req, ctx, query, [_job(ctx.pipeline, j) for j in page.jobs], page.next_skip)


@endpoint
def sessions_collection(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """GET sessions."""
    query = _list_query(req)
    page = sessions.list_sessions(ctx.pipeline, query)
    return _page(req, ctx, query, [s.details.to_wire() for s in page.sessions], page.next_skip)


@endpoint
def session_item(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """sessions/{id}: PUT opens, GET reads; POST sessions/{id}:close closes."""
    raw_id, _, action = req.route_params.get("sessionRef", "").partition(":")
    p = ctx.pipeline
    if action:
        if req.method != "POST" or action != "close":
            raise MethodNotAllowedError(f"Unknown action '{req.method} sessions/{{id}}:{action}'; use POST :close.")
        return json_response(sessions.close_session(p, raw_id).details.to_wire())
    if req.method == "GET":
        return json_response(sessions.get_session(p, raw_id).details.to_wire())
    if req.method == "PUT":
        request = parse_body(req, sessions.SessionRequest, ctx.settings.max_request_bytes)
        opened = sessions.open_session(p, raw_id, request)
        return json_response(opened.session.details.to_wire(), 201 if opened.created else 200)
    raise MethodNotAllowedError(f"{req.method} is not allowed on sessions/{{id}}.")


@endpoint
def session_jobs(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """GET sessions/{id}/jobs."""
    query = sessions.session_jobs(ctx.pipeline, req.route_params.get("sessionId", ""), _list_query(req))
    page = manage.list_jobs(ctx.pipeline, query)
    return _page(req, ctx, query, [_job(ctx.pipeline, j) for j in page.jobs], page.next_skip)


@endpoint
def top_level_items(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """GET topLevelItems: jobs outside sessions, and sessions."""
    query = _list_query(req)
    page = sessions.top_level_items(ctx.pipeline, query)
    return _page(req, ctx, query, [item.to_wire() for item in page.items], page.next_skip)


@endpoint
def job_item(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """jobs/{id}: PUT creates, GET reads, PATCH updates, DELETE deletes; POST jobs/{id}:cancel cancels."""
    ref = req.route_params.get("jobRef", "")
    raw_id, _, action = ref.partition(":")
    job_id = normalize_job_id(raw_id)
    p = ctx.pipeline
    if action:
        if req.method != "POST" or action != "cancel":
            raise MethodNotAllowedError(f"Unknown action '{req.method} jobs/{{id}}:{action}'; use POST :cancel.")
        return json_response(_job(p, manage.cancel_job(p, job_id, ctx.caller)))
    if req.method == "GET":
        return json_response(_job(p, p.require(job_id)))
    if req.method == "PUT":
        submission = parse_body(req, JobSubmission, ctx.settings.max_request_bytes)
        outcome = submit_job(p, job_id, submission, cause="Submitted through the API", caller=ctx.caller)
        return json_response(_job(p, outcome.job), 201 if outcome.created else 200)
    if req.method == "PATCH":
        update = parse_body(req, manage.JobUpdate, ctx.settings.max_request_bytes)
        job = manage.update_job(p, job_id, update, ctx.caller)
        return json_response(
            {"name": job.details.name, "priority": job.details.priority, "tags": list(job.details.tags)}
        )
    if req.method == "DELETE":
        manage.delete_job(p, job_id, ctx.caller)
        return func.HttpResponse(status_code=204)
    raise MethodNotAllowedError(f"{req.method} is not allowed on jobs/{{id}}.")


@endpoint
def validate_job(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """POST jobs:validate: what submit would say about a job, without creating one (our addition)."""
    result = validate.validate_job(
        ctx.pipeline, parse_body(req, validate.ValidationRequest, ctx.settings.max_request_bytes)
    )
    body: dict[str, JsonValue] = {
        "valid": result.valid,
        "target": result.target,
        "diagnostics": [d.model_dump(mode="json") for d in result.findings],
    }
    if result.info is not None:
        body["qubits"] = result.info.num_qubits
        body["gates"] = result.info.gate_count
    return json_response(body)


@endpoint
def job_history(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """GET jobs/{id}/history: every state change with its time and cause (our addition)."""
    job = ctx.pipeline.require(normalize_job_id(req.route_params.get("jobId", "")))
    return json_response({"id": job.id, "value": [t.to_wire() for t in job.history]})


@endpoint
def job_data(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """GET jobs/{id}/input and jobs/{id}/output: the program and the result, through the API (our addition)."""
    job_id = normalize_job_id(req.route_params.get("jobId", ""))
    which = req.route_params.get("which", "")
    if which not in {"input", "output"}:
        raise MethodNotAllowedError(f"jobs/{{id}}/{which} does not exist; use input or output.")
    data, data_format = manage.job_blob(ctx.pipeline, job_id, which)
    return func.HttpResponse(
        data, status_code=200, mimetype=_media_type(data), headers={"x-ms-data-format": data_format}
    )


def _media_type(data: bytes) -> str:
    if data.lstrip()[:1] in (b"{", b"["):
        return "application/json"
    try:
        data.decode()
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


@endpoint
def provider_status(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    providers = [
        {
            "id": provider.id,
            "currentAvailability": "Available",
            "targets": [
                {
                    "id": t.id,
                    "currentAvailability": "Available",
                    "averageQueueTime": t.average_queue_time,
                    "numQubits": t.max_qubits,
                    "metadata": _target_metadata(t),
                }
                for t in provider.targets
            ],
        }
        for provider in ctx.pipeline.catalog.providers
    ]
    return json_response({"value": providers, "nextLink": None})


def _target_metadata(target: TargetSpec) -> dict[str, JsonValue]:
    """What a user choosing a target needs: formats, its own inputParams, QIR profiles, output limits, and
    noise if emulated."""
    formats: list[JsonValue] = list(target.input_formats)
    profiles: list[JsonValue] = [*sorted({profile for route in target.routes for profile in route.qir_profiles})]
    parameters: list[JsonValue] = [*sorted(target.input_params)]
    metadata: dict[str, JsonValue] = {
        "description": target.description,
        "inputFormats": formats,
        "inputParams": parameters,
        "qirProfiles": profiles,
        "outputLimits": {
            "maxShotsTimesBits": target.max_shots_times_bits,
            "maxHistogramEntries": target.max_histogram_entries,
        },
    }
    if target.noise is not None:
        metadata["emulation"] = "local noisy emulation from published error rates"
        metadata["noise"] = target.noise.model_dump(mode="json", by_alias=True)
    return metadata


@endpoint
def storage_sas(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    request = parse_body(req, manage.SasRequest, ctx.settings.max_request_bytes)
    return json_response({"sasUri": manage.sas_uri(ctx.pipeline, request, ctx.caller)})


@endpoint
def quotas(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    value = [
        {
            "dimension": q.dimension,
            "scope": "Workspace",
            "providerId": q.provider_id,
            "utilization": q.utilization,
            "holds": 0.0,
            "limit": q.limit,
            "period": q.period,
        }
        for q in quotas_service.usage(ctx.pipeline)
    ]
    return json_response({"value": value, "nextLink": None})
