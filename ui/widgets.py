"""Widgets built from a parameter schema: one control per field, chosen from its type and bounds.

Generic: nothing here names a task or model field (learning-rate fields, named `lr`, get a log-ish
slider as in TensorFlow Playground). Widget keys are `f"{key}.{field}"`, stable across reruns; when
the caller's value for a field changes from outside (a preset, a URL), the widget follows it.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from netarium.schema import Params, Registry, SchemaError, browser_settable, validate_params
from netarium.ui.urlstate import FieldKind, Unusable, field_error, field_kind, read_scalar, split_items

LR_CHOICES: tuple[float, ...] = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
LOG_SLIDER_FIELDS = frozenset({"lr"})
JS_MAX_INT = 2**53 - 1
SEEN = "netarium.widgets.seen"  # session_state: widget key -> (value passed in, value returned) last run


def pretty_label(name: str) -> str:
    """"n_samples" -> "N samples", "init_scale" -> "Init scale" (other letters keep their case)."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def number_step(lo: float, hi: float) -> float:
    """A float step of about a hundredth of the range, a power of ten: 0.5 -> 0.01, 10 -> 0.1."""
    span = hi - lo
    if not math.isfinite(span) or span <= 0:
        return 0.01
    return 10.0 ** (round(math.log10(span)) - 2)


def format_list(values: Any) -> str:
    """"8,8" for [8, 8]; the text a list field's text input shows."""
    return ",".join(str(v) for v in values or [])


def parse_list(text: str, kind: FieldKind) -> list[Any]:
    """The items of "8, 8" read with the item kind; raises ValueError naming the bad item."""
    out = []
    for part in split_items(text):
        try:
            value, note = read_scalar(kind.item or FieldKind("other"), part)
        except Unusable as why:
            raise ValueError(f"{part!r} {why}") from None
        if note:  # out of the item's bounds: say so rather than clamping what the user typed
            raise ValueError(f"{part!r} is out of range (nearest allowed: {note.removeprefix('clamped to ')})")
        out.append(value)
    return out


def _sync(wkey: str, shown: Any) -> bool:
    """Make the widget follow an outside change of the caller's value; True when the widget
    already has state (then no default may be passed, or Streamlit warns of a value set twice).

    An outside change is a value that is neither what the caller passed last time (callers that
    pass a constant) nor what the widget returned last time (callers that feed the result back).
    """
    state = st.session_state
    seen = state.setdefault(SEEN, {})
    has_state = wkey in state
    last_in, last_out = seen.get(wkey, (shown, shown))
    if has_state and shown != last_in and shown != last_out and state[wkey] != shown:
        state[wkey] = shown
    seen[wkey] = (shown, last_out)
    return has_state


def _returned(wkey: str, shown: Any) -> None:
    """Remember what the widget returned, in its own terms (see _sync)."""
    seen = st.session_state.setdefault(SEEN, {})
    seen[wkey] = (seen.get(wkey, (shown, shown))[0], shown)


def _bounds(kind: FieldKind, integer: bool) -> tuple[Any, Any]:
    """(min_value, max_value) for st.number_input; exclusive bounds moved just inside."""
    lo = hi = None
    if kind.lo is not None:
        lo = int(kind.lo) + kind.lo_open if integer else (math.nextafter(float(kind.lo), math.inf) if kind.lo_open else float(kind.lo))
    if kind.hi is not None:
        hi = int(kind.hi) - kind.hi_open if integer else (math.nextafter(float(kind.hi), -math.inf) if kind.hi_open else float(kind.hi))
    if integer:
        lo = max(lo, -JS_MAX_INT) if lo is not None else None
        hi = min(hi, JS_MAX_INT) if hi is not None else None
    return lo, hi


def _number(container: Any, label: str, value: Any, kind: FieldKind, wkey: str, help: str | None) -> Any:
    integer = kind.kind == "int"
    lo, hi = _bounds(kind, integer)
    current = int(value) if integer else float(value)
    if lo is not None:
        current = max(current, lo)
    if hi is not None:
        current = min(current, hi)
    if integer:
        args: dict[str, Any] = {"step": 1, "format": "%d"}
    elif lo is not None and hi is not None:
        args = {"step": number_step(lo, hi), "format": "%g"}
    else:
        args = {"step": 10.0 ** math.floor(math.log10(abs(current))) if current else 0.1, "format": "%g"}
    if not _sync(wkey, current):
        args["value"] = current
    return container.number_input(label, min_value=lo, max_value=hi, key=wkey, help=help, **args)


def _log_slider(container: Any, label: str, value: Any, kind: FieldKind, wkey: str, help: str | None) -> float:
    options = [x for x in LR_CHOICES if (kind.lo is None or x > kind.lo or (x == kind.lo and not kind.lo_open))
               and (kind.hi is None or x < kind.hi or (x == kind.hi and not kind.hi_open))]
    current = float(value)
    options = sorted({*options, current})
    args = {} if _sync(wkey, current) else {"value": current}
    return container.select_slider(label, options=options, key=wkey, help=help, format_func=lambda x: f"{x:g}", **args)


def _checked_text(container: Any, label: str, shown: str, wkey: str, help: str | None,
                  parse: Any, schema: type[Params], values: dict[str, Any], name: str) -> tuple[bool, Any]:
    """A text input whose text `parse` reads and the schema checks; (ok, value). When not ok, an
    error under it says why (the caller keeps the old value)."""
    args = {} if _sync(wkey, shown) else {"value": shown}
    text = container.text_input(label, key=wkey, help=help, **args)
    try:
        parsed = parse(text)
    except (ValueError, Unusable) as e:
        container.error(f"{label}: {e}; kept {shown or 'nothing'}")
        return False, None
    problem = field_error(schema, {**values, name: parsed}, name)
    if problem:
        container.error(f"{label}: {problem}; kept {shown or 'nothing'}")
        return False, None
    return True, parsed


def _widget(container: Any, schema: type[Params], values: dict[str, Any], name: str, wkey: str) -> Any:
    """Render the control of one field; return its new value."""
    info = schema.model_fields[name]
    kind = field_kind(info)
    label, help, value = pretty_label(name), info.description or None, values[name]
    if kind.kind == "bool":
        args = {} if _sync(wkey, bool(value)) else {"value": bool(value)}
        out = container.toggle(label, key=wkey, help=help, **args)
    elif kind.kind == "choice":
        options = list(kind.choices)
        current = value if value in options else options[0]
        args = {} if _sync(wkey, current) else {"index": options.index(current)}
        out = container.selectbox(label, options, key=wkey, help=help, format_func=str, **args)
    elif kind.kind in ("int", "float") and value is not None:
        if name in LOG_SLIDER_FIELDS and kind.kind == "float":
            out = _log_slider(container, label, value, kind, wkey, help)
        else:
            out = _number(container, label, value, kind, wkey, help)
    elif kind.kind == "list" and kind.item is not None and kind.item.kind == "choice" and \
            len(set(value or [])) == len(value or []) and all(v in kind.item.choices for v in value or []):
        args = {} if _sync(wkey, list(value or [])) else {"default": list(value or [])}
        out = list(container.multiselect(label, list(kind.item.choices), key=wkey, help=help, format_func=str, **args))
    elif kind.kind == "list":
        # repeated choices (one activation per layer) cannot show in a multiselect: edit them as text
        wkey = f"{wkey}.text" if kind.item is not None and kind.item.kind == "choice" else wkey
        ok, parsed = _checked_text(container, label, format_list(value), wkey, help,
                                   lambda text: parse_list(text, kind), schema, values, name)
        out = parsed if ok else value
        _returned(wkey, format_list(out))
        return out
    else:
        shown = "" if value is None else str(value)
        parse = (lambda text: text) if kind.kind == "str" else (lambda text: read_scalar(kind, text)[0])
        ok, parsed = _checked_text(container, label, shown, wkey, help, parse, schema, values, name)
        out = parsed if ok else value
        _returned(wkey, "" if out is None else str(out))
        return out
    _returned(wkey, out)
    return out


def params_widgets(schema: type[Params], values: dict[str, Any], *, key: str, section: str = "",
                   hidden: set[str] | frozenset[str] = frozenset(), container: Any = None) -> dict[str, Any]:
    """One widget per field of `schema` in `container` (default `st`); returns the new values.

    Fields named `f"{section}.{field}"` in `hidden` are not rendered and keep their value, and so are
    fields no browser may set (schema.browser_settable: a server path, an upload id). When the values
    together break a cross-field rule, an error says why and the input `values` come back.
    """
    container = st if container is None else container
    old = {name: values.get(name, info.get_default(call_default_factory=True)) for name, info in schema.model_fields.items()}
    new = dict(old)
    for name, info in schema.model_fields.items():
        if (f"{section}.{name}" if section else name) in hidden or not browser_settable(info):
            continue
        new[name] = _widget(container, schema, new, name, f"{key}.{name}")
    if new == old:
        return old
    try:
        return validate_params(schema, new, prefix=section).model_dump(mode="json")
    except SchemaError as e:
        container.error(f"{e}; kept the previous values")
        return old


def section_picker(section: str, registry: Registry, current: Params, *, key: str,
                   hidden: set[str] | frozenset[str] = frozenset(), container: Any = None,
                   names: list[str] | None = None) -> Params:
    """A selectbox of the registry's entries, then the chosen entry's params_widgets.

    Returns the entry's typed params; switching the name resets them to the new entry's defaults.
    Widget keys: f"{key}.name" and f"{key}.{name}.{field}". `section` in `hidden` hides the
    selectbox; `names` limits the choices (the current entry falls back to the first).
    """
    container = st if container is None else container
    names = names or registry.names()
    name = current.name if current.name in names else names[0]
    if section not in hidden:
        wkey = f"{key}.name"
        args = {} if _sync(wkey, name) else {"index": names.index(name)}

        def describe(n: str) -> str:
            text = registry.get(n).description
            return f"{n} — {text}" if text else n

        name = container.selectbox(pretty_label(section), names, key=wkey, format_func=describe, **args)
        _returned(wkey, name)
    start = current if name == current.name else registry.params(name)
    values = params_widgets(type(start), start.model_dump(mode="json"), key=f"{key}.{name}", section=section,
                            hidden=hidden, container=container)
    return start if values == start.model_dump(mode="json") else registry.params({"name": name, **values})
