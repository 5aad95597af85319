"""Recurrent nets with masked recurrent weights (MaskedRNN) and the "rnn" model."""

import copy

import pytest
import torch
from torch import nn

from netarium.analysis.diagram import extract
from netarium.models import MODELS, ModelSpec, build_model, record, tap_names
from netarium.models.masks import masked_modules
from netarium.models.rnn import GATES, MaskedRNN, make_layer
from netarium.models.sparse import graph_mask, random_mask
from netarium.schema import SchemaError
from netarium.training import Config, Run
from netarium.training.dst import dst_step
from netarium.viz.ncd import to_dot

CELLS = ["rnn-tanh", "rnn-relu", "gru", "lstm"]
SPEC = ModelSpec(10, 3, vocab_size=6)  # 10 tokens of a 6-token vocabulary, 3 classes
H = 12


@pytest.fixture(autouse=True)
def one_thread():
    """Small recurrent layers run many times faster on one thread than on two here."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tokens(n: int = 5, length: int = 10, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 6, (n, length), generator=torch.Generator().manual_seed(seed))


def reference_layer(m: MaskedRNN) -> nn.RNNBase:
    """A plain torch layer of the same cell with W_hh = W * mask and the other weights copied."""
    ref = make_layer(m.cell, m.layer.input_size, m.hidden_size)
    with torch.no_grad():
        for name, p in ref.named_parameters():
            p.copy_(m.weight * m.mask if name == "weight_hh_l0" else getattr(m.layer, name))
    return ref


@pytest.mark.parametrize("cell", CELLS)
def test_masked_entries_are_zero_get_zero_gradient_and_the_kernel_runs_with_w_times_m(cell):
    torch.manual_seed(0)
    graph = random_mask(H, H, 0.3, seed=1)
    m = MaskedRNN(cell, 4, H, graph)
    G = GATES[cell]
    assert m.gates == G and m.cell == cell and m.mask.shape == m.weight.shape == (G * H, H)
    assert torch.equal(m.mask, graph.repeat(G, 1)) and m.density == pytest.approx(float(graph.mean()))
    assert bool((m.weight[m.mask == 0] == 0).all()) and torch.equal(m.effective_weight, m.weight * m.mask)
    x = torch.randn(3, 7, 4)
    out, _ = m(x)
    assert out.shape == (3, 7, H)
    torch.testing.assert_close(out, reference_layer(m)(x)[0], rtol=1e-6, atol=1e-6)
    out.square().sum().backward()
    grad = m.weight.grad
    assert bool((grad[m.mask == 0] == 0).all())  # exactly zero off the mask
    assert float((grad[m.mask == 1] != 0).float().mean()) > 0.5  # (a ReLU cell has some dead units)
    with torch.no_grad():  # an outside write: the forward still ignores masked entries
        m.weight.fill_(0.1)
    assert bool((m.effective_weight[m.mask == 0] == 0).all())
    torch.testing.assert_close(m(x)[0], reference_layer(m)(x)[0], rtol=1e-6, atol=1e-6)


def test_the_mask_is_read_at_call_time_and_set_mask_validates():
    torch.manual_seed(0)
    m = MaskedRNN("gru", 4, H)
    x = torch.randn(2, 5, 4)
    dense = m(x)[0]
    assert m.density == 1.0
    with torch.no_grad():
        m.mask.copy_(torch.zeros_like(m.mask))  # written from outside, like dst_step does
    no_recurrence = m(x)[0]
    assert not torch.allclose(dense, no_recurrence)
    torch.testing.assert_close(no_recurrence, reference_layer(m)(x)[0])
    full = torch.zeros(3 * H, H)
    full[0, 1] = full[H + 2, 3] = full[2 * H + 2, 5] = 1  # one edge in each gate block, two rows share unit 2
    m.set_mask(full)
    assert torch.equal(m.mask, full) and int((m.weight != 0).sum()) <= 3
    expected = torch.zeros(H, H)
    expected[0, 1] = expected[2, 3] = expected[2, 5] = 1
    assert torch.equal(m.recurrent_graph(), expected)  # the union over the gate blocks
    with pytest.raises(ValueError, match="shape"):
        m.set_mask(torch.ones(H, H + 1))
    with pytest.raises(ValueError, match="0 or 1"):
        m.set_mask(torch.full((H, H), 0.5))


def test_watts_strogatz_recurrent_graph_and_degree():
    adj = graph_mask(H, "watts-strogatz", seed=3, self_loops=True, k=4, p=0.0)
    m = MaskedRNN("lstm", 4, H, adj)
    assert torch.equal(m.recurrent_graph(), adj)
    assert m.recurrent_graph().sum(1).tolist() == [5.0] * H  # k = 4 ring neighbours + the self loop
    assert int(m.mask.sum()) == 4 * H * 5


def test_model_masks_come_from_the_global_seed():
    torch.manual_seed(7)
    seed = int(torch.randint(0, 2**31 - 1, (1,)))  # the model's first draw
    torch.manual_seed(7)
    m = build_model("rnn", {"hidden": 20, "recurrence": "watts-strogatz", "ws_k": 6, "ws_p": 0.2}, SPEC)
    adj = graph_mask(20, "watts-strogatz", seed=seed, self_loops=True, k=6, p=0.2)
    assert torch.equal(m.rnn.recurrent_graph(), adj)
    assert int(adj.sum()) == 20 * 6 + 20 and torch.equal(adj, adj.T)  # rewiring keeps the edge count
    torch.manual_seed(7)
    again = build_model("rnn", {"hidden": 20, "recurrence": "watts-strogatz", "ws_k": 6, "ws_p": 0.2}, SPEC)
    torch.manual_seed(8)
    other = build_model("rnn", {"hidden": 20, "recurrence": "watts-strogatz", "ws_k": 6, "ws_p": 0.2}, SPEC)
    assert torch.equal(again.rnn.mask, m.rnn.mask) and not torch.equal(other.rnn.mask, m.rnn.mask)
    rnd = build_model("rnn", {"hidden": 20, "recurrence": "random", "density": 0.1, "self_loops": False}, SPEC)
    assert int(rnd.rnn.recurrent_graph().sum()) == round(0.1 * 400)
    ba = build_model("rnn", {"hidden": 20, "recurrence": "barabasi-albert", "ba_m": 3}, SPEC)
    assert (int(ba.rnn.recurrent_graph().sum()) - 20) // 2 == 3 * (20 - 3)
    assert build_model("rnn", {"hidden": 20}, SPEC).rnn.density == 1.0


@pytest.mark.parametrize("cell", CELLS)
def test_outputs_taps_and_parameters(cell):
    torch.manual_seed(0)
    m = build_model("rnn", {"cell": cell, "hidden": H, "embed": 5, "recurrence": "random"}, SPEC)
    x = tokens()
    acts = record(m, x)
    assert tap_names(m) == ["in", "hidden", "logits"]
    assert acts["in"].shape == (5, 10, 5) and acts["hidden"].shape == (5, 10, H) and acts["logits"].shape == (5, 3)
    torch.testing.assert_close(acts["logits"], m.readout(acts["hidden"][:, -1]))  # read out at the last step
    seq = build_model("rnn", {"cell": cell, "hidden": H}, ModelSpec(10, 6, vocab_size=6, per_position=True))
    assert seq(x).shape == (5, 10, 6)
    assert [n for n, _ in m.named_parameters()] == [
        "embed.weight", "rnn.layer.weight_ih_l0", "rnn.layer.bias_ih_l0", "rnn.layer.bias_hh_l0",
        "rnn.layer.parametrizations.weight_hh_l0.original", "readout.weight", "readout.bias"]
    assert [n for n, _ in masked_modules(m)] == ["rnn"] and m.rnn.weight is m.rnn.layer.parametrizations.weight_hh_l0.original


def test_state_dict_round_trip_keeps_the_mask():
    torch.manual_seed(0)
    a = build_model("rnn", {"hidden": H, "recurrence": "random"}, SPEC)
    b = build_model("rnn", {"hidden": H, "recurrence": "random"}, SPEC)
    assert not torch.equal(a.rnn.mask, b.rnn.mask)
    state = a.state_dict()
    assert "rnn.mask" in state and "rnn.layer.parametrizations.weight_hh_l0.original" in state
    b.load_state_dict(state)
    assert torch.equal(b.rnn.mask, a.rnn.mask)
    x = tokens()
    assert torch.equal(a(x), b(x))


def test_deepcopy_after_a_training_forward_and_dtype_conversion():
    torch.manual_seed(0)
    m = build_model("rnn", {"cell": "lstm", "hidden": H, "recurrence": "random"}, SPEC)
    x = tokens()
    m(x).sum().backward()  # the layer caches W * M with its graph: the copy must not trip on it
    c = copy.deepcopy(m)
    assert torch.equal(c(x), m(x))
    with torch.no_grad():
        c.rnn.mask.zero_()  # the copy's parametrization reads the copy's mask
    assert bool((c.rnn.effective_weight == 0).all()) and bool((m.rnn.effective_weight != 0).any())
    d = copy.deepcopy(m).double()
    assert d.rnn.mask.dtype == torch.float64 and d(x).dtype == torch.float64
    torch.testing.assert_close(d(x).float(), m(x), rtol=1e-5, atol=1e-5)


def test_dst_keeps_the_edge_count_and_the_forward_follows_the_new_mask():
    torch.manual_seed(0)
    m = build_model("rnn", {"hidden": H, "recurrence": "random", "density": 0.3}, SPEC)
    (name, module), = masked_modules(m)
    assert name == "rnn" and module is m.rnn
    edges, before = int(module.mask.sum()), module.mask.clone()
    stats = dst_step(module, "random", 0.2, seed=1)
    assert int(module.mask.sum()) == edges and stats["pruned"] == stats["grown"] == round(0.2 * edges) > 0
    assert not torch.equal(module.mask, before)
    assert bool((module.weight[module.mask == 0] == 0).all())
    assert bool((module.effective_weight[module.mask == 0] == 0).all())


def test_bad_params_and_float_inputs_are_rejected():
    for params, key in [({"ws_k": 3}, "model.ws_k"), ({"recurrence": "watts-strogatz", "hidden": 4, "ws_k": 4}, "model.ws_k"),
                        ({"recurrence": "barabasi-albert", "hidden": 3, "ba_m": 3}, "model.ba_m"),
                        ({"cell": "elman"}, "model.cell"), ({"hidden": 0}, "model.hidden")]:
        with pytest.raises(SchemaError) as err:
            build_model("rnn", params, SPEC)
        assert err.value.key == key
    build_model("rnn", {"hidden": 4, "ws_k": 4}, SPEC)  # ws_k only matters for watts-strogatz
    with pytest.raises(SchemaError, match="token sequences"):
        build_model("rnn", {}, ModelSpec(2, 2))
    assert {"rnn", "sparse", "sequence"} <= MODELS.get("rnn").tags
    assert all(info.description for info in MODELS.get("rnn").schema.model_fields.values())


@pytest.mark.parametrize("cell,label", [("gru", "GRU"), ("lstm", "LSTM"), ("rnn-tanh", "RNN")])
def test_diagram_draws_the_masked_layer_as_a_recurrent_box(cell, label):
    torch.manual_seed(0)
    m = build_model("rnn", {"cell": cell, "hidden": H, "recurrence": "erdos-renyi", "er_p": 0.3}, SPEC)
    d = extract(m, tokens())
    assert "(fx)" in d.title
    assert [o.label for o in d.ops_of("learned")] == [label, "L+"] and [o.label for o in d.ops_of("embed")] == ["E"]
    rec = d.ops_of("learned")[0]
    assert rec.module == "rnn.layer" and "recurrent over the sequence" in rec.detail
    assert [str(a) for a in rec.axes_out] == ["b 5", "s 10", f"h {H}"]
    assert sum(o.params for o in d.ops) == sum(p.numel() for p in m.parameters())
    assert f"{label} ↻" in to_dot(d)


def test_gru_learns_the_reber_grammar():
    run = Run(Config(task={"name": "reber", "n_train": 800, "n_test": 200},
                     model={"name": "rnn", "hidden": 16, "recurrence": "watts-strogatz"},
                     batch_size=64, steps=300, device="cpu"))
    run.train()
    assert run.final_metrics()["test_acc"] >= 0.9
    m = run.model.rnn
    assert bool((m.weight[m.mask == 0] == 0).all()) and m.density < 0.5
