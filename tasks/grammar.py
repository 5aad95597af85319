"""The Reber grammar (Reber 1967): is a string of B T S X P V E grammatical?

The classic 7-symbol finite-state grammar of the recurrent-network literature (Cleeremans, Servan-
Schreiber & McClelland 1989; Hochreiter & Schmidhuber 1997), and its embedded variant
B T <reber> T E / B P <reber> P E, whose second and second-to-last symbols must agree across the
whole inner string. Positives are distinct grammatical strings; negatives are grammatical strings
with one symbol substituted, inserted or deleted that the automaton rejects. X holds int64 tokens
(N, max_len) left-padded with PAD = 0, so the last position is the end of every string; y is 1 for
grammatical, 0 for not.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from pydantic import Field, ValidationInfo, field_validator

from netarium.schema import Params
from netarium.tasks.base import TASKS, Task

SYMBOLS = "BTSXPVE"
PAD = 0
VOCAB = ["·", *SYMBOLS]  # token id 0 is the padding, symbol c is 1 + SYMBOLS.index(c)
TOKEN = {c: i + 1 for i, c in enumerate(SYMBOLS)}
CLASS_NAMES = ["ungrammatical", "grammatical"]
CORRUPTIONS = ("substitute", "insert", "delete")
PAST = {"substitute": "substituted", "insert": "inserted", "delete": "deleted"}
MAX_LEN_LIMIT = 64  # the longest strings the tables count
MIN_LEN = {False: 5, True: 9}  # the shortest string: BTXSE / BPVVE, and B T BTXSE T E

# The Reber automaton: state -> (symbol, next state) in a fixed order. 0 reads B, 1 branches on T / P,
# 2 loops on S (upper path), 3 loops on T (lower path), 4 follows X, 5 follows V, 6 reads E, 7 accepts.
REBER_EDGES: dict[int, tuple[tuple[str, int], ...]] = {
    0: (("B", 1),),
    1: (("T", 2), ("P", 3)),
    2: (("S", 2), ("X", 4)),
    3: (("T", 3), ("V", 5)),
    4: (("X", 3), ("S", 6)),
    5: (("P", 4), ("V", 6)),
    6: (("E", 7),),
}
REBER_START, REBER_ACCEPT = 0, 7


@dataclass(frozen=True)
class Automaton:
    """A deterministic finite automaton: `edges[state]` lists (symbol, next state); a string is accepted
    when it leads from `start` to `accept` (which has no outgoing edge). A random walk picks each
    outgoing edge with equal probability."""

    start: int
    accept: int
    edges: dict[int, tuple[tuple[str, int], ...]]

    def accepts(self, string: str) -> bool:
        state = self.start
        for c in string:
            state = next((t for s, t in self.edges.get(state, ()) if s == c), -1)
            if state < 0:
                return False
        return state == self.accept

    @functools.cached_property
    def _tables(self) -> tuple[list[dict[int, int]], list[dict[int, float]]]:
        """ways[r][s]: strings of r symbols leading from s to accept; mass[r][s]: their random-walk probability."""
        states = set(self.edges) | {self.accept}
        ways: list[dict[int, int]] = [{s: int(s == self.accept) for s in states}]
        mass: list[dict[int, float]] = [{s: float(s == self.accept) for s in states}]
        for _ in range(MAX_LEN_LIMIT):
            ways.append({s: sum(ways[-1][t] for _, t in self.edges.get(s, ())) for s in states})
            mass.append({s: sum(mass[-1][t] for _, t in self.edges.get(s, ())) / max(len(self.edges.get(s, ())), 1)
                         for s in states})
        return ways, mass

    def count(self, length: int) -> int:
        """Number of accepted strings of exactly `length` symbols."""
        return self._tables[0][length][self.start]

    def walk_mass(self, length: int) -> float:
        """Probability that a random walk from start ends with a string of exactly `length` symbols."""
        return self._tables[1][length][self.start]

    def unrank(self, length: int, k: int) -> str:
        """The k-th accepted string of `length` symbols (0 <= k < count(length)), edges in their listed order."""
        ways = self._tables[0]
        if not 0 <= k < self.count(length):
            raise ValueError(f"rank {k} out of range for length {length} ({self.count(length)} strings)")
        out, state = [], self.start
        for r in range(length, 0, -1):
            for sym, t in self.edges[state]:
                if k < ways[r - 1][t]:
                    out.append(sym)
                    state = t
                    break
                k -= ways[r - 1][t]
        return "".join(out)



def _embedded_edges() -> dict[int, tuple[tuple[str, int], ...]]:
    """B T <reber> T E | B P <reber> P E as one automaton: two copies of the Reber automaton, one per
    opening symbol, each closing with that symbol and E."""
    edges: dict[int, tuple[tuple[str, int], ...]] = {0: (("B", 1),)}
    n = REBER_ACCEPT + 1
    branches = []
    for i, c in enumerate("TP"):
        off = 2 + i * (n + 2)  # the copy's states: off .. off + n - 1, then "read c", "read E"
        for s, out in REBER_EDGES.items():
            edges[off + s] = tuple((sym, off + t) for sym, t in out)
        close, end = off + n, off + n + 1
        edges[off + REBER_ACCEPT] = ((c, close),)
        edges[close] = (("E", end),)
        branches.append((c, off + REBER_START, end))
    final = 2 + 2 * (n + 2)
    edges[1] = tuple((c, start) for c, start, _ in branches)
    for _, _, end in branches:  # both copies end in one accepting state
        edges = {s: tuple((sym, final if t == end else t) for sym, t in out) for s, out in edges.items()}
    return edges


REBER = Automaton(REBER_START, REBER_ACCEPT, REBER_EDGES)
EMBEDDED_REBER = Automaton(0, 2 + 2 * (REBER_ACCEPT + 3), _embedded_edges())


def automaton(embedded: bool = False) -> Automaton:
    return EMBEDDED_REBER if embedded else REBER


def is_grammatical(string: str | Sequence[str], embedded: bool = False) -> bool:
    """True when the (embedded) Reber grammar generates `string` ("BTSSXSE", or a sequence of symbols)."""
    return automaton(embedded).accepts("".join(string))


def tokens_of(strings: Iterable[str], max_len: int) -> np.ndarray:
    """int64 (N, max_len): each string's symbol tokens, left-padded with PAD."""
    strings = list(strings)
    out = np.full((len(strings), max_len), PAD, dtype=np.int64)
    for i, s in enumerate(strings):
        if len(s) > max_len:
            raise ValueError(f"{s!r} is longer than max_len {max_len}")
        if s:
            out[i, max_len - len(s):] = [TOKEN[c] for c in s]
    return out


def string_of(tokens: Sequence[int] | np.ndarray | torch.Tensor) -> str:
    """The symbols of one row of tokens, padding dropped."""
    values = tokens.tolist() if hasattr(tokens, "tolist") else list(tokens)
    return "".join(VOCAB[int(t)] for t in values if int(t) != PAD)


def sample_grammatical(rng: np.random.Generator, fsa: Automaton, n: int, max_len: int) -> list[str]:
    """n distinct accepted strings of at most max_len symbols (all of them when there are fewer), in
    random order. Same law as drawing random walks of the automaton, dropping repeats and strings
    longer than max_len: a walk's probability depends only on its length for both Reber grammars,
    so each next length is drawn with weight walk_mass(L) * (strings of length L left) / count(L),
    then a string of that length not drawn yet, uniformly."""
    lengths = np.arange(max_len + 1)
    counts = np.array([fsa.count(int(L)) for L in lengths], dtype=np.int64)
    per_string = np.array([fsa.walk_mass(int(L)) / c if c else 0.0 for L, c in zip(lengths, counts, strict=True)])
    n = min(n, int(counts.sum()))
    left = counts.astype(np.float64)
    taken = np.zeros(len(lengths), dtype=np.int64)
    for _ in range(n):
        w = per_string * left
        L = int(np.searchsorted(np.cumsum(w), rng.random() * w.sum(), side="right"))
        L = min(L, len(w) - 1)
        while left[L] == 0:  # float round-off at the edge of the cumulative sum
            L -= 1
        left[L] -= 1
        taken[L] += 1
    strings = [fsa.unrank(int(L), int(k)) for L in lengths if taken[L]
               for k in rng.choice(int(counts[L]), int(taken[L]), replace=False)]
    return [strings[i] for i in rng.permutation(len(strings))]


def corrupt(rng: np.random.Generator, string: str) -> tuple[str, str]:
    """One random edit of `string` and its name: substitute a symbol by another, insert a symbol, or
    delete one (each equally likely; positions and symbols uniform)."""
    how = CORRUPTIONS[int(rng.integers(len(CORRUPTIONS)))]
    if how == "substitute":
        i = int(rng.integers(len(string)))
        others = [c for c in SYMBOLS if c != string[i]]
        return string[:i] + others[int(rng.integers(len(others)))] + string[i + 1:], how
    if how == "insert":
        i = int(rng.integers(len(string) + 1))
        return string[:i] + SYMBOLS[int(rng.integers(len(SYMBOLS)))] + string[i:], how
    i = int(rng.integers(len(string)))
    return string[:i] + string[i + 1:], how


def sample_ungrammatical(rng: np.random.Generator, fsa: Automaton, sources: Sequence[str], n: int, max_len: int,
                         exclude: set[str] | None = None) -> list[tuple[str, str]]:
    """n distinct (string, corruption) pairs: one-edit corruptions of random `sources` that the automaton
    rejects, non-empty, at most max_len long and not in `exclude`. Raises ValueError when they run out."""
    seen = set(exclude or ())
    out: list[tuple[str, str]] = []
    attempts, budget = 0, 100 * n + 1000
    while len(out) < n:
        attempts += 1
        if attempts > budget:
            raise ValueError(f"found only {len(out)} of {n} distinct ungrammatical strings of at most {max_len} symbols")
        s, how = corrupt(rng, sources[int(rng.integers(len(sources)))])
        if s and len(s) <= max_len and s not in seen and not fsa.accepts(s):
            seen.add(s)
            out.append((s, how))
    return out


class ReberParams(Params):
    n_train: int = Field(1600, ge=10, le=50000, description="Number of training strings, half grammatical (distinct).")
    n_test: int = Field(400, ge=10, le=10000, description="Number of test strings, half grammatical (distinct, none seen in training).")
    embedded: bool = Field(False, description="Embedded Reber grammar: B T <reber> T E or B P <reber> P E (a long-range dependency).")
    max_len: int = Field(20, ge=5, le=MAX_LEN_LIMIT, description="Longest string (longer ones are never drawn); inputs are this many tokens.")

    @field_validator("max_len")
    @classmethod
    def _long_enough(cls, v: int, info: ValidationInfo) -> int:
        if info.data.get("embedded") and v < MIN_LEN[True]:
            raise ValueError(f"max_len ({v}) must be at least {MIN_LEN[True]} for the embedded grammar (B T BTXSE T E)")
        return v


def _split_sizes(available: int, n_train: int, n_test: int) -> tuple[int, int, int, int]:
    """(grammatical train, ungrammatical train, grammatical test, ungrammatical test): half of each split
    grammatical (the odd one grammatical); with fewer grammatical strings than that, all of them, split
    in the ratio n_train : n_test, with as many ungrammatical ones."""
    pos_tr, pos_te = (n_train + 1) // 2, (n_test + 1) // 2
    if available >= pos_tr + pos_te:
        return pos_tr, n_train - pos_tr, pos_te, n_test - pos_te
    pos_tr = min(max(round(available * n_train / (n_train + n_test)), 1), available - 1)
    pos_te = available - pos_tr
    return pos_tr, pos_tr, pos_te, pos_te


@TASKS.register("reber", ReberParams, "Reber grammar (1967): is a string of B T S X P V E grammatical?",
                tags=("classification", "sequence", "grammar", "tokens"))
def make_reber(p: ReberParams, seed: int) -> Task:
    """Grammatical strings (label 1) and one-edit corruptions the automaton rejects (label 0), balanced
    in each split; no string repeats, within or across splits."""
    rng = np.random.default_rng(seed)
    fsa = automaton(p.embedded)
    want = (p.n_train + 1) // 2 + (p.n_test + 1) // 2
    positives = sample_grammatical(rng, fsa, want, p.max_len)
    pos_tr, neg_tr, pos_te, neg_te = _split_sizes(len(positives), p.n_train, p.n_test)
    negatives = sample_ungrammatical(rng, fsa, positives, neg_tr + neg_te, p.max_len)
    splits = []
    for pos, neg in ((positives[:pos_tr], negatives[:neg_tr]),
                     (positives[pos_tr:pos_tr + pos_te], negatives[neg_tr:neg_tr + neg_te])):
        strings = [*pos, *(s for s, _ in neg)]
        labels = np.array([1] * len(pos) + [0] * len(neg), dtype=np.int64)
        how = [""] * len(pos) + [h for _, h in neg]
        order = rng.permutation(len(strings))
        splits.append(([strings[i] for i in order], labels[order], [how[i] for i in order]))
    (s_tr, y_tr, h_tr), (s_te, y_te, h_te) = splits
    as_long = functools.partial(torch.as_tensor, dtype=torch.int64)
    grammar = "embedded Reber" if p.embedded else "Reber"
    return Task(
        name="reber", kind="classification",
        X_train=as_long(tokens_of(s_tr, p.max_len)), y_train=as_long(y_tr),
        X_test=as_long(tokens_of(s_te, p.max_len)), y_test=as_long(y_te),
        n_classes=2, vocab_size=len(VOCAB), input_names=[f"t{i}" for i in range(p.max_len)],
        meta={
            "vocab": VOCAB, "joiner": "", "pad": PAD, "symbols": SYMBOLS, "class_names": CLASS_NAMES,
            "embedded": p.embedded, "max_len": p.max_len,
            "n_grammatical": sum(fsa.count(L) for L in range(p.max_len + 1)),
            "strings_train": s_tr, "strings_test": s_te, "corruption_train": h_tr, "corruption_test": h_te,
            "description": f"{positives[0]} is {grammar}; {negatives[0][0]} is not (one symbol {PAST[negatives[0][1]]})",
        },
    )
