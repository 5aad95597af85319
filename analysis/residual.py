"""The residual stream of a model with declared blocks: how much each layer writes, what skipping or
dropping a layer does to later layers and to the output, and what the stream says at every depth.

Works on the taps of DESIGN.md: `{b}.resid_pre`, `{b}.attn_out`, `{b}.resid_mid`, `{b}.mlp_out`,
`{b}.resid_post`, `{b}.attn.pattern`, for every b of `model.block_names`, and on
`model.readout_stream(h)`. A sublayer is removed ("skipped", "dropped") by replacing its output tap
with zeros (`tap_hooks`): the block then passes the stream through unchanged. Every function runs the
model in eval mode under no_grad and restores each module's mode afterwards; no gradient is taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from netarium.analysis.common import as_numpy, eval_mode
from netarium.models.taps import tap_hooks, tap_names

IGNORE = -100  # the target of a sequence position that is not scored (as in training)
EPS = 1e-12
SUBLAYERS = ("attn", "mlp")

Kind = Literal["attn", "mlp", "block"]
Order = Literal["least", "most", "random"]


# --- running the model ------------------------------------------------------------------------


def _block_names(model: nn.Module) -> list[str]:
    names = getattr(model, "block_names", None)
    if not names:
        raise ValueError(f"{type(model).__name__} declares no residual blocks (block_names)")
    return list(names)


def _zeroed_taps(blocks: list[str], drop: Mapping[str, Iterable[int]] | None) -> list[str]:
    """The output taps to zero for `drop` ({"attn": {0, 2}, "mlp": {1}}; "block" removes both)."""
    taps: list[str] = []
    for kind, indices in (drop or {}).items():
        if kind not in (*SUBLAYERS, "block"):
            raise ValueError(f"unknown sublayer kind {kind!r}; use 'attn', 'mlp' or 'block'")
        for i in sorted(set(indices)):
            if not 0 <= int(i) < len(blocks):
                raise ValueError(f"block index {i} out of range for {len(blocks)} blocks")
            parts = SUBLAYERS if kind == "block" else (kind,)
            taps += [f"{blocks[int(i)]}.{part}_out" for part in parts]
    return taps


def _forward(
    model: nn.Module, x: torch.Tensor, taps: Iterable[str], zero: Iterable[str] = ()
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """model(x) with the `zero` taps' outputs replaced by zeros; returns the output and the
    activations at `taps` that fired (a tap the model does not have or does not use is absent)."""
    available = set(tap_names(model))
    with tap_hooks(model, read=[t for t in taps if t in available],
                   replace={t: torch.zeros_like for t in zero if t in available}) as acts:
        out = model(x)
    return out.detach(), acts


def _stream_taps(blocks: list[str]) -> list[str]:
    parts = ("resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post")
    return [f"{b}.{p}" for b in blocks for p in parts]


def _positions(t: torch.Tensor) -> torch.Tensor:
    """(batch, d) -> (batch, 1, d); (batch, seq, d) unchanged."""
    return t.unsqueeze(1) if t.dim() == 2 else t


@dataclass(frozen=True)
class _Block:
    """One block's stream (batch, positions, d): h entering, a and m written (None when absent),
    mid = h + a, post leaving."""

    pre: torch.Tensor
    attn: torch.Tensor | None
    mid: torch.Tensor
    mlp: torch.Tensor | None
    post: torch.Tensor


def _block_streams(blocks: list[str], acts: dict[str, torch.Tensor]) -> list[_Block]:
    out = []
    for b in blocks:
        pre = _positions(acts[f"{b}.resid_pre"])
        attn = _positions(acts[f"{b}.attn_out"]) if f"{b}.attn_out" in acts else None
        mid = _positions(acts[f"{b}.resid_mid"]) if f"{b}.resid_mid" in acts else pre
        mlp = _positions(acts[f"{b}.mlp_out"]) if f"{b}.mlp_out" in acts else None
        out.append(_Block(pre, attn, mid, mlp, _positions(acts[f"{b}.resid_post"])))
    return out


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """|num| / |den| over features, (batch, positions)."""
    return num.norm(dim=-1) / den.norm(dim=-1).clamp_min(EPS)


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """cos(a, b) over features, (batch, positions); 0 where either vector is zero."""
    return F.cosine_similarity(a, b, dim=-1)


def _class_logits(z: torch.Tensor) -> torch.Tensor:
    """Logits over classes; a single (binary, sigmoid) output z becomes [0, z], so softmax gives
    [1 - sigmoid z, sigmoid z] and argmax means z > 0, as the training code scores it."""
    return torch.cat([torch.zeros_like(z), z], dim=-1) if z.shape[-1] == 1 else z


def _scored(z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, classes) logits and (rows,) targets of the scored outputs: every sample of a
    classification, the positions with y != -100 of a sequence."""
    z = _class_logits(z)
    y = y.to(z.device)
    if z.dim() == 3:
        keep = y != IGNORE
        return z[keep], y[keep]
    return z, y


def _accuracy(z: torch.Tensor, y: torch.Tensor) -> float:
    logits, targets = _scored(z, y)
    if targets.numel() == 0:
        return float("nan")
    return float((logits.argmax(-1) == targets).double().mean())


# --- relative contributions (Csordás et al. 2025) ---------------------------------------------


@dataclass(frozen=True)
class Contributions:
    """How much each block writes into the stream relative to what is there, per token position.

    Arrays are (L blocks, P positions), P = 1 for a model without a sequence axis; NaN for a
    sublayer the model does not have (attention of a residual MLP, MLP of an attention-only net).
    """

    blocks: list[str]
    attn_rel: np.ndarray  # |a_l| / |h_l|
    mlp_rel: np.ndarray  # |m_l| / |h_l + a_l|
    block_rel: np.ndarray  # |h_{l+1} - h_l| / |h_l|
    attn_cos: np.ndarray  # cos(a_l, h_l)
    mlp_cos: np.ndarray  # cos(m_l, h_l + a_l)
    block_cos: np.ndarray  # cos(h_{l+1} - h_l, h_l)

    def mean_over_positions(self, name: str) -> np.ndarray:
        """One of the (L, P) arrays averaged over positions: (L,)."""
        if name not in ("attn_rel", "mlp_rel", "block_rel", "attn_cos", "mlp_cos", "block_cos"):
            raise ValueError(f"unknown contribution {name!r}")
        return np.asarray(getattr(self, name)).mean(axis=1)


def contributions(model: nn.Module, x: torch.Tensor) -> Contributions:
    """Per layer l and position, averaged over the batch: |a_l|/|h_l|, |m_l|/|h_l + a_l|,
    |h_{l+1} - h_l|/|h_l| and the cosines of the same pairs (negative erases, ~0 writes new,
    positive amplifies); h_{l+1} = h_l + a_l + m_l, norms over features.
    Csordás, Manning, Potts (2025), "Do language models use their depth efficiently?"."""
    blocks = _block_names(model)
    with eval_mode(model), torch.no_grad():
        _, acts = _forward(model, x, _stream_taps(blocks))
    streams = _block_streams(blocks, acts)
    n_pos = streams[0].pre.shape[1]
    nan = np.full(n_pos, np.nan)
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("attn_rel", "mlp_rel", "block_rel", "attn_cos", "mlp_cos", "block_cos")}
    for s in streams:
        delta = s.post - s.pre
        rows["attn_rel"].append(as_numpy(_ratio(s.attn, s.pre).mean(0)) if s.attn is not None else nan)
        rows["attn_cos"].append(as_numpy(_cos(s.attn, s.pre).mean(0)) if s.attn is not None else nan)
        rows["mlp_rel"].append(as_numpy(_ratio(s.mlp, s.mid).mean(0)) if s.mlp is not None else nan)
        rows["mlp_cos"].append(as_numpy(_cos(s.mlp, s.mid).mean(0)) if s.mlp is not None else nan)
        rows["block_rel"].append(as_numpy(_ratio(delta, s.pre).mean(0)))
        rows["block_cos"].append(as_numpy(_cos(delta, s.pre).mean(0)))
    return Contributions(blocks=blocks, **{k: np.stack(v) for k, v in rows.items()})


# --- skipping a layer (Csordás et al. 2025) ---------------------------------------------------


@dataclass(frozen=True)
class SkipEffect:
    """matrix[s, l]: relative change of layer l's contribution when layer s is the identity (NaN for
    l <= s); output_change[s], output_kl[s]: what skipping s does to the logits."""

    blocks: list[str]
    matrix: np.ndarray  # (L, L)
    output_change: np.ndarray  # (L,) mean ||z_skip - z|| / ||z||
    output_kl: np.ndarray  # (L,) mean KL(softmax z || softmax z_skip)


def skip_effect(model: nn.Module, x: torch.Tensor) -> SkipEffect:
    """Replace layer s by the identity (zero its attention and MLP outputs) and measure, for every
    later layer l, ||c_l(skip s) - c_l|| / ||c_l|| with c_l = h_{l+1} - h_l its contribution (the
    norms averaged over batch and positions before the ratio), and the change of the output.
    Csordás, Manning, Potts (2025), "Do language models use their depth efficiently?"."""
    blocks = _block_names(model)
    taps = [f"{b}.{p}" for b in blocks for p in ("resid_pre", "resid_post")]
    n = len(blocks)
    matrix = np.full((n, n), np.nan)
    change, kl = np.zeros(n), np.zeros(n)
    with eval_mode(model), torch.no_grad():
        z, acts = _forward(model, x, taps)
        base = [_positions(acts[f"{b}.resid_post"] - acts[f"{b}.resid_pre"]) for b in blocks]
        size = [float(d.norm(dim=-1).mean()) for d in base]
        z = _class_logits(z).flatten(0, -2)
        for s in range(n):
            z_skip, acts_s = _forward(model, x, taps, _zeroed_taps(blocks, {"block": {s}}))
            for later in range(s + 1, n):
                delta = _positions(acts_s[f"{blocks[later]}.resid_post"] - acts_s[f"{blocks[later]}.resid_pre"])
                matrix[s, later] = float((delta - base[later]).norm(dim=-1).mean()) / max(size[later], EPS)
            z_skip = _class_logits(z_skip).flatten(0, -2)
            change[s] = float(_ratio(z_skip - z, z).double().mean())
            p_log, q_log = z.log_softmax(-1), z_skip.log_softmax(-1)
            kl[s] = float((p_log.exp() * (p_log - q_log)).sum(-1).double().mean())
    return SkipEffect(blocks=blocks, matrix=matrix, output_change=change, output_kl=kl)


# --- importance and dropping (He et al. 2024) -------------------------------------------------


@dataclass(frozen=True)
class Importance:
    """1 - cos(input, output) of each sublayer's residual update, (L,) each; NaN where absent."""

    blocks: list[str]
    attn: np.ndarray
    mlp: np.ndarray
    block: np.ndarray


def importance(model: nn.Module, x: torch.Tensor, drop: Mapping[str, Iterable[int]] | None = None) -> Importance:
    """I = 1 - E[cos(X, Y)] with X the stream entering a sublayer and Y = X + its output:
    attention h_l -> h_l + a_l, MLP h_l + a_l -> h_{l+1}, block h_l -> h_{l+1}; averaged over batch and
    positions, with the sublayers in `drop` removed (a removed one scores 0).
    He, Sun, Shen, Li (2024), "What matters in transformers? Not all attention is needed"."""
    blocks = _block_names(model)
    with eval_mode(model), torch.no_grad():
        _, acts = _forward(model, x, _stream_taps(blocks), _zeroed_taps(blocks, drop))
    streams = _block_streams(blocks, acts)

    def score(a: torch.Tensor, b: torch.Tensor) -> float:
        return 1.0 - float(_cos(a, b).double().mean())

    attn = np.array([score(s.pre, s.mid) if s.attn is not None else np.nan for s in streams])
    mlp = np.array([score(s.mid, s.post) if s.mlp is not None else np.nan for s in streams])
    block = np.array([score(s.pre, s.post) for s in streams])
    return Importance(blocks=blocks, attn=attn, mlp=mlp, block=block)


def accuracy_with_dropped(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, drop: Mapping[str, Iterable[int]] | None = None
) -> float:
    """Accuracy (argmax over classes; for sequence outputs over the positions with y != -100) with
    the sublayers in `drop` ({"attn": {...}, "mlp": {...}, "block": {...}}, 0-based) removed."""
    blocks = _block_names(model)
    with eval_mode(model), torch.no_grad():
        z, _ = _forward(model, x, (), _zeroed_taps(blocks, drop))
    return _accuracy(z, y)


@dataclass(frozen=True)
class DropCurve:
    """Accuracy after dropping k = 0..k_max sublayers of one kind, in the order `strategy` gives."""

    kind: str  # "attn", "mlp" or "block"
    strategy: str  # "least", "most" or "random"
    iterative: bool
    k: np.ndarray  # 0..k_max
    accuracy: np.ndarray  # (k_max + 1,); for "random" the mean over the draws
    order: list[int]  # the dropping order used (least/most; empty for random)
    accuracy_std: np.ndarray | None = None  # "random": the standard deviation over the draws
    draws: list[list[int]] = field(default_factory=list)  # "random": each draw's order


def _pick(scores: np.ndarray, candidates: list[int], order: str) -> list[int]:
    """Candidates ranked least (or most) important first; ties by block index."""
    sign = 1.0 if order == "least" else -1.0
    return sorted(candidates, key=lambda i: (sign * scores[i], i))


def drop_curve(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    kind: Kind = "attn",
    order: Order = "least",
    iterative: bool = False,
    k_max: int | None = None,
    seed: int = 0,
    n_random: int = 10,
) -> DropCurve:
    """Accuracy against the number of dropped attention / MLP / whole blocks. One-shot: rank once by
    importance 1 - cos(X, Y); iterative: after each drop re-rank the rest on the model with the drops
    applied; random: the mean (and std) over `n_random` random orders drawn with `seed`.
    He, Sun, Shen, Li (2024), "What matters in transformers? Not all attention is needed"."""
    if kind not in ("attn", "mlp", "block"):
        raise ValueError(f"unknown kind {kind!r}; use 'attn', 'mlp' or 'block'")
    if order not in ("least", "most", "random"):
        raise ValueError(f"unknown order {order!r}; use 'least', 'most' or 'random'")
    blocks = _block_names(model)
    scores = getattr(importance(model, x), kind)
    candidates = [i for i in range(len(blocks)) if not np.isnan(scores[i])]
    if not candidates:
        raise ValueError(f"{type(model).__name__} has no {kind} sublayers to drop")
    k_max = len(blocks) if k_max is None else int(k_max)
    if not 0 <= k_max <= len(candidates):
        raise ValueError(f"k_max must be between 0 and {len(candidates)}, got {k_max}")
    ks = np.arange(k_max + 1)

    measured: dict[frozenset[int], float] = {}  # random orders share sets (none, all, ...): each is measured once

    def accuracy(dropped: frozenset[int]) -> float:
        if dropped not in measured:
            measured[dropped] = accuracy_with_dropped(model, x, y, {kind: set(dropped)})
        return measured[dropped]

    def curve(sequence: list[int]) -> np.ndarray:
        return np.array([accuracy(frozenset(sequence[:k])) for k in ks])

    if order == "random":
        rng = np.random.default_rng(seed)
        draws = [[int(i) for i in rng.permutation(candidates)[:k_max]] for _ in range(n_random)]
        accs = np.stack([curve(d) for d in draws])
        return DropCurve(kind, order, iterative, ks, accs.mean(0), [], accs.std(0), draws)
    if iterative:
        chosen: list[int] = []
        for _ in range(k_max):
            now = getattr(importance(model, x, {kind: set(chosen)}), kind)
            chosen.append(_pick(now, [i for i in candidates if i not in chosen], order)[0])
    else:
        chosen = _pick(scores, candidates, order)[:k_max]
    return DropCurve(kind, order, iterative, ks, curve(chosen), chosen)


# --- logit lens (nostalgebraist 2020) ---------------------------------------------------------


@dataclass(frozen=True)
class LogitLens:
    """The output read off the stream after the embedding and after each block."""

    layers: list[str]  # "embed", then the block names
    probs_correct: np.ndarray  # (L+1,) mean probability of the target class (NaN without targets)
    accuracy: np.ndarray  # (L+1,) (NaN without targets)
    top_tokens: np.ndarray  # (L+1, n_show) argmax class of the first samples at their last scored position


def _last_positions(y: torch.Tensor | None, batch: int, length: int) -> list[int]:
    """Per sample, the last position with a scored target (the last position when none)."""
    if y is None or y.dim() != 2:
        return [length - 1] * batch
    out = []
    for row in (y != IGNORE).cpu():
        idx = torch.nonzero(row).flatten()
        out.append(int(idx[-1]) if len(idx) else length - 1)
    return out


def logit_lens(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, n_show: int = 8) -> LogitLens:
    """z_l = readout(h_l): the model's own final norm and unembedding applied to the stream after the
    embedding (h_0) and after each block; the last layer's z is the model's output exactly.
    nostalgebraist (2020), "interpreting GPT: the logit lens"."""
    blocks = _block_names(model)
    with eval_mode(model), torch.no_grad():
        _, acts = _forward(model, x, [f"{blocks[0]}.resid_pre"] + [f"{b}.resid_post" for b in blocks])
        streams = [acts[f"{blocks[0]}.resid_pre"]] + [acts[f"{b}.resid_post"] for b in blocks]
        logits = [_class_logits(model.readout_stream(h)) for h in streams]
    probs, accs, tops = [], [], []
    n = min(n_show, len(x))
    for z in logits:
        if y is None:
            probs.append(np.nan)
            accs.append(np.nan)
        else:
            zs, ys = _scored(z, y)
            p = zs.softmax(-1).gather(-1, ys.unsqueeze(-1)).squeeze(-1)
            probs.append(float(p.double().mean()) if len(ys) else np.nan)
            accs.append(_accuracy(z, y))
        pred = z.argmax(-1)[:n]
        if pred.dim() == 2:  # per-position outputs: the last scored position of each sample
            last = _last_positions(None if y is None else y[:n], n, pred.shape[1])
            pred = pred[torch.arange(n, device=pred.device), torch.tensor(last, device=pred.device)]
        tops.append(pred.cpu().numpy().astype(np.int64))
    return LogitLens(layers=["embed", *blocks], probs_correct=np.array(probs, dtype=float),
                     accuracy=np.array(accs, dtype=float), top_tokens=np.stack(tops))


# --- attention patterns -----------------------------------------------------------------------


def attention_patterns(model: nn.Module, x: torch.Tensor, sample: int = 0) -> dict[str, np.ndarray]:
    """Block name -> softmax(Q K^T / sqrt(k)) of one sample, (heads, query, key); empty without attention."""
    blocks = _block_names(model)
    taps = [f"{b}.attn.pattern" for b in blocks]
    with eval_mode(model), torch.no_grad():
        _, acts = _forward(model, x, taps)
    return {b: as_numpy(acts[t][sample]) for b, t in zip(blocks, taps, strict=True) if t in acts}
