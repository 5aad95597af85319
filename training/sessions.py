"""The app server's sessions: who is live, who is gone, and how their training threads share the cores.

A browser session's LiveRun (and its LiveSweep) counts as watched while its page asks for updates
(`touch()`: every page's heartbeat and live fragments do). Nobody asking for NETARIUM_SESSION_PAUSE_SECONDS
pauses it (its worker does that between two chunks); nobody asking for NETARIUM_SESSION_FREE_SECONDS frees
it: one server-wide reaper thread (started when the first session is tracked, ended when none is left)
calls its `free()`, which closes it and lets go of its model, data and threads. NETARIUM_MAX_SESSIONS
caps the live (not freed) LiveRuns of one server: `admit` refuses the next one with SessionsFull.

Training threads take one of the server's core slots around every chunk they train (`SLOTS`, FIFO:
a thread that just trained queues behind those that waited, so no session starves when more of them
play at full speed than there are cores). No Streamlit here.
"""

from __future__ import annotations

import gc
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from netarium.schema import env_number
from netarium.training.heap import TRIM_SECONDS, give_back_memory

PAUSE = "NETARIUM_SESSION_PAUSE_SECONDS"
FREE = "NETARIUM_SESSION_FREE_SECONDS"
MAX_SESSIONS = "NETARIUM_MAX_SESSIONS"
DEFAULTS = {PAUSE: 6.0, FREE: 180.0, MAX_SESSIONS: 12.0}
IDLE_REASON = "the page stopped asking for updates for {seconds} (tab closed or hidden)"
T = TypeVar("T")


def setting(name: str) -> float:
    """A session setting from its environment variable, else its default; a bad value is an error that
    names the variable."""
    return env_number(name, DEFAULTS[name], "sessions", whole=name == MAX_SESSIONS)


def pause_seconds() -> float:
    return setting(PAUSE)


def free_seconds() -> float:
    return setting(FREE)


def max_sessions() -> int:
    return int(setting(MAX_SESSIONS))


def seconds_text(seconds: float) -> str:
    """0.3 s, 6 s, 45 s, 3 min."""
    if seconds < 120:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.2g} s"
    return f"{seconds / 60:.0f} min"


GONE_REASON = "the browser closed the page"


def idle_reason(seconds: float) -> str:
    """What the status line says after an idle pause."""
    return IDLE_REASON.format(seconds=seconds_text(seconds))


def sessions_text() -> str:
    """The session settings in force, for `netarium list`."""
    return (f"a session pauses {seconds_text(pause_seconds())} after its page stops asking for updates ({PAUSE}) and "
            f"is freed after {seconds_text(free_seconds())} ({FREE}); at most {max_sessions()} live sessions "
            f"a server ({MAX_SESSIONS})")


class Watch:
    """How many of a session's script runs are drawing it right now: while one is (a page under load can
    take longer than the pause time to draw), the session counts as watched. Shared by a LiveRun or
    LiveSweep with its worker, which holds no reference to them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0
        # the browser's connection, when known (the app: Streamlit's runtime knows whether the session's
        # websocket is open): connected counts as watched, however late the page's ticks come on a busy
        # server, and a closed connection pauses the session at once
        self.connected: Callable[[], bool] | None = None

    def add(self, n: int) -> None:
        with self._lock:
            self.count += n

    def _is_connected(self) -> bool | None:
        if self.connected is None:
            return None
        try:
            return bool(self.connected())
        except Exception:  # noqa: BLE001  (a runtime shutting down: unknown, fall back on the ticks)
            return None

    def watched(self) -> bool:
        """A page is drawing, or the browser is connected."""
        return self.count > 0 or self._is_connected() is True

    def gone(self) -> bool:
        """The browser's connection is known to be closed and no page is drawing."""
        return self.count == 0 and self._is_connected() is False


class SessionLife:
    """What a LiveRun and a LiveSweep share of a session's life: touches from its pages, the browser's
    connection, idleness, and freeing by the reaper. The class sets `_life_lock` (an RLock), `last_touch`,
    `_watch` (a Watch), `freed`, `free_seconds`, `worker` and `free()`."""

    _life_lock: threading.RLock
    _watch: Watch
    last_touch: float
    freed: bool
    free_seconds: float | None
    worker: Any

    def free(self) -> None:
        raise NotImplementedError

    def touch(self) -> None:
        """A page of the session is open and asking for updates."""
        with self._life_lock:
            self.last_touch = time.monotonic()
            if not self.freed:
                self.worker.touch()

    def idle_seconds(self) -> float:
        """Seconds since a page last touched it (0 while a page is drawing it or the browser is connected)."""
        if self._watch.watched():
            self.last_touch = time.monotonic()
            return 0.0
        return time.monotonic() - self.last_touch

    def browser_gone(self) -> bool:
        """Its browser's connection is known to be closed (and no page is drawing it)."""
        return self._watch.gone()

    def follow_connection(self, connected: Callable[[], bool] | None) -> None:
        """Let the browser's connection count: open, the session is watched; closed, it pauses at once
        (training/sessions.py Watch)."""
        self._watch.connected = connected

    @contextmanager
    def watching(self) -> Iterator[None]:
        """A page of the session is being drawn: touched when it starts and ends, and watched meanwhile."""
        self.touch()
        self._watch.add(1)
        try:
            yield
        finally:
            self._watch.add(-1)
            self.touch()

    def free_if_idle(self) -> bool:
        """Free it if untouched for longer than free_seconds (the reaper's call); whether it did."""
        with self._life_lock:
            if self.freed or self.free_seconds is None or self.idle_seconds() <= self.free_seconds:
                return False
            self.free()
            return True


class Tracked(Protocol):
    """What the registry needs of a LiveRun or LiveSweep."""

    kind: str  # "run" or "sweep"
    free_seconds: float | None  # None: never freed for idleness
    freed: bool
    closed: bool

    def idle_seconds(self) -> float: ...

    def free_if_idle(self) -> bool: ...

    def browser_gone(self) -> bool: ...

    def free(self) -> None: ...


class SessionsFull(Exception):
    """The server already holds its most live sessions."""

    def __init__(self, live: int, limit: int):
        self.live, self.limit = live, limit
        super().__init__(f"The server is busy: {live} people are training here now, the most it takes "
                         f"({MAX_SESSIONS}={limit}). Try again in a few minutes.")


class Sessions:
    """The live LiveRuns and LiveSweeps of this process, held weakly, and the reaper that frees idle ones."""

    def __init__(self, max_wait: float = 5.0) -> None:
        self._lock = threading.Lock()
        self._admit_lock = threading.Lock()
        self._held: weakref.WeakSet[Any] = weakref.WeakSet()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.max_wait = max_wait  # the reaper looks at least this often

    def track(self, obj: Tracked) -> None:
        """Watch `obj` (again, after a revive); starts the reaper if it is not running."""
        with self._lock:
            self._held.add(obj)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="netarium-reaper", daemon=True)
                self._thread.start()
        self._wake.set()

    def live(self, kind: str | None = None) -> list[Any]:
        """The tracked objects neither freed nor closed (of `kind`: "run" or "sweep")."""
        with self._lock:
            held = list(self._held)
        return [o for o in held if not o.freed and not o.closed and (kind is None or o.kind == kind)]

    def admit(self, build: Callable[[], T], limit: int | None = None) -> T:
        """build() a new session's LiveRun unless `limit` (default NETARIUM_MAX_SESSIONS) LiveRuns are live
        already (SessionsFull). One admission at a time, so two sessions arriving together cannot both
        take the last place."""
        limit = max_sessions() if limit is None else limit
        with self._admit_lock:
            live = len(self.live("run"))
            if live >= limit:
                gc.collect()  # sessions Streamlit let go of but the collector has not yet
                live = len(self.live("run"))
            if live >= limit:  # a session whose browser has closed its page gives its place up now
                gone = [o for o in self.live("run") if o.browser_gone()]
                for o in gone:
                    o.free()
                if gone:
                    give_back_memory()
                live = len(self.live("run"))
            if live >= limit:
                raise SessionsFull(live, limit)
            return build()

    def reap(self) -> list[Any]:
        """Free every live object idle for longer than its free_seconds; returns those freed. After a free,
        the memory goes back to the system (give_back_memory)."""
        freed = [o for o in self.live() if o.free_if_idle()]
        if freed:
            give_back_memory()
        return freed

    @property
    def reaper_alive(self) -> bool:
        with self._lock:
            return self._thread is not None and self._thread.is_alive()

    def _next_wait(self, live: list[Any]) -> float:
        """Seconds until the earliest object could be due (at least 10 ms, at most max_wait)."""
        due = [o.free_seconds - o.idle_seconds() for o in live if o.free_seconds is not None]
        return min([self.max_wait, *due]) + 0.01 if due else self.max_wait

    def _loop(self) -> None:
        trimmed = time.monotonic()
        while True:
            try:
                freed = self.reap()  # gives memory back itself when it frees a session
                if not freed and time.monotonic() - trimmed >= TRIM_SECONDS:
                    give_back_memory(collect=False)  # what the live sessions' threads freed meanwhile
                if freed or time.monotonic() - trimmed >= TRIM_SECONDS:
                    trimmed = time.monotonic()
            except Exception:  # a failing close must not end the reaper for every other session
                pass
            live = self.live()
            with self._lock:
                if not live and not [o for o in self._held if not o.freed and not o.closed]:
                    self._thread = None  # nothing left to watch: the thread ends; track() starts a new one
                    return
            self._wake.wait(max(0.01, self._next_wait(live)))
            self._wake.clear()


SESSIONS = Sessions()


# ---- the cores, shared fairly ----

def training_slots() -> int:
    """How many training chunks run at once: the cores this process may use, divided by each training
    thread's torch threads ($NETARIUM_THREADS), at least one."""
    from netarium.training.threads import torch_threads

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // torch_threads())


class CoreSlots:
    """A FIFO counting semaphore: at most `size` holders at once, and a released slot goes straight to the
    thread that has waited longest (so a thread that releases and asks again queues behind the others,
    unlike threading.Semaphore, which lets it barge back in)."""

    def __init__(self, size: int | None = None) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._held = 0
        self._queue: deque[threading.Event] = deque()

    @property
    def size(self) -> int:
        if self._size is None:
            self._size = training_slots()
        return self._size

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._queue)

    def acquire(self) -> None:
        size = self.size
        with self._lock:
            if self._held < size and not self._queue:
                self._held += 1
                return
            turn = threading.Event()
            self._queue.append(turn)
        turn.wait()  # release() handed its slot over: _held stays as it is

    def release(self) -> None:
        with self._lock:
            if self._queue:
                self._queue.popleft().set()
            else:
                self._held -= 1

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()


SLOTS = CoreSlots()
