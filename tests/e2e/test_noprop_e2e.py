"""The Playground with a NoProp chain in a real browser: opened with ?model=noprop&trainer=noprop, it trains live
(play) and draws the NoProp chain view (the label embedding's paths, the per-block losses), with no exception."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

EXCEPTION = '[data-testid="stException"]'
LINES_JS = """(key) => [...document.querySelectorAll('.st-key-' + key + ':not([data-retained="true"])')]
  .map(c => c.querySelectorAll('.scatterlayer path.js-line').length).reduce((a, b) => Math.max(a, b), 0)"""


def lines_in(tab: Page, key: str) -> int:
    """The most plotly line paths drawn in one chart with this (dashed) key."""
    return tab.evaluate(LINES_JS, key)


def wait_for_lines(tab: Page, key: str, at_least: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while (n := lines_in(tab, key)) < at_least:
        assert tab.locator(EXCEPTION).count() == 0, tab.locator(EXCEPTION).first.inner_text()
        assert time.monotonic() < deadline, f"{key}: {n} lines after {timeout:.0f} s, wanted {at_least}"
        tab.wait_for_timeout(300)
    return n


def test_playground_trains_a_noprop_chain_and_draws_its_view(open_tab, screenshots: Path) -> None:
    tab = open_tab("/?task=spiral&model=noprop&model.blocks=4&trainer=noprop", "Playground")
    wait_for_lines(tab, "pg-noprop-chain-trajectory", 2 * 3)  # three test inputs of each of the two classes
    tab.locator(".st-key-transport-play button").first.click()
    wait_for_lines(tab, "pg-noprop-chain-losses", 4 + 1)  # a line per block and the head's
    assert tab.locator(EXCEPTION).count() == 0
    assert tab.get_by_text("Traceback").count() == 0
    tab.screenshot(path=str(screenshots / "playground_noprop.png"), full_page=True)
