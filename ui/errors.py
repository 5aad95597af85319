"""What a page says when something fails inside it: one plain sentence for the user; the exception,
with its traceback, goes to the server log (logger "netarium.ui"), never onto the page."""

from __future__ import annotations

import logging

log = logging.getLogger("netarium.ui")

HINTS = {
    MemoryError: "the server ran out of memory; try a smaller network or data set",
    FloatingPointError: "the numbers stopped being finite; lower the learning rate and reset",
}


def failure_sentence(what: str, error: BaseException | str) -> str:
    """'{what} because of an internal error …' for the page; `error` (an exception, or a job's one-line
    error) is logged with what failed. `what` is the start of the sentence, e.g. "The Boundary view could
    not be drawn"."""
    if isinstance(error, BaseException):
        log.error("%s: %s: %s", what, type(error).__name__, error, exc_info=error)
        hint = next((h for kind, h in HINTS.items() if isinstance(error, kind)), "")
    else:
        log.error("%s: %s", what, error)
        hint = ""
    return f"{what}: {hint}." if hint else f"{what} because of an internal error (the details are in the server log)."
