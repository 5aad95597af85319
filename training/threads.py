"""torch's intra-op thread count: the training default, and a block run on a set number of threads."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from netarium.schema import SchemaError


def torch_threads(default: int = 1) -> int:
    """Intra-op threads for training: $NETARIUM_THREADS, else `default`.

    The app trains on one thread: small models train fastest there (measured: a 2-8-8-1 MLP runs ~1.5x
    faster than on two here), and one thread leaves the other cores to the UI and other sessions. The
    CLI runs headless and passes every core (modular-grokking's check: 121 s on one thread, ~75 s on two).
    """
    raw = os.environ.get("NETARIUM_THREADS", str(default)).strip()
    if not raw.isdigit() or int(raw) < 1:
        raise SchemaError("NETARIUM_THREADS", f"must be a positive whole number, got {raw!r}")
    return int(raw)


@contextlib.contextmanager
def using_threads(n: int | None = 1) -> Iterator[None]:
    """torch's intra-op threads set to n for the block, then restored; None leaves them as they are.

    Small nets and solvers of many small ops run fastest on one thread, and on a busy machine two threads
    that wait on each other can be several times slower. The setting is process-wide: callers that own
    the process (an experiment, a CLI run, a benchmark) use it.
    """
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
