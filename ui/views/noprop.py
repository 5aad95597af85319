"""NoProp chain: the label embedding's path z_0 → z_T through the live noprop model's denoising blocks for a
few test inputs, each block's denoising loss over training (trainer noprop) and on test inputs now."""

from __future__ import annotations

import streamlit as st

from netarium.analysis.noprop import block_losses, chain_trajectory, pick_rows
from netarium.training.noprop import NoProp
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, draw_chart, heavy_result
from netarium.viz import noprop as nviz

PROBE = 512  # test inputs the per-block losses are measured on
MAX_CLASSES_SHOWN = 4  # classes whose inputs are drawn at first


def draw_noprop(ctx: ViewContext) -> None:
    """The trajectory (2-D projection and distance to the class embedding) and the per-block losses."""
    run = ctx.live.run
    task = run.task
    n_classes = int(task.n_classes or 0)
    trainer = run.trainer
    if isinstance(trainer, NoProp):
        st.caption("Trainer noprop: each block learns on its own to turn a noised label embedding z_{t−1} (drawn from the "
                   "label, not from the block before) into the clean one, given the input. Gradients flow inside a block; "
                   "none passes from block to block, and training runs no forward pass through the chain. The chain "
                   "runs only to predict: from z₀ through every block to the head.")
    else:
        st.caption(f"Trainer {ctx.live.config.trainer.name}: this noprop model is trained end to end by back-propagation "
                   "through the whole chain (the baseline of experiment noprop); pick trainer noprop to train each block "
                   "on its own.")
    names = [str(c) for c in range(n_classes)]
    left, right = st.columns(2)
    classes = left.multiselect("classes drawn", list(range(n_classes)), default=list(range(min(MAX_CLASSES_SHOWN, n_classes))),
                               key=f"{ctx.key}.classes")
    per_class = right.slider("test inputs per class", 1, 5, 3, key=f"{ctx.key}.per_class")
    if not classes:
        st.info("Pick at least one class to draw its inputs' paths.")
        return
    rows = pick_rows(task.y_test.cpu().numpy(), sorted(classes), int(per_class))

    def compute():
        _, model = ctx.live.model_copy()
        traj = chain_trajectory(model, task.X_test, task.y_test, rows)
        return traj, block_losses(model, task.X_test[:PROBE], task.y_test[:PROBE])

    traj, now = heavy_result(ctx, f"noprop.{tuple(rows.tolist())}", compute)
    draw_chart(nviz.trajectory_figure(traj, names), ctx, "trajectory")
    wrong = int((traj.labels != traj.predicted).sum())
    st.caption(f"{len(traj.rows)} test inputs; {wrong} of them misclassified (dotted, a cross at z_T). Chain "
               f"{'sampled: z₀ ~ N(0, I) and noise at every step' if run.model.sample else 'of means: z₀ = 0, no noise added'}; "
               f"the axes are the two principal axes of the class embeddings and the states drawn together.")
    draw_chart(nviz.distance_figure(traj, names), ctx, "distance")
    log = getattr(trainer, "log", None)
    if isinstance(trainer, NoProp) and log is not None:
        with ctx.live.worker.lock:
            series = {m: tuple(map(list, log.series(m))) for m in log.metrics()}
        if series:
            draw_chart(nviz.block_loss_figure(series, run.model.T), ctx, "losses")
        else:
            st.caption("Per-block losses appear once the run has taken a step.")
    draw_chart(nviz.block_loss_bars(now), ctx, "bars")


NOPROP_VIEW = VIEWS.register(View(
    "noprop-chain", "NoProp chain", frozenset({"noprop"}), draw_noprop, heavy=True,
    description="The label embedding's path z₀ → z_T through the denoising blocks for a few test inputs, and each "
                "block's denoising loss over training and now",
    places=(Place("playground", 52, quiet=True),),
))
