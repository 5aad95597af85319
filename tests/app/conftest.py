"""Shared AppTest set-up: the whole app (app.py with its sidebar), switched to a page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit.testing.v1.app_test as app_test_module
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app.py"
LIVE = "netarium.live"
SWEEP = "netarium.sweep"


class NavigationPages(PagesManager):
    """As `netarium app` serves it (ui/server.py): pages/ is st.navigation's, not a legacy pages
    directory. Without this, AppTest runs a switched-to page alone, without app.py's sidebar."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


@pytest.fixture
def open_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., AppTest]]:
    """open_app(page, url=None, **query) -> the app run once (with these URL query parameters, opened
    at `url` when given), then on `page` ("pages/playground.py") when given. Every session's live run
    and sweep are stopped after the test."""
    monkeypatch.setenv("NETARIUM_HOME", str(tmp_path))
    # AppTest runs no fragment by itself (no heartbeat between two runs): a test waiting on a training
    # run must not see it paused or freed as a closed tab's would be (training/sessions.py)
    monkeypatch.setenv("NETARIUM_SESSION_PAUSE_SECONDS", "120")
    monkeypatch.setenv("NETARIUM_SESSION_FREE_SECONDS", "3600")
    monkeypatch.setattr(app_test_module, "PagesManager", NavigationPages)
    made: list[AppTest] = []

    def _open(page: str | None = None, *, url: str | None = None, **query: str) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        made.append(at)
        if url is not None:  # as a browser opening this address
            at.context = {"url": url}
        at.query_params.update(query)
        at.run()
        if page is not None:
            at.switch_page(page).run()
        assert not at.exception, at.exception
        return at

    yield _open
    for at in made:
        if LIVE in at.session_state:
            at.session_state[LIVE].close()
        if SWEEP in at.session_state and at.session_state[SWEEP] is not None:
            at.session_state[SWEEP].close()  # a sweep left playing would train on past the test
