"""Browser tests: a real Streamlit server on a free port, driven by headless Chromium through Playwright.

Playwright's own browser download is not used: Chromium comes from $NETARIUM_CHROMIUM (default
/usr/bin/chromium). Without that executable every e2e test is skipped, saying why.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "out" / "screenshots"
STARTUP_TIMEOUT_S = 60
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health_ok(url: str) -> bool:
    """Whether Streamlit's health endpoint at `url` answers "ok"."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium executable; skips the e2e tests when it is missing (CI installs it)."""
    path = os.environ.get("NETARIUM_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).is_file():
        pytest.skip(f"no Chromium at {path} (install it, or set NETARIUM_CHROMIUM); `make chromium` does it on Debian")
    return path


@pytest.fixture(scope="session")
def app_url(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of `streamlit run app.py` on a free port, with NETARIUM_HOME in a temporary directory."""
    tmp = tmp_path_factory.mktemp("server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    env = {**os.environ, "NETARIUM_HOME": str(tmp / "home")}
    with open(tmp / "stdout.log", "wb") as out, open(tmp / "stderr.log", "wb") as err:
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not health_ok(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                why = f"exited with {proc.returncode}" if proc.returncode is not None else f"not healthy after {STARTUP_TIMEOUT_S} s"
                pytest.fail(f"streamlit server {why}; stderr:\n{(tmp / 'stderr.log').read_text(errors='replace')}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser_context(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One headless Chromium for the session, with a fresh profile directory."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=chromium, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        yield context
        context.close()


@pytest.fixture
def page(browser_context) -> Iterator:
    """A fresh browser tab, closed after the test."""
    tab = browser_context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    tab.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """out/screenshots/ (gitignored), created on demand."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
