"""The Reber grammar task: the automaton, its counts, and the generated strings, labels and splits."""

import itertools

import numpy as np
import pytest
import torch

from netarium.schema import SchemaError
from netarium.tasks import TASKS, make_task
from netarium.tasks.grammar import (
    EMBEDDED_REBER,
    PAD,
    REBER,
    SYMBOLS,
    VOCAB,
    is_grammatical,
    string_of,
    tokens_of,
)
from netarium.tasks.sequence import decode

# Traced by hand through B -> {T: upper, P: lower}; upper: S loop, X; lower: T loop, V; after X: X to
# the lower loop or S to the end; after V: P to "after X" or V to the end; then E.
GRAMMATICAL = ["BTXSE", "BPVVE", "BTSSXSE", "BTXXVVE", "BPVPSE", "BTSXXTVVE", "BPTTVPXVVE", "BTXXVPSE",
               "BPVPXVPXVPXVVE", "BTSSXXTVVE"]
UNGRAMMATICAL = ["", "B", "E", "BTXS", "TXSE", "BTXSEE", "BTSSPXSE", "BTXXE", "BPVSE", "BTVVE", "BPXSE",
                 "BTSSXSEX", "BPTVEE", "XBTXSE"]
EMBEDDED_OK = ["BTBTXSETE", "BPBPVVEPE", "BTBTSSXSETE", "BPBPVPXVVEPE"]
EMBEDDED_BAD = ["BTBTXSEPE", "BPBPVVETE", "BTXSE", "BTBTXSTE", "BTTXSETE", "BBTXSETE"]


def strings(X: torch.Tensor) -> list[str]:
    return [string_of(row) for row in X]


def test_hand_written_strings_are_accepted_or_rejected():
    assert all(is_grammatical(s) for s in GRAMMATICAL)
    assert not any(is_grammatical(s) for s in UNGRAMMATICAL)
    assert is_grammatical(list("BTSSXSE"))  # a sequence of symbols works too
    assert all(is_grammatical(s, embedded=True) for s in EMBEDDED_OK)
    assert not any(is_grammatical(s, embedded=True) for s in EMBEDDED_BAD)
    assert not any(is_grammatical(s, embedded=True) for s in GRAMMATICAL)  # a bare Reber string is not embedded


def test_counts_and_unranking_match_brute_force():
    for L in range(5, 8):  # every B ... E string of length L
        brute = {"B" + "".join(mid) + "E" for mid in itertools.product(SYMBOLS, repeat=L - 2)}
        accepted = {s for s in brute if is_grammatical(s)}
        assert REBER.count(L) == len(accepted)
        assert {REBER.unrank(L, k) for k in range(REBER.count(L))} == accepted
    assert [REBER.count(L) for L in range(0, 9)] == [0, 0, 0, 0, 0, 2, 3, 4, 7]
    # embedded: B c <reber> c E, c in {T, P}: twice the Reber strings 4 symbols shorter
    assert [EMBEDDED_REBER.count(L) for L in range(9, 14)] == [2 * REBER.count(L - 4) for L in range(9, 14)] == [4, 6, 8, 14, 22]
    assert all(is_grammatical(EMBEDDED_REBER.unrank(12, k), embedded=True) for k in range(EMBEDDED_REBER.count(12)))
    # a random walk picks each of two edges with probability 1/2: length L has mass count(L) / 2^(L - 2)
    assert REBER.walk_mass(7) == pytest.approx(4 / 2**5)
    assert sum(REBER.walk_mass(L) for L in range(65)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="out of range"):
        REBER.unrank(5, 2)


def test_tokens_are_left_padded_and_round_trip():
    X = tokens_of(["BTXSE", "BPVPSE"], 8)
    assert X.dtype == np.int64 and X.tolist() == [[0, 0, 0, 1, 2, 4, 3, 7], [0, 0, 1, 5, 6, 5, 3, 7]]
    assert [string_of(r) for r in X] == ["BTXSE", "BPVPSE"]
    with pytest.raises(ValueError, match="longer"):
        tokens_of(["BTSSSXSE"], 7)


def check_split(X: torch.Tensor, y: torch.Tensor, max_len: int, embedded: bool) -> list[str]:
    rows = strings(X)
    assert X.dtype == torch.int64 and X.shape == (len(y), max_len) and y.dtype == torch.int64
    assert abs(int((y == 1).sum()) - int((y == 0).sum())) <= 1  # balanced within one sample
    assert all(is_grammatical(s, embedded) for s, label in zip(rows, y.tolist(), strict=True) if label == 1)
    assert not any(is_grammatical(s, embedded) for s, label in zip(rows, y.tolist(), strict=True) if label == 0)
    assert bool((X[:, -1] != PAD).all())  # every string ends at the last position
    nonpad = (X != PAD).to(torch.int64)
    assert torch.equal(nonpad.cummax(1).values, nonpad)  # padding only on the left
    assert torch.equal(nonpad.sum(1), torch.tensor([len(s) for s in rows]))
    assert len(set(rows)) == len(rows)  # no string repeats
    return rows


@pytest.mark.parametrize("embedded", [False, True])
def test_generated_strings_labels_padding_and_disjoint_splits(embedded):
    t = make_task("reber", {"n_train": 301, "n_test": 120, "embedded": embedded, "max_len": 18}, seed=5)
    assert t.kind == "classification" and t.n_classes == 2 and t.vocab_size == len(VOCAB) == 8
    assert len(t.y_train) == 301 and len(t.y_test) == 120 and int(t.y_train.sum()) == 151
    train = check_split(t.X_train, t.y_train, 18, embedded)
    test = check_split(t.X_test, t.y_test, 18, embedded)
    assert not set(train) & set(test)
    assert train == t.meta["strings_train"] and test == t.meta["strings_test"]
    assert decode(t, t.X_train[0]).lstrip("·") == train[0] and t.meta["vocab"][PAD] == "·"
    negatives = [h for h, label in zip(t.meta["corruption_train"], t.y_train.tolist(), strict=True) if label == 0]
    assert set(negatives) == {"substitute", "insert", "delete"}
    assert t.input_names == [f"t{i}" for i in range(18)]


def test_deterministic_by_seed():
    a, b, c = (make_task("reber", {"n_train": 200, "n_test": 50}, seed=s) for s in (3, 3, 4))
    for key in ("X_train", "y_train", "X_test", "y_test"):
        assert torch.equal(getattr(a, key), getattr(b, key))
    assert not torch.equal(a.X_train, c.X_train)


def test_a_small_language_is_used_whole_and_split_in_ratio():
    # max_len 6: BTXSE, BPVVE, BTSXSE, BPTVVE, BPVPSE are the only grammatical strings
    t = make_task("reber", {"n_train": 30, "n_test": 10, "max_len": 6}, seed=0)
    train, test = check_split(t.X_train, t.y_train, 6, False), check_split(t.X_test, t.y_test, 6, False)
    grammatical = {s for s, label in zip(train + test, [*t.y_train.tolist(), *t.y_test.tolist()], strict=True) if label}
    assert grammatical == {"BTXSE", "BPVVE", "BTSXSE", "BPTVVE", "BPVPSE"} and t.meta["n_grammatical"] == 5
    assert (len(t.y_train), len(t.y_test)) == (8, 2)  # 4 + 1 grammatical strings (ratio 3 : 1), as many not
    assert not set(train) & set(test)


def test_registered_with_help_and_validated():
    entry = TASKS.get("reber")
    assert {"classification", "sequence"} <= entry.tags and entry.description
    assert all(info.description for info in entry.schema.model_fields.values())
    assert entry.schema().model_dump() == {"n_train": 1600, "n_test": 400, "embedded": False, "max_len": 20}
    with pytest.raises(SchemaError) as err:
        make_task("reber", {"embedded": True, "max_len": 8})
    assert err.value.key == "task.max_len"
    with pytest.raises(SchemaError):
        make_task("reber", {"max_len": 4})
