"""Operator learning on the live run: predicted against true solutions of test problems with the error along x
(any model on a 1-D grid task), and what each level of MgNO's V-cycles adds to their output."""

from __future__ import annotations

import streamlit as st

from netarium.analysis.mgno import level_contributions, solutions
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, draw_chart, heavy_result
from netarium.viz.mgno import levels_figure, solutions_figure

SHOWN = 4  # test problems drawn
BATCH = 256  # test problems the error and the level norms are measured on


def draw_solutions(ctx: ViewContext) -> None:
    """True and predicted u for a few test problems, the mean absolute error along x below."""

    def compute():
        _, model = ctx.live.model_copy()
        task = ctx.live.run.task
        return solutions(model.cpu(), task, SHOWN, BATCH)

    sol = heavy_result(ctx, "grid-solutions", compute)
    draw_chart(solutions_figure(sol), ctx)
    st.caption(f"-(a u')' = f, u(0) = u(1) = 0, solved by finite differences on {len(sol.x)} points; the model maps (f, a) "
               f"to u. Relative L2 error |u_pred - u| / |u| averaged over {sol.n_test} test problems: {sol.test_rel_l2:.3f}.")


def draw_levels(ctx: ViewContext) -> None:
    """Each layer's V-cycle output split by level (exact: the V-cycle is linear in its input)."""

    def compute():
        _, model = ctx.live.model_copy()
        task = ctx.live.run.task
        return level_contributions(model.cpu(), task.X_test[:BATCH].cpu(), task.meta.get("x"))

    lc = heavy_result(ctx, "mgno-levels", compute)
    draw_chart(levels_figure(lc), ctx)
    shares = ", ".join(f"level {d + 1} {v:.2f}" for d, v in enumerate(lc.rel_norm[0]))
    st.caption(f"A V-cycle smooths on the {lc.sizes[0]}-point grid, restricts the residual to {', '.join(map(str, lc.sizes[1:])) or 'no coarser grid'} "
               f"points, and prolongs each coarse correction back. Level d's part is V_d(v) - V_(d-1)(v), the V-cycle stopped at "
               f"level d minus the one stopped above it; the parts sum to the output. {lc.layers[0]}: {shares}.")


GRID_SOLUTIONS = VIEWS.register(View(
    "grid-solutions", "Operator solutions", frozenset({"grid1d"}), draw_solutions, heavy=True,
    description="True and predicted solutions u of a few test problems, and the error along x",
    places=(Place("playground", 45, quiet=True),)))
MGNO_LEVELS = VIEWS.register(View(
    "mgno-levels", "MgNO V-cycle levels", frozenset({"mgno"}), draw_levels, heavy=True,
    description="What each level of each MgNO layer's V-cycle adds to its output: relative norms, and curves along x",
    places=(Place("playground", 50, quiet=True),)))
