"""The whole app in a real browser: training live on the Playground, every page free of exceptions,
share links that reproduce the config in a new session, lesson links that hide controls, and a
diverging run that says why it stopped.

Each test opens its own tabs (one Streamlit session each) on the session's server and leaves its
run paused, so no training thread keeps a core busy for the next test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Page, expect

from netarium.bench.browser import read_status, status_step
from netarium.bench.ui import LIVE_CAPTION_JS
from netarium.ui.session import default_config
from netarium.ui.urlstate import query_to_config

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 30_000
EXCEPTION = '[data-testid="stException"]'
PAGES = {  # sidebar link -> something that page shows once it has rendered
    "Home": ("heading", "Netarium"),
    "Playground": ("text", "as of step"),
    "Side by side": ("text", "Slot 1"),
    "Diagram": ("text", "Parameters per component"),
    "Geometry": ("text", "Representations over training"),
    "Residual stream": ("text", "The residual-stream views need"),
    "Dynamics": ("text", "Sharpness and trace"),
    "Connectivity": ("text", "The live model has no masks"),
    "Sweeps": ("heading", "Sweeps"),
    "Experiments": ("heading", "Experiments"),
    "Runs": ("heading", "Runs"),
}
SHARED = {"task": "circle", "task.noise": "0.25", "model.hidden": "4,2", "seed": "3"}
DIVERGES = {"task": "reg-plane", "optimizer": "sgd", "optimizer.lr": "10", "model.hidden": "64,64", "model.activation": "relu"}


def query(params: dict[str, str]) -> str:
    return "/?" + "&".join(f"{k}={v}" for k, v in params.items())


def wait_until(tab: Page, probe: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll probe() every 100 ms until it returns something truthy; fail saying `what` after
    `timeout` s, or at once when the page shows an exception."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if tab.locator(EXCEPTION).count():
            raise AssertionError(f"an exception while waiting for {what}: {tab.locator(EXCEPTION).first.inner_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (status line: {read_status(tab)!r})")
        tab.wait_for_timeout(100)


def wait_visible(tab: Page, locator, what: str, timeout: float = 30.0) -> None:
    wait_until(tab, lambda: locator.first.is_visible(), what, timeout)


def key_class(key: str) -> str:
    """The CSS class Streamlit gives the container of the element with this key."""
    return ".st-key-" + key.replace(".", "-")


def widget_value(tab: Page, key: str) -> str:
    """The value a keyed input widget holds (number/text input, a slider's value, or a selectbox's chosen label);
    also inside a collapsed expander."""
    box = tab.locator(f"{key_class(key)} input").first
    box.wait_for(state="attached")
    return box.input_value()


def wait_idle(tab: Page) -> None:
    """Until the script is not running (no 'Running...' widget in the toolbar)."""
    expect(tab.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=TIMEOUT_MS)


def assert_no_exception(tab: Page, where: str) -> None:
    assert tab.locator(EXCEPTION).count() == 0, f"{where}: {tab.locator(EXCEPTION).first.inner_text()}"
    assert tab.get_by_text("Traceback").count() == 0, f"{where} shows a traceback"


def shoot(tab: Page, path: Path) -> None:
    """A screenshot of the whole page: Streamlit scrolls an inner container, so the viewport grows
    to it for the shot and shrinks back after."""
    size = tab.viewport_size
    tab.mouse.move(size["width"] - 2, size["height"] - 2)  # no tooltip of the last button pressed
    height = tab.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    if height > size["height"]:
        tab.set_viewport_size({"width": size["width"], "height": int(height)})
        tab.wait_for_timeout(400)  # let the charts re-layout at the new size
    tab.screenshot(path=str(path), full_page=True)
    tab.set_viewport_size(size)
    assert path.stat().st_size > 10_000, f"{path.name} looks blank"


def step_now(tab: Page) -> int:
    """The step the sidebar's status line shows (waiting for the line to be there)."""
    (step,) = wait_until(tab, lambda: [s for s in [status_step(read_status(tab))] if s is not None], "a status line")
    return step


CURVES_DRAWN_JS = """() => [...document.querySelectorAll('.st-key-pg-curves-chart:not([data-retained="true"])')]
  .some(c => c.querySelector('.scatterlayer path.js-line') && !c.innerText.includes('no data yet'))"""


def curves_drawn(tab: Page) -> bool:
    """The Playground's curves chart draws lines (and no longer says 'no data yet'). While a
    fragment redraws, Streamlit may keep the old chart next to the new one (data-retained)."""
    return tab.evaluate(CURVES_DRAWN_JS)


def pause(tab: Page) -> None:
    """Press Pause (if playing) and wait until the status line says paused."""
    button = tab.locator(f"{key_class('transport.pause')} button")
    if button.count():
        button.first.click()
    wait_until(tab, lambda: "playing" not in read_status(tab) and read_status(tab), "the run to pause", timeout=10)


def test_playground_trains_live_and_pauses(open_tab, screenshots: Path) -> None:
    tab = open_tab(title="Playground")
    wait_visible(tab, tab.get_by_text("as of step 0"), "the Playground's 'as of step 0'")
    wait_visible(tab, tab.locator(key_class("pg.curves.chart")).get_by_text("no data yet"), "the empty curves chart")
    assert step_now(tab) == 0 and read_status(tab).endswith("ready")
    caption = tab.evaluate(LIVE_CAPTION_JS)
    assert caption == "as of step 0"

    tab.locator(f"{key_class('transport.play')} button").first.click()
    try:
        expect(tab.locator(f"{key_class('transport.pause')} button").first).to_be_visible(timeout=TIMEOUT_MS)
        first = wait_until(tab, lambda: (status_step(read_status(tab)) or 0) > 0 and status_step(read_status(tab)),
                           "the step counter to leave 0")
        tab.wait_for_timeout(2000)
        second = step_now(tab)
        assert second > first, f"the step did not rise while playing: {first} -> {second}"
        assert "playing" in read_status(tab)
        wait_until(tab, lambda: tab.evaluate(LIVE_CAPTION_JS) not in ("", caption), "the 'as of step' caption to change")
        wait_until(tab, lambda: curves_drawn(tab), "the curves chart to draw lines")
    finally:
        pause(tab)

    expect(tab.locator(f"{key_class('transport.play')} button").first).to_be_visible(timeout=TIMEOUT_MS)
    paused_at = step_now(tab)
    tab.wait_for_timeout(1500)
    assert step_now(tab) == paused_at, "the step still rises after Pause"
    assert "paused" in read_status(tab)
    assert_no_exception(tab, "Playground")
    shoot(tab, screenshots / "playground_paused.png")


def test_no_page_shows_an_exception(open_tab, screenshots: Path) -> None:
    tab = open_tab()
    for title, (kind, marker) in [*list(PAGES.items())[1:], next(iter(PAGES.items()))]:  # Home last: back to it
        tab.get_by_role("link", name=title).first.click()
        target = tab.get_by_role("heading", name=marker) if kind == "heading" else tab.get_by_text(marker)
        wait_visible(tab, target, f"the {title} page")
        wait_idle(tab)
        assert_no_exception(tab, title)
        shoot(tab, screenshots / f"page_{title.lower().replace(' ', '_')}.png")


def test_share_link_reproduces_the_config_in_a_new_session(open_tab, screenshots: Path) -> None:
    tab = open_tab(query(SHARED))
    assert widget_value(tab, "sidebar.task.circle.noise") == "25"  # percent, as the Playground shows it
    assert widget_value(tab, "sidebar.model.mlp.hidden") == "4,2"
    thumb = tab.locator(f'{key_class("sidebar.task.circle.noise")} input[type="range"]').first
    thumb.focus()
    for _ in range(10):  # 25 % -> 35 %, one percent a key press
        thumb.press("ArrowRight")
    # noise re-initialises the run; the URL follows the config
    wait_until(tab, lambda: "task.noise=0.35" in tab.url, "the URL to follow the edited noise")
    wait_idle(tab)

    tab.get_by_role("button", name="Share", exact=True).click()
    code = tab.locator('[data-testid="stPopoverBody"] [data-testid="stCode"]').first
    expect(code).to_contain_text("task.noise=0.35", timeout=TIMEOUT_MS)
    link = code.inner_text().strip()
    shoot(tab, screenshots / "share_popover.png")

    expected = query_to_config({**SHARED, "task.noise": "0.35"}, base=default_config())
    assert expected.notices == []
    assert (expected.config.task.name, expected.config.task.noise, expected.config.model.hidden,
            expected.config.seed) == ("circle", 0.35, [4, 2], 3)
    decoded = query_to_config(dict(parse_qsl(urlsplit(link).query)), base=default_config())
    assert decoded.notices == [] and decoded.hidden == set()
    assert decoded.config == expected.config

    other = open_tab(link)  # a new tab: a new session, its config only from the link
    assert widget_value(other, "sidebar.task.name").startswith("circle")
    assert widget_value(other, "sidebar.task.circle.noise") == "35"
    assert widget_value(other, "sidebar.model.mlp.hidden") == "4,2"
    assert widget_value(other, "sidebar.run.seed") == "3"
    assert query_to_config(dict(parse_qsl(urlsplit(other.url).query)), base=default_config()).config == expected.config
    assert_no_exception(other, "the shared link")
    shoot(other, screenshots / "share_opened.png")


def test_lesson_link_hides_the_noise_control(open_tab, screenshots: Path) -> None:
    tab = open_tab("/?task.noise_hide=true")
    assert widget_value(tab, "sidebar.task.circle.n_samples") == "500"  # the task's other controls are there
    assert widget_value(tab, "sidebar.task.circle.train_ratio") == "50"
    assert tab.locator(key_class("sidebar.task.circle.noise")).count() == 0
    assert tab.locator('[data-testid="stSidebar"]').get_by_label("Noise", exact=True).count() == 0
    assert "task.noise_hide=true" in tab.url  # it stays hidden in the link the page keeps
    assert_no_exception(tab, "the lesson link")
    shoot(tab, screenshots / "lesson_noise_hidden.png")


def test_divergence_is_explained_not_raised(open_tab, screenshots: Path) -> None:
    tab = open_tab(query(DIVERGES), "Playground")
    wait_visible(tab, tab.get_by_text("as of step 0"), "the Playground's 'as of step 0'")
    tab.locator(f"{key_class('transport.play')} button").first.click()
    try:
        status = wait_until(tab, lambda: "diverged" in read_status(tab) and read_status(tab), "the run to diverge")
    finally:
        if "playing" in read_status(tab):
            pause(tab)
    assert "diverged — the training loss became" in status and "lower the learning rate" in status
    alert = tab.locator('[data-testid="stSidebar"] [data-testid="stAlert"]')
    expect(alert.filter(has_text="diverged").first).to_be_visible(timeout=TIMEOUT_MS)  # shown as an error, not a caption
    expect(tab.locator(f"{key_class('transport.play')} button").first).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(tab)
    assert_no_exception(tab, "a diverged run")
    shoot(tab, screenshots / "playground_diverged.png")


NODE_CENTERS_JS = """() => [...document.querySelectorAll('[class*="st-key-pg-network-chart"] .scatterlayer .points path')]
  .map(p => p.getBoundingClientRect()).filter(r => r.width > 20).map(r => [r.x + r.width / 2, r.y + r.height / 2])"""


def test_clicking_a_neuron_shows_its_map_on_the_decision_boundary(open_tab, screenshots: Path) -> None:
    tab = open_tab(query({"task": "circle", "model.hidden": "4,2"}), "Playground")
    nodes = wait_until(tab, lambda: tab.evaluate(NODE_CENTERS_JS), "the network graph's neurons")
    assert len(nodes) == 7 + 4 + 2 + 1  # every feature the task offers (2 used), two hidden layers, TFP's one tanh output
    caption = tab.get_by_text("Showing layer 1, neuron 2")

    def click_second_neuron() -> bool:
        """Click the second neuron of the first hidden layer (again, if a re-render ate the click)."""
        x, y = tab.evaluate(NODE_CENTERS_JS)[8]
        tab.mouse.click(x, y)
        tab.wait_for_timeout(1500)
        return caption.count() > 0

    wait_until(tab, click_second_neuron, "the neuron's map on the decision boundary after clicking it", timeout=45)
    assert tab.locator(EXCEPTION).count() == 0
    tab.screenshot(path=str(screenshots / "playground_neuron_on_boundary.png"))
    x, y = tab.evaluate(NODE_CENTERS_JS)[8]
    tab.mouse.click(x, y)  # the same neuron again: back to the output
    wait_until(tab, lambda: caption.count() == 0, "the output back on the decision boundary")


DIAGRAM_LEGEND_JS = """() => {
  const texts = [...document.querySelectorAll('[data-testid="stGraphVizChart"] svg text')].map(t => t.textContent);
  const note = texts.find(t => /as of step [0-9,]+ on/.test(t));
  return note ? Number(note.match(/as of step ([0-9,]+)/)[1].replace(/,/g, '')) : null;
}"""


@pytest.mark.parametrize("model", [{"model.hidden": "6,4", "model.activation": "relu"},
                                   {"model": "residual-mlp", "model.blocks": "3"},
                                   {"task": "sort", "task.n_train": "500", "model": "transformer", "model.layers": "1",
                                    "model.d_model": "16", "model.heads": "2"}], ids=["mlp", "residual", "transformer"])
def test_diagram_overlay_follows_training(open_tab, screenshots: Path, model: dict[str, str]) -> None:
    tab = open_tab(query(model), "Diagram")
    wait_until(tab, lambda: tab.evaluate(DIAGRAM_LEGEND_JS) == 0, "the diagram's overlay legend at step 0")
    boxes = tab.locator('[data-testid="stGraphVizChart"] svg g.node').count()
    assert boxes >= 6, f"only {boxes} nodes drawn"
    tab.locator(f"{key_class('transport.play')} button").first.click()
    try:
        wait_until(tab, lambda: (tab.evaluate(DIAGRAM_LEGEND_JS) or 0) > 0, "the overlay to redraw at a later step", timeout=30)
    finally:
        pause(tab)
    wait_idle(tab)
    assert_no_exception(tab, "Diagram")
    shoot(tab, screenshots / f"diagram_{model.get('model', 'mlp')}.png")


EMBEDDING_STEPS_JS = """() => {
  const box = document.querySelector('.st-key-geo-embedding-chart .js-plotly-plot');
  if (!box || !box._transitionData || !box._transitionData._frames) return null;
  return box._transitionData._frames.map(f => Number(f.name));
}"""


def test_geometry_animates_snapshots_of_the_live_run(open_tab, screenshots: Path) -> None:
    tab = open_tab(query({"task": "cube", "model.hidden": "16", "task.samples_per_condition": "20"}), "Geometry")
    wait_until(tab, lambda: tab.evaluate(EMBEDDING_STEPS_JS) == [0], "the embedding at step 0")
    tab.locator(f"{key_class('transport.play')} button").first.click()
    try:
        steps = wait_until(tab, lambda: [s for s in [tab.evaluate(EMBEDDING_STEPS_JS)] if s and len(s) >= 4], "4+ snapshots", 90)[0]  # a generous wait: the CI machine may be busy
    finally:
        pause(tab)
    assert steps == sorted(steps) and steps[0] == 0 and len(set(steps)) == len(steps)
    wait_idle(tab)
    assert_no_exception(tab, "Geometry")
    shoot(tab, screenshots / "geometry_cube.png")


def test_residual_stream_page_follows_a_training_transformer(open_tab, screenshots: Path) -> None:
    tab = open_tab(query({"task": "sort", "task.n_train": "500", "model": "transformer", "model.layers": "2",
                          "model.d_model": "16", "model.heads": "2"}), "Residual stream")
    wait_visible(tab, tab.locator(key_class("res.attention.chart")), "the attention patterns")
    tab.locator(f"{key_class('transport.play')} button").first.click()
    try:
        wait_until(tab, lambda: (status_step(read_status(tab)) or 0) > 100, "100 training steps", 40)
    finally:
        pause(tab)
    wait_idle(tab)
    for key in ("res.contributions.chart", "res.skip-effect.chart", "res.importance.chart", "res.logit-lens.chart"):
        expect(tab.locator(f"{key_class(key)} .js-plotly-plot").first).to_be_visible(timeout=TIMEOUT_MS)
    assert_no_exception(tab, "Residual stream")
    shoot(tab, screenshots / "residual_stream_transformer.png")


REWIRING_TITLE_JS = """() => [...document.querySelectorAll('.st-key-sp-rewiring-chart .gtitle')].map(e => e.textContent)"""


def test_connectivity_page_replays_dst_rewiring(open_tab, screenshots: Path) -> None:
    tab = open_tab(query({"model": "sparse-mlp", "trainer": "dst", "trainer.every": "20"}), "Connectivity")
    wait_visible(tab, tab.locator(key_class("sp.connectivity.chart")), "the connectivity graph")
    tab.locator(f"{key_class('transport.play')} button").first.click()
    try:
        wait_until(tab, lambda: (status_step(read_status(tab)) or 0) > 300, "300 training steps", 40)
    finally:
        pause(tab)
    wait_idle(tab)
    for key in ("sp.connectivity.chart", "sp.rewiring.chart", "sp.rewiring.turnover", "sp.mask-heatmaps.layers.1.linear",
                "sp.degrees.chart", "sp.pruning-curve.chart"):
        expect(tab.locator(f"{key_class(key)} .js-plotly-plot").first).to_be_visible(timeout=TIMEOUT_MS)
    latest = wait_until(tab, lambda: tab.evaluate(REWIRING_TITLE_JS), "the rewiring heatmap's title")[-1]
    tab.locator(f"{key_class('sp.rewiring.follow')} label").first.click()  # "latest" off: the slider appears
    thumb = tab.locator(f"{key_class('sp.rewiring.step')} input[type=range]").first
    thumb.focus()
    for _ in range(5):
        thumb.press("ArrowLeft")
    wait_until(tab, lambda: [t for t in tab.evaluate(REWIRING_TITLE_JS) if t != latest], "an earlier rewiring round")
    wait_idle(tab)
    assert_no_exception(tab, "Connectivity")
    shoot(tab, screenshots / "sparsity_dst.png")
