"""Programs dropped into the `programs` container become jobs, through the host's blob trigger."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from shared.config import Settings
from shared.services.intake import drop_job_id
from tests.e2e.helpers import Api
from tests.servers import LocalHostProcess

pytestmark = pytest.mark.integration

GHZ = (
    b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nh q[0];\ncx q[0], q[1];\ncx q[1], q[2];\n'
    b"measure q -> c;\n"
)
BROKEN = b'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0];\nfoo q[1];\n'


@pytest.fixture(scope="module")
def programs(azurite_port: int, host: LocalHostProcess) -> Any:
    client = BlobServiceClient.from_connection_string(
        Settings(azurite_blob_port=azurite_port, storage_connection=None).blob_connection_string
    )
    return client.get_container_client("programs")


def wait_for_job(api: Api, job_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = api.get_job(job_id)
        if response.ok and response.json()["status"] in {"Succeeded", "Failed", "Cancelled"}:
            return dict(response.json())
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} from a dropped blob is not final after {timeout} s")


def test_a_dropped_program_runs_with_options_from_metadata(programs: Any, host: LocalHostProcess) -> None:
    name = f"drops/ghz-{uuid.uuid4().hex[:6]}.qasm"
    programs.upload_blob(
        name,
        GHZ,
        metadata={
            "target": "quantinuum.sim.h2-1e",
            "shots": "200",
            "jobname": "ghz-drop",
            "tags": "drop,ghz",
        },
    )
    job = wait_for_job(Api(host), drop_job_id("programs", name, GHZ))
    assert job["status"] == "Succeeded", job["errorData"]
    assert (job["name"], job["inputParams"]["shots"], job["tags"]) == ("ghz-drop", 200, ["drop", "ghz"])
    assert job["inputDataFormat"] == "honeywell.openqasm.v1"


def test_the_same_blob_written_again_is_still_one_job(programs: Any, host: LocalHostProcess) -> None:
    api = Api(host)
    name = f"twice-{uuid.uuid4().hex[:6]}.qasm"
    programs.upload_blob(name, GHZ, metadata={"target": "ionq.simulator"})
    job_id = drop_job_id("programs", name, GHZ)
    wait_for_job(api, job_id)
    programs.upload_blob(name, GHZ, metadata={"target": "ionq.simulator"}, overwrite=True)  # new etag: fires again
    time.sleep(1.0)  # several poll intervals of the trigger
    listed = api.session.get(f"{api.base}/jobs", params={"filter": f"Name eq '{name}'"}).json()["value"]
    assert [j["id"] for j in listed] == [job_id]


def test_an_invalid_dropped_program_is_a_failed_job_naming_line_and_column(
    programs: Any, host: LocalHostProcess
) -> None:
    api = Api(host)
    name = f"broken-{uuid.uuid4().hex[:6]}.qasm"
    programs.upload_blob(name, BROKEN, metadata={"target": "ionq.simulator"})
    job = wait_for_job(api, drop_job_id("programs", name, BROKEN))
    assert job["status"] == "Failed"
    assert job["errorData"]["code"] == "InvalidProgram"
    assert "line 5, column 1" in job["errorData"]["message"]
    listed = api.session.get(f"{api.base}/jobs", params={"filter": f"Name eq '{name}' and State eq 'Failed'"}).json()
    assert [j["id"] for j in listed["value"]] == [job["id"]]


def test_a_dropped_program_without_a_target_fails_and_says_so(programs: Any, host: LocalHostProcess) -> None:
    name = f"untargeted-{uuid.uuid4().hex[:6]}.qasm"
    programs.upload_blob(name, GHZ)
    job = wait_for_job(Api(host), drop_job_id("programs", name, GHZ))
    assert job["status"] == "Failed"
    assert "'target' is required" in job["errorData"]["message"]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        pytest.param("a//b-{}.qasm", "empty", id="empty-segment"),
        pytest.param("trail-{}/", "ends with '/'", id="trailing-slash"),
    ],
)
def test_a_blob_name_with_path_tricks_is_a_failed_job_that_names_the_problem(
    programs: Any, host: LocalHostProcess, name: str, problem: str
) -> None:
    name = name.format(uuid.uuid4().hex[:6])
    programs.upload_blob(name, GHZ, metadata={"target": "ionq.simulator"})
    job = wait_for_job(Api(host), drop_job_id("programs", name, GHZ))
    assert job["status"] == "Failed"
    assert job["errorData"]["target"] == "blobName"
    assert problem in job["errorData"]["message"]
    assert job["name"] == "rejected-blob"
