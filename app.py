"""Netarium in the browser (`netarium app`, or `streamlit run app.py`): navigation over pages/."""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="Netarium", layout="wide")
st.navigation([st.Page(PAGES / "home.py", title="Home", icon=":material/home:", default=True)]).run()
