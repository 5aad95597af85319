import math

import pytest
import torch
from torch import nn

from netarium.experiments.iterative_pruning import iterative_pruning
from netarium.models.masks import pruning_layers
from netarium.training import Config, Run

SMALL = Config(task={"name": "moons", "n_samples": 200}, model={"name": "mlp", "hidden": [16, 16], "activation": ["relu"]},
               steps=20, eval_every=1000, device="cpu")
MASKED_ENTRIES = 2 * 16 + 16 * 16 + 16 * 2



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


def test_iterative_pruning_with_ap_keeps_the_schedule_and_spends_part_of_it_on_ap():
    plain = iterative_pruning(SMALL, rounds=2, fraction_per_round=0.2, steps_per_round=10)
    res = iterative_pruning(SMALL, rounds=2, fraction_per_round=0.2, steps_per_round=10, ap=True, ap_rate=0.05)
    assert res.series("edges") == plain.series("edges")
    assert res.series("ap_pruned") == [0, round(0.05 * MASKED_ENTRIES), round(0.05 * plain.rounds[1]["edges"])]
    targeted = iterative_pruning(SMALL, rounds=1, fraction_per_round=0.2, steps_per_round=10, ap=True,
                                 ap_units=0.5, ap_threshold=0.0)
    assert targeted.rounds[1]["ap_pruned"] > 0 and targeted.series("edges") == plain.series("edges")[:2]
    assert not math.isnan(targeted.rounds[1]["dnr"])
