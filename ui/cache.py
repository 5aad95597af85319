"""One cache for everything derived from the live run: a store per browser session that lives as long as
the live run's generation. A reset, new data or a prune starts a new generation and empties it, so no
view draws from a stale model, and the background jobs kept in it are cancelled."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import streamlit as st

from netarium.training.jobs import Job
from netarium.training.live import LiveRun

STORE = "netarium.generation"
T = TypeVar("T")


def generation_store(live: LiveRun) -> dict[Hashable, Any]:
    """The session's store for the live run's current generation (a fresh one after a re-initialisation)."""
    held = st.session_state.get(STORE)
    if held is None or held[0] is not live or held[1] != live.generation:
        if held is not None:
            for value in held[2].values():
                if isinstance(value, Job):
                    value.cancel()
        held = st.session_state[STORE] = (live, live.generation, {})
    return held[2]


def per_generation(live: LiveRun, key: Hashable, compute: Callable[[], T]) -> T:
    """compute() once per generation of the live run and key (what only a re-initialisation changes)."""
    store = generation_store(live)
    if key not in store:
        store[key] = compute()
    return store[key]
