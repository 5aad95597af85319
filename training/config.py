"""`Config`: the whole, serializable description of a run, and dotted `key=value` overrides."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator

from netarium.models import MODELS
from netarium.schema import (
    Params,
    Registry,
    SchemaError,
    describe_allowed,
    validation_error_to_schema_error,
)
from netarium.tasks import TASKS
from netarium.training.optim import OPTIMIZERS
from netarium.training.trainers import TRAINERS

SECTIONS: dict[str, Registry] = {"task": TASKS, "model": MODELS, "optimizer": OPTIMIZERS, "trainer": TRAINERS}


class Config(BaseModel):
    """Task + model + optimizer + trainer + loss, regularization, batching, steps, seed, device.

    The same Config with the same seed gives the same run.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    task: Params = Field(default="spiral", validate_default=True, description="Data set and its parameters")
    model: Params = Field(default="mlp", validate_default=True, description="Network and its parameters")
    optimizer: Params = Field(default="adam", validate_default=True, description="Optimizer and its parameters")
    trainer: Params = Field(default="supervised", validate_default=True, description="Training rule and its parameters")
    loss: Literal["auto", "cross_entropy", "bce", "mse", "tfp"] = Field(
        "auto", description="auto: cross-entropy for classes, MSE for regression; tfp: TensorFlow Playground's "
        "0.5 (o - t)^2, with o = tanh(output) and t = ±1 for 2 classes, o the linear output for regression")
    l1: float = Field(0.0, ge=0.0, le=10.0, description="L1 rate: penalty adds l1 Σ|w| to the loss; tfp subtracts "
                      "lr l1 sign(w) after each step and a weight it pushes across 0 dies (stays 0)")
    l2: float = Field(0.0, ge=0.0, le=10.0, description="L2 rate: penalty adds l2 Σw² to the loss; tfp subtracts lr l2 w after each step")
    regularization: Literal["penalty", "tfp"] = Field(
        "penalty", description="How l1/l2 act on the weight matrices: penalty, a term of the loss the optimizer sees; "
        "tfp, TensorFlow Playground's update after each optimizer step, L1 killing a weight it crosses over 0")
    batch_size: int = Field(0, ge=0, le=1_000_000, description="Samples per step; 0 = full batch")
    order: Literal["shuffle", "fixed"] = Field(
        "shuffle", description="Batch order: shuffle, a new seeded permutation every epoch; fixed, TensorFlow "
        "Playground's walk through the training set in its stored order, the last partial batch joining the next epoch's first")
    steps: int = Field(1000, ge=0, le=100_000_000, description="Training steps of a headless run")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seeds initialisation and batch order, and the data unless data_seed is set")
    data_seed: int | None = Field(None, ge=0, le=2**31 - 1, description="Seeds the data; none = the seed")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: $NETARIUM_DEVICE, else cuda when present, else cpu")
    eval_every: int = Field(0, ge=0, le=1_000_000, description="Steps between evaluations; 0 = auto (about 2% of the time)")
    history_points: int = Field(2000, ge=10, le=1_000_000, description="Points kept per metric before thinning")

    def __init__(self, **data: Any):
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise _config_error(err) from None

    @field_validator("task", "model", "optimizer", "trainer", mode="before")
    @classmethod
    def _section(cls, value: Any, info: Any) -> Params:
        """The registered entry's typed params, keyed on `name` (a union over the registry)."""
        return SECTIONS[info.field_name].params(value, prefix=info.field_name)

    @field_serializer("task", "model", "optimizer", "trainer")
    def _dump_section(self, params: Params) -> dict[str, Any]:
        return params.section()

    @property
    def task_seed(self) -> int:
        """The seed the data are drawn with: data_seed, else seed."""
        return self.seed if self.data_seed is None else self.data_seed

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Config:
        """A Config from JSON text; anything wrong (syntax, nesting, NaN, duplicate keys, not an object,
        a bad value) is a SchemaError."""
        data = load_json(text, "config")
        if not isinstance(data, dict):
            raise SchemaError("config", f"must be a JSON object, not {_json_kind(data)}")
        return parse_config(data)

    def with_overrides(self, overrides: Iterable[str] | dict[str, Any]) -> Config:
        """A new Config with dotted overrides applied ("task.noise=0.2" or {"task.noise": 0.2})."""
        return apply_overrides(self, overrides)


def parse_config(data: dict[str, Any]) -> Config:
    """Validate a dict into a Config; errors become SchemaError naming the dotted key."""
    if not isinstance(data, dict):
        raise SchemaError("config", "must be a JSON object")
    unknown = [k for k in data if k not in Config.model_fields]
    if unknown:
        raise SchemaError(unknown[0], "unknown key", "one of " + ", ".join(Config.model_fields))
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise _config_error(err) from None


def _config_error(err: ValidationError) -> SchemaError:
    first = err.errors()[0]
    if isinstance(first.get("ctx", {}).get("error"), SchemaError):
        return first["ctx"]["error"]
    return validation_error_to_schema_error(Config, err)


MAX_JSON_DEPTH = 32  # a Config nests 4 deep; far below the JSON decoder's recursion limit
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of [ and { in JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub('""', text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _no_duplicates(key: str):
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for k, v in pairs:
            if k in seen:
                raise SchemaError(key, f"duplicate key {k!r}")
            seen[k] = v
        return seen
    return hook


def _no_constant(key: str):
    def hook(name: str) -> Any:
        raise SchemaError(key, f"{name} is not a number JSON allows")
    return hook


def load_json(text: str, key: str) -> Any:
    """Strict JSON (no NaN/Infinity, no duplicate keys, at most MAX_JSON_DEPTH deep); errors are
    SchemaErrors naming `key`, never a RecursionError."""
    if not text.strip():
        raise SchemaError(key, "is empty (expected JSON)")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise SchemaError(key, f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates(key), parse_constant=_no_constant(key))
    except json.JSONDecodeError as e:
        raise SchemaError(key, f"not valid JSON ({e.msg}, line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise SchemaError(key, f"nested deeper than {MAX_JSON_DEPTH} levels") from None


def _json_kind(value: Any) -> str:
    kinds = {list: "a list", str: "a string", bool: "true/false", int: "a number", float: "a number", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def parse_value(text: str, key: str = "value") -> Any:
    """A command-line value: JSON when it parses (numbers, true/false, lists), else the string."""
    low = text.strip().lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if json_depth(text) > MAX_JSON_DEPTH:
        raise SchemaError(key, f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return text


def split_override(item: str) -> tuple[str, Any]:
    """"a.b=value" -> ("a.b", parsed value)."""
    if "=" not in item:
        raise SchemaError(item, "expected key=value", "e.g. task.noise=0.2 or steps=500")
    key, _, raw = item.partition("=")
    return key.strip(), parse_value(raw, key.strip())


def apply_overrides(config: Config, overrides: Iterable[str] | dict[str, Any]) -> Config:
    """Apply dotted overrides; changing a section's name resets that section's other parameters.

    `section=NAME` (or `section.name=NAME`) starts that section from NAME's defaults; `section` with
    params or a dict replaces the whole section. Those apply first, so the order of the keys is free.
    """
    pairs = list(overrides.items()) if isinstance(overrides, dict) else [split_override(o) for o in overrides]
    data = config.model_dump(mode="json")
    for key, value in pairs:
        head, _, rest = key.partition(".")
        if head in SECTIONS and rest in ("", "name"):
            data[head] = value.section() if isinstance(value, Params) else dict(value) if isinstance(value, dict) else {"name": value}
    for key, value in pairs:
        head, _, rest = key.partition(".")
        if head not in Config.model_fields:
            raise SchemaError(key, "unknown key", "one of " + ", ".join(Config.model_fields))
        if head in SECTIONS:
            if rest not in ("", "name"):
                schema = SECTIONS[head].get(data[head]["name"]).schema
                if rest not in schema.model_fields:
                    raise SchemaError(key, "unknown key", "one of name, " + ", ".join(schema.model_fields))
                data[head][rest] = value
        elif rest:
            raise SchemaError(key, f"{head} has no sub-keys", describe_allowed(Config.model_fields[head]))
        else:
            data[head] = value
    return parse_config(data)
