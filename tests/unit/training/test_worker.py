import time

import pytest
import torch

from netarium.training import Config, Run, Worker

CFG = Config(task={"name": "circle", "n_samples": 200}, model={"name": "mlp", "hidden": [8]}, eval_every=5, device="cpu")


@pytest.fixture
def worker():
    w = Worker(Run(CFG)).start()
    yield w
    w.stop()


def test_play_pause_resume_stop(worker):
    assert worker.latest().state == "ready"
    worker.play()
    snap = worker.wait_for(lambda s: s.step >= 50 and s.state == "playing")
    assert snap.metrics  # evaluated while playing
    worker.pause()
    paused = worker.wait_for(lambda s: s.state == "paused")
    time.sleep(0.3)
    assert worker.run.step_count == paused.step == worker.latest().step  # nothing moves while paused
    worker.play()
    worker.wait_for(lambda s: s.step > paused.step + 20)
    worker.stop()
    assert not worker.alive
    stopped_at = worker.run.step_count
    time.sleep(0.1)
    assert worker.run.step_count == stopped_at


def test_single_steps_are_exact(worker):
    worker.step_once(7)
    worker.wait_for(lambda s: s.step == 7 and s.state == "paused")
    worker.step_once(1)
    snap = worker.wait_for(lambda s: s.step == 8)
    assert snap.state == "paused" and not worker.playing


def test_live_learning_rate(worker):
    worker.play()
    worker.wait_for(lambda s: s.step >= 10)
    worker.set_lr(0.5)
    worker.wait_for(lambda s: s.metrics.get("lr") == 0.5)
    assert worker.run.optimizer.param_groups[0]["lr"] == 0.5


def test_until_stops_at_the_exact_step():
    w = Worker(Run(CFG), until=123).start()
    w.play()
    snap = w.wait_for(lambda s: s.state == "paused")
    w.stop()
    assert snap.step == 123


def test_worker_trains_the_same_as_direct_stepping():
    direct = Run(CFG)
    direct.step(100)
    w = Worker(Run(CFG), until=100).start()
    w.play()
    w.wait_for(lambda s: s.step == 100 and s.state == "paused")
    w.stop()
    for a, b in zip(direct.model.parameters(), w.run.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_divergence_pauses_the_worker_and_says_why():
    c = Config(task={"name": "reg-plane"}, model={"name": "mlp", "hidden": [32, 32], "activation": ["relu"]},
               optimizer={"name": "sgd", "lr": 10.0}, device="cpu")
    w = Worker(Run(c)).start()
    w.play()
    snap = w.wait_for(lambda s: s.state == "diverged")
    assert not w.playing and "training loss became" in snap.reason
    w.play()  # refused: stays diverged
    time.sleep(0.2)
    assert w.latest().state == "diverged" and w.run.step_count == snap.step
    w.stop()


def test_snapshot_is_a_copy(worker):
    worker.play()
    snap = worker.wait_for(lambda s: s.step >= 20)
    n = len(snap.history.series("test_loss")[0])
    worker.wait_for(lambda s: s.step >= snap.step + 50)
    assert len(snap.history.series("test_loss")[0]) == n


def test_model_can_be_read_under_the_lock_while_training(worker):
    worker.play()
    for _ in range(5):
        with worker.lock:
            w = worker.run.model.layers[0].linear.weight.detach().clone()
            step = worker.run.step_count
        assert torch.isfinite(w).all() and step >= 0
        time.sleep(0.02)
    assert worker.latest().state in ("playing", "ready")


def test_an_error_in_training_pauses_with_the_reason():
    run = Run(CFG)

    def broken(*_a, **_k):
        raise RuntimeError("boom")

    run.trainer.step = broken
    w = Worker(run).start()
    w.play()
    snap = w.wait_for(lambda s: s.state == "failed")
    assert "boom" in snap.reason and "boom" in w.error
    w.stop()


def test_the_published_rate_is_steps_per_second_of_wall_time_under_a_speed_limit():
    """The Run's own rate counts only time spent stepping (thousands a second here); the status line must
    show what the page gets: at most the 20 steps/s asked for (plus one window's rounding)."""
    w = Worker(Run(Config(steps=100_000))).start()
    try:
        w.max_steps_per_sec = 20.0
        w.play()
        snap = w.wait_for(lambda s: s.step >= 50, timeout=30)  # more than two 1 s windows at 20 steps/s
        assert w.run.steps_per_sec > 200  # the burst rate, which the status line used to show
        assert 0 < snap.steps_per_sec <= 25
        w.pause()
        paused = w.wait_for(lambda s: s.state == "paused")
        assert paused.steps_per_sec <= 25  # paused: the last measured rate
    finally:
        w.stop()
