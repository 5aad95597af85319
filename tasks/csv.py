"""User CSV files as tasks: numeric feature columns, the last column the label, optional header row.

A file comes either from an upload (the app: the bytes are kept in the run store's uploads folder
under their sha256, and a Config names them by that id) or from a path (the command line and
configs read from disk only: no text a browser sends ever names a server file). Error messages name
rows and columns; of the file's contents they show at most a short, escaped piece of one cell.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from netarium.schema import CLI_ONLY, UPLOAD_ID, Params, SchemaError
from netarium.tasks.base import TASKS, Task, as_tensors, split_indices

MAX_AUTO_CLASSES = 20
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # an uploaded CSV file is refused above this size
MAX_SHOWN_CHARS = 20  # at most this much of a cell's text appears (escaped) in an error message
MAX_MAGNITUDE = float(np.finfo(np.float32).max)  # a task's tensors are float32: a larger number would become inf
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
UPLOAD_ID_PATTERN = r"^[0-9a-f]{64}$"  # the sha256 of an upload's bytes, lower-case hex
UPLOADS_DIR = "uploads"


class CSVError(ValueError):
    """A CSV file that cannot become a task; the message names the first bad row and column."""


def store_home() -> Path:
    """The run store's folder: ``$NETARIUM_HOME``, else ``./runs`` (training/store.py keeps its files here too)."""
    home = os.environ.get("NETARIUM_HOME")
    return Path(home) if home else Path("runs")


def upload_id(data: bytes) -> str:
    """The id an upload is stored and named by: the sha256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def upload_file(upload: str, home: Path | None = None) -> Path:
    """Where upload `upload` lives: ``<store home>/uploads/<id>.csv``; refuses anything but an id."""
    if not isinstance(upload, str) or re.fullmatch(UPLOAD_ID_PATTERN, upload) is None:
        raise SchemaError("task.upload", "is not an upload id", "64 lower-case hex digits (a sha256)")
    return (home if home is not None else store_home()) / UPLOADS_DIR / f"{upload}.csv"


def check_upload(data: bytes) -> None:
    """Raise CSVError unless `data` is small enough and parses as a CSV task (what an upload must be)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise CSVError(f"the file has {len(data):,} bytes, more than the limit of {MAX_UPLOAD_BYTES:,}")
    load_csv_task(data)


def read_upload(upload: str, home: Path | None = None) -> bytes:
    """The bytes of a stored upload, checked against its id; SchemaError when it is missing or altered."""
    path = upload_file(upload, home)
    try:
        data = path.read_bytes()
    except OSError:
        raise SchemaError("task.upload", f"no uploaded CSV file with id {upload[:12]}…; upload the file again") from None
    if upload_id(data) != upload:
        raise SchemaError("task.upload", f"the uploaded file {upload[:12]}… was changed on the server; upload it again")
    return data


def _shown(cell: str) -> str:
    """A cell as an error message may show it: escaped (repr), cut to MAX_SHOWN_CHARS characters."""
    if not cell:
        return "empty cell"
    return repr(cell[:MAX_SHOWN_CHARS]) + ("…" if len(cell) > MAX_SHOWN_CHARS else "")


def _not_utf8(data: bytes, err: UnicodeDecodeError) -> CSVError:
    """Where the first byte that is not UTF-8 sits (row, and column counted by commas), and its value."""
    breaks = list(_LINE_BREAK.finditer(data, 0, err.start))
    line_start = breaks[-1].end() if breaks else 0
    row = len(breaks) + 1
    col = data.count(b",", line_start, err.start) + 1
    return CSVError(f"row {row}, column {col}: byte 0x{data[err.start]:02x} is not UTF-8 text; save the file as UTF-8")


def _read_text(source: str | bytes | os.PathLike[str]) -> tuple[str, str]:
    """(text, source name): a path's contents, decoded bytes, or the string itself when it holds CSV text."""
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        try:
            return data.decode("utf-8-sig"), "<bytes>"
        except UnicodeDecodeError as err:
            raise _not_utf8(data, err) from None
    if isinstance(source, os.PathLike) or "\n" not in source:
        path = Path(source)
        if path.is_file():
            try:
                data = path.read_bytes()
            except OSError as err:
                raise CSVError(f"cannot read CSV file {str(path)!r} ({err.strerror})") from None
            return _read_text(data)[0], str(path)
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
    """"row R, column C ('name')": a cell's place as a spreadsheet shows it (both 1-based), the name cut short."""
    named = f" ({_shown(names[col - 1])})" if names and col - 1 < len(names) else ""
    return f"row {row}, column {col}{named}"


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, stripped cells) of each CSV record; a record the csv module cannot read is a CSVError."""
    reader = csv.reader(io.StringIO(text, newline=""))  # "": rows may end in \n, \r\n or a lone \r
    row_no = 0
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as err:  # e.g. a cell over the csv module's field size limit
            limit = csv.field_size_limit()
            why = f"a cell is longer than {limit:,} characters" if "field limit" in str(err) else str(err)
            raise CSVError(f"row {row_no + 1}: {why}") from None
        row_no += 1
        yield row_no, [c.strip() for c in raw]


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
    for row_no, cells in _records(text):
        if not any(cells):
            continue  # blank line
        if not width:
            width, first_row = len(cells), row_no
            if width > max_cols:
                raise CSVError(f"row {row_no}: {width} columns, more than the limit of {max_cols}")
            if width < 2:
                raise CSVError(f"row {row_no}: only {width} column; need at least one feature column and a label column, separated by commas")
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
                raise CSVError(f"{_where(row_no, col, names)}: {_shown(cell)} is not a number")
            if not math.isfinite(v):
                raise CSVError(f"{_where(row_no, col, names)}: {_shown(cell)} is not a finite number (NaN or infinity)")
            if abs(v) > MAX_MAGNITUDE:
                raise CSVError(f"{_where(row_no, col, names)}: {_shown(cell)} is too large (at most ±{MAX_MAGNITUDE:.3g}, "
                               "what a 32-bit float holds)")
            values.append(v)
        rows.append(values)
    if not width:
        raise CSVError("the file is empty: no rows with cells")
    if len(rows) < 2:
        header = ""
        if names:  # say why the first row does not count: a file of numbers with one odd cell reads as a header
            col = next(i for i, c in enumerate(names, start=1) if _number(c) is None)
            what = f"holds {_shown(names[col - 1])}, not a number" if names[col - 1] else "is empty"
            header = f" (row {first_row} is the header: its column {col} {what})"
        raise CSVError(f"need at least 2 data rows, found {len(rows)}{header}")
    data = np.array(rows, dtype=np.float64)
    X, labels = data[:, :-1], data[:, -1]
    distinct = np.unique(labels)
    label_where = f"column {width}" + (f" ({_shown(names[-1])})" if names else "")
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
    upload: str | None = Field(
        None, pattern=UPLOAD_ID_PATTERN, json_schema_extra=UPLOAD_ID,
        description="An uploaded CSV file, by the sha256 id it is kept under in the run store (set by the app's uploader).",
    )
    path: str = Field(
        "", json_schema_extra=CLI_ONLY,
        description="Path of a CSV file (command line and config files only): numeric columns, the last one the label, optional header.",
    )
    train_ratio: float = Field(0.8, ge=0.1, le=0.9, description="Fraction of the rows used for training.")
    kind: Literal["auto", "classification", "regression"] = Field(
        "auto", description="auto: classification when the labels are integers with at most 20 values."
    )


@TASKS.register("csv", CSVParams, "A user CSV file.", tags=("user",))
def make_csv(p: CSVParams, seed: int) -> Task:
    """load_csv_task on the stored upload named by `upload`, else on the file named by `path`."""
    if p.upload and p.path:
        raise SchemaError("task", "give one CSV file, task.upload or task.path, not both")
    if not p.upload and not p.path:
        raise SchemaError("task", "no CSV file given: upload one in the app, or set task.path on the command line")
    key = "task.upload" if p.upload else "task.path"
    source: bytes | Path = read_upload(p.upload) if p.upload else Path(p.path)
    try:
        task = load_csv_task(source, train_ratio=p.train_ratio, seed=seed, kind=p.kind)
    except CSVError as e:  # a config names the file: report it against its key
        raise SchemaError(key, str(e)) from None
    if p.upload:
        task.meta["source"] = f"upload {p.upload[:12]}"
    return task
