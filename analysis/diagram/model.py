"""The diagram model of a neural circuit diagram: ops, wires carrying named axes, residual regions
and collapsible components. Pure data, separate from extraction (extract.py) and rendering (viz.ncd)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

OpKind = Literal["input", "output", "learned", "elementwise", "norm", "softmax", "copy", "add", "embed", "component",
                 "reshape", "contract", "scale", "mask", "constant"]
AxisRole = Literal["batch", "sequence", "features", "hidden", "classes", "output", "tokens", "heads"]


@dataclass(frozen=True)
class Axis:
    """One tensor axis, drawn as one wire: its name (b, m, h, c, d, t, ...), size and role."""

    name: str
    size: int | None
    role: str

    def __str__(self) -> str:
        return self.name if self.size is None else f"{self.name} {self.size}"


@dataclass(frozen=True)
class Op:
    """One operation (a box, glyph, dot or "+") with the module it comes from and its parameters."""

    id: str
    kind: OpKind
    label: str
    module: str = ""
    params: int = 0
    instance: str = ""
    axes_in: tuple[Axis, ...] = ()
    axes_out: tuple[Axis, ...] = ()
    detail: str = ""
    frozen: bool = False  # a linear map whose weights are fixed, never trained (the hourglass's random lift)


@dataclass(frozen=True)
class Wire:
    """A tensor flowing from op `src` to op `dst`: a group of adjacent axis wires."""

    src: str
    dst: str
    axes: tuple[Axis, ...]

    def axis(self, role: str) -> Axis | None:
        return next((a for a in self.axes if a.role == role), None)

    @property
    def label(self) -> str:
        """The non-batch axes, e.g. "m 2" (the batch axis has its own row)."""
        return " ".join(str(a) for a in self.axes if a.role != "batch")


@dataclass(frozen=True)
class Region:
    """A shaded, labelled group of ops: the branch of a residual block."""

    label: str
    ops: tuple[str, ...]
    kind: str = "residual"


@dataclass(frozen=True)
class Component:
    """A collapsed block: one box standing for `ops` (of one block), repeated `repeat` times;
    `members` are the ops of all the repetitions (what a live overlay aggregates)."""

    id: str
    label: str
    ops: tuple[str, ...]
    repeat: int = 1
    members: tuple[str, ...] = ()


MAX_PERIOD = 4  # a repeated unit may span up to this many residual branches (attention + MLP = 2)


@dataclass(frozen=True)
class Diagram:
    """Ops in forward order, wires between them, residual regions and (when collapsed) components."""

    title: str
    ops: tuple[Op, ...]
    wires: tuple[Wire, ...]
    regions: tuple[Region, ...] = ()
    components: tuple[Component, ...] = ()
    source: Diagram | None = field(default=None, compare=False, repr=False)

    def op(self, id: str) -> Op:
        for o in self.ops:
            if o.id == id:
                return o
        raise KeyError(f"no op {id!r} in diagram {self.title!r}")

    def ops_of(self, kind: str) -> list[Op]:
        return [o for o in self.ops if o.kind == kind]

    def learned_count(self) -> int:
        """Learned ops, counting those inside collapsed components once per repetition; a frozen map
        (not trained) is no learned op."""
        inner = 0
        if self.source is not None:
            for c in self.components:
                inner += sum(1 for i in c.ops if self.source.op(i).kind == "learned" and not self.source.op(i).frozen) * c.repeat
        return sum(1 for o in self.ops_of("learned") if not o.frozen) + inner

    def parameter_count(self) -> int:
        return sum(o.params for o in self.ops)

    def inputs_of(self, id: str) -> list[str]:
        return [w.src for w in self.wires if w.dst == id]

    def outputs_of(self, id: str) -> list[str]:
        return [w.dst for w in self.wires if w.src == id]

    def with_batch_size(self, size: int | None) -> Diagram:
        """The same diagram with the batch axis relabelled (the example batch is rarely the real one)."""

        def fix(axes: tuple[Axis, ...]) -> tuple[Axis, ...]:
            return tuple(replace(a, size=size) if a.role == "batch" else a for a in axes)

        ops = tuple(replace(o, axes_in=fix(o.axes_in), axes_out=fix(o.axes_out)) for o in self.ops)
        wires = tuple(replace(w, axes=fix(w.axes)) for w in self.wires)
        src = self.source.with_batch_size(size) if self.source is not None else None
        return Diagram(self.title, ops, wires, self.regions, self.components, source=src)

    def blocks(self) -> list[tuple[str, ...]]:
        """Each residual block as its ops in order: the copy, the branch, the "+"."""
        out = []
        for r in self.regions:
            if r.kind != "residual" or not r.ops:
                continue
            add = next((d for d in self.outputs_of(r.ops[-1]) if self.op(d).kind == "add"), None)
            copy = next((s for s in self.inputs_of(r.ops[0]) if self.op(s).kind == "copy"), None)
            if add and copy:
                out.append((copy, *r.ops, add))
        return out

    def _signature(self, block: tuple[str, ...]) -> tuple:
        return tuple((o.kind, o.label, o.params, o.axes_out) for o in map(self.op, block))

    def collapse(self, repeated: bool = True) -> Diagram:
        """Repeated identical residual blocks -> one component box "Block ×N" (with `repeat` N). A
        repeated unit may span several residual branches (a transformer block is an attention and an
        MLP branch); the unit covering the most blocks wins.

        With `repeated=False` every block becomes a component, repeated or not. The wire into a run's
        first block and out of its last are re-attached to the component; `expand()` undoes it.
        """
        blocks = self.blocks()
        sigs = [self._signature(b) for b in blocks]
        chained = [i > 0 and blocks[i][0] in self.outputs_of(blocks[i - 1][-1]) for i in range(len(blocks))]
        runs: list[list[tuple[str, ...]]] = []  # each run: repetitions of one unit of `period` blocks
        i = 0
        while i < len(blocks):
            best_p, best_r = 1, 1
            for p in range(1, MAX_PERIOD + 1):
                r = 1
                while (i + (r + 1) * p <= len(blocks) and sigs[i + r * p : i + (r + 1) * p] == sigs[i : i + p]
                       and all(chained[i + 1 : i + (r + 1) * p])):
                    r += 1
                if r >= 2 and p * r > best_p * best_r:
                    best_p, best_r = p, r
            unit = best_p if best_r >= 2 else 1
            units = best_r if best_r >= 2 else 1
            runs.append([tuple(op for b in blocks[i + k * unit : i + (k + 1) * unit] for op in b) for k in range(units)])
            i += unit * units
        runs = [r for r in runs if len(r) >= (2 if repeated else 1)]
        if not runs:
            return self
        ops, wires, regions, comps = list(self.ops), list(self.wires), list(self.regions), list(self.components)
        for k, run in enumerate(runs, 1):
            members = {i for b in run for i in b}
            first, last = run[0], run[-1]
            cid = f"component{k}"
            label = "Block" if len(run) == 1 else f"Block ×{len(run)}"
            comp_op = Op(
                id=cid, kind="component", label=label, module=",".join(self.op(i).module for i in first if self.op(i).module),
                params=sum(self.op(i).params for i in members), instance=str(k),
                axes_in=self.op(first[0]).axes_in, axes_out=self.op(last[-1]).axes_out,
                detail=f"{len(run)} identical blocks of {len(first)} ops" if len(run) > 1 else f"one block of {len(first)} ops",
            )
            at = next(i for i, o in enumerate(ops) if o.id == first[0])
            ops = [o for o in ops if o.id not in members]
            ops.insert(min(at, len(ops)), comp_op)
            new_wires = []
            for w in wires:
                if w.src in members and w.dst in members:
                    continue
                if w.dst in members:
                    w = replace(w, dst=cid)
                if w.src in members:
                    w = replace(w, src=cid)
                new_wires.append(w)
            wires = new_wires
            regions = [r for r in regions if not set(r.ops) & members]
            comps.append(Component(cid, label, first, repeat=len(run), members=tuple(i for b in run for i in b)))
        return Diagram(self.title, tuple(ops), tuple(wires), tuple(regions), tuple(comps), source=self)

    def expand(self) -> Diagram:
        """The fully expanded diagram this one was collapsed from (itself when not collapsed)."""
        d = self
        while d.source is not None:
            d = d.source
        return d

    def collapsed(self, depth: int) -> Diagram:
        """Depth control: 2+ = every op, 1 = repeated blocks as one "Block ×N", 0 = every block a box."""
        full = self.expand()
        if depth >= 2:
            return full
        return full.collapse(repeated=depth == 1)
