"""The portal's HTTP functions: the job management page and its two assets, and nothing else.

The files are read once per process. The page carries the assets' content hashes in their URLs, so a
browser keeps app.js and app.css for a year yet never runs a stale one; the page itself is revalidated on
every load (ETag). Only the names in `_FILES` are served: any other name, `../` and its encodings included,
is a 404. The page signs in with an API key the user types; the functions here are anonymous because they
serve nothing but these files, which say nothing about the deployment: the script learns the workspace
path only after sign-in, from the API (a WorkspaceNotFound answer to a key holder names the served one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import azure.functions as func

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # its __init__ has no annotations

STATIC = Path(__file__).parent / "static"
PAGE = "index.html"
_FILES: Mapping[str, str] = {PAGE: "text/html", "app.js": "text/javascript", "app.css": "text/css"}
_ASSETS = ("app.js", "app.css")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    )
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
REVALIDATE = "no-cache"
FOREVER = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    mimetype: str
    etag: str

    @property
    def version(self) -> str:
        return self.etag.strip('"')[:16]


def _file(body: bytes, mimetype: str) -> StaticFile:
    return StaticFile(body, mimetype, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


@cache
def _static(name: str) -> StaticFile:
    if name == PAGE:
        text = (STATIC / PAGE).read_text(encoding="utf-8")
        for asset in _ASSETS:
            text = text.replace(f'"{asset}"', f'"{asset}?v={_static(asset).version}"')
        return _file(text.encode(), _FILES[PAGE])
    return _file((STATIC / name).read_bytes(), _FILES[name])


def _response(
    status: int, headers: Mapping[str, str], body: bytes = b"", mimetype: str = "text/plain"
) -> func.HttpResponse:
    return func.HttpResponse(
        body, status_code=status, mimetype=mimetype, charset="utf-8", headers={**SECURITY_HEADERS, **headers}
    )


def serve(req: func.HttpRequest, name: str) -> func.HttpResponse:
    """One of the portal's files, with its content type, caching and security headers; a 404 for any other."""
    if name not in _FILES:
        return _response(404, {"Cache-Control": "no-store"}, b"Not found.")
    found = _static(name)
    versioned = name in _ASSETS and req.params.get("v") == found.version
    headers = {"ETag": found.etag, "Cache-Control": FOREVER if versioned else REVALIDATE}
    if found.etag in {tag.strip() for tag in req.headers.get("If-None-Match", "").split(",")}:
        return _response(304, headers)
    return _response(200, headers, found.body, found.mimetype)


@bp.function_name("portal_page")
@bp.route(route="portal", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def portal_page(req: func.HttpRequest) -> func.HttpResponse:
    if not urlsplit(req.url).path.endswith("/"):  # relative asset URLs need the trailing slash
        return _response(308, {"Location": "portal/", "Cache-Control": "no-store"})
    return serve(req, PAGE)


@bp.function_name("portal_file")
@bp.route(route="portal/{file}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def portal_file(req: func.HttpRequest) -> func.HttpResponse:
    return serve(req, req.route_params.get("file", ""))
