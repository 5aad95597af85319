"""Sweeps: many networks from the sidebar's config, differing along the axes you click, trained together
and drawn live; each member one click away in the Playground."""

import streamlit as st

from netarium.ui.live import draw_sections
from netarium.ui.session import live_run, session_sweep, show_flashes
from netarium.ui.sweeps_ui import (
    follow_open,
    read_shared_sweep,
    save_and_share,
    start_panel,
    sweep_editor,
    sweep_header,
)
from netarium.ui.views import VIEWS

follow_open()  # after "Open in Playground": go there
live = live_run()
read_shared_sweep()  # a sweep link: its base into the sidebar, its axes into the editor
st.title("Sweeps")
show_flashes()
with st.container(border=True):
    draft = sweep_editor(live.config)
    start_panel(draft)

sweep = session_sweep()
if sweep is None:
    st.info("Click fields above to make axes, then Start: the members' final numbers, curves and a table to "
            "open any of them in the Playground appear here. Saved sweeps reopen from the Runs page.")
else:
    sweep_header(sweep)
    draw_sections(live, VIEWS.for_page("sweeps", live), "sw")
save_and_share(sweep, draft)
