"""Two sequence classifiers of Ma et al. (2017), "TS-LSTM and Temporal-Inception: exploiting spatiotemporal
dynamics for activity recognition", for time series X (B, L, C) (and, Temporal-Inception, tokens too).

`ts-lstm` (temporal-segment LSTM): the last S * (L // S) steps cut into S equal segments, an LSTM over each
(one LSTM shared by every segment, or one per segment), each segment's features pooled over its steps (the
mean of its states, or its last state), the S segment features concatenated (or averaged) and read out.

`temporal-inception`: blocks of parallel 1-D temporal convolutions of several kernel widths (the inception
idea over time), concatenated and ReLU'd, stacked; then global average pooling over time and a linear
readout, or, for a task scored at every position, a readout at every step with causal (left) padding so
that the output at t reads no input after t.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, field_validator
from torch import nn
from torch.nn import functional as F

from netarium.models.base import MODELS, Capable, ModelSpec
from netarium.models.taps import Tap
from netarium.schema import Params, SchemaError, as_list


def series_only(name: str, spec: ModelSpec) -> int:
    """The channel count of a time-series spec; a clear error for any other task."""
    if spec.channels is None:
        raise SchemaError("model.name", f"{name} reads time series (length x channels); this task gives "
                          f"{'tokens' if spec.vocab_size is not None else 'one feature vector per sample'}",
                          "a time-series task: adding, activity")
    return int(spec.channels)


class TSLSTMParams(Params):
    segments: int = Field(4, ge=1, le=32, description="Temporal segments S the sequence is cut into")
    hidden: int = Field(24, ge=1, le=256, description="LSTM units per segment")
    shared: bool = Field(True, description="One LSTM runs over every segment (else one LSTM per segment)")
    pool: Literal["mean", "last"] = Field("mean", description="A segment's feature: the mean of its LSTM states, or its last state")
    combine: Literal["concat", "mean"] = Field("concat", description="The segments' features side by side (concat), or averaged")


class TSLSTM(Capable, nn.Module):
    """TS-LSTM (Ma et al. 2017): segment LSTMs, pooled, combined, read out.

    Taps: "in" (B x L x C), "hidden" (every step's LSTM state, segment after segment, B x S*l x H; each
    segment starts from a zero state), "segments" (the pooled features, B x S x H), "pooled" (what the
    readout reads), "logits".
    """

    CAPABILITIES = frozenset({"timeseries", "recurrent-gates", "states"})

    def __init__(self, p: TSLSTMParams, spec: ModelSpec):
        super().__init__()
        C = series_only("ts-lstm", spec)
        if spec.per_position:
            raise SchemaError("model.name", "ts-lstm gives one output per sequence, this task asks for one per position",
                              "rnn or temporal-inception")
        L, S = spec.n_inputs, p.segments
        if S > L:
            raise SchemaError("model.segments", f"{S} segments do not fit a sequence of {L} steps", f"at most {L}")
        self.length, self.seg, self.S = L, L // S, S
        self.start = L - S * self.seg  # the first L mod S steps are not read
        self.shared, self.pool, self.combine = p.shared, p.pool, p.combine
        self.inp = Tap("in")
        if p.shared:
            self.lstm = nn.LSTM(C, p.hidden, batch_first=True)
        else:
            self.lstms = nn.ModuleList(nn.LSTM(C, p.hidden, batch_first=True) for _ in range(S))
        self.hidden = Tap("hidden")
        self.segments = Tap("segments")
        self.pooled = Tap("pooled")
        self.readout = nn.Linear(p.hidden * (S if p.combine == "concat" else 1), spec.n_outputs)
        self.logits = Tap("logits")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)[:, self.start:]
        n, S = self.seg, self.S
        if self.shared:  # every segment a row of one batch: (B * S, n, C)
            h, _ = self.lstm(x.reshape(-1, n, x.shape[-1]))
            h = h.reshape(-1, S * n, h.shape[-1])
        else:
            h = torch.cat([lstm(x[:, s * n:(s + 1) * n])[0] for s, lstm in enumerate(self.lstms)], dim=1)
        h = self.hidden(h)
        per_segment = h.reshape(h.shape[0], S, n, h.shape[-1])
        feats = self.segments(per_segment.mean(2) if self.pool == "mean" else per_segment[:, :, -1])
        z = feats.flatten(1) if self.combine == "concat" else feats.mean(1)
        return self.logits(self.readout(self.pooled(z)))


@MODELS.register("ts-lstm", TSLSTMParams, "TS-LSTM (Ma et al. 2017): LSTMs over temporal segments, pooled and combined, "
                 "on time series", tags=tuple(TSLSTM.CAPABILITIES))
def make_ts_lstm(p: TSLSTMParams, spec: ModelSpec) -> TSLSTM:
    return TSLSTM(p, spec)


class TemporalInceptionParams(Params):
    widths: list[int] = Field([3, 5, 9], min_length=1, max_length=6,
                              description="Kernel widths of the parallel temporal convolutions (1-63 steps each)")
    filters: int = Field(8, ge=1, le=128, description="Filters of each convolution (a block gives filters x widths channels)")
    blocks: int = Field(2, ge=1, le=6, description="Inception blocks stacked")
    embed: int = Field(8, ge=1, le=128, description="Width of the token embedding (token tasks)")

    _lists = field_validator("widths", mode="before")(classmethod(lambda cls, v: as_list(v)))

    @field_validator("widths")
    @classmethod
    def _widths_in_range(cls, v: list[int]) -> list[int]:
        bad = [w for w in v if not 1 <= w <= 63]
        if bad:
            raise ValueError(f"kernel widths must be 1 to 63 steps, got {bad}")
        return v


class InceptionBlock(nn.Module):
    """Parallel Conv1d of each width along the steps, 'same' length (centred, or causal: padded on the left
    only), concatenated along channels, then ReLU: (B, T, C) -> (B, T, F). Tap "blockN.post" holds the output."""

    def __init__(self, channels: int, filters: int, widths: list[int], causal: bool, index: int):
        super().__init__()
        self.widths, self.causal = list(widths), causal
        self.branches = nn.ModuleList(nn.Conv1d(channels, filters, w) for w in widths)
        self.act = nn.ReLU()
        self.post = Tap(f"block{index}.post")

    def pads(self, w: int) -> tuple[int, int]:
        return (w - 1, 0) if self.causal else ((w - 1) // 2, w // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (B, T, C) -> (B, T, F)
        x = x.transpose(1, 2)
        outs = [conv(F.pad(x, self.pads(w))) for w, conv in zip(self.widths, self.branches, strict=True)]
        return self.post(self.act(torch.cat(outs, dim=1).transpose(1, 2)))


class TemporalInception(Capable, nn.Module):
    """Temporal-Inception (Ma et al. 2017): inception blocks of temporal convolutions, global average pooling
    over time (or a readout at every step), linear readout.

    Taps: "in" (B x T x C, the embedded tokens for a token task), "blockN.post" (B x T x F), "hidden" (the
    last block's features B x T x F), "pooled" (B x F; not on a per-position task), "logits".
    """

    CAPABILITIES = frozenset({"timeseries", "sequence", "tokens", "states"})

    def __init__(self, p: TemporalInceptionParams, spec: ModelSpec):
        super().__init__()
        if spec.vocab_size is not None:
            self.embed: nn.Module | None = nn.Embedding(spec.vocab_size, p.embed)
            C = p.embed
        else:
            self.embed, C = None, series_only("temporal-inception", spec)
        self.per_position = spec.per_position
        self.inp = Tap("in")
        width = p.filters * len(p.widths)
        self.blocks = nn.ModuleList(InceptionBlock(C if i == 0 else width, p.filters, p.widths, spec.per_position, i + 1)
                                    for i in range(p.blocks))
        self.hidden = Tap("hidden")
        self.pooled = Tap("pooled")
        self.readout = nn.Linear(width, spec.n_outputs)
        self.logits = Tap("logits")

    def receptive_field(self) -> int:
        """Steps of input one output step reads: 1 + blocks * (widest kernel - 1)."""
        return 1 + len(self.blocks) * (max(self.blocks[0].widths) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(self.embed(x) if self.embed is not None else x)  # (B, T, C)
        for block in self.blocks:
            h = block(h)
        h = self.hidden(h)  # (B, T, F)
        if self.per_position:
            return self.logits(self.readout(h))
        return self.logits(self.readout(self.pooled(h.mean(1))))


@MODELS.register("temporal-inception", TemporalInceptionParams, "Temporal-Inception (Ma et al. 2017): parallel temporal "
                 "convolutions of several widths, stacked, pooled over time", tags=tuple(TemporalInception.CAPABILITIES))
def make_temporal_inception(p: TemporalInceptionParams, spec: ModelSpec) -> TemporalInception:
    return TemporalInception(p, spec)
