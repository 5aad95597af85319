"""Sequence tasks: layouts, targets recomputed independently, -100 masks, disjoint splits, the shipped text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import netarium.tasks.sequence as sequence
from netarium.schema import SchemaError
from netarium.tasks import TASKS, Task, make_task
from netarium.tasks.sequence import IGNORE_INDEX, decode, distinct_sequences, load_text, text_path

SEQ2SEQ = {
    "sort": sorted,
    "reverse": lambda xs: xs[::-1],
    "copy": list,
}
SEQUENCE_TASKS = ["sort", "reverse", "copy", "running-sum", "chars"]


def rows(X: torch.Tensor) -> set[tuple[int, ...]]:
    return {tuple(r) for r in X.tolist()}


def splits(t: Task):
    return ((t.X_train, t.y_train), (t.X_test, t.y_test))


def test_registered_with_sequence_tag_and_help():
    for name in SEQUENCE_TASKS:
        entry = TASKS.get(name)
        assert "sequence" in entry.tags and entry.description
        assert all(info.description for info in entry.schema.model_fields.values())
    assert TASKS.get("sort").schema().model_dump() == {"n_symbols": 10, "L": 6, "n_train": 5000, "n_test": 1000}
    assert TASKS.get("running-sum").schema().model_dump() == {"M": 10, "L": 8, "n_train": 5000, "n_test": 1000}
    assert TASKS.get("chars").schema().model_dump() == {"T": 32, "n_train": 2000, "n_test": 500, "lowercase": True}


@pytest.mark.parametrize("name", SEQUENCE_TASKS)
def test_shapes_dtypes_and_conventions(name):
    t = make_task(name)
    T = {"sort": 12, "reverse": 12, "copy": 12, "running-sum": 8, "chars": 32}[name]
    n_train, n_test = (2000, 500) if name == "chars" else (5000, 1000)
    assert t.name == name and t.kind == "sequence"
    assert t.X_train.shape == t.y_train.shape == (n_train, T) and t.X_test.shape == t.y_test.shape == (n_test, T)
    for X, y in splits(t):
        assert X.dtype == y.dtype == torch.int64
        assert 0 <= int(X.min()) and int(X.max()) < t.vocab_size
        scored = y[y != IGNORE_INDEX]
        assert 0 <= int(scored.min()) and int(scored.max()) < t.vocab_size
    assert t.n_classes == t.vocab_size == len(t.meta["vocab"]) == t.n_outputs
    assert t.input_names == [f"t{i}" for i in range(T)]
    assert all(isinstance(v, str) and v for v in t.meta["vocab"]) and len(set(t.meta["vocab"])) == t.vocab_size
    desc = t.meta["description"]
    assert isinstance(desc, str) and "\n" not in desc and ": " in desc
    assert t.meta["scored_from"] == (6 if name in SEQ2SEQ else 0)


@pytest.mark.parametrize("name", sorted(SEQ2SEQ))
def test_seq2seq_targets_mask_and_separator(name):
    n_symbols, L = 7, 5
    t = make_task(name, {"n_symbols": n_symbols, "L": L, "n_train": 300, "n_test": 100}, seed=1)
    sep = n_symbols
    assert t.vocab_size == n_symbols + 1 and t.meta["sep"] == sep and t.meta["vocab"][sep] == "|"
    assert t.meta["vocab"][:n_symbols] == [str(i) for i in range(n_symbols)] and t.meta["scored_from"] == L
    for X, y in splits(t):
        assert X.shape[1] == 2 * L
        for xr, yr in zip(X.tolist(), y.tolist(), strict=True):
            xs = xr[:L]
            assert xr[L] == sep and all(v < n_symbols for v in xs)
            out = SEQ2SEQ[name](xs)
            assert xr[L + 1:] == out[:-1]  # the output so far, fed back in
            assert yr[:L] == [IGNORE_INDEX] * L  # -100 exactly at the unscored positions ...
            assert yr[L:] == out  # ... and the next output token everywhere else
    assert decode(t, t.X_train[0]).split(" ")[L] == "|"


def test_sort_description_example_is_sorted():
    t = make_task("sort", {"L": 4}, seed=2)
    before, after = t.meta["description"].split(":")[0].split(" | ")
    assert sorted(before.split()) == after.split() and len(after.split()) == 4
    assert t.meta["description"].endswith("the sorted copy after the separator")


def test_running_sum_targets():
    M, L = 7, 6
    t = make_task("running-sum", {"M": M, "L": L, "n_train": 400, "n_test": 100}, seed=3)
    assert t.vocab_size == M and t.meta["vocab"] == [str(i) for i in range(M)] and t.meta["scored_from"] == 0
    for X, y in splits(t):
        assert X.shape == y.shape and X.shape[1] == L
        assert int((y == IGNORE_INDEX).sum()) == 0  # every position scored
        for xr, yr in zip(X.tolist(), y.tolist(), strict=True):
            total = 0
            for i in range(L):
                total += xr[i]
                assert yr[i] == total % M


@pytest.mark.parametrize("name", ["sort", "reverse", "copy", "running-sum"])
def test_train_and_test_disjoint(name):
    t = make_task(name, seed=5)
    train, test = rows(t.X_train), rows(t.X_test)
    assert len(train) == len(t.X_train) and len(test) == len(t.X_test)  # no repeats within a split
    assert not train & test


@pytest.mark.parametrize("name", ["sort", "running-sum"])
def test_small_space_is_used_whole_and_split(name):
    key = "n_symbols" if name == "sort" else "M"
    t = make_task(name, {key: 3, "L": 3, "n_train": 100, "n_test": 25}, seed=0)  # 27 sequences < 125
    train, test = rows(t.X_train[:, :3]), rows(t.X_test[:, :3])
    assert len(t.X_train) == round(27 * 100 / 125) == 22 and len(t.X_test) == 5
    assert not train & test and len(train | test) == 27


def test_distinct_sequences_enumerated_and_sampled_paths():
    rng = np.random.default_rng(0)
    tr, te = distinct_sequences(rng, 4, 4, 50, 20)  # 256 <= 4 * 70: enumerated
    both = np.concatenate([tr, te])
    assert tr.shape == (50, 4) and te.shape == (20, 4) and len({tuple(r) for r in both}) == 70
    tr, te = distinct_sequences(rng, 2, 12, 800, 200)  # 4096 > 4 * 1000: sampled, ~12% duplicates redrawn
    both = np.concatenate([tr, te])
    assert both.shape == (1000, 12) and len({tuple(r) for r in both}) == 1000 and set(both.ravel()) == {0, 1}


@pytest.mark.parametrize("name", SEQUENCE_TASKS)
def test_deterministic_by_seed(name):
    params = {} if name == "chars" else {"n_train": 200, "n_test": 50}
    a, b, c = (make_task(name, params, seed=s) for s in (7, 7, 8))
    for key in ("X_train", "y_train", "X_test", "y_test"):
        assert torch.equal(getattr(a, key), getattr(b, key))
    assert not torch.equal(a.X_train, c.X_train) and not torch.equal(a.X_test, c.X_test)
    assert a.meta["description"] == b.meta["description"]


# --------------------------------------------------------------------------------------------------- chars


def test_text_file_ships_in_the_package():
    path = text_path()
    assert path.is_file() and path.name == "alice.txt"
    assert Path(sequence.__file__).parent.joinpath("data", "alice.txt").is_file()
    raw = path.read_bytes()
    assert len(raw) >= 20_000 and max(raw) < 128 and b"\r" not in raw  # ASCII, Unix newlines
    assert "Alice" in path.read_text() and raw.count(b"\n") > 500


def test_chars_targets_are_the_next_character():
    t = make_task("chars", {"T": 24, "n_train": 300, "n_test": 100}, seed=4)
    text = load_text(True)
    vocab = t.meta["vocab"]
    assert vocab == sorted(set(text)) and set("".join(vocab)) == set(text)  # covers every character
    assert "\n" in vocab and " " in vocab and not any(c.isupper() for c in vocab)
    assert t.meta["scored_from"] == 0 and t.meta["text_length"] == len(text)
    for X, y in splits(t):
        assert torch.equal(X[:, 1:], y[:, :-1])  # the target at i is the input at i + 1
        assert int((y == IGNORE_INDEX).sum()) == 0
    for X, y, starts in ((t.X_train, t.y_train, t.meta["starts_train"]), (t.X_test, t.y_test, t.meta["starts_test"])):
        for xr, yr, s in zip(X, y, starts, strict=True):
            window = text[s: s + 25]
            assert decode(t, xr) == window[:-1] and decode(t, yr) == window[1:]


def test_chars_train_from_first_90_percent_test_from_last_10():
    t = make_task("chars", {"T": 32, "n_train": 3000, "n_test": 800}, seed=0)
    n, split_at = t.meta["text_length"], t.meta["split_at"]
    assert split_at == int(0.9 * n)
    tr, te = t.meta["starts_train"], t.meta["starts_test"]
    assert tr.min() >= 0 and tr.max() + 33 <= split_at  # a whole train window (T + 1 chars) ends before the cut
    assert te.min() >= split_at and te.max() + 33 <= n
    assert tr.max() > 0.8 * split_at and te.min() < split_at + 0.2 * (n - split_at)  # spread over each part


def test_chars_cased_text_and_round_trip():
    t = make_task("chars", {"lowercase": False, "T": 64, "n_train": 20, "n_test": 10})
    text = load_text(False)
    assert t.meta["vocab"] == sorted(set(text)) and "A" in t.meta["vocab"]
    assert t.vocab_size > make_task("chars", {"T": 64, "n_train": 20, "n_test": 10}).vocab_size
    ids = [t.meta["vocab"].index(c) for c in text[:500]]
    assert decode(t, ids) == text[:500] and decode(t, np.array(ids)) == text[:500]


def test_ascii_text_maps_everything_else_away():
    assert sequence.ascii_text("\u201cOh!\u201d\r\nshe said \u2014 caf\u00e9\r") == '"Oh!"\nshe said -- caf\n'


# --------------------------------------------------------------------------------------------------- decode and errors


def test_decode_joins_names_and_marks_ignored():
    t = make_task("sort", {"n_symbols": 12, "L": 3, "n_train": 10, "n_test": 10})
    assert decode(t, [10, 2, 12, 0, 2, 10]) == "10 2 | 0 2 10"
    assert decode(t, torch.tensor([IGNORE_INDEX, IGNORE_INDEX, 3]), ignored="_") == "_ _ 3"
    assert decode(t, torch.tensor([IGNORE_INDEX, 3])) == "3"
    with pytest.raises(ValueError, match="token 13 is outside the vocabulary of sort"):
        decode(t, [13])
    with pytest.raises(ValueError, match="1-D"):
        decode(t, t.X_train[:2])


@pytest.mark.parametrize(("name", "params", "key"), [
    ("sort", {"L": 1}, "task.L"),
    ("reverse", {"n_symbols": 100}, "task.n_symbols"),
    ("copy", {"bogus": 1}, "task.bogus"),
    ("running-sum", {"M": 1}, "task.M"),
    ("chars", {"T": 2}, "task.T"),
    ("chars", {"n_test": 0}, "task.n_test"),
])
def test_bad_parameters_name_the_key(name, params, key):
    with pytest.raises(SchemaError) as err:
        make_task(name, params)
    assert err.value.key == key and str(err.value).startswith(key + ": ")
