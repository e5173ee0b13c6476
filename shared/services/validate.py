"""Checks shared by submit and the synchronous `jobs:validate`: target, formats, shots, the program itself."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic.alias_generators import to_camel

from shared.domain.analog import check_pulses, check_register
from shared.domain.catalog import Route, TargetSpec, check_formats
from shared.domain.errors import Diagnostic, InvalidRequestError, PermanentJobError, UnsupportedProgramError
from shared.domain.ids import ProviderId, TargetId
from shared.ports import ProgramInfo, Programs
from shared.services.pipeline import Pipeline, input_blob


@dataclass(frozen=True)
class Checked:
    target: TargetSpec
    route: Route
    params: dict[str, JsonValue]


def check_request(
    p: Pipeline,
    provider_id: str,
    target_id: str,
    input_format: str,
    output_format: str | None,
    params: dict[str, JsonValue],
) -> Checked:
    """The target exists, takes these formats and inputParams, and the shots are in its range.

    The inputParams are kept as sent: a job that names no shots runs its target's default (`Pipeline.shots`).
    """
    target = p.catalog.target(provider_id, target_id)
    route = check_formats(target, input_format, output_format)
    p.catalog.check_input_params(target, params)
    _check_shots(params, target)
    return Checked(target, route, params)


def check_program(programs: Programs, program: bytes, input_format: str, target: TargetSpec) -> ProgramInfo:
    """The program parses, is valid in its format, and fits on the target.

    A text program's qubits are checked against the target while it is parsed, before its circuit is built.
    """
    info = programs.inspect(program, input_format, max_qubits=target.max_qubits)
    profiles = target.route_for(input_format).qir_profiles  # ("base",) unless a QIR route allows more
    needed = info.profile
    if needed not in profiles:
        message = (
            f"the program needs the QIR {needed} profile (it reads measurement results back or branches on "
            f"them); {target.id} runs QIR in the {', '.join(profiles)} profile only"
        )
        raise UnsupportedProgramError(
            f"{message[0].upper()}{message[1:]}. Submit it to a target that supports the {needed} profile, "
            "or compile it for the base profile.",
            diagnostics=[Diagnostic(code="QirProfileNotSupported", message=message)],
            target="inputData",
        )
    if info.num_qubits > target.max_qubits:
        found = programs.qubit_limit_diagnostic(program, input_format, info.num_qubits, target.max_qubits)
        raise UnsupportedProgramError(
            f"The program uses {info.num_qubits} qubits; {target.id} has {target.max_qubits}.",
            diagnostics=[found],
            target="inputData",
        )
    noise = target.noise
    if noise is not None and not info.clifford and info.num_qubits > noise.max_non_clifford_qubits:
        found = programs.qubit_limit_diagnostic(program, input_format, info.num_qubits, noise.max_non_clifford_qubits)
        raise UnsupportedProgramError(
            f"The program uses {info.num_qubits} qubits and non-Clifford gates; {target.id}'s noisy emulation takes "
            f"such programs up to {noise.max_non_clifford_qubits} qubits (Clifford programs of any size up to "
            f"{target.max_qubits}). Run it on an ideal simulator, or reduce its width.",
            diagnostics=[found],
            target="inputData",
        )
    _check_analog(programs, program, input_format, info, target)
    return info


def _check_analog(programs: Programs, program: bytes, input_format: str, info: ProgramInfo, target: TargetSpec) -> None:
    """A neutral-atom program fits the target's device, if it has one, and the size its local emulation takes."""
    analog = target.analog
    if analog is None or info.analog is None:
        return
    if analog.device is not None:
        check_register(analog.device, info.analog.atoms, info.analog.register_path)
        check_pulses(analog.device, info.analog.pulses)
    if info.num_qubits > analog.max_emulated_atoms:
        found = programs.qubit_limit_diagnostic(program, input_format, info.num_qubits, analog.max_emulated_atoms)
        raise UnsupportedProgramError(
            f"The sequence has {info.num_qubits} atoms; {target.id}'s local emulation takes registers up to "
            f"{analog.max_emulated_atoms} atoms (the target itself up to {target.max_qubits}). Use fewer atoms.",
            diagnostics=[found],
            target="inputData",
        )


class ValidationRequest(BaseModel):
    """The body of `POST jobs:validate`: a job's create-time fields, with the program inline or by URI."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    provider_id: ProviderId | None = None
    target: TargetId
    input_data_format: str = Field(min_length=1, max_length=128)
    output_data_format: str | None = Field(None, max_length=128)
    input_params: dict[str, JsonValue] = Field(default_factory=dict)
    input_data: str | None = Field(None, description="the program text")
    input_data_uri: str | None = Field(None, max_length=2048)


@dataclass(frozen=True)
class Validation:
    valid: bool
    target: str
    findings: tuple[Diagnostic, ...]
    info: ProgramInfo | None


def validate_job(p: Pipeline, request: ValidationRequest) -> Validation:
    """Everything submit would check, without creating a job; every finding is reported, not raised."""
    try:
        provider = request.provider_id or p.catalog.provider_of(request.target).id
        checked = check_request(
            p, provider, request.target, request.input_data_format, request.output_data_format, request.input_params
        )
        info = check_program(p.programs, _program(p, request), request.input_data_format, checked.target)
    except PermanentJobError as error:
        findings = error.diagnostics or (Diagnostic(code=error.code, message=error.message, path=error.target),)
        return Validation(valid=False, target=request.target, findings=tuple(findings), info=None)
    return Validation(valid=True, target=checked.target.id, findings=(), info=info)


def _program(p: Pipeline, request: ValidationRequest) -> bytes:
    if (request.input_data is None) == (request.input_data_uri is None):
        raise InvalidRequestError("Give the program as exactly one of inputData (text) and inputDataUri.")
    if request.input_data is not None:
        data = request.input_data.encode()
        if len(data) > p.limits.max_input_bytes:
            raise InvalidRequestError(f"inputData is {len(data)} bytes; the limit is {p.limits.max_input_bytes}.")
        return data
    return p.artifacts.get(*input_blob(p, request.input_data_uri or ""), max_bytes=p.limits.max_input_bytes)


def _check_shots(params: dict[str, JsonValue], target: TargetSpec) -> None:
    """`shots`, and `count` (its name in older SDKs), when given, are in the target's range."""
    for key in ("shots", "count"):
        shots = params.get(key)
        if shots is not None and (
            isinstance(shots, bool) or not isinstance(shots, int) or not 1 <= shots <= target.max_shots
        ):
            raise InvalidRequestError(
                f"inputParams.{key} must be a whole number from 1 to {target.max_shots} for {target.id}; "
                f"got {shots!r}.",
                target=f"inputParams.{key}",
            )
