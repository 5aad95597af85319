"""Experiments: every registered phenomenon as a card; Open loads its preset, Check trains and judges it."""

import streamlit as st

from netarium.experiments import EXPERIMENTS
from netarium.ui.experiments_ui import experiment_card, follow_open
from netarium.ui.session import show_flashes

follow_open()  # after Open: go to the page that shows the experiment
st.title("Experiments")
show_flashes()
st.write(
    "Each experiment is a preset configuration from a paper plus a check that says whether the "
    "phenomenon showed up. **Open** loads the preset into the sidebar and goes to the page that shows "
    "it best; **Check** trains the preset in the background and judges it, with the numbers."
)

for exp in EXPERIMENTS:
    experiment_card(exp)

st.caption("The same checks run headless: `netarium run <id> --check`.")
