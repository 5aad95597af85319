"""The sequence views on the Playground: state trajectories and LSTM / GRU gates for a live recurrent run on
the adding problem and a TS-LSTM on the activity task; Temporal-Inception gets trajectories and no gates;
the views that need a 2-D task say so instead of failing; other pages draw or decline for these runs."""

from __future__ import annotations

import base64
import json

import numpy as np

ADDING = {"task": "adding", "task.L": "12", "task.n_train": "200", "task.n_test": "60"}
ACTIVITY = {"task": "activity", "task.L": "32", "task.n_train": "120", "task.n_test": "60"}


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def arr(v) -> np.ndarray:
    """A plotly JSON array: a list, or {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(v, dict):
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        return a.reshape([int(s) for s in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v)


def no_errors(at) -> None:
    assert not at.exception, at.exception
    assert not [e.value for e in at.error], [e.value for e in at.error]


def test_lstm_on_adding_draws_trajectories_and_gates_while_it_trains(open_app) -> None:
    at = open_app("pages/playground.py", model="rnn", **{"model.cell": "lstm", "model.hidden": "6"}, **ADDING)
    live = at.session_state["netarium.live"]
    live.step(30)
    at.run()
    no_errors(at)
    figs = charts(at)
    traj = figs["pg.state-trajectories.chart"]
    lines = [d for d in traj["data"] if d.get("mode") == "lines"]
    assert len(lines) == 60 and len(arr(lines[0]["x"])) == 12  # 60 test sequences of 12 steps
    assert traj["data"][-1]["marker"]["showscale"]  # coloured by the regression target
    gates = figs["pg.recurrent-gates.chart"]
    heat = [d for d in gates["data"] if d["type"] == "heatmap"]
    assert len(heat) == 4 and arr(heat[0]["z"]).shape == (6, 12)  # 4 gates, 6 units x 12 steps
    assert "LSTM gates of rnn.layer, sequence 0" in gates["layout"]["title"]["text"]
    assert any("match the layer's own within" in c.value for c in at.caption)
    marked = live.run.task.X_test[0, :, 1].nonzero().flatten().tolist()
    assert any(f"marked at steps {marked[0]} and {marked[1]}" in c.value for c in at.caption)
    sample = next(n for n in at.number_input if n.key == "pg.recurrent-gates.sample")
    sample.set_value(5).run()
    no_errors(at)
    assert "sequence 5" in charts(at)["pg.recurrent-gates.chart"]["layout"]["title"]["text"]
    # the 2-D views decline in words
    assert any("needs a 2-D task" in c.value for c in at.caption)


def test_ts_lstm_on_activity_colours_trajectories_by_class(open_app) -> None:
    at = open_app("pages/playground.py", model="ts-lstm", **{"model.hidden": "4", "model.segments": "4"}, **ACTIVITY)
    no_errors(at)
    figs = charts(at)
    legend = {d["name"] for d in figs["pg.state-trajectories.chart"]["data"] if d.get("showlegend")}
    assert legend <= {"walk", "stairs", "run", "cycle", "jump", "idle"} and len(legend) >= 5
    assert "pg.recurrent-gates.chart" in figs


def test_temporal_inception_gets_trajectories_and_no_gates(open_app) -> None:
    at = open_app("pages/playground.py", model="temporal-inception", **{"model.filters": "2"}, **ACTIVITY)
    no_errors(at)
    figs = charts(at)
    assert "pg.state-trajectories.chart" in figs and "pg.recurrent-gates.chart" not in figs


def test_a_flat_model_on_a_time_series_is_refused_in_words(open_app) -> None:
    at = open_app("pages/playground.py", model="mlp", **ADDING)
    assert not at.exception
    text = " ".join(str(e.value) for e in [*at.error, *at.warning, *at.caption, *at.markdown])
    assert "reads one feature vector per sample" in text


PAGES = ["pages/side_by_side.py", "pages/diagram.py", "pages/geometry.py", "pages/residual.py", "pages/dynamics.py",
         "pages/sparsity.py"]


def test_every_page_draws_or_declines_for_a_sequence_model(open_app) -> None:
    models = [("rnn", {"model.cell": "gru", "model.hidden": "4", "model.bidirectional": "true"}, ADDING),
              ("ts-lstm", {"model.hidden": "3"}, ACTIVITY), ("temporal-inception", {"model.filters": "2"}, ACTIVITY)]
    for page in PAGES:
        for model, params, task in models:
            at = open_app(page, model=model, **params, **task)
            assert not at.exception, (page, model, at.exception)
            assert not [e.value for e in at.error], (page, model, [e.value for e in at.error])


def test_delay_trains_live_with_each_sequence_model(open_app) -> None:
    delay = {"task": "delay", "task.L": "10", "task.d": "2", "task.n_train": "100", "task.n_test": "40"}
    for model, params in [("temporal-inception", {"model.filters": "2"}),
                          ("rnn", {"model.cell": "lstm", "model.hidden": "4", "model.bidirectional": "true"})]:
        at = open_app("pages/playground.py", model=model, **params, **delay)
        live = at.session_state["netarium.live"]
        live.step(20)
        at.run()
        no_errors(at)
        assert live.run.step_count >= 20 and live.run.state != "diverged"
        figs = charts(at)
        assert "pg.state-trajectories.chart" in figs
        assert ("pg.recurrent-gates.chart" in figs) == (model == "rnn")
