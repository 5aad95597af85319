"""The app in a real browser: a Streamlit server on a free port and Debian's Chromium via Playwright.

Shared by the e2e tests and `netarium bench ui`. Playwright's own browser download is not used.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    """$NETARIUM_CHROMIUM, default Debian's /usr/bin/chromium."""
    return os.environ.get("NETARIUM_CHROMIUM", "/usr/bin/chromium")


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


class ServerFailed(RuntimeError):
    """The Streamlit server exited or never became healthy; the message holds its stderr."""


class ServerURL(str):
    """The app's URL (a plain str to every caller) that also names the server process: `pid`, and `home`."""

    pid: int
    home: Path

    def __new__(cls, url: str, pid: int, home: Path) -> ServerURL:
        obj = super().__new__(cls, url)
        obj.pid, obj.home = pid, home
        return obj


@contextlib.contextmanager
def app_server(home: Path, timeout: float = 60.0, cores: set[int] | None = None,
               env: dict[str, str] | None = None) -> Iterator[ServerURL]:
    """`netarium app` on a free port with NETARIUM_HOME=home; yields its URL (with the process id as `.pid`),
    stops it after. `cores`: pin the server process to these CPU cores; `env`: more environment variables."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "netarium.cli", "app", "--port", str(port), "--address", "127.0.0.1"]
    env = {**os.environ, "NETARIUM_HOME": str(home / "store"), **(env or {})}
    with open(home / "stdout.log", "wb") as out, open(home / "stderr.log", "wb") as err:
        proc = subprocess.Popen(cmd, cwd=home, env=env, stdout=out, stderr=err)
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(proc.pid, cores)
    try:
        deadline = time.monotonic() + timeout
        while not health_ok(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                why = f"exited with {proc.returncode}" if proc.returncode is not None else f"not healthy after {timeout} s"
                raise ServerFailed(f"streamlit server {why}; stderr:\n{(home / 'stderr.log').read_text(errors='replace')}")
            time.sleep(0.25)
        yield ServerURL(url, proc.pid, home)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def browser(profile: Path, width: int = 1400, height: int = 1000) -> Iterator:
    """A headless Chromium context (Playwright) with a fresh profile directory."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height})
        try:
            yield context
        finally:
            context.close()


def open_page(context, url: str, title: str = "") -> object:
    """A new tab on the app; with `title`, navigate to that page through the sidebar."""
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.goto(url)
    tab.get_by_text("step ", exact=False).first.wait_for()
    if title:
        tab.get_by_role("link", name=title).first.click()
    return tab


STATUS_JS = """() => {
  const el = [...document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stCaptionContainer"], [data-testid="stSidebar"] [data-testid="stAlert"]')]
    .find(e => /step [0-9,]+ ·/.test(e.innerText));
  return el ? el.innerText : "";
}"""


def read_status(tab) -> str:
    """The sidebar status line's text ('step 1,234 · epoch ... · playing')."""
    return tab.evaluate(STATUS_JS)


def status_step(text: str) -> int | None:
    """The step number in a status line, or None."""
    import re

    m = re.search(r"step ([0-9,]+) ·", text)
    return int(m.group(1).replace(",", "")) if m else None


EXCEPTION = '[data-testid="stException"]'  # Streamlit's box for an exception shown on the page
LINES = ".scatterlayer path.js-line"  # plotly's line paths
IMAGES = ".heatmaplayer image, .hm image, image"  # plotly's heatmap images
COUNT_JS = """([key, selector]) => [...document.querySelectorAll('.st-key-' + key + ':not([data-retained="true"])')]
  .map(c => c.querySelectorAll(selector).length).reduce((a, b) => Math.max(a, b), 0)"""


def count_in(tab, key: str, selector: str = LINES) -> int:
    """The most `selector` elements (default: line paths) in one element with this (dashed) widget key."""
    return tab.evaluate(COUNT_JS, [key, selector])


def wait_until(tab, probe, what: str, timeout: float = 60.0, poll_ms: int = 250):
    """probe()'s value once it is truthy; AssertionError when the page shows an exception first, or after
    `timeout` seconds (naming `what` and the sidebar's status line)."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if tab.locator(EXCEPTION).count():
            raise AssertionError(tab.locator(EXCEPTION).first.inner_text())
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what} (status: {read_status(tab)!r})")
        tab.wait_for_timeout(poll_ms)
    return value


def wait_for_count(tab, key: str, at_least: int, selector: str = LINES, timeout: float = 60.0) -> int:
    """count_in(tab, key, selector) once it reaches `at_least` (see wait_until)."""
    wait_until(tab, lambda: count_in(tab, key, selector) >= at_least, f"{at_least} of {selector} in {key}", timeout)
    return count_in(tab, key, selector)
