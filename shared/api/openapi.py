"""GET openapi.json: the service's own OpenAPI document, anonymous like the portal's files.

The document (`openapi.json` beside this module) is Microsoft's 2026-01-15-preview data plane as this
service answers it, plus our additions. Tests hold it to the code: every HTTP route has an operation and
every operation a route, the shared operations match Microsoft's, and the running host answers as it says.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import azure.functions as func

from shared.api.http import ANY_METHOD, MethodNotAllowedError, error_response

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # its __init__ has no annotations

DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def _document() -> tuple[bytes, str]:
    body = DOCUMENT.read_bytes()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@bp.function_name("openapi_document")
@bp.route(route="openapi.json", methods=ANY_METHOD, auth_level=func.AuthLevel.ANONYMOUS)
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    if req.method != "GET":
        return error_response(MethodNotAllowedError(f"{req.method} is not allowed here; use GET.", allow=["GET"]))
    body, etag = _document()
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if etag in {tag.strip() for tag in req.headers.get("If-None-Match", "").split(",")}:
        return func.HttpResponse(status_code=304, headers=headers)
    return func.HttpResponse(body, status_code=200, mimetype="application/json", headers=headers)
