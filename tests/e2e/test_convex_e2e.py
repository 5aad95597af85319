"""The Convex page in a real browser: press Solve, and the objective figure (ADMM, FISTA, one line per run on
two panels), the gap figure and the boundaries of the optimum and of each run are drawn, with no exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from netarium.bench.browser import EXCEPTION, IMAGES, wait_for_count

pytestmark = pytest.mark.e2e


def test_convex_page_solves_and_draws(open_tab, screenshots: Path) -> None:
    tab = open_tab("", "Convex")
    tab.get_by_role("button", name="Solve", exact=True).click()
    # 2 panels x (ADMM, FISTA, 3 runs) lines
    assert wait_for_count(tab, "cvx-objective", 2 * 5, timeout=120) >= 10
    wait_for_count(tab, "cvx-gap", 5, timeout=120)
    for i in range(4):  # the optimum and 3 runs
        wait_for_count(tab, f"cvx-boundary-{i}", 1, IMAGES, timeout=120)
    assert tab.get_by_text("recovered neurons").count() >= 1
    assert tab.locator(EXCEPTION).count() == 0 and tab.get_by_text("Traceback").count() == 0
    tab.screenshot(path=str(screenshots / "convex.png"), full_page=True)
