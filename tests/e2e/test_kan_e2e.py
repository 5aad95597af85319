"""The Playground with a KAN in a real browser: opened with ?model=kan, it draws the network graph (the
edges' L1 norms as links) and the KAN edge functions view (a grid of small curves), with no exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from netarium.bench.browser import EXCEPTION, wait_for_count

pytestmark = pytest.mark.e2e


def test_playground_with_a_kan_draws_its_graph_and_edge_functions(open_tab, screenshots: Path) -> None:
    tab = open_tab("/?model=kan&model.hidden=3", "Playground")
    wait_for_count(tab, "pg-network-chart", 1)  # links of the network graph
    assert wait_for_count(tab, "pg-kan-edges-grid", 2 * 3) >= 2 * 3  # layer 1: one curve per edge 2 -> 3
    wait_for_count(tab, "pg-kan-edges-edge", 1)  # the enlarged edge
    assert tab.locator(EXCEPTION).count() == 0
    assert tab.get_by_text("Traceback").count() == 0
    tab.screenshot(path=str(screenshots / "playground_kan.png"), full_page=True)
