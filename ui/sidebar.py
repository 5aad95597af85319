"""The shared sidebar: transport, status line, and the whole Config as widgets built from schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

import streamlit as st
from pydantic import create_model

from netarium.models import MODELS
from netarium.schema import Params
from netarium.tasks import TASKS
from netarium.training.budget import MB, SESSION_MEMORY, flops_text, limit, limits_text, size
from netarium.training.config import Config
from netarium.training.live import LiveRun
from netarium.training.optim import OPTIMIZERS
from netarium.training.trainers import TRAINERS
from netarium.ui.session import apply_config, default_config, hidden_controls, session_lesson, sync_url
from netarium.ui.transport import status_line, transport
from netarium.ui.upload import csv_upload
from netarium.ui.urlstate import share_url
from netarium.ui.widgets import params_widgets, section_picker

RUN_FIELDS = ("loss", "regularization", "l1", "l2", "batch_size", "order", "seed")
PROBLEMS = ("classification", "regression", "all tasks")


@cache
def run_schema() -> type[Params]:
    """The Config's own top-level training fields as a Params schema (so they get widgets too)."""
    fields = {name: (Config.model_fields[name].annotation, Config.model_fields[name]) for name in RUN_FIELDS}
    return create_model("RunParams", __base__=Params, **fields)


def problem_of(task_name: str) -> str:
    tags = TASKS.get(task_name).tags
    return next((p for p in PROBLEMS[:2] if p in tags), PROBLEMS[2])


def task_names(problem: str) -> list[str]:
    """Tasks of a problem type (user CSV files belong to every type)."""
    return [e.name for e in TASKS if problem == PROBLEMS[2] or problem in e.tags or "user" in e.tags]


def config_editor(config: Config, hidden: set[str], cost_slot: list[Any] | None = None) -> Config:
    """Widgets for every section; returns the edited Config (each part validated by its widgets). A place
    under the network's widgets is appended to `cost_slot`, for the run's cost once the edit is applied."""
    with st.expander("Data", expanded=True):
        current = problem_of(config.task.name)
        problem = current if {"task", "problem"} & hidden else st.radio(
            "Problem type", PROBLEMS, index=PROBLEMS.index(current), horizontal=True, key="sidebar.problem")
        task = section_picker("task", TASKS, config.task, key="sidebar.task", hidden=hidden, names=task_names(problem))
        task = csv_upload(task, key="sidebar.upload")
    with st.expander("Network", expanded=True):
        model = section_picker("model", MODELS, config.model, key="sidebar.model", hidden=hidden)
        if cost_slot is not None:
            cost_slot.append(st.empty())
    with st.expander("Training", expanded=False):
        optimizer = section_picker("optimizer", OPTIMIZERS, config.optimizer, key="sidebar.optimizer", hidden=hidden)
        run = params_widgets(run_schema(), {k: getattr(config, k) for k in RUN_FIELDS}, key="sidebar.run", hidden=hidden)
        trainer = section_picker("trainer", TRAINERS, config.trainer, key="sidebar.trainer", hidden=hidden)
    return config.model_copy(update={"task": task, "model": model, "optimizer": optimizer, "trainer": trainer, **run})


def cost_line(live: LiveRun, place: Any) -> None:
    """The current run's estimated memory and arithmetic against the session's budget (training/budget.py)."""
    cost = live.cost
    if cost is None:
        return
    budget = limit(SESSION_MEMORY) * MB
    place.caption(f"{cost.parameters:,} parameters · about {size(cost.bytes)} of the session's {size(budget)} · "
               f"{flops_text(cost.flops)} a step", help=limits_text())


def share_box(config: Config) -> None:
    """The link that reproduces this config: same data, same initialisation."""
    box = st.popover("Share", width="stretch", key="sidebar.share", on_change="rerun")
    if not box.open:  # the link's code block is drawn once asked for (Streamlit's highlighter delays every page)
        return
    with box:
        url = share_url(st.context.url or "", config, hidden_controls(), base=default_config(), lesson=session_lesson())
        st.caption("This link opens the same data, network and initial weights:")
        st.code(url, language=None, wrap_lines=True)


def sidebar(live: LiveRun) -> Config:
    """Draw the shared sidebar and return the session's (possibly updated) config."""
    hidden = hidden_controls()
    with st.sidebar:
        transport(live)
        status_line(live)
        slot: list[Any] = []
        apply_config(config_editor(live.config, hidden, slot))
        if slot:
            cost_line(live, slot[0])
        share_box(live.config)
    sync_url(live.config)
    return live.config
