"""HTTP plumbing shared by every endpoint: auth, workspace check, JSON in and out, the error table."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import azure.functions as func
from pydantic import BaseModel, JsonValue, ValidationError

from shared.config import Settings
from shared.domain.errors import (
    ConflictError,
    Diagnostic,
    InputTooLargeError,
    InvalidRequestError,
    JobServiceError,
    NotFoundError,
    PermanentJobError,
    QuotaExceededError,
    TransientJobError,
)
from shared.services.pipeline import Pipeline

logger = logging.getLogger(__name__)

API_KEY_HEADER = "x-ms-quantum-api-key"


class AuthenticationError(PermanentJobError):
    default_message = f"A valid API key is required in the {API_KEY_HEADER} header."
    code = "Unauthorized"


class WorkspaceNotFoundError(NotFoundError):
    default_message = "The workspace does not exist."
    code = "WorkspaceNotFound"


class MethodNotAllowedError(PermanentJobError):
    default_message = "The method is not allowed on this resource."
    code = "MethodNotAllowed"


# The one table from error type to HTTP status; the most specific type listed wins.
ERROR_STATUS: Mapping[type[JobServiceError], int] = {
    AuthenticationError: 401,
    QuotaExceededError: 403,
    NotFoundError: 404,
    MethodNotAllowedError: 405,
    ConflictError: 409,
    InputTooLargeError: 413,
    InvalidRequestError: 400,
    PermanentJobError: 400,
    TransientJobError: 503,
    JobServiceError: 500,
}


def status_for(error: JobServiceError) -> int:
    for kind in type(error).__mro__:
        if kind in ERROR_STATUS:
            return ERROR_STATUS[kind]
    return 500


@dataclass(frozen=True)
class ApiContext:
    pipeline: Pipeline
    settings: Settings


def json_response(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        mimetype="application/json",
        headers=dict(headers or {}),
    )


def error_response(error: JobServiceError) -> func.HttpResponse:
    body: dict[str, JsonValue] = {"code": error.code, "message": error.message}
    if error.target:
        body["target"] = error.target
    if error.diagnostics:
        body["details"] = [{"code": d.code, "message": d.render(), "target": d.location()} for d in error.diagnostics]
    headers = {"x-ms-error-code": error.code}
    if isinstance(error, TransientJobError):
        headers["Retry-After"] = "1"
    return json_response({"error": body}, status_for(error), headers)


Handler = Callable[[func.HttpRequest, ApiContext], func.HttpResponse]


def endpoint(handler: Handler) -> Handler:
    """Authenticate, check the workspace path, run the handler, and map every error to a response."""

    def run(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
        try:
            _authenticate(req, ctx.settings)
            _check_workspace(req, ctx.settings)
            return handler(req, ctx)
        except JobServiceError as error:
            if status_for(error) >= 500:
                logger.warning("%s %s failed: %s", req.method, req.url, error.message)
            return error_response(error)
        except Exception:  # the single outermost handler: report, never leak internals
            logger.exception("Unhandled error in %s %s", req.method, req.url)
            return error_response(JobServiceError("The service failed unexpectedly; the error was logged."))

    run.__name__ = handler.__name__
    return run


def _authenticate(req: func.HttpRequest, settings: Settings) -> None:
    presented = req.headers.get(API_KEY_HEADER, "")
    if not presented or not any(hmac.compare_digest(presented, key) for key in settings.accepted_keys()):
        raise AuthenticationError()


def _check_workspace(req: func.HttpRequest, settings: Settings) -> None:
    route = req.route_params
    expected = (
        settings.subscription_id.lower(),
        settings.resource_group.lower(),
        settings.workspace_name.lower(),
    )
    given = (
        route.get("subscriptionId", "").lower(),
        route.get("resourceGroupName", "").lower(),
        route.get("workspaceName", "").lower(),
    )
    if given != expected:
        raise WorkspaceNotFoundError(
            f"Workspace '{route.get('workspaceName', '')}' in resource group '{route.get('resourceGroupName', '')}' "
            f"of subscription '{route.get('subscriptionId', '')}' does not exist on this service."
        )


M = TypeVar("M", bound=BaseModel)


def parse_body(req: func.HttpRequest, model: type[M], max_bytes: int) -> M:
    body = req.get_body()
    if len(body) > max_bytes:
        raise InputTooLargeError(f"The request body is {len(body)} bytes; the limit is {max_bytes}.", target="body")
    try:
        data = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        where = f" at line {error.lineno}, column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        raise InvalidRequestError(f"The request body is not valid JSON{where}.", target="body") from None
    if not isinstance(data, dict):
        raise InvalidRequestError("The request body must be a JSON object.", target="body")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidRequestError(
            "The request body is not valid.",
            diagnostics=[
                Diagnostic(code="InvalidField", message=e["msg"], path=".".join(str(x) for x in e["loc"]) or "body")
                for e in error.errors()
            ],
            target="body",
        ) from None


def absolute_link(req: func.HttpRequest, params: Mapping[str, str | int]) -> str:
    parts = urlsplit(req.url)
    return str(urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(params), "")))
