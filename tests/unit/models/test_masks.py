import pytest
import torch
from torch import nn

from netarium.models import record
from netarium.models.masks import add_masks, reset_optimizer_state, sparsity
from netarium.models.mlp import TokenLinear
from netarium.models.pruning import magnitude_prune
from netarium.models.sparse import MaskedLinear
from netarium.training import Config, Run

SMALL = Config(task={"name": "moons", "n_samples": 200}, model={"name": "mlp", "hidden": [16, 16], "activation": ["relu"]},
               steps=20, eval_every=1000, device="cpu")
MASKED_ENTRIES = 2 * 16 + 16 * 16 + 16 * 2



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
