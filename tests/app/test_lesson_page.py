"""Lessons and TensorFlow Playground links in the app: the lesson panel builds a link that hides the ticked
controls and shows its title and text; a TFP link (as a query, or pasted) sets the data, network and
training and hides TFP's hidden controls; a session opened without a query gets the hash-hop script."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from netarium.ui.tfp_link import hash_hop_script

PAGE = "pages/playground.py"
LIVE = "netarium.live"
TFP = {"activation": "relu", "batchSize": "10", "dataset": "xor", "regDataset": "reg-plane", "learningRate": "0.1",
       "regularization": "L2", "regularizationRate": "0.001", "noise": "10", "networkShape": "4,2", "seed": "0.10150",
       "showTestData": "true", "discretize": "false", "percTrainData": "70", "x": "true", "y": "true",
       "xTimesY": "true", "problem": "classification", "initZero": "false", "hideText": "false"}
TFP_LINK = "https://playground.tensorflow.org/#" + "&".join(f"{k}={v}" for k, v in TFP.items())


@pytest.fixture
def open_app(open_app):
    """The shared fixture (tests/app/conftest.py), on the Playground by default."""
    return lambda page=PAGE, **query: open_app(page, **query)


def keys(elements) -> set[str]:
    return {e.key for e in elements if e.key}


def texts(at: AppTest) -> list[str]:
    return [e.value for e in [*at.info, *at.warning, *at.error]]


def assert_tfp_config(at: AppTest) -> None:
    c = at.session_state[LIVE].config
    assert (c.task.name, c.task.noise, c.task.train_ratio, c.task.features) == ("xor", 0.1, 0.7, ["x1", "x2", "x1*x2"])
    assert (c.model.hidden, c.model.activation, c.optimizer.name, c.optimizer.lr) == ([4, 2], ["relu"], "sgd", 0.1)
    assert (c.batch_size, c.l1, c.l2, c.seed) == (10, 0.0, 0.001, 10150)


def test_lesson_panel_builds_a_link_that_hides_and_teaches(open_app) -> None:
    at = open_app()
    assert not any(k.startswith("lesson.build.hide.") for k in keys(at.checkbox))  # drawn once opened
    at.session_state["lesson.builder"] = True  # open the builder (a rerun draws it)
    at.run()
    for control in ("task.noise", "transport.step", "transport.speed", "boundary.test", "pg.layers", "optimizer.lr"):
        at.checkbox(key=f"lesson.build.hide.{control}").check()
    at.text_input(key="lesson.build.title").set_value("Depth and the circle")
    at.text_area(key="lesson.build.text").set_value("Press **play**. <b>Why</b> does it curve?\n\n![x](http://evil/x.png)")
    at.run()
    assert not at.exception, at.exception
    (link,) = [c.value for c in at.code if "lesson.title=" in c.value]
    params = dict(parse_qsl(urlsplit(link).query))
    assert params["lesson.title"] == "Depth and the circle"
    assert params["lesson.text"].startswith("Press **play**. <b>Why</b>")
    assert {k for k in params if k.endswith("_hide")} == {
        "task.noise_hide", "transport.step_hide", "transport.speed_hide", "boundary.test_hide", "pg.layers_hide",
        "optimizer.lr_hide"}
    # the builder does not hide anything in this session
    assert "transport.step" in keys(at.button) and "pg.layers.plus" in keys(at.button)

    lesson = open_app(**params)
    assert not lesson.exception, lesson.exception
    assert lesson.session_state[LIVE].config == at.session_state[LIVE].config
    assert {"transport.step", "pg.layers.plus", "pg.layers.minus", "pg.width0.plus"}.isdisjoint(keys(lesson.button))
    assert {"transport.play", "transport.reset", "transport.regenerate"} <= keys(lesson.button)
    assert "transport.speed" not in keys(lesson.select_slider)
    assert "sidebar.optimizer.sgd.lr" not in keys(lesson.selectbox) and "sidebar.optimizer.sgd.lr" in keys(at.selectbox)
    assert "sidebar.task.circle.noise" not in keys(lesson.slider) and "sidebar.task.circle.noise" in keys(at.slider)
    assert "sidebar.task.circle.n_samples" in keys(lesson.number_input)
    toggles = [t.key for t in lesson.toggle if t.key.startswith("pg.boundary")]
    assert toggles == ["pg.boundary.disc"]
    assert [s.value for s in lesson.subheader] [:1] == ["Depth and the circle"]
    text = [m.value for m in lesson.markdown if "Press" in m.value]
    assert text == ["Press **play**. &lt;b&gt;Why&lt;/b&gt; does it curve?\n\nx"]  # HTML escaped, the image only its text
    # the address the page keeps carries the lesson (a reload shows it again)
    assert lesson.query_params["lesson.title"] == "Depth and the circle"
    assert lesson.query_params["transport.step_hide"] == "true"
    # the builder starts from what this session hides; Show every control brings them back
    lesson.session_state["lesson.builder"] = True
    lesson.run()
    assert lesson.checkbox(key="lesson.build.hide.transport.step").value is True
    lesson.button(key="lesson.build.unhide").click().run()
    assert {"transport.step", "pg.layers.plus"} <= keys(lesson.button)


def test_a_tfp_link_as_query_sets_the_playground(open_app) -> None:
    at = open_app(**TFP, noise_hide="true", playButton_hide="true", discretize_hide="true", problem_hide="true")
    assert not at.exception, at.exception
    assert_tfp_config(at)
    assert at.selectbox(key="sidebar.task.name").value == "xor"
    assert at.text_input(key="sidebar.model.mlp.hidden").value == "4,2"
    assert at.selectbox(key="sidebar.optimizer.name").value == "sgd"
    assert at.toggle(key="pg.boundary.test").value is True  # showTestData=true
    assert "pg.boundary.disc" not in keys(at.toggle)  # discretize_hide
    assert "transport.play" not in keys(at.button) and "sidebar.task.xor.noise" not in keys(at.slider)
    assert "sidebar.problem" not in keys(at.radio)
    assert any(t.startswith("Opened a TensorFlow Playground link") for t in texts(at))
    # the address becomes a Netarium link that says the same
    assert at.query_params["task"] == "xor" and at.query_params["model.activation"] == "relu"  # what differs from the default
    assert at.query_params["task.noise_hide"] == "true" and at.query_params["transport.play_hide"] == "true"


def test_a_garbage_tfp_link_says_what_it_changed(open_app) -> None:
    at = open_app(activation="softmax", noise="900", networkShape="4,banana", learningRate="-1")
    assert not at.exception, at.exception
    c = at.session_state[LIVE].config
    assert (c.model.activation, c.task.noise, c.model.hidden, c.optimizer.lr) == (["tanh"], 0.5, [4], 0.03)
    shown = texts(at)
    for notice in ("activation=softmax is not one of relu, tanh, sigmoid, linear; used tanh",
                   "noise=900 is above 50; used 50", "learningRate=-1 must be above 0; used 0.03"):
        assert notice in shown, shown


def test_pasting_a_tfp_link_applies_it(open_app) -> None:
    at = open_app()
    assert at.session_state[LIVE].config.task.name == "circle"
    at.text_input(key="lesson.open.url").set_value(TFP_LINK + "&stepButton_hide=true&tutorial=x").run()
    at.button(key="lesson.open.go").click().run()
    assert not at.exception, at.exception
    assert_tfp_config(at)
    assert at.toggle(key="pg.boundary.test").value is True
    assert "transport.step" not in keys(at.button)
    assert at.selectbox(key="sidebar.task.name").value == "xor"
    shown = texts(at)
    assert any(t.startswith("Opened a TensorFlow Playground link") for t in shown)
    assert any(t.startswith("tutorial=x: TensorFlow Playground's tutorial pages") for t in shown)

    at.text_input(key="lesson.open.url").set_value("https://playground.tensorflow.org/").run()
    at.button(key="lesson.open.go").click().run()
    assert "Not opened: the link has no settings (no key=value after its ? or #)" in texts(at)
    assert_tfp_config(at)  # unchanged


def test_hide_text_hides_the_lesson(open_app) -> None:
    at = open_app(**{"lesson.title": "Hello", "lesson.text": "World"})
    assert [s.value for s in at.subheader][:1] == ["Hello"]
    at = open_app(**{"lesson.title": "Hello", "lesson.text": "World", "lesson.text_hide": "true"})
    assert "Hello" not in [s.value for s in at.subheader]


def test_the_hash_hop_script_is_sent_once_to_a_session_without_a_query(open_app) -> None:
    at = open_app(page=None)
    scripts = [e for e in at.get("html") if "window.top.location" in e.proto.body]
    assert len(scripts) == 1 and scripts[0].proto.body.endswith(hash_hop_script())
    assert scripts[0].proto.unsafe_allow_javascript
    assert dict(at.query_params) == {}  # left alone on that run: the script may still read the #hash
    at.run()
    assert not [e for e in at.get("html") if "window.top.location" in e.proto.body]
    assert at.query_params["v"] == "1"  # the next run writes the config into the address as usual
    with_query = open_app(page=None, **{"task.noise": "0.2"})
    assert not [e for e in with_query.get("html") if "window.top.location" in e.proto.body]
