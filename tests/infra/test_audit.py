"""scripts/audit.py (`make audit`): written waivers over recorded pip-audit and npm audit JSON reports.

The reports below are shaped as pip-audit 2.10 (`-f json --aliases on`) and npm 11 (`audit --json`, report
version 2) print them; the skipped and 405 ones are what this workplace's registries actually answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "audit.py"
TODAY = "2027-01-15"

PIP_CLEAN: dict[str, Any] = {
    "dependencies": [
        {"name": "azure-core", "version": "1.41.0", "vulns": []},
        {"name": "requests", "version": "2.34.2", "vulns": []},
    ],
    "fixes": [],
}
PIP_VULNERABLE: dict[str, Any] = {
    "dependencies": [
        {"name": "azure-core", "version": "1.41.0", "vulns": []},
        {
            "name": "requests",
            "version": "2.31.0",
            "vulns": [
                {
                    "id": "GHSA-9wx4-h78v-vm56",
                    "fix_versions": ["2.32.0"],
                    "aliases": ["CVE-2024-35195"],
                }
            ],
        },
    ],
    "fixes": [],
}
# pip-audit's PyPI service where the index serves no per-version JSON: every package skipped, and pip-audit itself
# prints "No known vulnerabilities found" and exits 0.
PIP_ALL_SKIPPED: dict[str, Any] = {
    "dependencies": [
        {
            "name": name,
            "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} ({version})",
        }
        for name, version in (("azure-core", "1.41.0"), ("requests", "2.34.2"))
    ],
    "fixes": [],
}

NPM_CLEAN: dict[str, Any] = {
    "auditReportVersion": 2,
    "vulnerabilities": {},
    "metadata": {
        "vulnerabilities": {"info": 0, "low": 0, "moderate": 0, "high": 0, "critical": 0, "total": 0},
        "dependencies": {"prod": 458, "dev": 423, "optional": 0, "peer": 0, "peerOptional": 0, "total": 880},
    },
}
NPM_VULNERABLE: dict[str, Any] = {
    "auditReportVersion": 2,
    "vulnerabilities": {
        "minimist": {
            "name": "minimist",
            "severity": "critical",
            "isDirect": False,
            "via": [
                {
                    "source": 1097677,
                    "name": "minimist",
                    "dependency": "minimist",
                    "title": "Prototype Pollution in minimist",
                    "url": "https://github.com/advisories/GHSA-xvch-5gv4-984h",
                    "severity": "critical",
                    "cwe": ["CWE-1321"],
                    "cvss": {"score": 9.8, "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                    "range": "<0.2.4",
                }
            ],
            "effects": ["mkdirp"],
            "range": "<=0.2.3",
            "nodes": ["node_modules/minimist"],
            "fixAvailable": True,
        },
        # Affected only through minimist: the advisory is minimist's, waived (or not) once.
        "mkdirp": {
            "name": "mkdirp",
            "severity": "critical",
            "isDirect": False,
            "via": ["minimist"],
            "effects": [],
            "range": "0.4.1 - 0.5.1",
            "nodes": ["node_modules/mkdirp"],
            "fixAvailable": True,
        },
    },
    "metadata": NPM_CLEAN["metadata"],
}
NPM_405: dict[str, Any] = {
    "message": "405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk",
    "method": "POST",
    "uri": "https://registry.example/-/npm/v1/security/advisories/bulk",
    "statusCode": 405,
    "body": "",
    "error": {"summary": "", "detail": ""},
}


def waiver(
    advisory: str, package: str, expires: str, reason: str = "Not reachable from the app; no fixed release yet."
) -> str:
    return f'[[waiver]]\nid = "{advisory}"\npackage = "{package}"\nreason = "{reason}"\nexpires = {expires}\n'


def audit(
    tmp_path: Path, pip: dict[str, Any], npm: dict[str, Any], waivers: str | None = ""
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pip.json").write_text(json.dumps(pip))
    (tmp_path / "npm.json").write_text(json.dumps(npm))
    waiver_file = tmp_path / "waivers.toml"
    if waivers is None:
        waiver_file = ROOT / "audit-waivers.toml"
    else:
        waiver_file.write_text(waivers)
    command = [sys.executable, str(SCRIPT), "--waivers", str(waiver_file), "--today", TODAY]
    command += ["--pip-report", str(tmp_path / "pip.json"), "--npm-report", str(tmp_path / "npm.json")]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_clean_reports_pass_with_the_project_waiver_file(tmp_path: Path) -> None:
    result = audit(tmp_path, PIP_CLEAN, NPM_CLEAN, waivers=None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "audit: passed" in result.stdout


@pytest.mark.parametrize(("pip", "npm"), [(PIP_VULNERABLE, NPM_CLEAN), (PIP_CLEAN, NPM_VULNERABLE)])
def test_a_vulnerability_without_waiver_fails(tmp_path: Path, pip: dict[str, Any], npm: dict[str, Any]) -> None:
    result = audit(tmp_path, pip, npm)
    assert result.returncode == 1
    assert "VULNERABILITY (no waiver)" in result.stdout


@pytest.mark.parametrize(
    ("pip", "npm", "advisory", "package"),
    [
        (PIP_VULNERABLE, NPM_CLEAN, "GHSA-9wx4-h78v-vm56", "requests"),
        (PIP_VULNERABLE, NPM_CLEAN, "CVE-2024-35195", "Requests"),  # an alias, and PyPI's name normalization
        (PIP_CLEAN, NPM_VULNERABLE, "GHSA-xvch-5gv4-984h", "minimist"),
        (PIP_CLEAN, NPM_VULNERABLE, "1097677", "minimist"),  # npm's own advisory number
    ],
)
def test_a_vulnerability_with_an_unexpired_waiver_passes(
    tmp_path: Path, pip: dict[str, Any], npm: dict[str, Any], advisory: str, package: str
) -> None:
    result = audit(tmp_path, pip, npm, waiver(advisory, package, "2027-01-15"))  # the last day it counts
    assert result.returncode == 0, result.stdout
    assert result.stdout.count("waived until 2027-01-15") == 1  # mkdirp, affected through minimist, adds none


@pytest.mark.parametrize(
    ("pip", "npm", "advisory", "package"),
    [
        (PIP_VULNERABLE, NPM_CLEAN, "GHSA-9wx4-h78v-vm56", "requests"),
        (PIP_CLEAN, NPM_VULNERABLE, "GHSA-xvch-5gv4-984h", "minimist"),
    ],
)
def test_a_vulnerability_with_an_expired_waiver_fails(
    tmp_path: Path, pip: dict[str, Any], npm: dict[str, Any], advisory: str, package: str
) -> None:
    result = audit(tmp_path, pip, npm, waiver(advisory, package, "2027-01-14"))
    assert result.returncode == 1
    assert "EXPIRED WAIVER" in result.stdout
    assert "VULNERABILITY (waiver expired 2027-01-14)" in result.stdout


def test_an_expired_waiver_fails_even_without_its_vulnerability(tmp_path: Path) -> None:
    result = audit(tmp_path, PIP_CLEAN, NPM_CLEAN, waiver("GHSA-9wx4-h78v-vm56", "requests", "2026-12-31"))
    assert result.returncode == 1
    assert "EXPIRED WAIVER" in result.stdout


def test_a_waiver_for_another_package_does_not_count(tmp_path: Path) -> None:
    result = audit(tmp_path, PIP_VULNERABLE, NPM_CLEAN, waiver("GHSA-9wx4-h78v-vm56", "urllib3", "2027-03-01"))
    assert result.returncode == 1
    assert "VULNERABILITY (no waiver)" in result.stdout


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[[waiver]]\nid = "GHSA-9wx4-h78v-vm56"\npackage = "requests"\nexpires = 2027-03-01\n', "lacks reason"),
        (waiver("GHSA-9wx4-h78v-vm56", "requests", "2027-03-01", reason=" "), "reason must be a non-empty"),
        (waiver("GHSA-9wx4-h78v-vm56", "requests", '"2027-03-01"'), "expires must be a date"),
        (waiver("GHSA-9wx4-h78v-vm56", "requests", "2027-03-01") + 'severity = "low"\n', "unknown keys"),
    ],
)
def test_a_malformed_waiver_fails(tmp_path: Path, text: str, complaint: str) -> None:
    result = audit(tmp_path, PIP_VULNERABLE, NPM_CLEAN, text)
    assert result.returncode == 1
    assert complaint in result.stdout


def test_a_waiver_for_more_than_a_year_fails(tmp_path: Path) -> None:
    result = audit(tmp_path, PIP_VULNERABLE, NPM_CLEAN, waiver("GHSA-9wx4-h78v-vm56", "requests", "2099-01-01"))
    assert result.returncode == 1
    assert "WAIVER TOO LONG" in result.stdout


@pytest.mark.parametrize(("pip", "npm"), [(PIP_ALL_SKIPPED, NPM_CLEAN), (PIP_CLEAN, NPM_405)])
def test_an_audit_that_could_not_be_performed_is_no_clean_bill(
    tmp_path: Path, pip: dict[str, Any], npm: dict[str, Any]
) -> None:
    result = audit(tmp_path, pip, npm)
    assert result.returncode == 3
    assert "AUDIT NOT PERFORMED: " in result.stdout
    assert "passed" not in result.stdout


def test_a_known_vulnerability_fails_even_when_the_other_audit_was_not_performed(tmp_path: Path) -> None:
    result = audit(tmp_path, PIP_ALL_SKIPPED, NPM_VULNERABLE)
    assert result.returncode == 1
    assert "AUDIT NOT PERFORMED: " in result.stdout
    assert "VULNERABILITY (no waiver)" in result.stdout


def test_what_make_run_needs_from_npm_is_a_runtime_dependency_and_audited() -> None:
    """`npm audit --omit=dev` audits only `dependencies`: Azurite, which `make run` starts, must be one."""
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert "azurite" in package["dependencies"]
    assert "azurite" not in package.get("devDependencies", {})
    root = lock["packages"][""]
    assert root.get("dependencies", {}) == package["dependencies"]
    assert root.get("devDependencies", {}) == package.get("devDependencies", {})
    assert not lock["packages"]["node_modules/azurite"].get("dev", False)
