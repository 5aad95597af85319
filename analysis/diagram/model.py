"""The diagram model of a neural circuit diagram: ops, wires carrying named axes, residual regions
and collapsible components. Pure data, separate from extraction (extract.py) and rendering (viz.ncd)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

OpKind = Literal["input", "output", "learned", "elementwise", "norm", "softmax", "copy", "add", "embed", "component"]
AxisRole = Literal["batch", "sequence", "features", "hidden", "classes", "output", "tokens"]


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
        """Learned ops, counting those inside collapsed components once per repetition."""
        inner = 0
        if self.source is not None:
            for c in self.components:
                inner += sum(1 for i in c.ops if self.source.op(i).kind == "learned") * c.repeat
        return len(self.ops_of("learned")) + inner

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
        """Repeated identical residual blocks -> one component box "Block ×N" (with `repeat` N).

        With `repeated=False` every block becomes a component, repeated or not. The wire into a run's
        first block and out of its last are re-attached to the component; `expand()` undoes it.
        """
        blocks = self.blocks()
        runs: list[list[tuple[str, ...]]] = []
        for b in blocks:
            prev = runs[-1][-1] if runs else None
            adjacent = prev is not None and self._signature(prev) == self._signature(b) and b[0] in self.outputs_of(prev[-1])
            if adjacent:
                runs[-1].append(b)
            else:
                runs.append([b])
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
                detail=f"{len(run)} identical blocks of {len(first)} ops",
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
