"""FinalMLP's gates and streams on the live run: the mean gate each stream gives every field, and each
fusion term's contribution to the logit, over a batch of test samples, updating while it trains."""

from __future__ import annotations

import streamlit as st

from netarium.analysis.finalmlp import gate_weights, stream_contributions
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, draw_chart, heavy_result
from netarium.viz.finalmlp import contributions_figure, gates_figure

BATCH = 512  # test samples the gates and terms are measured on


def _batch(ctx: ViewContext):
    task = ctx.live.run.task
    return task.X_test[:BATCH].cpu(), task.input_names


def draw_finalmlp_gates(ctx: ViewContext) -> None:
    """Grouped bars: per field, stream 1's and stream 2's mean gate 2σ(MLP(e_S)) over the batch."""

    def compute():
        _, model = ctx.live.model_copy()
        X, names = _batch(ctx)
        return gate_weights(model.cpu(), X, names)

    g = heavy_result(ctx, "finalmlp-gates", compute)
    draw_chart(gates_figure(g), ctx)
    reads = ["fields " + ", ".join(f for f, r in zip(g.fields, g.reads[k], strict=True) if r) for k in range(2)]
    st.caption(f"Each stream's input e ⊙ g: a gate near 1 passes a field's embedding unchanged, below 1 damps it, above "
               f"1 amplifies it (2σ(·) lies in (0, 2)). Stream 1's gate reads {reads[0]}, stream 2's {reads[1]} (outlined); "
               "bars show the mean over the batch and the field's embedding entries, whiskers the spread over samples.")


def draw_finalmlp_streams(ctx: ViewContext) -> None:
    """Mean |term| and histograms of the fusion's three terms over the batch."""

    def compute():
        _, model = ctx.live.model_copy()
        X, _ = _batch(ctx)
        return stream_contributions(model.cpu(), X)

    c = heavy_result(ctx, "finalmlp-streams", compute)
    draw_chart(contributions_figure(c), ctx)
    means = c.mean_abs()
    task = ctx.live.run.task
    if "bayes_auc" in task.meta:  # ctr: how far the model is from the best any model can do
        auc = ctx.snap.metrics.get("test_auc")
        now = f"the model's test AUC at step {ctx.snap.step:,} is {auc:.4f}, " if auc is not None else ""
        st.caption(f"On this task {now}the Bayes AUC (of the true click probabilities) is {task.meta['bayes_auc']:.4f}.")
    st.caption(f"logit = b + w1·o1 + w2·o2 + Σ_h o1_hᵀ W3_h o2_h over {len(next(iter(c.terms.values())))} test samples, "
               f"shown for {c.what}. Mean |term|: stream 1 {means['stream1.out']:.3f}, stream 2 {means['stream2.out']:.3f}, "
               f"bilinear {means['fusion.bilinear']:.3f}.")


FINALMLP_GATES = VIEWS.register(View(
    "finalmlp-gates", "FinalMLP gates", frozenset({"finalmlp"}), draw_finalmlp_gates, heavy=True,
    description="The mean feature-gate weight each of the two streams gives every input field",
    places=(Place("playground", 50, quiet=True),)))
FINALMLP_STREAMS = VIEWS.register(View(
    "finalmlp-streams", "FinalMLP stream contributions", frozenset({"finalmlp"}), draw_finalmlp_streams, heavy=True,
    description="Each stream's linear term and the bilinear term of the logit, over a batch",
    places=(Place("playground", 50, quiet=True),)))
