import math

import pytest
import torch
from torch import nn

from netarium.models import record
from netarium.models.mlp import TokenLinear
from netarium.models.sparse import MaskedLinear
from netarium.training import Config, Run
from netarium.training.prune import (
    add_masks,
    ap_prune,
    iterative_pruning,
    magnitude_prune,
    most_dead_units,
    pruning_layers,
    relu_dead_rate,
    relu_layers,
    reset_optimizer_state,
    sparsity,
    static_dead_units,
    unit_dead_rates,
)

SMALL = Config(task={"name": "moons", "n_samples": 200}, model={"name": "mlp", "hidden": [16, 16], "activation": ["relu"]},
               steps=20, eval_every=1000, device="cpu")
MASKED_ENTRIES = 2 * 16 + 16 * 16 + 16 * 2


def two_layer(w0, w1, b0=None, b1=None) -> nn.Sequential:
    """A masked Linear -> ReLU -> Linear with the given weights (biases zero unless given)."""
    w0, w1 = torch.tensor(w0), torch.tensor(w1)
    model = nn.Sequential(nn.Linear(w0.shape[1], w0.shape[0]), nn.ReLU(), nn.Linear(w1.shape[1], w1.shape[0]))
    with torch.no_grad():
        model[0].weight.copy_(w0)
        model[2].weight.copy_(w1)
        model[0].bias.copy_(torch.zeros(w0.shape[0]) if b0 is None else torch.tensor(b0))
        model[2].bias.copy_(torch.zeros(w1.shape[0]) if b1 is None else torch.tensor(b1))
    add_masks(model)
    return model


# --- add_masks -------------------------------------------------------------------------------------


def test_add_masks_keeps_outputs_names_and_parameter_objects():
    run = Run(SMALL)
    x = run.task.X_test
    before_out = run.model(x).detach()
    before_keys = set(run.model.state_dict())
    params = {name: p for name, p in run.model.named_parameters()}
    rng = torch.get_rng_state()
    names = add_masks(run.model)
    assert names == ["layers.0.linear", "layers.1.linear", "readout"]
    assert torch.equal(rng, torch.get_rng_state())  # no random draw for the discarded weights
    assert all(isinstance(run.model.get_submodule(n), MaskedLinear) for n in names)
    assert torch.equal(run.model(x), before_out)
    assert set(run.model.state_dict()) == before_keys | {f"{n}.mask" for n in names}
    assert all(p is params[name] for name, p in run.model.named_parameters())
    assert set(record(run.model, x)) == {"in", "layer1.pre", "layer1.post", "layer2.pre", "layer2.post", "logits"}
    assert add_masks(run.model) == []  # idempotent


def test_add_masks_skips_subclasses_and_optionally_the_readout():
    model = nn.Sequential(TokenLinear(5, 3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    assert add_masks(model, include_readout=False) == ["2"]
    assert type(model[0]) is TokenLinear and type(model[4]) is nn.Linear
    assert add_masks(model) == ["4"]
    with pytest.raises(ValueError):
        add_masks(nn.Linear(2, 2))


def test_a_run_trained_after_add_masks_updates_the_weights():
    run = Run(SMALL)
    add_masks(run.model)
    run.rescan_masks()
    assert len(run.masked) == 3
    opt_params = {id(p) for g in run.optimizer.param_groups for p in g["params"]}
    assert opt_params == {id(p) for p in run.model.parameters()}
    w0 = run.model.layers[1].linear.weight.detach().clone()
    run.step(5)
    assert not torch.equal(w0, run.model.layers[1].linear.weight)


# --- magnitude pruning -----------------------------------------------------------------------------

W0 = [[0.1, -0.5, 0.9], [0.3, -0.05, 0.7]]
W1 = [[0.02, -0.03], [0.04, 0.5]]


def test_global_pruning_uses_one_threshold_across_layers():
    model = two_layer(W0, W1)
    stats = magnitude_prune(model, 0.3)  # 3 of 10 edges: 0.02, 0.03, 0.04, all in the second layer
    assert model[0].mask.tolist() == [[1, 1, 1], [1, 1, 1]]
    assert model[2].mask.tolist() == [[0, 0], [0, 1]]
    assert stats["pruned"] == 3 and stats["edges"] == 7 and stats["sparsity"] == pytest.approx(0.3)
    assert stats["threshold"] == pytest.approx(0.04)
    assert [(r["name"], r["before"], r["after"]) for r in stats["layers"]] == [("0", 6, 6), ("2", 4, 1)]
    assert model[2].weight.tolist() == [[0.0, 0.0], [0.0, 0.5]]
    # the fraction is of the edges still active: 0.3 of 7 = 2 more, the smallest being 0.05 and 0.1
    stats = magnitude_prune(model, 0.3)
    assert stats["pruned"] == 2
    assert model[0].mask.tolist() == [[0, 1, 1], [1, 0, 1]]
    assert model[0].weight[0, 0] == 0 and model[0].weight[1, 1] == 0


def test_per_layer_pruning_takes_the_fraction_in_each_layer():
    model = two_layer(W0, W1)
    stats = magnitude_prune(model, 0.3, scope="layer")  # round(1.8) = 2 in layer 0, round(1.2) = 1 in layer 2
    assert model[0].mask.tolist() == [[0, 1, 1], [1, 0, 1]]
    assert model[2].mask.tolist() == [[0, 1], [1, 1]]
    assert stats["pruned"] == 3


def test_pruning_ties_go_to_the_earlier_layer_then_the_lower_index_and_readout_can_be_left_out():
    model = two_layer([[0.5, 0.5], [0.5, 1.0]], [[0.5, 0.5]])
    magnitude_prune(model, 0.5)  # 3 of 6 edges, five of them tied at 0.5
    assert model[0].mask.tolist() == [[0, 0], [0, 1]] and model[2].mask.tolist() == [[1, 1]]
    model = two_layer([[0.5, 0.5], [0.5, 1.0]], [[0.1, 0.2]])
    stats = magnitude_prune(model, 0.5, include_readout=False)  # the readout's small weights are kept
    assert [r["name"] for r in stats["layers"]] == ["0"]
    assert model[0].mask.tolist() == [[0, 0], [1, 1]] and model[2].mask.tolist() == [[1, 1]]
    assert [n for n, _ in pruning_layers(model, include_readout=False)] == ["0"]


def test_pruned_weights_stay_zero_under_adam_and_get_no_gradient():
    run = Run(SMALL)
    add_masks(run.model)
    run.rescan_masks()
    run.step(10)  # Adam has moments for every weight now
    magnitude_prune(run.model, 0.5, optimizer=run.optimizer)
    for m in run.masked:
        off = m.mask == 0
        state = run.optimizer.state[m.weight]
        assert torch.all(state["exp_avg"][off] == 0) and torch.all(state["exp_avg_sq"][off] == 0)
    run.step(20)
    x, y = run.next_batch()
    run.optimizer.zero_grad()
    run.loss(run.model(x), y).backward()
    for m in run.masked:
        off = m.mask == 0
        assert int(off.sum()) > 0
        assert torch.all(m.weight[off] == 0) and torch.all(m.weight.grad[off] == 0)
    assert sparsity(run.model) == pytest.approx(0.5, abs=1 / MASKED_ENTRIES)


def test_reset_optimizer_state_zeroes_momentum_of_sgd():
    lin = nn.Linear(3, 2)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    lin(torch.ones(4, 3)).sum().backward()
    opt.step()
    where = torch.tensor([[True, False, False], [False, False, True]])
    reset_optimizer_state(opt, lin.weight, where)
    buf = opt.state[lin.weight]["momentum_buffer"]
    assert torch.all(buf[where] == 0) and torch.all(buf[~where] != 0)


# --- dead-neuron rate ------------------------------------------------------------------------------


def test_relu_dead_rate_matches_the_post_activation_taps():
    run = Run(SMALL).train()
    assert [r.name for r in relu_layers(run.model)] == ["layers.0.linear", "layers.1.linear"]
    x = run.task.X_train
    taps = record(run.model, x, ["layer1.post", "layer2.post"])
    pooled = torch.cat([t for t in taps.values()], dim=1)
    out = relu_dead_rate(run)
    assert out["dnr"] == pytest.approx(float((pooled == 0).float().mean()))
    assert out["layers"]["layers.1.linear"] == pytest.approx(float((taps["layer2.post"] == 0).float().mean()))
    assert out["dead_units"] == int((pooled == 0).all(0).sum()) and out["units"] == 32
    with pytest.raises(ValueError):
        relu_dead_rate(run.model)


def test_static_dead_units_counts_relu_units_without_inputs():
    model = two_layer([[0.0, 0.0], [0.5, 1.0]], [[0.5, 0.5]])
    assert static_dead_units(model) == 1


# --- iterative pruning -----------------------------------------------------------------------------

KEYS = {"round", "step", "sparsity", "edges", "train_acc", "test_acc", "train_loss", "test_loss", "dnr", "dnr_layers",
        "dead_units", "static_dead_units", "units", "pruned", "ap_pruned", "pruned_test_acc", "seconds"}


def test_iterative_pruning_follows_the_geometric_schedule_and_records_every_round():
    seen = []
    res = iterative_pruning(SMALL, rounds=3, fraction_per_round=0.2, steps_per_round=10,
                            measure=lambda run: {"norm": float(run.model.readout.weight.detach().norm())},
                            progress=lambda r, n: seen.append((r, n)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert [r["round"] for r in res.rounds] == [0, 1, 2, 3]
    assert [r["step"] for r in res.rounds] == [20, 30, 40, 50]
    for r, rec in enumerate(res.rounds):
        assert KEYS | {"norm"} <= set(rec)
        assert abs(rec["sparsity"] - (1 - 0.8**r)) <= r / MASKED_ENTRIES
        assert 0.0 <= rec["dnr"] <= 1.0
    assert res.rounds[0]["pruned_test_acc"] is None and res.rounds[0]["sparsity"] == 0.0
    assert res.series("edges")[-1] == MASKED_ENTRIES - sum(res.series("pruned"))
    again = iterative_pruning(SMALL, rounds=3, fraction_per_round=0.2, steps_per_round=10)
    def strip(result):
        return [{k: v for k, v in rec.items() if k not in ("seconds", "norm")} for rec in result.rounds]

    assert strip(res) == strip(again)


@pytest.mark.parametrize("rewind_step", [0, 5])
def test_rewind_sets_the_survivors_back_to_their_early_values(rewind_step):
    res = iterative_pruning(SMALL, rounds=2, fraction_per_round=0.3, steps_per_round=0, mode="rewind",
                            rewind_step=rewind_step)
    early = Run(SMALL)
    if rewind_step:
        early.train(rewind_step)
    model = res.run.model
    for name, p in early.model.named_parameters():
        mine = model.get_parameter(name)
        if name.endswith("weight"):
            mask = model.get_submodule(name.rsplit(".", 1)[0]).mask
            assert torch.equal(mine, p * mask)
            assert int((mask == 0).sum()) > 0
        else:
            assert torch.equal(mine, p)
    assert res.run.optimizer.state == {}  # restarted, and no step taken since


def test_per_layer_scope_prunes_each_layer_by_the_fraction():
    res = iterative_pruning(SMALL, rounds=1, fraction_per_round=0.25, steps_per_round=5, scope="layer",
                            include_readout=False)
    layers = pruning_layers(res.run.model, include_readout=False)
    assert [n for n, _ in layers] == ["layers.0.linear", "layers.1.linear"]
    assert [int(m.mask.sum()) for _, m in layers] == [24, 192]
    assert type(res.run.model.readout) is nn.Linear  # left dense, unmasked


# --- AP --------------------------------------------------------------------------------------------


def test_ap_prunes_the_stagnant_negative_weights_and_lowers_those_units_dead_rate():
    torch.manual_seed(0)
    X = torch.rand(400, 2)  # nonnegative inputs, like the pixels of digits
    # unit 0 fires when x0 > 1.5 x1 (about 1/3 of the time); unit 1 when x0 > 0.2 x1; unit 2 always
    model = two_layer([[1.0, -1.5], [1.0, -0.2], [0.5, 0.5]], [[1.0, 1.0, 1.0]])
    reference = {name: p.detach().clone() for name, p in model.named_parameters()}
    with torch.no_grad():
        reference["0.weight"][1, 1] = 0.3  # w[1, 1] moved a lot in the last phase, w[0, 1] not at all
    before = unit_dead_rates(model, X)["0"]
    assert before[0] > 0.5 and before[1] > 0.05 and before[2] == 0
    out = ap_prune(model, 1, reference)
    assert out["pruned"] == 1 and out["layers"] == {"0": 1} and out["units"]["0"].tolist() == [0]
    assert model[0].mask.tolist() == [[1, 0], [1, 1], [1, 1]] and model[0].weight[0, 1] == 0
    after = unit_dead_rates(model, X)["0"]
    assert after[0] < 0.01 < before[0]  # the reactivated unit fires on (almost) every input now
    assert torch.equal(after[1:], before[1:])
    assert relu_dead_rate(model, X)["dnr"] < float(before.mean())


def test_ap_can_be_restricted_to_the_most_dead_units():
    rates = {"a": torch.tensor([0.9, 0.2, 0.6]), "b": torch.tensor([0.95, 0.4])}
    assert {k: v.tolist() for k, v in most_dead_units(rates, 0.4).items()} == {"a": [0], "b": [0]}
    assert {k: v.tolist() for k, v in most_dead_units(rates, 0.6, threshold=0.5).items()} == {"a": [0, 2], "b": [0]}
    model = two_layer([[1.0, -1.5], [1.0, -0.2]], [[1.0, 1.0]])
    reference = {name: p.detach().clone() for name, p in model.named_parameters()}
    out = ap_prune(model, 2, reference, units={"0": torch.tensor([1])})  # unit 1 only: one candidate
    assert out["pruned"] == 1 and model[0].mask.tolist() == [[1, 1], [1, 0]]


def test_iterative_pruning_with_ap_keeps_the_schedule_and_spends_part_of_it_on_ap():
    plain = iterative_pruning(SMALL, rounds=2, fraction_per_round=0.2, steps_per_round=10)
    res = iterative_pruning(SMALL, rounds=2, fraction_per_round=0.2, steps_per_round=10, ap=True, ap_rate=0.05)
    assert res.series("edges") == plain.series("edges")
    assert res.series("ap_pruned") == [0, round(0.05 * MASKED_ENTRIES), round(0.05 * plain.rounds[1]["edges"])]
    targeted = iterative_pruning(SMALL, rounds=1, fraction_per_round=0.2, steps_per_round=10, ap=True,
                                 ap_units=0.5, ap_threshold=0.0)
    assert targeted.rounds[1]["ap_pruned"] > 0 and targeted.series("edges") == plain.series("edges")[:2]
    assert not math.isnan(targeted.rounds[1]["dnr"])
