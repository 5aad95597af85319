"""The runs page: the stored runs as a table; pick one to see, annotate, rename, load or delete it;
pick several to overlay; export; save the session's live run."""

from __future__ import annotations

import html
import json
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from netarium.training import Config
from netarium.training.store import RunStore
from netarium.ui.text import shown_text

PAGE = Path(__file__).resolve().parents[2] / "pages" / "runs.py"
CFG = Config(task={"name": "circle", "n_samples": 200}, model={"name": "mlp", "hidden": [4]}, eval_every=5,
             device="cpu", steps=40)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunStore]:
    """A store in $NETARIUM_HOME holding two finished runs, 'alpha' (older) and 'beta'."""
    monkeypatch.setenv("NETARIUM_HOME", str(tmp_path))
    with RunStore(tmp_path / "netarium.db") as s:
        for name, acc in (("alpha", 0.75), ("beta", 0.9)):
            rid = s.create_run(CFG.model_dump(mode="json"), experiment="playground", name=name)
            s.append_history(rid, [("test_loss", 10, 0.6), ("test_loss", 20, 0.4), ("test_acc", 20, acc),
                                   ("train_loss", 20, 0.3)])
            s.finish(rid, {"test_acc": acc, "test_loss": 0.4}, steps=20, seconds=0.5)
        yield s


@pytest.fixture
def at(store: RunStore) -> Iterator[AppTest]:
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.run()
    yield app
    if "netarium.live" in app.session_state:
        app.session_state["netarium.live"].close()


def ids(store: RunStore) -> dict[str, int]:
    return {r.name: r.id for r in store.list_runs()}


def pick(at: AppTest, *run_ids: int) -> AppTest:
    return at.multiselect(key="runs.pick").set_value(list(run_ids)).run()


def messages(at: AppTest) -> list[str]:
    return [m.value for kind in (at.success, at.info, at.warning, at.error) for m in kind]


def test_table_lists_the_stored_runs(at: AppTest, store: RunStore) -> None:
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["name"]) == ["beta", "alpha"]  # newest first
    assert list(table["id"]) == [ids(store)["beta"], ids(store)["alpha"]]
    assert list(table["final"]) == [0.9, 0.75] and set(table["test metric"]) == {"test_acc"}
    assert set(table["status"]) == {"done"} and set(table["steps"]) == {20}
    assert all(c.startswith("today ") for c in table["created"])
    assert at.multiselect(key="runs.pick").options == [f"#{ids(store)['beta']} beta", f"#{ids(store)['alpha']} alpha"]
    assert "Select runs to export" in " ".join(c.value for c in at.caption)


def test_one_run_shows_its_config_curves_and_numbers(at: AppTest, store: RunStore) -> None:
    alpha = ids(store)["alpha"]
    pick(at, alpha)
    assert not at.exception
    assert [shown_text(s.value) for s in at.subheader] == [f"#{alpha} alpha"]
    assert json.loads(at.json[0].value) == CFG.model_dump(mode="json")
    assert at.get("plotly_chart")  # the curves
    finals = {r["metric"]: r["value"] for r in at.dataframe[1].value.to_dict("records")}
    assert finals == {"test_acc": 0.75, "test_loss": 0.4}


def test_an_interrupted_streamed_run_shows_its_state(tmp_path: Path, store: RunStore) -> None:
    """A streamed save whose writer is gone reads 'interrupted' in the table and says what that keeps."""
    rid = store.create_run(CFG.model_dump(mode="json"), experiment="playground", name="killed", stream=True)
    store.append_history(rid, [("test_loss", 10, 0.7), ("test_acc", 10, 0.5)])
    store.beat(rid, steps=10, seconds=0.2)
    with sqlite3.connect(store.path) as raw:  # its writer: a process on this host that has exited
        raw.execute("UPDATE runs SET writer = ? WHERE id = ?", (f"{_dead_pid()}@{socket.gethostname()}", rid))
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    table = app.dataframe[0].value
    assert list(table["name"]) == ["killed", "beta", "alpha"]
    assert list(table["status"]) == ["interrupted", "done", "done"] and list(table["steps"])[0] == 10
    pick(app, rid)
    assert not app.exception
    assert app.caption[0].value.startswith("interrupted · 10 steps")
    assert any("ended before the run finished" in m for m in messages(app))


def test_a_diverged_run_shows_its_curves_up_to_the_blow_up_and_a_marker(store: RunStore) -> None:
    rid = store.create_run(CFG.model_dump(mode="json"), experiment="playground", name="blown")
    store.append_history(rid, [("train_loss", 10, 0.7), ("train_loss", 20, 4e9), ("test_loss", 10, 0.8)])
    store.finish(rid, {"train_loss": 4e9, "test_loss": 0.8}, steps=23, seconds=0.1, status="diverged",
                 reason="the training loss became inf between steps 21 and 23")
    app = AppTest.from_file(str(PAGE), default_timeout=60).run()
    pick(app, rid)
    assert not app.exception
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    lines = {t["name"]: t["y"] for t in spec["data"]}
    assert lines == {"train loss": [0.7, 4e9], "test loss": [0.8]}
    assert [(sh["x0"], sh["x1"]) for sh in spec["layout"]["shapes"]] == [(23, 23)]
    assert spec["layout"]["annotations"][0]["text"] == "diverged at step 23"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_notes_and_rename_are_saved(at: AppTest, store: RunStore) -> None:
    alpha = ids(store)["alpha"]
    pick(at, alpha)
    at.text_area(key=f"runs.notes.{alpha}").input("lr too high").run()
    at.button(key=f"runs.save_notes.{alpha}").click().run()
    assert not at.exception
    assert store.get_run(alpha).notes == "lr too high"
    assert f"Saved the notes of run #{alpha}." in messages(at)
    at.text_input(key=f"runs.name.{alpha}").input("  first  ").run()
    at.button(key=f"runs.rename.{alpha}").click().run()
    assert store.get_run(alpha).name == "first"
    assert "first" in list(at.dataframe[0].value["name"]) and "lr too high" in list(at.dataframe[0].value["notes"])


def test_delete_needs_confirmation(at: AppTest, store: RunStore) -> None:
    alpha = ids(store)["alpha"]
    pick(at, alpha)
    assert at.button(key=f"runs.delete.{alpha}").disabled
    at.checkbox(key=f"runs.confirm.{alpha}").check().run()
    at.button(key=f"runs.delete.{alpha}").click().run()
    assert not at.exception
    assert [r.name for r in store.list_runs()] == ["beta"]
    assert list(at.dataframe[0].value["name"]) == ["beta"]
    assert at.multiselect(key="runs.pick").value == []
    assert f"Deleted run #{alpha}." in messages(at)


def test_load_config_into_the_session(at: AppTest, store: RunStore) -> None:
    alpha = ids(store)["alpha"]
    pick(at, alpha)
    at.button(key=f"runs.load.{alpha}").click().run()
    assert not at.exception
    assert at.session_state["netarium.live"].config == CFG
    assert f"Loaded the config of run #{alpha} into the sidebar." in messages(at)


def test_a_stored_config_that_no_longer_validates_is_an_error(at: AppTest, store: RunStore) -> None:
    bad = store.create_run({"task": {"name": "no-such-task"}}, name="broken")
    store.finish(bad, {}, steps=0, seconds=0.0)
    at.run()
    pick(at, bad)
    at.button(key=f"runs.load.{bad}").click().run()
    assert not at.exception
    assert any(m.startswith("Could not use that config") and "no-such-task" in m for m in messages(at))


def test_several_runs_overlay_one_metric_and_export(at: AppTest, store: RunStore) -> None:
    alpha, beta = ids(store)["alpha"], ids(store)["beta"]
    pick(at, alpha, beta)
    assert not at.exception
    metric = at.selectbox(key="runs.metric")
    assert metric.options == ["test_acc", "test_loss", "train_loss"] and metric.value == "test_loss"
    metric.set_value("test_acc").run()
    assert not at.exception and [c.key for c in at.get("plotly_chart")] == ["runs.overlay"]
    assert list(at.dataframe[1].value["run"]) == [f"#{beta} beta", f"#{alpha} alpha"]
    labels = {b.key: b.label for b in at.get("download_button")}
    assert labels == {"runs.export_csv": "Download CSV (2 runs)", "runs.export_json": "Download JSON (2 runs)"}


def test_save_the_current_run(at: AppTest, store: RunStore) -> None:
    assert at.button(key="runs.save").disabled  # nothing trained yet
    live = at.session_state["netarium.live"]
    live.step(15)
    live.worker.wait_for(lambda s: s.step == 15)
    at.run()
    at.text_input(key="runs.save_name").input("mine")
    at.text_area(key="runs.save_note").input("from the test")
    at.button(key="runs.save").click().run()
    assert not at.exception
    (rec,) = [r for r in store.list_runs() if r.name == "mine"]
    assert (rec.notes, rec.steps, rec.status, rec.experiment) == ("from the test", 15, "running", None)  # it follows the run
    assert store.checkpoints(rec.id)[0][0] == 15 and store.history(rec.id)["test_loss"][-1][0] == 15
    assert f"Saved the session's run as run #{rec.id}." in messages(at)
    assert at.multiselect(key="runs.pick").value == [rec.id]  # the new run is shown
    assert [s.value for s in at.subheader] == [f"#{rec.id} mine"]
    assert at.text_input(key="runs.save_name").value == ""


def test_an_unusable_store_is_an_error_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("NETARIUM_HOME", str(blocker))
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.run()
    assert not app.exception
    assert [e.value for e in app.error][0].startswith("The run store could not be opened")


def test_no_runs_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETARIUM_HOME", str(tmp_path / "empty"))
    app = AppTest.from_file(str(PAGE), default_timeout=60)
    app.run()
    try:
        assert not app.exception and not app.dataframe
        assert any("No saved runs yet" in i.value for i in app.info)
    finally:
        app.session_state["netarium.live"].close()


EVIL_NAME = "![x](http://example.com/a.png) <img src=http://example.com/b.png> **bold** :red[x]"
EVIL_NOTE = "# note\n[link](http://example.com) www.example.com"
CONSTRUCT = re.compile(r"(?<!\\)(?:\\\\)*[\[\]<>*_`~$&|]|https?://|www\.")  # unescaped markdown/HTML, a bare address


def markdown_bodies(at: AppTest) -> list[str]:
    """The text of every element Streamlit renders as markdown."""
    kinds = (at.title, at.header, at.subheader, at.caption, at.markdown, at.info, at.success, at.warning, at.error)
    return [e.value for kind in kinds for e in kind]


def test_user_text_is_shown_literally(at: AppTest, store: RunStore) -> None:
    rid = store.create_run(CFG.model_dump(mode="json"), experiment="playground", name=EVIL_NAME)
    store.set_notes(rid, EVIL_NOTE)
    store.append_history(rid, [("test_loss", 10, 0.7), ("test_loss", 20, 0.5)])
    store.finish(rid, {"test_acc": 0.5}, steps=20, seconds=0.5, status="stopped", reason="stopped by **someone** <b>")
    at.run()
    pick(at, rid)
    assert not at.exception
    assert [shown_text(s.value) for s in at.subheader] == [f"#{rid} {EVIL_NAME}"]
    assert any(shown_text(c.value).endswith("· stopped by **someone** <b>") for c in at.caption)
    assert at.text_area(key=f"runs.notes.{rid}").value == EVIL_NOTE  # a text area shows text as typed
    assert f"#{rid} {EVIL_NAME}" in at.multiselect(key="runs.pick").options
    quoting = [b for b in markdown_bodies(at) if "example.com" in shown_text(b) or "someone" in shown_text(b)]
    assert len(quoting) == 2  # the subheader and the caption
    for body in quoting:
        assert not CONSTRUCT.search(body.replace("\\\\", "")), body  # no link, image or HTML element
    assert not at.get("imgs") and not at.get("image")

    other = ids(store)["alpha"]
    pick(at, rid, other)  # the overlay's legend: plotly shows names as text, not HTML
    legend = {trace["name"] for trace in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]}
    assert f"#{rid} {html.escape(EVIL_NAME, quote=False)}" in legend
