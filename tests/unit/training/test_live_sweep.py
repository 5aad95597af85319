"""LiveSweep: a sweep in the Worker, played to its end, paused, stepped and stopped, with honest progress
numbers and a result equal to the headless one; the estimate before it starts; a stored sweep read back."""

from __future__ import annotations

import pytest

from netarium.training.config import Config
from netarium.training.live_sweep import LiveSweep, StoredSweep, estimate
from netarium.training.runs_io import load_sweep_result, save_sweep_result
from netarium.training.store import RunStore
from netarium.training.sweep import sweep_from_specs
from netarium.training.sweep_run import run_sweep

BASE = Config(steps=60, task={"name": "circle", "n_samples": 100}, model={"name": "mlp", "hidden": [4]}, device="cpu")


@pytest.fixture
def live():
    made = []

    def make(axes=("optimizer.lr=0.01,0.1",), seeds=1, base=BASE) -> LiveSweep:
        made.append(LiveSweep(sweep_from_specs(base, list(axes), seeds=seeds), builders=[]))
        return made[-1]

    yield make
    for s in made:
        s.close()


def test_plays_to_the_end_and_equals_the_headless_sweep(live):
    sweep = live(seeds=2)
    assert sweep.size == 4 and sweep.progress().state == "ready" and sweep.progress().seconds_left is None
    sweep.play()
    sweep.worker.wait_for(lambda s: s.step >= 60 and s.state != "playing", timeout=60)
    p = sweep.progress()
    assert (p.members, p.finished, p.diverged, p.step, p.steps, p.state) == (4, 4, 0, 60, 60, "done")
    assert p.fraction == 1.0 and p.seconds_left == 0.0 and p.steps_per_sec > 0
    assert not sweep.playing
    got = sweep.result()
    alone = run_sweep(sweep_from_specs(BASE, ["optimizer.lr=0.01,0.1"], seeds=2), builders=[])
    for a, b in zip(got.members, alone.members, strict=True):
        assert (a.index, a.point, a.config, a.step) == (b.index, b.point, b.config, 60)
        assert a.final["test_loss"] == pytest.approx(b.final["test_loss"], rel=1e-6)


def test_step_pause_and_an_honest_time_left(live):
    sweep = live()
    sweep.step(10)
    p = sweep.progress()
    assert (p.step, p.state, p.finished) == (10, "paused", 0)
    assert p.steps_per_sec == pytest.approx(10 / sweep.run.seconds)  # the mean rate so far
    assert p.seconds_left == pytest.approx(50 / p.steps_per_sec)
    now = sweep.current()  # paused: every member evaluated at its step
    assert [m.step for m in now.members] == [10, 10]
    assert now.members[0].final == sweep.run.member_snapshots()[0].metrics
    assert now.members[0].history.series("test_loss")[0][-1] == 10
    assert sweep.current() is now  # cached while the step stays
    sweep.play()
    sweep.pause()
    assert not sweep.playing and sweep.progress().state in ("paused", "done")


def test_stop_ends_training_but_keeps_what_was_trained(live):
    sweep = live()
    sweep.step(5)
    sweep.stop()
    sweep.play()  # refused: stopped for good
    sweep.step(5)
    assert not sweep.playing and sweep.progress().state == "stopped" and sweep.progress().step == 5
    assert [m.step for m in sweep.result().members] == [5, 5]


def test_a_sweep_where_every_member_diverges_says_so(live):
    base = Config(steps=40, task={"name": "reg-plane", "n_samples": 100}, optimizer={"name": "sgd"}, device="cpu")
    sweep = live(axes=["optimizer.lr=5,10"], base=base)
    sweep.play()
    sweep.worker.wait_for(lambda s: s.state == "diverged", timeout=60)
    p = sweep.progress()
    assert (p.diverged, p.finished, p.state, p.seconds_left) == (2, 2, "diverged", 0.0)


def test_estimate_is_one_member_alone_times_members_times_steps():
    e = estimate(sweep_from_specs(BASE, ["optimizer.lr=0.01,0.1", "l2=0,0.001,0.01"], seeds=2))
    assert (e.members, e.steps) == (12, 60) and e.rate > 0
    assert e.seconds == pytest.approx(12 * 60 / e.rate)


def test_a_stored_sweep_reads_like_a_finished_one(tmp_path):
    result = run_sweep(sweep_from_specs(BASE.with_overrides({"steps": 20}), ["optimizer.lr=0.01,0.1"]), builders=[])
    with RunStore(tmp_path / "s.db") as store:
        sweep_id = save_sweep_result(store, result, name="lr")
        stored = StoredSweep(load_sweep_result(store, sweep_id), sweep_id, "lr")
    p = stored.progress()
    assert (p.members, p.finished, p.step, p.steps, p.state) == (2, 2, 20, 20, "saved")
    assert [m.final for m in stored.current().members] == [m.final for m in result.members]
    assert not stored.playing


def test_the_app_sends_its_sweeps_to_the_cluster_that_netarium_ray_address_names(monkeypatch):
    """The app's --ray-address: every member goes to one RayGroup at that address (a stand-in here,
    so that no cluster is contacted); without the variable nothing goes to Ray."""
    import netarium.training.ray_backend as ray_backend
    from netarium.training.sweep_run import RunGroup

    seen: dict = {}

    class StandIn(RunGroup):
        def __init__(self, sweep, members, address, builders=None):
            seen.update(address=address, members=[m.index for m in members])
            super().__init__(members)

    monkeypatch.setattr(ray_backend, "RayGroup", StandIn)
    sweep = sweep_from_specs(Config(steps=4), ["seed=0,1,2"])
    monkeypatch.setenv("NETARIUM_RAY_ADDRESS", " 127.0.0.1:6379 ")
    live = LiveSweep(sweep)
    try:
        assert seen == {"address": "127.0.0.1:6379", "members": [0, 1, 2]} and len(live.run.groups) == 1
    finally:
        live.close()
    monkeypatch.delenv("NETARIUM_RAY_ADDRESS")
    seen.clear()
    live = LiveSweep(sweep)
    try:
        assert seen == {} and {g.kind for g in live.run.groups} == {"batched"}
    finally:
        live.close()


def test_a_sweep_nobody_watches_pauses_and_says_why():
    sweep = sweep_from_specs(Config(steps=100_000, task={"name": "circle", "n_samples": 100}), ["seed=0,1"])
    live = LiveSweep(sweep, idle_pause_seconds=0.3)
    try:
        live.play()
        live.worker.wait_for(lambda s: s.step > 0, timeout=10)
        live.worker.wait_for(lambda s: s.state == "paused", timeout=10)  # nobody read a snapshot since play
        p = live.progress()
        assert p.state == "paused: the page stopped asking for updates for 0.3 s (tab closed or hidden)" and 0 < p.step < 100_000 and not live.playing
    finally:
        live.close()
