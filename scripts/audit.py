"""Dependency audit against written waivers (`make audit`).

Audits requirements.lock with pip-audit and what `make run` installs from package-lock.json (the npm runtime
dependencies) with `npm audit --omit=dev`, then applies the waivers in audit-waivers.toml. Uses the standard
library only, so it runs in the pip-audit environment (.venv-audit).

Exit status:
  0  the audit was performed and every known vulnerability has an unexpired written waiver;
  1  an unwaived vulnerability, an expired or malformed waiver, or an audit tool that failed for a reason of the
     project's own (no lockfile, bad arguments...);
  3  AUDIT NOT PERFORMED: no vulnerability service answered for at least one ecosystem (and nothing of the above).
     This is never a clean bill; `make test` treats it as a warning only when AUDIT_NETWORK_RESTRICTED=1.

--pip-report / --npm-report read a recorded pip-audit (`-f json`) / npm audit (`--json`) report instead of running
the tool, for the tests and for checking a report made on another machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_NOT_PERFORMED = 3

# A waiver is a decision to revisit, not a way to forget a vulnerability.
MAX_WAIVER_DAYS = 366
WAIVER_KEYS = {"id", "package", "reason", "expires", "ecosystem"}
REQUIRED_WAIVER_KEYS = ("id", "package", "reason", "expires")
ECOSYSTEMS = ("pypi", "npm")

# pip-audit's vulnerability services, tried in this order until one audits every locked package.
PIP_AUDIT_SERVICES = ("pypi", "osv")
TOOL_TIMEOUT_S = 600

# Signs that a failure lies with the vulnerability service or the network, not with the project.
_NETWORK_FAILURE = re.compile(
    r"ConnectionError|NameResolutionError|Max retries exceeded|Timeout|timed out|ServiceError|HTTPError"
    r"|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|socket hang up"
    r"|/-/npm/v1/security/|\b[45]\d\d (?:[A-Z][a-z]+ ?)+",
)


@dataclass(frozen=True)
class Finding:
    ecosystem: str
    package: str
    version: str
    ids: tuple[str, ...]  # the advisory's own id first, then its aliases
    title: str = ""

    def describe(self) -> str:
        where = f"{self.package} {self.version}".strip()
        aliases = f" ({', '.join(self.ids[1:])})" if len(self.ids) > 1 else ""
        title = f": {self.title}" if self.title else ""
        return f"{self.ecosystem} {where}: {self.ids[0]}{aliases}{title}"


@dataclass(frozen=True)
class Waiver:
    id: str
    package: str
    reason: str
    expires: dt.date
    ecosystem: str | None = None

    def matches(self, finding: Finding) -> bool:
        if self.ecosystem is not None and self.ecosystem != finding.ecosystem:
            return False
        if normalize(finding.ecosystem, self.package) != normalize(finding.ecosystem, finding.package):
            return False
        return self.id.casefold() in {i.casefold() for i in finding.ids}

    def describe(self) -> str:
        return f"{self.id} for {self.package} (expires {self.expires.isoformat()}: {self.reason})"


@dataclass
class SourceResult:
    """What one ecosystem's audit found; `not_performed` and `errors` empty means it was complete."""

    ecosystem: str
    findings: list[Finding] = field(default_factory=list)
    audited: int = 0
    not_performed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class WaiverError(ValueError):
    pass


def normalize(ecosystem: str, name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower() if ecosystem == "pypi" else name


def load_waivers(text: str) -> list[Waiver]:
    """Waivers from the TOML text of the waiver file: `[[waiver]]` tables with id, package, reason and expires
    (a TOML date), and optionally ecosystem ("pypi" or "npm")."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise WaiverError(f"not valid TOML: {error}") from error
    unknown = set(document) - {"waiver"}
    if unknown:
        raise WaiverError(f"unknown top-level keys {sorted(unknown)}; waivers are [[waiver]] tables")
    entries = document.get("waiver", [])
    if not isinstance(entries, list):
        raise WaiverError("'waiver' must be an array of tables ([[waiver]])")
    waivers = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise WaiverError(f"waiver {number} is not a table")
        missing = [key for key in REQUIRED_WAIVER_KEYS if key not in entry]
        if missing:
            raise WaiverError(f"waiver {number} lacks {', '.join(missing)}")
        extra = set(entry) - WAIVER_KEYS
        if extra:
            raise WaiverError(f"waiver {number} has unknown keys {sorted(extra)}")
        for key in ("id", "package", "reason"):
            if not isinstance(entry[key], str) or not entry[key].strip():
                raise WaiverError(f"waiver {number}: {key} must be a non-empty string")
        expires = entry["expires"]
        if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
            raise WaiverError(f"waiver {number}: expires must be a date such as 2027-01-31 (no quotes)")
        ecosystem = entry.get("ecosystem")
        if ecosystem is not None and ecosystem not in ECOSYSTEMS:
            raise WaiverError(f"waiver {number}: ecosystem must be one of {', '.join(ECOSYSTEMS)}")
        waivers.append(
            Waiver(entry["id"].strip(), entry["package"].strip(), entry["reason"].strip(), expires, ecosystem)
        )
    return waivers


def parse_pip_audit(report: Any) -> SourceResult:
    """A pip-audit `-f json` report. A skipped package (pip-audit's 'not found on PyPI' when the index does not
    serve the per-version JSON) means the audit was not performed for it: pip-audit itself still says 'No known
    vulnerabilities found' and exits 0."""
    result = SourceResult("pypi")
    if not isinstance(report, dict) or not isinstance(report.get("dependencies"), list):
        result.errors.append("pip-audit report has no 'dependencies' list")
        return result
    dependencies: list[dict[str, Any]] = report["dependencies"]
    skipped = [f"{d.get('name')}: {d['skip_reason']}" for d in dependencies if "skip_reason" in d]
    for dependency in dependencies:
        if "skip_reason" in dependency:
            continue
        result.audited += 1
        for vuln in dependency.get("vulns", []):
            ids = (str(vuln["id"]), *(str(a) for a in vuln.get("aliases", []) if a != vuln["id"]))
            result.findings.append(Finding("pypi", str(dependency["name"]), str(dependency.get("version", "")), ids))
    if not dependencies:
        result.errors.append("pip-audit audited no package at all")
    if skipped:
        result.not_performed.append(
            f"pip-audit could not audit {len(skipped)} of {len(dependencies)} locked Python packages "
            f"(first: {skipped[0]})"
        )
    return result


def parse_npm_audit(report: Any) -> SourceResult:
    """An `npm audit --json` report (auditReportVersion 2), or the error object npm prints instead of one."""
    result = SourceResult("npm")
    if not isinstance(report, dict):
        result.errors.append("npm audit printed no JSON object")
        return result
    if "auditReportVersion" not in report:
        message = str(report.get("message") or report.get("error") or report)
        if _NETWORK_FAILURE.search(message) or "statusCode" in report:
            result.not_performed.append(f"npm audit: the advisory service did not answer: {message}")
        else:
            result.errors.append(f"npm audit failed: {message}")
        return result
    dependencies = report.get("metadata", {}).get("dependencies", {})
    result.audited = int(dependencies.get("prod", 0)) if isinstance(dependencies, dict) else 0
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for name, entry in report.get("vulnerabilities", {}).items():
        for via in entry.get("via", []):
            if not isinstance(via, dict):
                continue  # the package is affected through another one, whose own entry carries the advisory
            url = str(via.get("url", ""))
            ghsa = url.rstrip("/").rsplit("/", 1)[-1] if "/advisories/GHSA-" in url else ""
            ids = tuple(i for i in (ghsa, str(via.get("source", ""))) if i)
            package = str(via.get("name", name))
            if not ids or (package, ids) in seen:
                continue
            seen.add((package, ids))
            result.findings.append(Finding("npm", package, str(via.get("range", "")), ids, str(via.get("title", ""))))
    return result


def evaluate(results: list[SourceResult], waivers: list[Waiver], today: dt.date) -> tuple[int, list[str]]:
    """The exit status and the lines to print for these audit results under these waivers."""
    lines: list[str] = []
    failed = False
    for written in waivers:
        if written.expires < today:
            failed = True
            lines.append(f"EXPIRED WAIVER: {written.describe()}: fix the package or renew the waiver with a reason")
        elif (written.expires - today).days > MAX_WAIVER_DAYS:
            failed = True
            lines.append(f"WAIVER TOO LONG: {written.describe()}: expiry more than {MAX_WAIVER_DAYS} days ahead")
    used: set[Waiver] = set()
    for result in results:
        for finding in result.findings:
            waiver = next((w for w in waivers if w.matches(finding)), None)
            if waiver is None:
                failed = True
                lines.append(f"VULNERABILITY (no waiver): {finding.describe()}")
            elif waiver.expires < today:
                failed = True
                lines.append(f"VULNERABILITY (waiver expired {waiver.expires.isoformat()}): {finding.describe()}")
            else:
                used.add(waiver)
                lines.append(f"waived until {waiver.expires.isoformat()}: {finding.describe()}: {waiver.reason}")
        for error in result.errors:
            failed = True
            lines.append(f"AUDIT FAILED ({result.ecosystem}): {error}")
    not_performed = [reason for result in results for reason in result.not_performed]
    lines.extend(f"AUDIT NOT PERFORMED: {reason}" for reason in not_performed)
    if not not_performed and not failed:
        lines.extend(
            f"note: waiver {w.describe()} matches no vulnerability any more: remove it"
            for w in waivers
            if w not in used and w.expires >= today
        )
    if failed:
        lines.append("audit: FAILED")
        return EXIT_FAIL, lines
    if not_performed:
        lines.append(
            "audit: NOT PERFORMED: no vulnerability data was obtained for the packages above; this is not a clean bill"
        )
        return EXIT_NOT_PERFORMED, lines
    counts = ", ".join(f"{r.ecosystem}: {r.audited} packages, {len(r.findings)} vulnerabilities" for r in results)
    lines.append(f"audit: passed ({counts}; every vulnerability has a current waiver)")
    return EXIT_OK, lines


def _tail(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def run_pip_audit(pip_audit: str, lock: Path) -> SourceResult:
    """pip-audit on the lock with each service in turn until one audits every package; the most complete wins."""
    best: SourceResult | None = None
    reasons: list[str] = []
    for service in PIP_AUDIT_SERVICES:
        with tempfile.TemporaryDirectory() as scratch:
            output = Path(scratch) / "pip-audit.json"
            command = [
                pip_audit, "--vulnerability-service", service, "--no-deps", "--disable-pip", "--requirement",
                str(lock), "--format", "json", "--aliases", "on", "--desc", "off", "--output", str(output),
                "--progress-spinner", "off", "--timeout", "30",
            ]  # fmt: skip
            try:
                completed = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)
            except subprocess.TimeoutExpired:
                reasons.append(f"pip-audit --vulnerability-service {service}: no answer in {TOOL_TIMEOUT_S} s")
                continue
            report_text = output.read_text() if output.exists() else ""
        if report_text:
            result = parse_pip_audit(json.loads(report_text))
            if not result.not_performed and not result.errors:
                return result
            reasons.extend(f"service {service}: {reason}" for reason in result.not_performed)
            if best is None or (not result.errors and result.audited > best.audited):
                best = result
        elif _NETWORK_FAILURE.search(completed.stderr):
            reasons.append(f"service {service}: cannot reach the vulnerability service: {_tail(completed.stderr)}")
        else:
            error = f"pip-audit exited {completed.returncode}: {_tail(completed.stderr)}"
            return SourceResult("pypi", errors=[error])
    result = best if best is not None else SourceResult("pypi")
    result.not_performed = reasons
    return result


def run_npm_audit(npm: str, project: Path) -> SourceResult:
    """npm audit of the runtime dependencies (what `make run` needs) as package-lock.json pins them."""
    command = [
        npm, "audit", "--omit=dev", "--package-lock-only", "--json", "--fetch-timeout=30000", "--fetch-retries=1",
    ]  # fmt: skip
    try:
        completed = subprocess.run(
            command, cwd=project, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        return SourceResult("npm", errors=[f"{npm} is not installed"])
    except subprocess.TimeoutExpired:
        return SourceResult("npm", not_performed=[f"npm audit: no answer in {TOOL_TIMEOUT_S} s"])
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        message = _tail(completed.stderr)
        if _NETWORK_FAILURE.search(completed.stderr):
            return SourceResult("npm", not_performed=[f"npm audit: the advisory service did not answer: {message}"])
        return SourceResult("npm", errors=[f"npm audit exited {completed.returncode}: {message}"])
    return parse_npm_audit(report)


def _read_report(path: Path) -> Any:
    return json.loads(path.read_text())


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waivers", type=Path, default=root / "audit-waivers.toml")
    parser.add_argument("--lock", type=Path, default=root / "requirements.lock")
    parser.add_argument("--project", type=Path, default=root, help="folder of package.json and package-lock.json")
    parser.add_argument("--pip-audit", default="pip-audit", help="the pip-audit executable")
    parser.add_argument("--npm", default="npm", help="the npm executable")
    parser.add_argument("--pip-report", type=Path, help="a recorded pip-audit JSON report instead of running it")
    parser.add_argument("--npm-report", type=Path, help="a recorded npm audit JSON report instead of running it")
    parser.add_argument("--today", type=dt.date.fromisoformat, help="the date waivers expire against (tests)")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    try:
        waivers = load_waivers(args.waivers.read_text()) if args.waivers.exists() else []
    except WaiverError as error:
        say(f"AUDIT FAILED: {args.waivers}: {error}")
        return EXIT_FAIL
    today: dt.date = args.today or dt.datetime.now(dt.UTC).date()

    say("audit: Python packages of requirements.lock (pip-audit)")
    pip = (
        parse_pip_audit(_read_report(args.pip_report)) if args.pip_report else run_pip_audit(args.pip_audit, args.lock)
    )
    say("audit: npm runtime dependencies of package-lock.json (npm audit --omit=dev)")
    npm = parse_npm_audit(_read_report(args.npm_report)) if args.npm_report else run_npm_audit(args.npm, args.project)
    status, lines = evaluate([pip, npm], waivers, today)
    for line in lines:
        say(line)
    return status


if __name__ == "__main__":
    sys.exit(main())
