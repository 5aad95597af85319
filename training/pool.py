"""Members trained outside this process, in chunks: a pool of worker processes (`PoolGroup`), or
Ray tasks (training/ray_backend.py) through the same `ChunkGroup`.

A chunk travels as JSON text only (the sweep and each member's index, point, seed repeat and Config);
the worker trains it with `run_sweep` exactly as this process would (the same grouping, so a chunk of
batchable members still batches there, the same torch threads) and sends back each member's result
dict (MemberResult.to_dict). A member reads "running" until its result arrives, then whatever the
result says. The result is the same, in shape and numbers, as training the members in-process.

Chunk groups are not lockstep: the first `step` submits every chunk and each member trains straight
to the sweep's steps; every `step(n)` then moves the group's clock n steps and returns once at least
floor(K t / T) of its K members have finished, t the clock and T the sweep's steps (see SweepRun).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import math
import multiprocessing
import os
import sys
import types
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from netarium.training.config import Config
from netarium.training.history import History
from netarium.training.sweep import Member, Sweep
from netarium.training.sweep_run import MEMBER_HISTORY_POINTS, MemberResult, MemberState, run_sweep

CHUNKS_PER_WORKER = 4  # smaller chunks balance the load and report progress more often


def default_workers() -> int:
    """Worker processes by default: the core count minus one (one left for this process), at least 1."""
    return max(1, (os.cpu_count() or 1) - 1)


def member_to_json(member: Member) -> str:
    return json.dumps({"index": member.index, "point": member.point, "repeat": member.repeat,
                       "config": member.config.model_dump(mode="json")})


def member_from_json(text: str) -> Member:
    d = json.loads(text)
    return Member(int(d["index"]), dict(d["point"]), int(d["repeat"]), Config.model_validate(d["config"]))


def train_chunk(sweep_json: str, members_json: list[str], threads: int, batched: bool) -> list[dict[str, Any]]:
    """Train a chunk of a sweep's members to the sweep's steps; their result dicts in chunk order.

    Runs in a worker process or a Ray task: `threads` torch threads (as the submitting process trains),
    grouped by the registered builders when `batched`, else as plain Runs (a caller's builders=[])."""
    torch.set_num_threads(threads)
    members = [member_from_json(text) for text in members_json]
    result = run_sweep(Sweep.from_json(sweep_json), members=members, builders=None if batched else [])
    return [m.to_dict() for m in result.members]


def pool_context() -> multiprocessing.context.BaseContext:
    """"forkserver" where there is one (its children fork from a small clean server), else "spawn";
    never "fork" (the app has threads)."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


@contextlib.contextmanager
def neutral_main() -> Iterator[None]:
    """While workers start, __main__ is an empty module: a new worker runs the parent's __main__ file
    again, and under Streamlit (AppTest too) that is a page script, which must not run in a worker."""
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = saved


def split(members: Sequence[Member], size: int) -> list[list[Member]]:
    """Consecutive chunks of at most `size` members."""
    return [list(members[i:i + size]) for i in range(0, len(members), max(size, 1))]


class ChunkGroup:
    """Members trained elsewhere, chunk by chunk; a subclass submits a chunk and waits for handles."""

    kind = "chunks"

    def __init__(self, sweep: Sweep, chunks: list[list[Member]], batched: bool):
        self.sweep = sweep
        self.members = [m for chunk in chunks for m in chunk]
        self.target = sweep.base.steps  # members train to the steps the sweep has when it starts
        self.batched = batched
        self._chunks = chunks
        self._pending: dict[Any, list[Member]] = {}
        self._results: dict[int, MemberResult] = {}
        self._failed: dict[int, str] = {}
        self._clock = 0
        self._started = False

    # ---- what a backend provides ----
    def _submit(self, sweep_json: str, members_json: list[str], threads: int) -> Any:
        """Start training one chunk; return a handle."""
        raise NotImplementedError

    def _wait(self, handles: list[Any], block: bool) -> list[Any]:
        """The handles that have finished (at least one when `block`)."""
        raise NotImplementedError

    def _fetch(self, handle: Any) -> list[dict[str, Any]]:
        """A finished chunk's result dicts (raises what the chunk raised)."""
        raise NotImplementedError

    # ---- MemberGroup ----
    def step(self, n: int) -> int:
        if not self._started:
            self._started = True
            sweep_json, threads = self.sweep.to_json(), torch.get_num_threads()  # as this process trains: the same numbers
            for chunk in self._chunks:
                self._pending[self._submit(sweep_json, [member_to_json(m) for m in chunk], threads)] = chunk
        self._clock = min(self._clock + n, self.target)
        self._collect(len(self.members) * self._clock // max(self.target, 1))
        return n

    def _collect(self, need: int) -> None:
        """Take every finished chunk, waiting until at least `need` members have finished."""
        while self._pending:
            block = len(self._results) + len(self._failed) < need
            finished = self._wait(list(self._pending), block)
            if not finished:
                return
            for handle in finished:
                self._take(handle)

    def _take(self, handle: Any) -> None:
        chunk = self._pending.pop(handle)
        try:
            for d in self._fetch(handle):
                result = MemberResult.from_dict(d)
                self._results[result.index] = result
        except Exception as e:  # a chunk that failed fails its members, not the sweep
            for m in chunk:
                self._failed[m.index] = f"training stopped by an error in a {self.kind} worker: {type(e).__name__}: {e}"

    def states(self) -> list[MemberState]:
        out = []
        for m in self.members:
            r = self._results.get(m.index)
            if r is not None:
                out.append(MemberState(r.state, r.reason, r.step, dict(r.final)))
            elif m.index in self._failed:
                out.append(MemberState("failed", self._failed[m.index], 0, {}))
            else:
                out.append(MemberState("running" if self._started else "ready", "", 0, {}))
        return out

    def histories(self) -> list[History]:
        return [r.history.copy() if (r := self._results.get(m.index)) else History(MEMBER_HISTORY_POINTS)
                for m in self.members]

    def final_metrics(self) -> list[dict[str, float]]:
        """The numbers each worker evaluated when its member finished ({} while one is still training)."""
        return [dict(r.final) if (r := self._results.get(m.index)) else {} for m in self.members]

    def close(self) -> None:
        self._pending.clear()


class PoolGroup(ChunkGroup):
    """Members trained in `workers` worker processes (see `pool_context`);
    the pool starts on the first step and ends with close()."""

    kind = "pool"

    def __init__(self, sweep: Sweep, members: Sequence[Member], workers: int, batched: bool = True):
        members = list(members)
        self.workers = max(1, min(workers, len(members)))
        size = math.ceil(len(members) / (self.workers * CHUNKS_PER_WORKER))
        super().__init__(sweep, split(members, size), batched)
        self._pool: cf.ProcessPoolExecutor | None = None

    def _submit(self, sweep_json: str, members_json: list[str], threads: int) -> cf.Future:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=pool_context())
        with neutral_main():  # workers start inside submit
            return self._pool.submit(train_chunk, sweep_json, members_json, threads, self.batched)

    def _wait(self, handles: list[cf.Future], block: bool) -> list[cf.Future]:
        done, _ = cf.wait(handles, timeout=None if block else 0, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def _fetch(self, handle: cf.Future) -> list[dict[str, Any]]:
        return handle.result()

    def close(self) -> None:
        """Cancel the chunks not started; a chunk in training finishes in its worker, which then exits."""
        super().close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
