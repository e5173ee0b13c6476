"""The installed `qjobs` command against real local hosts: what a user sees (output, exit codes, one-line errors)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from shared.config import Settings
from shared.domain.catalog import load_catalog
from shared.services.intake import drop_job_id
from tests.e2e.helpers import Api, ionq_job_body
from tests.servers import API_KEY, LocalHostProcess, free_port

pytestmark = pytest.mark.integration

JOB_COLUMNS = ["Name", "Id", "Status", "Target", "Submission time", "Completion time"]
TIME = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"
BELL_JSON = {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}
BELL_QASM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n'
BROKEN_QASM = b'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0];\nfoo q[1];\n'

CATALOG_PROVIDERS = {provider.id for provider in load_catalog().providers}


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def table(self) -> list[list[str]]:
        """The rows of an az-style table, split on runs of two or more spaces; the header underline dropped."""
        lines = [re.split(r" {2,}", line.strip()) for line in self.out.splitlines() if line.strip()]
        assert set("".join(lines[1])) == {"-"}, self.out
        return [lines[0], *lines[2:]]

    def one_line_error(self) -> str:
        assert self.err.endswith("\n") and self.err.count("\n") == 1, self.err
        assert self.err.startswith("qjobs: "), self.err
        return self.err


@pytest.fixture(scope="session")
def qjobs_command() -> str:
    found = shutil.which("qjobs", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("qjobs is not installed in this virtualenv: run `.venv/bin/pip install -e .`")
    return found


@pytest.fixture(scope="session")
def no_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("qjobs") / "config.json"
    path.write_text("{}")
    return path


class Qjobs:
    """Runs the installed command as a user would, in an environment of qjobs settings (and no forced colours)."""

    def __init__(self, command: str, **settings: str) -> None:
        self.command = command
        unset = ("QJOBS_", "FORCE_COLOR", "TTY_")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(unset)} | settings

    def __call__(self, *args: str, **settings: str) -> Run:
        done = subprocess.run(
            [self.command, *args], env=self.env | settings, capture_output=True, text=True, timeout=120, check=False
        )
        assert "Traceback" not in done.stderr, done.stderr
        return Run(done.returncode, done.stdout, done.stderr)


def for_host(command: str, config: Path, endpoint: str) -> Qjobs:
    return Qjobs(command, QJOBS_ENDPOINT=endpoint, QJOBS_KEY=API_KEY, QJOBS_CONFIG=str(config))


@pytest.fixture(scope="session")
def qjobs(qjobs_command: str, no_config: Path, host: LocalHostProcess) -> Qjobs:
    return for_host(qjobs_command, no_config, host.endpoint)


@pytest.fixture(scope="module")
def paused(azurite_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHostProcess]:
    """A host that never translates IonQ jobs (so they stay Waiting) and takes in no dropped programs."""
    host = LocalHostProcess(
        state_dir=tmp_path_factory.mktemp("paused"),
        blob_port=azurite_port,
        settings={"LOCAL_DISABLED_FUNCTIONS": "translate_ionq,intake_program"},
    )
    host.start()
    yield host
    host.stop()


@pytest.fixture(scope="module")
def qjobs_paused(qjobs_command: str, no_config: Path, paused: LocalHostProcess) -> Qjobs:
    return for_host(qjobs_command, no_config, paused.endpoint)


@pytest.fixture
def bell_json(tmp_path: Path) -> Path:
    path = tmp_path / "bell.json"
    path.write_text(json.dumps(BELL_JSON))
    return path


@pytest.fixture
def bell_qasm(tmp_path: Path) -> Path:
    path = tmp_path / "bell.qasm"
    path.write_text(BELL_QASM)
    return path


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_every_command_has_help(qjobs: Qjobs) -> None:
    verbs = ("submit", "list", "show", "output", "wait", "cancel")
    commands = [[], ["job"], ["target"], ["target", "list"], *(["job", verb] for verb in verbs)]
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        runs = list(pool.map(lambda command: qjobs(*command, "--help"), commands))
    for command, run in zip(commands, runs, strict=True):
        assert run.code == 0, run.err
        assert f"Usage: qjobs {' '.join(command)}".rstrip() in run.out
    assert "--job-input-file" in runs[4].out


def test_submit_an_ionq_circuit_then_wait_show_and_read_its_histogram(qjobs: Qjobs, bell_json: Path) -> None:
    name = unique("cli-bell")
    submit = ["job", "submit", "--target-id", "ionq.simulator", "--shots", "100", "-o", "json"]
    submitted = qjobs(*submit, "--job-input-file", str(bell_json), "--job-name", name)
    assert submitted.code == 0, submitted.err
    job = submitted.json()
    assert (job["name"], job["providerId"], job["target"]) == (name, "ionq", "ionq.simulator")
    assert (job["inputDataFormat"], job["inputParams"]["shots"]) == ("ionq.circuit.v1", 100)
    assert job["inputDataUri"].endswith(f"/job-{job['id']}/inputData") and "?" not in job["inputDataUri"]

    waited = qjobs("job", "wait", "--job-id", job["id"])
    assert waited.code == 0, waited.err
    assert waited.table()[1][1:3] == [job["id"], "Succeeded"]

    shown = qjobs("job", "show", "--job-id", job["id"]).table()
    assert shown[0] == JOB_COLUMNS
    assert shown[1][:4] == [name, job["id"], "Succeeded", "ionq.simulator"]
    assert re.fullmatch(TIME, shown[1][4]) and re.fullmatch(TIME, shown[1][5])
    tsv = qjobs("job", "show", "--job-id", job["id"], "-o", "tsv").out.rstrip("\n").split("\t")
    assert tsv == shown[1]

    chart = qjobs("job", "output", "--job-id", job["id"])
    assert chart.code == 0, chart.err
    bars = {row[0]: row[1:] for row in (line.split() for line in chart.out.splitlines()[1:])}
    assert set(bars) == {"00", "11"}
    assert all(value == "0.5000" and bar.startswith("█") for value, bar in bars.values())
    raw = qjobs("job", "output", "--job-id", job["id"], "-o", "json").json()
    assert raw["histogram"].keys() == {"0", "3"}
    assert sum(raw["histogram"].values()) == pytest.approx(1.0)


def test_submit_openqasm_2_to_quantinuum_with_wait_and_job_params(qjobs: Qjobs, bell_qasm: Path) -> None:
    submit = ["job", "submit", "-t", "quantinuum.sim.h2-1e", "--shots", "40", "--wait", "-o", "json"]
    run = qjobs(
        *submit,
        "--job-input-file",
        str(bell_qasm),
        "--job-params",
        '{"entryPoint": "main"}',
        "--job-params",
        "target_profile=Base",
    )
    assert run.code == 0, run.err
    job = run.json()
    assert job["status"] == "Succeeded"
    assert (job["name"], job["providerId"], job["inputDataFormat"]) == ("bell", "quantinuum", "honeywell.openqasm.v1")
    assert job["inputParams"] == {"shots": 40, "entryPoint": "main", "target_profile": "Base"}
    refused = qjobs(*submit, "--job-input-file", str(bell_qasm), "--job-params", "note=hello")
    assert refused.code != 0 and "inputParams.note is not a parameter of quantinuum.sim.h2-1e" in refused.err

    chart = qjobs("job", "output", "-j", job["id"])
    counts = {row[0]: int(row[1]) for row in (line.split() for line in chart.out.splitlines()[1:])}
    leaked = sum(n for outcome, n in counts.items() if outcome not in {"00", "11"})
    assert sum(counts.values()) == 40 and leaked <= 3, "h2-1e is noisy: a Bell pair leaks about 0.4% of shots"
    assert "█" in chart.out
    tsv = dict(line.split("\t") for line in qjobs("job", "output", "-j", job["id"], "-o", "tsv").out.splitlines())
    assert {k: int(v) for k, v in tsv.items()} == counts
    assert set(qjobs("job", "output", "-j", job["id"], "-o", "json").json()) == {"c"}


def test_submit_finds_the_provider_that_lists_the_target(qjobs: Qjobs, tmp_path: Path) -> None:
    """echo-output's provider is not in its name: qjobs asks the service which provider lists it."""
    note = tmp_path / "note.txt"
    note.write_text("{ input: 'data' }")
    submit = ["job", "submit", "-t", "echo-output", "--job-input-format", "microsoft.quantum-log.v1", "--wait"]
    run = qjobs(*submit, "--job-input-file", str(note), "-o", "json")
    assert run.code == 0, run.err
    assert (run.json()["providerId"], run.json()["status"]) == ("microsoft.test.firstparty", "Succeeded")


def test_submit_with_wait_prints_the_final_job_as_a_table(qjobs: Qjobs, bell_json: Path) -> None:
    run = qjobs("job", "submit", "-t", "ionq.simulator", "--job-input-file", str(bell_json), "--wait")
    assert run.code == 0, run.err
    table = run.table()
    assert table[0] == JOB_COLUMNS
    assert table[1][0] == "bell" and table[1][2:4] == ["Succeeded", "ionq.simulator"]


def test_list_filters_by_name_provider_target_status_and_date_in_each_format(
    qjobs: Qjobs, bell_json: Path, bell_qasm: Path
) -> None:
    prefix = unique("cli-list")
    submit = ["job", "submit", "--wait", "-o", "json", "--shots", "10", "--job-input-file"]
    ionq = qjobs(*submit, str(bell_json), "-t", "ionq.simulator", "--job-name", f"{prefix}-a").json()
    quantinuum = qjobs(*submit, str(bell_qasm), "-t", "quantinuum.sim.h2-1e", "--job-name", f"{prefix}-b").json()

    def ids(*filters: str) -> list[str]:
        run = qjobs("job", "list", "--job-name", prefix, *filters, "-o", "json")
        assert run.code == 0, run.err
        return [job["id"] for job in run.json()]

    assert ids() == [quantinuum["id"], ionq["id"]]  # newest first
    assert ids("--provider-id", "ionq") == [ionq["id"]]
    assert ids("--target-id", "quantinuum.sim.h2-1e", "--status", "succeeded") == [quantinuum["id"]]
    assert ids("--status", "Failed", "--status", "Cancelled") == []
    assert ids("--provider-id", "ionq", "--provider-id", "quantinuum", "--top", "1") == [quantinuum["id"]]
    today = ionq["creationTime"][:10]
    assert len(ids("--created-after", today, "--all")) == 2
    assert ids("--created-after", "2999-01-01") == []

    table = qjobs("job", "list", "--job-name", prefix).table()
    assert table[0] == JOB_COLUMNS
    assert [row[:4] for row in table[1:]] == [
        [f"{prefix}-b", quantinuum["id"], "Succeeded", "quantinuum.sim.h2-1e"],
        [f"{prefix}-a", ionq["id"], "Succeeded", "ionq.simulator"],
    ]
    tsv = [line.split("\t") for line in qjobs("job", "list", "--job-name", prefix, "-o", "tsv").out.splitlines()]
    assert tsv == table[1:]


def test_list_pages_with_all_and_stops_at_top(qjobs_paused: Qjobs, paused: LocalHostProcess, bell_json: Path) -> None:
    api = Api(paused)
    prefix = unique("cli-many")
    program = api.upload_program(bell_json.read_bytes())
    for i in range(105):
        body = {**ionq_job_body(program, f"{prefix}-{i:03}"), "inputParams": {}}
        assert api.put_job(str(uuid.uuid4()), body).status_code == 201
    listed = qjobs_paused("job", "list", "--job-name", prefix, "--all", "-o", "json").json()
    assert sorted(j["name"] for j in listed) == [f"{prefix}-{i:03}" for i in range(105)]
    assert len(qjobs_paused("job", "list", "--job-name", prefix, "-o", "json").json()) == 100
    assert len(qjobs_paused("job", "list", "--job-name", prefix, "--top", "3", "-o", "tsv").out.splitlines()) == 3


def test_cancel_a_waiting_job_then_again(qjobs_paused: Qjobs, bell_json: Path) -> None:
    job = qjobs_paused("job", "submit", "-t", "ionq.simulator", "--job-input-file", str(bell_json), "-o", "json").json()
    assert job["status"] == "Waiting"

    early = qjobs_paused("job", "output", "--job-id", job["id"])
    assert early.code == 1
    assert f"job {job['id']} is Waiting; it has no output yet" in early.one_line_error()
    timed_out = qjobs_paused("job", "wait", "--job-id", job["id"], "--timeout", "1")
    assert timed_out.code == 1
    assert f"job {job['id']} is still Waiting after 1 s" in timed_out.one_line_error()

    cancelled = qjobs_paused("job", "cancel", "--job-id", job["id"])
    assert cancelled.code == 0, cancelled.err
    assert cancelled.table()[1][1:3] == [job["id"], "Cancelled"]
    again = qjobs_paused("job", "cancel", "--job-id", job["id"])
    assert again.code == 1 and "already Cancelled" in again.one_line_error()
    assert "(JobNotCancellable)" in again.err

    waited = qjobs_paused("job", "wait", "--job-id", job["id"], "-o", "tsv")
    assert waited.code == 1
    assert waited.out.split("\t")[2] == "Cancelled"
    assert waited.one_line_error() == f"qjobs: job {job['id']} is Cancelled\n"


def test_cancel_a_finished_job_is_a_clear_error(qjobs: Qjobs, bell_json: Path) -> None:
    job = qjobs("job", "submit", "-t", "ionq.simulator", "--job-input-file", str(bell_json), "--wait", "-o", "json")
    run = qjobs("job", "cancel", "--job-id", job.json()["id"])
    assert run.code == 1 and run.out == ""
    assert "already Succeeded" in run.one_line_error() and "(JobNotCancellable)" in run.err


def test_a_failed_job_reports_its_error_on_wait_and_output(
    qjobs: Qjobs, host: LocalHostProcess, azurite_port: int
) -> None:
    programs = BlobServiceClient.from_connection_string(
        Settings(azurite_blob_port=azurite_port, storage_connection=None).blob_connection_string
    ).get_container_client("programs")
    name = f"{unique('cli-broken')}.qasm"
    programs.upload_blob(name, BROKEN_QASM, metadata={"target": "ionq.simulator"})
    job_id = drop_job_id("programs", name, BROKEN_QASM)
    api = Api(host)
    deadline = time.monotonic() + 30
    while not api.get_job(job_id).ok and time.monotonic() < deadline:
        time.sleep(0.1)

    waited = qjobs("job", "wait", "--job-id", job_id, "-o", "json")
    assert waited.code == 1 and waited.json()["status"] == "Failed"
    error = waited.one_line_error()
    assert error.startswith(f"qjobs: job {job_id} is Failed: ") and "line 5, column 1" in error
    output = qjobs("job", "output", "--job-id", job_id)
    assert output.code == 1 and output.out == ""
    assert output.one_line_error() == error


def test_submitting_an_invalid_program_makes_a_failed_job_whose_error_is_one_line(qjobs: Qjobs, tmp_path: Path) -> None:
    """As on Azure, the job is accepted and Failed at once; waiting for it reports where the program is wrong."""
    broken = tmp_path / "broken.qasm"
    broken.write_bytes(BROKEN_QASM)
    submitted = qjobs("job", "submit", "-t", "ionq.simulator", "--job-input-file", str(broken), "-o", "json")
    assert submitted.code == 0 and submitted.json()["status"] == "Failed"
    run = qjobs("job", "submit", "-t", "ionq.simulator", "--job-input-file", str(broken), "--wait", "-o", "json")
    assert run.code == 1 and run.json()["status"] == "Failed"
    assert "line 5, column 1" in run.one_line_error() and "(InvalidProgram)" in run.err


def test_target_list_in_each_format(qjobs: Qjobs) -> None:
    table = qjobs("target", "list").table()
    assert table[0] == ["Provider", "Target", "Availability", "Qubits", "Input formats", "Emulation"]
    rows = {row[1]: row for row in table[1:]}
    assert rows["ionq.simulator"][:4] == ["ionq", "ionq.simulator", "Available", "29"]
    assert "honeywell.openqasm.v1, openqasm.v2" in rows["quantinuum.sim.h2-1e"][4]
    assert rows["rigetti.qpu.cepheus-1-108q"][3:] == [
        "108",
        "rigetti.quil.v1, qir.v1",
        "local noisy emulation from published error rates",
    ]
    assert rows["ionq.simulator"][5] == rows["echo-output"][5] == "no"
    assert rows["echo-output"][0] == "microsoft.test.firstparty"
    tsv = [line.split("\t") for line in qjobs("target", "list", "-o", "tsv").out.splitlines()]
    assert tsv == table[1:]
    providers = qjobs("target", "list", "-o", "json").json()
    assert {p["id"] for p in providers} == CATALOG_PROVIDERS


def test_service_errors_are_one_line_with_exit_1(qjobs: Qjobs) -> None:
    missing = qjobs("job", "show", "--job-id", "1234")
    assert missing.code == 1 and missing.out == ""
    assert missing.one_line_error() == "qjobs: Job '1234' does not exist in this workspace (JobNotFound)\n"

    refused = qjobs("job", "list", QJOBS_KEY="not-the-key")
    assert refused.code == 1
    assert refused.one_line_error().startswith("qjobs: the API key was refused (401)")

    elsewhere = qjobs("job", "list", "--workspace-name", "other")
    assert elsewhere.code == 1 and "(WorkspaceNotFound)" in elsewhere.one_line_error()


def test_a_server_that_is_down_exits_3(qjobs_command: str, no_config: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/api/"
    run = for_host(qjobs_command, no_config, endpoint)("job", "list")
    assert run.code == 3
    assert run.one_line_error() == f"qjobs: cannot reach {endpoint} (connection refused)\n"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--job-params", '{"seed": '], "--job-params"),
        (["--job-params", "seed"], "--job-params"),
        (["--shots", "0"], "--shots"),
    ],
)
def test_bad_usage_exits_2_in_one_line(qjobs: Qjobs, bell_json: Path, args: list[str], named: str) -> None:
    run = qjobs("job", "submit", "-t", "ionq.simulator", "--job-input-file", str(bell_json), *args)
    assert run.code == 2 and run.out == ""
    assert named in run.one_line_error()


def test_a_missing_input_file_exits_2(qjobs: Qjobs, tmp_path: Path) -> None:
    run = qjobs("job", "submit", "-t", "ionq.simulator", "--job-input-file", str(tmp_path / "nope.json"))
    assert run.code == 2
    assert "--job-input-file" in run.one_line_error() and "does not exist" in run.err
    unknown = tmp_path / "program.txt"
    unknown.write_text("h q[0];")
    run = qjobs("job", "submit", "-t", "ionq.simulator", "--job-input-file", str(unknown))
    assert run.code == 2 and "--job-input-format" in run.one_line_error()


def test_endpoint_and_key_from_the_config_file(qjobs_command: str, host: LocalHostProcess, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"endpoint": host.endpoint, "key": API_KEY, "workspace": "local"}))
    qjobs = Qjobs(qjobs_command, QJOBS_CONFIG=str(config))  # no endpoint, no key in the environment
    listed = qjobs("target", "list", "-o", "json")
    assert listed.code == 0, listed.err
    assert {p["id"] for p in listed.json()} == CATALOG_PROVIDERS

    config.write_text(json.dumps({"endpoint": host.endpoint}))
    keyless = qjobs("target", "list")
    assert keyless.code == 2 and "no API key" in keyless.one_line_error()
    config.write_text("{not json")
    broken = qjobs("target", "list")
    assert broken.code == 2 and "is not valid JSON" in broken.one_line_error()
    absent = qjobs("target", "list", QJOBS_CONFIG=str(tmp_path / "absent.json"))
    assert absent.code == 2 and "does not exist" in absent.one_line_error()
