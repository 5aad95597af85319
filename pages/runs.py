"""Runs: the run store. Pick runs to see their curves, notes and config, compare them, export them,
and save the session's live run."""

import streamlit as st

from netarium.ui.runs_ui import (
    STORE_ERRORS,
    compare_runs,
    export_buttons,
    run_detail,
    run_picker,
    run_store,
    runs_table,
    save_live_section,
)
from netarium.ui.session import show_flashes
from netarium.ui.sweeps_ui import follow_reopen, saved_sweeps
from netarium.ui.text import plain_markdown

follow_reopen()  # after "Open on the Sweeps page": go there
st.title("Runs")
show_flashes()
try:
    store = run_store()
    records = store.list_runs(limit=1000)
except STORE_ERRORS as e:
    st.error(plain_markdown(f"The run store could not be opened: {e}"))
    st.stop()

if not records:
    st.info("No saved runs yet. Train in the Playground and save the run below, or run "
            "`netarium run <experiment> --save` in a terminal.")
else:
    runs_table(records)
    picked = run_picker(records)
    chosen = [r for r in records if r.id in picked]
    if len(chosen) == 1:
        run_detail(store, chosen[0])
    elif len(chosen) > 1:
        compare_runs(store, chosen)
    export_buttons(store, picked)

st.header("Saved sweeps")
saved_sweeps(store)

st.header("Save the current run")
save_live_section(store)
