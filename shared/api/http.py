"""HTTP plumbing shared by every endpoint: auth, workspace check, JSON in and out, the error table."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import wraps
from typing import TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import azure.functions as func
from pydantic import BaseModel, JsonValue, ValidationError

from shared.api.auth import EntraTokens
from shared.config import Settings
from shared.domain.callers import KEY_HOLDER, Caller
from shared.domain.errors import (
    AuthenticationError,
    ConflictError,
    DependencyError,
    Diagnostic,
    ForbiddenError,
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
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The methods every API route takes, so one it does not serve is our JSON 405 with Allow, not the host's 404.
ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Handlers that a reader may POST to: a dry-run validation, and SAS URLs (the service refuses readers any
# SAS that writes).
READING_POSTS = frozenset({"validate_job", "storage_sas"})
# Request bodies nested deeper than this are refused before a model sees them; no request needs more than a few.
MAX_JSON_DEPTH = 64


SERVED_WORKSPACE = "ServedWorkspace"  # the detail of a WorkspaceNotFound answer whose target is the served path


class WorkspaceNotFoundError(NotFoundError):
    default_message = "The workspace does not exist."
    code = "WorkspaceNotFound"


class MethodNotAllowedError(PermanentJobError):
    """A method the resource does not take; `allow` names those it does (the Allow header; empty for none)."""

    default_message = "The method is not allowed on this resource."
    code = "MethodNotAllowed"

    def __init__(self, message: str, *, allow: Iterable[str]) -> None:
        super().__init__(message)
        self.allow = ", ".join(sorted(set(allow)))


# The one table from error type to HTTP status; the most specific type listed wins.
ERROR_STATUS: Mapping[type[JobServiceError], int] = {
    AuthenticationError: 401,
    QuotaExceededError: 403,
    ForbiddenError: 403,
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
    tokens: EntraTokens | None = None  # set when Entra ID bearer tokens are accepted beside the keys
    caller: Caller = KEY_HOLDER  # who sent the request being handled, once authenticated


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
    if isinstance(error, MethodNotAllowedError):
        headers["Allow"] = error.allow
    return json_response({"error": body}, status_for(error), headers)


Handler = Callable[[func.HttpRequest, ApiContext], func.HttpResponse]


def endpoint(handler: Handler) -> Handler:
    """Authenticate, check the workspace path, run the handler, and map every error to a response."""

    def run(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
        try:
            caller = _authenticate(req, ctx)
            _check_workspace(req, ctx.settings)
            if not caller.contributor and req.method not in SAFE_METHODS and handler.__name__ not in READING_POSTS:
                raise ForbiddenError(f"{caller.name} is a reader of this workspace; only contributors change it.")
            return handler(req, replace(ctx, caller=caller))
        except DependencyError as error:  # the detail names our storage: it goes to the log, not the caller
            logger.warning("%s %s failed: %s", req.method, req.url, error.message)
            return error_response(DependencyError())
        except JobServiceError as error:
            if status_for(error) >= 500:
                logger.warning("%s %s failed: %s", req.method, req.url, error.message)
            return error_response(error)
        except Exception:  # the single outermost handler: report, never leak internals
            logger.exception("Unhandled error in %s %s", req.method, req.url)
            return error_response(JobServiceError("The service failed unexpectedly; the error was logged."))

    run.__name__ = handler.__name__
    return run


def allows(*methods: str) -> Callable[[Handler], Handler]:
    """A handler that takes only `methods`: any other is a 405 whose Allow header names them.

    The function app routes every method to each endpoint, so the answer is ours (JSON), not the host's.
    """
    allowed = frozenset(methods)

    def wrap(handler: Handler) -> Handler:
        @wraps(handler)
        def run(req: func.HttpRequest, ctx: ApiContext) -> func.HttpResponse:
            if req.method not in allowed:
                raise MethodNotAllowedError(
                    f"{req.method} is not allowed here; use {' or '.join(sorted(allowed))}.", allow=allowed
                )
            return handler(req, ctx)

        return run

    return wrap


def _authenticate(req: func.HttpRequest, ctx: ApiContext) -> Caller:
    """The caller an API key or an Entra ID bearer token names; AuthenticationError when neither holds."""
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        if ctx.tokens is None:
            raise AuthenticationError("This service takes no bearer tokens; send the API key in x-ms-quantum-api-key.")
        return ctx.tokens.caller(token.strip())
    # Compared as bytes: compare_digest refuses str with non-ASCII characters, and a header may carry any.
    presented = req.headers.get(API_KEY_HEADER, "").encode("utf-8", "surrogatepass")
    if not presented or not any(hmac.compare_digest(presented, k.encode()) for k in ctx.settings.accepted_keys()):
        raise AuthenticationError()
    return KEY_HOLDER


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
        # The caller holds a key, so may know the workspace this service serves (the portal learns it this way).
        raise WorkspaceNotFoundError(
            f"Workspace '{route.get('workspaceName', '')}' in resource group '{route.get('resourceGroupName', '')}' "
            f"of subscription '{route.get('subscriptionId', '')}' does not exist on this service.",
            diagnostics=[
                Diagnostic(
                    code=SERVED_WORKSPACE, message="the workspace this service serves", path=settings.workspace_path
                )
            ],
        )


M = TypeVar("M", bound=BaseModel)


def parse_body(req: func.HttpRequest, model: type[M], max_bytes: int) -> M:
    body = req.get_body()
    if len(body) > max_bytes:
        raise InputTooLargeError(f"The request body is {len(body)} bytes; the limit is {max_bytes}.", target="body")
    too_deep = InvalidRequestError(
        f"The request body is nested more than {MAX_JSON_DEPTH} levels deep; the limit is {MAX_JSON_DEPTH}.",
        target="body",
    )
    try:
        data = json.loads(body or b"null")
    except json.JSONDecodeError as error:
        where = f" at line {error.lineno}, column {error.colno}"
        raise InvalidRequestError(f"The request body is not valid JSON{where}.", target="body") from None
    except ValueError:  # not UTF-8, or a number longer than the interpreter converts (4,300 digits)
        raise InvalidRequestError("The request body is not valid JSON.", target="body") from None
    except RecursionError:  # the decoder stops at the interpreter's recursion limit, far past ours
        raise too_deep from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise too_deep
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


def json_depth(value: object) -> int:
    """How deeply arrays and objects nest in a decoded JSON value (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def absolute_link(req: func.HttpRequest, base_url: str, params: Mapping[str, str | int]) -> str:
    """The request's path with `params`, at the configured base URL: never at a host the request names."""
    base = urlsplit(base_url)
    return str(urlunsplit((base.scheme, base.netloc, urlsplit(req.url).path, urlencode(params), "")))
