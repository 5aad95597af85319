"""The runs page's parts: the table, the run picker, one run's details, the overlay of several,
export, and saving the session's live run. Store logic lives in `training.runs_io`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import streamlit as st

from netarium.schema import SchemaError
from netarium.training.config import parse_config
from netarium.training.runs_io import (
    export_csv,
    export_json,
    history_series,
    run_label,
    run_rows,
    save_live_run,
)
from netarium.training.store import RunRecord, RunStore, default_store_path
from netarium.ui.session import apply_config, flash, live_run
from netarium.ui.text import plain_markdown, plain_plotly
from netarium.viz.curves import curves_figure, overlay_figure

STORE = "runs.store"
PICK = "runs.pick"
TABLE = "runs.table"
STORE_ERRORS = (sqlite3.Error, OSError, RuntimeError, KeyError, ValueError)
STATE_NOTES = {  # what a streamed save's state means (runs_io.RunWriter)
    "running": "Still training in another process; its history and checkpoint are saved every few seconds.",
    "interrupted": "Its process ended before the run finished: the history and checkpoint are those of its "
                   "last save, a few seconds before it ended.",
}


def run_store() -> RunStore:
    """The session's connection to the run store at $NETARIUM_HOME (reopened when that changes)."""
    path = default_store_path()
    cached = st.session_state.get(STORE)
    if cached is None or cached.path != path:
        st.session_state[STORE] = RunStore(path)
    return st.session_state[STORE]


def guarded(action: Callable[[], str]) -> None:
    """Run a store action from a callback; flash its message, or what went wrong (never a traceback)."""
    try:
        message = action()
    except SchemaError as e:
        flash(f"Could not use that config: {e}", "error")
    except STORE_ERRORS as e:
        flash(f"The run store could not do that: {e}", "error")
    else:
        if message:
            flash(message, "success")


# ---- the table and the picker ----------------------------------------------------------------

def runs_table(records: list[RunRecord]) -> None:
    """Every stored run, newest first; selecting rows here selects them in the picker below."""
    ids = [r.id for r in records]

    def _selected() -> None:
        rows = st.session_state[TABLE].selection.rows
        st.session_state[PICK] = [ids[i] for i in rows if i < len(ids)]

    st.dataframe(run_rows(records), key=TABLE, on_select=_selected, selection_mode="multi-row", hide_index=True,
                 column_config={"final": st.column_config.NumberColumn(format="%.4f"),
                                "seconds": st.column_config.NumberColumn(format="%.1f")})


def run_picker(records: list[RunRecord]) -> list[int]:
    """The selected run ids (the multiselect is the selection; the table's rows feed it)."""
    labels = {r.id: run_label(r) for r in records}
    st.session_state[PICK] = [i for i in st.session_state.get(PICK, []) if i in labels]  # drop deleted runs
    return st.multiselect("Runs", list(labels), key=PICK, format_func=lambda i: labels[i],
                          placeholder="Pick one run to see it, several to compare")


# ---- one run ---------------------------------------------------------------------------------

def _save_notes(store: RunStore, run_id: int) -> None:
    def act() -> str:
        store.set_notes(run_id, st.session_state[f"runs.notes.{run_id}"])
        return f"Saved the notes of run #{run_id}."
    guarded(act)


def _rename(store: RunStore, run_id: int) -> None:
    def act() -> str:
        store.rename(run_id, st.session_state[f"runs.name.{run_id}"].strip())
        return f"Renamed run #{run_id}."
    guarded(act)


def _load(store: RunStore, run_id: int) -> None:
    def act() -> str:
        apply_config(parse_config(store.get_run(run_id).config), f"Loaded the config of run #{run_id} into the sidebar.")
        return ""
    guarded(act)


def _delete(store: RunStore, run_id: int) -> None:
    def act() -> str:
        store.delete_run(run_id)
        st.session_state[PICK] = [i for i in st.session_state.get(PICK, []) if i != run_id]
        return f"Deleted run #{run_id}."
    guarded(act)


def run_detail(store: RunStore, rec: RunRecord) -> None:
    """One run: status, check, curves, final numbers, config, notes, rename, load and delete."""
    st.subheader(plain_markdown(run_label(rec)), anchor=False)
    st.caption(plain_markdown(f"{rec.status} · {rec.steps:,} steps · {rec.seconds:.1f} s" + (f" · {rec.reason}" if rec.reason else "")))
    if rec.status in STATE_NOTES:
        st.info(STATE_NOTES[rec.status])
    if rec.check:
        (st.success if rec.check.get("passed") else st.error)(plain_markdown(f"Check: {rec.check.get('reason', '')}"))
    st.plotly_chart(curves_figure(history_series(store, rec.id), diverged_at=rec.steps if rec.status == "diverged" else None),
                    key=f"runs.curves.{rec.id}")
    left, right = st.columns(2, gap="medium")
    with left:
        st.markdown("**Final numbers**")
        st.dataframe([{"metric": k, "value": v} for k, v in rec.final.items()], hide_index=True)
        with st.expander("Config"):
            st.json(rec.config)
        st.button("Load config into the sidebar", key=f"runs.load.{rec.id}", on_click=_load, args=(store, rec.id),
                  help="Train this configuration again in the session's live run")
    with right:
        st.text_area("Notes", value=rec.notes, key=f"runs.notes.{rec.id}")
        st.button("Save notes", key=f"runs.save_notes.{rec.id}", on_click=_save_notes, args=(store, rec.id))
        st.text_input("Name", value=rec.name, key=f"runs.name.{rec.id}")
        st.button("Rename", key=f"runs.rename.{rec.id}", on_click=_rename, args=(store, rec.id))
        sure = st.checkbox(f"Yes, delete run #{rec.id} and its checkpoints", key=f"runs.confirm.{rec.id}")
        st.button("Delete", key=f"runs.delete.{rec.id}", on_click=_delete, args=(store, rec.id), disabled=not sure,
                  type="primary" if sure else "secondary")


# ---- several runs ----------------------------------------------------------------------------

def compare_runs(store: RunStore, records: list[RunRecord]) -> None:
    """One metric of several runs on one axis, and their final numbers side by side."""
    series = {plain_plotly(run_label(r)): history_series(store, r.id) for r in records}  # legend names
    metrics = sorted({m for s in series.values() for m in s})
    if not metrics:
        st.info("These runs have no recorded history.")
        return
    c1, c2, c3 = st.columns([2, 2, 1])
    metric = c1.selectbox("Metric", metrics, index=metrics.index("test_loss") if "test_loss" in metrics else 0,
                          key="runs.metric")
    smoothing = c2.slider("Smoothing", 0.0, 0.99, 0.0, 0.01, key="runs.smoothing")
    log_y = c3.toggle("Log y", key="runs.log_y")
    st.plotly_chart(overlay_figure(series, metric, smoothing=smoothing, log_y=log_y), key="runs.overlay")
    st.dataframe([{"run": run_label(r), **r.final} for r in records], hide_index=True)


def export_buttons(store: RunStore, ids: list[int]) -> None:
    """Download the selected runs as CSV (one row per metric point) or JSON (config, final, history)."""
    if not ids:
        st.caption("Select runs to export them as CSV or JSON.")
        return
    c1, c2 = st.columns(2)
    c1.download_button(f"Download CSV ({len(ids)} run{'s' if len(ids) > 1 else ''})", export_csv(store, ids),
                       file_name="netarium-runs.csv", mime="text/csv", key="runs.export_csv", on_click="ignore")
    c2.download_button(f"Download JSON ({len(ids)} run{'s' if len(ids) > 1 else ''})", export_json(store, ids),
                       file_name="netarium-runs.json", mime="application/json", key="runs.export_json",
                       on_click="ignore")


# ---- saving the live run ---------------------------------------------------------------------

def _save_live(store: RunStore) -> None:
    live = live_run()
    if live.run.step_count == 0:
        flash("The session's run has not trained yet: play it or step it first.", "warning")
        return

    def act() -> str:
        run_id = save_live_run(store, live, st.session_state.get("runs.save_name", ""),
                               st.session_state.get("runs.save_note", ""))
        st.session_state[PICK] = [run_id]
        st.session_state["runs.save_name"] = st.session_state["runs.save_note"] = ""
        return f"Saved the session's run as run #{run_id}."
    guarded(act)


def save_live_section(store: RunStore) -> None:
    """Name and note for the session's live run, and a button that stores it with a checkpoint."""
    status = live_run().status()
    st.caption(f"The session's run is at step {status['step']:,} ({status['state']}); saving stores its config, "
               "curves, final numbers and a checkpoint of the weights, then keeps them up to date every few seconds "
               "while it trains on (state running), until the run is reset, replaced or saved again (done).")
    st.text_input("Name", key="runs.save_name", placeholder="e.g. spiral, 3 layers, tanh")
    st.text_area("Note", key="runs.save_note", placeholder="what you tried and what you saw")
    st.button("Save the current run", key="runs.save", on_click=_save_live, args=(store,), type="primary",
              disabled=status["step"] == 0, help="Train a few steps first" if status["step"] == 0 else None)
