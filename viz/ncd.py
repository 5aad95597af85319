"""Render a neural circuit diagram (analysis.diagram.Diagram) as Graphviz DOT text, and SVG/PNG.

The grammar (Abbott 2024) and the layout tricks of shared/ncd/*.dot: rankdir=LR, splines=false, one
`group` per axis row (the batch row b passes every op unbroken: broadcast), one `rank=same` column
per op with invisible flat edges to order the rows, and `xlabel` wire labels.
"""

from __future__ import annotations

import html

from netarium.analysis.diagram.model import Diagram, Op

LEARNED_PEN = 2.6
ELEMENTWISE = 'shape=box, style="rounded,filled", fillcolor="#dff3df", color="#55aa55", fontsize=10, height=0.28'
NORM = 'shape=box, style="rounded,filled", fillcolor="#ece6f7", color="#8a74c0", fontsize=10, height=0.28'
REGION = 'style="filled,rounded"; fillcolor="#eef3fb"; color="#9bb0d0"; fontname="Helvetica"; fontsize=10;'


def _q(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _nid(op_id: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in op_id)


def _node_attrs(op: Op, diagram: Diagram) -> str:
    """The Graphviz attributes of one op's glyph."""
    if op.kind == "input":
        return f"shape=plaintext, label={_q(op.label)}"
    if op.kind == "output":
        return f"shape=plaintext, label={_q(op.label)}"
    if op.kind in ("learned", "embed"):
        letter = "L" if op.kind == "learned" else "E"
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
        return ('shape=triangle, orientation=90, label="", width=0.32, height=0.32, style=filled, '
                'fillcolor="#fff2cc", tooltip="softmax"')
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


def columns(diagram: Diagram) -> dict[str, int]:
    """Each op's column: the longest path from an input (ops are in forward order)."""
    col: dict[str, int] = {}
    for op in diagram.ops:
        ins = diagram.inputs_of(op.id)
        col[op.id] = max((col[i] + 1 for i in ins if i in col), default=0)
    return col


def to_dot(diagram: Diagram, *, collapsed: bool = False) -> str:
    """DOT text of the diagram (collapsed: repeated identical blocks drawn as one "Block ×N" box)."""
    d = diagram.collapse() if collapsed else diagram
    col = columns(d)
    n_cols = max(col.values(), default=0) + 1
    region_of = {i: k for k, r in enumerate(d.regions) for i in r.ops}
    lines = [
        f"digraph {_q(d.title or 'diagram')} {{",
        "  // Neural circuit diagram: one row per axis, the batch row b passes every op (broadcast).",
        "  rankdir=LR; splines=false; nodesep=0.12; ranksep=0.65; newrank=true;",
        '  node [fontname="Helvetica", fontsize=12, group=f];',
        '  edge [arrowhead=none, fontname="Helvetica", fontsize=10, penwidth=1.3];',
    ]
    # the batch row
    for c in range(n_cols):
        shape = 'shape=plaintext, label=""' if c in (0, n_cols - 1) else "shape=point, width=0.03"
        lines.append(f"  b{c} [{shape}, group=b];")
    for op in d.ops:
        if op.id not in region_of:
            lines.append(f"  {_nid(op.id)} [{_node_attrs(op, d)}];")
    for k, r in enumerate(d.regions):
        lines.append(f"  subgraph cluster_{k} {{")
        lines.append(f"    label={_q(r.label)}; {REGION}")
        for i in r.ops:
            lines.append(f"    {_nid(i)} [{_node_attrs(d.op(i), d)}];")
        lines.append("  }")
    # long wires (skips) run along their own row through points in each column they pass
    column_members: dict[int, list[str]] = {c: [] for c in range(n_cols)}
    for op in d.ops:
        column_members[col[op.id]].append(_nid(op.id))
    wire_lines = []
    n_skip = 0
    for w in d.wires:
        a, b = col[w.src], col[w.dst]
        label = f" [xlabel={_q(w.label)}]" if w.label else ""
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
        label = str(batch) if (batch and c == 0) else (batch.name if batch else "b")
        lines.append(f"  b{c} -> b{c + 1} [xlabel={_q(label)}];")
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
