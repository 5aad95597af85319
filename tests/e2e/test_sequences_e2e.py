"""The Playground with an LSTM on the adding problem in a real browser: it draws the state trajectories (a
line per test sequence) and the LSTM gates (four heatmaps), with no exception, while the run can train."""

from __future__ import annotations

from pathlib import Path

import pytest

from netarium.bench.browser import EXCEPTION, IMAGES, wait_for_count

pytestmark = pytest.mark.e2e


def test_playground_with_an_lstm_on_adding_draws_trajectories_and_gates(open_tab, screenshots: Path) -> None:
    tab = open_tab("/?task=adding&task.L=20&task.n_train=300&task.n_test=80&model=rnn&model.cell=lstm&model.hidden=8",
                   "Playground")
    assert wait_for_count(tab, "pg-state-trajectories-chart", 60) >= 60  # 60 test sequences
    assert wait_for_count(tab, "pg-recurrent-gates-chart", 4, IMAGES) >= 4  # i, f, g, o
    assert tab.get_by_text("needs a 2-D task").count() >= 1  # the boundary says why it does not draw
    assert tab.locator(EXCEPTION).count() == 0
    assert tab.get_by_text("Traceback").count() == 0
    tab.screenshot(path=str(screenshots / "playground_sequences.png"), full_page=True)
    for key in ("pg-state-trajectories-chart", "pg-recurrent-gates-chart"):
        chart = tab.locator(f'.st-key-{key}:not([data-retained="true"])').first
        chart.scroll_into_view_if_needed()
        chart.screenshot(path=str(screenshots / f"playground_{key}.png"))
