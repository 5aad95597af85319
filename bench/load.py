"""`netarium bench load`: many browser sessions on one server, then the server after they leave.

N tabs of headless Chromium (one tab, one Streamlit session) on one `netarium app` on loopback, each on
another page (some with an experiment's preset, opened from the Experiments page as a user does), each
set to its own speed (steps per tick, one at least at "max") and playing, for T seconds. Read from every
tab about once a second: the sidebar's status line (step, state) and any exception element or error box.
Meanwhile a thread samples the server process's VmRSS and thread count (/proc/<pid>/status) every 0.5 s.
Then the tabs close and the server is watched for a fixed time: its threads and RSS should go back to
where they were before the first session (the session lifecycle frees an idle session's run, model and
worker thread after NETARIUM_SESSION_FREE_SECONDS; the bench sets it short so that happens in its window).
The baseline is read after a first-use round: every plan's page opened once in a tab of its own, played for
a few seconds and closed, and the server left until those sessions are freed. A server keeps what a page's
first visit loads for good (imported modules, library code paged in, Python's and glibc's one-time
growth: +42 MB over a fresh server in the full run, measured); the targets are about what sessions take and give back,
so they are judged from there, and the fresh server's RSS and the round's growth are printed beside them
(`warm=False` skips the round: the baseline is then read after one request for the app's page). The
server is asked for its page again once a second after the tabs close: Starlette serves files from anyio's thread pool (a thread per concurrent read,
up to 40), which stops its threads idle for 10 s only when it is next used, as the next visitor would.

Targets (issue 19): 8 sessions x 2 min, no exception, peak RSS growth < 300 MB, and within 2 minutes of the
tabs closing RSS back under baseline + 50 MB and the thread count back to its baseline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netarium.bench.browser import ServerURL, app_server, browser, health_ok, open_page, status_step

TICK_SECONDS = 0.35  # ui/transport.py's tick: a speed of n steps per tick asks for n / 0.35 steps/s
SPEEDS: list[int | str] = [1, 10, 100, 1000, "max"]  # ui/transport.py's choices, in slider order
PEAK_GROWTH_MB = 300.0
SETTLED_MB = 50.0
SAMPLE_SECONDS = 0.5


@dataclass(frozen=True)
class Plan:
    """One session: the page it sits on (its sidebar link's title), its speed, and optionally an
    experiment whose preset it opens from the Experiments page (which goes to `page` itself)."""

    page: str
    speed: int | str
    experiment: str = ""

    @property
    def label(self) -> str:
        return f"{self.page}{f' ({self.experiment})' if self.experiment else ''} @ {self.speed}"

    @property
    def target_steps_per_sec(self) -> float | None:
        """The rate the speed asks for (None: 'max', as fast as it goes)."""
        return None if self.speed == "max" else float(self.speed) / TICK_SECONDS


# Playground and Side by side train the same default config at "max": the pair whose steps say whether the
# server shares the CPU fairly between equal sessions.
FULL_PLANS = (
    Plan("Playground", "max"),
    Plan("Side by side", "max"),
    Plan("Dynamics", 100, "modular-grokking"),
    Plan("Geometry", 10, "geometry-tanh-relu"),
    Plan("Residual stream", 1000, "residual-depth"),
    Plan("Connectivity", "max", "g2g-sparse"),
    Plan("Diagram", 1),
    Plan("Home", 1000),
)
QUICK_PLANS = (
    Plan("Playground", "max"),
    Plan("Diagram", "max"),
    Plan("Dynamics", 100),
)


def server_env(n_sessions: int, pause: float = 6.0, free: float = 20.0) -> dict[str, str]:
    """The session lifecycle's settings for the bench's server: pause after `pause` s without a tick, free
    after `free` s idle (short, so that freeing happens inside the bench's window), room for every tab."""
    return {"NETARIUM_SESSION_PAUSE_SECONDS": f"{pause:g}", "NETARIUM_SESSION_FREE_SECONDS": f"{free:g}",
            "NETARIUM_MAX_SESSIONS": str(max(12, n_sessions + 2))}


# ---- the server process ----

def proc_status(pid: int) -> tuple[float, int] | None:
    """(VmRSS in MB, thread count) of a process from /proc/<pid>/status; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    try:
        return int(fields["VmRSS"].split()[0]) / 1024.0, int(fields["Threads"])
    except (KeyError, ValueError, IndexError):
        return None


def proc_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) a process has used, from /proc/<pid>/stat; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15 of stat


@dataclass
class ProcSampler:
    """A thread that samples a process's RSS (MB) and threads every `every` s: (seconds since start, MB, threads)."""

    pid: int
    every: float = SAMPLE_SECONDS
    samples: list[tuple[float, float, int]] = field(default_factory=list)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, CPU seconds used)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _t0: float = field(default_factory=time.monotonic)

    def start(self) -> ProcSampler:
        self._thread = threading.Thread(target=self._loop, name="load-sampler", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            got, used = proc_status(self.pid), proc_cpu_seconds(self.pid)
            if got is not None:
                self.samples.append((time.monotonic() - self._t0, *got))
            if used is not None:
                self.cpu.append((time.monotonic() - self._t0, used))
            self._stop.wait(self.every)

    def now(self) -> float:
        return time.monotonic() - self._t0

    def between(self, t0: float, t1: float = float("inf")) -> list[tuple[float, float, int]]:
        return [s for s in list(self.samples) if t0 <= s[0] <= t1]

    def cores_used(self, t0: float, t1: float) -> float | None:
        """The process's average CPU use between t0 and t1, in cores (1.0: one core busy all the time)."""
        inside = [c for c in list(self.cpu) if t0 <= c[0] <= t1]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            return None
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)


# ---- the tabs ----

PAGE_JS = """() => {
  const status = [...document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stCaptionContainer"], [data-testid="stSidebar"] [data-testid="stAlert"]')]
    .find(e => /step [0-9,]+ ·/.test(e.innerText));
  const texts = sel => [...document.querySelectorAll(sel)].map(e => e.innerText.slice(0, 400));
  return {status: status ? status.innerText : "", path: location.pathname,
          exceptions: texts('[data-testid="stException"]'), errors: texts('[data-testid="stAlertContentError"]'),
          busy: /server is busy/i.test(document.body.innerText)};
}"""


def open_session(ctx, url: str, plan: Plan) -> Any:
    """A new tab (a new session) on the plan's page, with the preset of its experiment when it has one."""
    if plan.experiment:
        tab = open_page(ctx, url, "Experiments")
        tab.locator(f".st-key-experiments-open-{plan.experiment} button").first.click()
        slug = plan.page.split()[0].lower()
        slug = {"connectivity": "sparsity"}.get(slug, slug)
        tab.wait_for_url(f"**/{slug}*")
    else:
        tab = open_page(ctx, url, "" if plan.page == "Home" else plan.page)
    return tab


def set_speed(tab, speed: int | str) -> None:
    """Move the transport's 'Steps per tick' slider to `speed` with the keyboard (Home, then right arrows)."""
    handle = tab.locator(".st-key-transport-speed input[type=range]").first
    handle.focus()
    handle.press("Home")
    for _ in range(SPEEDS.index(speed)):
        handle.press("ArrowRight")


def press_play(tab) -> None:
    tab.locator(".st-key-transport-play button").first.click()


def observe(tab) -> dict[str, Any]:
    """What a tab shows now: its status line, path, exception and error boxes' texts, the busy notice."""
    try:
        return tab.evaluate(PAGE_JS)
    except Exception as e:  # noqa: BLE001  (a tab that stopped answering is a finding, not a crash)
        return {"status": "", "path": "", "exceptions": [], "errors": [], "busy": False, "unreadable": str(e)[:200]}


@dataclass
class SessionLog:
    """What the bench saw of one session."""

    plan: Plan
    opened_seconds: float = 0.0
    open_error: str = ""
    first: tuple[float, int] | None = None  # (time, step) when the measured window began
    last: tuple[float, int] | None = None
    last_status: str = ""
    exceptions: set[str] = field(default_factory=set)
    errors: set[str] = field(default_factory=set)
    max_exception_elements: int = 0
    busy: bool = False
    status_updates: int = 0  # reads whose status line differed from the read before (0: the line froze)

    def record(self, t: float, seen: dict[str, Any], in_window: bool) -> None:
        self.exceptions.update(seen["exceptions"])
        self.errors.update(seen["errors"])
        self.max_exception_elements = max(self.max_exception_elements, len(seen["exceptions"]))
        self.busy = self.busy or bool(seen.get("busy"))
        step = status_step(seen["status"])
        if seen["status"] and seen["status"] != self.last_status:
            self.status_updates += 1
        self.last_status = seen["status"] or self.last_status
        if step is not None and in_window:
            if self.first is None:
                self.first = (t, step)
            self.last = (t, step)

    def figures(self) -> dict[str, Any]:
        advanced = self.last[1] - self.first[1] if self.first and self.last else None
        span = self.last[0] - self.first[0] if self.first and self.last else 0.0
        rate = advanced / span if advanced is not None and span > 0 else None
        target = self.plan.target_steps_per_sec
        return {"page": self.plan.page, "experiment": self.plan.experiment, "speed": self.plan.speed,
                "opened_seconds": round(self.opened_seconds, 1), "open_error": self.open_error,
                "steps_advanced": advanced, "steps_per_sec": rate, "target_steps_per_sec": target,
                "fill": rate / target if rate is not None and target else None,
                "last_status": self.last_status, "exceptions": sorted(self.exceptions), "errors": sorted(self.errors),
                "exception_elements": self.max_exception_elements, "busy": self.busy,
                "status_updates": self.status_updates}


# ---- the run ----

class HardTimeout(BaseException):
    """The bench's hard limit passed (a BaseException, so that no `except Exception` on the way swallows it)."""


@contextlib.contextmanager
def hard_timeout(seconds: float) -> Iterator[None]:
    """Raise TimeoutError after `seconds` (SIGALRM in the main thread; a no-op off it), so that a stuck browser
    cannot hold the bench: the context managers inside still stop Chromium and the server."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def _expire(signum, frame):
        raise HardTimeout

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except HardTimeout:
        raise TimeoutError(f"the load bench passed its hard limit of {seconds:.0f} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def touch(url: str) -> None:
    """Ask the server for the app's page (as the next visitor would): its file-serving thread pool then
    stops the threads that have been idle for 10 s or more (anyio's to_thread)."""
    try:
        with urllib.request.urlopen(url + "/", timeout=5) as response:
            response.read()
    except OSError:
        health_ok(url)


def settled_at(samples: list[tuple[float, float, int]], since: float, rss_mb: float, threads: int) -> float | None:
    """Seconds after `since` from which every sample has RSS <= rss_mb and threads <= threads; None if never."""
    at = None
    for t, mb, n in samples:
        if t < since:
            continue
        if mb <= rss_mb and n <= threads:
            at = t if at is None else at
        else:
            at = None
    return None if at is None else at - since


def run_load(plans: tuple[Plan, ...] | list[Plan], seconds: float, settle: float, *, env: dict[str, str] | None = None,
             stop_when_settled: bool = False, baseline_seconds: float = 3.0, home: Path | None = None, warm: bool = False,
             limit: float | None = None, say=print) -> dict[str, Any]:
    """Open every plan's session, play them for `seconds`, close the tabs, watch the server `settle` s (or
    until it is back to its baseline, with `stop_when_settled`). Returns the figures (see run_load_bench)."""
    env = env if env is not None else server_env(len(plans))
    limit = limit or (120.0 + 45.0 * len(plans) * (2 if warm else 1) + seconds + settle + (FIRST_USE_WAIT if warm else 0.0))
    with tempfile.TemporaryDirectory() as tmp, hard_timeout(limit):
        root = home or Path(tmp)
        with app_server(root / "server", env=env) as url, browser(root / "profile") as ctx:
            return _run(ctx, url, list(plans), seconds, settle, stop_when_settled, baseline_seconds, env, say, warm)


FIRST_USE_PLAY_SECONDS = 3.0
FIRST_USE_WAIT = 90.0  # the longest wait for the first-use round's sessions to be freed


def first_use_round(ctx, url: ServerURL, plans: list[Plan], sampler: ProcSampler, say) -> dict[str, Any]:
    """Open every distinct plan once (a tab of its own, playing FIRST_USE_PLAY_SECONDS, then closed), then wait
    until the server's threads are back where they were (its sessions freed) and a few seconds more.
    Returns the fresh server's RSS and threads, the RSS after, and how long it took."""
    fresh = sampler.between(0.0)
    fresh_mb, fresh_threads = statistics.median(mb for _, mb, _ in fresh), fresh[-1][2]
    t0 = sampler.now()
    for plan in dict.fromkeys(Plan(p.page, 1, p.experiment) for p in plans):
        try:
            tab = open_session(ctx, url, plan)
            press_play(tab)
            time.sleep(FIRST_USE_PLAY_SECONDS)
            tab.close()
        except Exception as e:  # noqa: BLE001  (the measured round reports a page that cannot open)
            say(f"  first use of {plan.label}: {type(e).__name__}")
    for tab in list(ctx.pages):
        tab.close()
    t_closed, stop = sampler.now(), time.monotonic() + FIRST_USE_WAIT
    while time.monotonic() < stop and settled_at(sampler.samples, t_closed, float("inf"), fresh_threads) is None:
        time.sleep(1.0)
        touch(url)
    time.sleep(3.0)
    touch(url)
    after = sampler.between(sampler.now() - 2.0)
    out = {"fresh_rss_mb": fresh_mb, "fresh_threads": fresh_threads, "rss_mb": statistics.median(mb for _, mb, _ in after),
           "seconds": sampler.now() - t0}
    say(f"first use of every page (a tab each, {FIRST_USE_PLAY_SECONDS:.0f} s playing, closed, freed): server RSS "
        f"{fresh_mb:,.0f} MB fresh, {out['rss_mb']:,.0f} MB after ({out['rss_mb'] - fresh_mb:+,.0f} MB, kept for good), "
        f"{out['seconds']:.0f} s")
    return out


def _run(ctx, url: ServerURL, plans: list[Plan], seconds: float, settle: float, stop_when_settled: bool,
         baseline_seconds: float, env: dict[str, str], say, warm: bool = False) -> dict[str, Any]:
    touch(url)
    sampler = ProcSampler(url.pid).start()
    try:
        time.sleep(baseline_seconds)
        first_use = first_use_round(ctx, url, plans, sampler, say) if warm else None
        t_base = sampler.now()
        time.sleep(baseline_seconds)
        base = sampler.between(t_base)
        baseline_mb = statistics.median(mb for _, mb, _ in base)
        baseline_threads = base[-1][2]
        say(f"server pid {url.pid}: baseline {baseline_mb:,.0f} MB RSS, {baseline_threads} threads")
        logs, tabs = [SessionLog(p) for p in plans], []
        t_open = sampler.now()
        for log in logs:
            t = time.monotonic()
            try:
                tab = open_session(ctx, url, log.plan)
                set_speed(tab, log.plan.speed)
                press_play(tab)
                tabs.append(tab)
            except Exception as e:  # noqa: BLE001  (a session that cannot open is reported, the others go on)
                log.open_error = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                tabs.append(None)
            log.opened_seconds = time.monotonic() - t
            say(f"  opened {log.plan.label} in {log.opened_seconds:.1f} s{' — ' + log.open_error if log.open_error else ''}")
            for seen_log, tab in zip(logs, tabs, strict=False):  # what the tabs open so far show meanwhile
                if tab is not None:
                    seen_log.record(sampler.now(), observe(tab), in_window=False)
        t_window = sampler.now()
        end = time.monotonic() + seconds
        while True:
            for log, tab in zip(logs, tabs, strict=True):
                if tab is not None:
                    log.record(sampler.now(), observe(tab), in_window=True)
            if time.monotonic() >= end:
                break
            time.sleep(max(0.0, min(1.0, end - time.monotonic())))
        t_close = sampler.now()
        load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        for tab in list(ctx.pages):  # every tab, those of sessions that failed to open too
            tab.close()
        say(f"  closed the tabs after {t_close - t_window:.0f} s; watching the server for up to {settle:.0f} s")
        stop = time.monotonic() + settle
        while time.monotonic() < stop:
            time.sleep(1.0)
            touch(url)
            if stop_when_settled and settled_at(sampler.samples, t_close, baseline_mb + SETTLED_MB, baseline_threads) is not None:
                time.sleep(2.0)  # a few more samples to see that it stays there
                if settled_at(sampler.samples, t_close, baseline_mb + SETTLED_MB, baseline_threads) is not None:
                    break
        t_end = sampler.now()
    finally:
        sampler.stop()
    during = sampler.between(t_open, t_close)
    after = sampler.between(t_close)
    final = after[-1] if after else (t_end, float("nan"), -1)
    sessions = [log.figures() for log in logs]
    playing = [s for s in sessions if s["steps_advanced"] is not None and not s["open_error"]]
    advanced = [s["steps_advanced"] for s in playing]
    maxed = [s["steps_advanced"] for s in playing if s["speed"] == "max" and not s["experiment"]]
    return {
        "settings": {**env, "sessions": len(plans), "seconds": seconds, "settle_seconds": settle},
        "baseline": {"rss_mb": baseline_mb, "threads": baseline_threads},
        "first_use": first_use,
        "peak": {"rss_mb": max((mb for _, mb, _ in during), default=float("nan")),
                 "threads": max((n for _, _, n in during), default=-1)},
        "server_cores_used": {"opening": sampler.cores_used(t_open, t_window), "window": sampler.cores_used(t_window, t_close),
                              "after_close": sampler.cores_used(t_close, t_end)},
        "machine": {"cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                    "load_average_1min_at_close": load_average},
        "peak_growth_mb": max((mb for _, mb, _ in during), default=baseline_mb) - baseline_mb,
        "after_close": {"seconds": final[0] - t_close, "rss_mb": final[1], "threads": final[2],
                        "settled_after_seconds": settled_at(sampler.samples, t_close, baseline_mb + SETTLED_MB, baseline_threads),
                        "threads_back_after_seconds": settled_at(sampler.samples, t_close, float("inf"), baseline_threads),
                        "min_threads": min((n for _, _, n in after), default=-1)},
        "sessions": sessions,
        "exception_elements": sum(s["exception_elements"] for s in sessions),
        "exceptions": sorted({e for s in sessions for e in s["exceptions"]}),
        "errors": sorted({e for s in sessions for e in s["errors"]}),
        "never_advanced": [Plan(s["page"], s["speed"], s["experiment"]).label for s in sessions if not s["steps_advanced"]],
        "steps_ratio": min(advanced) / max(advanced) if advanced and max(advanced) > 0 else None,
        "fairness_max": min(maxed) / max(maxed) if len(maxed) >= 2 and max(maxed) > 0 else None,
        "samples": [[round(t, 2), round(mb, 1), n] for t, mb, n in sampler.samples],
        "marks": {"sessions_open": t_open, "window": t_window, "tabs_closed": t_close, "end": t_end},
    }


def fmt(x: float | None) -> str:
    return f"{x:.2f}" if x is not None else "-"


def report(out: dict[str, Any], say=print) -> None:
    """Print the figures of run_load against the issue's targets."""
    base, after = out["baseline"], out["after_close"]
    say("session                                          advanced   steps/s  (asked)  fill  last status")
    for s in out["sessions"]:
        label = Plan(s["page"], s["speed"], s["experiment"]).label
        rate = f"{s['steps_per_sec']:9,.1f}" if s["steps_per_sec"] is not None else "        -"
        asked = f"{s['target_steps_per_sec']:8,.0f}" if s["target_steps_per_sec"] else "     max"
        fill = f"{s['fill']:5.2f}" if s["fill"] is not None else "    -"
        adv = f"{s['steps_advanced']:9,}" if s["steps_advanced"] is not None else "        -"
        say(f"  {label:46s} {adv} {rate} {asked} {fill}  {s['open_error'] or s['last_status']}")
    ratio = f"{out['steps_ratio']:.3f}" if out["steps_ratio"] is not None else "-"
    fair = f"{out['fairness_max']:.2f}" if out["fairness_max"] is not None else "-"
    say(f"steps advanced min/max over the playing sessions {ratio} (speeds differ); the default config's 'max' "
        f"sessions min/max {fair} (fairness)")
    say(f"never advanced: {', '.join(out['never_advanced']) or 'none'}")
    say(f"exception elements {out['exception_elements']} (target 0); error boxes {len(out['errors'])}")
    for text in out["exceptions"] + out["errors"]:
        say(f"  > {' '.join(text.split())[:300]}")
    cores, machine = out["server_cores_used"], out["machine"]
    say(f"server CPU in cores: {fmt(cores['opening'])} while the tabs opened, {fmt(cores['window'])} while all played, "
        f"{fmt(cores['after_close'])} after they closed (machine: {machine['cores']} cores, load average "
        f"{fmt(machine['load_average_1min_at_close'])} when the tabs closed; Chromium runs on the same cores)")
    if out.get("first_use"):
        first = out["first_use"]
        say(f"baseline after the first use of every page (fresh server {first['fresh_rss_mb']:,.0f} MB, "
            f"{first['rss_mb'] - first['fresh_rss_mb']:+,.0f} MB kept by the first use; growth from fresh: peak "
            f"{out['peak']['rss_mb'] - first['fresh_rss_mb']:+,.0f} MB, after close {after['rss_mb'] - first['fresh_rss_mb']:+,.0f} MB)")
    say(f"server RSS baseline {base['rss_mb']:,.0f} MB, peak {out['peak']['rss_mb']:,.0f} MB: growth "
        f"{out['peak_growth_mb']:,.0f} MB (target < {PEAK_GROWTH_MB:.0f}); threads baseline {base['threads']}, "
        f"peak {out['peak']['threads']}")
    settled = after["settled_after_seconds"]
    say(f"{after['seconds']:.0f} s after the tabs closed: RSS {after['rss_mb']:,.0f} MB "
        f"({after['rss_mb'] - base['rss_mb']:+,.0f} MB; target < +{SETTLED_MB:.0f}), threads {after['threads']} "
        f"(baseline {base['threads']}, fewest seen {after['min_threads']}); back to baseline "
        f"{f'after {settled:.0f} s' if settled is not None else 'not within the window'} (target within 120 s)")


def run_load_bench(quick: bool = False) -> dict[str, Any]:
    """`netarium bench load`: 8 sessions x 2 min and 120 s after (quick: 3 sessions x 20 s and 45 s after)."""
    plans, seconds, settle = (QUICK_PLANS, 20.0, 45.0) if quick else (FULL_PLANS, 120.0, 120.0)
    env = server_env(len(plans))
    print(f"netarium bench load: {len(plans)} sessions x {seconds:.0f} s on one server, then {settle:.0f} s with "
          f"the tabs closed; " + ", ".join(f"{k}={v}" for k, v in env.items()))
    try:
        out = run_load(plans, seconds, settle, env=env, warm=True)
    except TimeoutError as e:
        raise SystemExit(f"netarium bench load: {e} (server and browser stopped)") from None
    report(out)
    return out
