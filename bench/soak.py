"""Soak (not a test): the whole local stack under a steady load for a long while, watched for growth.

Runs the stack as `make run` does (the host with its own Azurite on disk and its simulation workers, one
process group), offers Bell jobs at a fixed rate through the SDK's flow (sasUri, Put Blob, PUT), and every
--every seconds prints the resident memory, threads and open files of the host, its workers and Azurite,
with the jobs submitted and still in flight. At the end it waits until every job is final and prints the
growth of each figure from the first sample after the warm-up to the last:

    .venv/bin/python bench/soak.py [--minutes 30] [--rate 25] [--every 30] [--warmup-minutes 3]

Exits 1 when a job did not end Succeeded. Azurite keeps the metadata of every blob it holds in memory (its
LokiJS store), so its memory grows with the blobs kept: the line `azurite KiB per job kept` says by how much.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline import final_states, http_client, submit_one, wait_all_final

from tests.servers import API_KEY, LocalStack

FIGURES = ("rss_kib", "threads", "open_files")
OFFERING_THREADS = 16  # at most this many jobs are being submitted at once, each on a kept connection


def process_figures(pid: int) -> dict[str, int]:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {
        "rss_kib": int(status["VmRSS"].split()[0]),
        "threads": int(status["Threads"]),
        "open_files": len(list(Path(f"/proc/{pid}/fd").iterdir())),
    }


def group(host_pid: int) -> dict[str, list[int]]:
    """The stack's processes by role: the host, Azurite (a node child) and the host's Python workers."""
    children = [int(p) for p in Path(f"/proc/{host_pid}/task/{host_pid}/children").read_text().split()]
    roles: dict[str, list[int]] = {"host": [host_pid], "azurite": [], "workers": []}
    for pid in children:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        roles["azurite" if b"azurite" in command or b"node" in command else "workers"].append(pid)
    return roles


def sample(host_pid: int) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for role, pids in group(host_pid).items():
        totals = Counter[str]()
        for pid in pids:
            try:
                totals.update(process_figures(pid))
            except FileNotFoundError:  # a worker replaced meanwhile
                continue
        found[role] = {name: totals[name] for name in FIGURES}
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=25.0, help="offered jobs/s (half of saturation here)")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--warmup-minutes", type=float, default=3.0, help="growth is counted from after this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        stack = LocalStack(state_dir=Path(folder) / "state", settings={"LOCAL_BLOB_POLL_SECONDS": "2"})
        stack.start()
        assert stack.process is not None
        http = http_client(OFFERING_THREADS)
        session = requests.Session()
        session.headers["x-ms-quantum-api-key"] = API_KEY
        base = stack.workspace_url
        submitted: list[str] = []
        stop = threading.Event()
        began = time.time()

        free = threading.Semaphore(OFFERING_THREADS)

        def one() -> None:
            try:
                submitted.append(submit_one(base, http)[0])
            finally:
                free.release()

        def offer() -> None:
            """A job every 1/rate s; when OFFERING_THREADS submissions are all still under way, the next waits for
            one to end (the service is behind: the jobs column then grows slower than the rate)."""
            with ThreadPoolExecutor(OFFERING_THREADS) as pool:
                n = 0
                while not stop.is_set():
                    time.sleep(max(0.0, began + n / args.rate - time.time()))
                    free.acquire()
                    pool.submit(one)
                    n += 1

        offering = threading.Thread(target=offer, daemon=True)
        offering.start()
        samples: list[tuple[float, int, dict[str, dict[str, int]]]] = []
        print(
            f"{'min':>6} {'jobs':>7} "
            + " ".join(f"{r + ' ' + f:>22}" for r in ("host", "azurite", "workers") for f in FIGURES)
        )
        try:
            while time.time() - began < args.minutes * 60:
                time.sleep(args.every)
                figures = sample(stack.process.pid)
                samples.append((time.time() - began, len(submitted), figures))
                row = " ".join(f"{figures[r][f]:>22,}" for r in ("host", "azurite", "workers") for f in FIGURES)
                print(f"{(time.time() - began) / 60:>6.1f} {len(submitted):>7,} {row}", flush=True)
        finally:
            stop.set()
            offering.join()
        wait_all_final(base, session)
        finals = final_states(base, session, set(submitted))
        stack.stop()
    statuses = Counter(f["status"] for f in finals.values())
    print(f"jobs submitted: {len(submitted):,}; final states: {dict(statuses)}")
    steady = [s for s in samples if s[0] >= args.warmup_minutes * 60] or samples
    first, last = steady[0], steady[-1]
    print(f"growth from {first[0] / 60:.1f} min to {last[0] / 60:.1f} min:")
    for role in ("host", "azurite", "workers"):
        for name in FIGURES:
            before, after = first[2][role][name], last[2][role][name]
            change = 100 * (after - before) / max(before, 1)
            print(f"  {role + ' ' + name:>20}: {before:>10,} -> {after:>10,} ({change:+.1f} %)")
    kept = last[1] - first[1]
    if kept:
        per_job = (last[2]["azurite"]["rss_kib"] - first[2]["azurite"]["rss_kib"]) / kept
        print(f"  azurite KiB per job kept: {per_job:.2f}")
    host_rss = [s[2]["host"]["rss_kib"] for s in steady]
    print(f"  host rss_kib median {statistics.median(host_rss):,.0f}, max {max(host_rss):,}")
    return 0 if statuses == Counter({"Succeeded": len(submitted)}) else 1


if __name__ == "__main__":
    sys.exit(main())
