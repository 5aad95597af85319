"""The one-schema rule: every task, model, optimizer and trainer declares its parameters once.

A declaration is a pydantic model (`Params`) with bounds, defaults, choices and help text; a
`Registry` maps names to (schema, factory). Widgets, URL state, `--set key=value`, the run store and
sweep axes all read these declarations. This module imports only pydantic.
"""

from __future__ import annotations

import math
import os
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo


class Params(BaseModel):
    """Base of every parameter schema: unknown keys are errors, assignments are validated.

    A registered entry's schema is a subclass that knows its `registry` (kind) and entry `name`
    (class attributes, not fields), so a Config section holds a typed object keyed on its name.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
    registry: ClassVar[str] = ""
    name: ClassVar[str] = ""

    def section(self) -> dict[str, Any]:
        """{"name": ..., **params}: the JSON form of a Config section."""
        return {"name": self.name, **self.model_dump(mode="json")}

    def __repr_args__(self) -> Any:
        if self.name:
            yield "name", self.name
        yield from super().__repr_args__()

    def __reduce__(self) -> tuple[Any, ...]:  # dynamic subclasses pickle by registry kind and name
        if not self.registry:
            return super().__reduce__()
        return (_registered_params, (self.registry, self.name, self.model_dump()))


REGISTRIES: dict[str, Registry] = {}


def _registered_params(kind: str, name: str, values: dict[str, Any]) -> Params:
    return REGISTRIES[kind].get(name).schema.model_validate(values)


class SchemaError(ValueError):
    """A bad value for a named key; the message names the key and what is allowed."""

    def __init__(self, key: str, problem: str, allowed: str = ""):
        self.key, self.problem, self.allowed = key, problem, allowed
        text = f"{key}: {problem}"
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text)


# Markers for a field's `json_schema_extra`: who may set it. The browser (widgets, URL) sets neither.
CLI_ONLY: dict[str, Any] = {"cli_only": True}  # e.g. a server file path: command line and config files only
UPLOAD_ID: dict[str, Any] = {"upload_id": True}  # the id of a stored upload: set by the app's uploader only


def _marked(info: FieldInfo, marker: dict[str, Any]) -> bool:
    """Whether the field's json_schema_extra carries `marker`."""
    extra = info.json_schema_extra
    return isinstance(extra, dict) and all(extra.get(k) == v for k, v in marker.items())


def is_cli_only(info: FieldInfo) -> bool:
    """Whether the field may be set only from the command line or a config file (never by a browser)."""
    return _marked(info, CLI_ONLY)


def is_upload_id(info: FieldInfo) -> bool:
    """Whether the field names a stored upload, which only the app's uploader sets."""
    return _marked(info, UPLOAD_ID)


def browser_settable(info: FieldInfo) -> bool:
    """Whether a widget or a URL may set the field: neither a CLI-only field nor an upload id."""
    return not (is_cli_only(info) or is_upload_id(info))


def _strip_optional(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def field_bounds(info: FieldInfo) -> tuple[float | None, float | None]:
    """(lower, upper) bounds declared on a field through ge/gt/le/lt, or None where open."""
    lo = hi = None
    for m in info.metadata:
        for attr in ("ge", "gt"):
            if getattr(m, attr, None) is not None:
                lo = getattr(m, attr)
        for attr in ("le", "lt"):
            if getattr(m, attr, None) is not None:
                hi = getattr(m, attr)
    return lo, hi


def field_choices(info: FieldInfo) -> list[Any] | None:
    """The allowed values of a Literal field (or of the items of a list of Literals)."""
    ann = _strip_optional(info.annotation)
    if get_origin(ann) is Literal:
        return list(get_args(ann))
    if get_origin(ann) in (list, tuple):
        args = get_args(ann)
        if args and get_origin(args[0]) is Literal:
            return list(get_args(args[0]))
    return None


def describe_allowed(info: FieldInfo) -> str:
    """Human text for what a field allows: its choices, its range, or its type."""
    choices = field_choices(info)
    ann = _strip_optional(info.annotation)
    is_list = get_origin(ann) in (list, tuple)
    if choices is not None:
        text = "one of " + ", ".join(str(c) for c in choices)
        return ("a list, each " + text) if is_list else text
    lo, hi = field_bounds(info)
    base = getattr(ann, "__name__", str(ann))
    if is_list:
        inner = get_args(ann)[0] if get_args(ann) else Any
        base = f"a list of {getattr(inner, '__name__', inner)}"
    if lo is not None or hi is not None:
        return f"{base} from {lo if lo is not None else '-inf'} to {hi if hi is not None else 'inf'}"
    if ann is bool:
        return "true or false"
    return base


def validation_error_to_schema_error(schema: type[Params], err: ValidationError, prefix: str = "") -> SchemaError:
    """Turn the first pydantic error into a SchemaError naming `prefix.key` and its allowed values."""
    first = err.errors()[0]
    loc = [str(p) for p in first.get("loc", ())]
    name = loc[0] if loc else ""
    key = ".".join([p for p in [prefix, *loc] if p])
    if first.get("type") == "extra_forbidden":
        return SchemaError(key, "unknown key", "one of " + ", ".join(schema.model_fields))
    allowed = describe_allowed(schema.model_fields[name]) if name in schema.model_fields else ""
    msg = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return SchemaError(key or prefix, msg, allowed)


def validate_params(schema: type[Params], values: dict[str, Any], prefix: str = "") -> Params:
    """Validate a dict against a schema; raise SchemaError naming the key on failure."""
    try:
        return schema.model_validate(values)
    except ValidationError as err:
        raise validation_error_to_schema_error(schema, err, prefix) from None


def as_list(value: Any) -> Any:
    """Let a list field take "a,b" or a single value (command lines and URLs); lists pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [value]
    return value


P = TypeVar("P", bound=Params)


@dataclass(frozen=True)
class Entry(Generic[P]):
    """One registered thing: a name, its parameter schema, and the factory that builds it."""

    name: str
    schema: type[P]
    factory: Callable[..., Any]
    description: str = ""
    # What it is or needs, e.g. "sequence" (per-position targets / outputs), "tokens" (a task that gives
    # integer tokens, a model that reads only tokens), "2d", "classification".
    tags: frozenset[str] = field(default_factory=frozenset)


class Registry:
    """Name -> Entry. The only global mutable state Netarium has besides its peers."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        REGISTRIES[kind] = self

    def register(self, name: str, schema: type[Params], description: str = "", tags: tuple[str, ...] = ()):
        """Decorator registering `factory(params, ...)` under `name`.

        The entry's schema is a subclass of `schema` whose instances carry `kind` and `name`, so
        several entries may share one declaration (sort, reverse and copy) and stay distinct.
        """

        def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            named = type(schema.__name__, (schema,), {"__module__": schema.__module__, "registry": self.kind, "name": name,
                                                      "__doc__": schema.__doc__})
            self._entries[name] = Entry(name, named, factory, description, frozenset(tags))
            return factory

        return deco

    def params(self, value: Any, prefix: str | None = None) -> Params:
        """A validated entry instance from {"name": ..., **params}, a bare name, or an instance.

        Errors are SchemaErrors naming `prefix.key` (the registry's kind by default).
        """
        prefix = self.kind if prefix is None else prefix
        if isinstance(value, Params) and value.registry == self.kind and value.name in self._entries:
            return value
        if isinstance(value, str):
            value = {"name": value}
        if not isinstance(value, dict) or "name" not in value:
            raise SchemaError(prefix, "needs a name", "one of " + ", ".join(self.names()))
        entry = self.get(value["name"])
        return validate_params(entry.schema, {k: v for k, v in value.items() if k != "name"}, prefix=prefix)

    def params_for(self, name: str, params: Params | dict[str, Any] | None) -> Params:
        """Entry `name`'s typed params from an instance (of it, or of its plain declaration) or a dict."""
        if isinstance(params, Params):
            if params.registry == self.kind and params.name != name:
                raise SchemaError(f"{self.kind}.name", f"params of {params.name!r} given for {name!r}")
            params = params.model_dump()
        return self.params({"name": name, **(params or {})})

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name (a list or dict from JSON)
            raise SchemaError(f"{self.kind}.name", f"unknown {self.kind} {name!r}", "one of " + ", ".join(self.names())) from None

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)


T = TypeVar("T")


class Catalog(Generic[T]):
    """id -> item (anything with an `.id`), in registration order: experiments, views."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, item: T) -> T:
        key = item.id  # type: ignore[attr-defined]
        if key in self._items:
            raise ValueError(f"{self.kind} {key!r} is registered twice")
        self._items[key] = item
        return item

    def get(self, key: str) -> T:
        if key not in self._items:
            raise SchemaError(self.kind, f"unknown {self.kind} {key!r}", "one of " + ", ".join(self._items))
        return self._items[key]

    def ids(self) -> list[str]:
        return list(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: str) -> bool:
        return key in self._items


def schema_summary(schema: type[Params]) -> list[dict[str, Any]]:
    """A JSON-able description of each field: name, default, allowed values, help."""
    out = []
    for name, info in schema.model_fields.items():
        default = info.get_default(call_default_factory=True)
        out.append({"name": name, "default": default, "allowed": describe_allowed(info), "help": info.description or ""})
    return out


def env_number(name: str, default: float, key: str, *, whole: bool = False, unit: str = "") -> float:
    """A positive finite number from environment variable `name` (`default` when unset or empty); a bad
    value is a SchemaError under `key` that names the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SchemaError(key, f"{name}={raw!r} is not a number{f' ({unit})' if unit else ''}") from None
    if not value > 0 or not math.isfinite(value) or (whole and not value.is_integer()):
        raise SchemaError(key, f"{name}={raw!r} must be a positive {'whole ' * whole}number")
    return value
