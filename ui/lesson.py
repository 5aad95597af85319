"""Lessons on the Playground: a link that opens it with chosen controls hidden and a title and text
above it (built in a panel here), and TensorFlow Playground links, pasted or opened by address
(ui/tfp_link.py reads them).

A lesson's text is untrusted (it comes from a link): it is shown as markdown with HTML escaped and
links and images reduced to their text, so a link can neither run code nor make the page fetch anything.
"""

from __future__ import annotations

import html
import re
from typing import Any

import streamlit as st

from netarium.schema import browser_settable
from netarium.training.config import Config
from netarium.training.live import LiveRun
from netarium.ui.session import (
    HIDDEN,
    HOP,
    LIVE,
    PRESETS,
    adopt_link,
    apply_config,
    default_config,
    flash,
    hidden_controls,
    session_lesson,
)
from netarium.ui.sidebar import RUN_FIELDS
from netarium.ui.tfp_link import decode_link, hash_hop_script, link_params
from netarium.ui.urlstate import LESSON_LIMITS, LESSON_TEXT, LESSON_TITLE, UI_CONTROLS, Lesson, share_url
from netarium.ui.widgets import pretty_label

BUILD = "lesson.build"  # widget keys of the lesson builder
BUILDER_OPEN = "lesson.builder"  # the builder's expander: open or not
OPEN_URL = "lesson.open.url"
SECTION_TITLES = {"task": "Data set", "model": "Network type", "optimizer": "Optimizer", "trainer": "Training rule"}

# ------------------------------------------------------------------------------- safe lesson text

_TARGET = r"\((?:[^()\n]|\([^()\n]*\))*\)"  # a link's (target), one level of parentheses inside
_IMAGE = re.compile(r"!\[([^\]\n]*)\]" + _TARGET)
_LINK = re.compile(r"\[([^\]\n]*)\]" + _TARGET)
_REFERENCE = re.compile(r"^ {0,3}\[[^\]\n]+\]:.*$", re.MULTILINE)
_ADDRESS = re.compile(r"(?i)\b(https?|ftp|file|data|javascript|mailto)(:)")
_WWW = re.compile(r"(?i)\bwww\.")
ZWSP = "\u200b"  # breaks the autolink of a bare address without changing how it reads
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:>])")


def safe_markdown(text: str) -> str:
    """Lesson text as markdown that shows what it says and nothing else: HTML escaped, images and links
    reduced to their text, no link or image syntax left, bare addresses not turned into links."""
    text = html.escape(text, quote=False)
    text = _REFERENCE.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = text.replace("[", "\\[").replace("]", "\\]")
    text = _ADDRESS.sub(lambda m: m.group(1) + ZWSP + m.group(2), text)
    return _WWW.sub("www" + ZWSP + ".", text)


def plain_markdown(text: str) -> str:
    """Text shown literally by a markdown renderer: HTML escaped, every markdown character escaped."""
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(text, quote=False))
    return _WWW.sub("www" + ZWSP + ".", text)


# ------------------------------------------------------------------------------ what a lesson hides


def hideable_controls(config: Config) -> dict[str, list[tuple[str, str]]]:
    """Every control a lesson link can hide for this config, grouped as on the page: (key, label)."""

    def section(name: str) -> list[tuple[str, str]]:
        params = getattr(config, name)
        fields = [(f"{name}.{f}", pretty_label(f)) for f, info in type(params).model_fields.items() if browser_settable(info)]
        return [(name, SECTION_TITLES[name]), *fields]

    run = [(name, pretty_label(name)) for name in RUN_FIELDS]
    buttons = [(key, UI_CONTROLS[key].removesuffix(" button")) for key in UI_CONTROLS if key.startswith("transport.")]
    views = [("boundary.test", "Test data toggle"), ("boundary.disc", "Discretize toggle"), ("pg.layers", "+/- layer buttons")]
    return {
        "Data": [("problem", "Problem type"), *section("task")],
        "Network": section("model"),
        "Training": [*section("optimizer"), *run, *section("trainer")],
        "Buttons": buttons,
        "Playground": views,
    }


def view_toggle(box: Any, label: str, key: str, control: str) -> bool:
    """A view's toggle (widget key `key`), its value preset once by a link (TFP's showTestData), not drawn
    when a lesson hides `control`: then the link's value, else the toggle's last value, else off."""
    if control in hidden_controls():
        return toggle_state(key, control)
    presets = st.session_state.get(PRESETS, {"values": {}, "applied": set()})
    value = presets["values"].get(control)
    if value is not None and key not in presets["applied"]:
        presets["applied"].add(key)
        st.session_state[key] = bool(value)
    return box.toggle(label, key=key)


def toggle_state(key: str, control: str) -> bool:
    """What view_toggle(…, key, control) shows or will show this run, read without drawing it (another view
    follows it: the network graph's thumbnails follow the boundary's discretize toggle, as in TFP)."""
    presets = st.session_state.get(PRESETS, {"values": {}, "applied": set()})
    value = presets["values"].get(control)
    if control in hidden_controls():
        return bool(value if value is not None else st.session_state.get(key, False))
    if value is not None and key not in presets["applied"]:
        return bool(value)
    return bool(st.session_state.get(key, False))


# -------------------------------------------------------------------------------------- the header


def hash_hop() -> None:
    """On a session's first run from an address without a query: the script that turns a TensorFlow
    Playground #hash into a query (the server never sees a #hash), and the URL left alone this run."""
    if LIVE in st.session_state or st.query_params:
        return
    st.session_state[HOP] = True
    with st.container(key="netarium-hop"):  # hidden, so it takes no room on the page
        st.html("<style>.st-key-netarium-hop {display: none}</style>" + hash_hop_script(), unsafe_allow_javascript=True)


def show_lesson(lesson: Lesson) -> None:
    """The lesson's title and text in a bordered box (text through safe_markdown)."""
    with st.container(border=True, key="lesson.header"):
        if lesson.title:
            st.subheader(plain_markdown(lesson.title), anchor=False)
        if lesson.text:
            st.markdown(safe_markdown(lesson.text))


def lesson_header() -> None:
    """The session's lesson above the page, unless its link hid the text (TFP's hideText)."""
    lesson = session_lesson()
    if lesson and "lesson.text" not in hidden_controls():
        show_lesson(lesson)


# --------------------------------------------------------------------------------------- the panel


def _open_pasted() -> None:
    """Callback of Open: read the pasted link (TFP or Netarium) and apply it to the session's run."""
    params, why = link_params(st.session_state.get(OPEN_URL, ""))
    if why:
        flash(f"Not opened: {why}", "error")
        return
    decoded, tfp = decode_link(params, base=default_config())
    if decoded.config.task.name == "csv":  # a link carries no file
        decoded.notices.append("A link cannot carry a CSV file; choose the csv task and upload the file in the sidebar.")
        decoded.config = decoded.config.model_copy(update={"task": default_config().task})
    if apply_config(decoded.config) is None:
        return
    if not tfp:
        flash("Opened the link: its settings, hidden controls and lesson.", "info")
    adopt_link(decoded, tfp)


def _show_every_control() -> None:
    st.session_state[HIDDEN] = set()
    flash("Every control is back in this session (a link you build still hides what you tick).", "info")


def open_link_box() -> None:
    """A text box for a TensorFlow Playground link (its #hash is read here, on the server) or a Netarium link."""
    with st.expander("Open a TensorFlow Playground link", icon=":material/link:"):
        st.text_input("Paste a link", key=OPEN_URL, placeholder="https://playground.tensorflow.org/#activation=tanh&…",
                      help="A TensorFlow Playground address (its settings after #) or a Netarium link. Its data, "
                           "network, learning rate, regularization, batch size and hidden controls replace this run's.")
        st.button("Open", key="lesson.open.go", on_click=_open_pasted, icon=":material/open_in_browser:")


def lesson_builder(live: LiveRun) -> None:
    """Tick controls to hide, write a title and a text, copy the link: it opens this config (same data,
    same initial weights) with those controls gone and the lesson above the page."""
    hidden = hidden_controls()
    # drawn only while open (a rerun opens it): its dozens of checkboxes and the link's code block (Streamlit's
    # syntax highlighter, ~0.5 s of the browser's time) no longer delay the Playground's first charts
    builder = st.expander("Build a lesson link", icon=":material/school:", key=BUILDER_OPEN, on_change="rerun")
    if not builder.open:
        return
    with builder:
        title = st.text_input("Title", key=f"{BUILD}.title", max_chars=LESSON_LIMITS[LESSON_TITLE])
        text = st.text_area("Text", key=f"{BUILD}.text", max_chars=LESSON_LIMITS[LESSON_TEXT], height=100,
                            help="Markdown: **bold**, *italics*, lists, headings. Links, images and HTML show as plain text.")
        st.caption("Controls to hide")
        ticked = set()
        groups = hideable_controls(live.config)
        columns = st.columns(3)
        for column, names in zip(columns, (("Data", "Network"), ("Training",), ("Buttons", "Playground")), strict=True):
            for group in names:
                column.markdown(f"**{group}**")
                for key, label in groups[group]:
                    wkey = f"{BUILD}.hide.{key}"
                    args = {} if wkey in st.session_state else {"value": key in hidden}
                    if column.checkbox(label, key=wkey, help=key, **args):
                        ticked.add(key)
        lesson = Lesson(title.strip(), text.strip())
        url = share_url(st.context.url or "", live.config, ticked, base=default_config(), lesson=lesson)
        st.caption("The lesson link (same data, network and initial weights as now):")
        with st.container(key=f"{BUILD}.link"):
            st.code(url, language=None, wrap_lines=True)
        if lesson:
            st.caption("Preview")
            show_lesson(lesson)
        if hidden:
            st.button("Show every control in this session", key=f"{BUILD}.unhide", on_click=_show_every_control)


def lesson_panel(live: LiveRun) -> None:
    """The Playground's lesson tools: build a lesson link, open a TensorFlow Playground link."""
    left, right = st.columns(2)
    with left:
        lesson_builder(live)
    with right:
        open_link_box()

