"""The view registry: a view is one drawing of the live run that declares its pages (with its order and
column there) and what it needs of the model and the task.

Pages ask the registry for their sections and side by side offers every view that applies, so a new
view shows up wherever it applies without touching a page. What a model or a task offers is declared
where they are (models/base.py `capabilities`, tasks/base.py `Task.capabilities`), in words there too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import streamlit as st

from netarium.models.base import MODEL_CAPABILITIES, capabilities
from netarium.models.gate import FORWARD_GATE
from netarium.schema import Catalog
from netarium.tasks.base import TASK_CAPABILITIES
from netarium.training.live import LiveRun
from netarium.training.run import Snapshot
from netarium.ui.cache import generation_store
from netarium.ui.errors import failure_sentence
from netarium.ui.session import session_sweep
from netarium.ui.text import plain_markdown

# What the browser session offers besides the live run's task and model: a view that needs "sweep" draws
# from the session's sweep (ui/session.py) instead of the live run, and refreshes while that sweep trains.
SWEEP = "sweep"
SESSION_CAPABILITIES = {SWEEP: "a sweep (start one on the Sweeps page, or reopen a saved one from the Runs page)"}


def offered(live: LiveRun) -> frozenset[str]:
    """Everything the live run's task and model, and the session (its sweep), offer the views now."""
    session = frozenset({SWEEP}) if session_sweep() is not None else frozenset()
    return live.run.task.capabilities | capabilities(live.run.model) | session


def unmet_need(live: LiveRun, needs: frozenset[str]) -> str:
    """'' when the live run and the session offer everything in `needs`, else the first missing one, in words."""
    missing = sorted(needs - offered(live))
    if not missing:
        return ""
    return (TASK_CAPABILITIES.get(missing[0]) or MODEL_CAPABILITIES.get(missing[0])
            or SESSION_CAPABILITIES.get(missing[0], missing[0]))


@dataclass
class ViewContext:
    """What a view draws from: the live run, its latest snapshot, and a per-slot key."""

    live: LiveRun
    snap: Snapshot
    key: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Place:
    """Where a view sits on a page: its order there; a full-width row, or the left or right column of a
    row that it shares with the neighbouring column views; what it needs there on top of its own needs;
    and whether "as of step N" is written above it; `quiet`: left out (rather than saying what it needs)
    where the run lacks it, as a view of one model family is on the Playground."""

    page: str
    order: int
    column: Literal["full", "left", "right"] = "full"
    needs: frozenset[str] = frozenset()
    stamp: bool = False
    quiet: bool = False


@dataclass(frozen=True)
class View:
    """id, title, what it needs, how to draw it, where it sits (its pages), whether it is heavy (drawn
    every N steps), and whether it still draws (and says what it can) once the run has diverged."""

    id: str
    title: str
    needs: frozenset[str]
    draw: Callable[[ViewContext], None]
    heavy: bool = False
    description: str = ""
    draws_diverged: bool = False
    places: tuple[Place, ...] = ()


@dataclass(frozen=True)
class Section:
    """A view at its place on a page."""

    view: View
    place: Place

    @property
    def needs(self) -> frozenset[str]:
        return self.view.needs | self.place.needs


def draw_view(view: View, ctx: ViewContext) -> None:
    """Draw a view, or say in one line why it cannot be drawn (never a traceback on a page)."""
    missing = unmet_need(ctx.live, view.needs)
    if missing:
        st.caption(f"{view.title}: needs {missing}.")
        return
    if view.heavy and ctx.snap.state == "diverged" and not view.draws_diverged:
        st.warning(f"{view.title}: the run diverged at step {ctx.snap.step:,}, so its weights are not finite and "
                   "there is nothing to draw. Lower the learning rate and reset.")
        return
    try:
        view.draw(ctx)
    except Exception as e:  # a view's failure must not take the page down; the exception goes to the log
        st.error(plain_markdown(failure_sentence(f"The {view.title} view could not be drawn for this run", e)))


class ViewRegistry(Catalog[View]):
    def applicable(self, live: LiveRun) -> list[View]:
        """The views whose needs the live run meets, in registration order."""
        return [v for v in self if not unmet_need(live, v.needs)]

    def for_page(self, page: str, live: LiveRun | None = None) -> list[Section]:
        """The sections of `page` in their order; with `live`, only those whose needs it meets."""
        sections = sorted((Section(v, p) for v in self for p in v.places if p.page == page), key=lambda s: s.place.order)
        return [s for s in sections if live is None or not unmet_need(live, s.needs)]

    def shown(self, page: str, live: LiveRun) -> list[Section]:
        """The sections of `page` a page draws for `live`: every one (those it cannot draw say what they
        need), except quiet places whose needs the run does not meet."""
        return [s for s in self.for_page(page) if not (s.place.quiet and unmet_need(live, s.needs))]


VIEWS = ViewRegistry("view")

CHART_CONFIG = {"displayModeBar": False}


def draw_chart(fig: Any, ctx: ViewContext, name: str = "chart") -> None:
    """A view's plotly figure at full width, keyed by the view's slot (f"{ctx.key}.{name}")."""
    st.plotly_chart(fig, key=f"{ctx.key}.{name}", width="stretch", config=CHART_CONFIG)


HEAVY_SECONDS = 1.0  # heavy results are recomputed at most this often while training
HEAVY_BUDGET = 0.1  # and a heavy result that takes longer to compute waits long enough to take at most this share


def heavy_result(ctx: ViewContext, name: str, compute: Callable[[], Any]) -> Any:
    """compute() for the current model, cached per slot in the generation's store (ui/cache.py):
    recomputed when the step moved and the last computation is older than HEAVY_SECONDS, or than
    cost * (1 / HEAVY_BUDGET - 1) for one that took `cost` seconds (at once when training is paused).
    The page's server thread and the training thread share the CPU (and Python's GIL): a view that
    takes seconds (the Fourier snapshots of modular-grokking took ~3 s) must not compute all the time.
    compute() calls the model, so it runs holding the forward gate (see models/gate.py)."""
    store = generation_store(ctx.live)
    key = ("heavy", ctx.key, name)
    step, now = ctx.snap.step, time.monotonic()
    hit = store.get(key)
    if hit and (hit[0] == step or (ctx.live.playing and now - hit[1] < max(HEAVY_SECONDS, hit[3] * (1 / HEAVY_BUDGET - 1)))):
        return hit[2]
    with FORWARD_GATE.shared():
        value = compute()
    done = time.monotonic()
    store[key] = (step, done, value, done - now)
    return value
