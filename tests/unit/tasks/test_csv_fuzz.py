"""Fuzzed CSV bytes (tasks/csv.py, training/store.py save_upload): a Task of finite numbers, or a CSVError
that names the row or column in one line and shows at most MAX_SHOWN_CHARS of a cell, escaped; a refused
upload writes nothing, an accepted one reads back as the same task."""

import os
import re
import tempfile
from pathlib import Path
from unittest import mock

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from netarium.tasks import make_task
from netarium.tasks.csv import MAX_SHOWN_CHARS, CSVError, load_csv_task, upload_id
from netarium.training.store import save_upload

MAX_MESSAGE_CHARS = 300
# every refusal starts by saying where: a row (and column), or what about the whole file
WHERE = re.compile(r"^(row \d+(, column \d+( \(.*?\))?)?: |the file |need at least 2 data rows|the label column \d+)")

NUMBER_TEXT = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "NaN", "inf", "-Infinity", "1e39", "-3.5e38", "3.4e38", "1e-50", "9" * 400, "0x1F", "1_000",
                     "١٢", " 7 ", "+.5", "5.", ".", "-", "e3", "1e", "0", "1", "2"]),
)
CELL = st.one_of(
    NUMBER_TEXT, NUMBER_TEXT, NUMBER_TEXT,
    st.text(max_size=12),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl"]), max_size=5),
    st.sampled_from(['"', '""', '"a,b"', "'", "\ufeff", "\x00", "\r", "\n", "a\nb", '"x\ny"', "label", "x1"]),
    st.text(min_size=21, max_size=60),
)
LINE_END = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def csv_bytes(draw):
    """CSV-like bytes: a header or not, rows of mostly numbers (some ragged), a BOM, any line ends, and now and
    then bytes that are not UTF-8, a huge cell or many columns."""
    width = 1001 if draw(st.integers(0, 29)) == 0 else draw(st.integers(1, 5))
    rows = []
    if draw(st.booleans()):
        rows.append(draw(st.lists(st.text(max_size=8), min_size=width, max_size=width)))
    n_rows = draw(st.integers(0, 12)) if width < 100 else 2
    for _ in range(n_rows):
        ragged = draw(st.integers(0, 19)) == 0
        n = draw(st.integers(0, width + 1)) if ragged else width
        if draw(st.integers(0, 9)) < 8:  # a clean numeric row: accepted files are common too
            rows.append(draw(st.lists(st.one_of(st.integers(-3, 3).map(str), st.floats(-1e3, 1e3).map(repr)),
                                      min_size=n, max_size=n)))
        else:
            rows.append(draw(st.lists(CELL, min_size=n, max_size=n)) if n < 100 else ["1"] * n)
    end = draw(LINE_END)
    text = "".join(",".join(row) + (end if draw(st.integers(0, 9)) else draw(LINE_END)) for row in rows)
    if draw(st.integers(0, 19)) == 0:
        text += "7," + "8" * draw(st.sampled_from([131_072, 140_000])) + end
    data = text.encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" * draw(st.integers(1, 2)) + data
    if draw(st.integers(0, 9)) == 0 and data:  # an invalid byte somewhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe2\x82", b"\x80"])) + data[at:]
    return data


ANY_BYTES = st.one_of(csv_bytes(), csv_bytes(), csv_bytes(), st.binary(max_size=200))


def cells_of(data):
    """The pieces of a file that a message must not repeat whole: the decoded text between separators."""
    text = data.decode("utf-8", errors="replace")
    return [piece for piece in re.split(r'[,\r\n"]', text) if len(piece) > MAX_SHOWN_CHARS]


def check_refusal(err, data):
    message = str(err)
    assert WHERE.match(message), message
    assert len(message) <= MAX_MESSAGE_CHARS and message.isprintable(), repr(message)
    for cell in cells_of(data):
        for start in range(0, len(cell) - MAX_SHOWN_CHARS, MAX_SHOWN_CHARS):
            assert cell[start:start + MAX_SHOWN_CHARS + 1] not in message, (message, cell[:60])


def check_task(task):
    n_train, n_test = len(task.X_train), len(task.X_test)
    assert n_train >= 1 and n_test >= 1 and task.X_train.shape[1] == task.X_test.shape[1] == len(task.input_names)
    assert len(task.y_train) == n_train and len(task.y_test) == n_test
    for t in (task.X_train, task.X_test, task.y_train.float(), task.y_test.float()):
        assert bool(torch.isfinite(t).all()), "a file of finite numbers became a tensor with inf or NaN"
    if task.kind == "classification":
        assert task.n_classes >= 2 and int(task.y_train.max()) < task.n_classes and int(task.y_train.min()) >= 0


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=ANY_BYTES)
@example(data=b"1e39,0\n2,1\n")  # was: accepted, and the float32 tensor held inf
@example(data=b"1,2\r3,4\r5,6\r")  # was: "new-line character seen in unquoted field - do you need to open the file..."
@example(data=b"1,\x002\n3,4\n")  # row 1 is taken for a header: the message says so
@example(data=b"\xef\xbb\xbfa,a,a\r\n1,2,0\r\n3,4,1\r\n")  # a BOM and duplicated headers: a task
@example(data=b"a,b,y\n")  # only a header
def test_any_bytes_give_a_task_or_a_csv_error_that_says_where(data):
    try:
        task = load_csv_task(data)
    except CSVError as err:
        check_refusal(err, data)
    else:
        check_task(task)


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=ANY_BYTES)
def test_an_upload_is_stored_only_when_it_is_a_task_and_reads_back_the_same(data):
    with tempfile.TemporaryDirectory() as home, mock.patch.dict(os.environ, {"NETARIUM_HOME": home}):
        try:
            expected = load_csv_task(data, train_ratio=0.8, seed=3)
        except CSVError as err:
            try:
                save_upload(data)
            except CSVError as again:
                assert str(again) == str(err)
            else:
                raise AssertionError("a refused file was stored")
            assert files_under(home) == []  # nothing written, not even the uploads folder
            return
        key = save_upload(data)
        assert key == upload_id(data) and files_under(home) == ["uploads", f"uploads/{key}.csv"]
        assert (Path(home) / "uploads" / f"{key}.csv").read_bytes() == data
        assert save_upload(data) == key and len(files_under(home)) == 2  # the same bytes are kept once
        task = make_task("csv", {"upload": key, "train_ratio": 0.8}, seed=3)
        for name in ("X_train", "y_train", "X_test", "y_test"):
            assert torch.equal(getattr(task, name), getattr(expected, name)), name
        assert (task.kind, task.n_classes, task.input_names) == (expected.kind, expected.n_classes, expected.input_names)


# ------------------------------------------------------------------------ what the fuzzing found


def test_numbers_beyond_float32_are_refused_not_turned_into_inf():
    for data, where in ((b"1e39,0\n2,1\n", "row 1, column 1"), (b"x,y\n1,0\n2,-3.5e38\n", "row 3, column 2 ('y')")):
        with pytest.raises(CSVError) as err:
            load_csv_task(data)
        assert str(err.value).startswith(f"{where}: ")
        assert str(err.value).endswith("is too large (at most ±3.4e+38, what a 32-bit float holds)")
    assert float(load_csv_task(b"3.4e38,0\n-3.4e38,1\n", train_ratio=0.5).X_train.abs().max()) > 3e38


def test_rows_may_end_in_a_lone_carriage_return():
    task = load_csv_task(b"a,y\r1,0\r2,1\r3,0\r4,1\r", train_ratio=0.5, seed=0)
    assert task.input_names == ["a"] and len(task.X_train) + len(task.X_test) == 4
    with pytest.raises(CSVError, match=r"^row 3, column 2: byte 0xff is not UTF-8 text; save the file as UTF-8$"):
        load_csv_task(b"a,y\r1,0\r2,\xff\r")  # the bad byte's row counts lone CRs too


def test_too_few_rows_says_which_row_was_read_as_the_header():
    with pytest.raises(CSVError) as err:
        load_csv_task(b"1,\x002\n3,4\n")
    assert str(err.value) == "need at least 2 data rows, found 1 (row 1 is the header: its column 2 holds '\\x002', not a number)"
    with pytest.raises(CSVError) as err:
        load_csv_task(b"1,\n3,4\n")
    assert str(err.value) == "need at least 2 data rows, found 1 (row 1 is the header: its column 2 is empty)"
