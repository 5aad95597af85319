"""Sparse connectivity of the live run: sparsity per layer, the unit graph (or its ensemble blocks with a
drill-down), DST rewiring step by step with the edge turnover, mask heatmaps ordered by ensemble,
degree histograms, accuracy and DNR as a copy of the model is pruned, and a recurrent mask's graph."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from netarium.analysis.dead_units import static_dead_units
from netarium.analysis.sparsity import (
    PRUNING_LEVELS,
    Wiring,
    block_graph,
    degree_distribution,
    mask_groups,
    masked_modules,
    modularity,
    pruning_curve,
    recurrent_digraph,
    recurrent_modules,
    rewiring_cells,
    sparsity_report,
    unit_graph,
    wiring,
)
from netarium.models.taps import relu_layers
from netarium.ui.views.base import CHART_CONFIG, VIEWS, Place, View, ViewContext, draw_chart, heavy_result
from netarium.viz import sparsity as sviz

GRAPH_UNITS = 64  # above this many units in a layer, or GRAPH_EDGES edges, the graph is drawn by ensemble
GRAPH_EDGES = 3000
DENSE_FRACTION = 0.25  # dense layers show this top fraction of their edges by |w|
PRUNE_EVAL = 2048  # test inputs the pruning curves score on (DNR on the first 512 of them)
PLAY_SECONDS = 0.6  # per rewiring step while "play" runs
PLAY_FRAMES = 60


def _model(ctx: ViewContext):
    """The private copy of the live model (never the live one: training goes on)."""
    return ctx.live.model_copy()[1]


def draw_summary(ctx: ViewContext) -> None:
    """sparsity_report per masked layer, with the static dead units (no active input) and, for
    ensembles, the Newman modularity of the layer's wiring with the ensembles as communities."""

    def compute():
        model = _model(ctx)
        groups = mask_groups(model)
        modules = dict(masked_modules(model))
        rows = []
        for r in sparsity_report(model):
            m = modules[r["name"]]
            ids = groups.get(r["name"])
            mask = m.mask.detach().cpu()
            weight = m.weight.detach().cpu()
            row = {"layer": r["name"], "shape": "×".join(map(str, r["shape"])), "edges": r["edges"], "of": r["total"],
                   "sparsity": f"{r['sparsity']:.1%}"}
            if weight.shape == mask.shape:
                row["no input"] = len(static_dead_units(weight * mask))
            row["Q"] = round(modularity(mask, ids), 3) if ids and ids[0] is not None and ids[1] is not None else None
            rows.append(row)
        return rows

    rows = heavy_result(ctx, "summary", compute)
    has_q = any(r["Q"] is not None for r in rows)
    st.dataframe([r if has_q else {k: v for k, v in r.items() if k != "Q"} for r in rows], hide_index=True,
                 key=f"{ctx.key}.table")
    log = getattr(ctx.live.run.trainer, "log", None)
    if log is not None and hasattr(log, "steps"):
        steps = log.steps()
        st.caption(f"dst trainer: {len(steps)} rewiring rounds so far" + (f", the last at step {steps[-1]:,}" if steps else "")
                   + ".")
    st.caption("no input: output units without an active incoming edge."
               + (" Q: Newman modularity with the ensembles as communities, 0 for random wiring, 1 - 1/G for G "
                  "disconnected ensembles." if has_q else ""))


def _graph_caption(w: Wiring, shown_dense: bool, dropped: int = 0) -> str:
    """What the unit graph draws: every masked edge, which dense layers and how, what was left out."""
    masked = [k for k in w.links if k.mask is not None]
    dense = [k for k in w.links if k.mask is None]
    parts = [f"{w.edges:,} active edges of {len(masked)} masked layer{'s' if len(masked) != 1 else ''} "
             f"({', '.join(k.name for k in masked)}), all drawn"]
    if dense:
        names = ", ".join(k.name for k in dense)
        parts.append(f"dense layers ({names}): the top {DENSE_FRACTION:.0%} of their edges by |w|" if shown_dense
                     else f"dense layers ({names}) left out")
    if dropped:
        parts.append(f"{dropped:,} weakest edges left out to keep the drawing fast")
    return "; ".join(parts) + ". Blue w > 0, orange w < 0; wider and darker with |w|."


def draw_connectivity(ctx: ViewContext) -> None:
    """Units in layers coloured by ensemble, edges by sign and |w|; big nets as an ensemble block graph
    with a drill-down into one ensemble."""
    w: Wiring = heavy_result(ctx, "wiring", lambda: wiring(_model(ctx)))
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    dense = c1.toggle(f"dense layers (top {DENSE_FRACTION:.0%} |w|)", value=True, key=f"{ctx.key}.dense",
                      help="The input layer and the readout are dense in the sparse MLP: show their strongest edges")
    fraction = DENSE_FRACTION if dense else 0.0
    shown_dense = sum(int(np.ceil(fraction * int(k.active.sum()))) for k in w.links if k.mask is None)
    big = max(w.widths) > GRAPH_UNITS or w.edges + shown_dense > GRAPH_EDGES
    if not big:
        mode = c2.segmented_control("draw", ["units", "ensembles"], default="units", key=f"{ctx.key}.mode") or "units"
        if mode == "units":
            G = unit_graph(w, dense_fraction=fraction)
            draw_chart(sviz.unit_graph_figure(G, "Units and their active edges"), ctx)
            st.caption(_graph_caption(w, dense) + " Hover a unit for its ensemble and degrees.")
            return
        draw_chart(sviz.block_graph_figure(block_graph(w), "Ensembles: edge width = density of the block"), ctx)
        st.caption("One node per ensemble (layers without ensembles: blocks of contiguous units); an edge's width is "
                   "its active edges over the possible ones, its colour the sign of their summed weight.")
        return
    blocks = block_graph(w)
    options = [None, *sorted(blocks.nodes)]

    def label(node) -> str:
        if node is None:
            return "— all ensembles —"
        d = blocks.nodes[node]
        return f"{d['label']} · {'ensemble ' if d['ensembles'] else 'block '}{d['block']} ({d['units']} units)"

    focus = c2.selectbox("drill into", options, format_func=label, key=f"{ctx.key}.focus",
                         help="Show one ensemble's units with every active edge into and out of it")
    draw_chart(sviz.block_graph_figure(blocks, "Ensembles: edge width = density of the block"), ctx)
    st.caption(f"{max(w.widths)} units in the widest layer, {w.edges:,} masked edges: drawn by ensemble (layers without "
               "ensembles in blocks of contiguous units). Edge width = active / possible edges, colour = sign of Σw. "
               "Pick an ensemble above to see its units.")
    if focus is not None:
        G = unit_graph(w, dense_fraction=fraction, focus=focus, max_edges=GRAPH_EDGES)
        draw_chart(sviz.unit_graph_figure(G, f"{label(focus)}: its units and their edges"), ctx, "drill")
        st.caption(_graph_caption(w, dense, G.graph["dropped"]).replace("all drawn", "those touching it drawn"))


def _rewiring_figure(log, name: str, step: int, ids, as_graph: bool = False):
    ev = log.event(name, step) or {}
    cells = rewiring_cells(log.mask_at(name, step), ev.get("pruned_idx", []), ev.get("grown_idx", []))
    in_ids, out_ids = ids if ids else (None, None)
    in_ids = in_ids if in_ids is not None and len(in_ids) == cells.shape[1] else None
    out_ids = out_ids if out_ids is not None and len(out_ids) == cells.shape[0] else None
    draw = sviz.rewiring_graph_figure if as_graph else sviz.rewiring_figure
    return draw(cells, in_ids, out_ids, name, step)


def draw_rewiring(ctx: ViewContext) -> None:
    """A rewiring step of the dst trainer: the chosen layer's mask after it, the edges it pruned (red) and
    grew (green); the edge turnover of every round per layer."""
    run = ctx.live.run
    log = getattr(run.trainer, "log", None)
    if log is None or not hasattr(log, "mask_at"):
        st.info("Train with the dst trainer to see rewiring (the sidebar's training section: trainer dst, "
                "with a sparse model such as sparse-mlp).")
        return
    steps = log.steps()
    every = ctx.live.config.trainer.every
    if not steps:
        st.caption(f"No rewiring yet: the dst trainer rewires every {every} steps (the first at step {every}); "
                   "press play or step.")
        return
    names = list(log.names)
    if len(names) > 1:
        c0, c1, c2, c3 = st.columns([2, 3, 7, 2], vertical_alignment="bottom")
    else:
        (c0, c2, c3), c1 = st.columns([2, 9, 2], vertical_alignment="bottom"), None
    follow = c0.toggle("latest", value=True, key=f"{ctx.key}.follow",
                       help="On: show the newest round as training goes. Off: pick any round with the slider")
    name = c1.selectbox("layer", names, key=f"{ctx.key}.layer") if c1 is not None else names[0]
    if follow or len(steps) == 1:
        step = steps[-1]
        c2.caption(f"the latest of {len(steps)} rewiring rounds, at step {step:,}"
                   + ("; turn “latest” off to step through them" if len(steps) > 1 else ""))
    else:  # one stable key: the round picked stays picked while training adds rounds
        step = c2.select_slider("rewiring step", steps, value=steps[-1], key=f"{ctx.key}.step",
                                format_func=lambda s: f"{s:,}")
    play = c3.button("▶ play", key=f"{ctx.key}.play", help="Step through the rewiring rounds from the chosen one")
    edges = int(log.initial[name].sum())
    small = edges <= sviz.REWIRING_GRAPH_EDGES
    as_graph = small and st.segmented_control(
        "draw as", ["graph", "heatmap"], default="graph" if edges <= 600 else "heatmap", key=f"{ctx.key}.as",
        help="graph: inputs left, outputs right, kept edges grey, grown green, pruned red; heatmap: the mask") == "graph"
    ids = mask_groups(run.model).get(name)
    box = st.empty()
    if play:
        todo = [s for s in steps if s >= step] if step != steps[-1] else steps
        todo = todo[:: max(1, -(-len(todo) // PLAY_FRAMES))]
        for i, s in enumerate(todo):
            box.plotly_chart(_rewiring_figure(log, name, s, ids, as_graph), key=f"{ctx.key}.frame{i}", width="stretch",
                             config=CHART_CONFIG)
            time.sleep(PLAY_SECONDS)
    else:
        with box.container():
            draw_chart(_rewiring_figure(log, name, step, ids, as_graph), ctx)
    draw_chart(sviz.turnover_figure(log.turnover()), ctx, "turnover")
    rule = ctx.live.config.trainer.rule
    stops = getattr(run.trainer, "stops_at", None)
    st.caption(f"Every {every} steps the dst trainer prunes the active edges of smallest |w| and regrows as many "
               f"({rule} regrowth), so the edge count stays; turnover = (pruned + grown) / (2 · edges)."
               + (f" The share rewired decays by a cosine and rewiring stops at step {stops:,} (the trainer's stop "
                  "fraction of the run's steps: raise steps in the sidebar to rewire longer)." if stops else ""))


def _mask_layers(ctx: ViewContext):
    """[(name, mask (numpy), in ids, out ids, recurrent graph or None)] of the model copy."""

    def compute():
        model = _model(ctx)
        groups = mask_groups(model)
        recurrent = dict(recurrent_modules(model))
        out = []
        for name, m in masked_modules(model):
            in_ids, out_ids = groups.get(name, (None, None))
            graph = recurrent[name].recurrent_graph().detach().cpu().numpy() if name in recurrent else None
            out.append((name, m.mask.detach().cpu().numpy(), in_ids, out_ids, graph))
        return out

    return heavy_result(ctx, "masks", compute)


def draw_mask_heatmaps(ctx: ViewContext) -> None:
    """Each masked layer's mask (rows = outputs, columns = inputs), ordered by ensemble, lines between them."""
    layers = _mask_layers(ctx)
    for name, mask, in_ids, out_ids, _ in layers:
        draw_chart(sviz.mask_heatmap_figure(mask, in_ids, out_ids, name), ctx, name)
    if any(g is not None for *_, g in layers):
        st.caption("A recurrent mask has one row block per gate (unit j feeds unit i at row i, column j).")


def draw_degrees(ctx: ViewContext) -> None:
    """In- and out-degree histograms of each masked layer (the recurrent graph's for a recurrent mask)."""
    rows = []
    for name, mask, _, _, graph in _mask_layers(ctx):
        d = degree_distribution(graph if graph is not None else mask)
        rows.append((f"{name} (recurrent)" if graph is not None else name, d["in"], d["out"]))
    draw_chart(sviz.degree_figure(rows), ctx)
    notes = []
    for name, din, dout in rows:
        din, dout = np.asarray(din), np.asarray(dout)
        notes.append(f"{name}: in {din.mean():.1f} ± {din.std():.1f}, out {dout.mean():.1f} ± {dout.std():.1f}"
                     + (f", {int((din == 0).sum())} units without input" if (din == 0).any() else ""))
    st.caption("; ".join(notes))


def draw_pruning(ctx: ViewContext) -> None:
    """Accuracy and dynamic DNR as a copy of the model now is pruned by magnitude to 20 ... 95% sparsity,
    globally or layer by layer."""
    run = ctx.live.run
    task = run.task
    X, y = task.X_test[:PRUNE_EVAL], task.y_test[:PRUNE_EVAL]

    def compute():
        step, model = ctx.live.model_copy()
        return step, {scope: pruning_curve(model, X, y, run.loss, PRUNING_LEVELS, scope) for scope in ("global", "layer")}

    step, curves = heavy_result(ctx, "pruning", compute)
    score = "R²" if task.kind == "regression" else "accuracy"
    draw_chart(sviz.pruning_figure(curves, score), ctx)
    rows = curves["global"]
    note = (f"The model at step {step:,}: every linear map of a copy gets a mask (the live model is not touched), then the |w| smallest active "
            f"edges are switched off: one threshold over all layers (global) or the same share in each (layer). "
            f"{score.capitalize()} on {len(X):,} test inputs, DNR = share of (input, ReLU unit) pairs at 0 on the first "
            f"{min(len(X), 512)}.")
    if rows and rows[0]["sparsity"] > 0:
        note += f" The model starts {rows[0]['sparsity']:.0%} sparse (its own masks), so the curve begins there."
    if step == 0:
        note += " At step 0 the weights are still random: train first to see what pruning takes away."
    if not relu_layers(_model(ctx)):
        note += " No ReLU hidden layer, so no DNR."
    st.caption(note)


def draw_recurrent(ctx: ViewContext) -> None:
    """The recurrent mask as a directed graph (edge j -> i: unit j feeds unit i), nodes coloured by degree."""

    def compute():
        return [(name, m.recurrent_graph().detach().cpu().numpy(), tuple(m.mask.shape)) for name, m in recurrent_modules(_model(ctx))]

    graphs = heavy_result(ctx, "recurrent", compute)
    c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
    names = [n for n, *_ in graphs]
    name = c1.selectbox("layer", names, key=f"{ctx.key}.layer") if len(names) > 1 else names[0]
    layout = c2.segmented_control("layout", ["circular", "spring"], default="circular", key=f"{ctx.key}.layout") or "circular"
    adj, shape = next((a, sh) for n, a, sh in graphs if n == name)
    G = recurrent_digraph(adj)
    draw_chart(sviz.recurrent_figure(G, layout, seed=ctx.live.config.seed, title=name), ctx)
    A = adj != 0
    off = A & ~np.eye(A.shape[0], dtype=bool)
    recip = float((off & off.T).sum() / off.sum()) if off.any() else 0.0
    din = A.sum(axis=1)
    st.caption(f"{A.shape[0]} units, mean in-degree {din.mean():.1f} (min {din.min()}, max {din.max()}); "
               f"{recip:.0%} of the edges j → i also run i → j."
               + (f" The mask has {shape[0] // A.shape[0]} gate blocks of {A.shape[0]} rows; an edge is drawn when any "
                  "gate has it (the union), so the graph is denser than each gate." if shape[0] != A.shape[0] else ""))


SPARSITY_VIEWS = [
    VIEWS.register(View("sparsity-summary", "Sparsity per layer", frozenset({"masks"}), draw_summary, heavy=True,
                        description="Edges, sparsity, units without input and ensemble modularity of each masked layer",
                        places=(Place("sparsity", 10, "left"),))),
    VIEWS.register(View("connectivity", "Connectivity graph", frozenset({"masks", "mlp"}), draw_connectivity, heavy=True,
                        description="Units by layer coloured by ensemble, active edges by sign and |w|; "
                                    "big nets by ensemble with a drill-down",
                        places=(Place("sparsity", 30),))),
    VIEWS.register(View("rewiring", "DST rewiring", frozenset({"masks"}), draw_rewiring, heavy=True,
                        description="The mask at each rewiring step with its pruned (red) and grown (green) edges, "
                                    "and the edge turnover",
                        places=(Place("sparsity", 50),))),
    VIEWS.register(View("mask-heatmaps", "Mask heatmaps", frozenset({"masks"}), draw_mask_heatmaps, heavy=True,
                        description="Each masked layer's mask, ordered by ensemble",
                        places=(Place("sparsity", 60, "left"),))),
    VIEWS.register(View("degrees", "Degree histograms", frozenset({"masks"}), draw_degrees, heavy=True,
                        description="In- and out-degrees of every masked layer",
                        places=(Place("sparsity", 70, "right"),))),
    VIEWS.register(View("pruning-curve", "Accuracy and DNR vs sparsity", frozenset({"mlp"}), draw_pruning, heavy=True,
                        description="One-shot magnitude pruning of a copy of the model now: accuracy and dead ReLU "
                                    "pairs at 0 … 95% sparsity",
                        places=(Place("sparsity", 80),))),
    VIEWS.register(View("recurrent-graph", "Recurrent graph", frozenset({"recurrent"}), draw_recurrent, heavy=True,
                        description="The recurrent mask as a directed graph, units coloured by degree",
                        places=(Place("sparsity", 40),))),
]
