"""The QIR parser's child process: a scrubbed environment, file and process limits, a cap on how many run."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shared.domain.errors import UnsupportedProgramError
from shared.programs.qir import MAX_PARSERS, parse_qir

PROGRAM = b"; any text: the probe below never reads it\n"


def reply_with(expression: str) -> str:
    """A parser stand-in's last line: answer with `expression` as an unsupported program's message."""
    return (
        "import json\n"
        f"error = {{'kind': 'unsupported', 'code': 'Probe', 'message': json.dumps({expression})}}\n"
        "print(json.dumps({'error': error, 'seconds': 0}))\n"
    )


def probe(script: str) -> object:
    with pytest.raises(UnsupportedProgramError) as raised:
        parse_qir(PROGRAM, worker=[sys.executable, "-c", script])
    return json.loads(raised.value.diagnostics[0].message)


def test_the_parser_gets_no_secrets_and_limits_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("QUANTUM_API_KEYS", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_CLIENT_SECRET"):
        monkeypatch.setenv(name, "sentinel")
    script = (
        "import os, sys\n"
        "from shared.programs.qir_worker import limit_resources\n"
        "limit_resources(float(sys.argv[1]))\n"
        "limits = {l[:26].strip(): l[26:].split()[0] for l in open('/proc/self/limits').read().splitlines()[1:]}\n"
    ) + reply_with("{'environment': sorted(os.environ), 'limits': limits}")
    seen = probe(script)
    assert isinstance(seen, dict)
    assert not {name for name in seen["environment"] if "KEY" in name or name.startswith(("IDENTITY", "AZURE"))}
    assert seen["limits"]["Max file size"] == "0"
    assert seen["limits"]["Max processes"] == "0"
    assert seen["limits"]["Max core file size"] == "0"


def test_parsers_run_at_most_a_few_at_once(tmp_path: Path) -> None:
    log = tmp_path / "parsers.log"
    script = (
        "import time\n"
        f"open({str(log)!r}, 'a').write('start\\n')\n"
        "time.sleep(0.3)\n"
        f"open({str(log)!r}, 'a').write('end\\n')\n"
    ) + reply_with("'done'")
    with ThreadPoolExecutor(3 * MAX_PARSERS) as pool:
        assert list(pool.map(lambda _: probe(script), range(3 * MAX_PARSERS))) == ["done"] * 3 * MAX_PARSERS
    running, most = 0, 0
    for event in log.read_text().split():
        running += 1 if event == "start" else -1
        most = max(most, running)
    assert most <= MAX_PARSERS
