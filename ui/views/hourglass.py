"""Hourglass widths: the live Hourglass MLP's shape (a frozen lift to a wide stream, a narrow waist in
every block), each block's update relative to the stream over training, and the lift's spectrum beside
the blocks' learned maps."""

from __future__ import annotations

import streamlit as st

from netarium.analysis.hourglass import hourglass_profile, spectra
from netarium.ui.cache import generation_store
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, draw_chart, heavy_result
from netarium.viz import hourglass as hviz

PROBE = 256  # test inputs the relative updates are measured on
KEEP = 200  # points of the update history kept per view slot


def draw_hourglass(ctx: ViewContext) -> None:
    """The widths profile and |W_up s(W_down z)| / |z| per block, with its history since this view first drew."""
    def compute():
        _, model = ctx.live.model_copy()
        return hourglass_profile(model, ctx.live.run.task.X_test[:PROBE]), spectra(model)

    profile, spec = heavy_result(ctx, "hourglass", compute)
    history = generation_store(ctx.live).setdefault(("hourglass.history", ctx.key), {})
    history[ctx.snap.step] = [float(v) for v in profile.update_rel]
    if len(history) > KEEP:
        for step in sorted(history)[: len(history) - KEEP]:
            del history[step]
    draw_chart(hviz.hourglass_figure(profile, sorted(history.items())), ctx)
    st.caption(f"The lift is {'frozen: a fixed random map, never trained' if profile.lift_frozen else 'trained'}; "
               f"each block squeezes the {profile.widths[1]}-wide stream through {profile.widths[2]} units and adds the result back.")
    draw_chart(hviz.spectra_figure(spec), ctx, "spectra")


HOURGLASS_VIEW = VIEWS.register(View(
    "hourglass-widths", "Hourglass widths", frozenset({"hourglass"}), draw_hourglass, heavy=True,
    description="Stream width vs bottleneck per block, each block's update relative to the stream over training, "
                "and the frozen lift's singular values beside the blocks' learned maps",
    places=(Place("playground", 50, quiet=True), Place("residual", 60)),
))
