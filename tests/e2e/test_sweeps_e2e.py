"""A sweep by clicking, in a real browser: two fields clicked into axes, a 2 x 3 sweep started, its heatmap
filling live, a cell clicked, its member opened in the Playground with that learning rate and seed in the
sidebar."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page

from .test_app_e2e import (
    EXCEPTION,
    assert_no_exception,
    key_class,
    query,
    shoot,
    wait_idle,
    wait_until,
    widget_value,
)

pytestmark = pytest.mark.e2e

SMALL = {"task": "circle", "task.n_samples": "100", "model.hidden": "4"}
NUMBER = re.compile(r"^-?[0-9.]+(e-?[0-9]+)?$")

HEATMAP_TEXT_JS = """() => [...document.querySelectorAll('.st-key-sw-sweep-final-chart:not([data-retained="true"]) .js-plotly-plot')]
  .flatMap(gd => [...gd.querySelectorAll('.heatmaplayer text, .textpoint text, text.textpoint')].map(t => t.textContent))"""

CELL_CENTER_JS = """([row, col]) => {
  const gd = [...document.querySelectorAll('.st-key-sw-sweep-final-chart .js-plotly-plot')].pop();
  if (!gd || !gd._fullLayout || !gd._fullLayout.xaxis) return null;
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return [box.left + xa._offset + xa.l2p(col), box.top + ya._offset + ya.l2p(row)];
}"""


def fill(tab: Page, key: str, text: str) -> None:
    box = tab.locator(f"{key_class(key)} input").first
    box.fill(text)
    box.press("Enter")
    wait_idle(tab)


def heatmap_numbers(tab: Page) -> list[str]:
    return [t for t in tab.evaluate(HEATMAP_TEXT_JS) if NUMBER.match(t.strip())]


def test_a_two_by_three_sweep_by_clicking_then_a_cell_opens_in_the_playground(open_tab, screenshots: Path) -> None:
    tab = open_tab(query(SMALL), "Sweeps")
    tab.get_by_role("heading", name="Sweeps").wait_for()
    tab.locator(f"{key_class('sweeps.add.Optimizer')} button", has_text="Lr").first.click()
    wait_idle(tab)
    tab.locator(f"{key_class('sweeps.add.Training')} button", has_text="Seed").first.click()
    wait_idle(tab)
    wait_until(tab, lambda: tab.locator(key_class("sweeps.axis.1")).count() > 0, "the second axis")
    assert widget_value(tab, "sweeps.axis.0").startswith("optimizer.lr=log:")  # the default ranges
    assert widget_value(tab, "sweeps.axis.1") == "seed=int:0:3:4"
    fill(tab, "sweeps.axis.0", "optimizer.lr=0.01,0.1")
    fill(tab, "sweeps.axis.1", "seed=1,2,3")
    fill(tab, "sweeps.steps", "300")
    tab.get_by_text("6 members").first.wait_for()
    tab.get_by_text("an estimate").first.wait_for()
    shoot(tab, screenshots / "sweeps_editor.png")

    tab.locator(f"{key_class('sweeps.start')} button").first.click()
    wait_until(tab, lambda: len(heatmap_numbers(tab)) == 6, "the heatmap's six cells to fill", timeout=90)
    wait_until(tab, lambda: tab.get_by_text("6/6 members done").count() > 0, "the sweep to finish", timeout=90)
    wait_idle(tab)
    wait_until(tab, lambda: len(heatmap_numbers(tab)) == 6, "the finished heatmap")
    assert_no_exception(tab, "the finished sweep")
    shoot(tab, screenshots / "sweeps_done.png")

    def click_cell() -> bool:
        """Click the cell lr=0.1 (second row), seed=2 (second column); again if a redraw ate the click."""
        tab.locator(key_class("sw.sweep-final.chart")).first.scroll_into_view_if_needed()
        center = tab.evaluate(CELL_CENTER_JS, [1, 1])
        if center:
            tab.mouse.click(*center)
            tab.wait_for_timeout(1500)
        return widget_value(tab, "sw.sweep-members.pick") == "#4 · optimizer.lr=0.1 · seed 2"

    wait_until(tab, click_cell, "the clicked cell's member in the member picker", timeout=45)
    wait_idle(tab)
    shoot(tab, screenshots / "sweeps_cell_picked.png")

    tab.locator(f"{key_class('sw.sweep-members.open')} button").first.click()
    wait_until(tab, lambda: "playground" in tab.url.lower(), "the Playground")
    tab.get_by_text("Opened sweep member").first.wait_for()
    wait_idle(tab)
    assert widget_value(tab, "sidebar.run.seed") == "2"
    assert widget_value(tab, "sidebar.optimizer.sgd.lr") == "0.1"  # the learning-rate dropdown's chosen value
    assert tab.locator(EXCEPTION).count() == 0
    shoot(tab, screenshots / "sweeps_member_in_playground.png")
