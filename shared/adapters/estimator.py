"""`microsoft.estimator`: physical resource estimates for a QIR program, with qdk's resource estimator.

The program's logical counts (qubits, T gates, rotations and their depth, CCZs, measurements) are taken
from the parsed QIR; qdk turns them into physical estimates for the job's `inputParams` (qubit model, QEC
scheme, error budget, as in Azure's schema). The output is the `microsoft.resource-estimates.v1` JSON that
Azure's estimator returns. qdk exposes that step only through `qdk._native.physical_estimates`, so the qdk
pin in requirements.txt matters here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import qdk._native as qdk_native
from pydantic import JsonValue

from shared.domain.catalog import load_catalog
from shared.domain.errors import InvalidRequestError
from shared.programs.qir import QirProgram

_T_GATES = frozenset({"t", "t__adj"})
_ROTATIONS = frozenset({"rx", "ry", "rz", "rxx", "ryy", "rzz"})
_CCZ = frozenset({"ccx", "ccz"})
_MEASUREMENTS = frozenset({"m", "mz", "mresetz"})
# Azure's inputParams for the estimator; anything else is a mistake the caller should hear about.
PARAMETERS = frozenset(
    {"qubitParams", "qecScheme", "errorBudget", "constraints", "distillationUnitSpecifications", "estimateType"}
)


def logical_counts(program: QirProgram) -> dict[str, int]:
    """The counts the estimator starts from; rotation depth is the number of layers holding a rotation."""
    depth = [0] * program.num_qubits
    rotation_layers: set[int] = set()
    for op in program.operations:
        if not op.qubits:
            continue
        layer = max(depth[q] for q in op.qubits) + 1
        for qubit in op.qubits:
            depth[qubit] = layer
        if op.name in _ROTATIONS:
            rotation_layers.add(layer)
    names = [op.name for op in program.operations]
    return {
        "numQubits": program.num_qubits,
        "tCount": sum(name in _T_GATES for name in names),
        "rotationCount": sum(name in _ROTATIONS for name in names),
        "rotationDepth": len(rotation_layers),
        "cczCount": sum(name in _CCZ for name in names),
        "ccixCount": 0,
        "measurementCount": sum(name in _MEASUREMENTS for name in names),
    }


def estimate(program: QirProgram, params: Mapping[str, JsonValue]) -> bytes:
    """The resource estimate for the program under `params` (Azure's estimator inputParams).

    Those every target takes (shots, and what the SDK sends with any QIR job: entryPoint, arguments,
    target_profile, ...) are not the estimator's and are left out; any other unknown key is refused.
    """
    settings = {key: value for key, value in params.items() if key in PARAMETERS}
    unknown = sorted(set(params) - PARAMETERS - set(load_catalog().common_input_params))
    if unknown:
        raise InvalidRequestError(
            f"Unknown estimator parameter(s): {', '.join(unknown)}; use {', '.join(sorted(PARAMETERS))}.",
            target="inputParams",
        )
    try:
        result = json.loads(qdk_native.physical_estimates(json.dumps(logical_counts(program)), json.dumps([settings])))
    except qdk_native.QSharpError as error:
        raise InvalidRequestError(f"The estimator parameters are not valid: {error}", target="inputParams") from None
    estimate_of_one = result[0] if isinstance(result, list) and len(result) == 1 else result
    return json.dumps(estimate_of_one).encode()
