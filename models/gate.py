"""A process-wide gate between forward passes and torch.fx tracing.

torch.fx's symbolic tracing patches `nn.Module.__call__` on the class, for every thread, while it
traces; a training thread calling a model at that moment fails ("module is not installed as a
submodule"). Forward passes hold the gate shared (many at once, re-entrant per thread); tracing
holds it exclusive, waiting until no forward pass is running and holding new ones back meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ForwardGate:
    """A writer-preferring readers-writer lock whose shared side is re-entrant per thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0
        self._local = threading.local()

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Hold while calling models (any number of threads at once)."""
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            with self._cond:
                while self._writer or self._waiting_writers:
                    self._cond.wait()
                self._readers += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                with self._cond:
                    self._readers -= 1
                    if self._readers == 0:
                        self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold while patching nn.Module globally (fx tracing); no forward pass runs meanwhile."""
        if getattr(self._local, "depth", 0):
            raise RuntimeError("cannot trace while this thread holds the forward gate (it would wait on itself)")
        with self._cond:
            self._waiting_writers += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


FORWARD_GATE = ForwardGate()
