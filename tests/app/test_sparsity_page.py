"""The Connectivity page: sparsity per layer, the unit graph, DST rewiring, mask heatmaps, degrees and
the pruning curves of a live sparse-mlp trained with the dst trainer; a plain MLP gets told how to get
masks and still sees its pruning curves."""

from __future__ import annotations

import base64
import json

import numpy as np
import torch

from netarium.analysis.sparsity import GROWN, PRUNED, modularity

PAGE = "pages/sparsity.py"
SPARSE = {"model": "sparse-mlp", "model.hidden": "16,16", "trainer": "dst", "trainer.every": "5", "steps": "100",
          "loss": "auto"}  # cross-entropy: 2 output units


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def arr(value) -> np.ndarray:
    """A figure array as numpy: plotly sends numpy arrays as {"dtype", "bdata", "shape"} (base64)."""
    if isinstance(value, dict) and "bdata" in value:
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return a.reshape([int(n) for n in str(value.get("shape", a.size)).split(",")])
    return np.asarray(value)


def test_sparse_mlp_with_dst_shows_every_view(open_app) -> None:
    at = open_app(PAGE, **SPARSE)
    live = at.session_state["netarium.live"]
    live.step(20)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    figs = charts(at)
    model = live.run.model
    mask = model.layers[1].linear.mask.numpy().copy()  # the live buffer moves on with the next rounds

    # the unit graph: a node per unit (2 inputs, 16 + 16 hidden, 2 outputs), every active mask entry an edge
    graph = figs["sp.connectivity.chart"]["data"]
    nodes = sum(len(t["x"]) for t in graph if t.get("mode") == "markers")
    assert nodes == 2 + 16 + 16 + 2
    segments = sum(len(t["x"]) // 3 for t in graph if t.get("mode") == "lines")
    dense = int(np.ceil(0.25 * 2 * 16)) + int(np.ceil(0.25 * 16 * 2))  # top 25% of each dense layer
    assert segments == int(mask.sum()) + dense
    assert {t["name"] for t in graph if t.get("mode") == "markers"} == {"no ensemble", *(f"ensemble {g}" for g in range(4))}

    # the rewiring view follows the log: 4 rounds (steps 5, 10, 15, 20), the latest one shown
    log = live.run.trainer.log
    assert log.steps() == [5, 10, 15, 20]
    assert at.toggle(key="sp.rewiring.follow").value and any("latest of 4 rewiring rounds, at step 20" in c.value
                                                               for c in at.caption)
    ev = log.event("layers.1.linear", 20)
    # a small layer is drawn as a graph first: one segment per kept, grown and pruned edge
    assert at.segmented_control(key="sp.rewiring.as").value == "graph"
    by = {t["name"].split(" (")[0]: t for t in figs["sp.rewiring.chart"]["data"] if t.get("mode") == "lines"}
    assert len(by["grown"]["x"]) // 3 == len(ev["grown_idx"]) and len(by["pruned"]["x"]) // 3 == len(ev["pruned_idx"])
    assert len(by["kept"]["x"]) // 3 == int(log.mask_at("layers.1.linear", 20).sum()) - len(ev["grown_idx"])
    at.segmented_control(key="sp.rewiring.as").set_value("heatmap").run()
    figs = charts(at)
    heat = figs["sp.rewiring.chart"]["data"][0]
    z = arr(heat["z"])  # ordered by ensemble: g2g ids are contiguous, so the order is the identity
    assert sorted(np.flatnonzero(z.ravel() == PRUNED).tolist()) == sorted(ev["pruned_idx"])
    assert sorted(np.flatnonzero(z.ravel() == GROWN).tolist()) == sorted(ev["grown_idx"])

    # heatmap of the masked layer, its sparsity in the title; degrees; the table
    heat = figs["sp.mask-heatmaps.layers.1.linear"]
    assert np.array_equal(arr(heat["data"][0]["z"]), mask.astype(int))
    assert f"{1 - mask.mean():.1%} sparse" in heat["layout"]["title"]["text"]
    hist = figs["sp.degrees.chart"]["data"]
    assert sorted(hist[0]["x"]) == sorted(mask.sum(1).astype(int).tolist())
    table = at.dataframe[0].value
    assert table["layer"].tolist() == ["layers.1.linear"] and table["edges"].tolist() == [int(mask.sum())]
    q = modularity(mask, (model.ensembles[0], model.ensembles[1]))
    assert table["Q"].iloc[0] == round(q, 3) and q < 0.75  # rewiring crossed the ensembles (0.75 before)

    # pruning curves: global and per-layer, starting at the model's own sparsity
    curves = figs["sp.pruning-curve.chart"]["data"]
    assert {t["name"] for t in curves if t.get("showlegend", True)} == {"global pruning", "layer pruning"}
    # 2*16 + 16*16 + 16*2 = 320 entries of which 3/4 of 256 are masked off: the curve starts at 60%
    assert curves[0]["x"][0] == 100 * 192 / 320 and [round(x) for x in curves[0]["x"][1:]] == [80, 90, 95]
    assert "sp.recurrent-graph.chart" not in figs

    # turnover per round
    turnover = figs["sp.rewiring.turnover"]["data"]
    assert turnover[0]["x"] == [5, 10, 15, 20]
    at.toggle(key="sp.rewiring.follow").set_value(False).run()  # "latest" off: the slider picks a round
    assert at.select_slider(key="sp.rewiring.step").value == 20
    at.select_slider(key="sp.rewiring.step").set_value(10).run()
    ev10 = log.event("layers.1.linear", 10)
    z10 = arr(charts(at)["sp.rewiring.chart"]["data"][0]["z"])
    assert sorted(np.flatnonzero(z10.ravel() == PRUNED).tolist()) == sorted(ev10["pruned_idx"])
    assert sorted(np.flatnonzero(z10.ravel() == GROWN).tolist()) == sorted(ev10["grown_idx"])
    live.step(10)  # training adds rounds 25 and 30; the round picked stays
    at.run()
    assert at.select_slider(key="sp.rewiring.step").value == 10
    assert at.select_slider(key="sp.rewiring.step").options[-1] == "30"


def test_plain_mlp_is_told_how_to_get_masks_and_keeps_the_pruning_curves(open_app) -> None:
    at = open_app(PAGE, **{"model.activation": "relu", "model.hidden": "16,16", "loss": "auto"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("sparse-mlp" in i.value and "dst" in i.value for i in at.info)
    figs = charts(at)
    assert set(figs) == {"sp.pruning-curve.chart"}
    acc = figs["sp.pruning-curve.chart"]["data"][0]
    assert [round(x) for x in acc["x"]] == [0, 20, 40, 60, 80, 90, 95]
    live = at.session_state["netarium.live"]
    task = live.run.task
    with torch.no_grad():
        now = float(live.run.loss.accuracy(live.run.model(task.X_test), task.y_test))
    assert abs(acc["y"][0] - now) < 1e-6  # level 0 is the model as it is


def test_sparse_mlp_without_dst_says_how_to_see_rewiring(open_app) -> None:
    at = open_app(PAGE, model="sparse-mlp")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Train with the dst trainer to see rewiring" in i.value for i in at.info)


def test_rnn_gets_its_recurrent_graph(open_app) -> None:
    at = open_app(PAGE, task="sort", **{"task.n_train": "200", "model": "rnn", "model.hidden": "12",
                                        "model.recurrence": "watts-strogatz", "trainer": "dst", "trainer.every": "2"})
    live = at.session_state["netarium.live"]
    live.step(4)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    figs = charts(at)
    graph = live.run.model.rnn.recurrent_graph().numpy()
    fig = figs["sp.recurrent-graph.chart"]
    loops = int(np.trace(graph))
    assert sum(len(t["x"]) // 3 for t in fig["data"] if t.get("mode") == "lines") == int(graph.sum()) - loops
    assert f"{int(graph.sum()) - loops:,} edges j → i" in fig["layout"]["title"]["text"]
    assert any("recurrent" in c.value for c in at.caption)
    assert "sp.connectivity.chart" not in figs and "sp.pruning-curve.chart" not in figs  # not an MLP
    assert {"sp.rewiring.chart", "sp.mask-heatmaps.rnn", "sp.degrees.chart"} <= set(figs)
    degrees = figs["sp.degrees.chart"]["data"]
    assert degrees[0]["name"] == "rnn (recurrent)" and sorted(degrees[0]["x"]) == sorted(graph.sum(1).astype(int).tolist())


def test_prune_now_button_prunes_the_live_mlp_and_says_what_it_did(open_app) -> None:
    at = open_app(PAGE, **{"model.activation": "relu", "model.hidden": "8,8", "loss": "auto"})
    live = at.session_state["netarium.live"]
    live.step(30)
    at.run()
    at.slider(key="sp.prune.fraction").set_value(70).run()
    at.button(key="sp.prune.go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    # 2*8 + 8*8 + 8*2 = 96 weights; 70% of them is 67.2 -> 67 switched off
    assert sum(int(m.mask.sum()) for m in live.run.masked) == 96 - 67
    assert any("Pruned 67 edges (70% of the active ones, global) at step 30" in s.value for s in at.success)
    # the page now has masks: every sparse view appears, and the pruning curve starts at the new sparsity
    figs = charts(at)
    assert {"sp.connectivity.chart", "sp.mask-heatmaps.readout", "sp.degrees.chart"} <= set(figs)
    assert figs["sp.pruning-curve.chart"]["data"][0]["x"][0] == 100 * 67 / 96
