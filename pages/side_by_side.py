"""Side by side: 2-4 views of the same live run; each slot offers only the views that apply."""

import streamlit as st

from netarium.ui.live import view_fragment
from netarium.ui.session import live_run, show_flashes
from netarium.ui.views import VIEWS, ViewContext, draw_view

live = live_run()
show_flashes()
views = VIEWS.applicable(live)
ids = [v.id for v in views]
slots = st.segmented_control("Slots", [2, 3, 4], default=st.session_state.get("sbs.n", 2), key="sbs.n") or 2
defaults = ["boundary", "network", "curves", "confusion"]
defaults = [d for d in defaults if d in ids] + [i for i in ids if i not in defaults]
pickers = st.columns(2)
chosen = []
for i in range(slots):
    default = defaults[i % len(defaults)]
    chosen.append(pickers[i % 2].selectbox(f"Slot {i + 1}", ids, index=ids.index(default), key=f"sbs.slot{i}",
                                           format_func=lambda v: VIEWS.get(v).title))


def slot(view_id: str, key: str):
    view = VIEWS.get(view_id)
    return lambda snap: draw_view(view, ViewContext(live, snap, key=key))


for row in range(0, slots, 2):
    for col, (i, view_id) in zip(st.columns(2, gap="medium"), list(enumerate(chosen))[row : row + 2], strict=False):
        with col:
            st.markdown(f"**{VIEWS.get(view_id).title}**")
            view_fragment(live, VIEWS.get(view_id), slot(view_id, f"sbs.{i}.{view_id}"))
