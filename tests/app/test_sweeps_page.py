"""The Sweeps page: fields clicked into axes with default ranges, a bad axis said under it, the member count
and estimate, a sweep started and drawn (final metric, curves, members), a member opened in the Playground
with its exact config, save -> the Runs page lists it -> reopen, and sweep links (valid and not)."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from netarium.training.store import RunStore, default_store_path
from netarium.training.sweep import Sweep, parse_axis
from netarium.ui.session import SWEEP, default_config
from netarium.ui.text import shown_text
from netarium.ui.urlstate import sweep_to_query

from .conftest import LIVE

PAGE = "pages/sweeps.py"
SMALL = {"task.n_samples": "100", "model.hidden": "4", "seed": "3"}  # a quick base config in the sidebar


@pytest.fixture
def sweeps(open_app):
    """The app on the Sweeps page with a small base config (and 40 steps per member); its sweep is closed after."""
    made = []

    def _open(**query) -> AppTest:
        at = open_app(PAGE, **{**SMALL, **query})
        at.number_input(key="sweeps.steps").set_value(40).run()
        made.append(at)
        return at

    yield _open
    for at in made:
        if SWEEP in at.session_state and at.session_state[SWEEP] is not None:
            at.session_state[SWEEP].close()


def pills(at: AppTest, group: str):
    return at.button_group(key=f"sweeps.add.{group}")


def axis_texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text_input if t.key.startswith("sweeps.axis.")]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def start_and_finish(at: AppTest, timeout: float = 60) -> AppTest:
    at.button(key="sweeps.start").click().run()
    sweep = at.session_state[SWEEP]
    sweep.worker.wait_for(lambda s: s.step >= sweep.run.steps and s.state != "playing", timeout=timeout)
    return at.run()


def test_clicking_fields_adds_axes_with_default_ranges(sweeps):
    at = sweeps()
    assert not at.exception
    assert "Optimizer" in {p.label for p in at.button_group}
    pills(at, "Optimizer").set_value("optimizer.lr").run()
    pills(at, "Network").set_value("model.activation").run()
    pills(at, "Network").set_value("model.hidden").run()
    lr = default_config().optimizer.lr
    assert axis_texts(at) == [f"optimizer.lr=log:{lr / 10:g}:{lr * 10:g}:5",
                              "model.activation=relu,tanh,sigmoid,gelu,silu,linear,square",
                              "model.hidden=[2],[4],[8],[16]"]  # widths 2..16 at the current depth (one layer)
    assert pills(at, "Optimizer").value is None  # ready for the next click
    assert "optimizer.lr" not in pills(at, "Optimizer").options  # an axis once
    text = " ".join(m.value for m in at.markdown)
    assert "**140 members** × 40 steps" in text and "an estimate" in text


def test_a_bad_axis_is_said_under_it_and_nothing_starts(sweeps):
    at = sweeps()
    pills(at, "Optimizer").set_value("optimizer.lr").run()
    box = next(t for t in at.text_input if t.key.startswith("sweeps.axis."))
    box.set_value("optimizer.lr=1,20").run()
    assert any("axis optimizer.lr: value '20'" in e and "10" in e for e in errors(at))
    assert not any(b.key == "sweeps.start" for b in at.button)
    box.set_value("optimizer.lr=log:0:1:3").run()
    assert any("positive bounds" in e for e in errors(at))
    box.set_value("optimizer.lr=0.01,0.1").run()
    assert not errors(at) and at.button(key="sweeps.start")
    at.number_input(key="sweeps.seeds").set_value(3).run()
    assert "**6 members** × 40 steps" in " ".join(m.value for m in at.markdown)


def test_start_draws_the_sweep_and_opens_a_member_in_the_playground(sweeps):
    at = sweeps()
    pills(at, "Optimizer").set_value("optimizer.lr").run()
    pills(at, "Training").set_value("l2").run()
    boxes = [t for t in at.text_input if t.key.startswith("sweeps.axis.")]
    boxes[0].set_value("optimizer.lr=0.01,0.1").run()
    boxes[1].set_value("l2=0,0.001,0.01").run()
    at = start_and_finish(at)
    assert not at.exception
    sweep = at.session_state[SWEEP]
    assert sweep.size == 6 and sweep.progress().state == "done"
    assert "6/6 members done" in at.get("progress")[0].proto.text
    charts = {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    heat = next(f for f in charts.values() if f["data"][0]["type"] == "heatmap")["data"][0]
    assert heat["y"] == ["0.01", "0.1"] and heat["x"] == ["0", "0.001", "0.01"]
    finals = {tuple(m.point.values()): m.final["test_acc"] for m in sweep.current().members}
    assert heat["z"][1][2] == pytest.approx(finals[(0.1, 0.01)])
    assert any(f["data"][0]["type"] == "scatter" and len(f["data"]) >= 6 for f in charts.values())  # the curves
    table = at.dataframe[0].value
    assert sorted(table["member"]) == list(range(6))
    assert list(table["test accuracy"]) == sorted(finals.values(), reverse=True)  # best first

    member = sweep.current().members[4]  # lr 0.1, l2 0.001
    at.selectbox(key="sw.sweep-members.pick").set_value(4).run()
    at.button(key="sw.sweep-members.open").click().run()
    assert not at.exception
    live = at.session_state[LIVE]
    assert live.config == member.config and live.config.seed == 3 and live.config.optimizer.lr == 0.1
    assert live.run.step_count == 0  # from step 0: the same data and initial weights as in the sweep
    assert any("Opened sweep member #4" in m.value for m in at.info)
    assert {"pg.layers.plus"} <= {b.key for b in at.button}  # on the Playground


def test_save_then_the_runs_page_lists_it_and_reopens_it(sweeps):
    at = sweeps()
    pills(at, "Training").set_value("seed").run()
    next(t for t in at.text_input if t.key.startswith("sweeps.axis.")).set_value("seed=1,2").run()
    at = start_and_finish(at)
    at.text_input(key="sweeps.save_name").set_value("two seeds").run()
    at.button(key="sweeps.save").click().run()
    assert any("Saved the sweep as sweep #" in m.value for m in at.success)
    with RunStore(default_store_path()) as store:
        (record,) = store.list_sweeps()
    assert (record.name, record.size) == ("two seeds", 2)

    at.switch_page("pages/runs.py").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "members" in d.value.columns)
    assert list(table["name"]) == ["two seeds"] and list(table["members"]) == [2] and "created" in table.columns
    at.button(key="runs.sweep_open").click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sweeps"]
    assert any(s.value.startswith(f"Saved sweep #{record.id}") for s in at.subheader)
    shown = at.session_state[SWEEP]
    assert shown.sweep_id == record.id and [m.point for m in shown.current().members] == [{"seed": 1}, {"seed": 2}]
    assert at.get("plotly_chart") and at.dataframe[0].value["member"].tolist() != []


def test_a_sweep_link_loads_its_base_and_axes_and_a_bad_one_says_why(open_app):
    base = default_config().with_overrides({"task.noise": 0.2, "steps": 30})
    sweep = Sweep(base=base, axes=[parse_axis("optimizer.lr=0.01,0.1")], seeds=2)
    at = open_app(PAGE, sweep=sweep_to_query(sweep))
    assert not at.exception
    assert at.session_state[LIVE].config == base
    assert axis_texts(at) == ["optimizer.lr=0.01,0.1"] and at.number_input(key="sweeps.seeds").value == 2
    assert "**4 members** × 30 steps" in " ".join(m.value for m in at.markdown)
    bad = open_app(PAGE, sweep=sweep_to_query(sweep).replace("0.1", "20"))
    assert any("The link's sweep was not loaded" in w.value and "value '20'" in w.value for w in bad.warning)
    assert axis_texts(bad) == [] and bad.session_state[LIVE].config == default_config()


def test_without_a_sweep_the_page_says_what_to_do_and_side_by_side_does_not_offer_sweep_views(open_app):
    at = open_app(PAGE)
    assert not at.exception
    assert any("Click fields above" in i.value for i in at.info)
    at.switch_page("pages/side_by_side.py").run()
    assert "sweep-final" not in at.selectbox(key="sbs.slot0").options


def test_a_saved_sweeps_name_is_shown_literally(sweeps):
    name = "![x](http://example.com/a.png) <b>bold</b> :material/home:"
    at = sweeps()
    pills(at, "Training").set_value("seed").run()
    next(t for t in at.text_input if t.key.startswith("sweeps.axis.")).set_value("seed=1,2").run()
    at = start_and_finish(at)
    at.text_input(key="sweeps.save_name").set_value(name).run()
    at.button(key="sweeps.save").click().run()
    with RunStore(default_store_path()) as store:
        (record,) = store.list_sweeps()
    assert record.name == name
    at.switch_page("pages/runs.py").run()
    assert f"#{record.id} {name} · 2 members" in at.selectbox(key="runs.sweep").options  # options are plain text
    at.button(key="runs.sweep_open").click().run()
    assert not at.exception
    (header,) = [s.value for s in at.subheader if "Saved sweep" in s.value]
    assert shown_text(header) == f"Saved sweep #{record.id} · {name}"
    assert not re.search(r"(?<!\\)[\[\]<>]|https?://|(?<!\\):material", header)  # no image, link, HTML or icon
