"""Terminal entry: `netarium list | run | sweep | diagram | app | bench`. Bad input: exit 2 and one line, never a traceback."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from netarium.schema import SchemaError, schema_summary

EXIT_USAGE = 2


class UsageError(Exception):
    """A bad argument; main() prints it as one line and exits 2."""


class Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> Parser:
    p = Parser(prog="netarium", description="Train small networks and see inside them.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    ls = sub.add_parser("list", help="tasks, models, optimizers, trainers and experiments with their parameters")
    ls.add_argument("--json", action="store_true", help="print JSON instead of text")

    run = sub.add_parser("run", help="train an experiment headless")
    _config_arguments(run)
    run.add_argument("--check", action="store_true", help="judge the phenomenon; exit 1 when it did not show")
    run.add_argument("--json", dest="json_path", help="write config, final numbers, history and check as JSON ('-' = stdout)")
    run.add_argument("--save", action="store_true", help="save the run and a checkpoint in the run store")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    sweep = sub.add_parser("sweep", help="train many variants of an experiment's config and rank them")
    _config_arguments(sweep)
    sweep.add_argument("--axis", dest="axes", action="append", default=[], metavar="KEY=VALUES",
                       help="a swept key: log:LO:HI:N, lin:LO:HI:N, int:LO:HI:N or a,b,c "
                            "(e.g. optimizer.lr=log:1e-4:1:7, model.hidden=[8],[16,16]; repeatable: a grid)")
    sweep.add_argument("--seeds", type=int, default=1, help="seeds per point: the base seed + 0..S-1 (default 1)")
    sweep.add_argument("--random", type=int, default=0, metavar="N", help="N random draws instead of the grid")
    sweep.add_argument("--workers", type=int, help="worker processes for members the batched engine cannot take "
                                                   "(default: the core count minus one; 1 trains them in this process)")
    sweep.add_argument("--ray-address", metavar="ADDRESS",
                       help="train on this Ray cluster ('auto': the one RAY_ADDRESS names or `ray start` began here)")
    sweep.add_argument("--json", dest="json_path", help="write the sweep and every member (config, final numbers, "
                                                        "history, state) as JSON ('-' = stdout, no table)")
    sweep.add_argument("--save", action="store_true", help="save the sweep and its members in the run store")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")

    dia = sub.add_parser("diagram", help="draw a model's neural circuit diagram (DOT, SVG or PNG)")
    dia.add_argument("model", help="model name (see `netarium list`)")
    dia.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="model.<param>=value, task.<param>=value or batch_size=N (repeatable)")
    dia.add_argument("--task", help="task whose inputs and outputs the model is built for "
                                     "(default spiral, or the first token task for a model that reads tokens)")
    dia.add_argument("--format", choices=("dot", "svg", "png"), default="dot", help="output format (default dot)")
    dia.add_argument("--out", type=Path, help="write to this file instead of stdout")
    dia.add_argument("--collapsed", action="store_true", help="draw repeated identical blocks as one box")
    dia.add_argument("--train", type=int, default=0, metavar="STEPS",
                     help="train this many steps first and overlay weight norms and dead units (default 0: no overlay)")
    dia.add_argument("--overlay", default="weight_norm,dead_fraction", metavar="LEARNED,ELEMENTWISE",
                     help="overlay metrics with --train: weight_norm|grad_norm|none, dead_fraction|mean_activation|none")

    app = sub.add_parser("app", help="start the Streamlit app")
    app.add_argument("--port", type=int, default=8501)
    app.add_argument("--address", help="address to listen on (default: all)")

    bench = sub.add_parser("bench", help="run a benchmark and print its figures")
    bench.add_argument("name", help="benchmark name (engine)")
    bench.add_argument("--json", dest="json_path", help="write the figures as JSON")
    bench.add_argument("--quick", action="store_true", help="fewer rounds (rough figures)")
    return p


def _config_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments that make a Config from an experiment's preset (run and sweep)."""
    p.add_argument("experiment", help="experiment id (see `netarium list`)")
    p.add_argument("--config", type=Path, help="a Config JSON file replacing the experiment's preset")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--steps", type=int, help="training steps")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. task.noise=0.2 or model.hidden=8,8 (repeatable)")


def experiment_config(args: argparse.Namespace) -> tuple[Any, Any]:
    """(experiment, Config): its preset, or --config, with --set, --seed and --steps applied; sets the
    training threads ($NETARIUM_THREADS, else every core: nothing else shares a headless run)."""
    import torch

    from netarium.experiments import EXPERIMENTS
    from netarium.training.run import torch_threads

    exp = EXPERIMENTS.get(args.experiment)
    torch.set_num_threads(torch_threads(default=os.cpu_count() or 1))  # headless: every core is ours
    config = read_config_file(args.config) if args.config else exp.config
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.steps is not None:
        overrides.append(f"steps={args.steps}")
    return exp, config.with_overrides(overrides)


MAX_CONFIG_BYTES = 1 << 20  # a Config is a few kB; a bigger file is a mistake, not a config


def read_config_file(path: Path) -> Any:
    """The Config in a JSON file; anything wrong (missing, a directory, over 1 MiB, binary, not UTF-8,
    not JSON, too deep, not an object, a bad value) is a UsageError naming the file and the problem."""
    from netarium.training.config import Config

    where = f"--config {path}"
    if path.is_dir():
        raise UsageError(f"{where}: is a directory, not a file")
    try:
        with path.open("rb") as f:  # at most the cap + 1 bytes: /dev/zero or a huge file is never read whole
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise UsageError(f"{where}: cannot read ({e.strerror or e})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise UsageError(f"{where}: larger than {MAX_CONFIG_BYTES >> 20} MiB (a config is a small JSON object)")
    if b"\0" in raw:
        raise UsageError(f"{where}: a binary file, not JSON text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"{where}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})") from None
    try:
        return Config.from_json(text)
    except SchemaError as e:
        raise UsageError(f"{where}: {e.problem if e.key == 'config' else e}") from None


def one_line(message: str, limit: int = 1000) -> str:
    """A message as one printable line: control characters escaped, at most `limit` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _write_json(path: str, payload: Any) -> None:
    """Strict JSON to `path` ('-' = stdout)."""
    text = json.dumps(payload, indent=2, default=str, allow_nan=False)
    if path == "-":
        print(text)
        return
    try:
        Path(path).write_text(text)
    except OSError as e:
        raise UsageError(f"--json: cannot write {path} ({e.strerror})") from None


def _catalog() -> dict[str, Any]:
    from netarium.experiments import EXPERIMENTS
    from netarium.training.config import SECTIONS

    out: dict[str, Any] = {}
    for section, registry in SECTIONS.items():
        out[section + "s"] = [
            {"name": e.name, "description": e.description, "parameters": schema_summary(e.schema)} for e in registry
        ]
    out["experiments"] = [
        {"id": e.id, "title": e.title, "paper": e.paper, "look_for": e.look_for, "page": e.page} for e in EXPERIMENTS
    ]
    return out


def cmd_list(args: argparse.Namespace) -> int:
    from netarium.training.budget import budgets, limits_text
    from netarium.training.sessions import sessions_text

    catalog = _catalog()
    if args.json:
        print(json.dumps({**catalog, "budgets": budgets()}, indent=2, default=str))
        return 0
    print(f"budgets: {limits_text()}")
    print(f"sessions: {sessions_text()}")
    for kind, items in catalog.items():
        print(f"{kind}:")
        for item in items:
            if kind == "experiments":
                print(f"  {item['id']:<22} {item['title']}  [{item['paper']}]")
                continue
            print(f"  {item['name']:<22} {item['description']}")
            for prm in item["parameters"]:
                print(f"      {prm['name']}={json.dumps(prm['default'], default=str)}  ({prm['allowed']})")
    return 0


class ProgressBar:
    """A one-line progress bar on stderr (fewer updates when stderr is not a terminal)."""

    def __init__(self, label: str, enabled: bool = True):
        self.label, self.enabled = label, enabled
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.last_pct = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        pct = int(100 * done / total)
        if pct == self.last_pct or (not self.tty and pct % 10 and done < total):
            return
        self.last_pct = pct
        bar = "#" * (pct // 4) + "-" * (25 - pct // 4)
        rate = done / max(time.perf_counter() - self.t0, 1e-9)
        end = "\r" if self.tty and done < total else "\n"
        sys.stderr.write(f"{self.label} [{bar}] {pct:3d}% {done}/{total} steps {rate:,.0f} steps/s{end}")
        sys.stderr.flush()


def cmd_run(args: argparse.Namespace) -> int:
    from netarium.training.budget import check_cli, estimate
    from netarium.training.runs_io import json_number, jsonable

    exp, config = experiment_config(args)
    check_cli(estimate(config))  # over NETARIUM_CLI_MEMORY_MB: exit 2, one line, nothing built
    progress: Any = ProgressBar(exp.id, enabled=not args.quiet)
    store = writer = None
    if args.save:  # written as it trains: a killed process leaves the run 'interrupted' up to the last flush
        from netarium.training.runs_io import RunWriter
        from netarium.training.store import RunStore

        store = RunStore()
        writer = progress = RunWriter(store, config.model_dump(mode="json"), experiment=exp.id, progress=progress)
    try:
        result = exp.run(config, progress)
    except BaseException as e:
        if writer is not None and store is not None:
            store.update_run(writer.run_id, status="stopped" if isinstance(e, KeyboardInterrupt) else "failed",
                             reason=f"{type(e).__name__}: {e}"[:500])
            store.close()
        raise
    check = exp.check(result) if args.check else None
    if result.state == "diverged":
        print(f"netarium: run diverged: {result.reason}", file=sys.stderr)
    summary = ", ".join(f"{k} {v:.4g}" for k, v in result.final.items())
    print(f"{exp.id}: {result.steps} steps in {result.seconds:.1f} s; {summary}", file=sys.stderr)
    if check is not None:
        print(f"check {'PASSED' if check.passed else 'FAILED'}: {check.reason}", file=sys.stderr)

    if writer is not None and store is not None:
        from netarium.training.runs_io import kept_history, last_values

        diverged = result.state == "diverged"
        first = result.runs[0] if result.runs else None
        points = kept_history(result.history, diverged, first.last_finite_loss() if first is not None else None)
        final = last_values(points) if diverged else result.final  # a diverged run: its last finite numbers
        with store:
            writer.finish(points, final, result.steps, result.seconds, status="diverged" if diverged else "done",
                          # a diverged run's weights are NaN: the last streamed (finite) checkpoint stays, if any
                          weights=first.model.state_dict() if first is not None and not (diverged and writer.flushes) else None,
                          check=check.as_dict() if check else None, reason=result.reason)
            print(f"saved as run {writer.run_id} in {store.path} ({writer.flushes} flushes on the way, "
                  f"{writer.flush_seconds:.2f} s writing)", file=sys.stderr)

    if args.json_path:
        payload = {
            "experiment": exp.id,
            "config": config.model_dump(mode="json"),
            "steps": result.steps,
            "seconds": result.seconds,
            "final": {k: json_number(v) for k, v in result.final.items()},
            "history": {m: [[s, json_number(v)] for s, v in pts] for m, pts in result.history.as_dict().items()},
            "check": jsonable(check.as_dict()) if check else None,
        }
        if result.extra:
            payload["extra"] = jsonable(result.extra)
        _write_json(args.json_path, payload)
    if check is not None and not check.passed:
        return 1
    return 1 if result.state == "diverged" else 0


def _check_count(flag: str, value: int | None, low: int) -> None:
    from netarium.training.sweep import MAX_MEMBERS

    if value is not None and not low <= value <= MAX_MEMBERS:
        raise UsageError(f"{flag}: expected a whole number from {low} to {MAX_MEMBERS} (got {value})")


def sweep_table(result: Any) -> str:
    """Members best first (runs_io.ranked_members): member, axis values, seed, how it ended, the
    headline test metric and the train loss; diverged and failed members last, marked with their step."""
    from netarium.training.runs_io import headline_metric, member_status, ranked_members
    from netarium.training.sweep import show_value

    keys = [a.key for a in result.sweep.axes]
    metric = next((headline_metric(m.final)[0] for m in result.members if headline_metric(m.final)[0]), "test metric")
    rows = [["member", *keys, "seed", "state", metric, "train_loss"]]
    for m in ranked_members(result.members):
        state = member_status(m, result.sweep.base.steps)
        if state in ("diverged", "failed"):
            state = f"{state.upper()} at step {m.step}"
        numbers = [m.final.get(metric, math.nan), m.final.get("train_loss", math.nan)]
        rows.append([f"#{m.index}", *(show_value(m.point.get(k, ""), ".4g") for k in keys), str(m.config.seed), state,
                     *(f"{v:.4g}" if math.isfinite(v) else "-" for v in numbers)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def cmd_sweep(args: argparse.Namespace) -> int:
    from netarium.training.budget import check_cli, estimate_all
    from netarium.training.pool import default_workers
    from netarium.training.sweep import sweep_from_specs
    from netarium.training.sweep_run import run_sweep

    _check_count("--seeds", args.seeds, 1)
    _check_count("--random", args.random, 0)
    _check_count("--workers", args.workers, 1)
    if args.ray_address is not None and importlib.util.find_spec("ray") is None:
        raise UsageError("--ray-address: ray is not installed here (pip install 'netarium[ray]')")
    exp, config = experiment_config(args)
    sweep = sweep_from_specs(config, args.axes, seeds=args.seeds, samples=args.random)
    members = sweep.members()  # every member validated before anything trains
    size = len(members)
    check_cli(estimate_all(m.config for m in members), "this sweep")
    where = f"on Ray at {args.ray_address}" if args.ray_address else ""
    print(f"{exp.id}: sweeping {size} member{'s' * (size != 1)} {where}".rstrip(), file=sys.stderr)
    try:
        result = run_sweep(sweep, ProgressBar(f"{exp.id} sweep", enabled=not args.quiet),
                           workers=args.workers or default_workers(), ray_address=args.ray_address)
    except ConnectionError as e:
        raise UsageError(f"--ray-address: cannot reach a Ray cluster at {args.ray_address} ({e})") from None
    bad = sum(m.state in ("diverged", "failed") for m in result.members)
    print(f"{exp.id}: {size} members, {sweep.base.steps} steps in {result.seconds:.1f} s"
          + (f"; {bad} diverged or failed" if bad else ""), file=sys.stderr)
    if args.json_path != "-":
        print(sweep_table(result))
    if args.save:
        from netarium.training.runs_io import save_sweep_result
        from netarium.training.store import RunStore

        with RunStore() as store:
            sweep_id = save_sweep_result(store, result, name=exp.id)
            print(f"saved as sweep {sweep_id} in {store.path}", file=sys.stderr)
    if args.json_path:
        from netarium.training.runs_io import member_status

        payload = result.to_dict()
        for d, m in zip(payload["members"], result.members, strict=True):
            d["state"] = member_status(m, sweep.base.steps)
        _write_json(args.json_path, payload)
    return 1 if bad == size else 0


def _overlay_metrics(text: str) -> tuple[str | None, str | None]:
    from netarium.analysis.diagram import ELEMENTWISE_METRICS, LEARNED_METRICS

    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or parts[0] not in (*LEARNED_METRICS, "none") or parts[1] not in (*ELEMENTWISE_METRICS, "none"):
        raise UsageError(f"--overlay: expected LEARNED,ELEMENTWISE with LEARNED one of {', '.join(LEARNED_METRICS)}, none "
                         f"and ELEMENTWISE one of {', '.join(ELEMENTWISE_METRICS)}, none (got {text!r})")
    learned, elementwise = (None if p == "none" else p for p in parts)
    return learned, elementwise


def default_task(model: str) -> str:
    """The task a diagram of `model` is built for when none is named: spiral, or for a model that reads
    tokens (tag "tokens") the first registered task that gives tokens, or for one that reads time series
    (tag "timeseries") the first time-series task."""
    from netarium.models import MODELS
    from netarium.tasks import TASKS

    if "tokens" in MODELS.get(model).tags:
        return next((e.name for e in TASKS if "tokens" in e.tags), "spiral")
    if "timeseries" in MODELS.get(model).tags:  # a model that reads time series and no tokens (ts-lstm)
        return next((e.name for e in TASKS if "timeseries" in e.tags), "spiral")
    return "spiral"


def cmd_diagram(args: argparse.Namespace) -> int:
    from netarium.analysis.diagram import diagram_overlay, task_diagram
    from netarium.training.config import Config
    from netarium.training.run import Run
    from netarium.viz.ncd import render, to_dot

    learned, elementwise = _overlay_metrics(args.overlay)
    if args.train < 0:
        raise UsageError(f"--train: expected a number of steps >= 0 (got {args.train})")
    if args.format == "png" and not args.out:
        raise UsageError("--format png: PNG is binary, name a file with --out")
    task = args.task or default_task(args.model)
    config = Config().with_overrides([f"task.name={task}", f"model.name={args.model}", *args.overrides])
    run = Run(config.with_overrides([f"steps={max(args.train, 1)}"]))
    overlay = None
    if args.train:
        run.train()
        if run.state == "diverged":
            raise UsageError(f"--train: {run.reason}")
    diagram = task_diagram(run.model, run.task, run.batch_size, title=args.model)
    if args.train:
        x, y = run.task.X_train[:512], run.task.y_train[:512]
        overlay = diagram_overlay(run.model, diagram, x, y, run.loss, step=run.step_count)
    dot = to_dot(diagram, collapsed=args.collapsed, overlay=overlay, learned=learned, elementwise=elementwise)
    data = dot.encode() if args.format == "dot" else render(dot, args.format)
    if args.out:
        try:
            args.out.write_bytes(data)
        except OSError as e:
            raise UsageError(f"--out: cannot write {args.out} ({e.strerror})") from None
    else:
        sys.stdout.write(data.decode())
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    from netarium.ui.server import serve

    return serve(args.port, args.address)


def cmd_bench(args: argparse.Namespace) -> int:
    from netarium.bench import BENCHMARKS

    if args.name not in BENCHMARKS:
        raise UsageError(f"bench: unknown benchmark {args.name!r} (allowed: one of {', '.join(BENCHMARKS)})")
    figures = BENCHMARKS[args.name](quick=args.quick)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(figures, indent=2))
    return 0


COMMANDS = {"list": cmd_list, "run": cmd_run, "sweep": cmd_sweep, "diagram": cmd_diagram, "app": cmd_app, "bench": cmd_bench}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, SchemaError) as e:
        print(one_line(f"netarium: error: {e}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("netarium: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
