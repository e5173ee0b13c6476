"""Pipeline benchmark (not a test): N small jobs pushed through the local host.

Prints, at saturation and then at a fixed offered load (half the saturation rate unless --rate), end-to-end
jobs per second, p50/p99 latency of the job PUT, p50/p99 time from submit to Succeeded and the CPU per job of
each process (host, its simulation workers, Azurite, this client); then the API's p50/p99 idle and while a
long (~30 s) simulation runs, and the blob, job-store and queue operations the service performs per job.

    .venv/bin/python bench/pipeline.py [--jobs 1000] [--clients 8] [--rate JOBS_PER_S] [--count-jobs 50]

The first phases run the local host as a separate process (as `make run` does) against Azurite and drive
it over HTTP the way the SDK does: sasUri, Put Blob of inputData, PUT jobs/{id}. The last runs the same
functions in this process with counting wrappers around the ports, to count operations per job.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers import API_KEY, LocalHostProcess, azurite, free_port

KEY = {"x-ms-quantum-api-key": API_KEY}
BELL = json.dumps(
    {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}
).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def http_client(connections: int) -> urllib3.PoolManager:
    """The load generator's HTTP client: urllib3's pools, a connection kept per thread. It is lighter than requests
    (which the SDK uses), so the generator, on the same two cores as the service, takes less of them from it."""
    return urllib3.PoolManager(maxsize=connections, retries=False, timeout=urllib3.Timeout(connect=5, read=60))


def submit_one(base: str, http: urllib3.PoolManager) -> tuple[str, float, float]:
    """One Bell job the way the SDK submits it: sasUri, Put Blob of inputData, PUT jobs/{id}."""
    job_id = str(uuid.uuid4())
    started = time.time()
    sas = http.request("POST", f"{base}/storage/sasUri", json={"containerName": f"job-{job_id}"}, headers=KEY)
    assert sas.status == 200, sas.data
    url, _, query = sas.json()["sasUri"].partition("?")
    upload = http.request("PUT", f"{url}/inputData?{query}", body=BELL, headers={"x-ms-blob-type": "BlockBlob"})
    assert upload.status == 201, upload.data
    body: dict[str, Any] = {
        "name": "bench",
        "providerId": "ionq",
        "target": "ionq.simulator",
        "inputDataUri": f"{url}/inputData",
        "inputDataFormat": "ionq.circuit.v1",
        "inputParams": {"shots": 100},
    }
    put_started = time.perf_counter()
    response = http.request("PUT", f"{base}/jobs/{job_id}", json=body, headers=KEY)
    put_seconds = time.perf_counter() - put_started
    assert response.status == 201, response.data
    return job_id, started, put_seconds


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def azurite_pid(port: int) -> int:
    found = subprocess.run(["pgrep", "-f", f"blobPort {port}"], capture_output=True, text=True, check=True)
    return int(found.stdout.split()[0])


def host_children_cpu_seconds(host_pid: int) -> float:
    """CPU of the host's live child processes (its simulation workers and QIR parsers)."""
    found = subprocess.run(["pgrep", "-P", str(host_pid)], capture_output=True, text=True, check=False)
    total = 0.0
    for pid in found.stdout.split():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += cpu_seconds(int(pid))
    return total


class Run:
    """One local host process on its own Azurite, driven over HTTP by this process."""

    def __init__(self, host: LocalHostProcess, blob_port: int) -> None:
        assert host.process is not None
        self.base = host.workspace_url
        self.host_pid = host.process.pid
        self.azurite_pid = azurite_pid(blob_port)
        self.http = http_client(64)
        self.session = requests.Session()  # for the reads outside the measured submissions
        self.session.headers.update(KEY)

    def cpu(self) -> dict[str, float]:
        return {
            "host": cpu_seconds(self.host_pid),
            "host's simulation workers": host_children_cpu_seconds(self.host_pid),
            "azurite": cpu_seconds(self.azurite_pid),
            "bench client": cpu_seconds(os.getpid()),
        }

    def phase(self, jobs: int, clients: int, rate: float | None) -> dict[str, float]:
        """`jobs` jobs from `clients` threads: as fast as they go (rate None), or one every 1/rate s (open loop:
        a job starts on time whatever the ones before it are doing, and its latency counts from then)."""
        cpu_before = self.cpu()
        began = time.time()

        def one(n: int) -> tuple[str, float, float]:
            if rate is not None:
                time.sleep(max(0.0, began + n / rate - time.time()))
            return submit_one(self.base, self.http)

        with ThreadPoolExecutor(clients) as pool:
            submitted = list(pool.map(one, range(jobs)))
        wait_all_final(self.base, self.session)
        cpu = {name: seconds - cpu_before[name] for name, seconds in self.cpu().items()}
        finals = final_states(self.base, self.session, {j for j, _, _ in submitted})
        statuses = Counter(f["status"] for f in finals.values())
        assert statuses == {"Succeeded": jobs}, statuses
        ended = max(finals[j]["succeeded_at"] for j, _, _ in submitted)
        to_success = [finals[j]["succeeded_at"] - started for j, started, _ in submitted]
        puts = [p for _, _, p in submitted]
        return {
            "jobs": jobs,
            "clients": clients,
            "offered jobs/s (0 = as fast as they go)": rate or 0.0,
            "jobs_per_second": jobs / (ended - began),
            "put_p50_ms": 1000 * statistics.median(puts),
            "put_p99_ms": 1000 * percentile(puts, 99),
            "submit_to_succeeded_p50_ms": 1000 * statistics.median(to_success),
            "submit_to_succeeded_p99_ms": 1000 * percentile(to_success, 99),
            **{f"cpu_ms_per_job ({name})": 1000 * seconds / jobs for name, seconds in cpu.items()},
            "cpu_ms_per_job (host + its workers + azurite)": 1000
            * (cpu["host"] + cpu["host's simulation workers"] + cpu["azurite"])
            / jobs,
        }


def throughput(
    jobs: int, clients: int, rate: float | None, host_settings: dict[str, str]
) -> tuple[dict[str, float], dict[str, float]]:
    """Saturation (`clients` threads as fast as they go), then a fixed offered load: `rate` jobs/s, or half the
    saturation rate, with enough threads that a slow answer never holds back the next job."""
    with azurite() as blob_port, tempfile.TemporaryDirectory() as state:
        host = LocalHostProcess(state_dir=Path(state), blob_port=blob_port, settings=host_settings)
        host.start()
        try:
            run = Run(host, blob_port)
            submit_one(run.base, run.http)  # warm-up: imports, caches, connections
            saturated = run.phase(jobs, clients, None)
            offered = rate or saturated["jobs_per_second"] / 2
            steady = run.phase(max(100, min(jobs, round(offered * 20))), 4 * clients, offered)
        finally:
            host.stop()
    return saturated, steady


def long_simulation(qubits: int = 12, gates: int = 20_000) -> bytes:
    """A wide non-Clifford OpenQASM program: the noisy H2-1 emulation takes about half a second a shot."""
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{qubits}];", f"creg c[{qubits}];"]
    lines += [
        (f"t q[{i % qubits}];", f"h q[{i % qubits}];", f"cx q[{i % qubits}],q[{(i + 5) % qubits}];")[i % 3]
        for i in range(gates)
    ]
    return "\n".join([*lines, "measure q -> c;"]).encode()


def api_latency(requests_per_phase: int, shots: int) -> dict[str, float]:
    """GET providerStatus and GET jobs?top=10, one after another, on an idle host and while one long
    simulation runs; the run's own time is printed so the second phase is seen to lie inside it."""
    with azurite() as blob_port, tempfile.TemporaryDirectory() as state:
        host = LocalHostProcess(state_dir=Path(state), blob_port=blob_port)
        host.start()
        try:
            base, session = host.workspace_url, requests.Session()
            session.headers["x-ms-quantum-api-key"] = API_KEY
            submit_one(base, http_client(1))  # warm-up

            def timings() -> list[float]:
                seconds = []
                for n in range(requests_per_phase):
                    started = time.perf_counter()
                    path = "providerStatus" if n % 2 else "jobs?top=10"
                    assert session.get(f"{base}/{path}").status_code == 200
                    seconds.append(time.perf_counter() - started)
                return seconds

            idle = timings()
            job_id = str(uuid.uuid4())
            sas = session.post(f"{base}/storage/sasUri", json={"containerName": f"job-{job_id}"}).json()["sasUri"]
            url, _, query = sas.partition("?")
            upload = session.put(
                f"{url}/inputData?{query}", data=long_simulation(), headers={"x-ms-blob-type": "BlockBlob"}
            )
            upload.raise_for_status()
            body: dict[str, Any] = {
                "name": "long",
                "providerId": "quantinuum",
                "target": "quantinuum.sim.h2-1e",
                "inputDataUri": f"{url}/inputData",
                "inputDataFormat": "honeywell.openqasm.v1",
                "inputParams": {"shots": shots},
            }
            assert session.put(f"{base}/jobs/{job_id}", json=body).status_code == 201
            while session.get(f"{base}/jobs/{job_id}").json()["status"] == "Waiting":
                time.sleep(0.05)
            busy = timings()
            still_running = session.get(f"{base}/jobs/{job_id}").json()["status"] == "Executing"
            while (job := session.get(f"{base}/jobs/{job_id}").json())["status"] == "Executing":
                time.sleep(0.2)
        finally:
            host.stop()
    assert job["status"] == "Succeeded", job.get("errorData")
    began, ended = (datetime.fromisoformat(job[k]).timestamp() for k in ("beginExecutionTime", "endExecutionTime"))
    return {
        "idle p50 ms": 1000 * statistics.median(idle),
        "idle p99 ms": 1000 * percentile(idle, 99),
        "during simulation p50 ms": 1000 * statistics.median(busy),
        "during simulation p99 ms": 1000 * percentile(busy, 99),
        "simulation seconds": ended - began,
        "measured inside the run (1 = yes)": float(still_running),
    }


def wait_all_final(base: str, session: requests.Session) -> None:
    """Wait until no job of the run is in flight; the wait asks for one short page, so it costs the host little."""
    deadline = time.time() + 600
    in_flight = f"{base}/jobs?filter=Name eq 'bench' and (State eq 'Waiting' or State eq 'Executing')&top=1"
    while time.time() < deadline and session.get(in_flight).json()["value"]:
        time.sleep(0.1)


def final_states(base: str, session: requests.Session, ids: set[str]) -> dict[str, dict[str, Any]]:
    finals = {}
    for job_id in ids:
        history = session.get(f"{base}/jobs/{job_id}/history").json()["value"]
        last = history[-1]
        finals[job_id] = {"status": last["status"], "succeeded_at": datetime.fromisoformat(last["time"]).timestamp()}
    return finals


def count_calls(instance: object, tally: Counter[str], prefix: str) -> None:
    """Wrap each public method of an adapter instance so that its calls are counted."""
    for name in dir(instance):
        method = getattr(instance, name)
        if name.startswith("_") or not callable(method):
            continue

        def counted(*args: Any, _method: Any = method, _key: str = f"{prefix}.{name}", **kwargs: Any) -> Any:
            tally[_key] += 1
            return _method(*args, **kwargs)

        setattr(instance, name, counted)


def operations_per_job(jobs: int) -> dict[str, float]:
    """Run the functions in-process on real Azurite, SQLite and the embedded queue, counting adapter calls."""
    import function_app
    from shared import bootstrap
    from shared.config import Settings
    from shared.localhost.host import LocalHost

    tally: Counter[str] = Counter()
    with azurite() as blob_port, tempfile.TemporaryDirectory() as state:
        port = free_port()
        settings = Settings(
            azurite_blob_port=blob_port,
            local_state_dir=Path(state),
            api_keys=API_KEY,
            port=port,
            storage_connection=None,
        )
        bootstrap.configure(settings)
        pipeline = bootstrap.pipeline()
        count_calls(pipeline.jobs, tally, "jobs")
        count_calls(pipeline.artifacts, tally, "blob")
        count_calls(bootstrap.embedded_queue(), tally, "queue")
        host = LocalHost(function_app.app, settings, bootstrap.embedded_queue(), bootstrap.blob_storage())
        host.start()
        base = f"http://127.0.0.1:{port}/api/{settings.workspace_path}"
        http = http_client(1)
        submit_one(base, http)
        time.sleep(1)
        tally.clear()  # the warm-up job is not counted
        for _ in range(jobs):
            submit_one(base, http)
        with sqlite3.connect(Path(state) / "jobs.sqlite3") as db:  # watched outside the counted adapters
            while db.execute("SELECT COUNT(*) FROM jobs WHERE status != 'Succeeded'").fetchone()[0]:
                time.sleep(0.2)
        time.sleep(1.5)  # the last completes land
        host.stop()
    # Left out: calls that touch no server (URL building, SAS signing), the blob trigger's timed listing,
    # receives (idle polls included) and send_many (what send calls); queue.complete counts the deliveries.
    ignored = (
        "blob.blob_url",
        "blob.container_url",
        "blob.locate",
        "blob.sas_token",
        "blob.list_blobs",
        "queue.receive",
        "queue.send_many",
    )
    return {k: v / jobs for k, v in sorted(tally.items()) if not k.startswith(ignored)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--count-jobs", type=int, default=50)
    parser.add_argument(
        "--rate", type=float, default=None, help="offered jobs/s of the steady phase (default: half of saturation)"
    )
    parser.add_argument("--latency-requests", type=int, default=400, help="API calls per phase of the latency check")
    parser.add_argument("--long-shots", type=int, default=60, help="shots of the long simulation (~0.5 s each)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SETTING=VALUE",
        help="an app setting for the local host, e.g. LOCAL_QUEUE_WORKERS=2",
    )
    args = parser.parse_args()
    saturated, steady = throughput(args.jobs, args.clients, args.rate, dict(item.split("=", 1) for item in args.set))
    print("== saturation: local host process, Azurite, SQLite, embedded queue ==")
    for key, value in saturated.items():
        print(f"{key:>48}: {value:,.1f}")
    print("== fixed offered load (half the saturation rate unless --rate) ==")
    for key, value in steady.items():
        print(f"{key:>48}: {value:,.1f}")
    print("== API latency, idle and while a long simulation runs (GET providerStatus, GET jobs?top=10) ==")
    for key, value in api_latency(args.latency_requests, args.long_shots).items():
        print(f"{key:>48}: {value:,.1f}")
    print("== service operations per job (in-process count over", args.count_jobs, "jobs) ==")
    for key, value in operations_per_job(args.count_jobs).items():
        print(f"{key:>48}: {value:,.2f}")


if __name__ == "__main__":
    main()
