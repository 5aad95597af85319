"""The browser session's state: its one LiveRun and its sweep (live or reopened), the one path that
applies a config to the run, flash messages, URL sync."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TypeVar

# plotly reads sys.modules["pandas"] while it builds a figure: a half-imported pandas (another
# thread importing it) broke the first draw when Streamlit ran the page's fragments in parallel.
import pandas  # noqa: F401
import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from netarium.experiments import EXPERIMENTS
from netarium.schema import SchemaError
from netarium.training.budget import BudgetError
from netarium.training.config import Config
from netarium.training.heap import give_back_memory
from netarium.training.live import Change, LiveRun
from netarium.training.live_sweep import LiveSweep, StoredSweep
from netarium.training.sessions import SESSIONS, SessionsFull, seconds_text
from netarium.ui.errors import failure_sentence
from netarium.ui.text import plain_markdown
from netarium.ui.tfp_link import decode_link
from netarium.ui.urlstate import DecodedURL, Lesson, config_to_query, lesson_to_query

LIVE = "netarium.live"
FLASH = "netarium.flash"
HIDDEN = "netarium.hidden"
SWEEP = "netarium.sweep"  # the session's sweep: a LiveSweep, or a StoredSweep reopened from the store
SHARED_SWEEP = "netarium.shared_sweep"  # a link's `sweep` parameter, as text, until the Sweeps page reads it
SWEEP_PARAM = "sweep"
LESSON = "netarium.lesson"  # the lesson's title and text (ui/urlstate.py Lesson), from the link
PRESETS = "netarium.presets"  # view toggles a link set: {"values": {control: bool}, "applied": {widget keys}}
T = TypeVar("T")
HOP = "netarium.hop"  # set on the run that sends the hash-hop script (ui/lesson.py): the URL is left alone


# Move everything imported so far (torch, plotly, streamlit...) out of the collector's reach: the
# training thread's garbage then never triggers a full collection over those millions of objects.
gc.freeze()


def default_config() -> Config:
    """What a fresh session trains: the playground experiment's preset."""
    return EXPERIMENTS.get("playground").config


def live_run() -> LiveRun:
    """The session's LiveRun, created on first use from the URL (validated) or the default; one the server
    freed (no page open for NETARIUM_SESSION_FREE_SECONDS) is built again from its config, at step 0, and
    the session is told so once. A server holding NETARIUM_MAX_SESSIONS live runs already builds nothing:
    the page says it is busy and stops there."""
    live = st.session_state.get(LIVE)
    if live is not None:
        if live.freed:
            try:
                flash(admitted(live.revive), "warning")
            except SchemaError as e:  # the server's memory budget is taken (BudgetError)
                busy(f"This session's run was freed and cannot start again now: {e}")
        return live
    params = dict(st.query_params.to_dict())
    if SWEEP_PARAM in params:  # a sweep link: the Sweeps page decodes it (ui/sweeps_ui.py)
        st.session_state[SHARED_SWEEP] = params.pop(SWEEP_PARAM)
    decoded, tfp = decode_link(params, base=default_config())
    if decoded.config.task.name == "csv":  # a link carries no file (urlstate refuses path and upload)
        decoded.notices.append("A link cannot carry a CSV file; choose the csv task and upload the file in the sidebar.")
        decoded.config = decoded.config.model_copy(update={"task": default_config().task})
    try:
        live = admitted(lambda: LiveRun(decoded.config))
    except BudgetError as e:  # nothing of it was allocated
        decoded.notices.append(f"The link's run does not fit this server: {e.problem}. Loaded the default instead.")
        live = admitted(lambda: LiveRun(default_config()))
    except SchemaError as e:  # a config the codec accepted that still cannot be built
        decoded.notices.append(f"The link's settings could not be used ({e}); loaded the default instead.")
        live = admitted(lambda: LiveRun(default_config()))
    live.follow_connection(browser_connection())
    live.on_free.append(session_closer())
    st.session_state[LIVE] = live
    if live.note:  # the link's loss could not serve its task: it went back to auto
        decoded.notices.append(live.note.strip())
    adopt_link(decoded, tfp)
    return live


def browser_connection() -> Callable[[], bool] | None:
    """Whether this session's browser is still connected (Streamlit's runtime, callable from any thread);
    None where there is no runtime (AppTest): the pages' ticks alone then say it."""
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)


def session_closer() -> Callable[[], None]:
    """What the server does once it has freed this session's run: if the browser is gone, Streamlit's own
    state of the session (widgets, cached figures) is dropped too, instead of waiting for a reconnection
    that only a page reload would attempt (Streamlit keeps a disconnected session until a later connection
    happens to evict it), and the memory goes back to the system."""
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return lambda: None
    runtime, session_id = Runtime.instance(), ctx.session_id

    def close_if_gone() -> None:
        if not runtime.is_active_session(session_id):
            runtime.close_session(session_id)
            threading.Timer(1.0, give_back_memory).start()

    def close() -> None:
        # Runtime.close_session must run on the server's event loop; Streamlit has no public handle on it
        loop = runtime._get_async_objs().eventloop  # noqa: SLF001
        loop.call_soon_threadsafe(close_if_gone)

    return close


def admitted(build: Callable[[], T]) -> T:
    """build() a session's run if the server takes one more live session (training/sessions.py); else the
    page says the server is busy, and nothing else."""
    try:
        return SESSIONS.admit(build)
    except SessionsFull as e:
        busy(str(e))
        raise  # not reached: busy() stops the script


def busy(message: str) -> None:
    """Say why this page cannot train now, plainly, and stop the script there."""
    st.warning(plain_markdown(message), icon=":material/hourglass_top:")
    st.stop()


def adopt_link(decoded: DecodedURL, tfp: bool = False) -> None:
    """Take a link's hidden controls, lesson and view toggles into the session, and queue its notices."""
    st.session_state[HIDDEN] = set(decoded.hidden)
    st.session_state[LESSON] = decoded.lesson
    st.session_state[PRESETS] = {"values": dict(decoded.toggles), "applied": set()}
    if tfp:
        flash("Opened a TensorFlow Playground link: its data, network, learning rate, regularization, batch size "
              "and hidden controls.", "info")
    for notice in decoded.notices:
        flash(notice, "warning")


def session_lesson() -> Lesson:
    """The lesson (title and text) the session's link carried; empty without one."""
    return st.session_state.get(LESSON) or Lesson()


def session_sweep() -> LiveSweep | StoredSweep | None:
    """The session's sweep: the one started on the Sweeps page, or a saved one reopened there. A live
    sweep the server freed (no page open for a while) is dropped, and the session told so once."""
    sweep = st.session_state.get(SWEEP)
    if isinstance(sweep, LiveSweep) and sweep.freed:
        st.session_state[SWEEP] = None
        flash(f"This session's sweep was freed after {seconds_text(sweep.freed_after)} without a page open; "
              "start it again on the Sweeps page.", "warning")
        return None
    return sweep


@contextmanager
def watched(live: LiveRun) -> Iterator[None]:
    """While a page (or a fragment) of the session draws, its run and live sweep count as watched: a page
    that takes long to draw under load never lets them pause as a closed tab's would (training/sessions.py)."""
    sweep = st.session_state.get(SWEEP)
    with live.watching(), (sweep.watching() if isinstance(sweep, LiveSweep) and not sweep.freed else nullcontext()):
        yield


def set_session_sweep(sweep: LiveSweep | StoredSweep | None) -> None:
    """Replace the session's sweep; a live one it replaces stops training and is closed."""
    old = st.session_state.get(SWEEP)
    if old is not None and old is not sweep:
        old.close()
    st.session_state[SWEEP] = sweep


def hidden_controls() -> set[str]:
    """Dotted control keys a lesson link hid with `<key>_hide=true`."""
    return st.session_state.get(HIDDEN, set())


def apply_config(config: Config, why: str = "") -> Change | None:
    """The one path from any control (sidebar, the Playground's +/- buttons, an experiment's Open, a
    saved run's config) to the live run: applied live or re-initialised (LiveRun.apply), and said once.

    A refused config (SchemaError) or a run that cannot be built keeps the old run and says why. With
    `why` (a load that may switch pages) that text is the notice; else the change's own message.
    The widgets follow the new config by themselves (ui/widgets.py).
    """
    live = live_run()
    try:
        change = live.apply(config)
    except SchemaError as e:
        flash(f"Not applied: {e}", "error")
        return None
    except (RuntimeError, ValueError, MemoryError) as e:  # e.g. a network too large for memory
        flash(failure_sentence("Not applied: the run could not be built", e), "error")
        return None
    if why:
        flash(why, "info")
    elif change.kind != "none":
        flash(change.message, "reinit" if change.kind == "reinit" else "live")
    return change


def flash(message: str, kind: str = "info") -> None:
    """Queue a message to show once at the top of the next render (pages show them after the sidebar,
    so what the sidebar queues shows in the same render)."""
    st.session_state.setdefault(FLASH, []).append((kind, message))


TOAST_ICONS = {"live": ":material/check:", "reinit": ":material/replay:"}


def show_flashes() -> None:
    """Show and clear the queued messages: a config change as a toast, the rest as a box."""
    for kind, message in st.session_state.pop(FLASH, []):
        if kind in TOAST_ICONS:
            st.toast(plain_markdown(message), icon=TOAST_ICONS[kind])
        else:  # messages quote names, links' values and errors: shown as typed, never as markdown
            {"warning": st.warning, "error": st.error, "success": st.success}.get(kind, st.info)(plain_markdown(message))


def sync_url(config: Config) -> None:
    """Keep the whole config (and hidden controls) in the query string, so a link reproduces it."""
    if st.session_state.pop(HOP, False):  # the hash-hop script may still read this address's #hash
        return
    params = config_to_query(config, base=default_config())
    params.update({f"{key}_hide": "true" for key in sorted(hidden_controls())})
    params.update(lesson_to_query(session_lesson()))
    if dict(st.query_params.to_dict()) != params:
        st.query_params.from_dict(params)
