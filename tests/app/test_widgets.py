"""Schema-built widgets: the right control per field, values flow back, bad text never raises."""

import json

from streamlit.testing.v1 import AppTest


def mlp_app():
    import json

    import streamlit as st

    from netarium.models.mlp import MLPParams
    from netarium.ui.widgets import params_widgets

    values = st.session_state.get("values", MLPParams().model_dump(mode="json"))
    hidden = st.session_state.get("hide", frozenset())
    new = params_widgets(MLPParams, values, key="m", section="model", hidden=hidden)
    st.session_state["values"] = new  # the page round-trips what the widgets returned
    st.code(json.dumps(new), language="json")


def task_app():
    import json

    import streamlit as st

    from netarium.tasks.playground import SpiralsParams
    from netarium.ui.widgets import params_widgets

    new = params_widgets(SpiralsParams, SpiralsParams().model_dump(mode="json"), key="t", section="task",
                         container=st.sidebar)
    st.code(json.dumps(new), language="json")


def optimizer_app():
    import json

    import streamlit as st

    from netarium.training.optim import AdamParams
    from netarium.ui.widgets import params_widgets

    new = params_widgets(AdamParams, AdamParams().model_dump(mode="json"), key="o", section="optimizer")
    st.code(json.dumps(new), language="json")


def picker_app():
    import json

    import streamlit as st

    from netarium.tasks import TASKS
    from netarium.ui.widgets import section_picker

    current = st.session_state.get("task", {"name": "spiral", "noise": 0.2})
    if st.session_state.get("preset"):
        current = st.session_state.pop("preset")
    new = section_picker("task", TASKS, TASKS.params(current), key="task", hidden=st.session_state.get("hide", frozenset()))
    assert type(new) is TASKS.get(new.name).schema  # the typed params of the chosen entry
    st.session_state["task"] = new
    st.code(json.dumps(new.section()), language="json")


def csv_app():
    import json

    import streamlit as st

    from netarium.tasks.csv import CSVParams
    from netarium.ui.widgets import params_widgets

    values = {"upload": None, "path": "/data/server.csv", "train_ratio": 0.8, "kind": "auto"}
    new = params_widgets(CSVParams, values, key="c", section="task")
    st.code(json.dumps(new), language="json")


def result(at: AppTest) -> dict:
    assert not at.exception, at.exception
    return json.loads(at.code[-1].value)


def run(fn, **state) -> AppTest:
    at = AppTest.from_function(fn, default_timeout=30)
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def test_mlp_widgets_have_the_right_kinds_and_defaults():
    at = run(mlp_app)
    assert result(at) == {"hidden": [8, 8], "activation": ["tanh"], "bias": True, "init": "default", "init_scale": 1.0, "readout": "trained"}
    assert at.text_input(key="m.hidden").value == "8,8"
    assert at.text_input(key="m.hidden").label == "Hidden"
    assert at.multiselect(key="m.activation").value == ["tanh"]
    assert "relu" in at.multiselect(key="m.activation").options
    assert at.toggle(key="m.bias").value is True
    assert at.selectbox(key="m.init").value == "default"
    assert at.selectbox(key="m.init").options == ["default", "xavier", "kaiming", "normal", "small", "tfp", "zero"]
    scale = at.number_input(key="m.init_scale")
    assert (scale.value, scale.min, scale.max, scale.label) == (1.0, 0.0, 10.0, "Init scale")
    assert scale.help.startswith("Multiplies the initial weights")
    assert not at.error


def test_changing_widgets_changes_the_returned_values():
    at = run(mlp_app)
    at.number_input(key="m.init_scale").set_value(2.5).run()
    assert result(at)["init_scale"] == 2.5
    at.selectbox(key="m.init").set_value("xavier").run()
    at.toggle(key="m.bias").set_value(False).run()
    at.text_input(key="m.hidden").input("16, 4,2").run()
    at.multiselect(key="m.activation").set_value(["relu"]).run()
    assert result(at) == {"hidden": [16, 4, 2], "activation": ["relu"], "bias": False, "init": "xavier",
                          "init_scale": 2.5, "readout": "trained"}
    assert not at.error


def test_invalid_hidden_text_shows_an_error_and_keeps_the_old_value():
    at = run(mlp_app)
    at.text_input(key="m.hidden").input("8,x").run()
    assert result(at)["hidden"] == [8, 8]
    assert len(at.error) == 1 and "'x'" in at.error[0].value and "whole number" in at.error[0].value
    at.text_input(key="m.hidden").input("8,2000").run()
    assert result(at)["hidden"] == [8, 8]
    assert len(at.error) == 1 and "1024" in at.error[0].value
    at.text_input(key="m.hidden").input("").run()  # no hidden layer: a linear model
    assert result(at)["hidden"] == []
    assert not at.error


def test_cross_field_error_keeps_the_previous_values():
    at = run(mlp_app)
    at.multiselect(key="m.activation").set_value(["relu", "tanh"]).run()  # 2 activations, 2 layers: fine
    assert result(at)["activation"] == ["relu", "tanh"]
    at.text_input(key="m.hidden").input("8,8,8").run()  # 3 layers, 2 activations: refused
    assert result(at)["hidden"] == [8, 8] and result(at)["activation"] == ["relu", "tanh"]
    assert len(at.error) == 1 and "activation" in at.error[0].value


def test_repeated_choices_are_edited_as_text():
    at = run(mlp_app, values={"hidden": [4, 4, 4], "activation": ["relu", "tanh", "relu"], "bias": True,
                              "init": "default", "init_scale": 1.0, "readout": "trained"})
    assert result(at)["activation"] == ["relu", "tanh", "relu"]
    assert at.text_input(key="m.activation.text").value == "relu,tanh,relu"
    at.text_input(key="m.activation.text").input("relu,relu,sigmoid").run()
    assert result(at)["activation"] == ["relu", "relu", "sigmoid"]
    at.text_input(key="m.activation.text").input("relu,swish,relu").run()
    assert result(at)["activation"] == ["relu", "relu", "sigmoid"]
    assert len(at.error) == 1 and "swish" in at.error[0].value


def test_hidden_fields_are_not_rendered_and_keep_their_value():
    at = run(mlp_app, hide={"model.hidden", "model.init"})
    assert [w.key for w in at.text_input] == []
    assert [w.key for w in at.selectbox] == ["m.readout"]  # the init choice is hidden, the readout choice is not
    assert result(at)["hidden"] == [8, 8] and result(at)["init"] == "default"
    assert at.toggle(key="m.bias").value is True


def test_fields_no_browser_may_set_get_no_widget_and_keep_their_value():
    at = run(csv_app)
    assert [w.key for w in at.text_input] == []  # neither the server path nor the upload id
    assert [w.key for w in at.number_input] == ["c.train_ratio"] and [w.key for w in at.selectbox] == ["c.kind"]
    at.selectbox(key="c.kind").set_value("regression").run()
    assert result(at) == {"upload": None, "path": "/data/server.csv", "train_ratio": 0.8, "kind": "regression"}


def test_task_widgets_in_the_sidebar():
    at = run(task_app)
    assert result(at) == {"n_samples": 500, "noise": 0.0, "train_ratio": 0.5, "features": ["x1", "x2"], "n_classes": 3}
    n = at.sidebar.number_input(key="t.n_samples")
    assert (n.value, n.min, n.max, n.step) == (500, 20, 5000, 1)
    noise = at.sidebar.number_input(key="t.noise")
    assert (noise.value, noise.min, noise.max) == (0.0, 0.0, 0.5)
    assert noise.step == 0.01 and noise.format == "%g"
    assert at.sidebar.multiselect(key="t.features").value == ["x1", "x2"]
    noise.set_value(0.35).run()
    at.sidebar.number_input(key="t.n_classes").set_value(5).run()
    at.sidebar.multiselect(key="t.features").set_value(["x1", "x1*x2"]).run()
    assert result(at) == {"n_samples": 500, "noise": 0.35, "train_ratio": 0.5, "features": ["x1", "x1*x2"],
                          "n_classes": 5}


def test_learning_rate_uses_a_log_slider_and_small_floats_show():
    at = run(optimizer_app)
    lr = at.select_slider(key="o.lr")
    assert lr.value == 0.01
    assert lr.options[:3] == ["1e-05", "0.0001", "0.001"] and lr.options[-1] == "10"
    lr.set_value(0.3).run()
    assert result(at)["lr"] == 0.3
    eps = at.number_input(key="o.eps")
    assert eps.value == 1e-8 and eps.format == "%g" and 0 < eps.min < 1e-300  # lower bound exclusive
    beta1 = at.number_input(key="o.beta1")
    assert beta1.max < 1.0 and beta1.max > 0.999999  # upper bound exclusive


def test_section_picker_switches_and_resets_params():
    at = run(picker_app)
    box = at.selectbox(key="task.name")
    assert box.value == "spiral"
    assert "spiral — " in " ".join(box.options)  # formatted with the description
    assert result(at)["noise"] == 0.2
    at.number_input(key="task.spiral.noise").set_value(0.3).run()
    assert result(at) == {"name": "spiral", "n_samples": 500, "noise": 0.3, "train_ratio": 0.5, "features": ["x1", "x2"]}
    at.selectbox(key="task.name").set_value("modular").run()
    assert result(at) == {"name": "modular", "op": "+", "M": 97, "train_fraction": 0.4, "encoding": "tokens"}
    assert at.selectbox(key="task.modular.op").value == "+"
    at.selectbox(key="task.name").set_value("spiral").run()
    assert result(at)["noise"] == 0.0  # back to spiral's defaults, not the old widget state


def test_section_picker_follows_an_outside_change():
    at = run(picker_app)
    at.number_input(key="task.spiral.noise").set_value(0.3).run()
    at.session_state["preset"] = {"name": "spiral", "noise": 0.45, "n_samples": 100, "train_ratio": 0.5,
                                  "features": ["x1"]}
    at.run()
    assert at.number_input(key="task.spiral.noise").value == 0.45
    assert result(at) == {"name": "spiral", "n_samples": 100, "noise": 0.45, "train_ratio": 0.5, "features": ["x1"]}
    at.session_state["preset"] = {"name": "moons"}
    at.run()
    assert at.selectbox(key="task.name").value == "moons"
    assert result(at)["noise"] == 0.1


def test_section_picker_hidden_name_and_fields():
    at = run(picker_app, hide={"task", "task.noise"})
    assert [w.key for w in at.selectbox] == []
    assert [w.key for w in at.number_input] == ["task.spiral.n_samples", "task.spiral.train_ratio"]
    assert result(at)["noise"] == 0.2


def test_repeated_edits_of_one_widget_stick_when_the_caller_feeds_results_back():
    at = run(mlp_app)
    for scale in (2.0, 3.0, 0.5):
        at.number_input(key="m.init_scale").set_value(scale).run()
        assert result(at)["init_scale"] == scale
    for text, widths in (("4", [4]), ("4,4", [4, 4]), ("16,16", [16, 16])):
        at.text_input(key="m.hidden").input(text).run()
        assert result(at)["hidden"] == widths
    assert not at.error and not at.warning


def test_repeated_edits_of_one_widget_stick_when_the_caller_passes_a_constant():
    at = run(task_app)
    for noise in (0.2, 0.3, 0.0):
        at.sidebar.number_input(key="t.noise").set_value(noise).run()
        assert result(at)["noise"] == noise
    assert not at.warning
