"""Diagrams of attention, in the grammar of Abbott (2024): Q, K, V, O boxes, heads split off by a bar,
contractions joining the k and s' wires, the 1/√k scale, the causal mask, the softmax triangle over
the key positions, and a residual region per attention and MLP branch. The transformer here is
written for the test (the registered one comes with #6), fx-traceable: unflatten / flatten instead
of unpacking shapes."""

import pytest
import torch
from torch import nn

from netarium.analysis.diagram import diagram_overlay, extract
from netarium.viz.ncd import render_svg, to_dot


class Attention(nn.Module):
    def __init__(self, d: int, heads: int, seq: int, causal: bool = False):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.register_buffer("mask", torch.ones(seq, seq, dtype=torch.bool).triu(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        def split(t: torch.Tensor) -> torch.Tensor:  # [b, s, d] -> [b, heads, s, d / heads]
            return t.unflatten(-1, (self.heads, -1)).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5)
        if self.causal:
            scores = scores.masked_fill(self.mask, float("-inf"))
        att = scores.softmax(dim=-1)
        return self.o((att @ v).transpose(1, 2).flatten(-2))


class Block(nn.Module):
    def __init__(self, d: int, heads: int, d_mlp: int, seq: int, causal: bool = False):
        super().__init__()
        self.ln1, self.attn, self.ln2 = nn.LayerNorm(d), Attention(d, heads, seq, causal), nn.LayerNorm(d)
        self.fc_in, self.act, self.fc_out = nn.Linear(d, d_mlp), nn.ReLU(), nn.Linear(d_mlp, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.fc_out(self.act(self.fc_in(self.ln2(x))))


class TinyTransformer(nn.Module):
    def __init__(self, vocab: int = 10, seq: int = 6, d: int = 16, heads: int = 4, d_mlp: int = 32, layers: int = 2,
                 causal: bool = False):
        super().__init__()
        self.embed, self.pos = nn.Embedding(vocab, d), nn.Parameter(torch.randn(seq, d) * 0.1)
        self.blocks = nn.ModuleList(Block(d, heads, d_mlp, seq, causal) for _ in range(layers))
        self.ln_f, self.unembed = nn.LayerNorm(d), nn.Linear(d, vocab)
        self.branch_names = [f"{part} · block{i + 1}" for i in range(layers) for part in ("attention", "MLP")]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens) + self.pos
        for block in self.blocks:
            h = block(h)
        return self.unembed(self.ln_f(h))


TOKENS = torch.randint(0, 10, (8, 6), generator=torch.Generator().manual_seed(0))


def diagram(**kw):
    torch.manual_seed(0)
    return extract(TinyTransformer(**kw), TOKENS)


def test_attention_has_q_k_v_o_contractions_scale_and_softmax_over_key_positions():
    d = diagram(layers=1)
    assert "(fx)" in d.title
    assert [o.instance for o in d.ops_of("learned")] == ["Q", "K", "V", "O", "1", "2", "3"]
    q = next(o for o in d.ops_of("learned") if o.instance == "Q")
    copy = d.inputs_of(q.id)[0]
    assert d.op(copy).kind == "copy" and len(d.outputs_of(copy)) == 3  # x is copied into Q, K and V
    scores, mix = d.ops_of("contract")
    assert scores.detail == "contraction over k" and mix.detail == "contraction over s'"
    assert [str(a) for a in scores.axes_out] == ["b 8", "H 4", "s 6", "s' 6"]
    assert [str(a) for a in mix.axes_out] == ["b 8", "H 4", "s 6", "k 4"]
    (scale,) = d.ops_of("scale")
    assert scale.label == "1/√k" and d.inputs_of(scale.id) == [scores.id]
    (soft,) = d.ops_of("softmax")
    assert soft.detail == "softmax over s'"
    assert not d.ops_of("mask")
    splits = [o for o in d.ops_of("reshape") if o.label == "unflatten"]
    assert len(splits) == 3 and all([str(a) for a in o.axes_out] == ["b 8", "s 6", "H 4", "k 4"] for o in splits)
    (merge,) = [o for o in d.ops_of("reshape") if o.label == "flatten"]
    assert [str(a) for a in merge.axes_out] == ["b 8", "s 6", "H·k 16"]
    o_box = next(o for o in d.ops_of("learned") if o.instance == "O")
    assert d.inputs_of(o_box.id) == [merge.id] and o_box.axes_out[-1].name == "d"
    model = TinyTransformer(layers=1)
    assert d.parameter_count() == sum(p.numel() for p in model.parameters())


def test_positions_are_a_learned_tensor_added_without_a_batch_axis():
    d = diagram(layers=1)
    pos = next(o for o in d.ops_of("embed") if o.label == "P")
    assert [str(a) for a in pos.axes_out] == ["s 6", "d 16"] and pos.params == 6 * 16
    add = d.outputs_of(pos.id)[0]
    assert d.op(add).kind == "add" and sorted(d.op(i).label for i in d.inputs_of(add)) == ["E", "P"]


def test_each_attention_and_mlp_branch_is_a_residual_region_and_blocks_collapse():
    d = diagram(layers=2)
    assert [r.label for r in d.regions] == [f"residual branch · {p} · block{i}" for i in (1, 2) for p in ("attention", "MLP")]
    attn = d.regions[0]
    kinds = {d.op(i).kind for i in attn.ops}
    assert {"learned", "contract", "softmax", "scale", "reshape", "norm", "copy"} <= kinds
    assert sum(d.op(i).kind == "learned" for i in attn.ops) == 4
    assert len(d.ops_of("add")) == 5  # positions + 2 per block
    c = d.collapse()  # the repeated unit is a whole block: attention branch + MLP branch
    (comp,) = c.components
    assert comp.repeat == 2 and c.ops_of("component")[0].label == "Block ×2"
    assert sum(d.op(i).kind == "learned" for i in comp.ops) == 6
    assert c.learned_count() == d.learned_count() == 4 * 2 + 2 * 2 + 1
    assert c.parameter_count() == d.parameter_count() and c.expand() == d
    three = diagram(layers=3).collapse()
    assert three.components[0].repeat == 3 and len(three.components[0].members) == 3 * len(three.components[0].ops)


def test_causal_mask_is_drawn_before_the_softmax():
    d = diagram(layers=1, causal=True)
    (mask,) = d.ops_of("mask")
    (soft,) = d.ops_of("softmax")
    assert d.inputs_of(soft.id) == [mask.id]
    assert d.op(d.inputs_of(mask.id)[0]).kind == "scale"


def test_attention_dot_renders_the_grammar():
    d = diagram(layers=1, causal=True)
    dot = to_dot(d)
    for sup in ("Q", "K", "V", "O"):
        assert f"<SUP> {sup}</SUP>" in dot
    assert dot.count("fillcolor=black, label=\"\", width=0.07") == len(d.ops_of("reshape"))
    assert 'xlabel="k"' in dot and "xlabel=\"s'\"" in dot  # the contracted axes, and the softmax's axis
    assert 'label="1/√k"' in dot and 'label="mask"' in dot and "shape=triangle" in dot
    assert 'taillabel="H 4 s 6 k 4"' in dot
    svg = render_svg(dot)
    assert svg.count("<svg") == 1


def test_overlay_covers_attention_projections_and_positions():
    torch.manual_seed(0)
    model = TinyTransformer(layers=1)
    d = extract(model, TOKENS)
    y = TOKENS.roll(1, dims=1)
    ov = diagram_overlay(model, d, TOKENS, y, lambda out, t: nn.functional.cross_entropy(out.flatten(0, 1), t.flatten()))
    q = next(o for o in d.ops_of("learned") if o.instance == "Q")
    assert ov.stats[q.id].weight_norm == pytest.approx(float(model.blocks[0].attn.q.weight.detach().norm()))
    assert ov.stats["pos"].weight_norm == pytest.approx(float(model.pos.detach().norm()))
    assert ov.stats["pos"].grad_norm > 0
