"""Tests of the job management page in a real headless Chromium (Debian's chromium and chromium-driver)."""

from __future__ import annotations

import shutil
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

# What this machine's closed network and a root user need: no sandbox, no GPU, and none of Chromium's
# own background traffic (each attempt would be refused, many at a time, at every start).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=en-US",
)
INSTALL_HINT = (
    "`make test` installs them; by hand: apt-get update && apt-get install -y --no-install-recommends "
    "chromium chromium-driver"
)


class ChromiumMissingError(RuntimeError):
    pass


def chromium_paths() -> tuple[str, str]:
    """Debian's Chromium and its ChromeDriver, or ChromiumMissingError saying how to install them."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", browser), ("chromedriver", driver)) if path is None]
    if browser is None or driver is None:
        raise ChromiumMissingError(f"{' and '.join(missing)} not found on PATH: {INSTALL_HINT}")
    return browser, driver


def start_chromium(user_data_dir: Path, width: int = 1280, height: int = 800) -> webdriver.Chrome:
    """A fresh headless Chromium at the given viewport size, with its network log kept for inspection."""
    browser, driver = chromium_paths()
    user_data_dir.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    chrome.set_window_size(width, height)
    inner = chrome.execute_script("return [window.innerWidth, window.innerHeight]")
    if inner != [width, height]:  # headless counts the window frame differently across versions: fix the viewport
        chrome.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
    return chrome
