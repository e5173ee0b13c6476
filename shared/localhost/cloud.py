"""The local host as a custom cloud for `az` (LOCAL_HTTPS): a managed identity and the few management reads.

- `GET identity/token`: the App Service managed-identity protocol that `az login --identity` (MSAL) and
  azure-identity's ManagedIdentityCredential speak when IDENTITY_ENDPOINT and IDENTITY_HEADER are set; the
  header is the API key, and the answer a bearer token of the local identity (shared/api/local_identity.py).
- `GET management/...`: the cloud's metadata (`az cloud register --endpoint-resource-manager` reads it), the
  subscription (`az login`), and the workspace, whose `endpointUri` is this host's API (the quantum extension
  reads it to find the data plane). They take the identity's management tokens, as Azure Resource Manager does.

Registered by the local host (`python -m shared.localhost`) only when LOCAL_HTTPS is on; never in Azure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import azure.functions as func

from shared import bootstrap
from shared.api.http import error_response, json_response, status_for
from shared.api.local_identity import (
    LOCAL_CLIENT,
    LOCAL_PRINCIPAL,
    LOCAL_TENANT,
    management_audience,
    management_url,
)
from shared.config import Settings
from shared.domain.errors import AuthenticationError, InvalidRequestError, JobServiceError, NotFoundError

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # its __init__ has no annotations

MANAGEMENT = "management"
SUBSCRIPTION = f"{MANAGEMENT}/subscriptions/{{subscriptionId}}"
LOCATION = "eastus"  # clients insist on a region name; nothing here depends on it
USER_ASSIGNED_IDS = ("client_id", "object_id", "mi_res_id", "msi_res_id", "principal_id")

Reader = Callable[[func.HttpRequest, Settings], dict[str, Any]]


class SubscriptionNotFoundError(NotFoundError):
    default_message = "The subscription could not be found."
    code = "SubscriptionNotFound"


class ResourceNotFoundError(NotFoundError):
    default_message = "The resource could not be found."
    code = "ResourceNotFound"


@bp.function_name("local_identity_token")
@bp.route(route="identity/token", methods=["GET"])
def identity_token(req: func.HttpRequest) -> func.HttpResponse:
    try:
        if any(req.params.get(name) for name in USER_ASSIGNED_IDS):
            raise InvalidRequestError("This host has one identity, system-assigned: ask without a client or object id.")
        issued = bootstrap.local_identity().exchange(
            req.headers.get("X-IDENTITY-HEADER", ""), req.params.get("resource", ""), bootstrap.pipeline().clock.now()
        )
    except JobServiceError as error:  # the protocol's own error shape, which MSAL and azure-identity report
        return json_response({"statusCode": status_for(error), "message": error.message}, status_for(error))
    return json_response(
        {
            "access_token": issued.access_token,
            "expires_on": str(issued.expires_on),
            "resource": issued.resource,
            "token_type": "Bearer",
            "client_id": LOCAL_CLIENT,
        }
    )


@bp.function_name("local_cloud_metadata")
@bp.route(route=f"{MANAGEMENT}/metadata/endpoints", methods=["GET"])
def cloud_metadata(req: func.HttpRequest) -> func.HttpResponse:
    """Anonymous, as Azure's: what `az cloud register` fills the cloud's endpoints from."""
    s = bootstrap.settings()
    return json_response(
        {
            "name": "QuantumJobServiceLocal",
            "portal": f"{s.api_base_url}portal/",
            "resourceManager": f"{management_url(s)}/",
            "authentication": {
                "loginEndpoint": s.api_base_url,
                "audiences": [management_audience(s)],
                "tenant": LOCAL_TENANT,
                "identityProvider": "AAD",
            },
            "suffixes": {},
        }
    )


def _managed(read: Reader) -> Callable[[func.HttpRequest], func.HttpResponse]:
    """A management read: a bearer token of the local identity for the management audience, then `read`."""

    def run(req: func.HttpRequest) -> func.HttpResponse:
        s = bootstrap.settings()
        try:
            scheme, _, token = req.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationError("A bearer token of the local identity is required (az login --identity).")
            bootstrap.local_identity().tokens(management_audience(s)).caller(token.strip())
            return json_response(read(req, s))
        except JobServiceError as error:
            return error_response(error)

    run.__name__ = read.__name__
    return run


def _subscription(settings: Settings, subscription_id: str) -> dict[str, Any]:
    if subscription_id.lower() != settings.subscription_id.lower():
        raise SubscriptionNotFoundError(f"The subscription '{subscription_id}' could not be found.")
    return {
        "id": f"/subscriptions/{settings.subscription_id}",
        "subscriptionId": settings.subscription_id,
        "tenantId": LOCAL_TENANT,
        "displayName": "Quantum job service (local)",
        "state": "Enabled",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "spendingLimit": "Off"},
    }


def _workspace(settings: Settings) -> dict[str, Any]:
    catalog = bootstrap.pipeline().catalog
    return {
        "id": f"/{settings.workspace_path}",
        "name": settings.workspace_name,
        "type": "Microsoft.Quantum/Workspaces",
        "location": LOCATION,
        "identity": {"type": "SystemAssigned", "principalId": LOCAL_PRINCIPAL, "tenantId": LOCAL_TENANT},
        "properties": {
            "provisioningState": "Succeeded",
            "usable": "Yes",
            "endpointUri": settings.api_base_url,
            "apiKeyEnabled": True,
            "providers": [
                {"providerId": p.id, "providerSku": "local", "provisioningState": "Succeeded"}
                for p in catalog.providers
            ],
        },
    }


@bp.function_name("local_subscriptions")
@bp.route(route=f"{MANAGEMENT}/subscriptions", methods=["GET"])
@_managed
def subscriptions(req: func.HttpRequest, s: Settings) -> dict[str, Any]:
    return {"value": [_subscription(s, s.subscription_id)]}


@bp.function_name("local_subscription")
@bp.route(route=SUBSCRIPTION, methods=["GET"])
@_managed
def subscription(req: func.HttpRequest, s: Settings) -> dict[str, Any]:
    return _subscription(s, req.route_params["subscriptionId"])


@bp.function_name("local_workspaces")
@bp.route(route=f"{SUBSCRIPTION}/providers/Microsoft.Quantum/workspaces", methods=["GET"])
@_managed
def workspaces(req: func.HttpRequest, s: Settings) -> dict[str, Any]:
    _subscription(s, req.route_params["subscriptionId"])
    return {"value": [_workspace(s)]}


@bp.function_name("local_workspace")
@bp.route(
    route=f"{SUBSCRIPTION}/resourceGroups/{{resourceGroupName}}/providers/Microsoft.Quantum/workspaces/{{workspaceName}}",
    methods=["GET"],
)
@_managed
def workspace(req: func.HttpRequest, s: Settings) -> dict[str, Any]:
    _subscription(s, req.route_params["subscriptionId"])
    named = (req.route_params["resourceGroupName"].lower(), req.route_params["workspaceName"].lower())
    if named != (s.resource_group.lower(), s.workspace_name.lower()):
        raise ResourceNotFoundError(
            f"The Resource 'Microsoft.Quantum/workspaces/{req.route_params['workspaceName']}' under resource group "
            f"'{req.route_params['resourceGroupName']}' was not found."
        )
    return _workspace(s)
