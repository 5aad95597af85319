"""The sidebar's CSV uploader (ui/upload.py): the csv task gets its data only as an upload, kept in
the run store under its hash; a bad file is refused with the cell's place and the config kept."""

from __future__ import annotations

import hashlib
from pathlib import Path

from streamlit.testing.v1 import AppTest

from netarium.experiments import EXPERIMENTS
from netarium.training.live import LiveRun

PAGE = "pages/home.py"  # the sidebar is the same on every page; home draws no views
VALID = b"a,b,label\n0.5,1,0\n1.5,-2,1\n2,0.3,2\n-1,0,1\n0,0,0\n"
SECRET = "TOPSECRET-" + "q" * 80
DEFAULT_TASK = EXPERIMENTS.get("playground").config.task.name  # what a fresh session trains on


def live_of(at: AppTest) -> LiveRun:
    return at.session_state["netarium.live"]


def choose_csv(at: AppTest) -> AppTest:
    at.selectbox(key="sidebar.task.name").set_value("csv").run()
    assert not at.exception, at.exception
    return at


def test_the_csv_task_shows_an_uploader_and_no_path_input(open_app) -> None:
    at = choose_csv(open_app(PAGE))
    uploader = at.file_uploader(key="sidebar.upload")
    assert uploader.allowed_type == [".csv"] and not uploader.accept_multiple_files
    assert uploader.proto.max_upload_size_mb == 5
    assert [w.key for w in at.text_input if w.key.startswith("sidebar.task")] == []
    assert [w.key for w in at.number_input if w.key.startswith("sidebar.task")] == ["sidebar.task.csv.train_ratio"]
    assert live_of(at).config.task.name == DEFAULT_TASK  # no file yet: the run keeps its data


def test_an_upload_is_stored_by_hash_and_becomes_the_task(open_app, tmp_path: Path) -> None:
    at = choose_csv(open_app(PAGE))
    at.file_uploader(key="sidebar.upload").set_value(("../../etc/passwd.csv", VALID, "text/csv")).run()
    assert not at.exception, at.exception
    key = hashlib.sha256(VALID).hexdigest()
    task = live_of(at).config.task
    assert task.section() == {"name": "csv", "upload": key, "path": "", "train_ratio": 0.8, "kind": "auto"}
    assert live_of(at).run.task.n_classes == 3 and live_of(at).run.task.input_names == ["a", "b"]
    assert live_of(at).config.loss == "auto"  # the default's tfp loss cannot serve 3 classes: back to auto
    assert sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "uploads").iterdir()) == [f"uploads/{key}.csv"]
    assert not list(tmp_path.rglob("*passwd*"))  # the browser's file name is never used
    assert at.query_params["task"] == "csv" and "task.upload" not in at.query_params  # a link carries no file

    bad = f"a,b,label\n1,2,0\n3,{SECRET},1\n".encode()
    at.file_uploader(key="sidebar.upload").set_value(("bad.csv", bad, "text/csv")).run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "row 3, column 2 ('b'): 'TOPSECRET-qqqqqqqqqq'… is not a number" in errors[0]
    assert SECRET[:21] not in errors[0]
    assert live_of(at).config.task == task  # the previous data stays
    assert [p.name for p in (tmp_path / "uploads").iterdir()] == [f"{key}.csv"]  # nothing stored for the bad file


def test_a_link_cannot_name_a_server_file(open_app, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_bytes(VALID)
    at = open_app(PAGE, **{"task": "csv", "task.path": str(secret)})
    assert live_of(at).config.task.name == DEFAULT_TASK  # the default's data, not the file
    notices = [message for _, message in at.session_state["netarium.flash"]]
    assert "a link cannot set task.path (a server file or an upload); ignored it" in notices
    assert any(n.startswith("A link cannot carry a CSV file") for n in notices)
