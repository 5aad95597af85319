"""A failure inside a page is one plain sentence for the user; the exception goes to the server log."""

import logging

from streamlit.testing.v1 import AppTest

from netarium.ui.errors import failure_sentence
from netarium.ui.text import shown_text


def _page_with_a_view_that_raises() -> None:
    from types import SimpleNamespace

    from netarium.models import ModelSpec, build_model
    from netarium.tasks import make_task
    from netarium.ui.views.base import View, ViewContext, draw_view

    task = make_task("circle", {"n_samples": 100}, seed=0)
    live = SimpleNamespace(run=SimpleNamespace(task=task, model=build_model("mlp", {"hidden": [4]}, ModelSpec.for_task(task))))

    def draw(ctx) -> None:
        raise ValueError("a confusion matrix needs classes ![x](http://example.com/a.png)")

    draw_view(View("boom", "Boom", frozenset(), draw), ViewContext(live, SimpleNamespace(state="training", step=3), "k"))


def test_a_view_that_raises_says_one_sentence_and_logs_the_exception(caplog) -> None:
    caplog.set_level(logging.ERROR, logger="netarium.ui")
    at = AppTest.from_function(_page_with_a_view_that_raises, default_timeout=60).run()
    assert not at.exception
    (error,) = at.error
    assert shown_text(error.value) == ("The Boom view could not be drawn for this run because of an internal error "
                                       "(the details are in the server log).")
    assert "ValueError" not in error.value and "confusion" not in error.value
    (record,) = [r for r in caplog.records if r.name == "netarium.ui"]
    assert record.exc_info[0] is ValueError and "a confusion matrix needs classes" in record.getMessage()
    assert "The Boom view could not be drawn" in record.getMessage()


def test_failure_sentence_gives_a_hint_for_known_failures_and_logs_a_jobs_error(caplog) -> None:
    caplog.set_level(logging.ERROR, logger="netarium.ui")
    assert failure_sentence("Not applied: the run could not be built", MemoryError()) == (
        "Not applied: the run could not be built: the server ran out of memory; try a smaller network or data set.")
    assert failure_sentence("The check could not run", "RuntimeError: boom") == (
        "The check could not run because of an internal error (the details are in the server log).")
    assert [r.getMessage() for r in caplog.records][-1] == "The check could not run: RuntimeError: boom"
