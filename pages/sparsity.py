"""Connectivity: the sparse wiring of the live model: sparsity per layer, the unit (or ensemble) graph,
DST rewiring step by step, mask heatmaps and degrees, accuracy and DNR as a copy is pruned, and the
recurrent graph of a recurrent model."""

import streamlit as st

from netarium.ui.live import draw_sections
from netarium.ui.session import flash, live_run, show_flashes
from netarium.ui.views import VIEWS, unmet_need

PRUNE_AT = 45  # the prune controls sit between the views ordered before this (graphs) and after it (rewiring)

live = live_run()
show_flashes()
sections = VIEWS.for_page("sparsity", live)


def has(need: str) -> bool:
    return not unmet_need(live, frozenset({need}))


def prune_now() -> None:
    """Magnitude-prune the live model between two steps (on_click: runs before the page redraws)."""
    fraction = st.session_state["sp.prune.fraction"] / 100
    scope = st.session_state["sp.prune.scope"] or "global"
    try:
        r = live.prune(fraction, scope, include_readout=st.session_state["sp.prune.readout"])
    except (ValueError, RuntimeError) as e:
        flash(f"Could not prune: {e}", "error")
        return
    flash(f"Pruned {r['pruned']:,} edges ({fraction:.0%} of the active ones, {scope}) at step {r['step']:,}: "
          f"{r['sparsity']:.1%} of {r['total']:,} weights are now off; {r['score'].replace('_', ' ')} "
          f"{r['before']:.3f} → {r['after']:.3f}. Press play to retrain and watch it recover.", "success")


def prune_controls() -> None:
    """Prune the live network now, by magnitude, and keep training it (the rnn-sparsity and pruning-dnr story, live)."""
    st.markdown("**Prune the live network** · switch off the smallest weights now, then train on to watch it recover")
    c1, c2, c3, c4 = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
    c1.slider("share of the active weights", 10, 90, 50, 10, format="%d%%", key="sp.prune.fraction")
    c2.segmented_control("threshold", ["global", "layer"], default="global", key="sp.prune.scope",
                         help="global: one |w| threshold over all layers; layer: the same share in each layer")
    c3.checkbox("readout too", True, key="sp.prune.readout", help="Also prune the last linear map (the logits)")
    c4.button("Prune now", key="sp.prune.go", on_click=prune_now, type="primary", width="stretch",
              help="Adds masks to the plain linear maps, then switches off the smallest |w|; the optimizer forgets them")


st.caption("Presets on the Experiments page: g2g-sparse (ensemble-to-ensemble wiring), pruning-dnr (magnitude pruning "
           "and dead ReLUs), rnn-sparsity (sparse recurrent graphs), n2n-compression.")
if not has("masks"):
    st.info("The live model has no masks. Pick model **sparse-mlp** (G2G ensembles or random masks) or **rnn** (a sparse "
            "recurrent graph) in the sidebar, and trainer **dst** to rewire the masks while training. "
            + ("The pruning curves below work on any MLP." if has("mlp") else ""))
    if has("mlp"):
        prune_controls()
    draw_sections(live, sections, "sp")  # what needs no masks: the pruning curves of an MLP
    st.stop()
draw_sections(live, [s for s in sections if s.place.order < PRUNE_AT], "sp")
prune_controls()
draw_sections(live, [s for s in sections if s.place.order > PRUNE_AT], "sp")
