"""Page paths typed in another spelling resolve to their page; exact and unknown ones are left alone."""

import pytest

from netarium.ui.navigation import requested_page_path, respelled_page

PATHS = ["", "playground", "side_by_side", "diagram", "sparsity"]  # Home, the default page, has ""


@pytest.mark.parametrize("url,base,path", [
    ("http://localhost:8501/Playground", "", "Playground"),
    ("http://localhost:8501/SIDE_BY_SIDE/", "", "SIDE_BY_SIDE"),
    ("http://localhost:8501/", "", ""),
    ("http://localhost:8501", "", ""),
    ("https://lab.example/netarium/Diagram", "/netarium/", "Diagram"),
    ("https://lab.example/netarium", "netarium", ""),
    ("https://lab.example/netariumx", "netarium", "netariumx"),
    (None, "", ""),
])
def test_requested_page_path_is_the_path_after_the_base(url, base, path):
    assert requested_page_path(url, base) == path


@pytest.mark.parametrize("requested,target", [
    ("Playground", "playground"),
    ("PLAYGROUND", "playground"),
    ("SIDE_BY_SIDE", "side_by_side"),
    ("Side-By-Side", "side_by_side"),
    ("side by side", "side_by_side"),
    ("playground", None),  # exact: Streamlit finds it
    ("", None),  # the root: Home
    ("nope", None),  # names no page: Streamlit says so and shows Home
    ("play", None),
    ("sparsity/x", None),
])
def test_respelled_page_names_the_page_in_its_registered_spelling(requested, target):
    assert respelled_page(requested, PATHS) == target
