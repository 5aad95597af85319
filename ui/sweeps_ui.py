"""The Sweeps page's parts: the sweep editor (fields clicked into axes with sensible default ranges, axis
text checked as you type, seeds, grid or random), the member count and time estimate, start / play /
pause / stop with live progress, the member selection shared by the sweep views, "Open in Playground",
save and share; and the Runs page's list of saved sweeps.

The drawings themselves are views (ui/views/sweeps.py) that read the session's sweep (ui/session.py).
"""

from __future__ import annotations

import json
import math
from typing import Any

import streamlit as st
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from netarium.schema import SchemaError, browser_settable
from netarium.training.budget import MB, SESSION_MEMORY, limit
from netarium.training.budget import size as memory_size
from netarium.training.config import Config
from netarium.training.live_sweep import Estimate, LiveSweep, StoredSweep, estimate
from netarium.training.runs_io import load_sweep_result, save_sweep_result, sweep_rows
from netarium.training.store import RunStore
from netarium.training.sweep import MAX_MEMBERS, Sweep, parse_axis
from netarium.training.sweep_run import MEMBER_HISTORY_POINTS
from netarium.ui.runs_ui import guarded, run_store
from netarium.ui.session import (
    SHARED_SWEEP,
    SWEEP_PARAM,
    apply_config,
    browser_connection,
    flash,
    live_run,
    session_sweep,
    set_session_sweep,
)
from netarium.ui.sidebar import RUN_FIELDS
from netarium.ui.text import plain_markdown
from netarium.ui.transport import refresh_seconds
from netarium.ui.urlstate import field_kind, query_to_sweep, sweep_share_url
from netarium.ui.widgets import LOG_SLIDER_FIELDS, clamped_int, pretty_label
from netarium.viz.sweeps import SweepMember, members_of

AXES = "sweeps.axes"  # ids of the draft's axes, in order; each axis's text is in f"sweeps.axis.{id}"
NEXT_ID = "sweeps.next_axis"
SEEDS, MODE, SAMPLES, STEPS = "sweeps.seeds", "sweeps.mode", "sweeps.samples", "sweeps.steps"
EVALS = "sweeps.evals"  # evaluations per member: the points of its curves
SELECTED = "sweeps.selected"  # the picked member's index (charts and the member table set it)
OPENING = "sweeps.opening"  # set by "Open in Playground": the page switches to the Playground
REOPENING = "sweeps.reopening"  # set by the Runs page's "Open on the Sweeps page"
DRAWN_PLAYING = "sweeps.drawn_playing"
ESTIMATES = "sweeps.estimates"
GROUPS = {"task": "Data", "model": "Network", "optimizer": "Optimizer", "trainer": "Trainer"}
DEFAULT_EVALS = 50
WIDTHS = (2, 4, 8, 16)  # a width axis's default values
POINTS = 5  # points of a default log or lin range
PLAYGROUND = "pages/playground.py"
SWEEPS_PAGE = "pages/sweeps.py"


# ---- fields and their default axes -------------------------------------------------------------

def field_of(config: Config, key: str) -> tuple[FieldInfo, Any]:
    """(the schema field, its current value) of a dotted key of `config`."""
    head, _, name = key.partition(".")
    if name:
        params = getattr(config, head)
        return type(params).model_fields[name], getattr(params, name)
    return Config.model_fields[head], getattr(config, head)


def sweepable(config: Config) -> dict[str, list[str]]:
    """The keys a sweep can vary, by group: every browser-settable field of the config's task, model,
    optimizer and trainer, and the run's own training fields (loss, L1, L2, batch size, seed)."""
    out = {}
    for section, title in GROUPS.items():
        fields = type(getattr(config, section)).model_fields
        keys = [f"{section}.{n}" for n, info in fields.items() if browser_settable(info)]
        if keys:
            out[title] = keys
    out["Training"] = list(RUN_FIELDS)
    return out


def _is_rate(name: str, info: FieldInfo) -> bool:
    return name in LOG_SLIDER_FIELDS or "rate" in (info.description or "").lower()


def default_values(key: str, info: FieldInfo, current: Any) -> str:
    """The VALUES part of a new axis on this field, read from its schema: the choices of a choice field,
    true,false, sizes 2..16 (widths at the current depth for a list of them), the current value and the next
    three for a whole number from 0 (a seed), half to twice it for other whole numbers, a log range around the
    current value for rates and for numbers that span decades (5 points), a lin range over a bounded float."""
    kind = field_kind(info)
    name = key.rpartition(".")[2]
    if kind.kind == "bool":
        return "true,false"
    if kind.choices or (kind.item is not None and kind.item.choices):
        return ",".join(str(c) for c in (kind.choices or kind.item.choices))
    if kind.kind == "list":
        if kind.item is not None and kind.item.kind == "int":
            depth = max(len(current or []), 1)
            return ",".join("[" + ",".join([str(w)] * depth) + "]" for w in WIDTHS)
        return json.dumps(current, separators=(",", ":"))
    if kind.kind == "int":
        lo, hi, cur = kind.lo, kind.hi, int(current)
        fits = [w for w in WIDTHS if lo is not None and lo >= 1 and w >= lo and (hi is None or w <= hi)]
        if len(fits) > 1:  # a size (at least 1): 2..16
            return ",".join(map(str, fits))
        if not lo:  # from 0 (a seed, say): the current value and the next three
            return f"int:{cur}:{cur + 3 if hi is None else min(cur + 3, int(hi))}:4"
        return ",".join(str(v) for v in sorted({max(int(lo), cur // 2), cur, cur * 2 if hi is None else min(int(hi), cur * 2)}))
    if kind.kind == "float":
        lo, hi, cur = kind.lo, kind.hi, float(current)
        decades = hi is not None and hi >= 1 and (cur == 0 or hi / cur >= 100)
        if lo is not None and lo >= 0 and (_is_rate(name, info) or decades):
            top = hi if hi is not None else 1.0
            a, b = (cur / 10, cur * 10) if cur > 0 else (top * 1e-5, top * 1e-1)
            if hi is not None:
                b = min(b, hi * (0.999 if kind.hi_open else 1.0))
            return f"log:{a:g}:{b:g}:{POINTS}"
        if lo is not None and hi is not None:
            pad = (hi - lo) / (POINTS + 1)
            return f"lin:{lo + pad * kind.lo_open:g}:{hi - pad * kind.hi_open:g}:{POINTS}"
        return f"lin:{cur / 2:g}:{cur * 2 if cur else 1:g}:{POINTS}"
    return str(current)


def default_axis(config: Config, key: str) -> str:
    """"key=VALUES", an axis on `key` with its default values."""
    info, current = field_of(config, key)
    return f"{key}={default_values(key, info, current)}"


# ---- the draft --------------------------------------------------------------------------------

def axis_ids() -> list[int]:
    return st.session_state.setdefault(AXES, [])


def add_axis(text: str) -> None:
    """Append an axis to the draft."""
    n = st.session_state.get(NEXT_ID, 0)
    st.session_state[NEXT_ID] = n + 1
    st.session_state[f"sweeps.axis.{n}"] = text
    st.session_state[AXES] = [*axis_ids(), n]


def _pill_picked(pill_key: str, config: Config) -> None:
    key = st.session_state.get(pill_key)
    if key:
        add_axis(default_axis(config, key))
    st.session_state[pill_key] = None


def _remove_axis(n: int) -> None:
    st.session_state[AXES] = [i for i in axis_ids() if i != n]


def load_draft(sweep: Sweep) -> None:
    """Make `sweep`'s axes, seeds, mode, draws and steps the draft's."""
    st.session_state[AXES] = []
    for axis in sweep.axes:
        add_axis(axis.spec())
    st.session_state[SEEDS] = sweep.seeds
    st.session_state[MODE] = sweep.mode
    st.session_state[SAMPLES] = sweep.samples
    st.session_state[STEPS] = sweep.base.steps
    if sweep.base.eval_every:
        st.session_state[EVALS] = max(1, min(MEMBER_HISTORY_POINTS, sweep.base.steps // sweep.base.eval_every))


def _draft_keys() -> list[str]:
    keys = []
    for n in axis_ids():
        head = st.session_state.get(f"sweeps.axis.{n}", "").partition("=")[0].strip()
        keys.append(head)
    return keys


def build_sweep(config: Config, texts: list[str], *, seeds: int, mode: str, samples: int) -> tuple[Sweep | None, dict[int, str], str]:
    """(the Sweep, {} , "") from the draft, or (None, {axis position: error}, error about the whole)."""
    errors: dict[int, str] = {}
    axes = []
    for i, text in enumerate(texts):
        try:
            axes.append(parse_axis(text))
        except SchemaError as e:
            errors[i] = str(e)
    if errors:
        return None, errors, ""
    if not axes and seeds < 2:
        return None, {}, "Add an axis (click a field above) or ask for more than one seed."
    try:
        sweep = Sweep(base=config, axes=axes, seeds=seeds, mode=mode, samples=samples)
    except ValidationError as e:
        return None, {}, str(e.errors()[0]["msg"]).removeprefix("Value error, ")
    try:
        sweep.members()
    except SchemaError as e:
        keys = [a.key for a in axes]
        where = e.key.removeprefix("axis ")
        if where in keys:
            return None, {keys.index(where): str(e)}, ""
        return None, {}, str(e)
    return sweep, {}, ""


def sweep_editor(config: Config) -> Sweep | None:
    """Click fields to add axes (default ranges from their schemas), edit each axis's values, set the seeds,
    grid or random draws and the steps; returns the valid Sweep on the sidebar's config, or None (the
    errors shown under the axis they concern)."""
    st.caption("The sweep starts from the sidebar's config. Click a field to sweep it; edit its values as "
               "`a,b,c`, `log:LO:HI:N`, `lin:LO:HI:N` or `int:LO:HI:N` (a list value in brackets: `[8,8],[16,16]`).")
    taken = set(_draft_keys())
    for title, keys in sweepable(config).items():
        free = [k for k in keys if k not in taken]
        if free:
            pill_key = f"sweeps.add.{title}"
            st.pills(title, free, key=pill_key, format_func=lambda k: pretty_label(k.rpartition(".")[2]),
                     on_change=_pill_picked, args=(pill_key, config))
    texts = []
    for n in axis_ids():
        texts.append(st.session_state.get(f"sweeps.axis.{n}", ""))
    for name, default in ((SEEDS, 1), (MODE, "grid"), (SAMPLES, 8), (STEPS, config.steps), (EVALS, DEFAULT_EVALS)):
        st.session_state.setdefault(name, default)
    c1, c2, c3, c4, c5 = st.columns(5)
    seeds = clamped_int(c1, "Seeds per point", 1, MAX_MEMBERS, key=SEEDS, help="Every point trains with seeds base + 0, 1, ...")
    mode = c2.segmented_control("Points", ["grid", "random"], key=MODE, help="grid: every combination; random: N draws") or "grid"
    samples = clamped_int(c3, "Random draws", 1, MAX_MEMBERS, key=SAMPLES, disabled=mode != "random")
    steps = clamped_int(c4, "Steps per member", 1, 100_000_000, key=STEPS)
    evals = clamped_int(c5, "Evaluations", 1, MEMBER_HISTORY_POINTS, key=EVALS,
                        help="How often each member measures its train and test numbers: the points of its curves")
    base = config.model_copy(update={"steps": int(steps), "eval_every": max(1, int(steps) // int(evals))})
    sweep, errors, problem = build_sweep(base, texts, seeds=int(seeds), mode=mode, samples=int(samples))
    for i, n in enumerate(axis_ids()):
        a, b = st.columns([12, 1], vertical_alignment="bottom")
        a.text_input(f"Axis {i + 1}", key=f"sweeps.axis.{n}")
        b.button(":material/close:", key=f"sweeps.remove.{n}", on_click=_remove_axis, args=(n,), help="Remove this axis")
        if i in errors:
            st.error(errors[i])
    if problem:
        st.error(problem)
    return sweep


# ---- estimate and start -----------------------------------------------------------------------

def duration(seconds: float) -> str:
    """"45 s", "3 min 20 s", "2 h 5 min"."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def cached_estimate(sweep: Sweep) -> Estimate:
    """The estimate of this sweep, measured once per sweep definition in the session."""
    cache = st.session_state.setdefault(ESTIMATES, {})
    key = sweep.to_json()
    if key not in cache:
        if len(cache) > 32:
            cache.clear()
        cache[key] = estimate(sweep, owner=live_run())
    return cache[key]


def _start(sweep: Sweep) -> None:
    live = live_run()
    if live.playing:
        live.pause()
        flash("Paused the session's run so that the sweep has the CPU.", "info")
    try:
        new = LiveSweep(sweep, owner=live_run())
        new.follow_connection(browser_connection())
    except (SchemaError, RuntimeError, ValueError, MemoryError) as e:
        flash(f"The sweep could not start: {e}", "error")
        return
    set_session_sweep(new)
    st.session_state[SELECTED] = None
    new.play()


def start_panel(sweep: Sweep | None) -> None:
    """The member count, the estimated time (measured on one member) and Start."""
    if sweep is None:
        return
    size, steps = sweep.size(), sweep.base.steps
    left, right = st.columns([4, 1], vertical_alignment="center")
    try:
        est = cached_estimate(sweep)
        guess = f"about **{duration(est.seconds)}** (an estimate: one member alone ran {est.rate:,.0f} steps/s here)"
        if est.cost is not None:
            guess += f" · memory about {memory_size(est.cost.bytes)} of the session's {memory_size(limit(SESSION_MEMORY) * MB)}"
    except (SchemaError, RuntimeError, ValueError, MemoryError) as e:
        guess = f"no estimate ({e})"
    left.markdown(f"**{size:,} member{'s' if size != 1 else ''}** × {steps:,} steps: {guess}")
    running = session_sweep()
    busy = isinstance(running, LiveSweep) and running.playing
    right.button("Start", key="sweeps.start", type="primary", on_click=_start, args=(sweep,), width="stretch",
                 help="Train this sweep (replaces the session's current sweep" + (", which is still training)" if busy else ")"))


# ---- the session's sweep: transport, progress ---------------------------------------------------

def progress_text(sweep: LiveSweep | StoredSweep) -> str:
    """"3/6 members done · step 120 of 300 · 410 steps/s · about 1 min 2 s left (measured)"."""
    p = sweep.progress()
    parts = [f"{p.finished}/{p.members} members done", f"step {p.step:,} of {p.steps:,}"]
    if p.diverged:
        parts.append(f"{p.diverged} diverged")
    if p.steps_per_sec > 0:
        parts.append(f"{p.steps_per_sec:,.0f} sweep steps/s")
    if p.state in ("done", "diverged", "saved"):
        parts.append(f"{p.state} in {duration(p.seconds)}")
    elif p.seconds_left is not None:
        parts.append(f"about {duration(p.seconds_left)} left at the measured rate")
    else:
        parts.append(p.state)
    return " · ".join(parts)


def sweep_header(sweep: LiveSweep | StoredSweep) -> None:
    """Which sweep this is, its play / pause / step / stop buttons, and a progress bar that refreshes itself."""
    axes = ", ".join(a.key for a in sweep.sweep.axes) or "seeds"
    st.session_state[DRAWN_PLAYING] = sweep.playing  # what the buttons below show
    if isinstance(sweep, StoredSweep):
        st.subheader(plain_markdown(f"Saved sweep #{sweep.sweep_id}" + (f" · {sweep.name}" if sweep.name else "")),
                     anchor=False)
        st.caption(f"over {axes}; reopened from the run store")
    else:
        st.subheader("The session's sweep")
        st.caption(f"over {axes}; {sweep.size:,} members")
        if not sweep.stopped and sweep.progress().state not in ("done", "diverged"):
            c1, c2, c3, _ = st.columns([1, 1, 1, 5])
            if sweep.playing:
                c1.button(":material/pause:", key="sweeps.pause", on_click=sweep.pause, help="Pause", width="stretch")
            else:
                c1.button(":material/play_arrow:", key="sweeps.play", on_click=sweep.play, help="Play", width="stretch")
            c2.button(":material/skip_next:", key="sweeps.step", on_click=sweep.step, args=(10,), width="stretch",
                      help="Train 10 steps and pause")
            c3.button(":material/stop:", key="sweeps.stop", on_click=sweep.stop, width="stretch",
                      help="Stop for good (what was trained stays: you can still save it)")

    @st.fragment(run_every=refresh_seconds() if sweep.playing else None)
    def _progress() -> None:
        if getattr(sweep, "freed", False):  # freed while this page was away: redraw it all (the session drops it)
            st.rerun()
        p = sweep.progress()
        st.progress(p.fraction, text=progress_text(sweep))
        if sweep.playing != st.session_state.get(DRAWN_PLAYING, sweep.playing):
            st.rerun()  # it finished (or paused itself): redraw the page once, buttons and polling

    _progress()


# ---- members: the shared selection and "Open in Playground" --------------------------------------

def sweep_members() -> list[SweepMember]:
    """The session's sweep's members as of now (cached per result)."""
    sweep = session_sweep()
    if sweep is None:
        return []
    result = sweep.current()
    held = st.session_state.get("sweeps.members")
    if held is None or held[0] is not result:
        held = st.session_state["sweeps.members"] = (result, members_of(result.members))
    return held[1]


def selected_member() -> int | None:
    return st.session_state.get(SELECTED)


def _event_member(event: Any) -> int | None:
    """The member index a plotly selection event picked (the customdata of its first point), or None."""
    selection = event.get("selection", {}) if isinstance(event, dict) else getattr(event, "selection", None)
    points = (selection or {}).get("points", []) if isinstance(selection, dict) else getattr(selection, "points", []) or []
    for p in points:
        data = p.get("customdata") if isinstance(p, dict) else None
        if isinstance(data, dict):  # typed arrays come back as {"0": value}
            data = data.get("0")
        if isinstance(data, list | tuple):
            data = data[0] if data else None
        if isinstance(data, int | float) and not isinstance(data, bool) and math.isfinite(data):
            return int(data)
    return None


def pick_from_chart(event: Any, key: str) -> None:
    """Make the member a chart's click picked the selected one, and redraw the page so every view shows it
    (only a new pick counts: a chart keeps reporting its last selection)."""
    picked = _event_member(event)
    seen = f"{key}.seen"
    if picked is not None and picked != st.session_state.get(seen):
        st.session_state[seen] = picked
        st.session_state[SELECTED] = picked
        st.rerun()
    if picked is None:
        st.session_state[seen] = None


def select(index: int | None) -> None:
    """Select a member (from a table or a picker) and redraw the page if that changed the selection."""
    if index is not None and index != selected_member():
        st.session_state[SELECTED] = index
        st.rerun()


def open_member(config: Config, label: str) -> None:
    """Load a member's exact Config (seed included) into the session's run at step 0, so it trains as it
    did in the sweep (same data, same initial weights); the page then goes to the Playground."""
    change = apply_config(config, f"Opened sweep member {label} in the Playground: its config, seed included, "
                                  "at step 0 (same data, same initial weights as in the sweep).")
    if change is None:
        return
    if change.kind != "reinit":  # only live keys (learning rate, steps) changed: start over, same weights
        live_run().restart()
    st.session_state[OPENING] = True


def follow_open() -> None:
    """After "Open in Playground": switch to the Playground (its notice shows there)."""
    if st.session_state.pop(OPENING, False):
        st.switch_page(PLAYGROUND)


# ---- save, share, a link's sweep ---------------------------------------------------------------

def _save(sweep: LiveSweep) -> None:
    def act() -> str:
        result = sweep.result()
        sweep_id = save_sweep_result(run_store(), result, st.session_state.get("sweeps.save_name", "").strip())
        st.session_state["sweeps.save_name"] = ""
        return f"Saved the sweep as sweep #{sweep_id} ({len(result.members)} members); the Runs page lists it."
    guarded(act)


def save_and_share(sweep: LiveSweep | StoredSweep | None, draft: Sweep | None) -> None:
    """Save the session's live sweep to the run store (name), and a link with the sweep in it (the session's
    sweep, else the draft)."""
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    with left:
        if isinstance(sweep, LiveSweep):
            step = sweep.progress().step
            c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
            c1.text_input("Name", key="sweeps.save_name", placeholder="e.g. lr x width on the spiral")
            c2.button("Save the sweep", key="sweeps.save", on_click=_save, args=(sweep,), disabled=step == 0, width="stretch",
                      help="Store its definition and every member's config, curves and final numbers" if step else
                      "Train a few steps first")
        elif isinstance(sweep, StoredSweep):
            st.caption(f"This sweep is saved in the run store as sweep #{sweep.sweep_id}.")
    shared = sweep.sweep if sweep is not None else draft
    with right, st.popover("Share", width="stretch", disabled=shared is None):
        if shared is not None:
            st.caption("This link opens the Sweeps page with this sweep (its base config and axes):")
            st.code(sweep_share_url(st.context.url or "", shared, SWEEP_PARAM), language=None, wrap_lines=True)


def read_shared_sweep() -> None:
    """A sweep link's sweep (kept by ui/session.py when the session began), validated: its base config
    goes into the sidebar and its axes into the editor; an invalid one is not loaded and a notice says why."""
    text = st.session_state.pop(SHARED_SWEEP, None)
    if text is None:
        return
    sweep, why = query_to_sweep(text)
    if sweep is None:
        flash(f"The link's sweep was not loaded: {why}.", "warning")
        return
    load_draft(sweep)
    apply_config(sweep.base, f"Loaded the linked sweep ({sweep.size():,} members): its base config is in the sidebar and "
                             "its axes below; press Start to train it.")


# ---- the Runs page: saved sweeps ---------------------------------------------------------------

def _reopen(store: RunStore, sweep_id: int) -> None:
    def act() -> str:
        records = {r.id: r for r in store.list_sweeps()}
        set_session_sweep(StoredSweep(load_sweep_result(store, sweep_id), sweep_id, records[sweep_id].name))
        st.session_state[SELECTED] = None
        st.session_state[REOPENING] = True
        return ""
    guarded(act)


def _delete_sweep(store: RunStore, sweep_id: int) -> None:
    def act() -> str:
        store.delete_sweep(sweep_id)
        current = session_sweep()
        if isinstance(current, StoredSweep) and current.sweep_id == sweep_id:
            set_session_sweep(None)
        return f"Deleted sweep #{sweep_id} and its members."
    guarded(act)


def follow_reopen() -> None:
    """After "Open on the Sweeps page": switch there."""
    if st.session_state.pop(REOPENING, False):
        st.switch_page(SWEEPS_PAGE)


def saved_sweeps(store: RunStore) -> None:
    """Saved sweeps (name, members, axes, when); reopen one on the Sweeps page, or delete it."""
    records = store.list_sweeps()
    if not records:
        st.caption("No saved sweeps yet: train one on the Sweeps page and save it there.")
        return
    st.dataframe(sweep_rows(records), hide_index=True, key="runs.sweeps_table")
    labels = {r.id: f"#{r.id} {r.name or '(unnamed)'} · {r.size} members" for r in records}
    picked = st.selectbox("Sweep", list(labels), format_func=lambda i: labels[i], key="runs.sweep")
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    c1.button("Open on the Sweeps page", key="runs.sweep_open", on_click=_reopen, args=(store, picked), type="primary",
              help="Draw it there as it was saved (members openable); replaces the session's sweep")
    sure = c2.checkbox(f"Yes, delete sweep #{picked}", key=f"runs.sweep_confirm.{picked}")
    c3.button("Delete", key="runs.sweep_delete", on_click=_delete_sweep, args=(store, picked), disabled=not sure)
