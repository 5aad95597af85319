"""Solve for the global optimum: on the Playground, for a live MLP with one hidden ReLU layer on a two-class 2-D
task, the convex program of that network (analysis/convex.py) solved on the run's training data, beside the
live net's value of the same objective J, with both decision boundaries."""

from __future__ import annotations

import streamlit as st

from netarium.analysis.convex import net_surface, run_lam, solve_for_model
from netarium.ui.cache import generation_store
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, draw_chart
from netarium.viz.convex import boundary_panel

N_CAP = 200  # training points the program uses at most (the first ones)
EXACT_MAX = 60  # every activation pattern up to this many points
SAMPLED = 60  # sampled gates beyond that, pooled with the live net's patterns
DEADLINE = 4.0  # seconds of ADMM at most: the solve runs in the page's script run
DEFAULT_LAM = 1e-3  # lam when the run has no L2 or weight decay


def solve(ctx: ViewContext, lam: float) -> None:
    """Solve on the live run's training data now (a button's callback) and keep the answer in the session."""
    step, model = ctx.live.model_copy()
    task = ctx.live.run.task
    with st.spinner(f"Solving the convex program (at most {DEADLINE:g} s)…"):
        result = solve_for_model(model, task.X_train.cpu(), task.y_train.cpu(), lam, N_CAP, EXACT_MAX, SAMPLED,
                                 deadline=DEADLINE, step=step)
    generation_store(ctx.live)[("convex", ctx.key)] = result


def draw_convex(ctx: ViewContext) -> None:
    run = ctx.live.run
    if run.task.n_classes != 2:
        st.info(f"Solve for the global optimum: needs a task with 2 classes (targets ±1); {run.task.name} has {run.task.n_classes}.")
        return
    lam, source = run_lam(run.config, DEFAULT_LAM)
    st.caption(f"J = (1/2n)|f(X) − y|² + (λ/2)(|W1|² + |b1|² + |a|²), y = ±1, with λ = {lam:g} from {source}. "
               f"The program uses the first {N_CAP} training points at most, every activation pattern up to {EXACT_MAX} "
               f"points, else {SAMPLED} sampled gates pooled with the live net's own patterns; ADMM stops after {DEADLINE:g} s.")
    if st.button("Solve for the global optimum", key=f"{ctx.key}.solve"):
        solve(ctx, lam)
    result = generation_store(ctx.live).get(("convex", ctx.key))
    if result is None:
        return
    s = result.solve
    X = run.task.X_train.cpu()[: result.n]
    cols = st.columns(4)
    cols[0].metric("optimum J*", f"{result.optimum:.5f}", help=f"certified gap {s.gap:.1e} over {s.patterns:,} patterns")
    cols[1].metric(f"live net's J (step {result.step:,})", f"{result.live_objective:.5f}",
                   delta=f"{result.live_objective - result.optimum:+.5f}", delta_color="inverse")
    cols[2].metric("neurons used", f"{s.neurons} vs {result.live_neurons(X)}", help="the optimum's vs the live net's active units")
    cols[3].metric("patterns", f"{s.patterns:,}", help=("every pattern" if result.exact else "sampled + the live net's") +
                   f"; {s.active} active")
    loss = run.loss.name
    same = loss == "tfp" and not run.loss.squash
    notes = [f"{result.n} of {result.n_total} training points" + (", every pattern: the global optimum" if result.exact else
             ", sampled + the live net's patterns: an optimum over those")]
    if not same:
        notes.append(f"the live run trains the {loss.replace('_', '-')} loss, not J, so this is not a like-for-like race: "
                     "J only measures where its weights sit on the program's objective")
    two = run.model.readout.out_features == 2
    if two:
        notes.append("the live net's two outputs are read as f = z1 − z0")
    elif run.loss.squash:
        notes.append("the live net's output is read before its tanh")
    if abs(result.live.get("c", 0.0)) > 0:
        notes.append(f"the live net has an output bias c = {result.live['c']:+.3f}, which the program's network lacks; "
                     "J counts it in f and does not decay it")
    st.caption("; ".join(notes) + ".")
    pts, y = run.task.meta["points_train"][: result.n], run.task.y_train.cpu()[: result.n].float() * 2 - 1
    left, right = st.columns(2)
    with left:
        draw_chart(boundary_panel(net_surface(s.network, run.task), pts, y, f"optimum: {s.neurons} neurons"), ctx, "optimum")
    with right:
        draw_chart(boundary_panel(net_surface(result.live, run.task), pts, y, f"live net at step {result.step:,}"), ctx, "live")


CONVEX_VIEW = VIEWS.register(View(
    "convex-optimum", "Solve for the global optimum", frozenset({"two-layer-relu", "2d", "classification"}), draw_convex,
    description="The convex program of a one-hidden-layer ReLU MLP on the run's data: its optimum beside the live net",
    places=(Place("playground", 55, quiet=True),)))
