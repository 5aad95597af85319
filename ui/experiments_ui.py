"""The experiments gallery: one card per registered experiment, with Open and a background Check."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from netarium.experiments.base import EXPERIMENTS, Experiment
from netarium.experiments.jobs import CheckJob
from netarium.ui.errors import failure_sentence
from netarium.ui.jobs import job_progress
from netarium.ui.session import apply_config, show_flashes
from netarium.ui.text import plain_markdown
from netarium.ui.views.base import CHART_CONFIG

JOBS = "experiments.jobs"
OPENING = "experiments.opening"  # the experiment whose Open was just clicked


def jobs() -> dict[str, CheckJob]:
    """The session's check jobs, one per experiment id (the latest one)."""
    return st.session_state.setdefault(JOBS, {})


def start_check(exp: Experiment) -> None:
    """Start a check of `exp`'s preset unless one is already running (button callback)."""
    current = jobs().get(exp.id)
    if current is not None and current.running:
        return
    jobs()[exp.id] = CheckJob(exp).start()


def page_file(page: str) -> str:
    """'playground' -> 'pages/playground.py', the path st.switch_page takes."""
    return f"pages/{page}.py"


def load_experiment(exp: Experiment) -> None:
    """Load the preset into the session's run (button callback: the sidebar then draws it at once)."""
    if apply_config(exp.config, f"Loaded experiment {exp.id}") is not None:
        st.session_state[OPENING] = exp.id


def follow_open() -> None:
    """After Open: switch to the experiment's page (its flash shows there); call before show_flashes.

    Where the page is not registered (e.g. this page run on its own), say where to go instead.
    """
    exp_id = st.session_state.pop(OPENING, None)
    if exp_id is None or exp_id not in EXPERIMENTS:
        return
    exp = EXPERIMENTS.get(exp_id)
    try:
        st.switch_page(page_file(exp.page))
    except StreamlitAPIException:
        show_flashes()
        st.info(f"Open the {exp.page.replace('_', ' ').title()} page to see it.")


def experiment_card(exp: Experiment) -> None:
    """Title, id, paper, what to look for, the preset config, Open and Check, and the check's state."""
    with st.container(border=True):
        st.subheader(exp.title)
        st.caption(f"`{exp.id}` · {exp.paper}")
        st.markdown(f"**What to look for:** {exp.look_for}")
        with st.expander("Preset config"):
            st.json(exp.config.model_dump(mode="json"))
        job = jobs().get(exp.id)
        running = job is not None and job.running
        open_col, check_col = st.columns(2)
        open_col.button("Open", key=f"experiments.open.{exp.id}", type="primary", width="stretch",
                        on_click=load_experiment, args=(exp,),
                        help=f"Load this preset into the sidebar and go to the {exp.page} page")
        check_col.button("Check" if job is None else "Check again", key=f"experiments.check.{exp.id}",
                         on_click=start_check, args=(exp,), disabled=running, width="stretch",
                         help=f"Train the preset ({exp.config.steps:,} steps) in the background and judge it")
        check_panel(exp.id)


def check_panel(exp_id: str) -> None:
    """Progress while the check runs (refreshing itself), then the verdict and its numbers."""
    job = jobs().get(exp_id)
    if job is None:
        return
    if not job.done:
        job_progress(job, "Checking")
        return
    check_verdict(job)


def check_verdict(job: CheckJob) -> None:
    """PASSED / FAILED with the reason, then the numbers as a table; an error if the run raised."""
    if job.error or job.outcome is None:
        st.error(plain_markdown(failure_sentence("The check could not run", job.error or "no result")))
        return
    outcome = job.outcome
    if outcome.passed:
        st.success(f"PASSED: {outcome.verdict}")
    else:
        st.error(f"FAILED: {outcome.verdict}")
    if outcome.figure is not None:
        st.plotly_chart(outcome.figure, key=f"experiments.figure.{job.experiment.id}", width="stretch", config=CHART_CONFIG)
    st.dataframe(outcome.rows(), hide_index=True,
                 column_config={"value": st.column_config.NumberColumn(format="%.4g")})
