"""The cost model and the budgets: estimates that match what a real run allocates, refusals before
anything is built, and the ledger of a server's sessions."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest
import torch

from netarium.experiments import EXPERIMENTS
from netarium.models import parameter_count
from netarium.training.budget import (
    CLI_MEMORY,
    MB,
    SERVER_MEMORY,
    SESSION_GFLOP,
    SESSION_MEMORY,
    BudgetError,
    Cost,
    Ledger,
    check_cli,
    estimate,
    estimate_all,
    limit,
)
from netarium.training.live import LiveRun
from netarium.training.run import Run

PLAYGROUND = EXPERIMENTS.get("playground").config
LARGEST_RESIDUAL = {"model.name": "residual-mlp", "model.width": 1024, "model.blocks": 32, "model.hidden": 4096}


def tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


@pytest.mark.parametrize(("experiment", "overrides"), [
    ("playground", {}),
    ("playground", {"model.hidden": [64, 32], "optimizer.name": "adam"}),
    ("deep-vs-shallow", {}),
    ("residual-depth", {}),
    ("g2g-sparse", {}),
    ("rnn-sparsity", {"optimizer.name": "sgd", "optimizer.momentum": 0.9}),
])
def test_the_estimate_counts_what_a_real_run_allocates(experiment, overrides):
    config = EXPERIMENTS.get(experiment).config.with_overrides(overrides)
    cost = estimate(config)
    run = Run(config)
    assert cost.parameters == parameter_count(run.model)
    assert cost.parts["parameters"] == tensor_bytes([*run.model.parameters(), *run.model.buffers()])
    run.step(2)  # the optimizer's state exists after a step
    state = [v for s in run.optimizer.state.values() for v in s.values() if isinstance(v, torch.Tensor) and v.dim() > 0]
    assert cost.parts["optimizer state"] == tensor_bytes(state)
    assert cost.parts["data"] == tensor_bytes(t for t in vars(run.task).values() if isinstance(t, torch.Tensor))
    # a training step keeps at least its gradients alive
    assert cost.parts["training step"] >= tensor_bytes(run.model.parameters())
    assert cost.step_flops > 0


def test_the_estimate_grows_with_the_model_and_the_batch_and_leaves_the_rng_alone():
    torch.manual_seed(5)
    before = torch.rand(3)
    torch.manual_seed(5)
    small = estimate(PLAYGROUND.with_overrides({"model.hidden": [8, 8]}))
    after = torch.rand(3)
    assert torch.equal(before, after)  # building on the meta device drew nothing from the global RNG
    wide = estimate(PLAYGROUND.with_overrides({"model.hidden": [256, 256], "batch_size": 250}))
    assert wide.parameters > small.parameters and wide.bytes > small.bytes and wide.step_flops > small.step_flops
    # a linear layer's forward is 2*n*in*out FLOPs and its backward twice that: the wide net's middle layer dominates
    assert wide.step_flops >= 6 * 250 * 256 * 256
    half = estimate(PLAYGROUND.with_overrides({"model.hidden": [256, 256], "batch_size": 100}))
    assert half.parts["training step"] < wide.parts["training step"] and half.step_flops < wide.step_flops


def test_estimate_all_counts_seeds_once_per_shape_and_every_member():
    configs = [PLAYGROUND.with_overrides({"seed": s}) for s in range(4)]
    one = estimate(PLAYGROUND)
    four = estimate_all(configs)
    assert four.bytes == 4 * one.bytes and four.flops == pytest.approx(4 * one.flops)
    mixed = estimate_all([PLAYGROUND, PLAYGROUND.with_overrides({"model.hidden": [32]})])
    assert mixed.bytes == one.bytes + estimate(PLAYGROUND.with_overrides({"model.hidden": [32]})).bytes


def test_a_bad_budget_setting_is_named(monkeypatch):
    monkeypatch.setenv(SESSION_MEMORY, "lots")
    with pytest.raises(BudgetError, match=SESSION_MEMORY):
        limit(SESSION_MEMORY)
    monkeypatch.setenv(SESSION_MEMORY, "-1")
    with pytest.raises(BudgetError, match="positive"):
        limit(SESSION_MEMORY)
    monkeypatch.setenv(SESSION_MEMORY, "256")
    assert limit(SESSION_MEMORY) == 256


class Session:
    """A ledger's owner (held weakly, as the app's LiveRuns are)."""


def cost_of(megabytes: float, gflop: float = 0.001) -> Cost:
    return Cost(1, {"parameters": int(megabytes * MB)}, gflop * 1e9)


def test_the_ledger_refuses_over_a_sessions_and_over_the_servers_budget(monkeypatch):
    monkeypatch.setenv(SESSION_MEMORY, "100")
    monkeypatch.setenv(SERVER_MEMORY, "250")
    monkeypatch.setenv(SESSION_GFLOP, "1")
    ledger = Ledger()
    a, b, c = Session(), Session(), Session()
    ledger.reserve(a, "run", cost_of(90))
    with pytest.raises(BudgetError, match=f"a session's memory budget of 100 MB \\({SESSION_MEMORY}\\)"):
        ledger.reserve(b, "run", cost_of(101))
    ledger.reserve(a, "run", cost_of(60))  # a new run replaces the session's old one: only the new one counts
    with pytest.raises(BudgetError, match="with the 60 MB this session holds already, that is more than a session's memory budget"):
        ledger.reserve(a, "sweep", cost_of(50))
    ledger.reserve(b, "run", cost_of(95))
    with pytest.raises(BudgetError, match=f"the server is busy: its other sessions hold 155 MB of its 250 MB memory budget \\({SERVER_MEMORY}\\)"):
        ledger.reserve(c, "run", cost_of(99))
    assert ledger.held() == int(155 * MB) and ledger.owners() == 2  # the refusals recorded nothing
    with pytest.raises(BudgetError, match=f"one training step of this run would take 2.0 GFLOP.*{SESSION_GFLOP}"):
        ledger.reserve(c, "run", cost_of(1, gflop=2))
    ledger.release(b)
    ledger.reserve(c, "run", cost_of(99))
    assert ledger.held(c) == int(99 * MB)
    del a  # a session collected stops counting
    gc.collect()
    assert ledger.held() == int(99 * MB)


def test_a_live_run_over_the_session_budget_is_refused_and_the_old_run_stays(monkeypatch):
    live = LiveRun(PLAYGROUND, idle_pause_seconds=None)
    try:
        before = live.run
        monkeypatch.setenv(SESSION_MEMORY, "64")
        with pytest.raises(BudgetError, match="more than a session's memory budget of 64 MB"):
            live.apply(PLAYGROUND.with_overrides({"model.hidden": [1024] * 8}))
        assert live.run is before and live.config == PLAYGROUND
        live.apply(PLAYGROUND.with_overrides({"model.hidden": [6]}))
        assert live.run is not before and live.cost is not None and live.cost.parameters == parameter_count(live.run.model)
    finally:
        live.close()


def test_a_sweep_over_the_budget_builds_nothing(monkeypatch):
    from netarium.training.live_sweep import LiveSweep
    from netarium.training.sweep import sweep_from_specs

    monkeypatch.setenv(SESSION_MEMORY, "16")
    sweep = sweep_from_specs(PLAYGROUND.with_overrides({"model.hidden": [64, 64]}), [], seeds=8)
    with pytest.raises(BudgetError, match="this sweep needs about .* for 8 runs"):
        LiveSweep(sweep)


def test_the_cli_refuses_a_run_over_its_budget_in_one_line(monkeypatch):
    monkeypatch.setenv(CLI_MEMORY, "1")
    with pytest.raises(BudgetError, match=f"the command line's memory budget of 1.0 MB \\({CLI_MEMORY}\\)"):
        check_cli(estimate(PLAYGROUND))
    monkeypatch.delenv(CLI_MEMORY)
    check_cli(estimate(PLAYGROUND))


RSS_SCRIPT = """
from netarium.experiments import EXPERIMENTS
from netarium.schema import SchemaError
from netarium.training.live import LiveRun
def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key)) * 1024
LiveRun(EXPERIMENTS.get("playground").config, idle_pause_seconds=None).close()  # warm: imports, first kernels
config = EXPERIMENTS.get("playground").config.with_overrides(dict(%r))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets the peak (VmHWM) to the current RSS
before = status("VmRSS")
try:
    LiveRun(config, idle_pause_seconds=None)
except SchemaError as e:
    print("refused:", e)
print("growth", status("VmRSS") - before, "peak", status("VmHWM") - before)
"""


def test_the_largest_model_a_link_may_ask_for_is_refused_before_anything_is_allocated():
    """268M parameters (1 GB of weights, 4.9 GB when built): refused with RSS and peak RSS unchanged."""
    out = subprocess.run([sys.executable, "-c", RSS_SCRIPT % (LARGEST_RESIDUAL,)], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "refused: budget: this run needs about" in out and "268,670,977 parameters" in out
    growth, peak = (int(x) for x in out.split("growth ")[1].split(" peak "))
    assert growth < 64 * MB and peak < 64 * MB, out
