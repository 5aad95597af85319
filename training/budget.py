"""What a run will cost before anything of it is allocated, and the budgets that refuse what is too big.

`estimate(config)` builds the model on PyTorch's meta device (shapes, no storage) and runs one training
step of it there, under a saved-tensor hook and a FLOP counter: parameters, gradients, optimizer state,
the activations autograd keeps for the batch, the activations an evaluation or a view records, the data,
the weight snapshots and the history come out in bytes, and the step's arithmetic in FLOPs. The data is
built for real first (every task is capped by its fields to a few tens of MB) because the shapes come
from it; the model never is.

Budgets (environment variables, read when checked; MB are 2**20 bytes):
- NETARIUM_SESSION_MEMORY_MB: one browser session's run (or sweep) in the app (default 1024);
- NETARIUM_SERVER_MEMORY_MB: all live sessions of one app server together (default 8192);
- NETARIUM_SESSION_GFLOP: one training step of a session's run, in GFLOP (default 20: about a second
  on one core of this kind of machine, so a step never holds a session's controls for long);
- NETARIUM_CLI_MEMORY_MB: one `netarium run` or `netarium sweep` (default 8192); no compute cap there.
A config over a budget raises BudgetError (a SchemaError: the app keeps the old run and says why, the CLI
exits 2 with one line) naming the setting, the budget and what would have been needed.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

from netarium.schema import SchemaError, env_number

MB = 2**20
SESSION_MEMORY = "NETARIUM_SESSION_MEMORY_MB"
SERVER_MEMORY = "NETARIUM_SERVER_MEMORY_MB"
SESSION_GFLOP = "NETARIUM_SESSION_GFLOP"
CLI_MEMORY = "NETARIUM_CLI_MEMORY_MB"
DEFAULTS = {SESSION_MEMORY: 1024.0, SERVER_MEMORY: 8192.0, SESSION_GFLOP: 20.0, CLI_MEMORY: 8192.0}
# optimizer state per parameter, in parameter-sized buffers (torch's implementations)
OPTIMIZER_STATE = {"sgd": 1.0, "adam": 2.0, "adamw": 2.0, "rmsprop": 2.0, "muon": 2.0}
HISTORY_METRICS = 16  # metrics a run records, about (losses, scores, norms, lr, ...)
HISTORY_POINT_BYTES = 2 * 32 * 2  # a step and a value as Python objects in lists, the history and a published copy
# the allocator's slack and kernels' own buffers, beyond the tensors counted: a GRU's real peak was about
# 1.5x its counted one, a transformer's 1.2x
WORKSPACE = 0.5
VIEW_COPIES = 2  # views hold a private copy of the model (LiveRun.model_copy) and curvature a gradient's worth
# the Dynamics page's curvature (analysis/hessian.py: top-3 eigenvalues, Hutchinson's trace) in parameter-long
# float64 vectors: measured on an 8 x 1024 MLP (7.35M parameters), its peak was 930 MB, 15.8 of them
CURVATURE_VECTORS = 16


class BudgetError(SchemaError):
    """A config that would not fit a budget; nothing of it was allocated."""

    def __init__(self, key: str, problem: str):
        super().__init__(key, problem)


def limit(name: str) -> float:
    """A budget from its environment variable (MB or GFLOP), else its default; a bad value is a
    BudgetError that names the variable."""
    try:
        return env_number(name, DEFAULTS[name], "budget", unit=f"megabytes, or GFLOP for {SESSION_GFLOP}")
    except SchemaError as e:
        raise BudgetError("budget", e.problem) from None


def size(n_bytes: float) -> str:
    """Bytes as people read them: 812 KB, 3.4 MB, 1.2 GB."""
    for unit, scale in (("GB", 2**30), ("MB", MB), ("KB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}" if n_bytes < 10 * scale else f"{n_bytes / scale:,.0f} {unit}"
    return f"{n_bytes:.0f} B"


def flops_text(flops: float) -> str:
    for unit, scale in (("TFLOP", 1e12), ("GFLOP", 1e9), ("MFLOP", 1e6), ("kFLOP", 1e3)):
        if flops >= scale:
            return f"{flops / scale:.1f} {unit}"
    return f"{flops:.0f} FLOP"


@dataclass(frozen=True)
class Cost:
    """A run's estimated memory, part by part (bytes), and one training step's arithmetic (FLOPs)."""

    parameters: int
    parts: dict[str, int] = field(default_factory=dict)
    step_flops: float = 0.0
    members: int = 1  # runs trained together (a sweep's batch): every part counts this many times
    runs: int = 1  # runs this cost covers (members, or runs of several shapes added up): for the summary

    @property
    def bytes(self) -> int:
        return self.members * sum(self.parts.values())

    @property
    def flops(self) -> float:
        """One step of every member."""
        return self.members * self.step_flops

    def without(self, *names: str) -> Cost:
        """This cost less some parts (the command line has no views)."""
        return Cost(self.parameters, {k: v for k, v in self.parts.items() if k not in names}, self.step_flops,
                    self.members, self.runs)

    def times(self, members: int) -> Cost:
        return Cost(self.parameters, dict(self.parts), self.step_flops, self.members * members, self.runs * members)

    def summary(self) -> str:
        """One line: the total, its largest parts, the step's arithmetic."""
        top = sorted(self.parts.items(), key=lambda kv: -kv[1])[:3]
        runs = f" for {self.runs} runs" if self.runs > 1 else ""
        parts = ", ".join(f"{name} {size(self.members * b)}" for name, b in top if b)
        return (f"about {size(self.bytes)}{runs} ({parts}); {self.parameters:,} parameters, "
                f"{flops_text(self.flops)} a step")


def _task_bytes(task: Any) -> int:
    return sum(int(t.numel() * t.element_size()) for t in vars(task).values() if isinstance(t, torch.Tensor))


def estimate(config: Any, task: Any = None) -> Cost:
    """The Cost of training `config` (its task built if not given; its model only on the meta device)."""
    from netarium.models import ModelSpec, build_model
    from netarium.tasks import make_task
    from netarium.training.optim import resolve_loss
    from netarium.training.run import EVAL_CAP
    from netarium.training.snapshots import MAX_SNAPSHOTS, SNAPSHOT_BYTES

    if task is None:
        task = make_task(config.task.name, config.task, seed=config.task_seed)
    loss = resolve_loss(config.loss, task.kind, task.n_classes, task.n_outputs)
    spec = ModelSpec.for_task(task, n_outputs=loss.n_outputs)
    n_train, n_test = int(task.X_train.shape[0]), int(task.X_test.shape[0])
    batch = n_train if config.batch_size == 0 or config.batch_size >= n_train else config.batch_size
    n_eval = min(n_test, EVAL_CAP)
    with torch.random.fork_rng(devices=[]), torch.device("meta"):  # a model's init draws from the global RNG
        model = build_model(config.model.name, config.model, spec)
        params = sum(p.numel() for p in model.parameters())
        param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        buffer_bytes = sum(b.numel() * b.element_size() for b in model.buffers())
        training = _Peak()
        with FlopCounterMode(display=False) as counter, training:
            model(task.X_train[:batch].to("meta")).float().sum().backward()
        step_flops = float(counter.get_total_flops())
        model.zero_grad(set_to_none=True)
        evaluation = _Peak()
        with torch.no_grad(), evaluation:
            model(task.X_test[:n_eval].to("meta"))
    optimizer_state = OPTIMIZER_STATE.get(config.optimizer.name, 2.0)
    if config.optimizer.name == "sgd" and not getattr(config.optimizer, "momentum", 0.0):
        optimizer_state = 0.0
    snapshots = min(SNAPSHOT_BYTES, MAX_SNAPSHOTS * param_bytes) if param_bytes <= SNAPSHOT_BYTES else 0
    parts = {
        "parameters": int(param_bytes + buffer_bytes),
        "optimizer state": int(optimizer_state * param_bytes),
        "training step": int(training.peak),  # activations kept for the backward pass, and the gradients
        "evaluation": int(evaluation.peak),
        "workspace": int(WORKSPACE * (training.peak + evaluation.peak)),
        "data": _task_bytes(task),
        "snapshots": int(snapshots),
        "history": int(config.history_points * HISTORY_METRICS * HISTORY_POINT_BYTES),
        # a private copy of the model, and the curvature's Hessian-vector products: a double backward pass
        # (about a training step more) and a few float64 vectors as long as the parameters
        "views": int(VIEW_COPIES * param_bytes + training.peak + CURVATURE_VECTORS * 8 * params),
    }
    return Cost(int(params), parts, step_flops)


def estimate_all(configs: Any) -> Cost:
    """The Cost of training all `configs` at once (a sweep's members): configs that differ only in their
    seeds are estimated once."""
    from netarium.training.config import Config

    shapes: dict[str, tuple[Config, int]] = {}
    for config in configs:
        key = Config.model_validate(config.model_dump() | {"seed": 0, "data_seed": None}).model_dump_json()
        shapes[key] = (shapes[key][0] if key in shapes else config, shapes.get(key, (None, 0))[1] + 1)
    if not shapes:
        raise ValueError("no configs to estimate")
    costs = [estimate(config).times(n) for config, n in shapes.values()]
    if len(costs) == 1:
        return costs[0]
    parts = {k: sum(c.members * c.parts.get(k, 0) for c in costs) for k in costs[0].parts}
    return Cost(sum(c.members * c.parameters for c in costs), parts, sum(c.members * c.step_flops for c in costs),
                runs=sum(c.runs for c in costs))


class _Peak(TorchDispatchMode):
    """The peak bytes of tensors alive at once while it is active: every new tensor an operation makes
    (not views) counts until the tensor is freed (PyTorch keeps a tensor's Python object as long as
    autograd holds it, so a saved activation counts until the backward pass lets it go)."""

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0

    def _free(self, n: int) -> None:
        self.live -= n

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor) and not t._is_view():
                n = t.numel() * t.element_size()
                self.live += n
                self.peak = max(self.peak, self.live)
                weakref.finalize(t, self._free, n)
        return out


# ---- budgets ----

def check_cli(cost: Cost, what: str = "this run") -> None:
    """Refuse a CLI run over NETARIUM_CLI_MEMORY_MB (its views part does not count: no page draws there)."""
    cost = cost.without("views")
    budget = limit(CLI_MEMORY) * MB
    if cost.bytes > budget:
        raise BudgetError("budget", f"{what} needs {cost.summary()}, more than the command line's memory budget of "
                          f"{size(budget)} ({CLI_MEMORY}); make the model, batch or data smaller, or raise {CLI_MEMORY}")


class Ledger:
    """The app server's live sessions and what each one's run holds (their estimates), so that a new run
    is refused when the session's or the server's budget would be exceeded. Owners are weakly held: a
    session whose run was freed (or collected) stops counting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._costs: weakref.WeakKeyDictionary[Any, dict[str, Cost]] = weakref.WeakKeyDictionary()

    def reserve(self, owner: Any, slot: str, cost: Cost) -> None:
        """Check `cost` (see check) and record it."""
        with self._lock:
            self._check(owner, slot, cost)
            self._costs.setdefault(owner, {})[slot] = cost

    def check(self, owner: Any, slot: str, cost: Cost) -> None:
        """BudgetError when `cost` in `owner`'s `slot` (replacing what it holds there) would exceed a
        session's or the server's budget; nothing is recorded."""
        with self._lock:
            self._check(owner, slot, cost)

    def _check(self, owner: Any, slot: str, cost: Cost) -> None:
        session_memory, step_flops = limit(SESSION_MEMORY) * MB, limit(SESSION_GFLOP) * 1e9
        server_memory = limit(SERVER_MEMORY) * MB
        what = "this sweep" if cost.members > 1 or slot == "sweep" else "this run"
        mine = [c for k, c in self._costs.get(owner, {}).items() if k != slot]
        session_total = cost.bytes + sum(c.bytes for c in mine)
        if session_total > session_memory:
            held = f"; with the {size(session_total - cost.bytes)} this session holds already, that is" if mine else ","
            raise BudgetError("budget", f"{what} needs {cost.summary()}{held} more than a session's memory budget "
                              f"of {size(session_memory)} ({SESSION_MEMORY}); make the model, batch or data smaller")
        if cost.flops > step_flops:
            raise BudgetError("budget", f"one training step of {what} would take {flops_text(cost.flops)}, "
                              f"more than a session's budget of {flops_text(step_flops)} a step ({SESSION_GFLOP}); "
                              "make the model, batch or data smaller")
        others = sum(c.bytes for o, slots in self._costs.items() if o is not owner for c in slots.values())
        if others + session_total > server_memory:
            raise BudgetError("budget", f"the server is busy: its other sessions hold {size(others)} of its "
                              f"{size(server_memory)} memory budget ({SERVER_MEMORY}) and {what} needs {size(cost.bytes)}; "
                              "try a smaller model, or again in a few minutes")

    def put(self, owner: Any, slot: str, cost: Cost) -> None:
        """Record `cost` without checking it (giving back a reservation that a failed build replaced)."""
        with self._lock:
            self._costs.setdefault(owner, {})[slot] = cost

    def release(self, owner: Any, slot: str | None = None) -> None:
        """`owner` no longer holds `slot` (None: anything)."""
        with self._lock:
            slots = self._costs.get(owner)
            if slots is None:
                return
            if slot is None:
                slots.clear()
            else:
                slots.pop(slot, None)
            if not slots:
                self._costs.pop(owner, None)

    def held(self, owner: Any = None) -> int:
        """Bytes held by `owner` (None: by all)."""
        with self._lock:
            owners = [owner] if owner is not None else list(self._costs)
            return sum(c.bytes for o in owners for c in self._costs.get(o, {}).values())

    def owners(self) -> int:
        with self._lock:
            return len(self._costs)


LEDGER = Ledger()


def budgets() -> dict[str, float]:
    """{environment variable: the budget in force (MB, or GFLOP a step)}."""
    return {name: limit(name) for name in DEFAULTS}


def limits_text() -> str:
    """The budgets in force, for `netarium list` and the widgets' help."""
    return (f"a session's run may use {size(limit(SESSION_MEMORY) * MB)} ({SESSION_MEMORY}) and "
            f"{flops_text(limit(SESSION_GFLOP) * 1e9)} a step ({SESSION_GFLOP}); all sessions of a server together "
            f"{size(limit(SERVER_MEMORY) * MB)} ({SERVER_MEMORY}); a command-line run {size(limit(CLI_MEMORY) * MB)} ({CLI_MEMORY})")
