"""The Playground with MgNO on elliptic-1d in a real browser: it trains live (play, the step rises, pause), draws the
operator solutions and the V-cycle levels, the curves' relative L2 panel, and the 2-D views decline in one line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

from netarium.bench.browser import read_status, status_step

pytestmark = pytest.mark.e2e

EXCEPTION = '[data-testid="stException"]'
LINES_JS = """(key) => [...document.querySelectorAll('.st-key-' + key + ':not([data-retained="true"])')]
  .map(c => c.querySelectorAll('.scatterlayer path.js-line').length).reduce((a, b) => Math.max(a, b), 0)"""
QUERY = ("/?task=elliptic-1d&model=mgno&model.channels=4&model.layers=2&model.levels=4&task.n_samples=200"
         "&batch_size=16&eval_every=20")


def lines_in(tab: Page, key: str) -> int:
    return tab.evaluate(LINES_JS, key)


def wait_for(tab: Page, what: str, ok, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while not (value := ok()):
        assert tab.locator(EXCEPTION).count() == 0, tab.locator(EXCEPTION).first.inner_text()
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        tab.wait_for_timeout(300)
    return value


def test_playground_trains_mgno_live_and_draws_its_views(open_tab, screenshots: Path) -> None:
    tab = open_tab(QUERY, "Playground")
    wait_for(tab, "the solutions chart", lambda: lines_in(tab, "pg-grid-solutions-chart") >= 10)  # 4 x (true, predicted) + error + RMS
    wait_for(tab, "the levels chart", lambda: lines_in(tab, "pg-mgno-levels-chart") >= 2 + 4)  # a line per layer, a curve per level
    tab.locator(".st-key-transport-play button").first.click()
    try:
        first = wait_for(tab, "the step to leave 0", lambda: status_step(read_status(tab)) or 0)
        wait_for(tab, "the step to rise", lambda: (status_step(read_status(tab)) or 0) > first + 40)
        wait_for(tab, "the relative L2 curves", lambda: tab.get_by_text("relative L2 error").count() > 0)
    finally:
        tab.locator(".st-key-transport-pause button").first.click()
    assert tab.get_by_text("Decision boundary: needs a 2-D task").count() == 1
    assert tab.locator(EXCEPTION).count() == 0 and tab.get_by_text("Traceback").count() == 0
    tab.screenshot(path=str(screenshots / "playground_mgno.png"), full_page=True)
    for key in ("pg-grid-solutions-chart", "pg-mgno-levels-chart"):
        chart = tab.locator(f".st-key-{key}").first
        chart.scroll_into_view_if_needed()
        chart.screenshot(path=str(screenshots / f"playground_mgno_{key}.png"))
