"""Gates recomputed from an LSTM's or GRU's weights match what torch's fused layer computes (its outputs and,
for the LSTM, its final cell state), for plain, sparse, bidirectional and segment layers; state trajectories
project every step's state and carry the colours of the task."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from netarium.analysis.sequences import gru_steps, lstm_steps, recurrent_gates, state_trajectories
from netarium.models import ModelSpec, build_model
from netarium.tasks import make_task
from netarium.viz.sequences import gates_figure, trajectory_figure

SERIES = ModelSpec(9, 3, channels=2)


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def x_of(n: int = 5, length: int = 9) -> torch.Tensor:
    return torch.randn(n, length, 2, generator=torch.Generator().manual_seed(1))


def test_recomputed_lstm_gates_give_torchs_states_and_cell_state() -> None:
    torch.manual_seed(0)
    layer = nn.LSTM(2, 4, batch_first=True)
    x = x_of()
    out, (h_n, c_n) = layer(x)
    h_prev = torch.cat([torch.zeros_like(out[:, :1]), out[:, :-1]], 1)
    with torch.no_grad():
        gates, h, c = lstm_steps(layer, x, h_prev)
    torch.testing.assert_close(h, out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(c[:, -1], c_n[0], rtol=1e-5, atol=1e-6)
    assert set(gates) == {"input", "forget", "cell", "output"}
    assert all(float(gates[g].min()) >= 0 and float(gates[g].max()) <= 1 for g in ("input", "forget", "output"))
    assert float(gates["cell"].min()) >= -1 and float(gates["cell"].abs().max()) > 0
    # a recomputation from other weights would not match: the gates are the layer's own
    other = nn.LSTM(2, 4, batch_first=True)
    with torch.no_grad():
        assert float((lstm_steps(other, x, h_prev)[1] - out).abs().max()) > 1e-2


def test_recomputed_gru_gates_give_torchs_states() -> None:
    torch.manual_seed(0)
    layer = nn.GRU(2, 3, batch_first=True)
    x = x_of()
    out, _ = layer(x)
    h_prev = torch.cat([torch.zeros_like(out[:, :1]), out[:, :-1]], 1)
    with torch.no_grad():
        gates, h = gru_steps(layer, x, h_prev)
    torch.testing.assert_close(h, out, rtol=1e-5, atol=1e-6)
    assert list(gates) == ["reset", "update", "new"] and gates["update"].shape == (5, 9, 3)


@pytest.mark.parametrize("model,params,layers", [
    ("rnn", {"cell": "lstm", "hidden": 4}, ["rnn.layer"]),
    ("rnn", {"cell": "gru", "hidden": 4, "recurrence": "random", "density": 0.3}, ["rnn.layer"]),  # W_hh * mask
    ("rnn", {"cell": "lstm", "hidden": 4, "bidirectional": True}, ["rnn.layer", "rnn_back.layer"]),
    ("ts-lstm", {"segments": 3, "hidden": 4}, ["lstm"]),
    ("ts-lstm", {"segments": 3, "hidden": 4, "shared": False}, ["lstms.0", "lstms.1", "lstms.2"]),
])
def test_every_gated_layer_of_a_model_is_traced_and_matches(model: str, params: dict, layers: list[str]) -> None:
    torch.manual_seed(0)
    m = build_model(model, params, SERIES)
    x = x_of()
    traces = recurrent_gates(m, x)
    assert [t.name for t in traces] == layers
    assert all(t.error < 1e-5 for t in traces), [t.error for t in traces]
    hidden = m.hidden  # the model's own every-step states, in position order
    from netarium.models import record

    states = record(m, x, [hidden.tap_name])["hidden"].numpy()
    if model == "rnn":
        for k, t in enumerate(traces):  # the backward layer's trace comes back in position order
            assert t.reversed == (k == 1) and t.shape == (5, 9, 4)
            np.testing.assert_allclose(t.h, states[:, :, 4 * k: 4 * k + 4], rtol=1e-4, atol=1e-5)
    elif params.get("shared", True):  # one call over 3 segments per sequence: laid out segment after segment
        (t,) = traces
        assert t.shape == (5, 9, 4)
        np.testing.assert_allclose(t.h, states, rtol=1e-4, atol=1e-5)
    else:
        for s, t in enumerate(traces):
            np.testing.assert_allclose(t.h, states[:, 3 * s: 3 * s + 3], rtol=1e-4, atol=1e-5)
    fig = gates_figure(traces[-1], sample=2)
    assert len(fig.data) == 2 * len(traces[-1].gates)  # a heatmap and a mean line per gate
    assert "sequence 2" in fig.layout.title.text


def test_models_without_gates_say_so() -> None:
    for model, params in [("rnn", {"cell": "rnn-tanh"}), ("temporal-inception", {})]:
        with pytest.raises(ValueError, match="no LSTM or GRU layer"):
            recurrent_gates(build_model(model, params, SERIES), x_of())


def test_state_trajectories_project_states_and_colour_by_class_or_target() -> None:
    torch.manual_seed(0)
    t = make_task("activity", {"L": 16, "n_train": 24, "n_test": 30}, seed=0)
    m = build_model("temporal-inception", {"filters": 2}, ModelSpec.for_task(t))
    tr = state_trajectories(m, t.X_test, t.y_test, t.kind, t.meta["class_names"], n=20)
    assert tr.coords.shape == (20, 16, 2) and tr.labels.tolist() == t.y_test[:20].tolist()
    assert tr.values is None and tr.class_names[0] == "walk"
    assert 0 < tr.explained[1] <= tr.explained[0] <= 1
    states = m.hidden  # PCA coordinates are centred over all steps of all sequences
    assert abs(float(tr.coords.reshape(-1, 2).mean(0).max())) < 1e-6 and states.tap_name == "hidden"
    fig = trajectory_figure(tr)
    shown = {d.name for d in fig.data if d.showlegend}
    assert shown == {t.meta["class_names"][k] for k in set(tr.labels.tolist())}
    a = make_task("adding", {"L": 10, "n_train": 20, "n_test": 15}, seed=0)
    rnn = build_model("rnn", {"cell": "gru", "hidden": 3}, ModelSpec.for_task(a))
    tr = state_trajectories(rnn, a.X_test, a.y_test, a.kind)
    assert tr.coords.shape == (15, 10, 2) and tr.labels is None
    np.testing.assert_allclose(tr.values, a.y_test[:, 0].numpy(), rtol=1e-6)
    fig = trajectory_figure(tr)
    assert fig.data[-1].marker.showscale  # a colour bar for the target
    with pytest.raises(ValueError, match="every-step states"):
        state_trajectories(build_model("mlp", {}, ModelSpec(2, 2)), torch.zeros(3, 2), torch.zeros(3), "classification")
