"""st.navigation that also opens a page whose path was typed in another spelling.

Streamlit matches a page path exactly, so /Playground or /SIDE_BY_SIDE would show Home (after a
"Page not found" dialog); here they go to the Playground and Side by side pages, query string kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import streamlit as st
from streamlit.navigation.page import StreamlitPage


def spelling(path: str) -> str:
    """A page path with letter case and the '-' / ' ' / '_' choice taken out."""
    return path.lower().replace("-", "_").replace(" ", "_")


def requested_page_path(url: str | None, base_url_path: str = "") -> str:
    """The page part of the URL the browser opened: its path after the server's base path ('' at the root)."""
    if not url:
        return ""
    path = urlsplit(url).path.strip("/")
    base = base_url_path.strip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base):].strip("/")
    return path


def respelled_page(requested: str, url_paths: Iterable[str]) -> str | None:
    """The page path that `requested` names in another spelling; None when it names a page exactly, or none."""
    paths = [p for p in url_paths if p]
    if not requested or requested in paths:
        return None
    return next((p for p in paths if spelling(p) == spelling(requested)), None)


def _alias() -> None:
    """Body of the hidden page that holds a respelled path for one run; never run (it switches away)."""


def navigation(pages: list[StreamlitPage]) -> StreamlitPage:
    """st.navigation(pages), switching to the page a respelled path names (e.g. /Playground -> /playground).

    For that one run the respelled path is a hidden page of its own, so Streamlit finds it and shows
    no "Page not found"; the switch then lands on the real page with the same query string."""
    requested = requested_page_path(st.context.url, st.get_option("server.baseUrlPath"))
    target = respelled_page(requested, [p.url_path for p in pages])
    alias = [st.Page(_alias, title=requested, url_path=requested, visibility="hidden")] if target else []
    page = st.navigation([*pages, *alias])
    if target is not None and page.url_path != target:
        query = [(key, value) for key in st.query_params for value in st.query_params.get_all(key)]
        st.switch_page(next(p for p in pages if p.url_path == target), query_params=query)
    return page
