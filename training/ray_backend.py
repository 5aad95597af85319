"""A sweep on a Ray cluster (`pip install netarium[ray]`): its groups, split into chunks, as Ray tasks.

Imported only when a sweep names a Ray address, so the default path never imports ray. The chunks
are the groups this process would train (plan_groups' builders), cut to about two tasks per CPU of
the cluster; each task trains its chunk with pool.train_chunk (the same grouping, so a batched group's
chunk batches on its node) and its members' results come back as each task finishes. Every node
needs netarium installed (the same version), as for any Ray job.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import ray

from netarium.training.ensemble import batch_signature
from netarium.training.pool import ChunkGroup, split, train_chunk
from netarium.training.sweep import Member, Sweep
from netarium.training.sweep_run import GroupBuilder

TASKS_PER_CPU = 2


def connect(address: str) -> None:
    """Join the cluster at `address` ("auto": the one RAY_ADDRESS names or `ray start` began here),
    unless this process is connected already (then that connection is used)."""
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)


def by_signature(members: Sequence[Member], batched: bool) -> list[list[Member]]:
    """Members that may batch together (one batch signature, read off the Configs: nothing is built
    here), each unbatchable kind together; a task regroups its chunk by data shape as this process would."""
    parts: dict[object, list[Member]] = {}
    for m in members:
        parts.setdefault(batch_signature(m.config) if batched else None, []).append(m)
    return list(parts.values())


class RayGroup(ChunkGroup):
    """Every member of a sweep trained on a Ray cluster, chunk by chunk (see ChunkGroup)."""

    kind = "ray"

    def __init__(self, sweep: Sweep, members: Sequence[Member], address: str,
                 builders: Sequence[GroupBuilder] | None = None):
        connect(address)
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        size = math.ceil(len(members) / (cpus * TASKS_PER_CPU))
        chunks = [chunk for part in by_signature(members, batched=builders is None) for chunk in split(part, size)]
        super().__init__(sweep, chunks, batched=builders is None)
        self._task = ray.remote(num_cpus=1)(train_chunk)

    def _submit(self, sweep_json: str, members_json: list[str], threads: int) -> Any:
        return self._task.remote(sweep_json, members_json, threads, self.batched)

    def _wait(self, handles: list[Any], block: bool) -> list[Any]:
        ready, _ = ray.wait(handles, num_returns=1, timeout=None if block else 0)
        return ready

    def _fetch(self, handle: Any) -> list[dict[str, Any]]:
        return ray.get(handle)

    def close(self) -> None:
        """Cancel the chunks still queued or training."""
        for handle in self._pending:
            ray.cancel(handle)
        super().close()
