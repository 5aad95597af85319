"""The Convex page in a real browser: press Solve, and the objective figure (ADMM, FISTA, one line per run on
two panels), the gap figure and the boundaries of the optimum and of each run are drawn, with no exception."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

EXCEPTION = '[data-testid="stException"]'
COUNT_JS = """([key, sel]) => [...document.querySelectorAll('.st-key-' + key + ':not([data-retained="true"])')]
  .map(c => c.querySelectorAll(sel).length).reduce((a, b) => Math.max(a, b), 0)"""


def wait_for(tab: Page, key: str, selector: str, at_least: int, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    while (n := tab.evaluate(COUNT_JS, [key, selector])) < at_least:
        assert tab.locator(EXCEPTION).count() == 0, tab.locator(EXCEPTION).first.inner_text()
        assert time.monotonic() < deadline, f"{key}: {n} of {selector} after {timeout:.0f} s, wanted {at_least}"
        tab.wait_for_timeout(300)
    return n


def test_convex_page_solves_and_draws(open_tab, screenshots: Path) -> None:
    tab = open_tab("", "Convex")
    tab.get_by_role("button", name="Solve", exact=True).click()
    # 2 panels x (ADMM, FISTA, 3 runs) lines
    assert wait_for(tab, "cvx-objective", ".scatterlayer path.js-line", 2 * 5) >= 10
    wait_for(tab, "cvx-gap", ".scatterlayer path.js-line", 5)
    for i in range(4):  # the optimum and 3 runs
        wait_for(tab, f"cvx-boundary-{i}", ".heatmaplayer image, .hm image, image", 1)
    assert tab.get_by_text("recovered neurons").count() >= 1
    assert tab.locator(EXCEPTION).count() == 0 and tab.get_by_text("Traceback").count() == 0
    tab.screenshot(path=str(screenshots / "convex.png"), full_page=True)
