"""User CSV files as tasks: numeric feature columns, the last column the label, optional header row."""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from netarium.schema import Params, SchemaError
from netarium.tasks.base import TASKS, Task, as_tensors, split_indices

MAX_AUTO_CLASSES = 20


class CSVError(ValueError):
    """A CSV file that cannot become a task; the message names the first bad row and column."""


def _read_text(source: str | bytes | os.PathLike[str]) -> tuple[str, str]:
    """(text, source name): a path's contents, decoded bytes, or the string itself when it holds CSV text."""
    if isinstance(source, bytes | bytearray):
        try:
            return bytes(source).decode("utf-8-sig"), "<bytes>"
        except UnicodeDecodeError as err:
            raise CSVError(f"the file is not UTF-8 text ({err})") from None
    if isinstance(source, os.PathLike) or "\n" not in source:
        path = Path(source)
        if path.is_file():
            return _read_text(path.read_bytes())[0], str(path)
        if isinstance(source, os.PathLike) or "," not in source:
            raise CSVError(f"no such CSV file: {str(path)!r}")
    return source.lstrip("\ufeff"), "<text>"


def _number(cell: str) -> float | None:
    """float(cell), or None when the cell is not a number."""
    try:
        return float(cell)
    except ValueError:
        return None


def _where(row: int, col: int, names: list[str] | None) -> str:
    """'row R, column C ("name")': a cell's place as a spreadsheet shows it (both 1-based)."""
    named = f' ("{names[col - 1]}")' if names and col - 1 < len(names) else ""
    return f"row {row}, column {col}{named}"


def load_csv_task(
    source: str | bytes | os.PathLike[str], *, train_ratio: float = 0.8, seed: int = 0, max_rows: int = 100_000,
    max_cols: int = 1000, kind: Literal["auto", "classification", "regression"] = "auto",
) -> Task:
    """A Task from CSV text, bytes or a path: X the numeric columns but the last, y the last column."""
    text, origin = _read_text(source)
    names: list[str] | None = None
    width = 0
    rows: list[list[float]] = []
    first_row = 0
    for row_no, raw in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in raw]
        if not any(cells):
            continue  # blank line
        if not width:
            width, first_row = len(cells), row_no
            if width > max_cols:
                raise CSVError(f"row {row_no}: {width} columns, more than the limit of {max_cols}")
            if width < 2:
                raise CSVError(f"row {row_no}: only {width} column; need at least one feature column and a label column")
            if any(_number(c) is None for c in cells):
                names = cells
                continue
        if len(cells) != width:
            raise CSVError(f"row {row_no}: {len(cells)} columns, but row {first_row} has {width}")
        if len(rows) >= max_rows:
            raise CSVError(f"row {row_no}: too many rows, more than the limit of {max_rows} data rows")
        values = []
        for col, cell in enumerate(cells, start=1):
            v = _number(cell)
            if v is None:
                shown = repr(cell) if cell else "empty cell"
                raise CSVError(f"{_where(row_no, col, names)}: {shown} is not a number")
            if not math.isfinite(v):
                raise CSVError(f"{_where(row_no, col, names)}: {cell!r} is not a finite number (NaN or infinity)")
            values.append(v)
        rows.append(values)
    if len(rows) < 2:
        raise CSVError(f"need at least 2 data rows, found {len(rows)}")
    data = np.array(rows, dtype=np.float64)
    X, labels = data[:, :-1], data[:, -1]
    distinct = np.unique(labels)
    label_where = f"column {width}" + (f' ("{names[-1]}")' if names else "")
    if kind == "auto":
        integral = bool(np.all(labels == np.round(labels)))
        kind = "classification" if integral and len(distinct) <= MAX_AUTO_CLASSES else "regression"
    meta: dict[str, object] = {"source": origin, "label_name": names[-1] if names else f"column {width}"}
    if kind == "classification":
        if len(distinct) < 2:
            raise CSVError(f"the label {label_where} has a single class ({distinct[0]:g}); need at least 2")
        y = np.searchsorted(distinct, labels).astype(np.int64)
        meta["class_values"] = [int(v) if v == round(v) else float(v) for v in distinct]
        n_classes = len(distinct)
    else:
        y, n_classes = labels, 0
    rng = np.random.default_rng(seed)
    tr, te = split_indices(len(rows), train_ratio, rng)
    X_train, y_train = as_tensors(X[tr], y[tr], kind)
    X_test, y_test = as_tensors(X[te], y[te], kind)
    input_names = names[:-1] if names else [f"x{i + 1}" for i in range(width - 1)]
    return Task(
        name="csv", kind=kind, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        n_classes=n_classes, input_names=input_names, meta=meta,
    )


class CSVParams(Params):
    path: str = Field("", description="Path of a CSV file: numeric columns, the last one the label, optional header.")
    train_ratio: float = Field(0.8, ge=0.1, le=0.9, description="Fraction of the rows used for training.")
    kind: Literal["auto", "classification", "regression"] = Field(
        "auto", description="auto: classification when the labels are integers with at most 20 values."
    )


@TASKS.register("csv", CSVParams, "A user CSV file.", tags=("user",))
def make_csv(p: CSVParams, seed: int) -> Task:
    """load_csv_task on the file named by `path`."""
    if not p.path:
        raise SchemaError("task.path", "no CSV file given")
    try:
        return load_csv_task(Path(p.path), train_ratio=p.train_ratio, seed=seed, kind=p.kind)
    except CSVError as e:  # a config names the file: report it against its key
        raise SchemaError("task.path", str(e)) from None
