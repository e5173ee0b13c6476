"""The workspace endpoints of the Azure Quantum data plane, plus our own additions beside them."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import azure.functions as func
from pydantic import JsonValue, TypeAdapter, ValidationError

from shared.api.http import (
    ApiContext,
    MethodNotAllowedError,
    absolute_link,
    allows,
    endpoint,
    json_response,
    parse_body,
)
from shared.api.responses import JobPatchResult, ProviderStatus, QuotaItem, ValidationResult
from shared.domain.errors import InvalidRequestError
from shared.domain.ids import JobId
from shared.domain.jobs import Job, JobStatus
from shared.domain.query import (
    MAX_PAGE,
    Continuation,
    JobQuery,
    continuation_token,
    parse_continuation,
    parse_filter,
    parse_int,
    parse_orderby,
)
from shared.services import manage, sessions, validate
from shared.services import quotas as quotas_service
from shared.services.pipeline import Pipeline
from shared.services.submit import JobSubmission, submit_job

_IDS: TypeAdapter[str] = TypeAdapter(JobId)  # job and session ids follow the same rules

# What an item endpoint does for one (method, action): `jobs/{id}:cancel` has the action "cancel".
ItemHandler = Callable[[func.HttpRequest, ApiContext, str], func.HttpResponse]


def _route_id(raw: str, field: str = "jobId") -> str:
    """A job or session id from the route, normalised as the request models normalise ids in bodies."""
    try:
        return _IDS.validate_python(raw)
    except ValidationError:
        raise InvalidRequestError(
            f"{field} '{raw[:60]}' is not valid: use 1-36 letters, digits and single inner hyphens, such as a UUID.",
            target=field,
        ) from None


def _handler(
    routes: Mapping[tuple[str, str], ItemHandler], req: func.HttpRequest, action: str, item: str, verb: str
) -> ItemHandler:
    """The handler of the request's method and action on `item`; MethodNotAllowedError names what is allowed."""
    handler = routes.get((req.method, action))
    if handler is not None:
        return handler
    allow = [method for method, taken in routes if taken == action]
    if action and not allow:
        raise MethodNotAllowedError(f"Unknown action '{req.method} {item}:{action}'; use POST :{verb}.", allow=allow)
    raise MethodNotAllowedError(f"{req.method} is not allowed on {item}{':' if action else ''}{action}.", allow=allow)


def _job(p: Pipeline, job: Job) -> dict[str, JsonValue]:
    """A job as Azure Quantum returns it: a Succeeded job's outputDataUri carries a short-lived read SAS."""
    wire = job.details.to_wire()
    if job.status is JobStatus.SUCCEEDED:
        wire["outputDataUri"] = manage.output_url(p, job)
    return wire


def _list_query(req: func.HttpRequest) -> JobQuery:
    """The list request; with a continuationToken (a nextLink's), the page starts where the token says and
    `skip`, which the nextLink carries as the page's position, is not counted off again."""
    params = req.params
    orderby = parse_orderby(params.get("orderby"))
    skip = parse_int(params.get("skip"), name="skip", default=0, low=0, high=10**9)
    after = parse_continuation(params.get("continuationToken"), orderby)
    return JobQuery(
        filter=parse_filter(params.get("filter")),
        orderby=orderby,
        skip=skip if after is None else 0,
        top=parse_int(params.get("top"), name="top", default=MAX_PAGE, low=1, high=10**6),
        after=after,
    )


def _page(
    req: func.HttpRequest, ctx: ApiContext, query: JobQuery, value: list[JsonValue], after: Continuation | None
) -> func.HttpResponse:
    """One page of a list, with an absolute nextLink, at the configured base URL, while more remain.

    The nextLink continues after this page's last item (keyset paging: a page deep in the list costs what the
    first does) and states the next page's position as `skip`, for clients that count pages.
    """
    next_link = None
    if after is not None:
        keep = {k: v for k in ("filter", "orderby") if (v := req.params.get(k))}
        token = continuation_token(after, query.orderby)
        link = {**keep, "skip": after.position, "top": query.top, "continuationToken": token}
        next_link = absolute_link(req, ctx.settings.api_base_url, link)
    return json_response({"value": value, "nextLink": next_link})


@endpoint
@allows("GET")
def jobs_collection(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """GET jobs."""
    query = _list_query(req)
    page = manage.list_jobs(ctx.pipeline, query)
    return _page(req, ctx, query, [_job(ctx.pipeline, j) for j in page.jobs], page.next)


@endpoint
@allows("GET")
def sessions_collection(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """GET sessions."""
    query = _list_query(req)
    page = sessions.list_sessions(ctx.pipeline, query)
    return _page(req, ctx, query, [s.details.to_wire() for s in page.sessions], page.next)


def _get_session(req: func.HttpRequest, ctx: ApiContext, session_id: str) -> func.HttpResponse:
    return json_response(sessions.get_session(ctx.pipeline, session_id).details.to_wire())


def _put_session(req: func.HttpRequest, ctx: ApiContext, session_id: str) -> func.HttpResponse:
    request = parse_body(req, sessions.SessionRequest, ctx.settings.max_request_bytes)
    opened = sessions.open_session(ctx.pipeline, session_id, request)
    return json_response(opened.session.details.to_wire(), 201 if opened.created else 200)


def _close_session(req: func.HttpRequest, ctx: ApiContext, session_id: str) -> func.HttpResponse:
    return json_response(sessions.close_session(ctx.pipeline, session_id).details.to_wire())


_SESSION_ROUTES: Mapping[tuple[str, str], ItemHandler] = {
    ("GET", ""): _get_session,
    ("PUT", ""): _put_session,
    ("POST", "close"): _close_session,
}


@endpoint
def session_item(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """sessions/{id}: PUT opens, GET reads; POST sessions/{id}:close closes."""
    raw_id, _, action = req.route_params.get("sessionRef", "").partition(":")
    handler = _handler(_SESSION_ROUTES, req, action, "sessions/{id}", "close")
    return handler(req, ctx, _route_id(raw_id, "sessionId"))


@endpoint
@allows("GET")
def session_jobs(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """GET sessions/{id}/jobs."""
    listed = _list_query(req)
    query = sessions.session_jobs(ctx.pipeline, _route_id(req.route_params.get("sessionId", ""), "sessionId"), listed)
    page = manage.list_jobs(ctx.pipeline, query)
    return _page(req, ctx, query, [_job(ctx.pipeline, j) for j in page.jobs], page.next)


@endpoint
@allows("GET")
def top_level_items(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """GET topLevelItems: jobs outside sessions, and sessions."""
    query = _list_query(req)
    page = sessions.top_level_items(ctx.pipeline, query)
    return _page(req, ctx, query, [item.to_wire() for item in page.items], page.next)


def _get_job(req: func.HttpRequest, ctx: ApiContext, job_id: str) -> func.HttpResponse:
    return json_response(_job(ctx.pipeline, ctx.pipeline.require(job_id)))


def _put_job(req: func.HttpRequest, ctx: ApiContext, job_id: str) -> func.HttpResponse:
    submission = parse_body(req, JobSubmission, ctx.settings.max_request_bytes)
    outcome = submit_job(ctx.pipeline, job_id, submission, cause="Submitted through the API", caller=ctx.caller)
    return json_response(_job(ctx.pipeline, outcome.job), 201 if outcome.created else 200)


def _patch_job(req: func.HttpRequest, ctx: ApiContext, job_id: str) -> func.HttpResponse:
    update = parse_body(req, manage.JobUpdate, ctx.settings.max_request_bytes)
    job = manage.update_job(ctx.pipeline, job_id, update, ctx.caller)
    return json_response(JobPatchResult.of(job.details).to_wire())


@endpoint
@allows("PATCH")
def job_update_options(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """PATCH jobUpdateOptions/{id}: 2026-08-01-preview's route for PATCH jobs/{id}, the same operation."""
    return _patch_job(req, ctx, _route_id(req.route_params.get("jobId", "")))


def _delete_job(req: func.HttpRequest, ctx: ApiContext, job_id: str) -> func.HttpResponse:
    manage.delete_job(ctx.pipeline, job_id, ctx.caller)
    return func.HttpResponse(status_code=204)


def _cancel_job(req: func.HttpRequest, ctx: ApiContext, job_id: str) -> func.HttpResponse:
    return json_response(_job(ctx.pipeline, manage.cancel_job(ctx.pipeline, job_id, ctx.caller)))


_JOB_ROUTES: Mapping[tuple[str, str], ItemHandler] = {
    ("GET", ""): _get_job,
    ("PUT", ""): _put_job,
    ("PATCH", ""): _patch_job,
    ("DELETE", ""): _delete_job,
    ("POST", "cancel"): _cancel_job,
}


@endpoint
def job_item(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """jobs/{id}: PUT creates, GET reads, PATCH updates, DELETE deletes; POST jobs/{id}:cancel cancels."""
    raw_id, _, action = req.route_params.get("jobRef", "").partition(":")
    job_id = _route_id(raw_id)
    return _handler(_JOB_ROUTES, req, action, "jobs/{id}", "cancel")(req, ctx, job_id)


@endpoint
@allows("POST")
def validate_job(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """POST jobs:validate: what submit would say about a job, without creating one (our addition)."""
    result = validate.validate_job(
        ctx.pipeline, parse_body(req, validate.ValidationRequest, ctx.settings.max_request_bytes)
    )
    return json_response(ValidationResult.of(result).to_wire())


@endpoint
@allows("GET")
def job_history(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """GET jobs/{id}/history: every state change with its time and cause (our addition)."""
    job = ctx.pipeline.require(_route_id(req.route_params.get("jobId", "")))
    return json_response({"id": job.id, "value": [t.to_wire() for t in job.history]})


@endpoint
@allows("GET")
def job_data(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    """GET jobs/{id}/input and jobs/{id}/output: the program and the result, through the API (our addition)."""
    job_id = _route_id(req.route_params.get("jobId", ""))
    which = req.route_params.get("which", "")
    if which not in {"input", "output"}:
        raise MethodNotAllowedError(f"jobs/{{id}}/{which} does not exist; use input or output.", allow=())
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
@allows("GET")
def provider_status(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    catalog = ctx.pipeline.catalog
    providers = [ProviderStatus.of(provider, catalog.program_limits).to_wire() for provider in catalog.providers]
    return json_response({"value": providers, "nextLink": None})


@endpoint
@allows("POST")
def storage_sas(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    request = parse_body(req, manage.SasRequest, ctx.settings.max_request_bytes)
    return json_response({"sasUri": manage.sas_uri(ctx.pipeline, request, ctx.caller)})


@endpoint
@allows("GET")
def quotas(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
    value = [QuotaItem.of(usage).to_wire() for usage in quotas_service.usage(ctx.pipeline)]
    return json_response({"value": value, "nextLink": None})
