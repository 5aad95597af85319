"""The shareable-URL codec: a Config as flat query parameters, and back, validated and clamped.

A URL is untrusted input: `query_to_config` never raises; it takes values only, reads every
bound and choice from the schemas (nothing here names a field), clamps what is out of range, and
says in `notices` what it changed. Fields no browser may set (schema.browser_settable: a server
file path, an upload id) are neither written into links nor read from them. Pure functions, no
streamlit: a page passes `dict(st.query_params)` in and writes `config_to_query(...)` back.
"""

from __future__ import annotations

import json
import math
import types
import typing
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from netarium.schema import SchemaError, browser_settable, field_bounds, field_choices
from netarium.training.config import SECTIONS, Config
from netarium.training.sweep import Sweep
from netarium.ui.errors import failure_sentence

CODEC_VERSION = "1"
VERSION_KEY = "v"
HIDE_SUFFIX = "_hide"
MAX_CHARS = 200  # every key and value is cut to this length before anything else
MAX_ITEMS = 64  # items read from a list value whose schema sets no max_length
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
_TOP_FIELDS = [name for name in Config.model_fields if name not in SECTIONS]

# Controls a link may hide that are not Config fields: key -> what it is, in words.
UI_CONTROLS: dict[str, str] = {
    "problem": "Problem type (the sidebar's classification / regression switch)",
    "transport.play": "Play / pause button",
    "transport.step": "Step button",
    "transport.reset": "Reset button",
    "transport.restart": "Restart button",
    "transport.regenerate": "Regenerate button",
    "transport.speed": "Steps per tick",
    "boundary.test": "Decision boundary: the 'test data' toggle",
    "boundary.disc": "Decision boundary: the 'discretize' toggle",
    "pg.layers": "Playground: the +/- layer and neuron buttons",
    "lesson.text": "The lesson's title and text",
}
LESSON_TITLE, LESSON_TEXT = "lesson.title", "lesson.text"
LESSON_LIMITS = {LESSON_TITLE: 120, LESSON_TEXT: 1500}  # characters; longer values are cut, with a notice


@dataclass(frozen=True)
class Lesson:
    """A lesson link's title and text: plain text (control characters removed, length-capped); pages
    render the text through a sanitiser (ui/lesson.py), never as HTML."""

    title: str = ""
    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.title or self.text)


@dataclass
class DecodedURL:
    """What a URL said: a valid Config, what was changed on the way, which controls to hide, the
    lesson's title and text, and the values of view toggles (control key -> on/off) it set."""

    config: Config
    notices: list[str] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)
    lesson: Lesson = field(default_factory=Lesson)
    toggles: dict[str, bool] = field(default_factory=dict)


def clean_lesson_text(raw: str, multiline: bool) -> str:
    """Text without control characters (newlines kept when `multiline`, tabs as spaces), stripped."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    keep = "\n" if multiline else ""
    text = "".join(c if c in keep or unicodedata.category(c)[0] != "C" else ("" if c != "\n" else " ") for c in raw)
    return text.strip()


def lesson_to_query(lesson: Lesson) -> dict[str, str]:
    """The lesson's query parameters (none when it is empty), cut to LESSON_LIMITS."""
    query = {}
    if lesson.title:
        query[LESSON_TITLE] = clean_lesson_text(lesson.title, False)[: LESSON_LIMITS[LESSON_TITLE]]
    if lesson.text:
        query[LESSON_TEXT] = clean_lesson_text(lesson.text, True)[: LESSON_LIMITS[LESSON_TEXT]]
    return {k: v for k, v in query.items() if v}


# ---------------------------------------------------------------------------------------- encoding


def encode_value(value: Any) -> str:
    """One query value: lists comma-joined, bools true/false, floats by repr (round-trips exactly)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int | str):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(encode_value(v) for v in value)
    return json.dumps(value, separators=(",", ":"))


def _section_reference(section: str, name: str, base: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a decoder starts a section from: base's section when the name matches, else the defaults."""
    if base is None:
        return None
    if base[section]["name"] == name:
        return base[section]
    return SECTIONS[section].params(name).section()


def config_to_query(config: Config, base: Config | None = None) -> dict[str, str]:
    """The Config as flat query parameters (`v`, `task`, `task.noise`, ..., `seed`).

    With `base`, only keys that differ from what `query_to_config(..., base)` would start from
    (section names always), so links stay short. Fields no browser may set are left out.
    """
    data = config.model_dump(mode="json")
    ref = base.model_dump(mode="json") if base is not None else None
    query = {VERSION_KEY: CODEC_VERSION}
    for section, registry in SECTIONS.items():
        values = data[section]
        query[section] = values["name"]
        fields = registry.get(values["name"]).schema.model_fields
        ref_section = _section_reference(section, values["name"], ref)
        for name, value in values.items():
            if name != "name" and browser_settable(fields[name]) and (ref_section is None or ref_section.get(name) != value):
                query[f"{section}.{name}"] = encode_value(value)
    for name in _TOP_FIELDS:
        if ref is None or ref[name] != data[name]:
            query[name] = encode_value(data[name])
    return query


def share_url(base_url: str, config: Config, hidden: Iterable[str] = (), *, base: Config | None = None,
              lesson: Lesson | None = None) -> str:
    """`base_url` (any path; its query is replaced) with the Config, `<key>_hide=true` flags and the
    lesson's title and text."""
    query = config_to_query(config, base)
    for key in sorted(set(hidden)):
        query[f"{key}{HIDE_SUFFIX}"] = "true"
    query.update(lesson_to_query(lesson or Lesson()))
    parts = urlsplit(base_url)
    path = parts.path or ("/" if parts.netloc else "")
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query, safe=","), parts.fragment))


# ------------------------------------------------------------------------------ field descriptions


@dataclass(frozen=True)
class FieldKind:
    """How to read one field from text, derived from its annotation and metadata."""

    kind: Literal["bool", "int", "float", "str", "choice", "list", "other"]
    choices: tuple[Any, ...] = ()
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    optional: bool = False
    max_items: int | None = None
    item: FieldKind | None = None


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = get_args(annotation)
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], len(rest) < len(args)
    return annotation, False


def _open_bounds(metadata: Iterable[Any]) -> tuple[bool, bool]:
    """Whether the lower / upper bound is exclusive (gt / lt rather than ge / le)."""
    lo_open = hi_open = False
    for m in metadata:
        lo_open |= getattr(m, "gt", None) is not None
        hi_open |= getattr(m, "lt", None) is not None
    return lo_open, hi_open


def _flatten_metadata(metadata: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for m in metadata:
        out.extend(m.metadata if isinstance(m, FieldInfo) else [m])
    return out


def _kind_of(annotation: Any, metadata: list[Any], choices: list[Any] | None) -> FieldKind:
    ann, optional = _strip_optional(annotation)
    if get_origin(ann) is Annotated:
        ann, *extra = get_args(ann)
        metadata = [*metadata, *_flatten_metadata(extra)]
    info = FieldInfo.from_annotation(ann)
    info.metadata = list(metadata)
    lo, hi = field_bounds(info)
    lo_open, hi_open = _open_bounds(metadata)
    common = {"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "optional": optional}
    if get_origin(ann) in (list, tuple):
        args = get_args(ann)
        item_ann = args[0] if args else Any
        item_choices = list(get_args(item_ann)) if get_origin(item_ann) is Literal else None
        max_items = next((m.max_length for m in metadata if getattr(m, "max_length", None) is not None), None)
        return FieldKind("list", optional=optional, max_items=max_items, item=_kind_of(item_ann, [], item_choices))
    if choices is not None or get_origin(ann) is Literal:
        return FieldKind("choice", tuple(choices if choices is not None else get_args(ann)), optional=optional)
    if ann is bool:
        return FieldKind("bool", optional=optional)
    if ann is int:
        return FieldKind("int", **common)
    if ann is float:
        return FieldKind("float", **common)
    if ann is str:
        return FieldKind("str", optional=optional)
    return FieldKind("other", optional=optional)


def field_kind(info: FieldInfo) -> FieldKind:
    """The FieldKind of a pydantic field: bounds from schema.field_bounds, choices from field_choices."""
    return _kind_of(info.annotation, list(info.metadata), field_choices(info))


def field_error(schema: type[BaseModel], values: dict[str, Any], name: str) -> str | None:
    """The problem pydantic has with field `name` among `values` (field-level checks only), or None."""
    try:
        schema.model_validate(values)
    except ValidationError as err:
        for e in err.errors():
            if e.get("loc") and e["loc"][0] == name:
                return _message(e)
    except Exception as err:  # a validator that fails badly still only concerns this value
        return str(err)
    return None


def _message(error: Any) -> str:
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


# ---------------------------------------------------------------------------------------- decoding


def _escaped(c: str) -> str:
    """A character as a notice may show it: itself, or its escape for a control, format or line-break
    character (a newline, an ANSI escape, a bidi override) that would break or disguise the sentence."""
    if unicodedata.category(c)[0] != "C" and c not in "\u2028\u2029":
        return c
    return c.encode("unicode_escape").decode("ascii")


def show_value(raw: str, limit: int = 40) -> str:
    """At most `limit` characters of untrusted text (cut with …), control characters escaped."""
    cut = raw if len(raw) <= limit else raw[: limit - 1] + "…"
    return "".join(_escaped(c) for c in cut)


def shown_setting(value: Any) -> str:
    """A field's value as a notice says what it kept: its link text, "none" or "(empty)" when that is blank."""
    text = encode_value(value)
    return show_value(text) if text else "none" if value is None else "(empty)"


def _parse_bool(raw: str) -> bool | None:
    low = raw.strip().lower()
    return True if low in TRUE_WORDS else False if low in FALSE_WORDS else None


def _parse_number(raw: str, integer: bool) -> float | int | None:
    """A finite number, or +-inf (clamped later), or None when the text is not a number."""
    text = raw.strip()
    if integer:
        try:
            return int(text)
        except ValueError:
            pass
    try:
        x = float(text)
    except ValueError:
        return None
    if math.isnan(x):
        return None
    if integer and not math.isinf(x):
        return int(x) if x.is_integer() else None
    return x


class Unusable(ValueError):
    """A URL value that cannot be used for its field; the message says why."""


def allowed_range(kind: FieldKind) -> str:
    """A number field's bounds in words: "from 20 to 5000", "above 0.0 and at most 10.0", "at least 0"."""
    if kind.lo is not None and kind.hi is not None and not (kind.lo_open or kind.hi_open):
        return f"from {encode_value(kind.lo)} to {encode_value(kind.hi)}"
    parts = []
    if kind.lo is not None:
        parts.append(f"{'above' if kind.lo_open else 'at least'} {encode_value(kind.lo)}")
    if kind.hi is not None:
        parts.append(f"{'below' if kind.hi_open else 'at most'} {encode_value(kind.hi)}")
    return " and ".join(parts) or "any number"


def _clamp(kind: FieldKind, x: float | int) -> tuple[float | int, str | None]:
    """(x inside the field's bounds, note): clamped to an inclusive bound (an int's exclusive one); the
    note names the allowed range."""
    integer = kind.kind == "int"
    for bound, is_open, below in ((kind.lo, kind.lo_open, True), (kind.hi, kind.hi_open, False)):
        if bound is None:
            continue
        outside = (x < bound or (is_open and x == bound)) if below else (x > bound or (is_open and x == bound))
        if not outside:
            continue
        if not is_open:
            target = int(bound) if integer else float(bound)
        elif integer and float(bound).is_integer():
            target = int(bound) + (1 if below else -1)
        else:
            raise Unusable(f"must be {'>' if below else '<'} {bound}")
        return target, f"is outside the allowed range ({allowed_range(kind)}); clamped to {encode_value(target)}"
    if math.isinf(x):
        raise Unusable("is not a finite number")
    return (int(x) if integer else float(x)), None


def _match_choice(choices: tuple[Any, ...], raw: str) -> Any:
    text = raw.strip()
    for c in choices:
        if str(c) == text:
            return c
    lowered = [c for c in choices if str(c).lower() == text.lower()]
    if len(lowered) == 1:
        return lowered[0]
    raise Unusable("is not one of " + ", ".join(str(c) for c in choices))


def read_scalar(kind: FieldKind, raw: str) -> tuple[Any, str | None]:
    """(value, note) read from text: numbers clamped to the bounds (note says so); raises Unusable."""
    if kind.optional and raw.strip().lower() in ("", "none", "null"):
        return None, None
    if kind.kind == "bool":
        b = _parse_bool(raw)
        if b is None:
            raise Unusable("is not true or false")
        return b, None
    if kind.kind in ("int", "float"):
        x = _parse_number(raw, kind.kind == "int")
        if x is None:
            raise Unusable("is not a whole number" if kind.kind == "int" else "is not a number")
        return _clamp(kind, x)
    if kind.kind == "choice":
        return _match_choice(kind.choices, raw), None
    if kind.kind == "str":
        return raw, None
    try:
        return json.loads(raw), None
    except (json.JSONDecodeError, RecursionError):
        return raw, None


def split_items(raw: str) -> list[str]:
    """The items of a comma-separated list value, stripped, empty ones dropped."""
    return [part.strip() for part in raw.split(",") if part.strip()]


def decode_field(kind: FieldKind, raw: str, current: Any, key: str, notices: list[str]) -> Any:
    """The value of one field read from URL text; `current` where the text cannot be used."""
    if kind.kind != "list":
        try:
            value, note = read_scalar(kind, raw)
        except Unusable as why:
            notices.append(f"{key}={show_value(raw)} {why}; kept {shown_setting(current)}")
            return current
        if note:
            notices.append(f"{key}={show_value(raw)} {note}")
        return value
    if kind.optional and raw.strip().lower() in ("none", "null"):
        return None
    items = split_items(raw)
    limit = kind.max_items if kind.max_items is not None else MAX_ITEMS
    if len(items) > limit:
        notices.append(f"{key} has {len(items)} items; kept the first {limit}")
        items = items[:limit]
    out, dropped, changed = [], [], []
    for part in items:
        try:
            value, note = read_scalar(kind.item or FieldKind("other"), part)
        except Unusable as why:
            dropped.append((show_value(part), str(why)))
            continue
        if note:
            changed.append(f"{show_value(part)} {note}")
        out.append(value)
    # one notice per kind of change, however many items: a link of 60 bad items is one sentence, not 60
    if len({why for _, why in dropped}) == 1:
        notices.append(f"{key}: dropped item{'s' * (len(dropped) > 1)} {_series([p for p, _ in dropped])} ({dropped[0][1]})")
    elif dropped:
        notices.append(f"{key}: dropped items {_series([f'{p} ({why})' for p, why in dropped])}")
    if len(changed) == 1:
        notices.append(f"{key} item {changed[0]}")
    elif changed:
        notices.append(f"{key}: {len(changed)} items changed: {_series(changed, 2, '; ')}")
    return out


def _series(parts: list[str], limit: int = 3, sep: str = ", ") -> str:
    """"a, b, c and 4 more": at most `limit` of `parts`."""
    shown = sep.join(parts[:limit])
    return shown + (f" and {len(parts) - limit} more" if len(parts) > limit else "")


def _probe_int_items(schema: type[BaseModel], values: dict[str, Any], name: str, ref: Any, key: str,
                     notices: list[str]) -> list[int] | None:
    """Clamp each int item of list field `name` to what its validators accept, found by bisection
    between the item and a known-good item of `ref`; None when there is no good reference."""
    items = values[name]
    if not (isinstance(items, list) and items and all(isinstance(i, int) and not isinstance(i, bool) for i in items)):
        return None
    good = [r for r in (ref or []) if isinstance(r, int) and not isinstance(r, bool)]
    n = len(items)

    def ok(candidate: int) -> bool:
        return field_error(schema, {**values, name: [candidate] * n}, name) is None

    if not good or not ok(good[0]):
        return None
    fixed, clamped = [], []
    for x in items:
        if ok(x):
            fixed.append(x)
            continue
        lo, hi = good[0], x  # lo accepted, hi refused; assumes the accepted items form an interval
        while abs(hi - lo) > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        clamped.append((show_value(str(x)), str(lo)))
        fixed.append(lo)
    if len(clamped) == 1:
        notices.append(f"{key} item {clamped[0][0]} clamped to {clamped[0][1]}")
    elif clamped:
        notices.append(f"{key} items clamped: {_series([f'{x} to {lo}' for x, lo in clamped], 8)}")
    return fixed


def settle(schema: type[BaseModel], values: dict[str, Any], start: dict[str, Any], prefix: str,
           notices: list[str]) -> dict[str, Any]:
    """`values` made valid for `schema`: a field pydantic refuses goes back to its `start` value
    (int list items are clamped first); a cross-field problem sends every field back to `start`.
    `start` must be valid. Returns the validated values (JSON types)."""

    def key(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    values = dict(values)
    probed: set[str] = set()
    for _ in range(2 * len(values) + 2):
        try:
            return schema.model_validate(values).model_dump(mode="json")
        except ValidationError as err:
            errors = err.errors()
        except Exception as err:  # a validator that raised something else: nothing here can be trusted
            notices.append(f"{prefix or 'config'}: {show_value(str(err), 120)}; kept the previous values")
            return dict(start)
        bad = {}
        for e in errors:
            loc = e.get("loc") or ()
            if loc and loc[0] in values and loc[0] not in bad:
                bad[loc[0]] = _message(e)
        if not bad or all(values[n] == start.get(n) for n in bad):
            problem = _message(errors[0]) if errors else "invalid"
            notices.append(f"{prefix or 'config'}: {show_value(problem, 120)}; kept the previous {prefix or 'values'}")
            return dict(start)
        for name, problem in bad.items():
            if name not in probed:
                probed.add(name)
                fixed = _probe_int_items(schema, values, name, start.get(name), key(name), notices)
                if fixed is not None:
                    values[name] = fixed
                    continue
            if values[name] != start.get(name):
                notices.append(f"{key(name)}: {show_value(problem, 120)}; kept {shown_setting(start.get(name))}")
                values[name] = start.get(name)
    notices.append(f"{prefix or 'config'}: could not be settled; kept the previous {prefix or 'values'}")
    return dict(start)


def _flatten(params: Mapping[str, Any], notices: list[str]) -> dict[str, str]:
    """Keys and values as text, lists reduced to their last item, both cut to MAX_CHARS (a lesson's
    title and text to LESSON_LIMITS)."""
    flat: dict[str, str] = {}
    for k, v in params.items():
        key = str(k)
        if isinstance(v, list | tuple):
            v = v[-1] if v else ""
        value = v if isinstance(v, str) else str(v)
        if len(key) > MAX_CHARS:
            key = key[:MAX_CHARS]
        limit = LESSON_LIMITS.get(key, MAX_CHARS)
        if len(value) > limit:
            notices.append(f"{show_value(key)} is longer than {limit} characters; cut to {limit}")
            value = value[:limit]
        flat[key] = value
    return flat


def _decode_lesson(flat: dict[str, str]) -> Lesson:
    """The lesson's title and text popped from `flat`, cleaned (see clean_lesson_text)."""
    return Lesson(clean_lesson_text(flat.pop(LESSON_TITLE, ""), False), clean_lesson_text(flat.pop(LESSON_TEXT, ""), True))


def _name_list(keys: Iterable[str], limit: int = 10) -> str:
    keys = sorted(keys)
    text = ", ".join(show_value(k) for k in keys[:limit])
    return text + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _decode_section(section: str, flat: dict[str, str], start: dict[str, Any], notices: list[str]) -> dict[str, Any]:
    registry = SECTIONS[section]
    raw_name = flat.pop(section, None)
    alias = flat.pop(f"{section}.name", None)
    raw_name = (raw_name if raw_name is not None else alias or "").strip() or None
    sub = {k: flat.pop(k) for k in [k for k in flat if k.startswith(section + ".")]}
    if raw_name is None or raw_name == start["name"]:
        begin = start
    elif raw_name in registry:
        begin = SECTIONS[section].params(raw_name).section()
    else:
        text = f"{section}={show_value(raw_name)} is not a registered {registry.kind} (allowed: {', '.join(registry.names())}); kept {start['name']}"
        if sub:
            text += f" and ignored {_name_list(sub)}"
        notices.append(text)
        return start
    schema = registry.get(begin["name"]).schema
    params = {k: v for k, v in begin.items() if k != "name"}
    values = dict(params)
    unknown, refused = [], []
    for key, raw in sub.items():
        name = key[len(section) + 1:]
        if name not in schema.model_fields:
            unknown.append(key)
        elif not browser_settable(schema.model_fields[name]):
            refused.append(key)
        else:
            values[name] = decode_field(field_kind(schema.model_fields[name]), raw, values[name], key, notices)
    if unknown:
        notices.append(f"ignored unknown key(s) for {section} {begin['name']}: {_name_list(unknown)}")
    if refused:
        notices.append(f"a link cannot set {_name_list(refused)} (a server file or an upload); ignored it")
    return {"name": begin["name"], **settle(schema, values, params, section, notices)}


def known_keys(config: Config) -> set[str]:
    """Every dotted key a URL may set or hide for this Config (section names stand for their picker),
    and the controls of UI_CONTROLS."""
    keys = set(Config.model_fields) | set(UI_CONTROLS)
    for section in SECTIONS:
        keys |= {f"{section}.{name}" for name in type(getattr(config, section)).model_fields}
    return keys


def _decode(params: Mapping[str, Any], base: Config, notices: list[str]) -> DecodedURL:
    flat = _flatten(params, notices)
    version = flat.pop(VERSION_KEY, None)
    if version is not None and version.strip() != CODEC_VERSION:
        notices.append(f"link version {VERSION_KEY}={show_value(version)} is unknown (this app writes {VERSION_KEY}={CODEC_VERSION}); read it as well as it could")
    lesson = _decode_lesson(flat)
    hide: dict[str, str] = {}
    for key in [k for k in flat if k.endswith(HIDE_SUFFIX)]:
        hide[key.removesuffix(HIDE_SUFFIX)] = flat.pop(key)
    start = base.model_dump(mode="json")
    data = {section: _decode_section(section, flat, start[section], notices) for section in SECTIONS}
    top = {}
    for name in _TOP_FIELDS:
        top[name] = start[name]
        if name in flat:
            top[name] = decode_field(field_kind(Config.model_fields[name]), flat.pop(name), start[name], name, notices)
    data.update(settle(Config, {**data, **top}, {**data, **{n: start[n] for n in _TOP_FIELDS}}, "", notices))
    if flat:
        notices.append(f"ignored unknown key(s): {_name_list(flat)}")
    config = Config.model_validate(data)
    allowed = known_keys(config)
    hidden, bad_hide = set(), []
    for key, raw in hide.items():
        key = key.removesuffix(".name") if key.removesuffix(".name") in SECTIONS else key
        flag = _parse_bool(raw)
        if key not in allowed:
            bad_hide.append(key + HIDE_SUFFIX)
        elif flag is None:
            notices.append(f"{key}{HIDE_SUFFIX}={show_value(raw)} is not true or false; {key} stays visible")
        elif flag:
            hidden.add(key)
    if bad_hide:
        notices.append(f"ignored hide flag(s) for unknown key(s): {_name_list(bad_hide)}")
    return DecodedURL(config, notices, hidden, lesson)


def query_to_config(params: Mapping[str, Any], base: Config | None = None) -> DecodedURL:
    """Read query parameters (values as text, or lists of text) into a valid Config; never raises.

    Starts from `base` (default: Config()); a section whose name the URL changes starts from that
    entry's defaults. Out-of-range numbers are clamped, unusable values keep the starting value,
    unknown keys are ignored; every such change is described in `notices`.
    """
    notices: list[str] = []
    start = base if base is not None else Config()
    try:
        return _decode(params, start, notices)
    except Exception as err:  # never let a URL break a page
        notices.append(failure_sentence("the link could not be read, so the page uses the defaults", err))
        return DecodedURL(start, notices, set())


# ------------------------------------------------------------------------------------------ sweeps

MAX_SWEEP_CHARS = 8000  # a sweep link's `sweep` value; longer ones are refused, not cut


def sweep_to_query(sweep: Sweep) -> str:
    """The Sweep as compact JSON for one query parameter (fields at their defaults left out)."""
    return sweep.model_dump_json(exclude_defaults=True)


def sweep_share_url(base_url: str, sweep: Sweep, param: str) -> str:
    """`base_url` (its path kept, its query replaced) with the sweep in the query parameter `param`."""
    parts = urlsplit(base_url)
    path = parts.path or ("/" if parts.netloc else "")
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode({param: sweep_to_query(sweep)}), parts.fragment))


def _browser_unsettable(config: Config) -> list[str]:
    """Dotted keys of fields no browser may set (a server file, an upload id) that differ from their entry's
    defaults in `config`."""
    out = []
    for section in SECTIONS:
        params = getattr(config, section)
        defaults = type(params)()
        out += [f"{section}.{name}" for name, info in type(params).model_fields.items()
                if not browser_settable(info) and getattr(params, name) != getattr(defaults, name)]
    return out


def query_to_sweep(text: str) -> tuple[Sweep | None, str]:
    """(the Sweep, "") from a link's `sweep` value, or (None, why not). Untrusted input: the length is
    capped, every member is validated as when a sweep is built here (nothing is clamped), and a sweep
    whose base or members set a field no browser may set is refused. Never raises."""
    if len(text) > MAX_SWEEP_CHARS:
        return None, f"the link's sweep is {len(text):,} characters long, more than the {MAX_SWEEP_CHARS:,} a link may carry"
    try:
        sweep = Sweep.model_validate_json(text)
        members = sweep.members()
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "sweep"
        return None, f"the link's sweep is not valid ({show_value(where, 60)}: {show_value(_message(first), 160)})"
    except SchemaError as e:
        return None, f"the link's sweep is not valid ({show_value(str(e), 160)})"
    except Exception as e:  # noqa: BLE001 - whatever the text does, the page goes on
        return None, failure_sentence("the link's sweep could not be read", e)
    refused = sorted({key for m in members for key in _browser_unsettable(m.config)})
    if refused:
        return None, f"a link cannot set {_name_list(refused)} (a server file or an upload)"
    return sweep, ""
