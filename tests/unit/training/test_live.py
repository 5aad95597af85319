import pytest
import torch

from netarium.schema import SchemaError
from netarium.training import Config
from netarium.training.live import LIVE_KEYS, LiveRun, changed_keys, flatten

CFG = Config(task={"name": "circle", "n_samples": 200}, model={"name": "mlp", "hidden": [4]}, eval_every=5, device="cpu")


@pytest.fixture
def live():
    lr = LiveRun(CFG)
    yield lr
    lr.close()


def test_flatten_and_changed_keys():
    assert flatten(CFG)["task.noise"] == 0.0 and flatten(CFG)["seed"] == 0
    new = CFG.with_overrides(["task.noise=0.2", "optimizer.lr=0.1"])
    assert changed_keys(CFG, new) == ["optimizer.lr", "task.noise"]


def test_only_the_learning_rate_applies_live(live):
    """TFP: the learning rate applies live (and the step budget and history cap, which train nothing);
    a regularization rate re-initialises, on the same data."""
    assert LIVE_KEYS == {"optimizer.lr", "steps", "history_points"}
    live.step(20)
    live.worker.wait_for(lambda s: s.step == 20)
    run_before = live.run
    change = live.apply(CFG.with_overrides(["optimizer.lr=0.2"]))
    assert change.kind == "live" and change.keys == ("optimizer.lr",) and "applies live" in change.message
    live.step(5)
    live.worker.wait_for(lambda s: s.step == 25)
    assert live.run is run_before  # same run, kept its 25 steps
    assert live.run.optimizer.param_groups[0]["lr"] == 0.2
    x = live.run.task.X_train.clone()
    change = live.apply(live.config.with_overrides(["l2=0.001"]))
    assert change.kind == "reinit" and change.keys == ("l2",) and "same data" in change.message
    assert live.run is not run_before and live.run.step_count == 0 and live.run.config.l2 == 0.001
    assert torch.equal(live.run.task.X_train, x)


@pytest.mark.parametrize(("override", "new_data"), [
    ("regularization=tfp", False), ("l1=0.01", False), ("model.activation=relu", False), ("batch_size=10", False),
    ("task.features=x1,x2,x1*x2", False), ("model.hidden=3", False),  # features change the input width, not the points
    ("task.noise=0.2", True), ("task.train_ratio=0.3", True), ("task.name=xor", True), ("task.name=reg-plane", True),
    ("seed=5", True), ("data_seed=5", True),
])
def test_what_a_change_reinitialises_and_what_draws_new_data(live, override, new_data):
    change = live.apply(CFG.with_overrides([override]))
    assert change.kind == "reinit" and live.run.step_count == 0 and live.generation == 1
    said_new_data = "data were drawn again" in change.message
    assert said_new_data is new_data, change.message
    assert ("same data" in change.message) is not new_data


def test_seed_change_keeps_the_data_when_the_data_seed_is_pinned(live):
    pinned = CFG.with_overrides(["data_seed=0"])
    live.apply(pinned)
    x = live.run.task.X_train.clone()
    change = live.apply(pinned.with_overrides(["seed=3"]))
    assert "same data" in change.message and torch.equal(live.run.task.X_train, x)


def test_history_points_apply_live_lowered_thins_raised_keeps_more():
    live = LiveRun(CFG.with_overrides(["eval_every=1", "history_points=100"]), idle_pause_seconds=None)
    try:
        live.step(90)
        live.worker.wait_for(lambda s: s.step == 90)
        run = live.run
        assert len(run.history.series("test_loss")[0]) == 90
        change = live.apply(live.config.with_overrides(["history_points=20"]))
        assert change.kind == "live" and change.keys == ("history_points",)
        live.step(1)  # the worker adopts the config between steps
        live.worker.wait_for(lambda s: s.step == 91)
        assert live.run is run and run.history.max_points == 20 and run.config.history_points == 20
        for metric in run.history.metrics():
            steps, _ = run.history.series(metric)
            assert len(steps) <= 20 and steps[0] == 1 and steps[-1] == 91
        kept = len(run.history.series("test_loss")[0])
        live.apply(live.config.with_overrides(["history_points=200"]))
        live.step(150)
        live.worker.wait_for(lambda s: s.step == 241 and s.state == "paused")
        steps, _ = run.history.series("test_loss")
        assert len(steps) == kept + 150 > 100  # more than the first cap: nothing thinned since
        assert steps[-150:] == list(range(92, 242))
    finally:
        live.close()


def test_data_or_architecture_change_reinitialises_and_says_so(live):
    live.step(10)
    live.worker.wait_for(lambda s: s.step == 10)
    change = live.apply(CFG.with_overrides(["model.hidden=6,3"]))
    assert change.kind == "reinit" and "re-initialised" in change.message and "model.hidden" in change.message
    assert live.run.step_count == 0 and live.generation == 1
    assert live.run.model.layers[1].linear.weight.shape == (3, 6)


def test_reinit_keeps_playing(live):
    live.play()
    live.worker.wait_for(lambda s: s.step > 5)
    live.apply(CFG.with_overrides(["task.noise=0.3"]))
    assert live.playing
    live.worker.wait_for(lambda s: s.step > 5)


def weights(live: LiveRun) -> torch.Tensor:
    return live.run.model.layers[0].linear.weight.detach().clone()


def test_reset_keeps_the_data_draws_new_weights_and_pauses(live):
    """TFP's reset: same data, new random weights, step 0, paused (here the next seed, data seed pinned)."""
    w0, x0 = weights(live), live.run.task.X_train.clone()
    live.play()
    live.worker.wait_for(lambda s: s.step > 3)
    change = live.reset()
    assert live.config.seed == 1 and live.config.data_seed == 0 and "new initial weights" in change.message
    assert live.run.step_count == 0 and not live.playing and live.generation == 1
    assert torch.equal(live.run.task.X_train, x0) and not torch.equal(weights(live), w0)
    assert live.worker.latest().step == 0
    live.reset()  # again: yet other weights, still the same data
    assert live.config.seed == 2 and live.config.data_seed == 0 and torch.equal(live.run.task.X_train, x0)


def test_restart_gives_the_same_data_and_the_same_weights(live):
    w0, x0 = weights(live), live.run.task.X_train.clone()
    live.step(30)
    live.worker.wait_for(lambda s: s.step == 30)
    assert not torch.equal(weights(live), w0)
    change = live.restart()
    assert live.config == CFG and live.run.step_count == 0 and not live.playing and "same initial weights" in change.message
    assert torch.equal(weights(live), w0) and torch.equal(live.run.task.X_train, x0)


def test_regenerate_draws_new_data_with_the_same_initial_weights(live):
    """TFP's Regenerate: new data, the same network (here: the same initial weights, step 0)."""
    w0, x0 = weights(live), live.run.task.X_train.clone()
    live.step(10)
    live.worker.wait_for(lambda s: s.step == 10)
    change = live.regenerate()
    assert change.kind == "reinit" and live.config.seed == 0 and live.config.data_seed == 1
    assert not torch.equal(live.run.task.X_train, x0) and torch.equal(weights(live), w0)
    assert live.run.step_count == 0 and "new data" in change.message
    live.regenerate()
    assert live.config.data_seed == 2 and live.config.seed == 0


def test_step_trains_one_epoch():
    """TFP's Step button: one epoch, n_train // batch steps (100 training points, batches of 8: 12 steps)."""
    lr = LiveRun(CFG.with_overrides(["batch_size=8"]), idle_pause_seconds=None)
    try:
        assert lr.run.steps_per_epoch == 12
        lr.step_epoch()
        snap = lr.worker.wait_for(lambda s: s.step == 12 and s.state == "paused")
        assert snap.epoch == pytest.approx(96 / 100)
    finally:
        lr.close()


def test_bad_config_keeps_the_old_run(live):
    old = live.run
    with pytest.raises(SchemaError):
        live.apply(CFG.with_overrides(["task.name=csv", "task.path=/nonexistent.csv"]))
    assert live.run is old and live.config == CFG


def test_model_copy_is_cached_per_step_and_private(live):
    s1, m1 = live.model_copy()
    s2, m2 = live.model_copy()
    assert s1 == s2 == 0 and m1 is m2
    live.step(3)
    live.worker.wait_for(lambda s: s.step == 3)
    s3, m3 = live.model_copy()
    assert s3 == 3 and m3 is not m1
    assert m3.layers[0].linear.weight.data_ptr() != live.run.model.layers[0].linear.weight.data_ptr()


def test_speed_limit_slows_training(live):
    live.set_speed(100)
    live.play()
    import time

    time.sleep(0.6)
    live.pause()
    snap = live.worker.wait_for(lambda s: s.state == "paused")
    assert 20 <= snap.step <= 110


def test_idle_watchdog_pauses_and_says_why():
    lr = LiveRun(CFG, idle_pause_seconds=0.3)
    lr.play()
    snap = lr.worker.wait_for(lambda s: s.state == "paused", timeout=5)
    assert snap.step > 0 and lr.status()["why"] == "the page stopped asking for updates for 0.3 s (tab closed or hidden)"
    lr.close()


def test_status_line_fields(live):
    st = live.status()
    assert set(st) == {"step", "epoch", "steps_per_sec", "state", "why", "generation"}
    assert st["state"] == "ready" and st["step"] == 0


def test_pause_and_step_return_once_the_snapshot_shows_them(live):
    live.step(3)
    assert live.worker.latest().step == 3 and live.worker.latest().state == "paused"
    live.play()
    live.worker.wait_for(lambda s: s.state == "playing")
    live.pause()
    snap = live.worker.latest()
    assert snap.state == "paused" and snap.step == live.run.step_count


def test_prune_now_masks_the_live_mlp_and_training_goes_on():
    live = LiveRun(Config(task={"name": "spiral", "n_samples": 200}, model={"name": "mlp", "hidden": [8, 8],
                                                                             "activation": "relu"}, seed=1), idle_pause_seconds=None)
    try:
        live.step(30)
        gen, step = live.generation, live.run.step_count
        old_step, old_copy = live.model_copy()
        r = live.prune(0.5)
        # 2*8 + 8*8 + 8*2 = 96 weights, half of them off, one global threshold
        assert r["added"] == ["layers.0.linear", "layers.1.linear", "readout"] and r["pruned"] == 48
        assert r["sparsity"] == 0.5 and r["step"] == step and live.generation == gen + 1
        masked = live.run.masked
        assert len(masked) == 3 and sum(int(m.mask.sum()) for m in masked) == 48
        kept = torch.cat([m.weight.detach().abs()[m.mask.bool()] for m in masked])
        gone = torch.cat([old.weight.detach().abs()[~m.mask.bool()] for old, m in
                          zip([old_copy.layers[0].linear, old_copy.layers[1].linear, old_copy.readout], masked, strict=True)])
        assert float(gone.max()) <= float(kept.min())  # the smallest |w| went
        assert live.model_copy()[1] is not old_copy  # views see the pruned net at the same step
        live.step(20)
        assert live.run.step_count == step + 20
        for m in masked:
            assert float((m.weight.detach() * (1 - m.mask)).abs().sum()) == 0.0  # Adam did not revive them
        assert live.run.snapshots.model_at(0, live.run.model).readout.mask.sum() == 16  # before the cut: dense
        with pytest.raises(ValueError, match="between 0 and 1"):
            live.prune(1.0)
    finally:
        live.close()


def test_prune_now_during_dst_is_logged_so_the_replay_stays_true():
    live = LiveRun(Config(task={"name": "spiral", "n_samples": 200}, model={"name": "sparse-mlp", "hidden": [8, 8], "groups": 2, "k": 1},
                          trainer={"name": "dst", "every": 5}, steps=100), idle_pause_seconds=None)
    try:
        live.step(10)
        live.prune(0.25, "layer")
        live.step(10)
        log = live.run.trainer.log
        layer = dict(live.run.model.named_modules())["layers.1.linear"]
        assert torch.equal(log.mask_at("layers.1.linear", live.run.step_count), layer.mask.bool())
        cut = [e for e in log.events if e["pruned"] and not e["grown"]]
        assert len(cut) == 1 and cut[0]["step"] == 10 and cut[0]["pruned"] == 8  # 25% of the 32 edges (two ensembles, each reading one)
    finally:
        live.close()


def test_set_weight_and_bias_between_steps_and_the_next_step_starts_from_them():
    """The Playground's weight editor: an edit applies between two steps; training goes on from the edited
    value exactly as a run whose weight was that value would (compared with a twin Run edited by hand)."""
    from netarium.training.run import Run

    cfg = CFG.with_overrides({"model.hidden": [4, 3], "optimizer": "sgd", "optimizer.lr": 0.1})
    live = LiveRun(cfg, idle_pause_seconds=None)
    twin = Run(cfg)
    try:
        live.step(3)
        twin.step(3)
        gen = live.generation
        live.set_weight(1, 2, 0, 1.5)  # layer1 unit 2 -> layer2 unit 0: layers[1].linear.weight[0, 2]
        live.set_bias(2, 0, -0.75)  # the readout's bias of output 0
        model = live.run.model
        assert float(model.layers[1].linear.weight.detach()[0, 2]) == 1.5 and float(model.readout.bias.detach()[0]) == -0.75
        assert live.generation == gen + 2 and float(live.model_copy()[1].readout.bias.detach()[0]) == -0.75  # views see it
        with torch.no_grad():
            twin.model.layers[1].linear.weight[0, 2] = 1.5
            twin.model.readout.bias[0] = -0.75
        live.step(1)
        twin.step(1)
        after = float(model.layers[1].linear.weight.detach()[0, 2])
        assert after != 1.5 and after == pytest.approx(float(twin.model.layers[1].linear.weight.detach()[0, 2]), abs=1e-7)
        assert float(model.readout.bias.detach()[0]) == pytest.approx(float(twin.model.readout.bias.detach()[0]), abs=1e-7)
        with pytest.raises(ValueError, match="linear maps"):
            live.set_weight(3, 0, 0, 1.0)
        with pytest.raises(ValueError, match="outside"):
            live.set_weight(0, 5, 0, 1.0)  # 2 inputs
        with pytest.raises(ValueError, match="finite"):
            live.set_bias(0, 0, float("nan"))
    finally:
        live.close()


def test_a_pruned_link_cannot_be_set():
    live = LiveRun(CFG, idle_pause_seconds=None)
    try:
        live.prune(0.5)
        layer = live.run.model.layers[0].linear
        j, i = (int(v) for v in torch.nonzero(layer.mask == 0)[0])
        with pytest.raises(ValueError, match="mask"):
            live.set_weight(0, i, j, 1.0)
        assert float(layer.weight.detach()[j, i]) == 0.0
    finally:
        live.close()


def test_a_loss_that_cannot_serve_the_new_task_goes_back_to_auto_and_says_so():
    tfp = CFG.with_overrides(["loss=tfp"])
    lr = LiveRun(tfp, idle_pause_seconds=None)
    try:
        assert lr.note == "" and lr.run.loss.name == "tfp"
        change = lr.apply(tfp.with_overrides(["task.name=blobs"]))  # 3 classes: tfp cannot serve them
        assert change.kind == "reinit" and {"task.name", "loss"} <= set(change.keys)
        assert lr.config.loss == "auto" and lr.run.loss.name == "cross_entropy"
        assert "The loss tfp cannot serve blobs" in change.message and "auto now" in change.message
    finally:
        lr.close()
    opened = LiveRun(tfp.with_overrides(["task.name=blobs"]), idle_pause_seconds=None)  # e.g. from a link
    try:
        assert opened.config.loss == "auto" and "tfp needs a task with 2 classes" in opened.note
    finally:
        opened.close()
    with pytest.raises(SchemaError):  # any other problem still refuses the config
        LiveRun(CFG.with_overrides(["task.name=csv", "task.path=/nonexistent.csv"]))
