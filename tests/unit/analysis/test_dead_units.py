import numpy as np
import pytest
import torch

from netarium.analysis.dead_units import (
    dnr,
    dynamic_dead_units,
    relu_dead_rate,
    static_dead_count,
    static_dead_units,
    unit_dead_rates,
)
from netarium.models import ModelSpec, build_model, record
from netarium.models.taps import relu_layers
from netarium.training import Config, Run
from netarium.training.run import EVAL_CAP

SMALL = Config(task={"name": "moons", "n_samples": 200}, model={"name": "mlp", "hidden": [16, 16], "activation": ["relu"]},
               steps=20, eval_every=1000, device="cpu")


def test_static_dead_units_are_rows_without_an_active_weight():
    W = torch.tensor([[0.0, 0.0, 0.0], [0.3, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, -1.0, 2.0]])
    assert static_dead_units(W) == [0, 2]
    assert static_dead_units(W, atol=0.5) == [0, 1, 2]


def test_dynamic_dead_units_and_dnr_match_a_hand_count():
    acts = np.array([
        [0.0, 1.0, 0.0, 0.0, 2.0],
        [0.0, 0.0, 0.0, 3.0, 0.0],
        [0.0, 0.5, 1e-8, 0.0, 0.0],
    ])
    assert dynamic_dead_units(acts) == [0, 2]
    assert dnr(acts) == pytest.approx(2 / 5)
    assert dnr(torch.tensor(acts)) == pytest.approx(2 / 5)
    assert dnr(acts, per="pair") == pytest.approx(11 / 15)  # 4 nonzero entries of 15
    with pytest.raises(ValueError):
        dnr(acts, per="batch")


def test_dynamic_dead_units_are_the_columns_within_atol_everywhere():
    rng = np.random.default_rng(0)
    A = np.maximum(rng.normal(size=(200, 4)), 0.0)
    A[:, 1] = 0.0
    A[:, 3] = 1e-8  # below the default atol
    A[5, 0] = 0.0
    assert dynamic_dead_units(A) == [1, 3]
    assert dynamic_dead_units(A, atol=1e-9) == [1]
    assert dynamic_dead_units(torch.tensor(A)) == [1, 3]


def test_relu_dead_rate_matches_the_post_activation_taps():
    run = Run(SMALL).train()
    assert [r.name for r in relu_layers(run.model)] == ["layers.0.linear", "layers.1.linear"]
    x = run.task.X_train
    taps = record(run.model, x, ["layer1.post", "layer2.post"])
    pooled = torch.cat([t for t in taps.values()], dim=1)
    out = relu_dead_rate(run.model, x[:EVAL_CAP])
    assert out["dnr"] == pytest.approx(float((pooled == 0).float().mean()))
    assert out["layers"]["layers.1.linear"] == pytest.approx(float((taps["layer2.post"] == 0).float().mean()))
    assert out["dead_units"] == int((pooled == 0).all(0).sum()) and out["units"] == 32


def test_static_dead_count_counts_relu_units_without_inputs(relu_mlp):
    model = relu_mlp([[0.0, 0.0], [0.5, 1.0]], [[0.5, 0.5]])
    assert static_dead_count(model) == 1
    with torch.no_grad():
        model.layers[0].linear.mask[1, 0] = 0  # unit 1 keeps one input
    assert static_dead_count(model) == 1


def test_dead_rates_of_a_residual_mlp_read_each_blocks_relu_tap():
    torch.manual_seed(0)
    model = build_model("residual-mlp", {"width": 6, "blocks": 2, "hidden": 5}, ModelSpec(3, 2))
    x = torch.randn(64, 3)
    assert [(r.name, r.tap) for r in relu_layers(model)] == [("blocks.0.fc_in", "block1.hidden"),
                                                           ("blocks.1.fc_in", "block2.hidden")]
    taps = record(model, x, ["block1.hidden", "block2.hidden"])
    rates = unit_dead_rates(model, x)
    for name, tap in (("blocks.0.fc_in", "block1.hidden"), ("blocks.1.fc_in", "block2.hidden")):
        assert torch.equal(rates[name], (taps[tap] <= 0).double().mean(0))
    assert relu_dead_rate(model, x)["units"] == 10


def test_a_model_without_relu_taps_has_no_dead_rate():
    tanh = build_model("mlp", {"hidden": [4], "activation": ["tanh"]}, ModelSpec(3, 2))
    out = relu_dead_rate(tanh, torch.randn(8, 3))
    assert out["units"] == 0 and out["layers"] == {} and np.isnan(out["dnr"])
