"""Where the endpoint, the API key and the workspace come from: flags, then the environment, then a config file."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from qjobs.errors import UsageError

DEFAULT_ENDPOINT = "http://127.0.0.1:7071/api/"
LOCAL_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
LOCAL_RESOURCE_GROUP = "local"
LOCAL_WORKSPACE = "local"
CONFIG_KEYS = ("endpoint", "key", "subscription", "resourceGroup", "workspace")


@dataclass(frozen=True)
class Workspace:
    subscription: str
    resource_group: str
    name: str


@dataclass(frozen=True)
class Connection:
    endpoint: str
    key: str
    workspace: Workspace


def read_config(path: Path, *, required: bool) -> dict[str, str]:
    """The config file's settings; a missing default file is no settings, a broken file is an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise UsageError(f"config file {path} (from QJOBS_CONFIG) does not exist") from None
        return {}
    except OSError as error:
        raise UsageError(f"cannot read config file {path} ({error.strerror or error})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"config file {path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"config file {path} must hold a JSON object with keys {', '.join(CONFIG_KEYS)}")
    settings: dict[str, str] = {}
    for name in CONFIG_KEYS:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise UsageError(f"config file {path}: {name!r} must be a non-empty string")
        settings[name] = value
    return settings


def resolve(
    *,
    endpoint: str | None,
    key: str | None,
    subscription: str | None,
    resource_group: str | None,
    workspace_name: str | None,
    environ: Mapping[str, str] = os.environ,
) -> Connection:
    """Each setting from its flag, else the environment (endpoint and key), else the config file, else the default."""
    explicit = environ.get("QJOBS_CONFIG")
    path = Path(explicit) if explicit else Path.home() / ".config" / "qjobs" / "config.json"
    config = read_config(path, required=bool(explicit))
    chosen_key = key or environ.get("QJOBS_KEY") or config.get("key")
    if not chosen_key:
        raise UsageError(f'no API key: pass --key, set QJOBS_KEY, or put "key" in {path}')
    return Connection(
        endpoint=_endpoint(endpoint or environ.get("QJOBS_ENDPOINT") or config.get("endpoint") or DEFAULT_ENDPOINT),
        key=chosen_key,
        workspace=Workspace(
            subscription=subscription or config.get("subscription") or LOCAL_SUBSCRIPTION,
            resource_group=resource_group or config.get("resourceGroup") or LOCAL_RESOURCE_GROUP,
            name=workspace_name or config.get("workspace") or LOCAL_WORKSPACE,
        ),
    )


def _endpoint(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise UsageError(f"the endpoint {url!r} is not an http(s) URL such as {DEFAULT_ENDPOINT}")
    return url if url.endswith("/") else url + "/"
