"""The hook mechanism: tap_hooks reads and replaces taps by name, forward_hooks watches any module,
both clean up; hidden_taps and relu_layers name the hidden layers of every model family."""

import pytest
import torch
from torch import nn

from netarium.models import ModelSpec, build_model
from netarium.models.taps import forward_hooks, hidden_taps, record, relu_layers, tap_hooks

X = torch.randn(7, 3, generator=torch.Generator().manual_seed(0))


def mlp(**params) -> nn.Module:
    torch.manual_seed(0)
    return build_model("mlp", {"hidden": [5, 4], "activation": ["relu"], **params}, ModelSpec(3, 2))


def hooked(model: nn.Module) -> int:
    """Forward hooks left on any module of the model."""
    return sum(len(m._forward_hooks) for m in model.modules())


def test_read_by_names_records_the_values_record_gives():
    m = mlp()
    with tap_hooks(m, read=["layer1.post", "logits"]) as recorded:
        out = m(X)
    expected = record(m, X, ["layer1.post", "logits"])
    assert list(recorded) == ["layer1.post", "logits"]
    assert torch.equal(recorded["layer1.post"], expected["layer1.post"])
    assert torch.equal(recorded["logits"], out.detach()) and not recorded["logits"].requires_grad
    assert hooked(m) == 0


def test_read_by_callbacks_sees_every_call_and_detach_false_keeps_the_graph():
    m = mlp()
    seen: list[torch.Tensor] = []
    with tap_hooks(m, read={"layer2.pre": seen.append}, detach=False) as recorded:
        m(X)
        m(X[:2])
    assert recorded == {}  # callbacks instead of the dict
    assert [tuple(t.shape) for t in seen] == [(7, 4), (2, 4)] and seen[0].requires_grad


def test_replace_changes_downstream_outputs_exactly_as_by_hand():
    m = mlp()
    keep = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])  # ablate units 1 and 4 of the first hidden layer
    with tap_hooks(m, read=["layer1.post"], replace={"layer1.post": lambda h: h * keep}) as recorded:
        out = m(X)
    with torch.no_grad():
        h1 = torch.relu(m.layers[0].linear(X)) * keep
        h2 = torch.relu(m.layers[1].linear(h1))
        by_hand = m.readout(h2)
    assert torch.equal(out.detach(), by_hand)
    assert torch.equal(recorded["layer1.post"], h1)  # a reader of the replaced tap sees the new value
    assert torch.equal(recorded["layer1.post"][:, 1], torch.zeros(7))
    assert not torch.equal(m(X).detach(), by_hand)  # removed on exit: the model is itself again


def test_hooks_are_removed_when_the_block_raises():
    m = mlp()
    with pytest.raises(RuntimeError, match="boom"):
        with tap_hooks(m, read=["layer1.post"], replace={"logits": torch.zeros_like}):
            assert hooked(m) == 2
            raise RuntimeError("boom")
    assert hooked(m) == 0
    with pytest.raises(RuntimeError, match="boom"):
        with forward_hooks([(m.layers[0].act, lambda *_: None), (m.readout, lambda *_: None)]):
            assert hooked(m) == 2
            raise RuntimeError("boom")
    assert hooked(m) == 0


def test_unknown_tap_names_raise_keyerror_naming_the_available_ones():
    m = mlp()
    with pytest.raises(KeyError, match=r"layer9\.post.*layer1\.post"):
        with tap_hooks(m, read=["layer9.post"]):
            pass
    with pytest.raises(KeyError, match="nope"):
        with tap_hooks(m, replace={"nope": torch.zeros_like}):
            pass
    assert hooked(m) == 0


def test_forward_hooks_can_replace_a_non_tap_module_output():
    m = mlp()
    with forward_hooks([(m.layers[1].act, lambda _m, _i, out: torch.zeros_like(out))]):
        out = m(X)
    assert torch.allclose(out, m.readout.bias.expand(7, 2))


def test_hidden_taps_of_every_model_family():
    spec = ModelSpec(3, 2)
    assert hidden_taps(mlp()) == ["layer1.post", "layer2.post"]
    assert hidden_taps(build_model("mlp", {"hidden": []}, spec)) == []
    res = build_model("residual-mlp", {"width": 8, "blocks": 3, "hidden": 16}, spec)
    assert hidden_taps(res) == ["block1.resid_post", "block2.resid_post", "block3.resid_post"]
    sparse = build_model("sparse-mlp", {"hidden": [8, 8, 8]}, spec)
    assert hidden_taps(sparse) == ["layer1.post", "layer2.post", "layer3.post"]
    tf = build_model("transformer", {"layers": 2, "d_model": 16, "heads": 4}, ModelSpec(6, 11, vocab_size=11, per_position=True))
    assert hidden_taps(tf) == ["block1.resid_post", "block2.resid_post"]


def test_relu_layers_pair_each_relu_tap_with_the_linear_feeding_it():
    assert [(r.name, r.tap) for r in relu_layers(mlp())] == [("layers.0.linear", "layer1.post"),
                                                            ("layers.1.linear", "layer2.post")]
    assert relu_layers(mlp(activation=["tanh"])) == []
    m = mlp()
    assert all(r.linear is m.get_submodule(r.name) for r in relu_layers(m))
    tf = build_model("transformer", {"layers": 1, "d_model": 8, "heads": 2}, ModelSpec(4, 5, vocab_size=5))
    assert [(r.name, r.tap) for r in relu_layers(tf)] == [("blocks.0.fc_in", "block1.hidden")]  # its MLP's ReLU
