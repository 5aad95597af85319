"""Sequence tasks for small causal transformers: sort, reverse, copy, running sums, and characters.

Every task predicts a token at every position: X is int64 (N, T) tokens, y int64 (N, T) the token to
output after reading X[:, :i + 1], with IGNORE_INDEX (-100) where a position is not scored.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from pydantic import Field

from netarium.schema import Params
from netarium.tasks.base import TASKS, Task

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable  # Python 3.11+

IGNORE_INDEX = -100  # targets the loss skips (cross_entropy's ignore_index)
SEQUENCE_TAGS = ("sequence", "algorithmic", "tokens")  # "tokens": X holds integer tokens
TEXT_FILE = "alice.txt"
ENUMERATE_FACTOR = 4  # enumerate the whole input space when it is at most this many times the samples needed


def decode(task: Task, tokens: Sequence[int] | np.ndarray | torch.Tensor, ignored: str = "") -> str:
    """The vocab names of a 1-D run of token ids, joined by meta["joiner"]; IGNORE_INDEX shows as `ignored`."""
    if np.ndim(tokens) != 1:
        raise ValueError(f"decode takes a 1-D run of token ids, got {np.ndim(tokens)} dimensions")
    vocab: list[str] = task.meta["vocab"]
    names = []
    for t in (int(v) for v in (tokens.tolist() if hasattr(tokens, "tolist") else tokens)):
        if t == IGNORE_INDEX:
            names.append(ignored)
        elif 0 <= t < len(vocab):
            names.append(vocab[t])
        else:
            raise ValueError(f"token {t} is outside the vocabulary of {task.name} (0 to {len(vocab) - 1})")
    return str(task.meta.get("joiner", "")).join(n for n in names if n)


def symbol_names(n: int) -> list[str]:
    """Printable names of symbol ids 0..n-1: their decimal digits."""
    return [str(i) for i in range(n)]


def digits_of(codes: np.ndarray, base: int, length: int) -> np.ndarray:
    """int64 (len(codes), length): the base-`base` digits of each code, most significant first."""
    powers = base ** np.arange(length - 1, -1, -1, dtype=np.int64)
    return (codes[:, None] // powers[None, :]) % base


def first_occurrences(rows: np.ndarray) -> np.ndarray:
    """The distinct rows of a 2-D array, each at its first occurrence, in their original order."""
    _, idx = np.unique(rows, axis=0, return_index=True)
    return rows[np.sort(idx)]


def distinct_sequences(rng: np.random.Generator, n_symbols: int, length: int, n_train: int,
                       n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test int64 (n, length) arrays over [0, n_symbols): no row repeats, within or across splits.

    When the space n_symbols^length holds fewer than n_train + n_test sequences, all of it is used and
    split in the ratio n_train : n_test (both non-empty).
    """
    total, space = n_train + n_test, n_symbols**length
    if space <= ENUMERATE_FACTOR * total:
        rows = digits_of(rng.permutation(space)[:total].astype(np.int64), n_symbols, length)
        n_tr = n_train if space >= total else min(max(round(space * n_train / total), 1), space - 1)
        return rows[:n_tr], rows[n_tr:]
    rows = first_occurrences(rng.integers(0, n_symbols, (total, length)))
    while len(rows) < total:
        extra = rng.integers(0, n_symbols, (2 * (total - len(rows)), length))
        rows = first_occurrences(np.concatenate([rows, extra]))
    return rows[:n_train], rows[n_train:total]


def seq2seq_arrays(x: np.ndarray, out: np.ndarray, sep: int) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) for `x SEP out`: X the sequence minus its last token, y the next token where it is an output, else -100."""
    n, length = x.shape
    full = np.concatenate([x, np.full((n, 1), sep, np.int64), out], axis=1)
    X, y = full[:, :-1].copy(), full[:, 1:].copy()
    y[:, :length] = IGNORE_INDEX  # positions 0..L-1 would predict x_2..x_L and SEP: not scored
    return X, y


def sequence_task(name: str, Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray,
                  vocab: list[str], meta: dict[str, Any]) -> Task:
    """A kind="sequence" Task with n_classes = vocab_size = len(vocab) and inputs named t0..t{T-1}."""
    as_long = functools.partial(torch.as_tensor, dtype=torch.int64)
    return Task(
        name=name, kind="sequence", X_train=as_long(Xtr), y_train=as_long(ytr), X_test=as_long(Xte),
        y_test=as_long(yte), n_classes=len(vocab), vocab_size=len(vocab),
        input_names=[f"t{i}" for i in range(Xtr.shape[1])], meta={"vocab": vocab, **meta},
    )


# ---------------------------------------------------------------------------------------------------
# sort, reverse, copy: x_1..x_L SEP y_1..y_L


class Seq2SeqParams(Params):
    n_symbols: int = Field(10, ge=2, le=64, description="Number of distinct values a symbol can take (the vocab without SEP).")
    L: int = Field(6, ge=2, le=16, description="Length L of the input (and of the output): sequences are 2L tokens.")
    n_train: int = Field(5000, ge=10, le=50000, description="Number of training sequences (distinct).")
    n_test: int = Field(1000, ge=10, le=10000, description="Number of test sequences (distinct, none seen in training).")


def make_seq2seq(name: str, transform: Callable[[np.ndarray], np.ndarray], what: str,
                 p: Seq2SeqParams, seed: int) -> Task:
    """x SEP transform(x): scored from position L (the SEP) on, where the model emits y_1..y_L."""
    rng = np.random.default_rng(seed)
    sep = p.n_symbols
    vocab = [*symbol_names(p.n_symbols), "|"]
    xtr, xte = distinct_sequences(rng, p.n_symbols, p.L, p.n_train, p.n_test)
    Xtr, ytr = seq2seq_arrays(xtr, transform(xtr), sep)
    Xte, yte = seq2seq_arrays(xte, transform(xte), sep)
    example = " ".join(vocab[t] for t in (*xtr[0], sep, *transform(xtr[:1])[0]))
    return sequence_task(name, Xtr, ytr, Xte, yte, vocab, {
        "scored_from": p.L, "sep": sep, "L": p.L, "joiner": " ",
        "description": f"{example}: {what} after the separator",
    })


@TASKS.register("sort", Seq2SeqParams, "Sort L symbols: x_1..x_L | x sorted ascending.",
                tags=SEQUENCE_TAGS)
def make_sort(p: Seq2SeqParams, seed: int) -> Task:
    """x_1..x_L SEP sorted(x); the model must emit the sorted copy after reading the separator."""
    return make_seq2seq("sort", lambda x: np.sort(x, axis=1), "the sorted copy", p, seed)


@TASKS.register("reverse", Seq2SeqParams, "Reverse L symbols: x_1..x_L | x_L..x_1.", tags=SEQUENCE_TAGS)
def make_reverse(p: Seq2SeqParams, seed: int) -> Task:
    """x_1..x_L SEP x_L..x_1."""
    return make_seq2seq("reverse", lambda x: x[:, ::-1], "the reversed copy", p, seed)


@TASKS.register("copy", Seq2SeqParams, "Copy L symbols: x_1..x_L | x_1..x_L.", tags=SEQUENCE_TAGS)
def make_copy(p: Seq2SeqParams, seed: int) -> Task:
    """x_1..x_L SEP x_1..x_L."""
    return make_seq2seq("copy", lambda x: x.copy(), "an exact copy", p, seed)


# ---------------------------------------------------------------------------------------------------
# running sum mod M


class RunningSumParams(Params):
    M: int = Field(10, ge=2, le=64, description="Modulus M: inputs and sums are in [0, M).")
    L: int = Field(8, ge=2, le=32, description="Sequence length L.")
    n_train: int = Field(5000, ge=10, le=50000, description="Number of training sequences (distinct).")
    n_test: int = Field(1000, ge=10, le=10000, description="Number of test sequences (distinct, none seen in training).")


@TASKS.register("running-sum", RunningSumParams, "Prefix sums mod M: at each position, (x_1 + ... + x_i) mod M.",
                tags=SEQUENCE_TAGS)
def make_running_sum(p: RunningSumParams, seed: int) -> Task:
    """X = x_1..x_L in [0, M), y_i = (x_1 + ... + x_i) mod M; every position scored."""
    rng = np.random.default_rng(seed)
    xtr, xte = distinct_sequences(rng, p.M, p.L, p.n_train, p.n_test)
    ytr, yte = np.cumsum(xtr, axis=1) % p.M, np.cumsum(xte, axis=1) % p.M
    vocab = symbol_names(p.M)
    example = " ".join(vocab[t] for t in xtr[0]) + " -> " + " ".join(vocab[t] for t in ytr[0])
    return sequence_task("running-sum", xtr, ytr, xte, yte, vocab, {
        "scored_from": 0, "L": p.L, "modulus": p.M, "joiner": " ",
        "description": f"{example}: the running sum mod {p.M} at every position",
    })


# ---------------------------------------------------------------------------------------------------
# characters of a public-domain text


def ascii_text(text: str) -> str:
    """The text with Unix newlines, typographic quotes and dashes made ASCII, and any other non-ASCII dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for a, b in (("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u2014", "--"), ("\u2013", "-")):
        text = text.replace(a, b)
    return text.encode("ascii", "ignore").decode("ascii")


def text_path() -> Traversable:
    """Where the shipped text lies inside the installed package (netarium/tasks/data/)."""
    return resources.files("netarium.tasks").joinpath("data", TEXT_FILE)


@functools.lru_cache(maxsize=2)
def load_text(lowercase: bool) -> str:
    """The shipped text, ASCII only, newlines kept, lowercased when asked; read once."""
    text = ascii_text(text_path().read_text(encoding="utf-8"))
    return text.lower() if lowercase else text


class CharsParams(Params):
    T: int = Field(32, ge=4, le=256, description="Context length T: tokens per input window.")
    n_train: int = Field(2000, ge=10, le=50000, description="Number of training windows (from the first 90% of the text).")
    n_test: int = Field(500, ge=10, le=10000, description="Number of test windows (from the last 10% of the text).")
    lowercase: bool = Field(True, description="Lowercase the text first (a smaller vocabulary).")


TRAIN_PART = 0.9


@TASKS.register("chars", CharsParams, "Character-level language model on Alice's Adventures in Wonderland, ch. I-III.",
                tags=("sequence", "text", "tokens"))
def make_chars(p: CharsParams, seed: int) -> Task:
    """Next character at every position of T-character windows.

    Source: Lewis Carroll, "Alice's Adventures in Wonderland" (1865), chapters I-III; public domain.
    Windows of T + 1 characters start at random in the first 90% (train) or lie in the last 10% (test);
    X = window[:-1], y = window[1:].
    """
    rng = np.random.default_rng(seed)
    text = load_text(p.lowercase)
    vocab = sorted(set(text))
    ids = np.searchsorted(np.array([ord(c) for c in vocab]), np.array([ord(c) for c in text])).astype(np.int64)
    split_at, width = int(len(text) * TRAIN_PART), p.T + 1
    starts_tr = rng.integers(0, split_at - width + 1, p.n_train)
    starts_te = rng.integers(split_at, len(text) - width + 1, p.n_test)
    win_tr, win_te = ids[starts_tr[:, None] + np.arange(width)], ids[starts_te[:, None] + np.arange(width)]
    first = text[starts_tr[0]: starts_tr[0] + width]
    return sequence_task("chars", win_tr[:, :-1], win_tr[:, 1:], win_te[:, :-1], win_te[:, 1:], vocab, {
        "scored_from": 0, "joiner": "", "split_at": split_at, "text_length": len(text),
        "starts_train": starts_tr, "starts_test": starts_te, "source": "Lewis Carroll, Alice's Adventures in Wonderland (1865)",
        "description": f"{first[:-1]!r} -> {first[1:]!r}: the next character at every position",
    })
