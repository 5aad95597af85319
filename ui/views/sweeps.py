"""The sweep views: the final metric over the sweep's axes, every member's curves, and the members table
with "Open in Playground". They need the session's sweep (live or reopened), not the live run, so side by
side offers them once a sweep exists; a click on a mark or a row picks a member for all of them."""

from __future__ import annotations

import streamlit as st

from netarium.ui.session import session_sweep
from netarium.ui.sweeps_ui import (
    open_member,
    pick_from_chart,
    select,
    selected_member,
    sweep_members,
)
from netarium.ui.text import plain_markdown
from netarium.ui.views.base import CHART_CONFIG, SWEEP, VIEWS, Place, View, ViewContext
from netarium.viz.sweeps import (
    axis_keys,
    best_first,
    default_metric,
    final_figure,
    metric_title,
    metrics_of,
    sweep_curves_figure,
    value_label,
)

NEEDS = frozenset({SWEEP})


def _metric(ctx: ViewContext, members, default: str) -> str:
    """The metric picker (once the members have numbers: until then the default, so the picker does not
    stick to a fallback)."""
    names = metrics_of(members)
    if not names:
        return default
    return st.selectbox("Metric", names, index=names.index(default) if default in names else 0, key=f"{ctx.key}.metric",
                        format_func=metric_title)


def _chart(fig, ctx: ViewContext) -> None:
    event = st.plotly_chart(fig, key=f"{ctx.key}.chart", width="stretch", on_select="rerun", selection_mode="points",
                            config=CHART_CONFIG)
    pick_from_chart(event, f"{ctx.key}.chart")


def draw_final(ctx: ViewContext) -> None:
    """One axis: the final metric against it, mean and min-max over seeds; two: a heatmap; more: parallel
    coordinates. Click a mark to pick its member."""
    members = sweep_members()
    if not members:
        st.caption("No members yet.")
        return
    metric = _metric(ctx, members, default_metric(members))
    _chart(final_figure(members, metric, selected=selected_member()), ctx)


def draw_curves(ctx: ViewContext) -> None:
    """Every member's curve of a metric, coloured by one axis; click a line to pick its member."""
    members = sweep_members()
    if not members:
        st.caption("No members yet.")
        return
    keys = axis_keys(members)
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    with c1:
        metric = _metric(ctx, members, "test_loss")
    color_by = c2.selectbox("Colour by", keys, key=f"{ctx.key}.color")
    log_y = c3.toggle("log y", key=f"{ctx.key}.logy", value=metric.endswith("loss"))
    _chart(sweep_curves_figure(members, metric, color_by, log_y=log_y, selected=selected_member()), ctx)


def draw_members(ctx: ViewContext) -> None:
    """The members best first (state, final numbers); pick one by its row or in the list, then open it in
    the Playground with its exact config, seed included."""
    members = sweep_members()
    sweep = session_sweep()
    if not members or sweep is None:
        st.caption("No members yet.")
        return
    metric = default_metric(members)
    keys = [k for k in axis_keys(members) if k in members[0].point]
    ranked = best_first(members, metric)
    rows = [{"member": m.index, **{k: value_label(m.point[k]) for k in keys}, "seed": m.seed,
             "state": "diverged" if m.diverged else ("done" if m.step >= sweep.sweep.base.steps else m.state),
             metric_title(metric): m.value(metric), "step": m.step} for m in ranked]
    event = st.dataframe(rows, key=f"{ctx.key}.table", on_select="rerun", selection_mode="single-row", hide_index=True,
                         height=min(36 * (len(rows) + 1) + 3, 320),
                         column_config={metric_title(metric): st.column_config.NumberColumn(format="%.4f")})
    chosen = event.selection.rows if event is not None and hasattr(event, "selection") else []
    seen = f"{ctx.key}.table.seen"
    row = chosen[0] if chosen else None
    if row is not None and row != st.session_state.get(seen) and row < len(ranked):
        st.session_state[seen] = row
        select(ranked[row].index)
    st.session_state[seen] = row
    by_index = {m.index: m for m in members}
    picked = selected_member()
    pick_key = f"{ctx.key}.pick"
    if picked in by_index and st.session_state.get(pick_key) != picked:
        st.session_state[pick_key] = picked
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen_index = left.selectbox("Member", [m.index for m in ranked], key=pick_key, index=None,
                                  format_func=lambda i: by_index[i].label(), placeholder="Click a cell, a line or a row")
    if chosen_index is not None and chosen_index != picked:
        select(chosen_index)
    member = by_index.get(chosen_index) if chosen_index is not None else None
    if member is not None and member.diverged:
        st.warning(plain_markdown(f"{member.label()} diverged: {member.reason}"))
    if right.button("Open in Playground", key=f"{ctx.key}.open", type="primary", disabled=member is None, width="stretch",
                    help="Load this member's exact config, seed included, into the sidebar at step 0 and go to the Playground"):
        config = sweep.current().members[member.index].config
        open_member(config, member.label())
        st.rerun()  # the whole page: it follows the opening to the Playground


VIEWS.register(View(
    "sweep-final", "Sweep: final metric", NEEDS, draw_final, draws_diverged=True,
    description="the final metric over the sweep's axes: a line with the seed spread for one axis, a heatmap for "
                "two, parallel coordinates for more; diverged members marked",
    places=(Place("sweeps", 10, "left"),)))
VIEWS.register(View(
    "sweep-curves", "Sweep: curves", NEEDS, draw_curves, heavy=True, draws_diverged=True,
    description="every member's curve coloured by an axis",
    places=(Place("sweeps", 20, "right"),)))
VIEWS.register(View(
    "sweep-members", "Sweep: members", NEEDS, draw_members, draws_diverged=True,
    description="best first; pick one and open it in the Playground",
    places=(Place("sweeps", 30),)))
