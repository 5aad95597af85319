"""Between the run store and the rest: save a session's live run, export runs as CSV or JSON,
and the rows and series the runs page shows. No Streamlit here, so all of it is unit-testable.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from netarium.models.masks import add_masks
from netarium.training.config import parse_config
from netarium.training.history import History
from netarium.training.live import LiveRun
from netarium.training.run import Run, Snapshot
from netarium.training.store import CheckpointError, RunRecord, RunStore, SweepRecord
from netarium.training.sweep_run import MemberResult, SweepResult

Series = tuple[list[int], list[float]]
# the headline number of a run, first found wins: AUC where the task asks for it (ctr), else accuracy, R², loss
TEST_METRICS = ("test_auc", "test_acc", "test_r2", "test_loss")
HIGHER_IS_BETTER = ("test_auc", "test_acc", "test_r2")
LOG = logging.getLogger(__name__)
CSV_COLUMNS = ("run_id", "name", "experiment", "metric", "step", "value")
SAVE_EVERY_S = 5.0  # a streamed save's flush interval; $NETARIUM_SAVE_EVERY (seconds) changes it


def save_every() -> float:
    """The flush interval of a streamed save: $NETARIUM_SAVE_EVERY seconds (0.1 to 3600), else SAVE_EVERY_S."""
    text = os.environ.get("NETARIUM_SAVE_EVERY", "").strip()
    try:
        value = float(text) if text else SAVE_EVERY_S
    except ValueError:
        return SAVE_EVERY_S
    return min(max(value, 0.1), 3600.0) if math.isfinite(value) else SAVE_EVERY_S


def history_points(history: History) -> list[tuple[str, int, float]]:
    """A History as (metric, step, value) rows for the store."""
    return [(m, int(s), float(v)) for m in history.metrics() for s, v in zip(*history.series(m), strict=True)]


def kept_history(history: History, diverged: bool, last_loss: tuple[int, float] | None = None) -> list[tuple[str, int, float]]:
    """The points a saved run keeps: all of them; for a run that diverged, the finite ones (the curves up to
    their last finite values; the evaluation of blown-up weights is NaN everywhere and says only where, which
    the stored steps, state and reason keep) plus its last finite training loss (`last_loss`, Run.last_finite_loss)."""
    points = history_points(history)
    if not diverged:
        return points
    kept = [p for p in points if math.isfinite(p[2])]
    if last_loss is not None and not any(m == "train_loss" and s == last_loss[0] for m, s, _ in kept):
        kept.append(("train_loss", int(last_loss[0]), float(last_loss[1])))
    return kept


def last_values(points: Iterable[tuple[str, int, float]]) -> dict[str, float]:
    """Each metric's value at its latest step: a diverged run's final numbers (its last finite ones, as the
    live save and a sweep's diverged members keep)."""
    latest: dict[str, tuple[int, float]] = {}
    for metric, step, value in points:
        if metric not in latest or step >= latest[metric][0]:
            latest[metric] = (step, value)
    return {m: v for m, (_, v) in latest.items()}


class RunWriter:
    """A run saved as it trains: created at once (state running, this process its writer), then, every
    `every` seconds (save_every()), the history points not yet written, the latest checkpoint and a
    heartbeat; `finish` writes the whole final history, a checkpoint and the end state. A process
    killed meanwhile leaves the run reading back as 'interrupted' with everything up to the last flush.

    Also a progress callback (`__call__(done, total)`, forwarded to `progress`): training loops hand
    it their history and weights when `due()` (training/run.py's offer_flush)."""

    def __init__(self, store: RunStore, config: dict[str, Any], experiment: str | None = None, name: str = "",
                 every: float | None = None, progress: Callable[[int, int], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.store, self.progress, self.clock = store, progress, clock
        self.every = save_every() if every is None else float(every)
        self.run_id = store.create_run(config, experiment=experiment, name=name, stream=True)
        self.t0 = clock()
        self.last = self.t0
        self.flushes = 0
        self.flush_seconds = 0.0  # time spent writing, over all flushes
        self._source: int | None = None
        self._written: dict[str, int] = {}  # metric -> last step written

    def __call__(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def due(self) -> bool:
        """Whether a flush is due (`every` seconds since the last)."""
        return self.clock() - self.last >= self.every

    def flush(self, source: object, history: History, step: int,
              weights: Callable[[], dict[str, torch.Tensor]] | None = None) -> None:
        """Write the points of `history` not yet written, a checkpoint at `step` (replacing the last)
        and a heartbeat. A new `source` (another run's loop) replaces the stored history instead."""
        t = time.perf_counter()
        if id(source) != self._source:
            self._source, self._written = id(source), {}
            self.store.replace_history(self.run_id, history_points(history))
        else:
            self.store.append_history(self.run_id, [(m, s, v) for m, s, v in history_points(history)
                                                    if s > self._written.get(m, -1)])
        for m in history.metrics():
            steps, _ = history.series(m)
            if steps:
                self._written[m] = max(self._written.get(m, -1), int(steps[-1]))
        if weights is not None:
            self.store.save_checkpoint(self.run_id, weights(), step, metadata={"source": "stream"}, replace=True)
        self.store.beat(self.run_id, steps=step, seconds=self.clock() - self.t0)
        self.last = self.clock()
        self.flushes += 1
        self.flush_seconds += time.perf_counter() - t

    def finish(self, points: list[tuple[str, int, float]], final: dict[str, float], steps: int, seconds: float,
               status: str = "done", weights: dict[str, torch.Tensor] | None = None,
               check: dict[str, Any] | None = None, reason: str = "") -> None:
        """The run's end: its whole history (`points`, e.g. kept_history), a checkpoint (replacing the
        streamed one) and end state."""
        self.store.replace_history(self.run_id, points)
        if weights is not None:
            self.store.save_checkpoint(self.run_id, weights, steps, replace=True)
        self.store.finish(self.run_id, final, steps, seconds, status=status, check=check, reason=reason)


def save_live_run(store: RunStore, live: LiveRun, name: str = "", note: str = "") -> int:
    """Store the live run as it is now (config, history, checkpoint, final numbers) and keep it saved as it
    trains on (LiveSaver: every few seconds, and at its end); return its id.

    Everything is copied under the worker's lock, so a run that is playing is saved at one step.
    When the last evaluation is older than the current step, the run is evaluated now (as a
    headless run's final numbers are) and that point is added to the stored history only.
    The stored run is 'running' while the session's run goes on; it ends 'done' when that run is
    replaced (reset, a new config) or closed, or when the run is saved again, and 'diverged' or 'failed'
    as soon as it is. A server killed meanwhile leaves it 'interrupted' as of its last flush.
    """
    run, worker = live.run, live.worker
    with worker.lock:
        config = run.config.model_dump(mode="json")
        history = {m: run.history.series(m) for m in run.history.metrics()}
        points = [(m, int(s), float(v)) for m, (steps, values) in history.items() for s, v in zip(steps, values, strict=True)]
        steps, seconds, state, reason = run.step_count, float(run.seconds), run.state, run.reason
        evaluated = history.get("test_loss", ([], []))[0]
        if state != "diverged" and (not evaluated or evaluated[-1] != steps):
            points += [(m, steps, float(v)) for m, v in run.evaluate().items()]
        final = {k: float(v) for k, v in run.metrics.items()}
        tensors = {k: v.detach().to("cpu").clone() for k, v in run.model.state_dict().items()}
    for previous in [fn for fn in live.on_close if isinstance(getattr(fn, "__self__", None), LiveSaver)]:
        previous()  # one saved run follows the session's run: the earlier one ends here
    writer = RunWriter(RunStore(store.path), config, name=name.strip())  # its own connection: it outlives `store`
    store.append_history(writer.run_id, points)
    store.save_checkpoint(writer.run_id, tensors, steps, metadata={"source": "live"})
    store.update_run(writer.run_id, steps=steps, seconds=seconds, final=final, reason=reason)
    if note.strip():
        store.set_notes(writer.run_id, note.strip())
    saver = LiveSaver(writer, live, written={m: max(s for mm, s, _ in points if mm == m) for m, _, _ in points})
    if state in ("diverged", "failed"):
        saver.finish()
    else:
        saver.attach()
    return writer.run_id


class LiveSaver:
    """Keeps a saved live run up to date (save_live_run): a Worker listener that, at a publish `writer.every`
    seconds after the last flush, writes the new history points, the latest checkpoint and a heartbeat;
    `finish` writes the end (on replace, close, a new save, or at once on divergence)."""

    def __init__(self, writer: RunWriter, live: LiveRun, written: dict[str, int] | None = None):
        self.writer, self.live, self.run, self.worker = writer, live, live.run, live.worker
        self.done = False
        self._lock = threading.Lock()
        writer._source, writer._written = id(self.run), dict(written or {})

    def attach(self) -> None:
        """Follow the worker's publishes; finish when the session's run is replaced or closed."""
        self.worker.listeners.append(self)
        self.live.on_close.append(self.finish)
        self.live.on_replace.append(self.finish)

    def __call__(self, snap: Snapshot) -> None:
        """A publish (worker thread): flush when due; finish on divergence or failure. A store that fails
        (disk full, deleted) stops the following, never the training."""
        try:
            self._follow(snap)
        except (sqlite3.Error, OSError, KeyError) as e:
            LOG.warning("saved run %s no longer follows the live run: %s", self.writer.run_id, e)
            self.done = True
            self.writer.store.close()

    def _follow(self, snap: Snapshot) -> None:
        if self.done:
            return
        if snap.state in ("diverged", "failed"):
            self.finish()
        elif self.writer.due():
            with self._lock:
                if not self.done:
                    with self.worker.lock:
                        step = self.run.step_count
                        tensors = {k: v.detach().to("cpu").clone() for k, v in self.run.model.state_dict().items()}
                        final = {k: float(v) for k, v in self.run.metrics.items()}
                    self.writer.store.update_run(self.writer.run_id, final=final)
                    self.writer.flush(self.run, snap.history, step, lambda: tensors)

    def finish(self) -> None:
        """Write the run's end: its whole history, checkpoint, final numbers, state (done, diverged or failed)."""
        with self._lock:
            if self.done:
                return
            self.done = True
        for hooks in (self.worker.listeners, self.live.on_close, self.live.on_replace):
            while self in hooks or self.finish in hooks:
                hooks.remove(self if self in hooks else self.finish)
        with self.worker.lock:
            run = self.run
            diverged = run.state == "diverged"
            points = kept_history(run.history, diverged, run.last_finite_loss())
            final = last_values(points) if diverged else {k: float(v) for k, v in run.metrics.items()}
            tensors = None if diverged else {k: v.detach().to("cpu").clone() for k, v in run.model.state_dict().items()}
            steps, seconds, state, reason = run.step_count, float(run.seconds), run.state, run.reason
        try:
            stored = dict(self.writer.store.history(self.writer.run_id))
        except (sqlite3.Error, KeyError):  # the run was deleted meanwhile, or the store is gone
            self.writer.store.close()
            return
        for metric, pts in stored.items():  # points saved earlier (the evaluation at save time) stay
            have = {(m, s) for m, s, _ in points}
            points += [(metric, s, v) for s, v in pts if (metric, s) not in have and math.isfinite(v)]
        status = state if state in ("diverged", "failed") else "done"
        try:
            self.writer.finish(points, final, steps, seconds, status=status, weights=tensors, reason=reason)
        except (sqlite3.Error, OSError, KeyError) as e:  # deleted meanwhile, or the store is gone: never a page error
            LOG.warning("saved run %s could not record its end: %s", self.writer.run_id, e)
        finally:
            self.writer.store.close()


def checkpoint_misfit(model: nn.Module, tensors: dict[str, torch.Tensor], limit: int = 3) -> str:
    """Why `tensors` do not fit `model` ("" when they do): missing and unexpected names, other shapes or
    dtypes, a few of each. A `<layer>.mask` the checkpoint holds for a plain linear layer fits (load_weights
    adds the mask); nothing is changed here."""
    expected = {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}
    modules = dict(model.named_modules())
    for key in tensors:
        layer = modules.get(key.removesuffix(".mask")) if key.endswith(".mask") else None
        if key not in expected and type(layer) is nn.Linear:
            expected[key] = (tuple(layer.weight.shape), layer.weight.dtype)

    def names(keys: list[str]) -> str:
        shown = ", ".join(_one_line(k) for k in keys[:limit])
        return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")

    problems = []
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    if missing:
        problems.append(f"it lacks {names(missing)}")
    if unexpected:
        problems.append(f"it has {names(unexpected)}, which the model does not")
    odd = [k for k in expected if k in tensors and (tuple(tensors[k].shape), tensors[k].dtype) != expected[k]]
    for k in odd[:limit]:
        got, want = (tuple(tensors[k].shape), tensors[k].dtype), expected[k]
        what = (f"shape {got[0]}, the model's {want[0]}" if got[0] != want[0]
                else f"dtype {str(got[1]).removeprefix('torch.')}, the model's {str(want[1]).removeprefix('torch.')}")
        problems.append(f"{_one_line(k)} has {what}")
    if len(odd) > limit:
        problems.append(f"{len(odd) - limit} more tensors differ")
    return "; ".join(problems)


def _one_line(name: str, limit: int = 60) -> str:
    """A tensor name from a file, escaped and cut."""
    text = name.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_weights(model: nn.Module, tensors: dict[str, torch.Tensor]) -> list[str]:
    """Load a checkpoint into a model built from the run's Config; return the layers that got masks.

    A run pruned live (LiveRun.prune) has masks on layers its Config builds dense: every plain linear
    map whose mask buffer the checkpoint holds gets one first (models/masks.py's add_masks), so the
    Config stays the dense description and the checkpoint carries the sparsity. Strict otherwise:
    CheckpointError (checkpoint_misfit's sentence) when the tensors do not fit the model, which is then
    left as it was."""
    misfit = checkpoint_misfit(model, tensors)
    if misfit:
        raise CheckpointError(f"the checkpoint does not fit the model: {misfit}")
    added = add_masks(model, only={key.removesuffix(".mask") for key in tensors if key.endswith(".mask")})
    model.load_state_dict(tensors)
    return added


def load_run(store: RunStore, run_id: int, step: int | None = None) -> Run:
    """A saved run back as a Run of its Config holding its checkpoint's weights and masks (the latest
    checkpoint, or the one at `step`); step count, optimizer state and history start anew."""
    run = Run(parse_config(store.get_run(run_id).config))
    if load_weights(run.model, store.load_checkpoint(run_id, step)):
        run.rescan_masks()
    return run


def history_series(store: RunStore, run_id: int) -> dict[str, Series]:
    """A stored run's history as {metric: (steps, values)}, the layout the curve figures take."""
    return {m: ([s for s, _ in pts], [v for _, v in pts]) for m, pts in store.history(run_id).items()}


def headline_metric(final: dict[str, float]) -> tuple[str, float]:
    """The run's headline number: (name, value) of test AUC, accuracy, R² or loss; ("", nan) if none."""
    for name in TEST_METRICS:
        if name in final:
            return name, float(final[name])
    return "", math.nan


def human_time(timestamp: float, now: float | None = None) -> str:
    """'2025-01-31 14:05' in local time, with 'today' / 'yesterday' for recent days."""
    now = time.time() if now is None else now
    day = time.strftime("%Y-%m-%d", time.localtime(timestamp))
    clock = time.strftime("%H:%M", time.localtime(timestamp))
    if day == time.strftime("%Y-%m-%d", time.localtime(now)):
        return f"today {clock}"
    if day == time.strftime("%Y-%m-%d", time.localtime(now - 86400)):
        return f"yesterday {clock}"
    return f"{day} {clock}"


def run_label(record: RunRecord) -> str:
    """'#3 spiral baseline' (or '#3 playground' / '#3' when the run has no name)."""
    return f"#{record.id} {record.name or record.experiment or ''}".rstrip()


def run_rows(records: Iterable[RunRecord], now: float | None = None) -> list[dict[str, Any]]:
    """One table row per run: id, name, experiment, status, steps, seconds, final test metric, created, notes."""
    rows = []
    for r in records:
        metric, value = headline_metric(r.final)
        rows.append({
            "id": r.id, "name": r.name, "experiment": r.experiment or "", "status": r.status, "steps": r.steps,
            "seconds": round(r.seconds, 2) if math.isfinite(r.seconds) else None,
            "test metric": metric, "final": value if math.isfinite(value) else None,
            "created": human_time(r.created, now), "notes": r.notes,
        })
    return rows


def sweep_rows(records: Iterable[SweepRecord], now: float | None = None) -> list[dict[str, Any]]:
    """One table row per saved sweep: id, name, members, axes, steps per member, seconds, created."""
    rows = []
    for r in records:
        axes = [a.get("key", "?") for a in r.sweep.get("axes", [])]
        seeds = int(r.sweep.get("seeds", 1))
        rows.append({
            "id": r.id, "name": r.name, "members": r.size,
            "axes": ", ".join(axes) + (f" × {seeds} seeds" if seeds > 1 else "") if axes else f"{seeds} seeds",
            "steps": r.sweep.get("base", {}).get("steps"),
            "seconds": round(r.seconds, 1) if math.isfinite(r.seconds) else None,
            "created": human_time(r.created, now), "notes": r.notes,
        })
    return rows


def json_number(x: float) -> float | str:
    """A number JSON can carry: non-finite values become 'nan', 'inf' or '-inf' (here and in `netarium run --json`)."""
    return x if math.isfinite(x) else str(x)


def jsonable(obj: Any) -> Any:
    """`obj` with every non-finite float inside dicts and lists made a string (strict JSON)."""
    if isinstance(obj, float):
        return json_number(obj)
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj


def export_csv(store: RunStore, ids: Iterable[int]) -> str:
    """CSV text with a header and one row per (run, metric, step, value), runs in the order given."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for run_id in ids:
        record = store.get_run(run_id)
        for metric, points in store.history(run_id).items():
            for step, value in points:
                writer.writerow((record.id, record.name, record.experiment or "", metric, step, repr(float(value))))
    return out.getvalue()


def export_json(store: RunStore, ids: Iterable[int]) -> str:
    """JSON text: a list of {id, name, experiment, status, steps, seconds, created, notes, config, final,
    check, history} with history as {metric: [[step, value], ...]}; non-finite numbers as strings."""
    items = []
    for run_id in ids:
        r = store.get_run(run_id)
        items.append({
            "id": r.id, "name": r.name, "experiment": r.experiment, "status": r.status, "steps": r.steps,
            "seconds": r.seconds, "created": r.created, "notes": r.notes, "reason": r.reason,
            "config": r.config, "final": {k: float(v) for k, v in r.final.items()}, "check": r.check,
            "history": {m: [[s, v] for s, v in pts] for m, pts in store.history(run_id).items()},
        })
    return json.dumps(jsonable(items), indent=2, allow_nan=False)


def member_status(member: MemberResult, steps: int) -> str:
    """How a member ended: "diverged" or "failed", else "done" at the sweep's `steps`, "stopped" short of them."""
    if member.state in ("diverged", "failed"):
        return member.state
    return "done" if member.step >= steps else "stopped"


def ranked_members(members: Iterable[MemberResult]) -> list[MemberResult]:
    """Best first by the headline test metric (accuracy and R² high, loss low); members that diverged
    or failed, or have no headline number, last, each part in member order for ties."""
    def key(m: MemberResult) -> tuple[bool, float, int]:
        name, value = headline_metric(m.final)
        if m.state in ("diverged", "failed") or not math.isfinite(value):
            return True, 0.0, m.index
        return False, -value if name in HIGHER_IS_BETTER else value, m.index

    return sorted(members, key=key)


def save_sweep_result(store: RunStore, result: SweepResult, name: str = "") -> int:
    """Store a sweep's definition and every member (config, history, final numbers, how it ended);
    a member that stopped short of the sweep's steps is stored as "stopped"."""
    members = []
    for m in result.members:
        d = m.to_dict()
        d["state"] = member_status(m, result.sweep.base.steps)
        members.append(d)
    return store.save_sweep(result.sweep.model_dump(mode="json"), members, name=name, seconds=result.seconds)


def load_sweep_result(store: RunStore, sweep_id: int) -> SweepResult:
    """A stored sweep back as a SweepResult (its members' histories read from the store)."""
    record, members = store.get_sweep(sweep_id)
    data = {"sweep": record.sweep, "seconds": record.seconds, "members": [
        {"index": m.member, "point": m.point, "config": m.run.config, "state": m.run.status, "reason": m.run.reason,
         "step": m.run.steps, "final": m.run.final,
         "history": {k: [[s, v] for s, v in pts] for k, pts in store.history(m.run.id).items()}}
        for m in members]}
    return SweepResult.from_dict(data)
