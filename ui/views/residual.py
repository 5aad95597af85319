"""The residual stream of the live run: contributions per layer and position, the effect of skipping a
layer, importance with the accuracy as sublayers are dropped, the logit lens, attention patterns."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from netarium.analysis.residual import (
    attention_patterns,
    contributions,
    drop_curve,
    importance,
    logit_lens,
    skip_effect,
)
from netarium.models.base import capabilities
from netarium.training.live import LiveRun
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, draw_chart, heavy_result
from netarium.ui.widgets import clamped_int
from netarium.viz import residual as rviz

PROBE = 256  # test inputs the residual views measure on


def probe(live: LiveRun) -> tuple[Any, Any]:
    """(x, y): the first PROBE test inputs and targets of the live task."""
    task = live.run.task
    return task.X_test[:PROBE], task.y_test[:PROBE]


def token_labels(live: LiveRun, sample: int = 0) -> list[str] | None:
    """The probe sample's tokens as text, when the task has a vocabulary of names."""
    vocab = live.run.task.meta.get("vocab")
    x = live.run.task.X_test
    if vocab is None or x.dtype.is_floating_point or x.dim() != 2:
        return None
    return [f"{i}:{vocab[int(t)]}" for i, t in enumerate(x[sample].tolist())]



def _measure(ctx: ViewContext, name: str, fn) -> Any:
    def compute():
        _, model = ctx.live.model_copy()
        x, y = probe(ctx.live)
        return fn(model, x, y)

    return heavy_result(ctx, name, compute)


def draw_contributions(ctx: ViewContext) -> None:
    """|a_l|/|h_l|, |m_l|/|h_l + a_l|, |h_{l+1} - h_l|/|h_l| and their cosines, per layer (and position)."""
    c = _measure(ctx, "contributions", lambda m, x, y: contributions(m, x))
    draw_chart(rviz.contributions_figure(c), ctx)
    if c.block_rel.shape[1] > 1:
        metric = st.segmented_control("per position", ["block_cos", "block_rel", "attn_rel", "mlp_rel", "attn_cos", "mlp_cos"],
                                      default="block_cos", key=f"{ctx.key}.metric") or "block_cos"
        draw_chart(rviz.position_heatmap(c, metric, token_labels(ctx.live)), ctx, "positions")


def draw_skip_effect(ctx: ViewContext) -> None:
    """Each layer replaced by the identity in turn: how much every later layer and the output change."""
    draw_chart(rviz.skip_effect_figure(_measure(ctx, "skip", lambda m, x, y: skip_effect(m, x))), ctx)


LIVE_RANDOM_ORDERS = 4


def draw_importance(ctx: ViewContext) -> None:
    """Importance 1 - cos(input, output) per sublayer, and accuracy as sublayers are dropped in the
    order of importance (least first, most first) or at random."""
    has_attn = "attention" in capabilities(ctx.live.run.model)
    c1, c2 = st.columns(2, vertical_alignment="bottom")
    kinds = ["attn", "mlp"] if has_attn else ["mlp"]
    kind = c1.segmented_control("drop", kinds, default=kinds[0], key=f"{ctx.key}.kind",
                                format_func={"attn": "attention sublayers", "mlp": "MLP sublayers"}.get) or kinds[0]
    iterative = c2.toggle("iterative", key=f"{ctx.key}.iter", help="Re-rank the remaining sublayers after each drop (He et al. 2024)")
    imp = _measure(ctx, "importance", lambda m, x, y: importance(m, x))

    def curves(m, x, y):
        # 4 random orders, not the analysis's 10: a live view redraws while training (10 took 14 s of a loaded core)
        return {order: drop_curve(m, x, y, kind=kind, order=order, iterative=iterative, n_random=LIVE_RANDOM_ORDERS)
                for order in ("least", "most", "random")}

    draw_chart(rviz.importance_figure(imp, _measure(ctx, f"drop.{kind}.{iterative}", curves), kind=kind), ctx)


def draw_logit_lens(ctx: ViewContext) -> None:
    """The output read off the residual stream after the embedding and after each block."""
    lens = _measure(ctx, "lens", lambda m, x, y: logit_lens(m, x, y))
    draw_chart(rviz.logit_lens_figure(lens), ctx)
    vocab = ctx.live.run.task.meta.get("vocab")
    rows = []
    for i, layer in enumerate(lens.layers):
        top = [int(t) for t in np.asarray(lens.top_tokens[i]).tolist()]
        rows.append({"after": layer, "p(correct)": float(lens.probs_correct[i]), "accuracy": float(lens.accuracy[i]),
                     "predictions (first samples)": " ".join(vocab[t] if vocab and 0 <= t < len(vocab) else str(t) for t in top)})
    st.dataframe(rows, hide_index=True, key=f"{ctx.key}.table")


def draw_attention(ctx: ViewContext) -> None:
    """Attention weights per block and head for one test sample (query rows, key columns)."""
    n = int(min(PROBE, ctx.live.run.task.X_test.shape[0]))
    sample = clamped_int(st, "test sample", 0, max(n - 1, 0), key=f"{ctx.key}.sample")

    def compute():
        _, model = ctx.live.model_copy()
        x, _ = probe(ctx.live)
        return attention_patterns(model, x, sample=int(sample))

    draw_chart(rviz.patterns_figure(heavy_result(ctx, f"patterns.{sample}", compute), token_labels(ctx.live, int(sample))), ctx)


RESIDUAL_VIEWS = [
    VIEWS.register(View("contributions", "Residual contributions", frozenset({"residual"}), draw_contributions, heavy=True,
                        description="What each layer writes into the residual stream, relative to it, with cosines",
                        places=(Place("residual", 10),))),
    VIEWS.register(View("skip-effect", "Skip effect", frozenset({"residual"}), draw_skip_effect, heavy=True,
                        description="Each layer replaced by the identity: the change of every later layer and of the output",
                        places=(Place("residual", 20),))),
    VIEWS.register(View("importance", "Importance and layer drop", frozenset({"residual"}), draw_importance, heavy=True,
                        description="1 - cos(input, output) per sublayer, and accuracy as sublayers are dropped",
                        places=(Place("residual", 30),))),
    VIEWS.register(View("logit-lens", "Logit lens", frozenset({"residual"}), draw_logit_lens, heavy=True,
                        description="The output read off the residual stream after each layer",
                        places=(Place("residual", 40, "left"),))),
    VIEWS.register(View("attention", "Attention patterns", frozenset({"attention"}), draw_attention, heavy=True,
                        description="Attention weights per block and head for one test sample",
                        places=(Place("residual", 50, "right"),))),
]
