"""Render a neural circuit diagram (analysis.diagram.Diagram) as Graphviz DOT text, and SVG/PNG.

The grammar (Abbott 2024) and the layout tricks of shared/ncd/*.dot: rankdir=LR, splines=false, one
`group` per axis row (the batch row b passes every op unbroken: broadcast), one `rank=same` column
per op with invisible flat edges to order the rows, and wire labels as `taillabel`s just under the
start of each wire (edge `xlabel`s looked the same but made Graphviz's layout 2-3x slower).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from netarium.analysis.diagram.model import Diagram, Op
from netarium.analysis.diagram.overlay import ELEMENTWISE_METRICS, LEARNED_METRICS, Overlay

LEARNED_PEN = 2.6
ELEMENTWISE = 'shape=box, style="rounded,filled", fillcolor="#dff3df", color="#55aa55", fontsize=10, height=0.28'
NORM = 'shape=box, style="rounded,filled", fillcolor="#ece6f7", color="#8a74c0", fontsize=10, height=0.28'
REGION = 'style="filled,rounded"; fillcolor="#eef3fb"; color="#9bb0d0"; fontname="Helvetica"; fontsize=10;'


def _q(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _nid(op_id: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in op_id)


WHITE = (255, 255, 255)
BLUE = (43, 95, 170)
ORANGE = (214, 120, 30)
RED = (200, 50, 50)
LEGEND_CELLS = 5


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


@dataclass(frozen=True)
class Scale:
    """How one overlay metric becomes a fill colour, and its legend row."""

    metric: str
    title: str
    lo: float
    hi: float

    @property
    def diverging(self) -> bool:
        return self.metric == "mean_activation"

    def t(self, v: float) -> float:
        """Position on the colour ramp: [0, 1], or [-1, 1] for the diverging scale."""
        span = self.hi - self.lo
        return (v - self.lo) / span if span > 0 else (1.0 if v > 0 else 0.0)

    def colour(self, v: float) -> str:
        if self.diverging:
            m = max(abs(self.lo), abs(self.hi)) or 1.0
            return _mix(WHITE, ORANGE, v / m) if v >= 0 else _mix(WHITE, BLUE, -v / m)
        return _mix(WHITE, RED if self.metric == "dead_fraction" else BLUE, self.t(v))

    def ink(self, v: float) -> str:
        """Text colour readable on colour(v)."""
        strength = abs(v) / (max(abs(self.lo), abs(self.hi)) or 1.0) if self.diverging else self.t(v)
        return "white" if strength > 0.6 else "black"

    def text(self, v: float) -> str:
        if self.metric == "dead_fraction":
            return f"{v:.0%}"
        if self.metric == "mean_activation":
            return f"{v:+.2f}"
        return f"{v:.3g}"

    def legend_row(self) -> str:
        if self.diverging:
            m = max(abs(self.lo), abs(self.hi)) or 1.0
            stops = [-m + 2 * m * k / (LEGEND_CELLS - 1) for k in range(LEGEND_CELLS)]
        else:
            stops = [self.lo + (self.hi - self.lo) * k / (LEGEND_CELLS - 1) for k in range(LEGEND_CELLS)]
        cells = []
        for k, v in enumerate(stops):
            txt = f'<FONT COLOR="{self.ink(v)}" POINT-SIZE="9">{html.escape(self.text(v))}</FONT>' if k in (0, LEGEND_CELLS - 1) else ""
            cells.append(f'<TD BGCOLOR="{self.colour(v)}" BORDER="1" COLOR="#bbbbbb" WIDTH="34">{txt}</TD>')
        return f'<TR><TD ALIGN="LEFT">{html.escape(self.title)}</TD>{"".join(cells)}</TR>'


def _scale(d: Diagram, overlay: Overlay, metric: str, title: str) -> Scale | None:
    rng = overlay.range(d, metric)
    if rng is None:
        return None
    lo, hi = rng
    if metric == "dead_fraction":
        lo, hi = 0.0, 1.0
    elif metric in LEARNED_METRICS:
        lo = 0.0
    return Scale(metric, title, lo, hi)


@dataclass(frozen=True)
class _Paint:
    """The overlay as drawn: a scale for learned ops and one for element-wise ops (either may be off)."""

    overlay: Overlay
    learned: Scale | None
    elementwise: Scale | None

    def value(self, d: Diagram, op: Op) -> tuple[Scale, float] | None:
        scale = self.learned if op.kind in ("learned", "embed") else self.elementwise if op.kind == "elementwise" else None
        if op.kind == "component":
            scale = self.learned or self.elementwise
        if scale is None:
            return None
        v = self.overlay.value(d, op.id, scale.metric)
        return None if v is None else (scale, v)


def _value_line(scale: Scale, v: float) -> str:
    return f'<BR/><FONT POINT-SIZE="8" COLOR="{scale.ink(v)}">{html.escape(scale.text(v))}</FONT>'


KAN_GLYPH = "φ∿"  # a learned 1-D function on every wire of the edge bundle: phi and a curve


def _is_kan(op: Op) -> bool:
    """A KAN layer (analysis/diagram labels it KAN / KAN+): drawn as the learned-function glyph."""
    return op.kind == "learned" and op.label.rstrip("+") == "KAN"


def _kan_attrs(op: Op) -> str:
    """A KAN layer's glyph: a rounded bold box holding φ over a curve (a learned function on the wire),
    not the square L box of a linear map."""
    sub = "<SUB>+</SUB>" if op.label.endswith("+") else ""
    sup = f"<SUP> {html.escape(op.instance)}</SUP>" if op.instance else ""
    tip = f"{op.detail or op.module} ({op.params} parameters)" if op.params else (op.detail or op.module)
    return (f'shape=box, style=rounded, penwidth={LEARNED_PEN}, label=<<B>φ</B>{sub}{sup}<BR/><FONT POINT-SIZE="16">∿</FONT>>, '
            f"tooltip={_q(tip)}")


def _letter(op: Op) -> str:
    """The bold letter of a learned box: L (linear), E (embedding), RNN / GRU / LSTM with a loop mark,
    φ∿ for a KAN layer (a learned function on each wire)."""
    if _is_kan(op):
        return KAN_GLYPH
    if op.kind == "embed":
        return op.label[:1] or "E"  # E: a token embedding; P: a learned tensor added (positions)
    if op.label.rstrip("+") in ("RNN", "GRU", "LSTM"):
        return f"{op.label} ↻"
    if op.label.rstrip("+") == "Conv":  # a 1-D convolution along the sequence
        return "Conv"
    return "L"


def _frozen_attrs(op: Op) -> str:
    """A fixed linear map (not trained): a thin dashed grey box, the letter L not bold, a snowflake and
    "frozen" under it, so it never reads as one of the bold learned boxes."""
    sub = "<SUB>+</SUB>" if op.label.endswith("+") else ""
    sup = f"<SUP> {html.escape(op.instance)}</SUP>" if op.instance else ""
    tip = (op.detail or op.module) + (f" ({op.params} fixed parameters)" if op.params else "")
    return (f'shape=box, style="dashed,filled", fillcolor="#eceff3", color="#7a8699", penwidth=1.2, '
            f'label=<L{sub}{sup}<BR/><FONT POINT-SIZE="8" COLOR="#4a5a70">❄ frozen</FONT>>, tooltip={_q(tip)}')


def _node_attrs(op: Op, diagram: Diagram, paint: _Paint | None = None) -> str:
    """The Graphviz attributes of one op's glyph (filled by the live overlay when there is one)."""
    if op.frozen:
        return _frozen_attrs(op)
    painted = paint.value(diagram, op) if paint else None
    if painted and op.kind in ("learned", "embed", "elementwise", "component"):
        scale, v = painted
        fill = f'style=filled, fillcolor="{scale.colour(v)}"'
        extra = f"; {scale.title} {scale.text(v)}"
        if op.kind in ("learned", "embed"):
            letter = _letter(op)
            sub = "<SUB>+</SUB>" if op.label.endswith("+") else ""
            sup = f"<SUP> {html.escape(op.instance)}</SUP>" if op.instance else ""
            tip = (op.detail or op.module) + (f" ({op.params} parameters)" if op.params else "") + extra
            ink = scale.ink(v)
            return (f"shape=box, penwidth={LEARNED_PEN}, label=<<FONT COLOR=\"{ink}\"><B>{letter}</B>{sub}{sup}</FONT>"
                    f"<BR/><BR/><FONT POINT-SIZE=\"8\" COLOR=\"{ink}\">{html.escape(scale.text(v))}</FONT>>, "
                    f"{fill}, tooltip={_q(tip)}")
        if op.kind == "elementwise":
            return (f'shape=box, style="rounded,filled", fillcolor="{scale.colour(v)}", color="#55aa55", fontsize=10, '
                    f'label=<<FONT COLOR="{scale.ink(v)}">{html.escape(op.label)}</FONT>{_value_line(scale, v)}>, '
                    f"tooltip={_q((op.module or op.label) + extra)}")
        return (f"shape=box3d, penwidth={LEARNED_PEN}, {fill}, "
                f"label=<<B>{html.escape(op.label)}</B>{_value_line(scale, v)}>, "
                f"tooltip={_q(f'{op.detail}; {op.params} parameters{extra}')}")
    if op.kind == "input":
        return f"shape=plaintext, label={_q(op.label)}"
    if op.kind == "output":
        return f"shape=plaintext, label={_q(op.label)}"
    if op.kind == "constant":  # a fixed tensor added in (sinusoidal positions): not learned, no bold box
        return f"shape=box, style=dashed, label={_q(op.label)}, tooltip={_q(op.detail)}"
    if _is_kan(op):
        return _kan_attrs(op)
    if op.kind in ("learned", "embed"):
        letter = _letter(op)
        sub = "<SUB>+</SUB>" if op.label.endswith("+") else ""
        sup = f"<SUP> {html.escape(op.instance)}</SUP>" if op.instance else ""
        tip = op.detail or op.module
        return (f"shape=box, penwidth={LEARNED_PEN}, label=<<B>{letter}</B>{sub}{sup}>, "
                f"tooltip={_q(f'{tip} ({op.params} parameters)' if op.params else tip)}")
    if op.kind == "elementwise":
        return f"{ELEMENTWISE}, label={_q(op.label)}, tooltip={_q(op.module or op.label)}"
    if op.kind == "norm":
        return f"{NORM}, label={_q(op.label)}, tooltip={_q(f'{op.module} ({op.params} parameters)')}"
    if op.kind == "softmax":
        over = op.detail.rpartition(" over ")[2] if " over " in op.detail else ""
        return ('shape=triangle, orientation=90, label="", width=0.32, height=0.32, style=filled, '
                f'fillcolor="#fff2cc", tooltip={_q(op.detail or "softmax")}' + (f", xlabel={_q(over)}" if over else ""))
    if op.kind == "reshape":
        return f'shape=box, style=filled, fillcolor=black, label="", width=0.07, height=0.5, fixedsize=true, tooltip={_q(op.detail)}'
    if op.kind == "contract":
        over = op.detail.rpartition(" over ")[2] if " over " in op.detail else ""
        return (f'shape=circle, style=filled, fillcolor="#333333", label="", width=0.17, fixedsize=true, '
                f'tooltip={_q(op.detail or op.label)}' + (f", xlabel={_q(over)}" if over else ""))
    if op.kind == "scale":
        return f'shape=box, label={_q(op.label)}, fontsize=9, width=0.3, height=0.22, margin="0.03,0.02", tooltip="scale"'
    if op.kind == "mask":
        return f'{ELEMENTWISE.replace("#dff3df", "#e8e8e8").replace("#55aa55", "#888888")}, label="mask", tooltip={_q(op.detail or "mask")}'
    if op.kind == "copy":
        return 'shape=point, width=0.12, color=black, tooltip="copy"'
    if op.kind == "add":
        return 'shape=circle, label="+", width=0.3, fixedsize=true, fontsize=14, tooltip="add"'
    if op.kind == "component":
        comp = next((c for c in diagram.components if c.id == op.id), None)
        tip = f"{op.detail}; {op.params} parameters" if comp else op.detail
        return (f"shape=box3d, penwidth={LEARNED_PEN}, style=filled, fillcolor=\"#f4f4f4\", "
                f"label=<<B>{html.escape(op.label)}</B>>, tooltip={_q(tip)}")
    return f"shape=box, label={_q(op.label)}"


BATCH_LABEL_EVERY = 6  # the batch row is labelled with its size at the start, then by name every this many columns


def _wire_label(text: str) -> str:
    """A wire's axis label, under the start of the wire."""
    return f"taillabel={_q(text)}, labeldistance=2.4, labelangle=-22"


def _ranksep(d: Diagram) -> float:
    """Column spacing: wider where wires carry several labelled axes (sequence, heads, per-head)."""
    most = max((sum(1 for a in w.axes if a.role != "batch") for w in d.wires), default=1)
    return 0.65 + 0.3 * max(most - 1, 0)


READABLE_PX_PER_COLUMN = 72  # below this a column's glyphs and wire labels get too small to read


def readable_width(diagram: Diagram, *, collapsed: bool = False) -> int:
    """The narrowest width (px) at which the drawn diagram stays readable: wider ones scroll."""
    d = diagram.collapse() if collapsed else diagram
    n_cols = max(columns(d).values(), default=0) + 1
    return int(n_cols * READABLE_PX_PER_COLUMN * _ranksep(d) / 0.65)


def columns(diagram: Diagram) -> dict[str, int]:
    """Each op's column: the longest path from an input (ops are in forward order)."""
    col: dict[str, int] = {}
    for op in diagram.ops:
        ins = diagram.inputs_of(op.id)
        col[op.id] = max((col[i] + 1 for i in ins if i in col), default=0)
    return col


def _legend(paint: _Paint) -> str:
    """The overlay legend as the graph's label (an HTML table under the diagram)."""
    rows = [s.legend_row() for s in (paint.learned, paint.elementwise) if s is not None]
    n = paint.overlay.n_probe
    note = f"as of step {paint.overlay.step:,} on {n:,} training input{'s' if n != 1 else ''}"
    rows.append(f'<TR><TD ALIGN="LEFT" COLSPAN="{LEGEND_CELLS + 1}"><FONT POINT-SIZE="9">{note}</FONT></TD></TR>')
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="2">{"".join(rows)}</TABLE>>'


def to_dot(
    diagram: Diagram,
    *,
    collapsed: bool = False,
    overlay: Overlay | None = None,
    learned: str | None = "weight_norm",
    elementwise: str | None = "dead_fraction",
) -> str:
    """DOT text of the diagram (collapsed: repeated identical blocks drawn as one "Block ×N" box).

    With an `overlay`, learned ops are filled by the `learned` metric (weight_norm, grad_norm) and
    element-wise ops by the `elementwise` one (dead_fraction, mean_activation); None leaves a kind
    unpainted; a legend with both colour ramps goes under the diagram.
    """
    d = diagram.collapse() if collapsed else diagram
    paint = None
    if overlay is not None and (learned or elementwise):
        paint = _Paint(
            overlay,
            _scale(d, overlay, learned, LEARNED_METRICS[learned]) if learned else None,
            _scale(d, overlay, elementwise, ELEMENTWISE_METRICS[elementwise]) if elementwise else None,
        )
    col = columns(d)
    n_cols = max(col.values(), default=0) + 1
    region_of = {i: k for k, r in enumerate(d.regions) for i in r.ops}
    lines = [
        f"digraph {_q(d.title or 'diagram')} {{",
        "  // Neural circuit diagram: one row per axis, the batch row b passes every op (broadcast).",
        f"  rankdir=LR; splines=false; nodesep=0.12; ranksep={_ranksep(d):.2f}; newrank=true;",
        '  node [fontname="Helvetica", fontsize=12, group=f];',
        '  edge [arrowhead=none, fontname="Helvetica", fontsize=10, penwidth=1.3];',
    ]
    if paint is not None:
        lines.append(f'  labelloc=b; labeljust=l; fontname="Helvetica"; fontsize=10; label={_legend(paint)};')
    # the batch row
    for c in range(n_cols):
        shape = 'shape=plaintext, label=""' if c in (0, n_cols - 1) else "shape=point, width=0.03"
        lines.append(f"  b{c} [{shape}, group=b];")
    for op in d.ops:
        if op.id not in region_of:
            lines.append(f"  {_nid(op.id)} [{_node_attrs(op, d, paint)}];")
    for k, r in enumerate(d.regions):
        lines.append(f"  subgraph cluster_{k} {{")
        lines.append(f"    label={_q(r.label)}; {REGION}")
        for i in r.ops:
            lines.append(f"    {_nid(i)} [{_node_attrs(d.op(i), d, paint)}];")
        lines.append("  }")
    # long wires (skips) run along their own row through points in each column they pass
    column_members: dict[int, list[str]] = {c: [] for c in range(n_cols)}
    for op in d.ops:
        column_members[col[op.id]].append(_nid(op.id))
    wire_lines = []
    n_skip = 0
    for w in d.wires:
        a, b = col[w.src], col[w.dst]
        label = f" [{_wire_label(w.label)}]" if w.label else ""
        if b - a <= 1:
            wire_lines.append(f"  {_nid(w.src)} -> {_nid(w.dst)}{label};")
            continue
        n_skip += 1
        points = [f"s{n_skip}_{c}" for c in range(a + 1, b)]
        for p, c in zip(points, range(a + 1, b), strict=True):
            lines.append(f"  {p} [shape=point, width=0.02, group=s{n_skip}];")
            column_members[c].append(p)
        chain = [_nid(w.src), *points, _nid(w.dst)]
        wire_lines.append(f"  {chain[0]} -> {chain[1]}{label};")
        wire_lines.extend(f"  {u} -> {v};" for u, v in zip(chain[1:], chain[2:], strict=False))
    for c in range(n_cols):
        lines.append(f"  {{ rank=same; {' -> '.join([f'b{c}', *column_members[c]])} [style=invis]; }}")
    batch = next((a for w in d.wires for a in w.axes if a.role == "batch"), None)
    for c in range(n_cols - 1):
        if c == 0:
            lines.append(f"  b{c} -> b{c + 1} [{_wire_label(str(batch) if batch else 'b')}];")
        elif c % BATCH_LABEL_EVERY == 0:  # a reminder now and then: labelling every segment doubled the layout time
            lines.append(f"  b{c} -> b{c + 1} [{_wire_label(batch.name if batch else 'b')}];")
        else:
            lines.append(f"  b{c} -> b{c + 1};")
    lines.extend(wire_lines)
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot: str, fmt: str = "svg") -> bytes:
    """Lay out and draw DOT text with the Graphviz that pygraphviz bundles (svg, png, pdf...)."""
    import pygraphviz

    return pygraphviz.AGraph(string=dot).draw(format=fmt, prog="dot")


def render_svg(dot: str) -> str:
    """SVG text of DOT text."""
    return render(dot, "svg").decode("utf-8")
