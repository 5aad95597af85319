"""A session opened with the nastiest links the fuzzing (tests/unit/ui/test_urlstate_fuzz.py) made: the page
renders without an exception, the notices are escaped sentences, and the session trains what they say."""

from __future__ import annotations

from netarium.ui.session import default_config
from netarium.ui.text import shown_text

PAGE = "pages/playground.py"
LIVE = "netarium.live"


def warnings(at) -> list[str]:
    return [shown_text(w.value) for w in at.warning]


def test_a_link_with_control_characters_and_huge_values_opens_with_escaped_notices(open_app):
    at = open_app(PAGE, **{"task": "\u202eevil\x1b[31m", "seed": "9" * 300, "model.hidden": "1025,,x", "data_seed": "nan"})
    said = warnings(at)
    assert not any(c in w for w in said for c in "\x1b\u202e\n")
    assert any(w.startswith("task=\\u202eevil\\x1b[31m is not a registered task") for w in said), said
    assert "data_seed=nan is not a whole number; kept none" in said
    config = at.session_state[LIVE].config
    assert config.seed == 2**31 - 1 and config.model.hidden == [1024] and config.task == default_config().task


def test_a_link_whose_config_cannot_be_built_loads_the_default_and_says_why(open_app):
    at = open_app(PAGE, trainer="dst")  # dst needs masked layers; the default model has none
    assert any(w.startswith("The link's settings could not be used (trainer: dynamic sparse training needs a model "
                            "with masked layers") for w in warnings(at)), warnings(at)
    assert at.session_state[LIVE].config == default_config()


def test_a_garbage_playground_link_opens(open_app):
    at = open_app(PAGE, dataset="\x00", networkShape="9999,-1", learningRate="nan", batchSize="1e309")
    said = warnings(at)
    assert "dataset=\\x00 is not one of circle, xor, gauss, spiral; used circle" in said, said
    assert "batchSize=1e309 is above 1000000; used 1000000" in said
    config = at.session_state[LIVE].config
    assert (config.task.name, config.model.hidden, config.optimizer.lr, config.batch_size) == ("circle", [1024, 1], 0.03, 1_000_000)


def test_a_link_with_the_largest_model_is_refused_by_the_budget_and_the_default_trains(open_app):
    at = open_app(PAGE, **{"model": "residual-mlp", "model.width": "1024", "model.blocks": "32", "model.hidden": "4096"})
    said = warnings(at)
    assert any(w.startswith("The link's run does not fit this server: this run needs about ") and " GB (" in w
               and "268,670,977 parameters" in w and "NETARIUM_SESSION_MEMORY_MB" in w for w in said), said
    live = at.session_state[LIVE]
    assert live.config == default_config() and live.cost is not None and live.cost.parameters == 25
    assert not at.exception
    assert any("25 parameters · about" in c.value for c in at.sidebar.caption), [c.value for c in at.sidebar.caption]
