"""The Playground with an LSTM on the adding problem in a real browser: it draws the state trajectories (a
line per test sequence) and the LSTM gates (four heatmaps), with no exception, while the run can train."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

EXCEPTION = '[data-testid="stException"]'
COUNT_JS = """([key, selector]) => [...document.querySelectorAll('.st-key-' + key + ':not([data-retained="true"])')]
  .map(c => c.querySelectorAll(selector).length).reduce((a, b) => Math.max(a, b), 0)"""


def wait_for(tab: Page, key: str, selector: str, at_least: int, timeout: float = 60.0) -> int:
    """The most `selector` elements in one chart with this (dashed) key, once there are at least `at_least`."""
    deadline = time.monotonic() + timeout
    while (n := tab.evaluate(COUNT_JS, [key, selector])) < at_least:
        assert tab.locator(EXCEPTION).count() == 0, tab.locator(EXCEPTION).first.inner_text()
        assert time.monotonic() < deadline, f"{key}: {n} of {selector} after {timeout:.0f} s, wanted {at_least}"
        tab.wait_for_timeout(250)
    return n


def test_playground_with_an_lstm_on_adding_draws_trajectories_and_gates(open_tab, screenshots: Path) -> None:
    tab = open_tab("/?task=adding&task.L=20&task.n_train=300&task.n_test=80&model=rnn&model.cell=lstm&model.hidden=8",
                   "Playground")
    assert wait_for(tab, "pg-state-trajectories-chart", ".scatterlayer path.js-line", 60) >= 60  # 60 test sequences
    assert wait_for(tab, "pg-recurrent-gates-chart", ".heatmaplayer image, .hm image, image", 4) >= 4  # i, f, g, o
    assert tab.get_by_text("needs a 2-D task").count() >= 1  # the boundary says why it does not draw
    assert tab.locator(EXCEPTION).count() == 0
    assert tab.get_by_text("Traceback").count() == 0
    tab.screenshot(path=str(screenshots / "playground_sequences.png"), full_page=True)
    for key in ("pg-state-trajectories-chart", "pg-recurrent-gates-chart"):
        chart = tab.locator(f'.st-key-{key}:not([data-retained="true"])').first
        chart.scroll_into_view_if_needed()
        chart.screenshot(path=str(screenshots / f"playground_{key}.png"))
