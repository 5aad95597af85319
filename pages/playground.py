"""Playground: TensorFlow Playground, grown up. The network, its output and its curves, live."""

import streamlit as st

from netarium.ui.lesson import lesson_header, lesson_panel
from netarium.ui.live import draw_section, draw_sections
from netarium.ui.playground_controls import layer_controls
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import VIEWS

live = live_run()
show_flashes()
lesson_header()
sections = VIEWS.shown("playground", live)  # saying what it needs where the run lacks it; a model family's own view only for it

left, right = st.columns([3, 2], gap="medium")
with left:
    layer_controls(live)
for column, box in (("left", left), ("right", right)):
    with box:
        for section in sections:
            if section.place.column == column:
                draw_section(live, section, "pg", titled=False)
draw_sections(live, [s for s in sections if s.place.column == "full"], "pg", titled=False)
lesson_panel(live)
