"""The neural circuit diagram of the live model (Abbott 2024) with live overlays, and server-rendered
DOT, SVG and PNG downloads."""

from __future__ import annotations

import streamlit as st

from netarium.analysis.diagram import (
    ELEMENTWISE_METRICS,
    LEARNED_METRICS,
    Diagram,
    Overlay,
    diagram_overlay,
    task_diagram,
)
from netarium.ui.cache import per_generation
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, heavy_result
from netarium.viz.ncd import readable_width, render, to_dot

PROBE = 512  # training inputs the overlay is measured on
COLLAPSE_ABOVE = 6  # residual blocks beyond which repeated blocks start collapsed


def live_diagram(ctx: ViewContext) -> Diagram:
    """The live model's diagram, extracted once per generation (the architecture does not change while training)."""
    run = ctx.live.run

    def extract() -> Diagram:
        _, model = ctx.live.model_copy()
        return task_diagram(model, run.task, run.batch_size, title=run.config.model.name)  # holds the gate itself

    return per_generation(ctx.live, ("diagram", ctx.key), extract)


def live_overlay(ctx: ViewContext, diagram: Diagram) -> Overlay:
    """Weight/gradient norms and activation stats of the current model on the first PROBE training inputs."""
    run = ctx.live.run

    def compute() -> Overlay:
        step, model = ctx.live.model_copy()
        device = next(model.parameters()).device
        x, y = run.task.X_train[:PROBE].to(device), run.task.y_train[:PROBE].to(device)
        return diagram_overlay(model, diagram, x, y, run.loss, step=step)

    return heavy_result(ctx, "diagram.overlay", compute)


def readable_css(key: str, min_px: int) -> str:
    """The diagram shrinks to the column width but not below `min_px`: a wider one scrolls sideways
    instead of becoming an unreadable strip."""
    sel = f".st-key-{key.replace('.', '-')}-ncd [data-testid=\"stGraphVizChart\"]"
    return (f"<style>{sel} {{ overflow-x: auto; }} "
            f"{sel} svg {{ max-width: 100% !important; min-width: {min_px}px; height: auto; }}</style>")


def _metric_name(labels: dict[str, str]):
    return lambda m: labels.get(m, "no overlay")


def _metric(value: str | None) -> str | None:
    return None if value in (None, "none") else value


def draw_diagram(ctx: ViewContext) -> None:
    """The diagram filled by the live overlay (a legend under it); repeated blocks collapse to one box."""
    diagram = live_diagram(ctx)
    c1, c2, c3 = st.columns(3, vertical_alignment="bottom")
    learned = _metric(c1.selectbox("Learned ops (bold boxes)", [*LEARNED_METRICS, "none"], key=f"{ctx.key}.learned",
                                   format_func=_metric_name(LEARNED_METRICS)))
    elementwise = _metric(c2.selectbox("Element-wise ops", [*ELEMENTWISE_METRICS, "none"], key=f"{ctx.key}.elementwise",
                                       format_func=_metric_name(ELEMENTWISE_METRICS)))
    collapsed = c3.toggle("collapse repeated blocks", value=len(diagram.blocks()) > COLLAPSE_ABOVE,
                          key=f"{ctx.key}.collapsed", disabled=not diagram.blocks())
    overlay = None
    if learned or elementwise:
        if ctx.snap.state == "diverged":
            st.caption("No overlay: the run diverged, so its weights are not finite. Lower the learning rate and reset.")
        else:
            overlay = live_overlay(ctx, diagram)
    dot = to_dot(diagram, collapsed=collapsed, overlay=overlay, learned=learned, elementwise=elementwise)
    with st.container(key=f"{ctx.key}.ncd"):
        st.html(readable_css(ctx.key, readable_width(diagram, collapsed=collapsed)))
        st.graphviz_chart(dot, width="content")
    name = ctx.live.config.model.name
    d1, d2, d3 = st.columns(3)
    d1.download_button("DOT", dot, file_name=f"{name}.dot", mime="text/vnd.graphviz", key=f"{ctx.key}.dot")
    d2.download_button("SVG", lambda: render(dot, "svg"), file_name=f"{name}.svg", mime="image/svg+xml", key=f"{ctx.key}.svg")
    d3.download_button("PNG", lambda: render(dot, "png"), file_name=f"{name}.png", mime="image/png", key=f"{ctx.key}.png")


DIAGRAM = VIEWS.register(View("diagram", "Circuit diagram", frozenset(), draw_diagram, heavy=True, draws_diverged=True,
                              description="The model as a neural circuit diagram, one wire per axis, with live weight, "
                                          "gradient and activation overlays",
                              places=(Place("diagram", 10),)))
