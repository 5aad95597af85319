"""The Playground with a NoProp chain in a real browser: opened with ?model=noprop&trainer=noprop, it trains live
(play) and draws the NoProp chain view (the label embedding's paths, the per-block losses), with no exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from netarium.bench.browser import EXCEPTION, wait_for_count

pytestmark = pytest.mark.e2e


def test_playground_trains_a_noprop_chain_and_draws_its_view(open_tab, screenshots: Path) -> None:
    tab = open_tab("/?task=spiral&model=noprop&model.blocks=4&trainer=noprop", "Playground")
    wait_for_count(tab, "pg-noprop-chain-trajectory", 2 * 3)  # three test inputs of each of the two classes
    tab.locator(".st-key-transport-play button").first.click()
    wait_for_count(tab, "pg-noprop-chain-losses", 4 + 1)  # a line per block and the head's
    assert tab.locator(EXCEPTION).count() == 0
    assert tab.get_by_text("Traceback").count() == 0
    tab.screenshot(path=str(screenshots / "playground_noprop.png"), full_page=True)
