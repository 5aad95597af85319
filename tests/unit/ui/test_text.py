"""User text through plain_markdown: every markdown construct is escaped, the text reads as typed."""

import re

import pytest

from netarium.ui.text import ZWSP, plain_markdown, plain_plotly, shown_text

UNESCAPED = re.compile(r"(?<!\\)(?:\\\\)*[\[\]<>*_`~$&|]")  # a construct character no backslash escapes

CASES = [
    "![x](http://example.com/a.png)",
    "[click](javascript:alert(1))",
    "<img src=http://example.com/a.png onerror=alert(1)>",
    "<http://example.com>",
    "**bold** _it_ ~~gone~~ `code` $x^2$",
    ":red[colored] :material/home: :smile:",
    "# heading\n- item\n+ item\n1. first\n2) second\n---\n===\n> quote\n| a | b |",
    "&lt;b&gt; &amp;",
    "www.example.com and https://example.com/x",
    "back\\slash \\[ \\\\",
    "task.noise=3 is above 0.5; used 0.5 (allowed: float from 0.0 to 0.5)",
]


@pytest.mark.parametrize("text", CASES)
def test_plain_markdown_escapes_every_construct_and_reads_as_typed(text):
    md = plain_markdown(text)
    assert shown_text(md) == text
    assert not UNESCAPED.search(md.replace("\\\\", "")), md
    assert "http://" not in md and "https://" not in md and "www." not in md.replace("www" + ZWSP + ".", "")
    assert not re.search(r"(?<!\\):[\w/+-]+:", md)  # no emoji or icon shortcode
    for line in md.split("\n"):
        assert not re.match(r"\s*(#|[-+=]|\d+[.)](\s|$))", line), line  # no heading, list, rule


def test_prose_stays_as_it_is():
    assert plain_markdown("task.noise=3 is above 0.5; used 0.5 (ok)") == "task.noise=3 is above 0.5; used 0.5 (ok)"
    assert plain_markdown("#1 alpha") == "#1 alpha"  # not a heading: no space after #


def test_plain_plotly_escapes_html():
    assert plain_plotly('<a href="http://x">run</a> & co') == '&lt;a href="http://x"&gt;run&lt;/a&gt; &amp; co'
