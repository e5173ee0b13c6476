"""Hard crashes at random moments (not a test): the whole local stack SIGKILLed N times while jobs flow.

A client submits jobs one after another (upload, then PUT; a PUT cut off by a kill is sent again after the
restart, as a client would), each with an exact answer of its own; the stack (host, its Azurite, its
simulation workers, one process group) is killed at a random moment 0..--max-delay s after it is ready, and
started again on the same state. After the last kill it runs until every acknowledged job is final, and
the audit of tests/integration/test_crash_matrix.py prints its tally:

    kills=200 jobs=1234 lost=0 stuck=0 duplicated=0 mixed=0 illegal=0 refused=3

`refused` counts PUTs answered 400 InputDataNotFound because a kill lost an upload Azurite had not saved
yet (the client is told; no job was made). Exits 1 when anything acknowledged was lost, stuck, duplicated
or mixed up. `python bench/crash.py --kills 20` for a short run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.helpers import Api
from tests.event_receiver import EventReceiver, event_receiver
from tests.integration.test_crash_matrix import SECRET, Ledger, audit, stack_settings
from tests.servers import LocalStack


class Client(threading.Thread):
    """Submits jobs while the stack is up; a request a kill cut off is retried once the stack is back."""

    def __init__(self, ledger: Ledger, up: threading.Event, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.ledger, self.up, self.stop = ledger, up, stop
        self.unexpected: list[str] = []

    def run(self) -> None:
        pending: tuple[str, int, str] | None = None
        while not self.stop.is_set():
            if not self.up.wait(0.1):
                continue
            try:
                if pending is None:
                    pending = self.ledger.upload()
                self.ledger.put(*pending)
                pending = None
            except requests.RequestException:
                time.sleep(0.05)  # the stack is going down: try again once it is back
            except AssertionError as error:  # an answer that is neither an acknowledgement nor a truthful refusal
                self.unexpected.append(str(error))
                pending = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--max-delay", type=float, default=3.0, help="longest run between ready and kill, s")
    parser.add_argument("--max-minutes", type=float, default=45.0, help="stop killing after this long")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--state-dir", type=Path, default=None, help="keep the stack's state and log here")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    began = time.monotonic()
    startups: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="crash-bench-") as folder,
        event_receiver(EventReceiver(SECRET)) as receiver,
    ):
        stack = LocalStack(state_dir=args.state_dir or Path(folder) / "state", settings=stack_settings(receiver))
        up, stop = threading.Event(), threading.Event()
        ledger = Ledger(Api(stack))
        client = Client(ledger, up, stop)
        kills = 0
        try:
            for kills in range(args.kills + 1):
                started = time.monotonic()
                stack.start()
                startups.append(time.monotonic() - started)
                up.set()
                if kills == 0:
                    client.start()
                if kills == args.kills or time.monotonic() - began > args.max_minutes * 60:
                    break
                time.sleep(rng.uniform(0, args.max_delay))
                up.clear()
                stack.kill()
            stop.set()
            client.join()
            tally = audit(ledger, receiver, kills, timeout=180)
        finally:
            stack.stop()
    for problem in tally.problems + [f"unexpected answer: {u}" for u in client.unexpected]:
        print(problem)
    print(
        f"{tally.line()} startup_median={statistics.median(startups):.2f}s startup_max={max(startups):.2f}s "
        f"wall={time.monotonic() - began:.0f}s"
    )
    return 0 if not tally.problems and not client.unexpected else 1


if __name__ == "__main__":
    sys.exit(main())
