"""The session lifecycle (training/sessions.py): an untouched run pauses and says why, an untouched one is
freed by the reaper (thread gone, Run and model collectable, ledger released), a touched one is not, a
freed one revives at step 0; the admission cap; the FIFO core slots."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest

from netarium.schema import SchemaError
from netarium.training.budget import LEDGER
from netarium.training.config import Config
from netarium.training.live import LiveRun, freed_notice
from netarium.training.live_sweep import LiveSweep
from netarium.training.sessions import (
    FREE,
    MAX_SESSIONS,
    PAUSE,
    SESSIONS,
    CoreSlots,
    Sessions,
    SessionsFull,
    idle_reason,
    max_sessions,
    pause_seconds,
    seconds_text,
    setting,
)
from netarium.training.sweep import sweep_from_specs

CFG = Config(task={"name": "circle", "n_samples": 200}, model={"name": "mlp", "hidden": [4]}, eval_every=5, device="cpu")


def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_settings_from_the_environment(monkeypatch):
    for name in (PAUSE, FREE, MAX_SESSIONS):
        monkeypatch.delenv(name, raising=False)
    assert (pause_seconds(), max_sessions()) == (6.0, 12)
    monkeypatch.setenv(PAUSE, "2.5")
    monkeypatch.setenv(MAX_SESSIONS, "3")
    assert (pause_seconds(), max_sessions()) == (2.5, 3)
    assert LiveRun.__init__.__kwdefaults__["idle_pause_seconds"] < 0  # read from the environment when built
    for bad in ("soon", "0", "-1", "inf"):
        monkeypatch.setenv(FREE, bad)
        with pytest.raises(SchemaError, match=FREE):
            setting(FREE)
    monkeypatch.setenv(MAX_SESSIONS, "2.5")
    with pytest.raises(SchemaError, match="whole"):
        max_sessions()
    assert [seconds_text(s) for s in (0.3, 6, 45, 180)] == ["0.3 s", "6 s", "45 s", "3 min"]


def test_a_run_built_from_the_environment_takes_its_times(monkeypatch):
    monkeypatch.setenv(PAUSE, "4")
    monkeypatch.setenv(FREE, "90")
    live = LiveRun(CFG)
    try:
        assert (live.idle_pause_seconds, live.free_seconds, live.worker.idle_pause_seconds) == (4.0, 90.0, 4.0)
    finally:
        live.close()


def test_an_untouched_run_pauses_and_says_why():
    live = LiveRun(CFG, idle_pause_seconds=0.3, free_seconds=None)
    try:
        live.play()
        wait_until(lambda: live.worker.latest().state == "paused")  # latest() does not touch; snapshot() would
        s = live.status()
        assert s["step"] > 0 and not live.playing
        assert s["why"] == idle_reason(0.3) == "the page stopped asking for updates for 0.3 s (tab closed or hidden)"
        assert not live.freed  # free_seconds=None: never freed
    finally:
        live.close()


def test_the_reaper_frees_an_untouched_run_its_thread_and_memory():
    baseline = set(threading.enumerate())
    live = LiveRun(CFG, idle_pause_seconds=0.2, free_seconds=0.6)
    ended: list[str] = []
    closing = threading.Event()
    live.on_close.append(closing.set)  # e.g. a curvature tracker's thread: it ends when the run closes
    helper = threading.Thread(target=lambda: (closing.wait(), ended.append("helper")), name="netarium-helper", daemon=True)
    helper.start()
    live.play()
    wait_until(lambda: live.worker.latest().step > 0)
    live.model_copy()  # a view's private copy
    thread = live.worker._thread
    run, model, copy = weakref.ref(live.run), weakref.ref(live.run.model), weakref.ref(live._model_copy[2])
    snapshots = weakref.ref(live.run.snapshots)
    assert LEDGER.held(live) > 0 and live in SESSIONS.live("run") and SESSIONS.reaper_alive
    wait_until(lambda: live.freed)
    helper.join(5)
    assert not thread.is_alive() and thread not in threading.enumerate() and ended == ["helper"]
    assert live.freed_after > 0.6 and live.closed and live.run is None and live.worker is None
    assert LEDGER.held(live) == 0 and live not in SESSIONS.live("run")
    gc.collect()
    assert (run(), model(), copy(), snapshots()) == (None, None, None, None)
    assert set(threading.enumerate()) - baseline <= {t for t in threading.enumerate() if t.name == "netarium-reaper"}
    # a page left open calls in: nothing happens, nothing breaks
    live.play(), live.pause(), live.step(3), live.set_speed(10.0)
    assert live.reset().kind == live.apply(CFG.with_overrides(["optimizer.lr=0.2"])).kind == "none"
    assert live.status()["state"] == "freed" and not live.playing
    with pytest.raises(RuntimeError, match="freed"):
        live.snapshot()


def test_a_touched_run_is_not_freed():
    live = LiveRun(CFG, idle_pause_seconds=None, free_seconds=50.0)
    try:
        live.last_touch -= 49.0
        live.touch()
        assert not live.free_if_idle() and not live.freed
        live.last_touch -= 51.0  # nobody asked for 51 s
        assert live.free_if_idle() and live.freed
    finally:
        live.close()


def test_a_touched_run_keeps_training_past_the_pause_and_free_times():
    live = LiveRun(CFG, idle_pause_seconds=0.5, free_seconds=0.8)
    try:
        live.play()
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            live.snapshot()  # what every page's fragments do each tick
            time.sleep(0.02)
        assert live.playing and not live.freed and live.worker.latest().state == "playing"
    finally:
        live.close()


def test_a_freed_run_revives_from_its_config_at_step_0():
    config = CFG.with_overrides(["optimizer.lr=0.3", "seed=4"])
    live = LiveRun(config, idle_pause_seconds=None, free_seconds=None)
    live.set_speed(50.0)
    live.step(10)
    generation = live.generation
    live.free()
    assert live.freed and LEDGER.held(live) == 0
    notice = live.revive()
    try:
        assert notice == freed_notice(live.freed_after)
        assert notice.startswith("This session's run was freed after ") and "starts again from step 0 with the same settings" in notice
        assert not live.freed and live.config == config and live.run.step_count == 0 and live.worker.alive
        assert live.generation == generation + 1 and live.worker.max_steps_per_sec == 50.0
        assert LEDGER.held(live) > 0 and live in SESSIONS.live("run")
        live.step(3)
        assert live.snapshot().step == 3
    finally:
        live.close()


def test_a_freed_sweep_ends_its_thread_and_lets_go_of_its_members():
    sweep = sweep_from_specs(Config(steps=100_000, task={"name": "circle", "n_samples": 100}, device="cpu"), ["seed=0,1"])
    owner = LiveRun(CFG, idle_pause_seconds=None, free_seconds=None)
    live = LiveSweep(sweep, builders=[], idle_pause_seconds=0.2, free_seconds=0.5, owner=owner)
    try:
        thread, run = live.worker._thread, weakref.ref(live.run)
        live.play()
        assert LEDGER.held(owner) > owner.cost.bytes
        wait_until(lambda: live.freed)
        assert not thread.is_alive() and LEDGER.held(owner) == owner.cost.bytes  # the run's own stays
        gc.collect()
        assert run() is None and live.progress().state == "freed" and not live.playing
    finally:
        live.close()
        owner.close()


class Fake:
    """A tracked session whose idleness the test sets."""

    kind = "run"

    def __init__(self, free_seconds: float | None):
        self.free_seconds, self.freed, self.closed, self.last = free_seconds, False, False, time.monotonic()

    def idle_seconds(self) -> float:
        return time.monotonic() - self.last

    def free_if_idle(self) -> bool:
        if self.free_seconds is not None and self.idle_seconds() > self.free_seconds and not self.freed:
            self.freed = True
            return True
        return False

    gone = False

    def browser_gone(self) -> bool:
        return self.gone

    def free(self) -> None:
        self.freed = True


def test_the_reaper_starts_when_needed_and_ends_when_nothing_is_live():
    sessions = Sessions(max_wait=0.05)
    assert not sessions.reaper_alive
    a, b = Fake(0.2), Fake(None)
    sessions.track(a)
    sessions.track(b)
    assert sessions.reaper_alive and len(sessions.live("run")) == 2
    wait_until(lambda: a.freed)
    assert not b.freed and sessions.reaper_alive  # b is never freed: the reaper stays
    b.closed = True
    wait_until(lambda: not sessions.reaper_alive)
    c = Fake(0.1)
    sessions.track(c)  # a new session starts it again
    assert sessions.reaper_alive
    wait_until(lambda: c.freed and not sessions.reaper_alive)


def test_admission_refuses_past_the_cap():
    sessions = Sessions()
    held = [sessions.admit(lambda: Fake(None), limit=2) for _ in range(2)]
    for f in held:
        sessions.track(f)
    with pytest.raises(SessionsFull) as e:
        sessions.admit(lambda: pytest.fail("built past the cap"), limit=2)
    assert str(e.value) == ("The server is busy: 2 people are training here now, the most it takes "
                            "(NETARIUM_MAX_SESSIONS=2). Try again in a few minutes.")
    held[0].freed = True  # a freed session no longer counts
    newcomer = sessions.admit(lambda: Fake(None), limit=2)
    sessions.track(newcomer)
    held[1].gone = True  # its browser closed the page: it gives its place up to the next one at once
    assert isinstance(sessions.admit(lambda: Fake(None), limit=2), Fake)
    assert held[1].freed and not newcomer.freed
    held[1].closed = newcomer.closed = True


def test_core_slots_are_handed_out_first_come_first_served():
    slots = CoreSlots(1)
    slots.acquire()  # the slot is busy: everyone below queues
    order: list[str] = []

    def take(name: str) -> None:
        slots.acquire()
        order.append(name)
        slots.release()

    threads = []
    for i, name in enumerate("ABCDE"):
        threads.append(threading.Thread(target=take, args=(name,)))
        threads[-1].start()
        wait_until(lambda n=i + 1: slots.waiting == n)  # each queues before the next one arrives
    slots.release()
    for t in threads:
        t.join(5)
    assert order == list("ABCDE") and slots.waiting == 0


def test_core_slots_share_chunks_fairly_among_fake_workers():
    """Four workers wanting a slot all the time, two slots: a worker that just trained queues behind the
    others, so the chunks come out evenly (threading.Semaphore lets the releasing thread barge back in)."""
    slots, counts, stop = CoreSlots(2), [0, 0, 0, 0], threading.Event()

    def worker(i: int) -> None:
        while not stop.is_set():
            with slots.slot():
                counts[i] += 1
                if sum(counts) >= 400:
                    stop.set()
                time.sleep(0.001)  # a chunk's work

    slots.acquire(), slots.acquire()  # all four queue before the first chunk
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    wait_until(lambda: slots.waiting == 4)
    slots.release(), slots.release()
    for t in threads:
        t.join(30)
    # FIFO gives each worker a turn in rotation (a barging semaphore let one thread take most of them); a
    # worker the OS is slow to reschedule can miss a few turns, so within 20% rather than exactly even
    assert sum(counts) >= 400 and min(counts) >= 0.8 * max(counts), counts


def test_a_page_still_drawing_counts_as_watching():
    """A page that takes longer than the pause time to draw (a loaded server) does not pause its run."""
    live = LiveRun(CFG, idle_pause_seconds=0.3, free_seconds=0.3)
    try:
        live.play()
        with live.watching():
            assert live.idle_seconds() == 0.0
            time.sleep(1.0)  # no touch meanwhile
            assert live.playing and live.worker.latest().state == "playing" and not live.freed
        wait_until(lambda: live.freed)  # no page after it: freed
    finally:
        live.close()


def test_a_connected_browser_counts_as_watching_and_a_closed_one_pauses_at_once_then_frees():
    """Under load a page's ticks can come later than the pause time: while the browser's connection is
    open the run trains on untouched; when it closes, the run pauses at once and is freed in due time."""
    from netarium.training.sessions import GONE_REASON

    connected = [True]
    live = LiveRun(CFG, idle_pause_seconds=0.2, free_seconds=0.6)
    try:
        live.follow_connection(lambda: connected[0])
        live.play()
        start = live.worker.latest().step
        time.sleep(1.0)  # five pause times and more than the free time without a touch
        assert live.playing and not live.freed and live.worker.latest().step > start
        assert live.idle_seconds() == 0.0
        connected[0] = False
        wait_until(lambda: not live.playing)
        assert live.status()["why"] == GONE_REASON == "the browser closed the page"
        wait_until(lambda: live.freed)  # the reaper frees it once the free time has passed
    finally:
        live.close()


def test_freed_memory_goes_back_to_the_system():
    """glibc keeps freed heap for reuse (training keeps up to 1 GB); after sessions are freed, malloc_trim
    hands it back: RSS falls by most of a 200 MB block freed on the heap."""
    import ctypes
    import sys

    from netarium.training.heap import configure_heap, give_back_memory

    if not sys.platform.startswith("linux") or configure_heap() is None:
        pytest.skip("needs glibc")

    def rss() -> int:
        return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS")) * 1024

    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(1 << 20) for _ in range(200)]  # 1 MB blocks: on the heap (below the mmap threshold)
    for b in blocks:
        ctypes.memset(b, 1, 1 << 20)
    held = rss()
    for b in blocks:
        libc.free(b)
    kept = rss()
    assert held - kept < 50 << 20  # kept by glibc for reuse
    assert give_back_memory()
    assert kept - rss() > 150 << 20


def test_freeing_calls_the_on_free_callbacks_once_and_survives_a_failing_one():
    calls = []
    live = LiveRun(CFG, idle_pause_seconds=None, free_seconds=None)
    live.on_free.append(lambda: 1 / 0)
    live.on_free.append(lambda: calls.append(live.freed))
    live.free()
    live.free()
    assert calls == [True]
