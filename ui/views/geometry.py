"""Representational geometry of the live run: embeddings over training, RDMs, CKA, alignment with
input and labels, unit matching against a second net, and the input grid warped through the layers."""

from __future__ import annotations

import copy

import streamlit as st
from torch import nn

from netarium.analysis.geometry import effective_rank
from netarium.analysis.representation import (
    Probe,
    alignment_over_training,
    cka_across,
    cka_within,
    embedding_frames,
    layer_title,
    match_layers,
    probe_set,
    rdm_set,
    representations,
    warped_grid,
)
from netarium.tasks.base import Task
from netarium.training.config import Config
from netarium.training.jobs import Progress
from netarium.training.live import LiveRun
from netarium.training.run import Run
from netarium.training.runs_io import load_weights
from netarium.training.store import CheckpointError
from netarium.ui.cache import generation_store, per_generation
from netarium.ui.errors import failure_sentence
from netarium.ui.jobs import forget_job, job_progress, live_job, start_live_job
from netarium.ui.text import plain_markdown
from netarium.ui.views.base import VIEWS, Place, View, ViewContext, draw_chart, heavy_result
from netarium.viz import geometry as gviz

SECOND_NET_MAX_STEPS = 3000  # a second seed trained on the spot stops here (the live run may be far longer)
SECOND_NET = "second-net"  # its job, and the net the views compare with, in the generation's store
MAX_FRAMES = 16  # snapshots drawn in an embedding animation


def probe(live: LiveRun) -> Probe:
    """The probe set of the live run's task, made once per generation."""
    return per_generation(live, "probe", lambda: probe_set(live.run.task))



def draw_embedding(ctx: ViewContext) -> None:
    """PCA of each layer's representation of the probe set, coloured by condition or class, with a
    slider and Play over training snapshots."""
    dims = st.segmented_control("dimensions", [2, 3], default=2, key=f"{ctx.key}.dims") or 2
    frames = heavy_result(ctx, f"embedding{dims}", lambda: embedding_frames(ctx.live.snapshot_models(MAX_FRAMES), probe(ctx.live), k=dims))
    draw_chart(gviz.embedding_figure(frames, dims=dims), ctx)

    def ranks():
        _, model = ctx.live.model_copy()
        reps = representations(model, probe(ctx.live))
        return {layer_title(t): effective_rank(a) for t, a in reps.items()}

    st.caption("effective rank now (Roy & Vetterli): " + " · ".join(f"{k} {v:.2f}" for k, v in heavy_result(ctx, "ranks", ranks).items()))


def draw_rdm(ctx: ViewContext) -> None:
    """RDMs of the input, each hidden layer and the labels, with each one's RSA to input and labels."""
    metric = st.segmented_control("distance", ["euclidean", "correlation", "cosine"], default="euclidean",
                                  key=f"{ctx.key}.metric") or "euclidean"

    def compute():
        _, model = ctx.live.model_copy()
        return rdm_set(model, probe(ctx.live), metric)

    draw_chart(gviz.rdm_figure(heavy_result(ctx, f"rdm.{metric}", compute)), ctx)


def stored_candidates(live: LiveRun) -> list:
    """Saved runs of the same model type and task that have a checkpoint (newest first, at most 20)."""
    from netarium.ui.runs_ui import STORE_ERRORS, run_store

    try:
        store = run_store()
        records = store.list_runs(limit=200)
        same = [r for r in records if r.config.get("model", {}).get("name") == live.config.model.name
                and r.config.get("task", {}).get("name") == live.config.task.name]
        return [r for r in same if store.checkpoints(r.id)][:20]
    except STORE_ERRORS:
        return []


def load_stored(live: LiveRun, run_id: int) -> nn.Module:
    """A copy of the live model holding a saved run's latest checkpoint (ValueError when it does not fit)."""
    from netarium.ui.runs_ui import run_store

    _, template = live.model_copy()
    model = copy.deepcopy(template)
    tensors = run_store().load_checkpoint(run_id)  # CheckpointError (a ValueError) when its file is damaged
    try:
        load_weights(model, tensors)  # a run pruned live brings its masks
    except (RuntimeError, CheckpointError) as e:
        why = str(e).removeprefix("the checkpoint does not fit the model: ").splitlines()[0]
        raise ValueError(f"run #{run_id} has another architecture than the live model: {why}") from None
    return model.eval()


def train_second(config: Config, task: Task, progress: Progress) -> Run:
    """A second net: `config` (another seed) trained on the live run's data."""
    return Run(config, task=task).train(progress=progress)


def second_net(ctx: ViewContext) -> tuple[str, nn.Module] | None:
    """A second net to compare with: another seed (initialisation and batch order) trained in the
    background on the same data for as many steps as the live run has taken (up to
    SECOND_NET_MAX_STEPS), or a saved run of the same architecture from the run store; kept until the
    live run re-initialises."""
    live = ctx.live
    store = generation_store(live)
    hit = store.get(SECOND_NET)
    steps = min(max(live.run.step_count, 1), SECOND_NET_MAX_STEPS)
    seed = live.config.seed + 1
    stored = {f"run:{r.id}": r for r in stored_candidates(live)}
    names = {"seed": f"another seed ({seed}), trained here", **{k: f"saved run #{r.id} {r.name} ({r.steps:,} steps)".replace("  ", " ")
                                                                for k, r in stored.items()}}
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    source = c1.selectbox("second net", list(names), format_func=names.get, key=f"{ctx.key}.second")
    if source == "seed":
        job = live_job(live, SECOND_NET)
        if c2.button(f"train {steps:,} steps", key=f"{ctx.key}.train2", disabled=job is not None and job.running, help=(
                f"Trains a second net with seed {seed} on the same data and config in the background; at most "
                f"{SECOND_NET_MAX_STEPS:,} steps")):
            config, task = live.config.with_overrides([f"seed={seed}", f"steps={steps}"]), live.run.task
            job = start_live_job(live, SECOND_NET, lambda progress: train_second(config, task, progress), steps)
        if job is not None and not job.done:
            with c1:
                job_progress(job, f"training seed {seed}")
        elif job is not None:  # done: its net (or what went wrong) is taken once
            forget_job(live, SECOND_NET)
            run = job.result
            if run is None or run.state == "diverged":
                st.warning(plain_markdown(f"The second net diverged: {run.reason}") if run is not None
                           else failure_sentence("The second net could not be trained", job.error))
                return None
            store[SECOND_NET] = hit = (f"seed {run.config.seed}, {run.step_count:,} steps", run.model.eval())
    elif source in stored and (hit is None or hit[0] != names[source]):
        try:
            store[SECOND_NET] = hit = (names[source], load_stored(live, stored[source].id))
        except (ValueError, KeyError, OSError) as e:
            store.pop(SECOND_NET, None)
            st.warning(plain_markdown(f"Could not load it: {e}"))
            return None
    if hit is None:
        st.caption("Compare with a second net: the same task and architecture, another seed or a saved run.")
        return None
    st.caption(plain_markdown(f"second net: {hit[0]}"))  # a saved run's name
    return hit


def draw_cka(ctx: ViewContext) -> None:
    """CKA layer × layer within the live net, and against a second net when there is one."""
    c1, c2 = st.columns(2, vertical_alignment="bottom")
    kernel = c1.segmented_control("kernel", ["linear", "rbf"], default="linear", key=f"{ctx.key}.kernel",
                                  help="RBF: Gaussian kernel, bandwidth 0.8 × the median distance (Kornblith et al. 2019)") or "linear"
    debiased = c2.toggle("debiased", key=f"{ctx.key}.debiased", help="The unbiased HSIC estimator (Song et al. 2012)")

    def within():
        _, model = ctx.live.model_copy()
        return cka_within(model, probe(ctx.live), debiased=debiased, kernel=kernel)

    draw_chart(gviz.cka_figure(heavy_result(ctx, f"cka.{kernel}.{debiased}", within)), ctx)
    other = second_net(ctx)
    if other is not None:
        def across():
            _, model = ctx.live.model_copy()
            return cka_across(model, other[1], probe(ctx.live), debiased=debiased, kernel=kernel)

        draw_chart(gviz.cka_figure(heavy_result(ctx, f"cka.across.{kernel}.{debiased}.{other[0]}", across)), ctx, "across")


def draw_alignment(ctx: ViewContext) -> None:
    """Linear CKA of each hidden layer with the input and with the labels, over the training snapshots."""
    curves = heavy_result(ctx, "alignment", lambda: alignment_over_training(ctx.live.snapshot_models(24), probe(ctx.live)))
    draw_chart(gviz.alignment_figure(curves), ctx)


def draw_unit_match(ctx: ViewContext) -> None:
    """Each hidden unit matched to the second net's (Hungarian one-to-one, semi-matching) against a
    shuffled baseline (Li et al. 2015)."""
    other = second_net(ctx)
    if other is None:
        return

    def compute():
        _, model = ctx.live.model_copy()
        return match_layers(model, other[1], probe(ctx.live))

    draw_chart(gviz.unit_match_figure(heavy_result(ctx, f"match{other[0]}", compute)), ctx)


def draw_warped_grid(ctx: ViewContext) -> None:
    """The input plane's grid carried through each hidden layer (first two principal components)."""

    def compute():
        _, model = ctx.live.model_copy()
        return warped_grid(model, ctx.live.run.task, probe(ctx.live))

    draw_chart(gviz.warped_grid_figure(heavy_result(ctx, "warp", compute)), ctx)


GEOMETRY_VIEWS = [
    VIEWS.register(View("embedding", "Representations over training", frozenset({"classification"}), draw_embedding, heavy=True,
                        description="PCA of each layer, coloured by condition or class, with Play over training snapshots",
                        places=(Place("geometry", 10),))),
    VIEWS.register(View("rdm", "RDMs and RSA", frozenset({"classification"}), draw_rdm, heavy=True,
                        description="Dissimilarity matrices of input, hidden layers and labels, with RSA",
                        places=(Place("geometry", 40),))),
    VIEWS.register(View("cka", "CKA", frozenset({"classification"}), draw_cka, heavy=True,
                        description="Linear CKA layer × layer, within the net and against a second seed",
                        places=(Place("geometry", 30, "right"),))),
    VIEWS.register(View("alignment", "Alignment over training", frozenset({"classification"}), draw_alignment, heavy=True,
                        description="CKA of each hidden layer with the input and with the labels, over training",
                        places=(Place("geometry", 20, "left"),))),
    VIEWS.register(View("unit-match", "Unit matching", frozenset({"classification"}), draw_unit_match, heavy=True,
                        description="Units matched to a second seed's (Hungarian, semi-matching) against a shuffled baseline",
                        places=(Place("geometry", 50),))),
    VIEWS.register(View("warped-grid", "Warped input grid", frozenset({"classification", "2d"}), draw_warped_grid, heavy=True,
                        description="The input plane's grid carried through each hidden layer",
                        places=(Place("geometry", 60),))),
]
