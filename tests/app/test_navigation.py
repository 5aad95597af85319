"""A page path typed in another spelling (/Playground, /SIDE_BY_SIDE) opens that page, query string
kept, instead of Home; an unknown path still shows Home."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from .conftest import LIVE


@pytest.fixture
def open_url(open_app) -> Callable[..., AppTest]:
    """open_url(path, **query) -> the app run once as a browser opening http://localhost:8501/<path>?<query>."""
    return lambda path, **query: open_app(url=f"http://localhost:8501/{path}", **query)


def is_home(at: AppTest) -> bool:
    return [t.value for t in at.title] == ["Netarium"]


@pytest.mark.parametrize("path", ["Playground", "PLAYGROUND"])
def test_playground_in_another_case_opens_the_playground_with_its_query(open_url, path):
    at = open_url(path, **{"task.noise": "0.2"})
    assert not is_home(at)
    assert {"pg.layers.plus", "pg.width0.plus"} <= {b.key for b in at.button}
    assert at.query_params["task.noise"] == "0.2"
    assert at.session_state[LIVE].run.config.task.noise == 0.2


def test_side_by_side_in_capitals_opens_side_by_side(open_url):
    at = open_url("SIDE_BY_SIDE")
    assert not is_home(at)
    assert {"sbs.slot0", "sbs.slot1"} <= {s.key for s in at.selectbox}


def test_an_unknown_path_shows_home(open_url):
    at = open_url("nope")
    assert is_home(at)
    assert not any(b.key == "pg.layers.plus" for b in at.button)
