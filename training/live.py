"""`LiveRun`: the one run of a browser session: a Config, its Run and the Worker stepping it.

TensorFlow Playground's rules (playground.ts makeGUI): only the learning rate applies live (and here
the step budget and history cap, which train nothing); regularization, its rates, activation, batch
size, features and the network's shape re-initialise the network on the same data; noise, the train
ratio, the data set and the problem type draw the data again (and re-initialise). Reset is TFP's:
same data, new initial weights (the next seed, the data seed pinned), paused; `restart` rebuilds the
very same run (same data, same weights) to reproduce it; `regenerate` is TFP's Regenerate: new data
(the next data seed), the same initial weights. No Streamlit here: pages keep a LiveRun in session
state and poll its snapshot.
"""

from __future__ import annotations

import copy
import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from netarium.models.gate import FORWARD_GATE
from netarium.models.masks import changed_edges, edge_turnover
from netarium.schema import SchemaError
from netarium.tasks import make_task
from netarium.training import sessions
from netarium.training.budget import LEDGER, Cost, estimate
from netarium.training.config import Config
from netarium.training.optim import resolve_loss
from netarium.training.run import Run, Snapshot
from netarium.training.sessions import SESSIONS
from netarium.training.worker import Worker

LIVE_KEYS = frozenset({"optimizer.lr", "steps", "history_points"})
SEED_LIMIT = 2**31 - 1  # Config.seed's and data_seed's bound
SAME_POINTS = frozenset({"task.features"})  # task keys that keep the points (TFP: the inputs re-initialise only)


def data_changed(keys: list[str] | tuple[str, ...], old: Config, new: Config) -> bool:
    """Whether a change of `keys` from `old` to `new` draws the data again: a task parameter other than
    the input features, the data seed, or the seed where it seeds the data (no data_seed set)."""
    return old.task_seed != new.task_seed or any(k.startswith("task.") and k not in SAME_POINTS for k in keys)


def change_message(keys: list[str], old: Config, new: Config, step: int) -> tuple[str, str]:
    """(kind, what the toast says) for a change of `keys`: which of live / new network / new data, and why."""
    named = ", ".join(keys)
    if set(keys) <= LIVE_KEYS:
        return "live", f"Applied live at step {step}: {named} (the learning rate applies live, as in TensorFlow Playground)."
    if data_changed(keys, old, new):
        return "reinit", (f"Changed {named}: the data were drawn again and the network re-initialised at step 0 "
                          "(new data, as TensorFlow Playground does for noise, ratio, data set and problem type).")
    return "reinit", (f"Changed {named}: the network was re-initialised at step 0 on the same data (only the "
                      "learning rate applies live; as in TensorFlow Playground, anything else rebuilds the network).")


def flatten(config: Config) -> dict[str, Any]:
    """The Config as dotted keys: {"task.name": ..., "task.noise": ..., "seed": ...}."""
    out: dict[str, Any] = {}
    for key, value in config.model_dump(mode="json").items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def changed_keys(old: Config, new: Config) -> list[str]:
    """Dotted keys whose values differ between two configs."""
    a, b = flatten(old), flatten(new)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


@dataclass(frozen=True)
class Change:
    """What applying a new Config did: nothing, a live update, or a re-initialisation."""

    kind: Literal["none", "live", "reinit"]
    keys: tuple[str, ...]
    message: str


FROM_ENV = -1.0  # idle_pause_seconds / free_seconds: read NETARIUM_SESSION_PAUSE_SECONDS / _FREE_SECONDS


FREED = "this session's run was freed (no page asked for it for a while); reload the page to start it again"


def freed_notice(idle: float) -> str:
    """What a session whose run was freed is told when it comes back."""
    return (f"This session's run was freed after {sessions.seconds_text(idle)} without a page open; it starts again "
            "from step 0 with the same settings.")


class LiveRun(sessions.SessionLife):
    """Config + Run + Worker, rebuilt when the config needs it. Thread-safe for one UI session.

    The session's pages `touch()` it while they are open (snapshot() does too). Untouched for
    `idle_pause_seconds` it pauses (its status says why); untouched for `free_seconds` the server's reaper
    (training/sessions.py) frees it: closed, its Run, model, snapshots and threads let go, only the config
    kept, so that `revive()` can start it again at step 0. None: never. By default both come from the
    environment (NETARIUM_SESSION_PAUSE_SECONDS, NETARIUM_SESSION_FREE_SECONDS).
    """

    kind = "run"

    def __init__(self, config: Config, *, idle_pause_seconds: float | None = FROM_ENV,
                 free_seconds: float | None = FROM_ENV):
        self.idle_pause_seconds = sessions.pause_seconds() if idle_pause_seconds == FROM_ENV else idle_pause_seconds
        self.free_seconds = sessions.free_seconds() if free_seconds == FROM_ENV else free_seconds
        self.generation = 0  # bumps on every re-initialisation (views cache on it)
        self.on_close: list[Callable[[], None]] = []  # helpers' threads that must end with the run
        self.on_replace: list[Callable[[], None]] = []  # called when the Run is replaced (a saved run's end)
        self.on_free: list[Callable[[], None]] = []  # called (on the reaper's thread) once it has been freed
        self._copy_lock = threading.Lock()
        self._life_lock = threading.RLock()  # touch() against free(): a page that just touched finds its run
        self._model_copy: tuple[int, int, nn.Module] | None = None
        self._stopper: weakref.finalize | None = None
        self.cost: Cost | None = None  # the current run's estimate, as reserved in the ledger
        self.closed = False
        self.freed = False
        self.freed_after = 0.0  # seconds untouched when it was freed
        self._speed: float | None = None
        self.last_touch = time.monotonic()
        self._watch = sessions.Watch()
        self.config, self.run, self.worker, self.note = self._build(config)
        SESSIONS.track(self)

    def _build(self, config: Config) -> tuple[Config, Run, Worker, str]:
        """(the config adopted, its Run, a started Worker, a note): a loss that cannot serve the task
        (tfp or bce on more than 2 classes or a sequence) goes back to auto, and the note says so;
        another SchemaError (e.g. a bad CSV path) is raised: the caller keeps the old run. The run's
        estimated cost is reserved in the server's ledger before its model is built (training/budget.py):
        over a session's or the server's budget, BudgetError, and nothing is allocated but the data."""
        note = ""
        task = make_task(config.task.name, config.task, seed=config.task_seed)
        try:
            resolve_loss(config.loss, task.kind, task.n_classes, task.n_outputs)
        except SchemaError as e:
            if e.key != "loss" or config.loss == "auto":
                raise
            note = f" The loss {config.loss} cannot serve {config.task.name} ({e.problem}), so it is auto now."
            config = config.model_copy(update={"loss": "auto"})
        cost = estimate(config, task)
        previous = getattr(self, "cost", None)
        LEDGER.reserve(self, "run", cost)
        try:
            run = Run(config, task=task)
        except BaseException:
            if previous is None:
                LEDGER.release(self, "run")
            else:
                LEDGER.put(self, "run", previous)
            raise
        self.cost = cost
        run.early_loss_points = True  # watched: curves get train-loss points before the first evaluation
        worker = Worker(run)
        worker.idle_pause_seconds = self.idle_pause_seconds
        worker.watch = self._watch
        if self._stopper is not None:
            self._stopper.detach()
        # a LiveRun collected without close() (a session Streamlit dropped) still ends its thread
        self._stopper = weakref.finalize(self, worker.stop, 0.0)
        return config, run, worker.start(), note

    # ---- config ----
    def apply(self, new: Config) -> Change:
        """Adopt `new`: live where only live keys changed, else a fresh Run (play state kept); the
        Change's message says which and why (change_message)."""
        keys = changed_keys(self.config, new)
        if not keys or self.freed:  # freed: a page left open calls in; live_run() revives it first
            return Change("none", (), "")
        kind, message = change_message(keys, self.config, new, self.worker.latest().step)
        if kind == "live":
            self.config = new
            self.worker.set_config(new)
        else:
            old = self.config
            message += self._replace(new)
            keys = changed_keys(old, self.config)
        return Change(kind, tuple(keys), message)  # type: ignore[arg-type]

    def _replace(self, config: Config, play: bool | None = None) -> str:
        """Swap in a fresh Run of `config` (its loss fitted to the task, see _build); it plays if `play`
        (None: if the old one was playing). Returns the build's note."""
        playing = self.worker.playing if play is None else play
        config, run, worker, note = self._build(config)
        old = self.worker
        worker.max_steps_per_sec = old.max_steps_per_sec  # the speed chosen in the transport carries over
        self.config, self.run, self.worker, self.note = config, run, worker, note
        self.generation += 1
        old.stop()
        for callback in list(self.on_replace):
            callback()
        if playing:
            worker.play()
        return note

    def reset(self) -> Change:
        """TensorFlow Playground's reset: the same data, new initial weights (the next seed, with the
        data seed pinned to the data's), step 0, paused."""
        if self.freed:
            return Change("none", (), "")
        c = self.config
        new = c.model_copy(update={"seed": (c.seed + 1) % SEED_LIMIT, "data_seed": c.task_seed})
        self._replace(new, play=False)
        return Change("reinit", ("seed",), f"Reset: new initial weights (seed {new.seed}), the same data "
                      f"(data seed {new.data_seed}), step 0, paused.")

    def restart(self) -> Change:
        """The very same run again: same config, so the same data and the same initial weights; step 0, paused."""
        if self.freed:
            return Change("none", (), "")
        self._replace(self.config, play=False)
        return Change("reinit", (), f"Restarted: the same data and the same initial weights (seed {self.config.seed}), "
                      "step 0, paused.")

    def regenerate(self) -> Change:
        """TensorFlow Playground's Regenerate: new data (the next data seed), the same initial weights
        (same seed), step 0; the play state is kept."""
        if self.freed:
            return Change("none", (), "")
        c = self.config
        new = c.model_copy(update={"data_seed": (c.task_seed + 1) % SEED_LIMIT})
        self._replace(new)
        return Change("reinit", ("data_seed",), f"Regenerated: new data (data seed {new.data_seed}), the same initial "
                      f"weights (seed {c.seed}), step 0.")

    # ---- edits between steps ----
    def prune(self, fraction: float, scope: str = "global", include_readout: bool = True) -> dict[str, Any]:
        """Magnitude-prune the live model now, between two training steps: plain linear maps get masks
        first (models/masks.py), then `fraction` of the active edges with the smallest |w| go (their
        optimizer state too) and training goes on from there. A DST log records the cut, so its replay
        stays true. Views recompute (a new generation). Returns magnitude_prune's stats plus the step,
        the layers that got masks and the test score before and after."""
        from netarium.models.masks import add_masks
        from netarium.models.pruning import magnitude_prune

        if self.freed:
            raise ValueError(FREED)
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"the fraction to prune must be between 0 and 1, got {fraction}")
        with FORWARD_GATE.shared(), self.worker.lock:
            run = self.run
            score = f"test_{run.loss.score_name}"
            before = run.evaluate()[score]
            added = add_masks(run.model, include_readout)
            if added:
                run.rescan_masks()
            log = getattr(run.trainer, "log", None)
            modules = dict(run.model.named_modules())
            old = {name: modules[name].mask.clone() for name in (log.names if log else [])}
            stats = magnitude_prune(run.model, fraction, scope, include_readout, optimizer=run.optimizer)
            for name, mask in old.items():
                new = modules[name].mask
                cut, grown = changed_edges(mask, new)
                log.add([{"name": name, "step": run.step_count, "fraction": fraction, **edge_turnover(mask, new),
                          "pruned_idx": cut, "grown_idx": grown}])
            after = run.evaluate()[score]
        with self._copy_lock:
            self._model_copy = None
            self.generation += 1
        return {**stats, "step": run.step_count, "added": added, "score": score, "before": before, "after": after}

    def set_weight(self, layer: int, i: int, j: int, value: float) -> None:
        """Set the weight of the link from unit i of column `layer` to unit j of the next column (linear
        map `layer`: layers[0].linear, ..., readout; weight[j, i]) between two steps, as the Playground's
        link editor does; training goes on from it. A link switched off by a mask cannot be set."""
        self._edit(layer, "weight", (j, i), value)

    def set_bias(self, layer: int, i: int, value: float) -> None:
        """Set the bias of unit i at the output of linear map `layer` (see set_weight) between two steps."""
        self._edit(layer, "bias", (i,), value)

    def _edit(self, layer: int, what: str, index: tuple[int, ...], value: float) -> None:
        if self.freed:
            raise ValueError(FREED)
        if not math.isfinite(float(value)):
            raise ValueError(f"a {what} must be a finite number, got {value}")
        with FORWARD_GATE.shared(), self.worker.lock:
            maps = [getattr(m, "linear", None) for m in getattr(self.run.model, "layers", [])]
            maps.append(getattr(self.run.model, "readout", None))
            if not all(isinstance(m, nn.Linear) for m in maps):
                raise ValueError(f"{type(self.run.model).__name__} is not an MLP: its weights cannot be edited by link")
            if not 0 <= layer < len(maps):
                raise ValueError(f"layer {layer} is not one of the {len(maps)} linear maps")
            param = getattr(maps[layer], what)
            if param is None:
                raise ValueError(f"linear map {layer} has no bias")
            if any(not 0 <= k < n for k, n in zip(index, param.shape, strict=True)):
                raise ValueError(f"{what} index {index[::-1]} is outside linear map {layer} ({tuple(param.shape)[::-1]})")
            mask = getattr(maps[layer], "mask", None) if what == "weight" else None
            if isinstance(mask, torch.Tensor) and float(mask[index]) == 0:
                raise ValueError("this link is switched off by its mask (pruned): it cannot be set")
            with torch.no_grad():
                param[index] = float(value)
        with self._copy_lock:
            self._model_copy = None
            self.generation += 1  # views recompute from the edited weights

    # ---- transport (a freed run ignores a page left open: live_run() revives it first) ----
    def play(self) -> None:
        if not self.freed:
            self.touch()
            self.worker.play()

    def pause(self) -> None:
        """Pause; returns once the worker has published the paused state (at most ACK_SECONDS)."""
        if not self.freed:
            self.worker.acked(self.worker.pause)

    def step(self, n: int = 1) -> None:
        """Train n steps and pause; returns once they are published (at most ACK_SECONDS)."""
        if not self.freed:
            self.worker.acked(self.worker.step_once, n)

    def step_epoch(self) -> None:
        """Train one epoch (Run.steps_per_epoch steps) and pause: TensorFlow Playground's Step button."""
        if not self.freed:
            self.step(self.run.steps_per_epoch)

    def set_speed(self, steps_per_sec: float | None) -> None:
        """Limit the training speed (None: as fast as it goes)."""
        self._speed = steps_per_sec
        if not self.freed:
            self.worker.max_steps_per_sec = steps_per_sec

    def close(self) -> None:
        """Stop training for good: the worker's thread ends, the ledger lets go of the run's reservation
        (a sweep of the session keeps its own), and helpers' threads (on_close) end. Once."""
        if self.closed:
            return
        self.closed = True
        if self.worker is not None:
            self.worker.stop()
        LEDGER.release(self, "run")
        for callback in list(self.on_close):  # a callback may remove itself
            callback()

    def free(self) -> None:
        """Close it and let go of the Run (model, optimizer, data, weight snapshots), the worker and the model
        copy, so that the collector can take them; the config stays for revive()."""
        with self._life_lock:
            if self.freed:
                return
            self.freed_after = self.idle_seconds()
            self.close()
            with self._copy_lock:
                self._model_copy = None
            if self._stopper is not None:
                self._stopper.detach()
            self.on_close.clear()
            self.on_replace.clear()
            self.run = None  # type: ignore[assignment]
            self.worker = None  # type: ignore[assignment]
            self.cost = None
            self.freed = True
        for callback in list(self.on_free):  # e.g. the app closes the browser session it belonged to
            try:
                callback()
            except Exception:  # noqa: BLE001  (freeing must finish for every session)
                pass

    def revive(self) -> str:
        """Build a freed run again from its config: step 0, paused, the speed limit kept (a new generation).
        Returns the notice that says so; a BudgetError (the server is full) leaves it freed."""
        with self._life_lock:
            if not self.freed:
                return ""
            self.config, self.run, self.worker, self.note = self._build(self.config)
            self.worker.max_steps_per_sec = self._speed
            self.generation += 1
            self.freed = self.closed = False
            self.last_touch = time.monotonic()
        SESSIONS.track(self)
        return freed_notice(self.freed_after)

    def snapshot_models(self, limit: int = 16) -> list[tuple[int, nn.Module]]:
        """(step, model) for up to `limit` weight snapshots spread over training, the last one the model now."""
        step, current = self.model_copy()
        steps = [s for s in self.run.snapshots.steps() if s < step]
        if len(steps) > limit - 1:
            pick = [round(i * (len(steps) - 1) / (limit - 2)) for i in range(limit - 1)]
            steps = [steps[i] for i in sorted(set(pick))]
        return [(s, self.run.snapshots.model_at(s, current)) for s in steps] + [(step, current)]

    # ---- reading ----
    def snapshot(self) -> Snapshot:
        """The latest published snapshot; counts as the session still watching."""
        self.touch()
        if self.freed:
            raise RuntimeError(FREED)
        return self.worker.latest()

    @property
    def playing(self) -> bool:
        return not self.freed and self.worker.playing

    def status(self) -> dict[str, Any]:
        """What the status line shows: step, epoch, steps/s, state and why it paused."""
        if self.freed:
            return {"step": 0, "epoch": 0.0, "steps_per_sec": 0.0, "state": "freed",
                    "why": f"freed after {sessions.seconds_text(self.freed_after)} without a page open", "generation": self.generation}
        snap = self.worker.latest()
        why = snap.reason or self.worker.paused_because
        return {"step": snap.step, "epoch": snap.epoch, "steps_per_sec": snap.steps_per_sec,
                "state": snap.state, "why": why, "generation": self.generation}

    def model_copy(self) -> tuple[int, nn.Module]:
        """(step, a private copy of the model) for heavy views; copied at most once per step."""
        if self.freed:
            raise RuntimeError(FREED)
        with self._copy_lock:
            cached = self._model_copy
            step = self.run.step_count
            if cached and cached[0] == self.generation and cached[1] == step:
                return step, cached[2]
            with self.worker.lock:
                step = self.run.step_count
                model = copy.deepcopy(self.run.model)
            model.eval()
            self._model_copy = (self.generation, step, model)
            return step, model
