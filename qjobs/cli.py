"""The qjobs commands, shaped like `az quantum job` and `az quantum target`."""

from __future__ import annotations

import functools
import inspect
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer

from qjobs import inputs, render
from qjobs.client import Json, QuantumClient
from qjobs.config import DEFAULT_ENDPOINT, resolve
from qjobs.errors import QJobsError, with_code
from qjobs.render import Output

FIRST_POLL, MAX_POLL = 0.5, 5.0  # seconds between polls while waiting: from the first, growing to the longest

app = typer.Typer(
    help=(
        "Submit quantum jobs to the job service and follow them, the way `az quantum job` does. "
        "The endpoint, key and workspace come from flags, else $QJOBS_ENDPOINT and $QJOBS_KEY, else the "
        "config file $QJOBS_CONFIG or ~/.config/qjobs/config.json "
        '({"endpoint", "key", "subscription", "resourceGroup", "workspace"}).'
    ),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a traceback must never show the API key
)
job_app = typer.Typer(help="Submit, list, show, wait for and cancel jobs; fetch their output.", no_args_is_help=True)
target_app = typer.Typer(help="The workspace's targets.", no_args_is_help=True)
app.add_typer(job_app, name="job")
app.add_typer(target_app, name="target")


class Status(StrEnum):
    WAITING = "Waiting"
    EXECUTING = "Executing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


FINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})

_WORKSPACE = "Workspace"
Endpoint = Annotated[
    str | None,
    typer.Option(
        help=f"Service URL; else $QJOBS_ENDPOINT, the config file, {DEFAULT_ENDPOINT}", rich_help_panel=_WORKSPACE
    ),
]
Key = Annotated[str | None, typer.Option(help="API key; else $QJOBS_KEY, the config file.", rich_help_panel=_WORKSPACE)]
Subscription = Annotated[
    str | None, typer.Option(help="Else the config file, the local workspace's.", rich_help_panel=_WORKSPACE)
]
ResourceGroup = Annotated[
    str | None,
    typer.Option("--resource-group", "-g", help="Else the config file, local.", rich_help_panel=_WORKSPACE),
]
WorkspaceName = Annotated[
    str | None,
    typer.Option("--workspace-name", "-w", help="Else the config file, local.", rich_help_panel=_WORKSPACE),
]
OutputFormat = Annotated[Output, typer.Option("--output", "-o", help="table, json or tsv.", case_sensitive=False)]
JobId = Annotated[str, typer.Option("--job-id", "-j", help="The job's id.", show_default=False)]


@dataclass(frozen=True)
class WorkspaceOptions:
    """The workspace options every command takes; the client is made when a command needs it, after its own checks."""

    endpoint: Endpoint = None
    key: Key = None
    subscription: Subscription = None
    resource_group: ResourceGroup = None
    workspace_name: WorkspaceName = None

    def client(self) -> QuantumClient:
        return QuantumClient(resolve(**asdict(self)))


def workspace_command(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the workspace options, after its own, and hand them to it as `workspace`."""
    options = get_type_hints(WorkspaceOptions, include_extras=True)

    @functools.wraps(command)
    def run(**values: Any) -> None:
        command(workspace=WorkspaceOptions(**{name: values.pop(name) for name in options}), **values)

    own = inspect.signature(command, eval_str=True).parameters.values()
    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # the signature Typer reads
        [param for param in own if param.name != "workspace"]
        + [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=option)
            for name, option in options.items()
        ]
    )
    return run


@job_app.command("submit")
@workspace_command
def submit(
    workspace: WorkspaceOptions,
    target_id: Annotated[str, typer.Option("--target-id", "-t", help="e.g. ionq.simulator.", show_default=False)],
    job_input_file: Annotated[
        Path,
        typer.Option(help="The program: .json (IonQ circuit) or .qasm.", exists=True, dir_okay=False, readable=True),
    ],
    job_input_format: Annotated[
        str | None, typer.Option(help="Default: from the file (ionq.circuit.v1, openqasm.v2/v3, ...).")
    ] = None,
    job_params: Annotated[
        list[str] | None,
        typer.Option(help='A JSON object or key=value pairs, e.g. \'{"seed": 7}\' or "seed=7"; may be repeated.'),
    ] = None,
    job_name: Annotated[str | None, typer.Option(help="Default: the input file's name without extension.")] = None,
    shots: Annotated[int | None, typer.Option(min=1, help="Default: the target's.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the job to finish, then show it.")] = False,
    output: OutputFormat = Output.TABLE,
) -> None:
    """Upload a program and submit it as a job to a target."""
    try:
        params = inputs.job_params(job_params or [])
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--job-params'") from None
    if shots is not None:
        params["shots"] = shots
    program = job_input_file.read_bytes()
    try:
        data_format = job_input_format or inputs.input_format(job_input_file, program, target_id)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--job-input-file'") from None
    client = workspace.client()
    job_id = str(uuid.uuid4())
    request = {
        "name": job_name or job_input_file.stem,
        "providerId": inputs.provider_of(target_id, client.providers()),
        "target": target_id,
        "inputDataFormat": data_format,
        "inputParams": params,
    }
    submitted = client.submit(job_id, program, inputs.content_type(data_format), request)
    if wait:
        _show_when_final(client, job_id, None, output)
    else:
        render.job(submitted, output)


@job_app.command("list")
@workspace_command
def list_jobs(
    workspace: WorkspaceOptions,
    status: Annotated[
        list[Status] | None, typer.Option(case_sensitive=False, help="Only jobs in this status; may be repeated.")
    ] = None,
    provider_id: Annotated[list[str] | None, typer.Option(help="Only this provider's jobs; may be repeated.")] = None,
    target_id: Annotated[
        list[str] | None, typer.Option("--target-id", "-t", help="Only this target's jobs; may be repeated.")
    ] = None,
    job_name: Annotated[str | None, typer.Option(help="Only jobs whose name starts with this.")] = None,
    created_after: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Only jobs created on or after this day (UTC).")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="At most this many jobs, newest first.")] = 100,
    all_jobs: Annotated[bool, typer.Option("--all", help="Every matching job, page after page.")] = False,
    output: OutputFormat = Output.TABLE,
) -> None:
    """List jobs, newest first."""
    job_filter = inputs.job_filter(
        name_prefix=job_name,
        provider_ids=provider_id or [],
        target_ids=target_id or [],
        statuses=[s.value for s in status or []],
        created_after=created_after.date() if created_after else None,
    )
    client = workspace.client()
    render.jobs(client.jobs(job_filter, None if all_jobs else top), output)


@job_app.command("show")
@workspace_command
def show(workspace: WorkspaceOptions, job_id: JobId, output: OutputFormat = Output.TABLE) -> None:
    """Show a job."""
    render.job(workspace.client().job(job_id), output)


@job_app.command("output")
@workspace_command
def job_output(workspace: WorkspaceOptions, job_id: JobId, output: OutputFormat = Output.TABLE) -> None:
    """Show a finished job's results: a bar per outcome, or the raw output with -o json."""
    client = workspace.client()
    job = client.job(job_id)
    if job.get("status") != Status.SUCCEEDED:
        still = "" if job.get("status") in FINAL else f"; it has no output yet (qjobs job wait --job-id {job_id})"
        raise QJobsError(_not_succeeded(job) + still)
    render.job_output(job, client.output(job), output)


@job_app.command("wait")
@workspace_command
def wait(
    workspace: WorkspaceOptions,
    job_id: JobId,
    timeout: Annotated[float | None, typer.Option(min=0, help="Give up after this many seconds.")] = None,
    output: OutputFormat = Output.TABLE,
) -> None:
    """Wait until a job is Succeeded, Failed or Cancelled, then show it; exit 0 only if it Succeeded."""
    _show_when_final(workspace.client(), job_id, timeout, output)


@job_app.command("cancel")
@workspace_command
def cancel(workspace: WorkspaceOptions, job_id: JobId, output: OutputFormat = Output.TABLE) -> None:
    """Cancel a job that has not finished."""
    render.job(workspace.client().cancel(job_id), output)


@target_app.command("list")
@workspace_command
def list_targets(workspace: WorkspaceOptions, output: OutputFormat = Output.TABLE) -> None:
    """List the providers' targets: availability, qubits, accepted input formats, and which are local emulations."""
    render.targets(workspace.client().providers(), output)


def _show_when_final(client: QuantumClient, job_id: str, timeout: float | None, output: Output) -> None:
    """Poll with a growing interval until the job is final, show it, and fail unless it Succeeded."""
    limit = math.inf if timeout is None else timeout
    deadline = time.monotonic() + limit
    interval = FIRST_POLL
    with render.waiting(job_id) as show_status:
        while True:
            job = client.job(job_id)
            status = str(job.get("status"))
            show_status(status)
            if status in FINAL:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QJobsError(f"job {job_id} is still {status} after {limit:g} s")
            time.sleep(min(interval, remaining))
            interval = min(interval * 1.5, MAX_POLL)
    render.job(job, output)
    if status != Status.SUCCEEDED:
        raise QJobsError(_not_succeeded(job))


def _not_succeeded(job: Json) -> str:
    """`job <id> is Failed: <errorData message> (<code>)`."""
    text = f"job {job.get('id')} is {job.get('status')}"
    error = job.get("errorData") or {}
    return f"{text}: {with_code(str(error['message']), error.get('code'))}" if error.get("message") else text
