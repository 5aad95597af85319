"""The view registry: a view is one drawing of the live run that declares what it needs.

Pages compose views; a view shows up wherever it applies (a 2-D task, an MLP, residual blocks,
masks...) without touching the pages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from torch import nn

from netarium.models.gate import FORWARD_GATE
from netarium.models.masks import masked_modules
from netarium.models.taps import tap_names
from netarium.schema import Catalog
from netarium.training.live import LiveRun
from netarium.training.run import Snapshot


def model_has(model: nn.Module, need: str) -> bool:
    """Whether a model offers a capability a view needs."""
    if need == "mlp":
        return hasattr(model, "layers") and all(hasattr(layer, "linear") for layer in model.layers)
    if need == "residual":
        return bool(getattr(model, "block_names", None))
    if need == "masks":
        return next(masked_modules(model), None) is not None
    if need == "attention":
        return any(t.endswith(".attn.pattern") for t in tap_names(model))
    if need == "recurrent":  # duck-typed: a module that can give its recurrent graph (models/rnn.py's MaskedRNN)
        return any(callable(getattr(m, "recurrent_graph", None)) for m in model.modules())
    return True


def unmet_need(live: LiveRun, needs: frozenset[str]) -> str:
    """'' when the live run offers everything in `needs`, else what is missing, in words."""
    task, model = live.run.task, live.run.model
    for need in sorted(needs):
        if need == "2d" and not task.is_2d:
            return "a 2-D task"
        if need == "classification" and task.kind != "classification":
            return "a classification task"
        if need in ("modular", "xor-clusters") and task.name != need:
            return {"modular": "the modular arithmetic task", "xor-clusters": "the xor-clusters task"}[need]
        if need in ("mlp", "residual", "masks", "attention", "recurrent") and not model_has(model, need):
            return {"mlp": "an MLP", "residual": "a model with residual blocks", "masks": "a sparse model with masks",
                    "attention": "a model with attention (the transformer)",
                    "recurrent": "a recurrent model with a sparse recurrent mask (rnn)"}[need]
    return ""


@dataclass
class ViewContext:
    """What a view draws from: the live run, its latest snapshot, and a per-slot key."""

    live: LiveRun
    snap: Snapshot
    key: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class View:
    """id, title, what it needs, how to draw it, whether it is heavy (drawn every N steps), and
    whether it still draws (and says what it can) once the run has diverged."""

    id: str
    title: str
    needs: frozenset[str]
    draw: Callable[[ViewContext], None]
    heavy: bool = False
    description: str = ""
    draws_diverged: bool = False


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
    except Exception as e:  # a view's failure must not take the page down
        st.error(f"{view.title} could not be drawn: {type(e).__name__}: {e}")


class ViewRegistry(Catalog[View]):
    def applicable(self, live: LiveRun) -> list[View]:
        """The views whose needs the live run meets, in registration order."""
        return [v for v in self if not unmet_need(live, v.needs)]


VIEWS = ViewRegistry("view")

CHART_CONFIG = {"displayModeBar": False}


def draw_chart(fig: Any, ctx: ViewContext, name: str = "chart") -> None:
    """A view's plotly figure at full width, keyed by the view's slot (f"{ctx.key}.{name}")."""
    st.plotly_chart(fig, key=f"{ctx.key}.{name}", width="stretch", config=CHART_CONFIG)


HEAVY_SECONDS = 1.0  # heavy results are recomputed at most this often while training


def heavy_result(ctx: ViewContext, name: str, compute: Callable[[], Any]) -> Any:
    """compute() for the current model, cached per slot: recomputed when the step moved and the
    last computation is older than HEAVY_SECONDS (or at once when training is paused). compute()
    calls the model, so it runs holding the forward gate (see models/gate.py)."""
    cache = st.session_state.setdefault("netarium.heavy", {})
    key = (ctx.key, name)
    gen, step = ctx.live.generation, ctx.snap.step
    hit = cache.get(key)
    now = time.monotonic()
    if hit and hit[0] == gen and (hit[1] == step or (ctx.live.playing and now - hit[2] < HEAVY_SECONDS)):
        return hit[3]
    with FORWARD_GATE.shared():
        value = compute()
    cache[key] = (gen, step, now, value)
    return value
