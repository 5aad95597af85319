"""Browser tests: the app served on a free port, driven by headless Chromium through Playwright.

Server and browser come from netarium.bench.browser (shared with `netarium bench ui`). Playwright's
own browser download is not used: Chromium comes from $NETARIUM_CHROMIUM (default
/usr/bin/chromium). Without that executable every e2e test is skipped, saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from netarium.bench.browser import CHROMIUM_ARGS, ServerFailed, app_server, browser, chromium_path, open_page

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "out" / "screenshots"
TIMEOUT_MS = 30_000

__all__ = ["CHROMIUM_ARGS", "SCREENSHOTS", "TIMEOUT_MS"]  # the flags bench.browser launches Chromium with


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium executable; skips the e2e tests when it is missing (CI installs it)."""
    path = chromium_path()
    if not Path(path).is_file():
        pytest.skip(f"no Chromium at {path} (install it, or set NETARIUM_CHROMIUM); `make chromium` does it on Debian")
    return path


@pytest.fixture(scope="session")
def app_url(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the app (`netarium app` on a free port), its NETARIUM_HOME in a temporary directory."""
    try:
        with app_server(tmp_path_factory.mktemp("server")) as url:
            yield url
    except ServerFailed as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def browser_context(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One headless Chromium for the session, with a fresh profile directory."""
    with browser(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def page(browser_context) -> Iterator:
    """A fresh browser tab, closed after the test."""
    tab = browser_context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    yield tab
    tab.close()


@pytest.fixture
def open_tab(browser_context, app_url: str) -> Iterator[Callable[..., object]]:
    """open_tab(query="", title="") -> a new tab (a new Streamlit session) on app_url + query (or on
    `query` itself when it is a whole URL), loaded
    (the sidebar's status line is up); with `title`, on that page, reached through the sidebar link.
    Every tab it opened is closed after the test."""
    tabs = []

    def _open(query: str = "", title: str = ""):
        tab = open_page(browser_context, query if query.startswith("http") else app_url + query, title)
        tabs.append(tab)
        return tab

    yield _open
    for tab in tabs:
        tab.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """out/screenshots/ (gitignored), created on demand."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
