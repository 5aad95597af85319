"""The Playground with a hypernetwork in a real browser: opened on the rotated-2d task family with
?model=hypernetwork, it draws the Hypernetwork view (the target net's boundary at the slider's gamma, |theta(gamma)|
over training and across gamma); played, the run trains (the training loss falls) and the norm curves grow
points as the run's history records them, with no exception."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page

from netarium.bench.browser import EXCEPTION, read_status, status_step, wait_until
from netarium.bench.ui import LIVE_CAPTION_JS

pytestmark = pytest.mark.e2e

QUERY = ("/?task=rotated-2d&task.n_samples=400&model=hypernetwork&model.mip=true&optimizer=adam&optimizer.lr=0.01"
         "&loss=cross_entropy&batch_size=50")
# points of the first line (|theta(0)| over training) in the norms chart, and its heatmap in the boundary chart
NORM_POINTS_JS = """() => {
  const c = [...document.querySelectorAll('.st-key-pg-hypernetwork-norms:not([data-retained="true"])')].pop();
  const line = c && c.querySelector('.scatterlayer path.js-line');
  return line ? (line.getAttribute('d').match(/[ML]/g) || []).length : 0;
}"""
HEATMAP_JS = """() => !!document.querySelector('.st-key-pg-hypernetwork-boundary:not([data-retained="true"]) .heatmaplayer image')"""


def training_loss(tab: Page) -> float | None:
    m = re.search(r"training loss ([0-9.]+)", tab.evaluate(LIVE_CAPTION_JS))
    return float(m.group(1)) if m else None


def caption_step(tab: Page) -> int:
    m = re.search(r"as of step ([0-9,]+)", tab.evaluate(LIVE_CAPTION_JS))
    return int(m.group(1).replace(",", "")) if m else 0


def test_playground_with_a_hypernetwork_shows_its_view_and_trains(open_tab, screenshots: Path) -> None:
    tab = open_tab(QUERY, "Playground")
    wait_until(tab, lambda: tab.evaluate(HEATMAP_JS), "the hypernetwork's boundary heatmap")
    wait_until(tab, lambda: tab.get_by_text("hypernetwork output norm").count() > 0, "the norms chart")
    assert tab.get_by_text(re.compile(r"training examples with γ within ±0\.05")).count() == 1
    tab.locator(".st-key-transport-play button").first.click()
    try:  # the sidebar's status line counts steps as they are taken; the views refresh slower on a loaded machine
        wait_until(tab, lambda: (status_step(read_status(tab)) or 0) >= 400, "400 steps", 120)
    finally:
        tab.locator(".st-key-transport-pause button").first.click()
    wait_until(tab, lambda: "paused" in read_status(tab), "the run to pause", 30)
    paused_at = status_step(read_status(tab)) or 0
    # paused, the views draw the run as it stands: trained (the loss is 0.69 at chance) and its norms recorded
    wait_until(tab, lambda: caption_step(tab) == paused_at, f"the views to show step {paused_at}", 120)
    loss = training_loss(tab)
    assert loss is not None and loss < 0.3, tab.evaluate(LIVE_CAPTION_JS)
    wait_until(tab, lambda: tab.evaluate(NORM_POINTS_JS) >= 3, "|θ(0)| over training to have 3 points", 60)
    assert tab.locator(EXCEPTION).count() == 0 and tab.get_by_text("Traceback").count() == 0
    tab.screenshot(path=str(screenshots / "playground_hypernetwork.png"), full_page=True)
