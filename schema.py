"""The one-schema rule: every task, model, optimizer and trainer declares its parameters once.

A declaration is a pydantic model (`Params`) with bounds, defaults, choices and help text; a
`Registry` maps names to (schema, factory). Widgets, URL state, `--set key=value`, the run store and
sweep axes all read these declarations. This module imports only pydantic.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo


class Params(BaseModel):
    """Base of every parameter schema: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class SchemaError(ValueError):
    """A bad value for a named key; the message names the key and what is allowed."""

    def __init__(self, key: str, problem: str, allowed: str = ""):
        self.key, self.problem, self.allowed = key, problem, allowed
        text = f"{key}: {problem}"
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text)


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

    def register(self, name: str, schema: type[Params], description: str = "", tags: tuple[str, ...] = ()):
        """Decorator registering `factory(params, ...)` under `name`."""

        def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = Entry(name, schema, factory, description, frozenset(tags))
            return factory

        return deco

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
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
