"""Quadratic neurons of the live run: each neuron's response over the input plane (its zero set a conic in
the first layer) beside its linear part w_r·x + b_r, the neuron it started as under ReLinear."""

from __future__ import annotations

import streamlit as st

from netarium.analysis.quadratic import quadratic_layers, quadratic_responses
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, draw_chart, heavy_result
from netarium.viz.quadratic import MAX_NEURONS, quadratic_neurons_figure

RESOLUTION = 40


def draw_quadratic_neurons(ctx: ViewContext) -> None:
    """Heatmaps of a layer's quadratic pre-activations and linear parts with their zero contours; on a task
    that is not 2-D, a sentence saying the view needs a 2-D input."""
    run = ctx.live.run
    task = run.task
    if not task.is_2d:
        st.info(f"Quadratic neurons: this view draws each neuron over the input plane, so it needs a 2-D input; "
                f"{task.name} has {task.n_inputs} inputs. Pick circle, xor, spiral or gauss to see the conics.")
        return
    n_layers = len(quadratic_layers(run.model))
    layer = 1
    if n_layers > 1:
        layer = st.segmented_control("layer", list(range(1, n_layers + 1)), default=1, key=f"{ctx.key}.layer") or 1

    def compute():
        _, model = ctx.live.model_copy()
        return quadratic_responses(model, task, layer=layer, resolution=RESOLUTION)

    responses = heavy_result(ctx, f"quadratic.{layer}", compute)
    draw_chart(quadratic_neurons_figure(responses), ctx)
    more = f" The first {MAX_NEURONS} of {responses.n_neurons} neurons are drawn." if responses.n_neurons > MAX_NEURONS else ""
    where = ("the first layer reads (x1, x2), so each zero set is a conic (its kind in the title)" if responses.conics
             else "the curves of a deeper layer (or of extra input features) are of higher degree in the plane")
    st.caption(f"Left: (w_r·x + b_r)(w_g·x + b_g) + w_b·(x⊙x) + c; right: its linear part w_r·x + b_r. Each panel is "
               f"scaled by its largest |value|, orange < 0 < blue; the black curve is where it is 0: {where}. "
               f"Under ReLinear init both columns start equal.{more}")


QUADRATIC_NEURONS = VIEWS.register(View(
    "quadratic-neurons", "Quadratic neurons", frozenset({"quadratic"}), draw_quadratic_neurons, heavy=True,
    description="Each quadratic neuron's response over the input plane (a conic) beside its linear part",
    places=(Place("playground", 50, quiet=True),)))
