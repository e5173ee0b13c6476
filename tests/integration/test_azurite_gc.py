"""Azurite's blob store as scripts/patch-azurite.js fixes it: its garbage collector keeps every extent a live
blob refers to, and finding one blob does not scan the store.

Unpatched, its listing of blobs pages by name alone, so with more than 5,000 blobs it skips the blobs of other
containers named as the page's last one: with every job container holding `inputData` and `rawOutputData`,
those outputs' extents are deleted and reading them answers 500 ever after (found by bench/crash.py: 51 of some
2,300 Succeeded jobs lost their outputs to it, half an hour after they were written).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

LISTING = Path(__file__).resolve().parents[1] / "azurite_gc_listing.js"
LOOKUP = Path(__file__).resolve().parents[1] / "azurite_blob_lookup.js"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js, which runs Azurite")
def test_the_collector_sees_every_blob_of_a_store_where_thousands_share_a_name() -> None:
    found = subprocess.run(["node", str(LISTING), "12000"], capture_output=True, text=True, check=True, timeout=120)
    seen = json.loads(found.stdout)
    assert seen == {"blobs": 12000, "referred": 12000}, "extents the collector missed would be deleted"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js, which runs Azurite")
def test_finding_a_jobs_blob_examines_its_container_not_every_blob_of_that_name() -> None:
    found = subprocess.run(["node", str(LOOKUP), "20000"], capture_output=True, text=True, check=True, timeout=120)
    lookup = json.loads(found.stdout)
    assert lookup["found"] == "job-5000"
    assert lookup["examined"] <= 2, f"one lookup examined {lookup['examined']} of 20,000 blobs: a scan"
