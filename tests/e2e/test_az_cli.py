"""The real `az` CLI against the local host in its https mode (issue 10): azure-cli from PyPI, in an environment of
its own (.venv-az, requirements-az.txt), and the `quantum` extension built from its source, which is not on PyPI.

Opt-in: AZ_QUANTUM_EXTENSION_SRC names `src/quantum` of a snapshot of Azure/azure-cli-extensions; unset, the
module skips before anything is installed. `az` registers the host as a custom cloud, signs in with
`az login --identity` (the API key as IDENTITY_HEADER) and runs the monitoring commands, every request through
a recording proxy that lets only 127.0.0.1 through: the test shows that nothing else was even tried.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.api.local_identity import LOCAL_TENANT
from tests.e2e.helpers import Api, ionq_job_body
from tests.recording_proxy import RecordingProxy
from tests.servers import API_KEY, ROOT, SUBSCRIPTION, LocalHostProcess

SOURCE = os.environ.get("AZ_QUANTUM_EXTENSION_SRC", "")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not SOURCE, reason="AZ_QUANTUM_EXTENSION_SRC is unset (the path of src/quantum of azure-cli-extensions)"
    ),
]

AZ_VENV = ROOT / ".venv-az"
BELL = json.dumps(
    {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}
).encode()
BELL_QASM = b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
WORKSPACE = ("-g", "local", "-w", "local")  # 1.0.0b16 dropped --location from the job and target commands

Az = Callable[..., str]
AZURE_CLI_FIRST_RUN_CHECK = "azcliprod.blob.core.windows.net:443"  # azure.cli.core.util.handle_version_update


@pytest.fixture(scope="module")
def extensions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """azure-cli in .venv-az (made once), and the extension built from its source into a folder of extensions."""
    if not (AZ_VENV / "bin" / "az").exists():
        subprocess.run([sys.executable, "-m", "venv", str(AZ_VENV)], check=True)
        pip = [str(AZ_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(ROOT / "requirements-az.txt")], check=True)
    folder = tmp_path_factory.mktemp("az-extensions")
    install = [str(AZ_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*install, "--no-deps", "--target", str(folder / "quantum"), SOURCE], check=True)
    return folder


@pytest.fixture(scope="module")
def https_host(azurite_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHostProcess]:
    host = LocalHostProcess(
        state_dir=Path(tmp_path_factory.mktemp("az-host")),
        blob_port=azurite_port,
        settings={"LOCAL_HTTPS": "true", "LOCAL_DISABLED_FUNCTIONS": "translate_quantinuum"},  # h2 jobs wait
    )
    host.start()
    yield host
    host.stop()


@pytest.fixture(scope="module")
def proxy() -> Iterator[tuple[RecordingProxy, str]]:
    recorder = RecordingProxy()
    with recorder.serving() as url:
        yield recorder, url


@pytest.fixture(scope="module")
def az(
    extensions: Path,
    https_host: LocalHostProcess,
    proxy: tuple[RecordingProxy, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Az:
    """`az ARGS...` as a user runs it after the README's setup; returns its standard output."""
    home = tmp_path_factory.mktemp("az-home")
    env = {
        "PATH": f"{AZ_VENV / 'bin'}:{os.environ['PATH']}",
        "HOME": str(home),
        "AZURE_CONFIG_DIR": str(home / ".azure"),
        "AZURE_EXTENSION_DIR": str(extensions),
        "REQUESTS_CA_BUNDLE": str(https_host.state_dir / "tls" / "ca.pem"),
        "IDENTITY_ENDPOINT": f"{https_host.endpoint}identity/token",
        "IDENTITY_HEADER": API_KEY,
        "HTTPS_PROXY": proxy[1],
        "HTTP_PROXY": proxy[1],
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "AZURE_CORE_NO_COLOR": "true",
        # The extension looks for a newer version of itself once a day; today's look is taken as done.
        "AZURE_QUANTUM_VERSION_CHECK_DATE": datetime.now().astimezone().date().isoformat(),
    }

    def run(*args: str) -> str:
        done = subprocess.run(["az", *args], env=env, capture_output=True, text=True, timeout=180, check=False)
        assert done.returncode == 0, f"az {' '.join(args)}:\n{done.stderr}"
        return done.stdout

    run("cloud", "register", "-n", "QuantumLocal", "--endpoint-resource-manager", f"{https_host.endpoint}management")
    run("cloud", "set", "-n", "QuantumLocal")
    run("login", "--identity")
    return run


def test_az_signs_in_with_the_api_key(
    az: Az, https_host: LocalHostProcess, proxy: tuple[RecordingProxy, str], azurite_port: int
) -> None:
    account = json.loads(az("account", "show", "-o", "json"))
    assert (account["id"], account["environmentName"], account["user"]["name"]) == (
        SUBSCRIPTION,
        "QuantumLocal",
        "systemAssignedIdentity",
    )
    assert json.loads(az("account", "get-access-token", "-o", "json"))["tenant"] == LOCAL_TENANT
    _only_loopback_was_tried(proxy[0], https_host, azurite_port)


def test_az_quantum_monitors_and_cancels_jobs(
    az: Az, https_host: LocalHostProcess, proxy: tuple[RecordingProxy, str], azurite_port: int
) -> None:
    if "select_value('endpoint'" not in (Path(SOURCE) / "azext_quantum" / "operations" / "workspace.py").read_text():
        pytest.skip("this quantum extension predates the workspace endpoint in its config: it reaches only Azure")
    api = Api(https_host)
    api.session.verify = str(https_host.state_dir / "tls" / "ca.pem")
    name = f"az-{uuid.uuid4().hex[:8]}"
    done, waiting = str(uuid.uuid4()), str(uuid.uuid4())
    assert api.put_job(done, ionq_job_body(api.upload_program(BELL), f"{name}-bell")).status_code == 201
    assert api.put_job(waiting, _h2_job_body(api.upload_program(BELL_QASM), f"{name}-h2")).status_code == 201
    assert api.wait_final([done])[done]["status"] == "Succeeded"
    # `workspace set` reads the workspace through the cloud's resource manager and keeps its endpointUri in the
    # config (defaults.endpoint), where the data-plane commands take their address from.
    az("quantum", "workspace", "set", *WORKSPACE, "-o", "json")
    assert json.loads(az("config", "get", "defaults.endpoint", "-o", "json"))["value"] == https_host.endpoint

    def listed(*filters: str) -> set[str]:
        return {job["id"] for job in json.loads(az("quantum", "job", "list", *WORKSPACE, *filters, "-o", "json"))}

    providers = {p["id"] for p in json.loads(az("quantum", "target", "list", *WORKSPACE, "-o", "json"))}
    assert {"ionq", "quantinuum", "rigetti"} <= providers
    quotas = json.loads(az("quantum", "workspace", "quotas", *WORKSPACE, "-o", "json"))
    assert {q["providerId"] for q in quotas} >= {"ionq"}
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert listed("--status", "Succeeded", "--provider-id", "ionq", "--target-id", "ionq.simulator") == {done}
    assert listed("--item-type", "job", "--created-after", yesterday, "--job-name", name) == {done, waiting}
    assert listed("--status", "Waiting", "--provider-id", "quantinuum") == {waiting}
    table = az("quantum", "job", "show", *WORKSPACE, "--job-id", done, "-o", "table")
    assert all(word in table for word in (done, "Succeeded", "ionq.simulator", f"{name}-bell")), table
    assert json.loads(az("quantum", "job", "wait", *WORKSPACE, "--job-id", done, "-o", "json"))["status"] == "Succeeded"
    bars = az("quantum", "job", "output", *WORKSPACE, "--job-id", done, "-o", "table")
    assert [line.split()[:2] for line in bars.splitlines()[2:]] == [["0", "0.50000000"], ["3", "0.50000000"]], bars
    cancelled = json.loads(az("quantum", "job", "cancel", *WORKSPACE, "--job-id", waiting, "-o", "json"))
    assert cancelled["status"] == "Cancelled"
    _only_loopback_was_tried(proxy[0], https_host, azurite_port)


def _only_loopback_was_tried(recorder: RecordingProxy, host: LocalHostProcess, azurite_port: int) -> None:
    """Every request went to the host or Azurite, but azure-cli's own look for its latest version on its first run
    in a new config folder (refused by the proxy, as any other address would be; it goes on without)."""
    assert f"127.0.0.1:{host.port}" in recorder.targets, "az's requests went through the recording proxy"
    tried = set(recorder.targets) - {AZURE_CLI_FIRST_RUN_CHECK}
    assert tried <= {f"127.0.0.1:{host.port}", f"127.0.0.1:{azurite_port}"}, recorder.targets


def _h2_job_body(input_url: str, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "providerId": "quantinuum",
        "target": "quantinuum.sim.h2-1e",
        "inputDataUri": input_url,
        "inputDataFormat": "honeywell.openqasm.v1",
        "inputParams": {"shots": 10},
        "outputDataFormat": "honeywell.quantum-results.v1",
    }
