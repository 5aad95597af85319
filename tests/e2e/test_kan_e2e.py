"""The Playground with a KAN in a real browser: opened with ?model=kan, it draws the network graph (the
edges' L1 norms as links) and the KAN edge functions view (a grid of small curves), with no exception."""

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


def wait_for_lines(tab: Page, key: str, at_least: int, timeout: float = 45.0) -> int:
    deadline = time.monotonic() + timeout
    while (n := lines_in(tab, key)) < at_least:
        assert tab.locator(EXCEPTION).count() == 0, tab.locator(EXCEPTION).first.inner_text()
        assert time.monotonic() < deadline, f"{key}: {n} lines after {timeout:.0f} s, wanted {at_least}"
        tab.wait_for_timeout(200)
    return n


def test_playground_with_a_kan_draws_its_graph_and_edge_functions(open_tab, screenshots: Path) -> None:
    tab = open_tab("/?model=kan&model.hidden=3", "Playground")
    wait_for_lines(tab, "pg-network-chart", 1)  # links of the network graph
    assert wait_for_lines(tab, "pg-kan-edges-grid", 2 * 3) >= 2 * 3  # layer 1: one curve per edge 2 -> 3
    wait_for_lines(tab, "pg-kan-edges-edge", 1)  # the enlarged edge
    assert tab.locator(EXCEPTION).count() == 0
    assert tab.get_by_text("Traceback").count() == 0
    tab.screenshot(path=str(screenshots / "playground_kan.png"), full_page=True)
