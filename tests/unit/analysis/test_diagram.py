"""The diagram model extracted from every registered model: ops, wires, axes, regions, collapse."""

import pytest
import torch
from torch import nn

from netarium.analysis.diagram import Diagram, TraceFailed, extract, record_leaf_calls
from netarium.analysis.diagram.extract import _fx_nodes
from netarium.models.base import MODELS, ModelSpec, build_model
from netarium.models.kan import KANLayer
from netarium.models.mlp import TokenLinear
from netarium.tasks import make_task

SPEC = ModelSpec(2, 2)
X = torch.randn(8, 2)


def n_linear(model: nn.Module) -> int:
    """Learned maps: a frozen one (the hourglass lift) is drawn, but not as a learned op."""
    return sum(isinstance(m, (nn.Linear, TokenLinear, nn.RNNBase, KANLayer, nn.Conv1d, nn.ConvTranspose1d))
               and any(p.requires_grad for p in m.parameters()) for m in model.modules())


TOKENS = torch.randint(0, 5, (8, 4), generator=torch.Generator().manual_seed(0))


def example(name: str) -> tuple[ModelSpec, torch.Tensor, str]:
    """A spec and an input each registered model accepts, and the label of the input wire: token
    models (attention, recurrent) read 4 tokens of a 5-token vocabulary, the others 2 features."""
    if {"attention", "rnn"} & set(MODELS.get(name).tags):
        return ModelSpec(4, 2, vocab_size=5), TOKENS, "t 4"
    if "grid-model" in MODELS.get(name).tags:  # a 1-D grid task's model (mgno, cnn1d): 2 channels of 7 points
        return GRID_SPEC, GRID_X, "m 14"
    if "timeseries" in MODELS.get(name).tags:  # ts-lstm, temporal-inception: 4 steps of 2 channels
        return ModelSpec(4, 2, channels=2), torch.randn(8, 4, 2, generator=torch.Generator().manual_seed(0)), "s 4 m 2"
    return SPEC, X, "m 2"


GRID_SPEC = ModelSpec(14, 7, grid_channels=2)
GRID_X = torch.randn(8, 14)


@pytest.mark.parametrize("name", MODELS.names())
def test_every_registered_model_has_a_diagram_with_its_learned_ops_and_axes(name):
    spec, x, first = example(name)
    model = build_model(name, {}, spec)
    d = extract(model, x)
    assert d.learned_count() == n_linear(model) >= 1
    assert len(d.ops_of("input")) == 1 and len(d.ops_of("output")) == 1
    assert len(d.wires) >= len(d.ops) - 1
    for w in d.wires:
        if w.axes[0].role == "batch":
            folded = 8 * model.S if name == "ts-lstm" else 8  # ts-lstm runs its S segments as rows of one batch
            assert w.axes[0].name == "b" and w.axes[0].size in (8, folded)
        else:  # only a learned tensor used by every sample (positions; NoProp's label embeddings, copied) has no batch axis
            src = d.op(w.src)
            assert src.label == "P" or (src.kind == "copy" and d.op(d.inputs_of(src.id)[0]).label == "P")
        assert w.label  # a feature axis besides the batch
    assert d.wires[0].label == first
    out_wire = next(w for w in d.wires if w.dst == d.ops_of("output")[0].id)
    assert out_wire.label == ("x 7" if spec is GRID_SPEC else "c 2")  # a grid model: one value per grid point
    assert sum(o.params for o in d.ops) == sum(p.numel() for p in model.parameters())
    numbered = [o.instance for o in d.ops_of("learned") if not o.instance.isalpha()]
    assert numbered == [str(i) for i in range(1, len(numbered) + 1)]


def test_mlp_axis_sizes_match_real_shapes():
    model = build_model("mlp", {"hidden": [5, 3]}, SPEC)
    d = extract(model, X)
    assert [w.label for w in d.wires] == ["m 2", "h 5", "h 5", "h 3", "h 3", "c 2"]
    assert [o.label for o in d.ops_of("learned")] == ["L+", "L+", "L+"]
    assert [o.label for o in d.ops_of("elementwise")] == ["tanh", "tanh"]
    assert d.ops_of("learned")[0].detail == "W1: 2 to 5"
    assert not d.ops_of("add") and not d.ops_of("copy") and not d.regions
    assert d.collapse() is d


def test_mlp_without_bias_and_one_output_regression_axis():
    model = build_model("mlp", {"hidden": [4], "bias": False, "activation": "relu"}, ModelSpec(3, 1))
    d = extract(model, torch.randn(5, 3))
    assert [o.label for o in d.ops_of("learned")] == ["L", "L"]
    assert [w.label for w in d.wires] == ["m 3", "h 4", "h 4", "y 1"]
    assert d.ops_of("elementwise")[0].label == "ReLU"


def test_softmax_head_and_axis_renames():
    d = extract(build_model("mlp", {"hidden": [4]}, SPEC), X, head="softmax", axis_names={"features": "x", "hidden": "n"})
    assert len(d.ops_of("softmax")) == 1 and d.ops_of("output")[0].label == "p(y | x)"
    assert [w.label for w in d.wires] == ["x 2", "n 4", "n 4", "c 2", "c 2"]


def test_token_inputs_name_the_token_axis():
    task = make_task("modular", {"M": 7})
    model = build_model("mlp", {"hidden": [6]}, ModelSpec.for_task(task))
    d = extract(model, task.X_train[:4])
    assert d.wires[0].label == "t 2" and d.wires[0].axes[1].role == "tokens"
    assert d.learned_count() == n_linear(model) == 2
    assert d.wires[-1].label == "c 7"


def test_residual_mlp_has_adds_copies_and_regions_per_block():
    model = build_model("residual-mlp", {"blocks": 3, "width": 16, "hidden": 24}, SPEC)
    d = extract(model, X)
    assert len(d.ops_of("add")) == 3 and len(d.ops_of("copy")) == 3 and len(d.regions) == 3
    assert [r.label for r in d.regions] == [f"residual branch · block{i}" for i in (1, 2, 3)]
    assert d.learned_count() == 8 == n_linear(model)
    assert len(d.ops_of("norm")) == 4 and d.ops_of("norm")[0].params == 32
    region = d.regions[1]
    assert [d.op(i).kind for i in region.ops] == ["norm", "learned", "elementwise", "learned"]
    labels = {w.label for w in d.wires}
    assert {"m 2", "d 16", "h 24", "c 2"} == labels
    for add in d.ops_of("add"):  # one input from the copy (the skip), one from the branch
        kinds = sorted(d.op(s).kind for s in d.inputs_of(add.id))
        assert kinds == ["copy", "learned"]
    assert len(d.blocks()) == 3


def test_collapse_repeated_blocks_into_one_component_and_expand_back():
    d = extract(build_model("residual-mlp", {"blocks": 3}, SPEC), X)
    c = d.collapse()
    assert len(c.components) == 1 and c.components[0].repeat == 3
    comp = c.ops_of("component")[0]
    assert comp.label == "Block ×3"
    assert len(c.ops) == len(d.ops) - 3 * 6 + 1 and not c.regions
    assert c.learned_count() == d.learned_count() == 8
    assert c.parameter_count() == d.parameter_count()
    assert c.inputs_of(comp.id) == ["embed"] and c.outputs_of(comp.id) == ["final_norm"]
    ids = {o.id for o in c.ops}
    assert all(w.src in ids and w.dst in ids for w in c.wires)
    assert c.expand() == d
    assert d.collapsed(2) == d and d.collapsed(1) == c
    every = d.collapsed(0)
    assert len(every.components) == 1  # the three identical blocks are one run already
    single = extract(build_model("residual-mlp", {"blocks": 1}, SPEC), X)
    assert single.collapse() is single
    assert single.collapsed(0).components[0].repeat == 1 and single.collapsed(0).ops_of("component")[0].label == "Block"


def test_with_batch_size_relabels_the_batch_axis():
    d = extract(build_model("mlp", {}, SPEC), X).with_batch_size(500)
    assert {w.axes[0].size for w in d.wires} == {500}


class Branchy(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(2, 6), nn.Linear(6, 6), nn.Linear(6, 3)
        self.act = nn.ReLU()

    def forward(self, x):
        h = self.act(self.a(x))
        if h.sum() > -1e9:
            h = self.b(h)
        return self.c(h)


def test_fx_failure_falls_back_to_the_hook_recorder():
    model = Branchy()
    with pytest.raises(TraceFailed):
        _fx_nodes(model, X)
    calls = record_leaf_calls(model, X)
    assert [c.name for c in calls] == ["a", "act", "b", "c"]
    assert calls[0].out_shape == (8, 6)
    d = extract(model, X)
    assert isinstance(d, Diagram) and "hooks" in d.title
    assert d.learned_count() == 3
    assert [w.label for w in d.wires] == ["m 2", "h 6", "h 6", "h 6", "c 3"]


class Recurrent(nn.Module):
    """A GRU read out at the last position: a tuple output and a tensor index."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 12, batch_first=True)
        self.readout = nn.Linear(12, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.readout(out[:, -1])


def test_recurrent_layer_is_a_learned_box_with_a_loop_and_the_last_position_is_indexed():
    from netarium.analysis.diagram import diagram_overlay
    from netarium.viz.ncd import to_dot

    model = Recurrent()
    x = torch.randn(8, 5, 3)
    d = extract(model, x)
    assert "(fx)" in d.title and d.learned_count() == 2
    rnn = d.ops_of("learned")[0]
    assert rnn.label == "GRU" and "recurrent over the sequence" in rnn.detail
    assert [str(a) for a in rnn.axes_out] == ["b 8", "s 5", "h 12"] and rnn.params == sum(p.numel() for p in model.rnn.parameters())
    (index,) = d.ops_of("reshape")
    assert index.label == "index" and [str(a) for a in index.axes_out] == ["b 8", "h 12"]
    assert not d.ops_of("copy")  # the unused final state is not drawn
    assert "GRU ↻" in to_dot(d)
    ov = diagram_overlay(model, d, x, torch.zeros(8, dtype=torch.long), nn.CrossEntropyLoss())
    assert ov.stats[rnn.id].weight_norm == pytest.approx(float(model.rnn.weight_ih_l0.detach().norm()))


def test_a_model_declares_its_axis_names_and_the_caller_overrides_them():
    model = build_model("mlp", {"hidden": [4]}, SPEC)
    model.axis_names = {"hidden": "n", "features": "x"}
    assert [w.label for w in extract(model, X).wires] == ["x 2", "n 4", "n 4", "c 2"]
    assert [w.label for w in extract(model, X, axis_names={"hidden": "u"}).wires] == ["x 2", "u 4", "u 4", "c 2"]


def test_transformer_diagram_from_the_registry_follows_the_attention_grammar():
    spec = ModelSpec(6, 9, vocab_size=9, per_position=True)
    model = build_model("transformer", {"layers": 2, "d_model": 16, "heads": 2, "positions": "sinusoidal"}, spec)
    d = extract(model, torch.randint(0, 9, (3, 6)))
    assert "(fx)" in d.title
    assert [o.instance for o in d.ops_of("learned")][:4] == ["Q", "K", "V", "O"]
    pos = next(o for o in d.ops if o.label == "P")
    assert pos.kind == "constant" and pos.params == 0 and [str(a) for a in pos.axes_out] == ["s 6", "d 16"]
    assert [r.label for r in d.regions] == [f"residual branch · {p} · block{i}" for i in (1, 2) for p in ("attention", "MLP")]
    assert {o.detail for o in d.ops_of("contract")} == {"contraction over k", "contraction over s'"}
    assert len(d.ops_of("mask")) == 2 and all(o.label == "1/√k" for o in d.ops_of("scale"))
    out = next(w for w in d.wires if w.dst == d.ops_of("output")[0].id)
    assert out.label == "s 6 c 9"  # a class per position
    assert d.collapse().components[0].repeat == 2
