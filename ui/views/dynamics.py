"""Training dynamics of the live run: sharpness and trace against 2/η, Hessian eigenvalues, the Fourier
spectrum of a modular net over training, XOR-cluster neurons over training, and GD vs SGD side by side."""

from __future__ import annotations

import numpy as np
import streamlit as st
from torch import nn

from netarium.analysis import fourier
from netarium.analysis.hessian import HessianProbe, exact_hessian, spectrum
from netarium.analysis.xor import first_layer_weights, xor_state
from netarium.training.config import Config
from netarium.training.jobs import Progress
from netarium.training.live import LiveRun
from netarium.ui.cache import per_generation
from netarium.ui.curvature import BUDGET, PROBE, CurvatureTracker
from netarium.ui.errors import failure_sentence
from netarium.ui.jobs import job_progress, live_job, start_live_job
from netarium.ui.text import plain_markdown
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, draw_chart, heavy_result
from netarium.viz import dynamics as dviz

EXACT_LIMIT = 3000  # parameters up to which the whole spectrum is computed exactly
GD_SGD_STEPS = 300


def tracker(live: LiveRun) -> CurvatureTracker:
    """The session's curvature tracker for the live run (a new one after every re-initialisation)."""
    t = st.session_state.get("netarium.curvature")
    if t is None or not t.alive and not t.error:
        if t is not None:
            t.stop()
        t = st.session_state["netarium.curvature"] = CurvatureTracker(live)
    return t



def draw_sharpness(ctx: ViewContext) -> None:
    """λ_max(H) and trace(H) with the 2/η line, measured on a background thread within a CPU budget."""
    t = tracker(ctx.live)
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    log_x = c1.toggle("log x", key=f"{ctx.key}.logx")
    t.budget = c2.select_slider("compute budget", [0.05, 0.1, 0.15, 0.25, 0.5], value=BUDGET, key=f"{ctx.key}.budget",
                                format_func=lambda v: f"{v:.0%} of the time",
                                help="How much of the wall time the Hessian measurements may take away from training")
    h = t.snapshot()
    draw_chart(dviz.sharpness_figure(h.steps, h.sharpness, h.trace, h.lr, log_x=log_x), ctx)
    note = f"{len(h.steps)} measurements on {min(PROBE, len(ctx.live.run.task.X_train))} training points, " \
           f"{h.seconds:.1f} s of compute (at most {t.budget:.0%} of the time)"
    st.caption(note if not t.error else plain_markdown(f"{note}; stopped: {t.error}"))


def draw_spectrum(ctx: ViewContext) -> None:
    """The top Hessian eigenvalues over training; for small models the whole spectrum now."""
    t = tracker(ctx.live)
    h = t.snapshot()
    run = ctx.live.run
    n = sum(p.numel() for p in run.model.parameters() if p.requires_grad)
    exact = None
    if n <= EXACT_LIMIT:
        def compute():
            _, model = ctx.live.model_copy()
            return spectrum(exact_hessian(HessianProbe(model, run.loss, run.task.X_train[:PROBE], run.task.y_train[:PROBE]),
                                          max_params=EXACT_LIMIT))

        exact = heavy_result(ctx, "spectrum", compute)
    draw_chart(dviz.eigen_figure(h.steps, h.eigenvalues, h.lr, exact), ctx)
    if exact is None:
        st.caption(f"{n:,} parameters: the whole spectrum is computed for models up to {EXACT_LIMIT:,}.")


def draw_weight_norm(ctx: ViewContext) -> None:
    """‖θ‖ over training (grokking with weight decay: the norm falls as the net generalizes)."""
    series = {m: ctx.snap.history.series(m) for m in ("weight_norm", "grad_norm") if m in ctx.snap.history.metrics()}
    draw_chart(dviz.norms_figure(series, log_x=st.toggle("log x", key=f"{ctx.key}.logx", value=True)), ctx)


def fourier_over_snapshots(models: list[tuple[int, nn.Module]], task, cache: dict) -> tuple:
    """(steps, power per snapshot, key frequencies now, progress measures per snapshot or None, activation
    spectrum now) for (step, model) pairs, the last the model now.

    `cache` (one per live run generation) keeps each snapshot's spectrum, its logits over the pairs
    (fourier.PairLogits) and its progress measures for the current key frequencies: a snapshot's weights
    never change, so a refresh runs forward passes only for the snapshots it has not seen and the model
    now; when the key frequencies change, the kept logits give the new measures without a forward pass.
    Entries of steps no longer shown go.
    """
    M = int(task.meta["modulus"])
    steps = [s for s, _ in models]
    now = steps[-1]

    def kept(key: tuple, compute):
        """cache[key] for a snapshot (computed once), compute() for the model now (never kept)."""
        if key[1] == now:
            return compute()
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    power = np.array([kept(("power", s), lambda m=m: fourier.spectrum(fourier.token_matrices(m, M))) for s, m in models])
    keys = fourier.key_frequencies(power[-1])
    basis = sorted(keys)  # the measures depend on the set of key frequencies, not on their order of strength
    measures = None
    if task.meta.get("op") in ("+", "-"):
        measures = []
        for s, m in models:
            logits = kept(("pairs", s), lambda m=m: fourier.pair_logits(m, task))
            measures.append(kept(("measures", s, tuple(basis)), lambda logits=logits: fourier.measures_from(logits, basis)))
    shown = set(steps[:-1])
    for key in [k for k in cache if k[1] not in shown or (k[0] == "measures" and k[2] != tuple(basis))]:
        del cache[key]
    return steps, power, keys, measures, fourier.activation_spectrum(models[-1][1], task)


def draw_fourier(ctx: ViewContext) -> None:
    """Power per frequency of the first layer along the token axis at each snapshot; for + and -, the
    restricted and excluded loss (Nanda et al. 2023) over the same snapshots."""
    task = ctx.live.run.task
    cache = per_generation(ctx.live, ("fourier", ctx.key), dict)
    steps, power, keys, measures, acts = heavy_result(ctx, "fourier", lambda: fourier_over_snapshots(ctx.live.snapshot_models(24), task, cache))
    if measures:
        fig = dviz.fourier_figure(steps, power, [m.restricted_loss for m in measures], [m.excluded_loss for m in measures],
                                  [m.full_loss for m in measures])
    else:
        fig = dviz.fourier_figure(steps, power)
    draw_chart(fig, ctx)
    st.caption(f"key frequencies of the first layer now: {', '.join(map(str, keys))} (the top 5 hold "
               f"{fourier.concentration(power[-1]):.0%} of its power); of the hidden activations: "
               f"{', '.join(map(str, fourier.key_frequencies(acts)))} ({fourier.concentration(acts):.0%})")


def draw_xor(ctx: ViewContext) -> None:
    """Each hidden neuron's cosine with μ1 and μ2 over training snapshots, and the accuracies now."""
    task = ctx.live.run.task

    def compute():
        models = ctx.live.snapshot_models(24)
        states = [xor_state(m, task) for _, m in models]
        first = models[1][1] if len(models) > 1 and models[1][0] == 1 else None
        direction = first_layer_weights(first) - first_layer_weights(models[0][1]) if first is not None else None
        now = xor_state(models[-1][1], task, step_direction=direction)
        return [s for s, _ in models], np.array([s.cos_mu1 for s in states]), np.array([s.cos_mu2 for s in states]), now

    steps, c1, c2, now = heavy_result(ctx, "xor", compute)
    readout = getattr(ctx.live.run.model, "readout", None)
    sign = readout.weight.detach().cpu().numpy()[-1] if readout is not None and readout.weight.shape[1] == c1.shape[1] else None
    draw_chart(dviz.neuron_scatter_figure(steps, c1, c2, sign), ctx)
    step_note = f", mean cos with its first step {np.nanmean(now.cos_step):.2f}" if now.cos_step is not None else ""
    st.caption(f"now: train (noisy labels) {now.train_acc:.3f}, flipped subset {now.flipped_acc:.3f}, clean test {now.test_acc:.3f}"
               + step_note)


def train_gd_sgd(config: Config, batch: int, progress: Progress) -> dict[str, tuple]:
    """Full-batch GD and SGD with `batch` from `config` at its learning rate, GD_SGD_STEPS each, with the
    sharpness every few steps: {name: (sharpness steps, sharpness, loss steps, train loss)}."""
    from netarium.experiments.dynamics import track_sharpness

    out = {}
    for i, (name, b) in enumerate((("GD (full batch)", 0), (f"SGD (batch {batch})", batch))):
        cfg = config.with_overrides([f"batch_size={b}", f"steps={GD_SGD_STEPS}", "eval_every=5"])
        run, steps, sharp = track_sharpness(cfg, progress, i * GD_SGD_STEPS, 2 * GD_SGD_STEPS)
        l_steps, losses = run.history.series("train_loss")
        out[name] = (steps, sharp, l_steps, losses)
    return out


def draw_gd_sgd(ctx: ViewContext) -> None:
    """Full-batch GD and SGD (a chosen batch size) from the live config at the same learning rate,
    trained side by side in the background, with the sharpness measured every few steps."""
    live = ctx.live
    c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
    batch = c1.select_slider("SGD batch", [8, 16, 32, 64, 128], value=32, key=f"{ctx.key}.batch")
    name = f"gd-sgd.{batch}"
    job = live_job(live, name)
    if c2.button(f"train both for {GD_SGD_STEPS} steps", key=f"{ctx.key}.train", disabled=job is not None and job.running):
        config = live.config
        job = start_live_job(live, name, lambda progress: train_gd_sgd(config, batch, progress), 2 * GD_SGD_STEPS)
    if job is not None and not job.done:
        job_progress(job, "training GD and SGD")
    elif job is not None and job.error:
        st.warning(plain_markdown(failure_sentence("GD vs SGD could not be trained", job.error)))
    draw_chart(dviz.gd_sgd_figure(job.result if job is not None and job.done and job.result else {}, live.run.lr), ctx)


DYNAMICS_VIEWS = [
    VIEWS.register(View("sharpness", "Sharpness and trace", frozenset(), draw_sharpness, heavy=True,
                        description="λ_max(H) and trace(H) of the full-batch loss with the 2/η line, live",
                        places=(Place("dynamics", 20),))),
    VIEWS.register(View("spectrum", "Hessian eigenvalues", frozenset(), draw_spectrum, heavy=True,
                        description="The top eigenvalues over training; the whole spectrum for small models",
                        places=(Place("dynamics", 30, "left"),))),
    # heavy: its points come with the evaluations (every few hundred steps), so a redraw every tick showed nothing new
    VIEWS.register(View("weight-norm", "Weight norm", frozenset(), draw_weight_norm, heavy=True,
                        description="‖θ‖ and ‖∇‖ over training", places=(Place("dynamics", 40, "right"),))),
    VIEWS.register(View("fourier", "Fourier features", frozenset({"modular"}), draw_fourier, heavy=True,
                        description="First-layer power per frequency over training, with Nanda's progress measures",
                        places=(Place("dynamics", 50),))),
    VIEWS.register(View("xor-neurons", "XOR-cluster neurons", frozenset({"xor-clusters"}), draw_xor, heavy=True,
                        description="Each neuron's cosine with μ1 and μ2 over training, and the flipped-label accuracy",
                        places=(Place("dynamics", 60),))),
    VIEWS.register(View("gd-sgd", "GD vs SGD", frozenset(), draw_gd_sgd, heavy=True,
                        description="Full-batch GD and SGD at the live learning rate, side by side, with sharpness",
                        places=(Place("dynamics", 70),))),
]
