"""Hypernetwork: the target net's decision boundary at the gamma a slider picks (the examples near that gamma on
it), and the hypernetwork's output norm |theta(gamma)|: over training (recorded in the run's history at every
evaluation) and across gamma now. Ortiz, Guttag & Dalca 2023: a plain hypernet's |theta(gamma)| follows
|gamma|, MIP's stays level."""

from __future__ import annotations

import streamlit as st

from netarium.analysis.hypernet import norm_history, points_near, surface_at, theta_profile
from netarium.analysis.playground import DENSITY
from netarium.ui.text import plain_markdown
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, draw_chart, heavy_result
from netarium.viz.boundary import boundary_figure
from netarium.viz.hypernet import theta_norm_figure


def draw_hypernet(ctx: ViewContext) -> None:
    """A gamma slider, the boundary at that gamma, and |theta(gamma)| over training and across gamma."""
    run = ctx.live.run
    task = run.task
    start = float(task.meta.get("view_gamma", 0.5))
    gamma = float(st.slider("γ", 0.0, 1.0, start, 0.01, key=f"{ctx.key}.gamma",
                            help="The task parameter the target net's weights are predicted for; the boundary moves with it"))

    def compute():
        _, model = ctx.live.model_copy()
        return surface_at(model, task, gamma, DENSITY, run.loss.name), theta_profile(model)

    surface, profile = heavy_result(ctx, f"hypernet@{gamma:.2f}", compute)
    near = points_near(task, gamma, "train")
    fig = boundary_figure(surface, near.points, near.labels, kind=task.kind, n_classes=task.n_classes)
    draw_chart(fig, ctx, "boundary")
    meaning = task.meta.get("gamma_meaning", "")
    mode = ("MIP: E(γ) = [cos(πγ/2), sin(πγ/2)] and θ = θ0 + h(E(γ))" if profile.mip
            else "plain: θ = h(γ), so |θ(γ)| grows with γ from 0 at γ = 0")
    st.caption(plain_markdown(f"γ = {gamma:.2f} ({meaning}); the {len(near.labels)} training examples with γ within "
                              f"±{near.window:g} of it drawn. Hypernetwork {mode}."))
    draw_chart(theta_norm_figure(norm_history(ctx.snap.history), profile, gamma), ctx, "norms")


HYPERNET_VIEW = VIEWS.register(View(
    "hypernetwork", "Hypernetwork", frozenset({"hypernetwork", "conditioned"}), draw_hypernet, heavy=True,
    description="The target net's decision boundary as the γ slider moves, and the hypernetwork's output norm |θ(γ)| "
                "over training and across γ (plain: it follows γ; MIP: level)",
    places=(Place("playground", 50, quiet=True),),
))
