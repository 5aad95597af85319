"""training/heap.py: one glibc heap policy per process, the first asked for; what each policy does to a
freed block of 8 MB; the server's reaper trimming while sessions live."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netarium.training import heap
from netarium.training.sessions import Sessions

ROOT = str(Path(__file__).resolve().parents[4])
glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")

PROBE = """
import ctypes, sys
from netarium.training import heap
from netarium.training.run import Run
from netarium.ui.session import default_config
policy = heap.shared_policy() if sys.argv[1] == "shared" else None
chosen = heap.configure_heap(policy)
Run(default_config())  # a Run asks for ONE_RUN: the policy chosen first stays
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) * 1024
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
blocks = [libc.malloc(8 << 20) for _ in range(4)]
for b in blocks:
    ctypes.memset(b, 1, 8 << 20)
held = rss()
for b in blocks:
    libc.free(b)
print(chosen.name, heap.applied().name, (held - rss()) >> 20)
"""


def probe(mode: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env, check=True).stdout
    return out.split()


@glibc
def test_the_first_policy_stays_and_decides_whether_a_freed_8_mb_block_goes_back():
    """ONE_RUN keeps blocks below 32 MB on the heap (32 MB freed, RSS stays); the server's policy maps blocks of
    4 MB and more on their own, so freeing them gives the memory back at once."""
    one = probe("one")
    shared = probe("shared")
    assert one[:4] == ["one", "run", "one", "run"]
    assert int(one[4]) < 8  # kept for reuse
    assert shared[:4] == ["shared", "server", "shared", "server"]
    assert int(shared[4]) >= 30  # 4 x 8 MB unmapped when freed


def test_the_shared_policy_caps_arenas_at_the_cores():
    policy = heap.shared_policy()
    settings = dict(policy.settings())
    assert settings[heap.M_ARENA_MAX] == heap.cores() >= 1
    assert settings[heap.M_MMAP_THRESHOLD] == 4 << 20 and settings[heap.M_TRIM_THRESHOLD] == 64 << 20
    assert heap.M_ARENA_MAX not in dict(heap.ONE_RUN.settings())  # one run: glibc's own arena count


class Idle:
    kind, freed, closed, free_seconds = "run", False, False, None

    def idle_seconds(self) -> float:
        return 0.0

    def free_if_idle(self) -> bool:
        return False

    def browser_gone(self) -> bool:
        return False


def test_the_reaper_trims_the_heap_every_few_seconds_while_sessions_live(monkeypatch):
    calls: list[bool] = []
    monkeypatch.setattr("netarium.training.sessions.TRIM_SECONDS", 0.1)
    monkeypatch.setattr("netarium.training.sessions.give_back_memory", lambda collect=True: calls.append(collect) or True)
    sessions = Sessions(max_wait=0.02)
    s = Idle()
    sessions.track(s)
    time.sleep(0.55)
    n_live = len(calls)
    s.closed = True
    deadline = time.monotonic() + 2
    while sessions.reaper_alive and time.monotonic() < deadline:
        time.sleep(0.02)
    assert 3 <= n_live <= 7  # every 0.1 s, not every 0.02 s wake-up
    assert calls and not any(calls)  # a trim only: no gc.collect() holding the interpreter lock
    assert not sessions.reaper_alive
