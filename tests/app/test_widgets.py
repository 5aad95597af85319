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


def lr_app():
    """The optimizer's (or, with app="task", the task's) widgets fed back the values they return."""
    import json

    import streamlit as st

    from netarium.tasks.playground import Points2DParams
    from netarium.training.optim import AdamParams
    from netarium.ui.widgets import params_widgets

    schema, key = (Points2DParams, "t") if st.session_state.get("app") == "task" else (AdamParams, "o")
    values = {**schema().model_dump(mode="json"), **st.session_state.get("values", {})}
    new = params_widgets(schema, values, key=key, section="x")
    st.session_state["values"] = new
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
    assert result(at) == {"hidden": [8, 8], "activation": ["tanh"], "bias": True, "readout_bias": True, "init": "default",
                          "init_scale": 1.0, "readout": "trained"}
    assert at.text_input(key="m.hidden").value == "8,8"
    assert at.text_input(key="m.hidden").label == "Hidden"
    assert at.selectbox(key="m.activation.all").value == "tanh"  # one activation for all layers, as the Playground
    assert "relu" in at.selectbox(key="m.activation.all").options
    assert at.toggle(key="m.activation.per").value is False
    assert at.toggle(key="m.bias").value is True
    assert at.selectbox(key="m.init").value == "default"
    assert at.selectbox(key="m.init").options == ["default", "xavier", "kaiming", "normal", "small", "tfp", "zero"]
    scale = at.number_input(key="m.init_scale")
    assert (scale.value, scale.label) == (1.0, "Init scale")
    assert scale.help.startswith("Multiplies the initial weights") and scale.help.endswith("Allowed: from 0.0 to 10.0.")
    assert not at.error


def test_changing_widgets_changes_the_returned_values():
    at = run(mlp_app)
    at.number_input(key="m.init_scale").set_value(2.5).run()
    assert result(at)["init_scale"] == 2.5
    at.selectbox(key="m.init").set_value("xavier").run()
    at.toggle(key="m.bias").set_value(False).run()
    at.text_input(key="m.hidden").input("16, 4,2").run()
    at.selectbox(key="m.activation.all").set_value("relu").run()
    assert result(at) == {"hidden": [16, 4, 2], "activation": ["relu"], "bias": False, "readout_bias": True, "init": "xavier",
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
    at.text_input(key="m.hidden").input("8,x").run()  # a bad width: the old widths are kept, with an error
    assert result(at)["hidden"] == [8, 8] and len(at.error) == 1


def test_one_activation_for_all_layers_or_one_per_layer_with_repeats():
    at = run(mlp_app, values={"hidden": [4, 4, 4], "activation": ["tanh"], "bias": True,
                              "init": "default", "init_scale": 1.0, "readout": "trained"})
    assert [w.key for w in at.selectbox if w.key.startswith("m.activation")] == ["m.activation.all"]
    at.toggle(key="m.activation.per").set_value(True).run()  # one selectbox per hidden layer
    assert result(at)["activation"] == ["tanh", "tanh", "tanh"]
    assert [w.label for w in at.selectbox if w.key.startswith("m.activation")] == ["Activation 1", "Activation 2", "Activation 3"]
    at.selectbox(key="m.activation.0").set_value("relu").run()
    at.selectbox(key="m.activation.1").set_value("relu").run()  # a repeat, which a multiselect could not hold
    assert result(at)["activation"] == ["relu", "relu", "tanh"]
    at.text_input(key="m.hidden").input("4,4").run()  # one layer fewer: one selectbox fewer
    assert result(at)["activation"] == ["relu", "relu"] and result(at)["hidden"] == [4, 4]
    at.toggle(key="m.activation.per").set_value(False).run()  # back to one for all: the first layer's
    assert result(at)["activation"] == ["relu"]
    assert not at.error


def test_a_per_layer_activation_from_outside_shows_per_layer():
    at = run(mlp_app, values={"hidden": [4, 4, 4], "activation": ["relu", "tanh", "relu"], "bias": True,
                              "init": "default", "init_scale": 1.0, "readout": "trained"})
    assert result(at)["activation"] == ["relu", "tanh", "relu"]  # shown as it is: nothing changed by drawing it
    assert at.toggle(key="m.activation.per").value is True
    assert [at.selectbox(key=f"m.activation.{k}").value for k in range(3)] == ["relu", "tanh", "relu"]
    at.selectbox(key="m.activation.2").set_value("sigmoid").run()
    assert result(at)["activation"] == ["relu", "tanh", "sigmoid"]


def test_hidden_fields_are_not_rendered_and_keep_their_value():
    at = run(mlp_app, hide={"model.hidden", "model.init"})
    assert [w.key for w in at.text_input] == []
    assert [w.key for w in at.selectbox] == ["m.activation.all", "m.readout"]  # the init choice is hidden, not these
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
    assert (n.value, n.step) == (500, 1) and n.help.endswith("Allowed: from 20 to 5000.")
    noise = at.sidebar.slider(key="t.noise")  # the Playground's 0-50 % slider; the value stays a fraction
    assert (noise.value, noise.min, noise.max, noise.step) == (0.0, 0.0, 50.0, 1.0)
    ratio = at.sidebar.slider(key="t.train_ratio")
    assert (ratio.value, ratio.min, ratio.max) == (50.0, 10.0, 90.0)
    assert at.sidebar.multiselect(key="t.features").value == ["x1", "x2"]
    noise.set_value(35.0).run()
    at.sidebar.number_input(key="t.n_classes").set_value(5).run()
    at.sidebar.multiselect(key="t.features").set_value(["x1", "x1*x2"]).run()
    assert result(at) == {"n_samples": 500, "noise": 0.35, "train_ratio": 0.5, "features": ["x1", "x1*x2"],
                          "n_classes": 5}


def test_learning_rate_is_the_playgrounds_dropdown_and_small_floats_show():
    at = run(optimizer_app)
    lr = at.selectbox(key="o.lr")
    assert lr.value == 0.01 and lr.label == "Learning rate"
    assert lr.options == ["1e-05", "0.0001", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1", "3", "10"]
    lr.set_value(0.3).run()
    assert result(at)["lr"] == 0.3
    eps = at.number_input(key="o.eps")
    assert eps.value == 1e-8 and eps.format == "%g"
    eps.set_value(0.0).run()  # the lower bound is exclusive: the nearest allowed number
    assert 0 < result(at)["eps"] < 1e-300 and at.number_input(key="o.eps").value == result(at)["eps"]
    at.number_input(key="o.beta1").set_value(1.0).run()  # the upper bound is exclusive
    assert 0.999999 < result(at)["beta1"] < 1.0
    assert [w.value for w in at.warning][-1].startswith("Beta1: 1.0 is outside the allowed range (at least 0.0 and below 1.0)")


def test_a_learning_rate_off_the_list_is_kept_as_one_more_option():
    at = run(lr_app, values={"lr": 0.02})
    lr = at.selectbox(key="o.lr")
    assert lr.value == 0.02 and result(at)["lr"] == 0.02  # drawing it changes nothing
    assert lr.options[4:7] == ["0.01", "0.02", "0.03"]
    lr.set_value(0.1).run()
    assert result(at)["lr"] == 0.1


def test_percent_slider_writes_the_fraction_and_keeps_an_off_grid_value():
    at = run(lr_app, values={"noise": 0.123}, app="task")
    assert result(at)["noise"] == 0.123 and at.slider(key="t.noise").value == 12.3  # drawn, not rounded
    at.slider(key="t.noise").set_value(7.0).run()
    assert result(at)["noise"] == 0.07  # exactly, not 0.07000000000000001
    at.slider(key="t.train_ratio").set_value(80.0).run()
    assert result(at)["train_ratio"] == 0.8 and result(at)["noise"] == 0.07


def test_section_picker_switches_and_resets_params():
    at = run(picker_app)
    box = at.selectbox(key="task.name")
    assert box.value == "spiral"
    assert "spiral — " in " ".join(box.options)  # formatted with the description
    assert result(at)["noise"] == 0.2
    at.slider(key="task.spiral.noise").set_value(30.0).run()
    assert result(at) == {"name": "spiral", "n_samples": 500, "noise": 0.3, "train_ratio": 0.5, "features": ["x1", "x2"]}
    at.selectbox(key="task.name").set_value("modular").run()
    assert result(at) == {"name": "modular", "op": "+", "M": 97, "train_fraction": 0.4, "encoding": "tokens"}
    assert at.selectbox(key="task.modular.op").value == "+"
    at.selectbox(key="task.name").set_value("spiral").run()
    assert result(at)["noise"] == 0.0  # back to spiral's defaults, not the old widget state


def test_section_picker_follows_an_outside_change():
    at = run(picker_app)
    at.slider(key="task.spiral.noise").set_value(30.0).run()
    at.session_state["preset"] = {"name": "spiral", "noise": 0.45, "n_samples": 100, "train_ratio": 0.5,
                                  "features": ["x1"]}
    at.run()
    assert at.slider(key="task.spiral.noise").value == 45.0
    assert result(at) == {"name": "spiral", "n_samples": 100, "noise": 0.45, "train_ratio": 0.5, "features": ["x1"]}
    at.session_state["preset"] = {"name": "moons"}
    at.run()
    assert at.selectbox(key="task.name").value == "moons"
    assert result(at)["noise"] == 0.1


def test_section_picker_hidden_name_and_fields():
    at = run(picker_app, hide={"task", "task.noise"})
    assert [w.key for w in at.selectbox] == []
    assert [w.key for w in at.number_input] == ["task.spiral.n_samples"]
    assert [w.key for w in at.slider] == ["task.spiral.train_ratio"]
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
        at.sidebar.slider(key="t.noise").set_value(noise * 100).run()
        assert result(at)["noise"] == noise
    assert not at.warning


def test_absurd_numbers_are_clamped_to_the_range_with_a_notice_naming_the_field():
    at = run(task_app)
    at.sidebar.number_input(key="t.n_samples").set_value(10**9).run()
    assert result(at)["n_samples"] == 5000 and at.sidebar.number_input(key="t.n_samples").value == 5000
    assert [w.value for w in at.sidebar.warning] == [
        "N samples: 1000000000 is outside the allowed range (from 20 to 5000); clamped to 5000"]
    at.run()  # the notice is said once
    assert not at.sidebar.warning and result(at)["n_samples"] == 5000

    at = run(mlp_app)
    at.number_input(key="m.init_scale").set_value(-3.0).run()
    assert result(at)["init_scale"] == 0.0
    assert [w.value for w in at.warning] == ["Init scale: -3.0 is outside the allowed range (from 0.0 to 10.0); "
                                             "clamped to 0.0"]


def test_size_fields_help_names_the_session_budget(monkeypatch):
    monkeypatch.setenv("NETARIUM_SESSION_MEMORY_MB", "512")
    at = run(task_app)
    help_text = at.sidebar.number_input(key="t.n_samples").help
    assert "512 MB of memory" in help_text and "20.0 GFLOP a step" in help_text
    at = run(optimizer_app)  # the optimizer's fields size nothing
    assert all("budget" not in (w.help or "") for w in at.number_input)


def pages_own_number_app():
    import streamlit as st

    from netarium.ui.widgets import clamped_int

    st.code(str(clamped_int(st, "Seeds per point", 1, 64, key="seeds", value=3)))


def test_a_pages_own_number_field_clamps_with_a_notice():
    at = run(pages_own_number_app)
    assert at.code[0].value == "3"
    at.number_input(key="seeds").set_value(1000).run()
    assert at.code[0].value == "64" and at.number_input(key="seeds").value == 64
    assert [w.value for w in at.warning] == ["Seeds per point: 1000 is outside the allowed range (from 1 to 64); clamped to 64"]
    at.number_input(key="seeds").set_value(-5).run()
    assert at.code[0].value == "1"
    at.run()
    assert not at.warning and at.code[0].value == "1"
