"""Lesson links in the codec (title and text, capped and cleaned; UI controls a link may hide) and the
sanitiser that shows a lesson's text: no HTML, no links, no images."""

from urllib.parse import parse_qsl, urlsplit

import pytest

from netarium.training.config import Config
from netarium.ui.lesson import ZWSP, hideable_controls, plain_markdown, safe_markdown
from netarium.ui.session import default_config
from netarium.ui.urlstate import (
    LESSON_LIMITS,
    UI_CONTROLS,
    Lesson,
    lesson_to_query,
    query_to_config,
    share_url,
)


def test_a_lesson_round_trips_through_a_link():
    lesson = Lesson("Why depth helps", "Press **play**.\n\n- then add a layer\n- and watch the boundary")
    url = share_url("http://host/playground", default_config(), {"transport.reset", "task.noise", "pg.layers"},
                    base=default_config(), lesson=lesson)
    params = dict(parse_qsl(urlsplit(url).query))
    assert params["lesson.title"] == lesson.title and params["lesson.text"] == lesson.text
    assert params["transport.reset_hide"] == params["task.noise_hide"] == params["pg.layers_hide"] == "true"
    d = query_to_config(params, default_config())
    assert d.notices == [] and d.lesson == lesson
    assert d.hidden == {"transport.reset", "task.noise", "pg.layers"}
    assert d.config == default_config()


def test_no_lesson_no_params():
    assert lesson_to_query(Lesson()) == {} and not Lesson() and Lesson("t") and Lesson(text="x")
    assert "lesson" not in share_url("http://h/", Config())


def test_every_ui_control_can_be_hidden_by_a_link():
    d = query_to_config({f"{key}_hide": "true" for key in UI_CONTROLS})
    assert d.hidden == set(UI_CONTROLS) and d.notices == []


def test_lesson_values_are_capped_and_cleaned():
    title_cap, text_cap = LESSON_LIMITS["lesson.title"], LESSON_LIMITS["lesson.text"]
    d = query_to_config({"lesson.title": " A\ttitle\nwith\x00 a break\u202e ", "lesson.text": "x" * 5000})
    assert d.lesson.title == "A title with a break"
    assert d.lesson.text == "x" * text_cap
    assert d.notices == [f"lesson.text is longer than {text_cap} characters; cut to {text_cap}"]
    d = query_to_config({"lesson.title": "t" * 500, "lesson.text": "line 1\r\nline 2\x07"})
    assert d.lesson.title == "t" * title_cap and d.lesson.text == "line 1\nline 2"
    assert lesson_to_query(Lesson("t" * 500, "")) == {"lesson.title": "t" * title_cap}


@pytest.mark.parametrize(("text", "shown"), [
    ("**bold** and *it*", "**bold** and *it*"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
    ("![cat](https://evil.example/cat.png)", "cat"),
    ("see [the docs](javascript:alert(1)) now", "see the docs now"),
    ("[ref]: https://evil.example/x.png\n![a][ref]", "\n!\\[a\\]\\[ref\\]"),
    ("go to https://evil.example", f"go to https{ZWSP}://evil.example"),
    ("or www.evil.example", f"or www{ZWSP}.evil.example"),
    ("<https://evil.example>", f"&lt;https{ZWSP}://evil.example&gt;"),
    ("a & b", "a &amp; b"),
])
def test_safe_markdown(text, shown):
    assert safe_markdown(text) == shown


def test_no_link_or_image_syntax_survives():
    for attack in ["![x](http://a/b.png)", "[![x](http://a/b.png)](http://c)", "![x][1]\n\n[1]: http://a/b.png",
                   "[a]( http://x )", "![a](<http://x>)", "<a href='http://x'>x</a>"]:
        out = safe_markdown(attack)
        assert "](" not in out.replace("\\](", "") and "<" not in out and "http://" not in out, (attack, out)


def test_plain_markdown_escapes_every_markdown_character():
    assert plain_markdown("# Title *with* [link](x) <b>") == r"\# Title \*with\* \[link\]\(x\) &lt;b&gt;"


def test_hideable_controls_cover_the_sidebar_and_the_buttons():
    groups = hideable_controls(default_config())
    keys = [key for controls in groups.values() for key, _ in controls]
    assert len(keys) == len(set(keys))
    assert {"problem", "task", "task.noise", "task.features", "model", "model.hidden", "optimizer", "optimizer.lr",
            "l1", "l2", "batch_size", "seed", "loss", "trainer", "transport.play", "transport.step", "transport.reset",
            "transport.regenerate", "transport.speed", "boundary.test", "boundary.disc", "pg.layers"} <= set(keys)
    assert set(keys) - set(UI_CONTROLS) <= {k for k in keys if k.split(".")[0] in Config.model_fields}
    d = query_to_config({f"{key}_hide": "true" for key in keys}, default_config())
    assert d.hidden == set(keys) and d.notices == []  # the codec accepts every one
