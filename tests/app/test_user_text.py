"""A link's values come back in its notices as typed: markdown or HTML in them draws nothing."""

from __future__ import annotations

import re

from netarium.ui.text import shown_text


def test_a_links_markdown_is_shown_literally_in_its_notice(open_app) -> None:
    evil = "![x](http://e.co/a.png)"
    at = open_app("pages/runs.py", **{"task": evil, "model.activation": "<img src=x>"})
    notices = [w.value for w in at.warning]
    quoting = [n for n in notices if "e.co" in n or "img" in n]
    assert len(quoting) == 2, notices
    assert any("model.activation: dropped item <img src=x>" in shown_text(n) for n in quoting)
    assert any(f"task={evil} is not a registered task" in shown_text(n) for n in quoting)
    for n in quoting:
        assert not re.search(r"(?<!\\)[\[\]<>]|https?://", n), n  # no image, link or HTML
