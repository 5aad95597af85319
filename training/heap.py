"""glibc's heap: how much freed memory malloc keeps, for one run and for a server many sessions share.

Training allocates and frees tensors of a few MB on every step. glibc's defaults hand them back to the
kernel and fault them in again on the next step (modular-grokking's full batch: ~1,000 page faults and
~2.5 ms of a ~17 ms step in the kernel), so a run asks malloc to keep freed memory (ONE_RUN: allocations
below 32 MB from the heap, up to 1 GB of free heap kept).

A server is another matter: every thread that allocates gets its own arena (up to 8 per core), each keeps
its own free memory, and memory freed by one session's thread serves no other. In the load bench (8
sessions on 2 cores) that was +480 to +620 MB of peak RSS, most of it free heap, and +340 MB two minutes
after the sessions were freed (malloc_trim cannot give back a partly used 64 MB arena heap). SHARED caps
the arenas at one per core, keeps 64 MB of free heap, and serves blocks of 4 MB and more from their own
mappings, so they go back to the kernel when freed; the reaper trims every TRIM_SECONDS while sessions
live. modular-grokking's step costs the same under both (10.4 against 10.8 ms, measured; with 1 MB
blocks mapped it took 28 ms).

One policy per process, the first asked for: `netarium app` applies SHARED before its first thread and
its first Run, and a Run then keeps it. Where there is no glibc (macOS, Windows, musl) nothing changes.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
from dataclasses import dataclass

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # malloc.h
TRIM_SECONDS = 5.0  # how often the server's reaper hands free heap back while sessions live


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class HeapPolicy:
    name: str
    mmap_threshold: int  # bytes: a block this large or larger gets its own mapping, unmapped when freed
    trim_threshold: int  # bytes of free memory at the top of a heap that malloc keeps
    arenas: int | None  # most arenas (None: glibc's 8 per core)

    def settings(self) -> list[tuple[int, int]]:
        out = [(M_TRIM_THRESHOLD, self.trim_threshold), (M_MMAP_THRESHOLD, self.mmap_threshold)]
        return out + ([(M_ARENA_MAX, self.arenas)] if self.arenas else [])


ONE_RUN = HeapPolicy("one run", mmap_threshold=32 << 20, trim_threshold=1 << 30, arenas=None)


def shared_policy() -> HeapPolicy:
    return HeapPolicy("shared server", mmap_threshold=4 << 20, trim_threshold=64 << 20, arenas=max(1, cores()))


_lock = threading.Lock()
_applied: HeapPolicy | None = None


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def configure_heap(policy: HeapPolicy | None = None) -> HeapPolicy | None:
    """Apply `policy` (default ONE_RUN) unless a policy was applied already in this process; returns the
    policy in effect, None where there is no glibc or mallopt refused."""
    global _applied
    with _lock:
        if _applied is not None:
            return _applied
        libc = _libc()
        if libc is None:
            return None
        policy = policy or ONE_RUN
        try:
            if not all(libc.mallopt(param, value) for param, value in policy.settings()):
                return None
        except AttributeError:
            return None
        _applied = policy
        return policy


def applied() -> HeapPolicy | None:
    return _applied


def give_back_memory(collect: bool = True) -> bool:
    """Collect garbage (with `collect`) and hand glibc's free heap back to the kernel (malloc_trim releases
    the free pages of every arena, not only the top). False where there is no glibc."""
    if collect:
        gc.collect()
    libc = _libc()
    if libc is None:
        return False
    try:
        return bool(libc.malloc_trim(0))
    except AttributeError:
        return False
