"""The Playground with MgNO on elliptic-1d in a real browser: it trains live (play, the step rises, pause), draws the
operator solutions and the V-cycle levels, the curves' relative L2 panel, and the 2-D views decline in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from netarium.bench.browser import EXCEPTION, count_in, read_status, status_step, wait_until

pytestmark = pytest.mark.e2e

QUERY = ("/?task=elliptic-1d&model=mgno&model.channels=4&model.layers=2&model.levels=4&task.n_samples=200"
         "&batch_size=16&eval_every=20")


def test_playground_trains_mgno_live_and_draws_its_views(open_tab, screenshots: Path) -> None:
    tab = open_tab(QUERY, "Playground")
    wait_until(tab, lambda: count_in(tab, "pg-grid-solutions-chart") >= 10, "the solutions chart", 90)  # 4 x (true, predicted) + error + RMS
    wait_until(tab, lambda: count_in(tab, "pg-mgno-levels-chart") >= 2 + 4, "the levels chart", 90)  # a line per layer, a curve per level
    tab.locator(".st-key-transport-play button").first.click()
    try:
        first = wait_until(tab, lambda: status_step(read_status(tab)) or 0, "the step to leave 0", 90)
        wait_until(tab, lambda: (status_step(read_status(tab)) or 0) > first + 40, "the step to rise", 90)
        wait_until(tab, lambda: tab.get_by_text("relative L2 error").count() > 0, "the relative L2 curves", 90)
    finally:
        tab.locator(".st-key-transport-pause button").first.click()
    wait_until(tab, lambda: "paused" in read_status(tab), "the run to pause", 30)  # no rerun detaches the charts below
    assert tab.get_by_text("Decision boundary: needs a 2-D task").count() == 1
    assert tab.locator(EXCEPTION).count() == 0 and tab.get_by_text("Traceback").count() == 0
    tab.screenshot(path=str(screenshots / "playground_mgno.png"), full_page=True)
    for key in ("pg-grid-solutions-chart", "pg-mgno-levels-chart"):
        chart = tab.locator(f'.st-key-{key}:not([data-retained="true"])').first
        chart.scroll_into_view_if_needed()
        chart.screenshot(path=str(screenshots / f"playground_mgno_{key}.png"))
