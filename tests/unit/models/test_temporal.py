"""Sequence models on time series: the rnn model reading channel vectors, forwards or both ways; TS-LSTM
(segment LSTMs, pooled) and Temporal-Inception (parallel temporal convolutions): shapes, taps, gradients
where the maths says there are some and none where it says not, clear errors, diagrams."""

from __future__ import annotations

import pytest
import torch

from netarium.analysis.diagram import extract
from netarium.models import MODELS, ModelSpec, build_model, parameter_count, record, tap_names
from netarium.models.base import capabilities
from netarium.schema import SchemaError
from netarium.viz.ncd import to_dot

SERIES = ModelSpec(12, 3, channels=2)  # 12 steps of 2 channels, 3 classes
PER_STEP = ModelSpec(10, 5, vocab_size=5, per_position=True)


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def series(n: int = 4, length: int = 12, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, length, 2, generator=torch.Generator().manual_seed(seed))


def input_gradient(model: torch.nn.Module, x: torch.Tensor, position: int) -> torch.Tensor:
    """d(sum of the outputs at `position`) / dx, (B, T, ...) — which inputs an output step reads."""
    x = x.clone().requires_grad_(True)
    model(x)[:, position].sum().backward()
    return x.grad


@pytest.mark.parametrize("cell", ["rnn-tanh", "gru", "lstm"])
def test_rnn_reads_time_series_forwards_and_both_ways(cell: str) -> None:
    torch.manual_seed(0)
    uni = build_model("rnn", {"cell": cell, "hidden": 6}, SERIES)
    bi = build_model("rnn", {"cell": cell, "hidden": 6, "bidirectional": True}, SERIES)
    x = series()
    assert uni.embed is None and uni.rnn.layer.input_size == 2 and uni(x).shape == bi(x).shape == (4, 3)
    acts = record(bi, x)
    assert tap_names(bi) == ["in", "hidden", "logits"] and acts["hidden"].shape == (4, 12, 12)
    torch.testing.assert_close(acts["in"], x)
    # the readout reads the forward state at the last step and the backward state at the first position
    torch.testing.assert_close(acts["logits"], bi.readout(torch.cat([acts["hidden"][:, -1, :6], acts["hidden"][:, 0, 6:]], -1)))
    back, _ = bi.rnn_back(x.flip(1))
    torch.testing.assert_close(acts["hidden"][:, :, 6:], back.flip(1))  # backward states in position order
    assert parameter_count(bi) == 2 * parameter_count(uni.rnn) + 12 * 3 + 3
    assert [n for n, _ in bi.named_parameters()][:4] == ["rnn.layer.weight_ih_l0", "rnn.layer.bias_ih_l0",
                                                         "rnn.layer.bias_hh_l0", "rnn.layer.parametrizations.weight_hh_l0.original"]
    assert ("recurrent-gates" in capabilities(uni)) == (cell != "rnn-tanh")
    assert {"timeseries", "states"} <= capabilities(uni)


def test_a_unidirectional_output_reads_no_later_input_a_bidirectional_one_does() -> None:
    torch.manual_seed(0)
    x = torch.randint(0, 5, (3, 10))
    for bidirectional in (False, True):
        m = build_model("rnn", {"cell": "gru", "hidden": 5, "bidirectional": bidirectional}, PER_STEP)
        assert m(x).shape == (3, 10, 5)
        emb = m.embed(x).detach().requires_grad_(True)
        m.embed = None  # feed the embedded tokens directly to see which positions an output reads
        m(emb)[:, 4].sum().backward()
        later = emb.grad[:, 5:].abs().sum()
        assert (float(later) > 0) == bidirectional
        assert float(emb.grad[:, :5].abs().sum()) > 0


def test_forget_bias_opens_the_lstm_forget_gate_only() -> None:
    torch.manual_seed(0)
    plain = build_model("rnn", {"cell": "lstm", "hidden": 4}, SERIES)
    torch.manual_seed(0)
    biased = build_model("rnn", {"cell": "lstm", "hidden": 4, "forget_bias": 1.0, "bidirectional": True}, SERIES)
    diff = biased.rnn.layer.bias_hh_l0 - plain.rnn.layer.bias_hh_l0
    assert diff.tolist() == [0.0] * 4 + [1.0] * 4 + [0.0] * 8  # gate order i, f, g, o
    assert float((biased.rnn_back.layer.bias_hh_l0.detach()[4:8] - 1).abs().max()) <= 1 / 4 ** 0.5  # torch's U(±1/sqrt(H)) + 1


def test_ts_lstm_cuts_segments_pools_and_reads_out() -> None:
    torch.manual_seed(0)
    x = series(length=14)
    spec = ModelSpec(14, 3, channels=2)
    m = build_model("ts-lstm", {"segments": 3, "hidden": 5}, spec)  # 14 steps: the first 2 dropped, 3 x 4
    acts = record(m, x)
    assert tap_names(m) == ["in", "hidden", "segments", "pooled", "logits"]
    assert acts["hidden"].shape == (4, 12, 5) and acts["segments"].shape == (4, 3, 5) and acts["pooled"].shape == (4, 15)
    for s in range(3):  # every segment starts from a zero state: it is the LSTM run on that segment alone
        alone, _ = m.lstm(x[:, 2 + 4 * s: 6 + 4 * s])
        torch.testing.assert_close(acts["hidden"][:, 4 * s: 4 * s + 4], alone)
        torch.testing.assert_close(acts["segments"][:, s], alone.mean(1))
    assert float(input_gradient(m, x, 0)[:, :2].abs().sum()) == 0  # steps before the segments are not read
    last = build_model("ts-lstm", {"segments": 3, "hidden": 5, "shared": False, "pool": "last", "combine": "mean"}, spec)
    acts = record(last, x)
    assert len(last.lstms) == 3 and acts["pooled"].shape == (4, 5)
    torch.testing.assert_close(acts["segments"][:, 1], last.lstms[1](x[:, 6:10])[0][:, -1])
    assert parameter_count(last) == 3 * parameter_count(m.lstm) + 5 * 3 + 3
    loss = last(x).square().sum()
    loss.backward()
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in last.parameters())


def test_temporal_inception_branches_and_causal_padding() -> None:
    torch.manual_seed(0)
    m = build_model("temporal-inception", {"widths": [1, 3, 4], "filters": 2, "blocks": 2}, SERIES)
    x = series()
    acts = record(m, x)
    assert acts["block1.post"].shape == acts["hidden"].shape == (4, 12, 6) and acts["pooled"].shape == (4, 6)
    assert m(x).shape == (4, 3) and m.receptive_field() == 7
    torch.testing.assert_close(acts["pooled"], acts["hidden"].mean(1))
    assert bool((acts["block1.post"] >= 0).all())  # ReLU
    m(x).sum().backward()
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in m.parameters())
    # every position scored: causal, the output at t reads inputs t-6..t and nothing later
    seq = build_model("temporal-inception", {"widths": [1, 3, 4], "filters": 2}, PER_STEP)
    emb = seq.embed(torch.randint(0, 5, (2, 10))).detach()
    seq.embed = None
    g = input_gradient(seq, emb, 8).abs().sum((0, 2))
    assert [bool(v > 0) for v in g] == [False, False, True, True, True, True, True, True, True, False]
    assert seq(emb).shape == (2, 10, 5)


def test_clear_errors_for_inputs_a_model_does_not_read() -> None:
    with pytest.raises(SchemaError, match="time series"):
        build_model("ts-lstm", {}, ModelSpec(4, 2))
    with pytest.raises(SchemaError, match="one per position"):
        build_model("ts-lstm", {}, PER_STEP)
    with pytest.raises(SchemaError, match="reads one feature vector per sample"):
        build_model("mlp", {}, SERIES)
    with pytest.raises(SchemaError, match="token sequences or time series"):
        build_model("rnn", {}, ModelSpec(4, 2))
    with pytest.raises(SchemaError) as err:
        build_model("ts-lstm", {"segments": 13}, SERIES)
    assert err.value.key == "model.segments"
    with pytest.raises(SchemaError) as err:
        build_model("temporal-inception", {"widths": [3, 70]}, SERIES)
    assert err.value.key == "model.widths"
    for name in ("ts-lstm", "temporal-inception"):
        assert all(f.description for f in MODELS.get(name).schema.model_fields.values())
        assert "timeseries" in MODELS.get(name).tags


def test_diagrams_draw_segments_branches_and_joins() -> None:
    torch.manual_seed(0)
    ti = build_model("temporal-inception", {"widths": [3, 5], "filters": 2, "blocks": 2}, SERIES)
    d = extract(ti, series())
    assert "(fx)" in d.title
    assert [o.label for o in d.ops_of("learned")] == ["Conv+"] * 4 + ["L+"]
    joins = [o for o in d.ops_of("reshape") if o.label == "concat"]
    assert len(joins) == 2  # each block's branches joined along the channels
    assert sum(o.params for o in d.ops) == parameter_count(ti)
    assert "kernel 5" in to_dot(d) and "<B>Conv</B>" in to_dot(d)
    ts = build_model("ts-lstm", {"segments": 3, "hidden": 4, "shared": False}, SERIES)
    d = extract(ts, series())
    assert [o.label for o in d.ops_of("learned")] == ["LSTM"] * 3 + ["L+"]
    (join,) = [o for o in d.ops_of("reshape") if o.label == "concat"]
    assert len(d.inputs_of(join.id)) == 3  # the three segment LSTMs feed the join
    bi = build_model("rnn", {"cell": "lstm", "hidden": 4, "bidirectional": True}, SERIES)
    d = extract(bi, series())
    assert [o.label for o in d.ops_of("learned")] == ["LSTM", "LSTM", "L+"]
    assert sum(o.params for o in d.ops) == parameter_count(bi)
    assert any(o.label == "concat" for o in d.ops_of("reshape"))
