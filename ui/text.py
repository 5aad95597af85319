"""User text (run and sweep names, notes, CSV headers, link values, error messages) shown as typed.

Streamlit renders markdown in titles, captions, alerts, toasts and widget labels: a run named
`![x](http://example.com/a.png)` would make every viewer's browser fetch that address. Everything a
user, a link or a file wrote goes through `plain_markdown` (for Streamlit) or `plain_plotly` (for
plotly's HTML-like labels) before it is drawn.
"""

from __future__ import annotations

import html
import re

ZWSP = "\u200b"  # breaks the autolink of a bare address without changing how it reads
# Everything that can start a link, an image, HTML, an entity, emphasis, code, LaTeX or a table; the
# punctuation of ordinary prose (. , ; : ( ) - = ! #) is left alone where it cannot start anything.
_ANYWHERE = re.compile(r"([\\`*_~$\[\]<>&|])")
_SHORTCODE = re.compile(r":(?=[\w/+-]+:)")  # :smile: and :material/home: (Streamlit's emoji and icons)
# headings (# then a space), lists (- + or 1. 1) then a space), rules and setext underlines (--- ===)
_LINE_START = re.compile(r"(?m)^([ \t]*)(#(?=[#\s]|$)|[+\-=])")
_NUMBERED = re.compile(r"(?m)^([ \t]*\d+)([.)])(?=\s|$)")
_ADDRESS = re.compile(r"(?i)\b(https?|ftp|file|data|javascript|mailto)(:)")
_WWW = re.compile(r"(?i)\bwww\.")


def plain_markdown(text: str) -> str:
    """Text that a markdown renderer shows literally: no link, image, HTML, emphasis, code, LaTeX,
    emoji, icon, heading or list; bare addresses are not turned into links."""
    text = _ANYWHERE.sub(r"\\\1", str(text))
    text = _SHORTCODE.sub(r"\\:", text)
    text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    text = _NUMBERED.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    text = _ADDRESS.sub(lambda m: m.group(1) + ZWSP + m.group(2), text)
    return _WWW.sub("www" + ZWSP + ".", text)


def shown_text(markdown: str) -> str:
    """What `plain_markdown(text)` shows: `text` again (for tests and logs)."""
    return re.sub(r"\\(.)", r"\1", markdown, flags=re.S).replace(ZWSP, "")


def plain_plotly(text: str) -> str:
    """Text shown literally in a plotly label, legend or hover (plotly reads <b>, <a href>, &amp;...)."""
    return html.escape(str(text), quote=False)
