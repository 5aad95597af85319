"""What keeps a page's heavy views from eating the training thread's time: a heavy result that takes
long waits in proportion before it is recomputed, and the Fourier view recomputes only new snapshots."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from netarium.analysis import fourier
from netarium.training import Config
from netarium.training.live import LiveRun
from netarium.ui.views import base
from netarium.ui.views.base import HEAVY_BUDGET, HEAVY_SECONDS, ViewContext, heavy_result
from netarium.ui.views.dynamics import fourier_over_snapshots


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_costly_heavy_result_waits_in_proportion_to_its_cost(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(base.time, "monotonic", clock)
    live = SimpleNamespace(generation=0, playing=True)  # what heavy_result and the store read of a LiveRun
    calls = []

    def compute(cost):
        def run():
            calls.append(cost)
            clock.now += cost
            return len(calls)
        return run

    def at(step, cost=2.0):
        return heavy_result(ViewContext(live, SimpleNamespace(step=step), key="slot"), "x", compute(cost))

    assert at(1) == 1 and clock.now == 1002.0  # took 2 s
    wait = 2.0 * (1 / HEAVY_BUDGET - 1)  # 18 s with a 10% budget
    clock.now += wait - 0.5
    assert at(2) == 1  # the step moved, but 2 s of compute earns a wait of 18 s
    clock.now += 1.0
    assert at(3) == 2  # now it recomputes
    clock.now += HEAVY_SECONDS + 0.01
    assert at(4, cost=0.01) == 2  # the last one cost 2 s again: still waiting
    live.playing = False
    assert at(5) == 3  # paused: at once
    assert at(5) == 3  # and not again at the same step
    assert calls == [2.0, 2.0, 2.0]


def test_a_cheap_heavy_result_refreshes_every_heavy_seconds(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(base.time, "monotonic", clock)
    live = SimpleNamespace(generation=0, playing=True)
    n = iter(range(1, 100))

    def at(step):
        return heavy_result(ViewContext(live, SimpleNamespace(step=step), key="slot"), "x", lambda: next(n))

    assert at(1) == 1
    clock.now += HEAVY_SECONDS - 0.01
    assert at(2) == 1
    clock.now += 0.02
    assert at(3) == 2


@pytest.fixture
def modular_live():
    live = LiveRun(Config(task={"name": "modular", "M": 11}, model={"name": "mlp", "hidden": [16], "activation": ["square"]},
                          optimizer={"name": "adamw", "lr": 0.01}, device="cpu"))
    yield live
    live.close()


def uncached(models, task):
    power = np.array([fourier.spectrum(fourier.token_matrices(m, 11)) for _, m in models])
    keys = fourier.key_frequencies(power[-1])
    return power, keys, [fourier.progress_measures(m, task, keys=sorted(keys)) for _, m in models]


def same(a: list, b: list) -> bool:
    """Progress measures equal to rounding (a least-squares solve may differ in the last bit)."""
    return len(a) == len(b) and all(x.keys == y.keys and np.allclose([x.restricted_loss, x.excluded_loss, x.full_loss],
                                                                       [y.restricted_loss, y.excluded_loss, y.full_loss],
                                                                       rtol=1e-12, atol=0) for x, y in zip(a, b, strict=True))


def test_fourier_view_recomputes_only_what_it_has_not_seen(modular_live, monkeypatch):
    live, task = modular_live, modular_live.run.task
    live.step(30)
    models = live.snapshot_models(24)
    cache: dict = {}
    steps, power, keys, measures, acts = fourier_over_snapshots(models, task, cache)
    want_power, want_keys, want_measures = uncached(models, task)
    assert steps == [s for s, _ in models] and steps[-1] == 30 and len(steps) > 3
    np.testing.assert_allclose(power, want_power)
    assert keys == want_keys and same(measures, want_measures)
    np.testing.assert_allclose(acts, fourier.activation_spectrum(models[-1][1], task))
    assert {k[1] for k in cache} == set(steps[:-1])  # the snapshots, not the model now (it moves)

    forwards, solved = [], []  # forward passes over every pair; progress measures solved from kept logits
    pair_logits, measures_from = fourier.pair_logits, fourier.measures_from
    monkeypatch.setattr(fourier, "pair_logits", lambda m, t: forwards.append(1) or pair_logits(m, t))
    monkeypatch.setattr(fourier, "measures_from", lambda p, keys: solved.append(1) or measures_from(p, keys))
    again = fourier_over_snapshots(models, task, cache)
    assert len(forwards) == 1 and len(solved) == 1 and same(again[3], measures)  # only the model now was measured again

    live.step(40)  # new snapshots; those kept are reused (their logits always, their measures when the keys stay)
    forwards.clear()
    solved.clear()
    later = live.snapshot_models(24)
    steps2, power2, keys2, measures2, _ = fourier_over_snapshots(later, task, cache)
    n_forwards, n_solved = len(forwards), len(solved)
    want_power, want_keys, want_measures = uncached(later, task)
    np.testing.assert_allclose(power2, want_power)
    assert keys2 == want_keys and same(measures2, want_measures)
    common = len(set(steps2[:-1]) & set(steps[:-1]))
    assert 0 < common < len(steps2) - 1
    assert n_forwards == len(steps2) - common  # the new snapshots and the model now
    assert n_solved == len(steps2) - (common if set(keys2) == set(keys) else 0)
    assert {k[1] for k in cache} == set(steps2[:-1])  # steps no longer shown left the cache
