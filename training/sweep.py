"""Sweeps: a base Config plus axes, expanded into member Configs (grid or random draws, times seeds).

An axis is a dotted Config key (the keys of `--set`) with a list of values or a range:
`log:1e-4:1:7` (7 values evenly spaced in log), `lin:0:0.5:6`, `int:2:16:4` (whole numbers), or
`a,b,c` (each read as `--set` reads a value). Every member's Config is validated when the sweep is
expanded, so a bad value fails up front with the axis, the value and what is allowed. A Sweep is a
pydantic model: it serializes to JSON (the store, `--json`, the URL) as a Config does.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from netarium.schema import SchemaError
from netarium.training.config import Config, parse_value

MAX_MEMBERS = 1024
RANGE_KINDS = ("log", "lin", "int")


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SchemaError(where, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise SchemaError(where, f"{text!r} is not a finite number")
    return value


class Axis(BaseModel):
    """One swept key: explicit `values`, or a range (`kind` log/lin/int from `lo` to `hi` in `n` steps)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(description="A dotted Config key, as for --set (optimizer.lr, model.hidden, seed, ...)")
    kind: Literal["list", "log", "lin", "int"] = "list"
    values: list[Any] = Field(default_factory=list, description="The values of a list axis")
    lo: float = 0.0
    hi: float = 0.0
    n: int = Field(0, ge=0, le=MAX_MEMBERS)

    @model_validator(mode="after")
    def _well_formed(self) -> Axis:
        if self.kind == "list":
            if not self.values:
                raise ValueError(f"axis {self.key} has no values")
        else:
            if self.n < 1:
                raise ValueError(f"axis {self.key}: a {self.kind} range needs at least one value")
            if self.kind == "log" and (self.lo <= 0 or self.hi <= 0):
                raise ValueError(f"axis {self.key}: a log range needs positive bounds, got {self.lo:g} and {self.hi:g}")
            if self.kind == "int" and (self.lo != int(self.lo) or self.hi != int(self.hi)):
                raise ValueError(f"axis {self.key}: an int range needs whole bounds, got {self.lo:g} and {self.hi:g}")
        return self

    def grid(self) -> list[Any]:
        """The axis's values for a grid: the list, or the range's n evenly spaced points (ends included)."""
        if self.kind == "list":
            return list(self.values)
        if self.n == 1:
            points = [self.lo]
        elif self.kind == "log":
            a, b = math.log10(self.lo), math.log10(self.hi)
            points = [10 ** (a + (b - a) * i / (self.n - 1)) for i in range(self.n)]
        else:
            points = [self.lo + (self.hi - self.lo) * i / (self.n - 1) for i in range(self.n)]
        if self.kind == "int":
            return list(dict.fromkeys(int(round(p)) for p in points))  # whole numbers, no repeats
        return [float(f"{p:.6g}") for p in points]  # readable values (1e-4, 0.001, ...), not 0.000999999

    def draw(self, rng: random.Random) -> Any:
        """One random value: a list item, log-uniform, uniform, or a uniform whole number in the range."""
        if self.kind == "list":
            return rng.choice(self.values)
        if self.kind == "log":
            return float(f"{10 ** rng.uniform(math.log10(self.lo), math.log10(self.hi)):.6g}")
        if self.kind == "lin":
            return float(f"{rng.uniform(self.lo, self.hi):.6g}")
        return rng.randint(int(min(self.lo, self.hi)), int(max(self.lo, self.hi)))

    def spec(self) -> str:
        """The axis as typed: "optimizer.lr=log:0.0001:1:7" or "model.activation=tanh,relu"."""
        if self.kind == "list":
            return f"{self.key}=" + ",".join(v if isinstance(v, str) else json.dumps(v) for v in self.values)
        return f"{self.key}={self.kind}:{self.lo:g}:{self.hi:g}:{self.n}"


def parse_axis(text: str) -> Axis:
    """"key=VALUES" -> Axis. VALUES: log:LO:HI:N, lin:LO:HI:N, int:LO:HI:N, or a,b,c; a list value
    itself (hidden widths) is written in brackets: model.hidden=[8],[8,8],[16,16]."""
    if "=" not in text:
        raise SchemaError(text, "an axis is key=VALUES", "e.g. optimizer.lr=log:1e-4:1:7 or model.activation=tanh,relu")
    key, _, raw = (part.strip() for part in text.partition("="))
    head = raw.split(":", 1)[0]
    if head in RANGE_KINDS and raw.count(":") == 3:
        _, lo, hi, n = raw.split(":")
        count = _number(n, key)
        if count != int(count) or not 1 <= count <= MAX_MEMBERS:
            raise SchemaError(key, f"{n!r} values", f"a whole number from 1 to {MAX_MEMBERS}")
        return _axis(key=key, kind=head, lo=_number(lo, key), hi=_number(hi, key), n=int(count))
    return _axis(key=key, kind="list", values=split_values(raw, key))


def split_values(raw: str, key: str = "value") -> list[Any]:
    """"a,b,[1,2],c" -> ["a", "b", [1, 2], "c"]: commas split, except inside brackets."""
    items, depth, current = [], 0, ""
    for ch in raw:
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        depth += (ch == "[") - (ch == "]")
        current += ch
    items.append(current)
    return [parse_value(item.strip(), key) for item in items if item.strip()]


def _axis(**fields: Any) -> Axis:
    try:
        return Axis(**fields)
    except ValueError as e:
        raise SchemaError(str(fields.get("key", "axis")), _first_message(e)) from None


def _first_message(err: ValueError) -> str:
    """The first message of a pydantic ValidationError (or a plain ValueError's text)."""
    errors = err.errors() if isinstance(err, ValidationError) else [{"msg": str(err)}]
    return str(errors[0]["msg"]).removeprefix("Value error, ")


@dataclass(frozen=True)
class Member:
    """One network of a sweep: its index, its point (axis key -> value), its seed repeat and Config;
    `task`, when given, is the data it trains on instead of the one its Config makes (experiments that
    train several nets on one data set)."""

    index: int
    point: dict[str, Any]
    repeat: int
    config: Config
    task: Any = field(default=None, compare=False, repr=False)

    def label(self) -> str:
        """"optimizer.lr=0.01 · seed 1" (the point, then the seed repeat when there are several)."""
        parts = [f"{k}={show_value(v)}" for k, v in self.point.items()]
        return " · ".join(parts + [f"seed {self.config.seed}"])


def show_value(value: Any, number: str = "g") -> str:
    """An axis value as text: floats in `number` format, lists joined by commas ("8,8")."""
    if isinstance(value, float):
        return format(value, number)
    if isinstance(value, list):
        return ",".join(show_value(v, number) for v in value)
    return str(value)


class Sweep(BaseModel):
    """A base Config plus axes: a grid (every combination) or `samples` random draws, each point
    trained with seeds base.seed + 0..seeds-1."""

    model_config = ConfigDict(extra="forbid")

    base: Config = Field(default_factory=Config)
    axes: list[Axis] = Field(default_factory=list)
    mode: Literal["grid", "random"] = "grid"
    samples: int = Field(8, ge=1, le=MAX_MEMBERS, description="Random draws (mode random)")
    seeds: int = Field(1, ge=1, le=MAX_MEMBERS, description="Seeds per point: base seed + 0, 1, ...")
    draw_seed: int = Field(0, ge=0, le=2**31 - 1, description="Seeds the random draws")

    @field_validator("axes")
    @classmethod
    def _distinct(cls, axes: list[Axis]) -> list[Axis]:
        keys = [a.key for a in axes]
        if len(set(keys)) != len(keys):
            raise ValueError(f"an axis key appears twice: {sorted(k for k in keys if keys.count(k) > 1)[0]}")
        return axes

    def size(self) -> int:
        """How many members the sweep has (points x seeds), without building them."""
        points = self.samples if self.mode == "random" else math.prod(len(a.grid()) for a in self.axes)
        return points * self.seeds

    def points(self) -> list[dict[str, Any]]:
        """The axis values of every point, in grid order (the last axis fastest) or draw order."""
        if self.mode == "random":
            rng = random.Random(self.draw_seed)
            return [{a.key: a.draw(rng) for a in self.axes} for _ in range(self.samples)]
        grids = [a.grid() for a in self.axes]
        return [dict(zip([a.key for a in self.axes], combo, strict=True)) for combo in itertools.product(*grids)]

    def members(self) -> list[Member]:
        """Every member's validated Config; SchemaError naming the axis and the value when one is bad,
        or when the sweep has more than MAX_MEMBERS members."""
        size = self.size()
        if size > MAX_MEMBERS:
            raise SchemaError("sweep", f"{size:,} members is too many", f"at most {MAX_MEMBERS:,} (fewer values, axes or seeds)")
        out: list[Member] = []
        for point in self.points():
            config = self.base
            for key, value in point.items():  # one key at a time, so an error names its axis and value
                try:
                    config = config.with_overrides({key: value})
                except SchemaError as e:
                    raise SchemaError(f"axis {key}", f"value {show_value(value)!r}: {e}") from None
            for repeat in range(self.seeds):
                seed = (config.seed + repeat) % (2**31 - 1)
                out.append(Member(len(out), point, repeat, config.with_overrides({"seed": seed}) if repeat else config))
        return out

    def to_json(self, indent: int | None = None) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Sweep:
        try:
            return cls.model_validate_json(text)
        except ValueError as e:
            raise SchemaError("sweep", f"not a valid sweep ({str(e).splitlines()[0]})") from None


def sweep_from_specs(base: Config, axes: Sequence[str], *, seeds: int = 1, samples: int = 0, draw_seed: int = 0) -> Sweep:
    """A Sweep from `--axis` texts; samples > 0 draws that many random points instead of the grid."""
    parsed = [parse_axis(text) for text in axes]
    try:
        return Sweep(base=base, axes=parsed, seeds=seeds, mode="random" if samples else "grid",
                     samples=samples or 8, draw_seed=draw_seed)
    except ValueError as e:
        raise SchemaError("sweep", _first_message(e)) from None
