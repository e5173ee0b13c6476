"""The service's OpenAPI document is held to the code and to Microsoft's.

To the code: every HTTP route of the function app serves an operation of the document, and every
operation is served by a route that takes its method (the running host's answers are checked against
the document by tests/integration/test_openapi.py). To Microsoft: every operation of the 2026-01-15-preview
document is in ours with the same path, parameters, status codes and schemas, compared structurally:
descriptions, Microsoft's code-generation hints (`x-ms-*`) and our `x-nullable` marks (we send null for an
absent value, as Azure does) aside, and the one relaxation we state: ids are 1-36 letters, digits and
inner hyphens, not only UUIDs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from shared.api.openapi import DOCUMENT
from shared.domain.ids import JOB_ID_PATTERN
from shared.localhost.routes import Route, Router
from tests.unit.test_app_wiring import triggers

MICROSOFT = Path(__file__).parents[3] / "shared/reference/azure-quantum-openapi/quantum-2026-01-15-preview.json"
UUID_PATTERN = "^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$"
METHODS = {"get", "put", "post", "patch", "delete"}


def ours() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text())
    return document


def microsoft() -> dict[str, Any]:
    if not MICROSOFT.exists():
        pytest.skip(f"../shared is absent: Microsoft's OpenAPI document ({MICROSOFT}) is not there to compare with")
    document: dict[str, Any] = json.loads(MICROSOFT.read_text())
    return document


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def http_routes() -> list[Route]:
    """The function app's HTTP routes, as the host matches them (the functions themselves are not called)."""
    return [
        Route.compile("api", str(trigger["route"]), list(trigger["methods"]), _unused)  # type: ignore[call-overload]
        for trigger in triggers().values()
        if trigger["type"] == "httpTrigger"
    ]


def _unused(req: func.HttpRequest) -> func.HttpResponse:
    raise AssertionError("routes are matched here, never called")


def example(path: str) -> str:
    """A request path for a document path: each parameter given a value that fits it."""
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_every_route_serves_an_operation_and_every_operation_a_route() -> None:
    document = ours()
    routes = http_routes()
    router = Router(routes)
    served: set[str] = set()
    for method, path in operations(document):
        found = router.match(document["basePath"] + example(path), method)
        assert isinstance(found, tuple), f"no function serves {method.upper()} {path}"
        served.add(found[0].template)
    assert {route.template for route in routes} == served


def test_every_operation_has_an_id_and_answers_errors_in_one_shape() -> None:
    found = operations(ours())
    assert len({operation["operationId"] for operation in found.values()}) == len(found)
    error = {"$ref": "#/definitions/Azure.Core.Foundations.ErrorResponse"}
    portal = {key for key in found if key[1].startswith("/portal")}  # static files: text, not the API's errors
    assert all(
        operation["responses"]["default"]["schema"] == error for key, operation in found.items() if key not in portal
    )


def comparable(node: Any) -> Any:
    """`node` without what the comparison sets aside, and with our id rule read back as Microsoft's."""
    if isinstance(node, list):
        return [comparable(item) for item in node]
    if not isinstance(node, dict):
        return node
    kept = {
        key: comparable(value)
        for key, value in node.items()
        if key not in {"description", "x-nullable"} and not key.startswith("x-ms-")
    }
    if kept.get("pattern") == JOB_ID_PATTERN:
        kept["pattern"] = UUID_PATTERN
        kept.pop("minLength")
    return kept


def referenced(document: dict[str, Any], node: Any, into: set[str]) -> set[str]:
    """The names of the definitions `node` refers to, directly or through others."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/definitions/") and (name := ref.removeprefix("#/definitions/")) not in into:
            into.add(name)
            referenced(document, document["definitions"][name], into)
        for value in node.values():
            referenced(document, value, into)
    elif isinstance(node, list):
        for value in node:
            referenced(document, value, into)
    return into


def resolved_parameters(document: dict[str, Any], operation: dict[str, Any]) -> list[Any]:
    return [
        document["parameters"][p["$ref"].removeprefix("#/parameters/")] if "$ref" in p else p
        for p in operation["parameters"]
    ]


def test_the_operations_shared_with_microsoft_match_its_document() -> None:
    theirs, mine = microsoft(), ours()
    shared = operations(theirs)
    ours_by_key = operations(mine)
    assert shared.keys() <= ours_by_key.keys(), sorted(shared.keys() - ours_by_key.keys())
    names: set[str] = set()
    for key, operation in shared.items():
        own = ours_by_key[key]
        assert own["operationId"] == operation["operationId"], key
        assert comparable(resolved_parameters(mine, own)) == comparable(resolved_parameters(theirs, operation)), key
        assert comparable(own["responses"]) == comparable(operation["responses"]), key
        assert own.get("consumes", mine["consumes"]) == operation.get("consumes", theirs["consumes"]), key
        referenced(theirs, operation, names)
    for name in sorted(names):
        assert comparable(mine["definitions"][name]) == comparable(theirs["definitions"][name]), name


def test_the_document_states_our_differences_and_no_others() -> None:
    """Each place ours departs from Microsoft's is one of the stated kinds: null allowed, or our id rule."""
    theirs, mine = microsoft(), ours()
    relaxed = {
        name
        for name, definition in mine["definitions"].items()
        if name in theirs["definitions"] and definition != theirs["definitions"][name]
    }
    assert relaxed == {
        "Azure.Core.Foundations.Error",
        "Errors.WorkspaceItemError",
        "ItemDetails",
        "JobDetails",
        "PagedItemDetails",
        "PagedJobDetails",
        "PagedProviderStatus",
        "PagedQuota",
        "PagedSessionDetails",
        "WorkspaceItemId",
    }
