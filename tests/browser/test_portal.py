"""The job management page at /api/portal/, driven in a real headless Chromium against real local hosts.

Jobs are submitted through the API (as the SDK does) while the page is open; the page must show them
without a reload. Screenshots of the list, a job, a failed job and a cancelled job go to tests/artifacts/.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from shared.portal.blueprint import CONTENT_SECURITY_POLICY
from tests.browser import ChromiumMissingError, start_chromium
from tests.e2e.helpers import Api, ionq_job_body
from tests.servers import API_KEY, ROOT, LocalHostProcess

pytestmark = pytest.mark.integration

ARTIFACTS = ROOT / "tests" / "artifacts"
BELL = {"qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]}
# Valid OpenQASM 2, but IonQ measures once at the end: translation for ionq.simulator fails.
MID_CIRCUIT_MEASUREMENT = b"""OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
measure q[0] -> c[0];
x q[0];
measure q[1] -> c[1];
"""
XSS_NAME = "<img src=x onerror=alert(1)>"

ROWS_JS = """
return Array.from(document.querySelectorAll('#jobs-body tr')).map((tr) => ({
  id: tr.dataset.id, name: tr.cells[1].textContent, provider: tr.cells[2].textContent,
  target: tr.cells[3].textContent, status: tr.cells[4].textContent,
  statusClass: tr.cells[4].firstChild.className, cost: tr.cells[6].textContent,
}));
"""


@dataclass
class NetworkLog:
    """Every request the browser made (from Chrome's performance log), kept across tests."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)

    def collect(self, driver: webdriver.Chrome) -> None:
        for entry in driver.get_log("performance"):  # type: ignore[no-untyped-call]  # selenium leaves it unannotated
            event = json.loads(entry["message"])["message"]
            params = event.get("params", {})
            if event.get("method") == "Network.requestWillBeSent":
                self.requests.append(params["request"])
                self.documents.append(params.get("documentURL", ""))
                if "redirectResponse" in params:
                    self.documents.append(params["redirectResponse"].get("url", ""))
            elif event.get("method") == "Page.frameNavigated":
                self.documents.append(params.get("frame", {}).get("url", ""))

    def api_calls(self, path_part: str) -> list[str]:
        return [r["url"] for r in self.requests if path_part in urlsplit(r["url"]).path]


@dataclass
class Browser:
    driver: webdriver.Chrome
    network: NetworkLog


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    try:
        driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    except ChromiumMissingError as error:
        pytest.fail(f"The browser tests need Debian's Chromium: {error}", pytrace=False)
    yield Browser(driver, NetworkLog())
    driver.quit()


@pytest.fixture
def paused_host(azurite_port: int, tmp_path: Path) -> Iterator[LocalHostProcess]:
    """A host of its own whose IonQ translator does not run, so IonQ jobs stay Waiting."""
    host = LocalHostProcess(
        state_dir=tmp_path / "paused", blob_port=azurite_port, settings={"LOCAL_DISABLED_FUNCTIONS": "translate_ionq"}
    )
    host.start()
    yield host
    host.stop()


class Portal:
    """The page of one host, in the module's browser."""

    def __init__(self, browser: Browser, host: LocalHostProcess) -> None:
        self.driver = browser.driver
        self.network = browser.network
        self.host = host
        self.url = f"{host.endpoint}portal/"

    # -- plumbing

    def js(self, script: str, *args: object) -> Any:
        return self.driver.execute_script(script, *args)

    def wait(self, condition: Callable[[], object], what: str, timeout: float = 30.0) -> Any:
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(lambda _: condition())
        except TimeoutException:
            self.screenshot(f"failed-{uuid.uuid4().hex[:6]}")
            raise AssertionError(f"after {timeout} s, still not: {what}") from None

    def visible(self, element_id: str) -> bool:
        return bool(
            self.js(
                "const e = document.getElementById(arguments[0]); return !!e && e.getClientRects().length > 0",
                element_id,
            )
        )

    def text(self, element_id: str) -> str:
        return str(self.js("return document.getElementById(arguments[0]).textContent", element_id))

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    # -- the page

    def open(self, fragment: str = "") -> None:
        self.driver.get(self.url + fragment)
        self.wait(lambda: self.visible("signin-view") or self.visible("list-view") or self.visible("job-view"), "shown")
        self.network.collect(self.driver)

    def sign_in(self, key: str = API_KEY) -> None:
        if not self.visible("signin-view"):
            self.driver.find_element(By.ID, "sign-out").click()
        field = self.driver.find_element(By.ID, "api-key")
        field.clear()
        field.send_keys(key, Keys.ENTER)

    def signed_in(self, fragment: str = "") -> None:
        """Open the page at `fragment`, signing in if this tab has no key for the host yet."""
        self.open(fragment)
        if self.visible("signin-view"):
            self.sign_in()
        self.wait(lambda: not self.visible("signin-view"), "signed in")

    def rows(self) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = self.js(ROWS_JS)
        return rows

    def wait_rows(
        self, check: Callable[[list[dict[str, str]]], bool], what: str, timeout: float = 60.0
    ) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = self.wait(lambda: (rows := self.rows()) and check(rows) and rows, what, timeout)
        return rows

    def hash_params(self) -> dict[str, list[str]]:
        fragment = str(self.js("return window.location.hash"))
        return parse_qs(fragment.partition("?")[2])

    def job_status(self) -> str:
        return self.text("job-status") if self.visible("job-status") else ""

    def history(self) -> list[str]:
        statuses: list[str] = self.js(
            "return Array.from(document.querySelectorAll('#job-history .status')).map((s) => s.textContent)"
        )
        return statuses


def submit(api: Api, name: str, program: bytes | None = None, input_url: str | None = None, **changes: Any) -> str:
    job_id = str(uuid.uuid4())
    url = input_url or api.upload_program(program or json.dumps(BELL).encode())
    response = api.put_job(job_id, {**ionq_job_body(url, name, shots=100), **changes})
    assert response.status_code == 201, response.text
    return job_id


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}-"


# ------------------------------------------------------------------------------------- serving


def test_the_page_and_its_files_are_served_with_content_types_caching_and_a_strict_policy(
    host: LocalHostProcess,
) -> None:
    portal = f"{host.endpoint}portal"
    bare = requests.get(portal, allow_redirects=False, timeout=10)
    assert bare.status_code == 308 and bare.headers["Location"] == "portal/"
    page = requests.get(f"{portal}/", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY and "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-cache"
    assert "<script>" not in page.text and " on" not in page.text.split("<body>")[1].split(">")[0]
    assert "subscriptions/" not in page.text, "the anonymous page names no workspace (finding F19)"
    again = requests.get(f"{portal}/", headers={"If-None-Match": page.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""

    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        plain = requests.get(f"{portal}/{name}", timeout=10)
        assert plain.status_code == 200 and plain.headers["Content-Type"].startswith(kind)
        assert plain.headers["Cache-Control"] == "no-cache"
        versioned_url = next(part.split('"')[0] for part in page.text.split(f'"{name}?v=')[1:])
        versioned = requests.get(f"{portal}/{name}?v={versioned_url}", timeout=10)
        assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert versioned.content == plain.content

    for path in ("nope.js", "..%2fhost.json", "..%2f..%2ffunction_app.py", "%2e%2e", "app.js%00", "APP.JS", "static"):
        refused = requests.get(f"{portal}/{path}", timeout=10)
        assert refused.status_code == 404, path
        assert refused.headers.get("Content-Type", "").startswith(("text/plain", "application/json")), path
    assert requests.get(f"{portal}/static/app.js", timeout=10).status_code == 404
    assert requests.get(f"{portal}/../function_app.py", timeout=10).status_code == 404


# ------------------------------------------------------------------------------------- signing in


def test_a_wrong_key_shows_a_message_and_sign_out_forgets_the_key(browser: Browser, host: LocalHostProcess) -> None:
    page = Portal(browser, host)
    page.open()
    if not page.visible("signin-view"):
        page.driver.find_element(By.ID, "sign-out").click()
    page.sign_in("not-the-key")
    page.wait(lambda: page.visible("signin-message"), "the sign-in message shows")
    assert "did not accept this API key" in page.text("signin-message")
    assert page.js("return window.sessionStorage.length") == 0
    assert not page.visible("list-view")

    page.sign_in()
    page.wait(lambda: page.visible("list-view"), "the job list shows")
    assert page.js("return window.sessionStorage.getItem('quantum-portal.api-key')") == API_KEY
    assert page.js("return window.localStorage.length") == 0 and page.js("return document.cookie") == ""

    page.driver.find_element(By.ID, "sign-out").click()
    page.wait(lambda: page.visible("signin-view"), "the sign-in form shows")
    assert page.js("return window.sessionStorage.length") == 0
    assert page.js("return document.querySelectorAll('#jobs-body tr').length") == 0
    assert "signed out" in page.text("signin-message")


# ------------------------------------------------------------------------------------- the list and a job


def test_submitted_jobs_appear_and_succeed_without_a_reload_and_a_job_shows_its_histogram_and_history(
    browser: Browser, host: LocalHostProcess
) -> None:
    api = Api(host)
    prefix = unique("bell")
    page = Portal(browser, host)
    page.signed_in(f"#/jobs?name={prefix}")
    page.wait(lambda: page.visible("list-empty"), "an empty list for a new prefix")
    page.js("window.__notReloaded = true")

    ids = [submit(api, f"{prefix}{n}") for n in range(3)]
    rows = page.wait_rows(
        lambda rows: {r["id"] for r in rows} == set(ids) and all(r["status"] == "Succeeded" for r in rows),
        "the three jobs listed as Succeeded",
    )
    assert page.js("return window.__notReloaded === true"), "the page reloaded"
    assert [r["id"] for r in rows] == ids[::-1], "newest first"
    assert all(r["provider"] == "ionq" and r["target"] == "ionq.simulator" for r in rows)
    assert all(r["statusClass"] == "status status-succeeded" for r in rows)
    assert all(r["cost"] == "0.00 USD" for r in rows)
    assert page.js("return performance.getEntriesByName('list-rendered').length") == 1

    # The whole list, other tests' jobs too: newest first.
    submit(api, f"{prefix}fails", MID_CIRCUIT_MEASUREMENT, inputDataFormat="openqasm.v2")
    page.driver.find_element(By.ID, "clear-filters").click()
    page.wait_rows(lambda rows: len(rows) >= 4 and rows[0]["name"] == f"{prefix}fails", "the unfiltered list")
    page.wait_rows(lambda rows: rows[0]["status"] == "Failed", "the failing job Failed")

    page.open(f"#/jobs?name={prefix}")
    page.wait_rows(lambda rows: len(rows) == 4, "the prefix's four jobs")
    # The unfiltered list may hold just these four too: wait until its rows are the filtered list's (their links
    # carry the filter), so that the job opened from them knows the list to go back to.
    link = f'#jobs-body tr[data-id="{ids[0]}"] a'
    page.wait(
        lambda: "name=" in str(page.js(f"return document.querySelector('{link}').getAttribute('href')")),
        "the filtered rows",
    )
    page.driver.find_element(By.CSS_SELECTOR, link).click()
    page.wait(lambda: page.visible("job-view") and page.job_status() == "Succeeded", "the job page")
    labels = page.wait(
        lambda: page.js(
            "return Array.from(document.querySelectorAll('svg.histogram .bar-label')).map(t => t.textContent)"
        ),
        "the histogram",
    )
    assert labels == ["00", "11"]
    assert page.js("return document.querySelectorAll('svg.histogram rect.bar').length") == 2
    assert "50.0%" in page.text("job-output")
    assert page.history() == ["Waiting", "Executing", "Succeeded"]
    assert page.text("job-title") == f"{prefix}0"
    assert not page.visible("cancel-job") and not page.visible("job-error")
    page.wait(lambda: '"qubits": 2' in page.text("job-input"), "the input program, pretty JSON")
    assert "ionq.circuit.v1" in page.text("input-meta")
    assert "shots100" in page.text("job-params")
    assert page.hash_params()["name"] == [prefix]
    page.screenshot("portal-job")

    page.driver.find_element(By.ID, "back-link").click()
    page.wait(lambda: page.visible("list-view") and len(page.rows()) == 4, "back to the filtered list")
    assert page.js("return document.getElementById('f-name').value") == prefix


def test_filters_build_the_sdk_grammar_and_paging_moves_by_fifty(browser: Browser, host: LocalHostProcess) -> None:
    api = Api(host)
    prefix = unique("page")
    program = api.upload_program(json.dumps(BELL).encode())
    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(lambda n: submit(api, f"{prefix}{n:02d}", input_url=program), range(55)))
    other = submit(api, f"{prefix[:-1]}x-other", input_url=program)  # shares all but the last character
    api.wait_final([*ids, other], timeout=120)

    page = Portal(browser, host)
    page.signed_in()
    name = page.driver.find_element(By.ID, "f-name")
    name.clear()
    name.send_keys(prefix)  # typed: the list follows the filter as the user types
    first = page.wait_rows(
        lambda rows: len(rows) == 50 and all(r["name"].startswith(prefix) for r in rows), "a first page of 50"
    )
    assert page.hash_params()["name"] == [prefix]
    assert page.text("page-info") == "Jobs 1\u201350"
    assert page.js("return document.getElementById('prev-page').disabled")

    page.driver.find_element(By.ID, "next-page").click()
    second = page.wait_rows(lambda rows: len(rows) == 5, "a second page of 5")
    assert page.hash_params()["skip"] == ["50"]
    assert page.text("page-info") == "Jobs 51\u201355"
    assert page.js("return document.getElementById('next-page').disabled")
    assert {r["id"] for r in first} | {r["id"] for r in second} == set(ids)

    page.driver.find_element(By.ID, "prev-page").click()
    again = page.wait_rows(lambda rows: len(rows) == 50, "the first page again")
    assert [r["id"] for r in again] == [r["id"] for r in first]
    assert "skip" not in page.hash_params()

    # Filters from the hash fill the form and become the SDK's filter grammar.
    page.open(f"#/jobs?status=Succeeded,Failed&provider=ionq&target=ionq.simulator&name={prefix}&after=2024-01-01")
    page.wait_rows(lambda rows: len(rows) == 50, "the filtered first page")
    page.network.collect(page.driver)
    sent = parse_qs(urlsplit(page.network.api_calls("/jobs")[-1]).query)
    assert sent["filter"] == [
        (
            f"startswith(Name, '{prefix}') and (ProviderId eq 'ionq') and (Target eq 'ionq.simulator') "
            "and (State eq 'Succeeded' or State eq 'Failed') and CreationTime ge 2024-01-01"
        )
    ]
    assert sent["top"] == ["50"] and sent["skip"] == ["0"]
    assert page.js("return document.getElementById('f-status-Succeeded').checked")
    assert page.js("return document.getElementById('f-after').value") == "2024-01-01"
    assert Select(page.driver.find_element(By.ID, "f-provider")).first_selected_option.text == "ionq"
    options = "return Array.from(document.getElementById('f-target').options).map(o => [o.value, o.text])"
    listed = page.wait(lambda: len(page.js(options)) > 2 and page.js(options), "the provider's targets listed")
    assert ["ionq.qpu.forte-1", "ionq.qpu.forte-1 (local emulation)"] in listed, "a QPU emulation says so"
    assert ["ionq.simulator", "ionq.simulator"] in listed

    page.driver.find_element(By.ID, "f-status-Succeeded").click()  # Failed alone: nothing matches
    page.wait(lambda: page.visible("list-empty") and not page.rows(), "no failed jobs under the prefix")
    assert page.hash_params()["status"] == ["Failed"]


def test_quantinuum_shots_and_qir_histograms_are_drawn_with_their_own_labels(
    browser: Browser, host: LocalHostProcess, workspace: Any
) -> None:
    from azure.quantum.qiskit import AzureQuantumProvider
    from qiskit import QuantumCircuit

    api = Api(host)
    two_registers = (
        b'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg a[1];\ncreg b[1];\n'
        b"h q[0];\ncx q[0],q[1];\nmeasure q[0] -> a[0];\nmeasure q[1] -> b[0];\n"
    )
    quantinuum = submit(
        api,
        unique("registers"),
        two_registers,
        providerId="quantinuum",
        target="quantinuum.sim.h2-1e",
        inputDataFormat="honeywell.openqasm.v1",
        outputDataFormat="honeywell.quantum-results.v1",
    )
    circuit = QuantumCircuit(2, 2, name=unique("qir-bell"))
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    qir = AzureQuantumProvider(workspace).get_backend("ionq.simulator").run(circuit, shots=100).id()
    api.wait_final([quantinuum, qir])

    page = Portal(browser, host)
    bars = "return Array.from(document.querySelectorAll('svg.histogram .bar-label')).map(t => t.textContent)"
    # h2-1e is a noisy emulation: besides both Bell outcomes it may show a rare leaked one.
    for job_id, labels, shots, noisy in (
        (quantinuum, {"0 0", "1 1"}, 100, True),
        (qir, {"[0, 0]", "[1, 1]"}, 100, False),
    ):
        page.signed_in(f"#/jobs/{job_id}")
        shown = page.wait(lambda: page.js(bars), f"the histogram of {job_id}")
        assert labels <= set(shown) if noisy else set(shown) == labels, shown
        assert f"over {shots} shot(s)" in page.text("job-output")
        values = page.js(
            "return Array.from(document.querySelectorAll('svg.histogram .bar-value')).map(t => t.textContent)"
        )
        assert sum(int(v.split(" ")[0]) for v in values) == shots


def test_a_failed_job_shows_its_error_data(browser: Browser, host: LocalHostProcess) -> None:
    api = Api(host)
    job_id = submit(api, unique("failing") + "mid-circuit", MID_CIRCUIT_MEASUREMENT, inputDataFormat="openqasm.v2")
    assert api.wait_final([job_id])[job_id]["status"] == "Failed"

    page = Portal(browser, host)
    page.signed_in(f"#/jobs/{job_id}")
    page.wait(lambda: page.visible("job-error"), "the error box")
    fields = page.text("job-error-fields")
    assert "CodeUnsupportedProgram" in fields and "measured and then used by 'x'" in fields
    assert "MidCircuitMeasurement" in page.text("job-error-details")
    assert page.job_status() == "Failed" and not page.visible("cancel-job")
    assert page.history() == ["Waiting", "Failed"]
    assert "no output" in page.text("job-output")
    page.wait(lambda: "OPENQASM 2.0;" in page.text("job-input"), "the program as text")
    assert page.js("return document.querySelectorAll('#job-view svg').length") == 0
    page.screenshot("portal-failed-job")


def test_a_job_name_with_markup_renders_as_text(browser: Browser, host: LocalHostProcess) -> None:
    api = Api(host)
    prefix = unique("x'ss")  # a quote too: the filter escapes it as ''
    job_id = submit(api, prefix + XSS_NAME)
    page = Portal(browser, host)
    page.signed_in(f"#/jobs?name={quote(prefix)}")
    rows = page.wait_rows(lambda rows: len(rows) == 1, "the one job")
    assert rows[0]["name"] == prefix + XSS_NAME
    assert page.js("return document.querySelectorAll('img').length") == 0
    page.driver.find_element(By.CSS_SELECTOR, "#jobs-body tr a").click()
    page.wait(lambda: page.text("job-title") == prefix + XSS_NAME, "the name as the job's title")
    assert page.js("return document.querySelectorAll('img').length") == 0
    assert job_id in page.text("job-id")
    with pytest.raises(NoAlertPresentException):
        _ = page.driver.switch_to.alert.text


# ------------------------------------------------------------------------------------- cancelling


def test_a_waiting_job_is_cancelled_from_its_page_and_a_refusal_shows_the_service_message(
    browser: Browser, paused_host: LocalHostProcess
) -> None:
    api = Api(paused_host)
    job_id = submit(api, "wait-for-me")
    page = Portal(browser, paused_host)
    page.signed_in()
    rows = page.wait_rows(lambda rows: any(r["id"] == job_id for r in rows), "the waiting job listed")
    assert rows[0]["status"] == "Waiting" and rows[0]["statusClass"] == "status status-waiting"

    page.driver.find_element(By.CSS_SELECTOR, f'#jobs-body tr[data-id="{job_id}"] a').send_keys(Keys.ENTER)
    page.wait(lambda: page.job_status() == "Waiting" and page.visible("cancel-job"), "a Cancel button")
    assert "No output yet" in page.text("job-output")
    page.driver.find_element(By.ID, "cancel-job").click()
    page.wait(lambda: page.job_status() == "Cancelled", "the job Cancelled")
    assert not page.visible("cancel-job")
    assert page.history() == ["Waiting", "Cancelled"]
    assert "The job was cancelled." in page.text("job-message")
    assert api.get_job(job_id).json()["status"] == "Cancelled"
    page.screenshot("portal-cancelled-job")

    # Cancelled elsewhere after the page showed it: the service refuses, and the page says why.
    late = submit(api, "cancelled-elsewhere")
    page.open(f"#/jobs/{late}")
    page.wait(lambda: page.visible("cancel-job"), "a Cancel button")
    assert api.session.post(f"{api.base}/jobs/{late}:cancel").ok
    page.js("document.getElementById('cancel-job').click()")  # by script: a poll may hide the button first
    page.wait(lambda: "refused" in page.text("job-message"), "the refusal")
    assert "already Cancelled; a final job cannot be cancelled" in page.text("job-message")
    page.wait(lambda: page.job_status() == "Cancelled", "the refreshed status")


# ------------------------------------------------------------------------------------- the key


def test_the_api_key_never_appears_in_a_request_url(browser: Browser, host: LocalHostProcess) -> None:
    page = Portal(browser, host)
    page.signed_in()
    page.wait(lambda: page.visible("list-view"), "the list")
    page.wait(lambda: page.rows(), "some jobs")
    page.screenshot("portal-list")  # here, last: the module's jobs are all listed
    page.driver.find_element(By.CSS_SELECTOR, "#jobs-body tr a").click()
    page.wait(lambda: page.job_status() != "", "a job page")
    resources: list[str] = page.js("return performance.getEntries().map((e) => e.name)")
    page.network.collect(page.driver)

    urls = [r["url"] for r in page.network.requests] + page.network.documents + resources
    urls.append(str(page.js("return window.location.href")))
    assert len(page.network.requests) > 10, "the network log was not collected"
    leaks = [url for url in urls if API_KEY in url]
    assert not leaks, f"the API key appears in request URLs: {leaks[:3]}"
    api_requests = [r for r in page.network.requests if "/workspaces/" in r["url"]]
    without = [r["url"] for r in api_requests if "x-ms-quantum-api-key" not in {k.lower() for k in r["headers"]}]
    assert api_requests and not without, f"API requests without the key header: {without[:3]}"
    portal_requests = [r for r in page.network.requests if "/portal/" in r["url"]]
    assert all("x-ms-quantum-api-key" not in {k.lower() for k in r["headers"]} for r in portal_requests)
