"""The neural circuit diagram of the live model (Abbott 2024), with server-rendered downloads."""

from __future__ import annotations

import streamlit as st

from netarium.analysis.diagram import task_diagram
from netarium.ui.views.base import VIEWS, View, ViewContext
from netarium.viz.ncd import render_svg, to_dot


def diagram_dot(ctx: ViewContext, collapsed: bool) -> str:
    """DOT text of the live model's diagram, rebuilt only when the run is re-initialised."""
    run = ctx.live.run

    def compute() -> str:
        _, model = ctx.live.model_copy()
        return to_dot(task_diagram(model, run.task, run.batch_size, title=run.config.model["name"]), collapsed=collapsed)

    # the architecture does not change while training: one diagram per generation and toggle
    cache = st.session_state.setdefault("netarium.diagram", {})
    key = (ctx.key, ctx.live.generation, collapsed)
    if key not in cache:
        cache.clear()
        cache[key] = compute()  # extract() holds the forward gate exclusively itself
    return cache[key]


def draw_diagram(ctx: ViewContext) -> None:
    """The diagram; repeated blocks collapse to one box; DOT and SVG downloads rendered here."""
    collapsed = st.toggle("collapse repeated blocks", key=f"{ctx.key}.collapsed")
    dot = diagram_dot(ctx, collapsed)
    st.graphviz_chart(dot, width="stretch")
    name = ctx.live.config.model["name"]
    c1, c2 = st.columns(2)
    c1.download_button("DOT", dot, file_name=f"{name}.dot", mime="text/vnd.graphviz", key=f"{ctx.key}.dot")
    c2.download_button("SVG", lambda: render_svg(dot), file_name=f"{name}.svg", mime="image/svg+xml", key=f"{ctx.key}.svg")


DIAGRAM = VIEWS.register(View("diagram", "Circuit diagram", frozenset(), draw_diagram,
                              description="The model as a neural circuit diagram: one wire per axis"))
