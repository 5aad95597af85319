"""Widgets built from a parameter schema: one control per field, chosen from its type and bounds.

Generic: nothing here names a task or model field. A field's label is its `title` (else its name,
prettified), and a few hints in its `json_schema_extra` pick a control as TensorFlow Playground has it:
- {"choices": [...]} on a number: a dropdown of those values (the learning rate's 0.00001 ... 10); a
  value not among them (from a link) is kept and shown as one more option;
- {"unit": "percent"} on a fraction: a slider in percent over the field's bounds (noise 0-50 %), the
  value itself stays a fraction;
- {"per_item_of": "<list field>"} on a list of choices: one selectbox for all, and a "per layer" toggle
  that shows one selectbox per item of that other list (an activation per hidden layer, repeats allowed).
Widget keys are `f"{key}.{field}"`, stable across reruns; when the caller's value for a field changes
from outside (a preset, a URL), the widget follows it.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from netarium.schema import Params, Registry, SchemaError, browser_settable, validate_params
from netarium.ui.text import plain_markdown
from netarium.ui.urlstate import (
    FieldKind,
    Unusable,
    allowed_range,
    encode_value,
    field_error,
    field_kind,
    read_scalar,
    split_items,
)

LOG_SLIDER_FIELDS = frozenset({"lr"})  # rate fields by name, for the sweeps' log ranges (ui/sweeps_ui.py)
JS_MAX_INT = 2**53 - 1
SEEN = "netarium.widgets.seen"  # session_state: widget key -> (value passed in, value returned) last run
CLAMPED = "netarium.widgets.clamped"  # session_state: widget key -> the notice of a number it just clamped


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
            raise ValueError(f"{part!r} is out of range (nearest allowed: {note.rpartition('clamped to ')[2]})")
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


def _clamp_typed(wkey: str, kind: FieldKind, label: str) -> None:
    """on_change of a number field: a number outside the field's range is clamped into it, with a notice
    naming the field and the range (the browser's own min/max would silently refuse it instead)."""
    typed = st.session_state.get(wkey)
    if typed is None:
        return
    integer = kind.kind == "int"
    lo, hi = _bounds(kind, integer)
    inside = min(max(typed, lo), hi) if lo is not None and hi is not None else \
        max(typed, lo) if lo is not None else min(typed, hi) if hi is not None else typed
    if inside != typed:
        st.session_state[wkey] = inside
        st.session_state.setdefault(CLAMPED, {})[wkey] = (
            f"{label}: {encode_value(typed)} is outside the allowed range ({allowed_range(kind)}); "
            f"clamped to {encode_value(inside)}")


def _number(container: Any, label: str, value: Any, kind: FieldKind, wkey: str, help: str | None) -> Any:
    """A number input that takes any number and clamps it into the field's range with a notice."""
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
    allowed = f"Allowed: {allowed_range(kind)}."
    out = container.number_input(label, key=wkey, help=f"{help} {allowed}" if help else allowed, on_change=_clamp_typed,
                                 args=(wkey, kind, label), min_value=-JS_MAX_INT if integer else None,
                                 max_value=JS_MAX_INT if integer else None, **args)
    notice = st.session_state.get(CLAMPED, {}).pop(wkey, None)
    if notice:
        container.warning(plain_markdown(notice), icon=":material/straighten:")
    return out


def clamped_int(container: Any, label: str, lo: int, hi: int, *, key: str, value: int | None = None,
                help: str | None = None, **kwargs: Any) -> int:
    """A whole-number input outside the schema (a page's own control) that, like the schema's fields,
    takes any number and clamps it into [lo, hi] with a notice under it, instead of the browser's silent
    refusal. `value` seeds it when its key is not in the session yet."""
    kind = FieldKind("int", lo=lo, hi=hi)
    if key not in st.session_state:
        st.session_state[key] = min(max(int(lo if value is None else value), lo), hi)
    else:  # a bound that moved (e.g. fewer test samples) pulls the kept value in
        st.session_state[key] = min(max(int(st.session_state[key]), lo), hi)
    allowed = f"Allowed: {allowed_range(kind)}."
    out = container.number_input(label, key=key, step=1, format="%d", help=f"{help} {allowed}" if help else allowed,
                                 on_change=_clamp_typed, args=(key, kind, label), min_value=-JS_MAX_INT,
                                 max_value=JS_MAX_INT, **kwargs)
    notice = st.session_state.get(CLAMPED, {}).pop(key, None)
    if notice:
        container.warning(plain_markdown(notice), icon=":material/straighten:")
    return int(out)


def hints(info: Any) -> dict[str, Any]:
    """The widget hints of a field: its json_schema_extra when that is a dict (see the module doc)."""
    extra = getattr(info, "json_schema_extra", None)
    return extra if isinstance(extra, dict) else {}


def _allowed(x: float, kind: FieldKind) -> bool:
    return (kind.lo is None or x > kind.lo or (x == kind.lo and not kind.lo_open)) and \
        (kind.hi is None or x < kind.hi or (x == kind.hi and not kind.hi_open))


def _dropdown(container: Any, label: str, value: Any, kind: FieldKind, choices: list[Any], wkey: str,
              help: str | None) -> Any:
    """A selectbox of the hinted values inside the field's bounds, plus the current value when it is not one of them."""
    cast = int if kind.kind == "int" else float
    current = cast(value)
    options = sorted({*(cast(x) for x in choices if _allowed(cast(x), kind)), current})
    args = {} if _sync(wkey, current) else {"index": options.index(current)}
    return container.selectbox(label, options, key=wkey, help=help, format_func=lambda x: f"{x:g}", **args)


def _percent(container: Any, label: str, value: Any, kind: FieldKind, wkey: str, help: str | None) -> float:
    """A slider in percent over the field's bounds; returns the fraction (the value itself while untouched)."""
    lo = 0.0 if kind.lo is None else float(kind.lo) * 100
    hi = 100.0 if kind.hi is None else float(kind.hi) * 100
    shown = min(max(round(float(value) * 100, 6), lo), hi)
    args = {} if _sync(wkey, shown) else {"value": shown}
    out = container.slider(label, min_value=lo, max_value=hi, step=1.0, format="%g%%", key=wkey, help=help, **args)
    _returned(wkey, out)
    return float(value) if out == shown else round(out / 100, 10)


def _per_item(container: Any, label: str, value: Any, choices: list[Any], n: int, wkey: str, help: str | None) -> list[Any]:
    """One selectbox for every item, or (the "per layer" toggle on) one per item of a list of length n."""
    value = [v for v in (value or []) if v in choices] or [choices[0]]
    tkey = f"{wkey}.per"
    per = len(value) > 1
    args = {} if _sync(tkey, per) else {"value": per}
    per = container.toggle(f"{label} per layer", key=tkey, disabled=n < 2 and not per,
                           help="One choice for each layer (repeats allowed) instead of one for all", **args)
    _returned(tkey, per)
    if not per:
        akey = f"{wkey}.all"
        args = {} if _sync(akey, value[0]) else {"index": choices.index(value[0])}
        out = container.selectbox(label, choices, key=akey, help=help, format_func=str, **args)
        _returned(akey, out)
        return [out]
    items = (value + [value[-1]] * n)[: max(n, 1)]
    outs = []
    for k, item in enumerate(items):
        ikey = f"{wkey}.{k}"
        args = {} if _sync(ikey, item) else {"index": choices.index(item)}
        outs.append(container.selectbox(f"{label} {k + 1}", choices, key=ikey, format_func=str, **args))
        _returned(ikey, outs[-1])
    return outs


def _checked_text(container: Any, label: str, shown: str, wkey: str, help: str | None,
                  parse: Any, schema: type[Params], values: dict[str, Any], name: str) -> tuple[bool, Any]:
    """A text input whose text `parse` reads and the schema checks; (ok, value). When not ok, an
    error under it says why (the caller keeps the old value)."""
    args = {} if _sync(wkey, shown) else {"value": shown}
    text = container.text_input(label, key=wkey, help=help, **args)
    try:
        parsed = parse(text)
    except (ValueError, Unusable) as e:
        container.error(plain_markdown(f"{label}: {e}; kept {shown or 'nothing'}"))  # quotes what was typed
        return False, None
    problem = field_error(schema, {**values, name: parsed}, name)
    if problem:
        container.error(plain_markdown(f"{label}: {problem}; kept {shown or 'nothing'}"))
        return False, None
    return True, parsed


def budget_help() -> str:
    """What the help of a size field adds: the session's budgets (training/budget.py)."""
    from netarium.training.budget import MB, SESSION_GFLOP, SESSION_MEMORY, flops_text, limit, size

    return (f"A run here must fit the session's budget of {size(limit(SESSION_MEMORY) * MB)} of memory and "
            f"{flops_text(limit(SESSION_GFLOP) * 1e9)} a step; a bigger one is refused and the current run stays.")


SIZED_SECTIONS = frozenset({"model", "task"})  # their whole-number fields size the run: their help names the budget


def _widget(container: Any, schema: type[Params], values: dict[str, Any], name: str, wkey: str, note: str = "") -> Any:
    """Render the control of one field (`note` added to the help of whole-number fields); return its new value."""
    info = schema.model_fields[name]
    kind = field_kind(info)
    label, help, value = info.title or pretty_label(name), info.description or None, values[name]
    if note and (kind.kind == "int" or (kind.kind == "list" and kind.item is not None and kind.item.kind == "int")):
        help = f"{help} {note}" if help else note
    hint = hints(info)
    per_item = hint.get("per_item_of")
    if kind.kind == "list" and kind.item is not None and kind.item.kind == "choice" and per_item in values:
        return _per_item(container, label, value, list(kind.item.choices), len(values[per_item] or []), wkey, help)
    if kind.kind in ("int", "float") and value is not None and hint.get("choices"):
        out = _dropdown(container, label, value, kind, list(hint["choices"]), wkey, help)
    elif kind.kind == "float" and value is not None and hint.get("unit") == "percent":
        return _percent(container, label, value, kind, wkey, help)
    elif kind.kind == "bool":
        args = {} if _sync(wkey, bool(value)) else {"value": bool(value)}
        out = container.toggle(label, key=wkey, help=help, **args)
    elif kind.kind == "choice":
        options = list(kind.choices)
        current = value if value in options else options[0]
        args = {} if _sync(wkey, current) else {"index": options.index(current)}
        out = container.selectbox(label, options, key=wkey, help=help, format_func=str, **args)
    elif kind.kind in ("int", "float") and value is not None:
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
    note = budget_help() if section in SIZED_SECTIONS else ""
    for name, info in schema.model_fields.items():
        if (f"{section}.{name}" if section else name) in hidden or not browser_settable(info):
            continue
        new[name] = _widget(container, schema, new, name, f"{key}.{name}", note)
    if new == old:
        return old
    try:
        return validate_params(schema, new, prefix=section).model_dump(mode="json")
    except SchemaError as e:
        container.error(plain_markdown(f"{e}; kept the previous values"))
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
