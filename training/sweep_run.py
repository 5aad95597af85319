"""`SweepRun`: every member of a Sweep trained in lockstep, stepped by the Worker like a Run.

Members are split into groups; a group trains its members together and answers for each of them
(state, step, metrics, history). `RunGroup` trains ordinary Runs one after another in this process:
the reference every faster group must equal (a member's trajectory is the same Config trained alone).
A group never lets one member's divergence touch another: a diverged member is frozen and marked.
Members no in-process builder takes go to a pool of worker processes when `workers > 1`
(training/pool.py), and with `ray_address` every group goes to a Ray cluster in chunks
(training/ray_backend.py); both are imported only when asked for.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from netarium.training.config import Config
from netarium.training.history import History
from netarium.training.run import Run, Snapshot, offer_flush
from netarium.training.sweep import Member, Sweep

MEMBER_HISTORY_POINTS = 400  # per metric and member: K histories must stay small


@dataclass
class MemberState:
    """What a group says of one member: its state ("ready", "running", "diverged", "failed"), why,
    its step and its latest metrics."""

    state: str
    reason: str
    step: int
    metrics: dict[str, float]


class MemberGroup(Protocol):
    """Members trained together. `members` are the sweep's Members it holds, in its own order."""

    members: list[Member]
    kind: str  # "runs", "batched", "pool", "ray", ...

    def step(self, n: int) -> int:
        """Train every live member `n` more steps (a diverged one stays where it stopped); return n.
        A group that trains elsewhere keeps pace with the sweep's clock instead (see SweepRun)."""
        ...

    def states(self) -> list[MemberState]:
        ...

    def histories(self) -> list[History]:
        """Copies of each member's history, in `members` order."""
        ...

    def final_metrics(self) -> list[dict[str, float]]:
        """Evaluate every member now (recorded in its history), in `members` order."""
        ...

    def runs(self) -> list[Run]:
        """The members as ordinary Runs holding their trained weights, state and history, in `members`
        order (what an experiment analyses after training)."""
        ...

    def close(self) -> None:
        ...


def member_config(config: Config) -> Config:
    """The Config a member trains with: its history capped at MEMBER_HISTORY_POINTS."""
    return config.model_copy(update={"history_points": min(config.history_points, MEMBER_HISTORY_POINTS)})


class RunGroup:
    """Each member an ordinary Run, stepped one after another in this process."""

    kind = "runs"

    def __init__(self, members: Sequence[Member]):
        self.members = list(members)
        self._runs = [Run(member_config(m.config), task=m.task) for m in self.members]

    def step(self, n: int) -> int:
        for run in self._runs:
            run.step(n)
        return n

    def states(self) -> list[MemberState]:
        return [MemberState(r.state, r.reason, r.step_count, dict(r.metrics)) for r in self._runs]

    def histories(self) -> list[History]:
        return [r.history.copy() for r in self._runs]

    def final_metrics(self) -> list[dict[str, float]]:
        return [r.final_metrics() if r.state != "diverged" else dict(r.metrics) for r in self._runs]

    def runs(self) -> list[Run]:
        return list(self._runs)

    def close(self) -> None:
        self._runs.clear()


# Group builders, tried in order: each takes the members it can train together and returns
# (group, the members it left). The batched engine registers itself here (training/ensemble.py).
GroupBuilder = Callable[[list[Member]], tuple[list[MemberGroup], list[Member]]]
GROUP_BUILDERS: list[GroupBuilder] = []


def plan_groups(members: Sequence[Member], builders: Sequence[GroupBuilder] | None = None, *,
                sweep: Sweep | None = None, workers: int = 1, ray_address: str | None = None) -> list[MemberGroup]:
    """Split members into groups: each builder takes what it can, the rest go to a RunGroup, or with
    `workers > 1` to a pool of that many worker processes. With `ray_address` every member goes to
    one RayGroup (its chunks are the builders' groups split up). Pool and Ray need the `sweep`."""
    if sweep is None and (workers > 1 or ray_address is not None):
        raise ValueError("members trained outside this process need their sweep")
    if ray_address is not None:
        from netarium.training.ray_backend import RayGroup

        return [RayGroup(sweep, list(members), ray_address, builders)]
    left = list(members)
    groups: list[MemberGroup] = []
    for build in GROUP_BUILDERS if builders is None else builders:
        taken, left = build(left)
        groups.extend(taken)
    if left and workers > 1:
        from netarium.training.pool import PoolGroup

        groups.append(PoolGroup(sweep, left, workers, batched=builders is None))
    elif left:
        groups.append(RunGroup(left))
    return groups


@dataclass
class MemberSnapshot:
    """One member as readers see it: which member, its point and seed, its state, step and metrics."""

    index: int
    point: dict[str, Any]
    seed: int
    state: str
    reason: str
    step: int
    metrics: dict[str, float]


@dataclass
class SweepSnapshot(Snapshot):
    """A Run snapshot (step = the slowest live member's) plus every member's state."""

    members: list[MemberSnapshot] = field(default_factory=list)


class SweepRun:
    """A Sweep's members in groups, trained in lockstep up to the base Config's steps.

    Duck-types the Run interface the Worker drives (step, snapshot, state, step_count, device,
    set_live_config); states: "ready", "running", "done" (every member finished or diverged) and
    "diverged" only when every member diverged.

    `step_count` is the sweep's clock: in-process groups have trained that many steps. Groups that
    train elsewhere (pool, Ray) are not lockstep; they keep pace instead: when the clock reads t of
    T steps, at least floor(K t / T) of their K members have finished (all of them at T), so the
    progress is honest and "done" means every result is in.

    `members` trains only those members of the sweep (a chunk sent to a worker process or a Ray task);
    `workers` and `ray_address` choose where members train (see plan_groups).
    """

    def __init__(self, sweep: Sweep, builders: Sequence[GroupBuilder] | None = None, *,
                 members: Sequence[Member] | None = None, workers: int = 1, ray_address: str | None = None):
        self.sweep = sweep
        # validated up front (a chunk's members were, where its sweep was expanded)
        self.members = sweep.members() if members is None else list(members)
        self._position = {m.index: i for i, m in enumerate(self.members)}
        self.config = sweep.base
        self.device = torch.device("cpu")
        self.groups = plan_groups(self.members, builders, sweep=sweep, workers=workers, ray_address=ray_address)
        self.steps = sweep.base.steps
        self.step_count = 0
        self.seconds = 0.0
        self.steps_per_sec = 0.0
        self.state = "ready"
        self.reason = ""
        self.history = History(10)  # a Run's field the Worker's snapshot carries; members keep their own

    # ---- what the Worker calls ----
    def step(self, n: int = 1) -> int:
        n = min(n, self.steps - self.step_count)
        if n <= 0 or self.state in ("done", "diverged"):
            return 0
        t0 = time.perf_counter()
        for group in self.groups:
            group.step(n)
        self.step_count += n
        dt = time.perf_counter() - t0
        self.seconds += dt
        if dt > 0:
            rate = n / dt
            self.steps_per_sec = rate if self.steps_per_sec == 0 else 0.8 * self.steps_per_sec + 0.2 * rate
        states = [s.state for g in self.groups for s in g.states()]
        if all(s == "diverged" for s in states):
            self.state, self.reason = "diverged", "every member diverged"
        elif self.step_count >= self.steps:
            self.state = "done"
        else:
            self.state = "running"
        return n

    def set_live_config(self, config: Config) -> None:
        """Only the step budget of a sweep changes live."""
        self.steps = config.steps

    def set_lr(self, lr: float) -> None:
        raise ValueError("a sweep's learning rates are its members'; sweep optimizer.lr instead")

    def snapshot(self) -> SweepSnapshot:
        members = self.member_snapshots()
        return SweepSnapshot(step=self.step_count, epoch=0.0, state=self.state, reason=self.reason,
                             seconds=self.seconds, steps_per_sec=self.steps_per_sec, metrics={},
                             history=self.history.copy(), members=members)

    # ---- members ----
    def member_snapshots(self) -> list[MemberSnapshot]:
        """Every member in sweep order."""
        out: list[MemberSnapshot | None] = [None] * len(self.members)
        for group in self.groups:
            for m, s in zip(group.members, group.states(), strict=True):
                out[self._position[m.index]] = MemberSnapshot(m.index, m.point, m.config.seed, s.state, s.reason,
                                                              s.step, s.metrics)
        return [m for m in out if m is not None]

    def histories(self) -> list[History]:
        """Copies of every member's history, in sweep order (hold the Worker's lock to call this)."""
        out: list[History | None] = [None] * len(self.members)
        for group in self.groups:
            for m, h in zip(group.members, group.histories(), strict=True):
                out[self._position[m.index]] = h
        return [h for h in out if h is not None]

    def result(self) -> SweepResult:
        """Evaluate every member now and gather the sweep's result (hold the Worker's lock)."""
        finals: list[dict[str, float] | None] = [None] * len(self.members)
        for group in self.groups:
            for m, f in zip(group.members, group.final_metrics(), strict=True):
                finals[self._position[m.index]] = f
        states, histories = self.member_snapshots(), self.histories()
        results = [MemberResult(m.index, m.point, m.config, s.state, s.reason, s.step, h, f or {})
                   for m, s, h, f in zip(self.members, states, histories, finals, strict=True)]
        return SweepResult(self.sweep, results, self.seconds)

    def close(self) -> None:
        for group in self.groups:
            group.close()


@dataclass
class MemberResult:
    """A finished member: which point and Config, how it ended, its history and final numbers."""

    index: int
    point: dict[str, Any]
    config: Config
    state: str
    reason: str
    step: int
    history: History
    final: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON: non-finite numbers (a diverged member's) become null."""
        history = {m: [[s, _finite_number(v)] for s, v in pts] for m, pts in self.history.as_dict().items()}
        return {"index": self.index, "point": self.point, "config": self.config.model_dump(mode="json"),
                "state": self.state, "reason": self.reason, "step": self.step,
                "history": history, "final": _finite(self.final)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MemberResult:
        history = History(MEMBER_HISTORY_POINTS)
        for metric, points in d.get("history", {}).items():
            history.steps[metric] = [int(s) for s, _ in points]
            history.values[metric] = [math.nan if v is None else float(v) for _, v in points]
        return cls(int(d["index"]), dict(d["point"]), Config.model_validate(d["config"]), str(d["state"]),
                   str(d.get("reason", "")), int(d.get("step", 0)), history,
                   {k: math.nan if v is None else float(v) for k, v in d.get("final", {}).items()})


@dataclass
class SweepResult:
    """A sweep's definition and every member's result (the `--json` and store layout)."""

    sweep: Sweep
    members: list[MemberResult]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"sweep": self.sweep.model_dump(mode="json"), "members": [m.to_dict() for m in self.members],
                "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepResult:
        members = [MemberResult.from_dict(d) for d in data["members"]]
        return cls(Sweep.model_validate(data["sweep"]), members, float(data.get("seconds", 0.0)))


def _finite_number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    """JSON has no NaN: non-finite numbers become null."""
    return {k: _finite_number(v) for k, v in values.items()}


def headless_chunk(steps: int) -> int:
    """Steps per call when training headless: about 20 progress reports, at most 200 steps apart."""
    return max(1, min(200, steps // 20 or 1))


def _offer_first(progress: Callable[[int, int], None], group: MemberGroup) -> None:
    """offer_flush for the group's first config's member (the one an experiment's Result reports)."""
    pos = next((i for i, m in enumerate(group.members) if m.index == 0), None)
    if pos is not None:
        member_run = getattr(group, "member_run", None)  # one member's Run where the group can build one alone
        offer_flush(progress, group, lambda: group.histories()[pos], group.states()[pos].step,
                    lambda: (member_run(pos) if member_run is not None else group.runs()[pos]).model.state_dict())


def train_configs(configs: Sequence[Config], progress: Callable[[int, int], None] | None = None,
                  task: Any = None) -> list[Run]:
    """Train each Config to its steps (on a shared `task` when given) through the sweep engine: those
    that batch train as one program, the rest one after another; returns them as Runs, in order, for
    the analyses that follow (experiments). progress(done, total) counts steps over all of them."""
    members = [Member(i, {}, 0, c, task) for i, c in enumerate(configs)]
    by_steps: dict[int, list[Member]] = {}
    for m in members:
        by_steps.setdefault(m.config.steps, []).append(m)
    total, done = sum(c.steps for c in configs), 0
    out: list[Run | None] = [None] * len(members)
    for steps, ms in by_steps.items():
        for group in plan_groups(ms):
            chunk = headless_chunk(steps)
            for start in range(0, steps, chunk):
                n = group.step(min(chunk, steps - start))
                done += n * len(group.members)
                if progress:
                    progress(done, total)
                    _offer_first(progress, group)
            for m, run in zip(group.members, group.runs(), strict=True):
                out[m.index] = run
            group.close()
    return [r for r in out if r is not None]


def run_sweep(sweep: Sweep, progress: Callable[[int, int], None] | None = None, chunk: int = 0,
              builders: Sequence[GroupBuilder] | None = None, *, members: Sequence[Member] | None = None,
              workers: int = 1, ray_address: str | None = None) -> SweepResult:
    """Train a sweep (or only `members` of it) headless to its base steps, calling progress(done, total);
    return its result. `workers` and `ray_address`: where members train (plan_groups)."""
    run = SweepRun(sweep, builders, members=members, workers=workers, ray_address=ray_address)
    try:
        chunk = chunk or headless_chunk(run.steps)
        while run.state not in ("done", "diverged") and run.step_count < run.steps:
            run.step(chunk)
            if progress:
                progress(run.step_count, run.steps)
        return run.result()
    finally:
        run.close()


from netarium.training import ensemble as _ensemble  # noqa: E402, F401  (registers the batched group builder)
