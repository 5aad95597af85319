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
    """The session's store for the live run's current generation (a fresh one after a re-initialisation).
    Closing the run (its session freed, training/sessions.py) cancels its jobs and empties it too."""
    held = st.session_state.get(STORE)
    if held is None or held[0] is not live or held[1] != live.generation:
        if held is not None:
            _drop(held)
        store: dict[Hashable, Any] = {}

        def empty() -> None:
            for value in list(store.values()):
                if isinstance(value, Job):
                    value.cancel()
            store.clear()

        hooks = getattr(live, "on_close", None)
        if hooks is not None:
            hooks.append(empty)
        held = st.session_state[STORE] = (live, live.generation, store, empty)
    return held[2]


def _drop(held: tuple[LiveRun, int, dict[Hashable, Any], Callable[[], None]]) -> None:
    """Cancel a replaced store's jobs and empty it; its run no longer needs to on close."""
    live, _, _, empty = held
    hooks = getattr(live, "on_close", [])
    if empty in hooks:
        hooks.remove(empty)
    empty()


def per_generation(live: LiveRun, key: Hashable, compute: Callable[[], T]) -> T:
    """compute() once per generation of the live run and key (what only a re-initialisation changes)."""
    store = generation_store(live)
    if key not in store:
        store[key] = compute()
    return store[key]
