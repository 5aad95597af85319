"""DOT and SVG of neural circuit diagrams, and `netarium diagram`."""

import re

import pytest
import torch

from netarium.analysis.diagram import extract
from netarium.cli import default_task, main
from netarium.models.base import MODELS, ModelSpec, build_model
from netarium.tasks import make_task
from netarium.viz.ncd import columns, render, render_svg, to_dot

SPEC = ModelSpec(2, 2)
X = torch.randn(8, 2)
BOLD_BOX = re.compile(r"shape=box, (?:style=rounded, )?penwidth=2\.6, label=<<B>(?:L|φ|Conv|(?:GRU|LSTM|RNN) ↻|A|S|R↓|P↑|1×1|Conv)</B>")  # φ: a KAN layer; A..Conv: 1-D convolutions


def mlp_dot(**params) -> str:
    return to_dot(extract(build_model("mlp", params, SPEC), X, head="softmax").with_batch_size(500))


def test_mlp_dot_follows_the_grammar():
    dot = mlp_dot(hidden=[8])
    assert "rankdir=LR" in dot and "splines=false" in dot
    assert len(BOLD_BOX.findall(dot)) == 2
    assert "<SUB>+</SUB><SUP> 1</SUP>" in dot and "<SUP> 2</SUP>" in dot
    assert 'tooltip="W1: 2 to 8 (24 parameters)"' in dot
    assert 'fillcolor="#dff3df", color="#55aa55"' in dot and 'label="tanh"' in dot
    assert "shape=triangle" in dot
    for label in ("m 2", "h 8", "c 2", "b 500"):
        assert f'taillabel="{label}"' in dot
    # the batch row: one point per column, a wire between each, every column ranked with its b point
    n_cols = max(columns(extract(build_model("mlp", {"hidden": [8]}, SPEC), X, head="softmax")).values()) + 1
    assert n_cols == 6
    assert len(re.findall(r"^  b\d+ -> b\d+", dot, re.M)) == n_cols - 1  # the batch row passes every column
    assert re.findall(r'^  b0 -> b1 \[taillabel="(.*?)"', dot, re.M) == ["b 500"]  # labelled with its size once
    assert len(re.findall(r"rank=same; b\d+ ->", dot)) == n_cols
    assert dot.count("group=b") == n_cols
    assert "shape=circle" not in dot and "cluster_" not in dot


@pytest.mark.parametrize("name", MODELS.names())
def test_one_bold_box_per_learned_op_and_svg_renders(name):
    tokens = bool({"attention", "rnn"} & set(MODELS.get(name).tags))
    grid = "grid-model" in MODELS.get(name).tags  # mgno, cnn1d: 2 channels of 7 grid points
    series = not tokens and "timeseries" in MODELS.get(name).tags  # ts-lstm, temporal-inception: 4 steps of 2 channels
    spec = ModelSpec(4, 2, vocab_size=5) if tokens else ModelSpec(14, 7, grid_channels=2) if grid else ModelSpec(4, 2, channels=2) if series else SPEC
    x = torch.randint(0, 5, (8, 4)) if tokens else torch.randn(8, 14) if grid else torch.randn(8, 4, 2) if series else X
    d = extract(build_model(name, {}, spec), x)
    dot = to_dot(d)
    assert len(BOLD_BOX.findall(dot)) == d.learned_count()
    svg = render_svg(dot)
    assert svg.startswith("<?xml") and "<svg" in svg
    titles = set(re.findall(r"<title>(.*?)</title>", svg))
    for op in d.ops_of("learned"):
        assert "n_" + op.id in titles


def test_residual_dot_has_plus_copy_dots_skip_rows_and_shaded_regions():
    d = extract(build_model("residual-mlp", {"blocks": 3, "width": 16}, SPEC), X)
    dot = to_dot(d)
    assert dot.count('label="+"') == 3
    assert dot.count("shape=point, width=0.12") == 3
    assert dot.count("subgraph cluster_") == 3 and dot.count('fillcolor="#eef3fb"') == 3
    assert 'label="residual branch · block2"' in dot
    assert len(set(re.findall(r"group=(s\d+)", dot))) == 3  # one skip row per block
    assert 'taillabel="d 16"' in dot and 'taillabel="h 64"' in dot


def test_collapsed_dot_draws_one_component_box():
    d = extract(build_model("residual-mlp", {"blocks": 3}, SPEC), X)
    dot = to_dot(d, collapsed=True)
    assert dot.count("shape=box3d") == 1 and "Block ×3" in dot
    assert "cluster_" not in dot and 'label="+"' not in dot
    assert len(BOLD_BOX.findall(dot)) == 2  # embed and readout stay outside the block
    assert render(dot, "png")[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_diagram_dot_to_stdout(capsys):
    assert main(["diagram", "mlp", "--set", "model.hidden=4,2", "--format", "dot"]) == 0
    dot = capsys.readouterr().out
    assert len(BOLD_BOX.findall(dot)) == 3
    assert 'taillabel="h 4"' in dot and 'taillabel="h 2"' in dot and 'taillabel="m 2"' in dot
    assert re.search(r'taillabel="b \d+"', dot)


def test_cli_diagram_svg_to_file(tmp_path):
    out = tmp_path / "d.svg"
    assert main(["diagram", "residual-mlp", "--set", "model.blocks=2", "--format", "svg", "--out", str(out), "--collapsed"]) == 0
    svg = out.read_text()
    assert "<svg" in svg and "Block ×2" in svg


# The diagram's task for models that read something other than a 2-D point (the first registered task that gives it).
DEFAULT_TASKS = {"rnn": "reber", "transformer": "reber", "mgno": "elliptic-1d", "cnn1d": "elliptic-1d", "hypernetwork": "rotated-2d",
                 "ts-lstm": "adding", "temporal-inception": "reber"}


@pytest.mark.parametrize("name,token_tasks", [(n, True) for n in MODELS.names() if "tokens" in MODELS.get(n).tags]
                         + [(n, False) for n in MODELS.names() if "tokens" not in MODELS.get(n).tags])
def test_default_diagram_task_gives_the_inputs_the_model_reads(name, token_tasks):
    task = make_task(default_task(name))
    assert (task.vocab_size is not None) == token_tasks
    assert (task.X_train.dtype == torch.int64) == token_tasks
    series = not token_tasks and "timeseries" in MODELS.get(name).tags  # a model that reads time series only (ts-lstm)
    assert (task.X_train.ndim == 3) == series
    assert default_task(name) == DEFAULT_TASKS.get(name, "spiral")
    assert {"rnn", "transformer"} <= {n for n in MODELS.names() if "tokens" in MODELS.get(n).tags}


@pytest.mark.parametrize("name,needles", [
    ("rnn", ('taillabel="t 20"', "recurrent over the sequence", 'taillabel="c 2"')),
    ("transformer", ('taillabel="t 20"', 'tooltip="WQ: 64 to 64', 'taillabel="H 4 s 20 s\' 20"', 'taillabel="c 2"')),
])
def test_cli_diagram_of_a_token_model_without_a_task_draws_it_for_a_token_task(capsys, name, needles):
    assert main(["diagram", name]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith(f'digraph "{name}" {{') and dot.rstrip().endswith("}")
    assert len(BOLD_BOX.findall(dot)) == len(extract(build_model(name, {}, ModelSpec(20, 2, vocab_size=8)),
                                                     torch.zeros(4, 20, dtype=torch.int64)).ops_of("learned"))
    for needle in needles:
        assert needle in dot
    assert main(["diagram", name, "--task", "spiral"]) == 2  # a named task is kept, and spiral gives no tokens
    assert "model.name" in capsys.readouterr().err


@pytest.mark.parametrize("args,needle", [
    (["diagram", "mlp", "--set", "model.nope=1"], "model.nope"),
    (["diagram", "nope"], "unknown model"),
    (["diagram", "mlp", "--format", "gif"], "invalid choice"),
])
def test_cli_diagram_bad_input_exits_2_with_one_line(capsys, args, needle):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def overlaid(model_name: str, params: dict, **kw):
    from netarium.analysis.diagram import diagram_overlay

    torch.manual_seed(0)
    model = build_model(model_name, params, SPEC)
    d = extract(model, X)
    y = (X[:, 0] > 0).long()
    ov = diagram_overlay(model, d, X, y, torch.nn.CrossEntropyLoss(), step=42)
    return d, ov


def fill_of(dot: str, op_id: str) -> str:
    line = next(ln for ln in dot.splitlines() if ln.strip().startswith(f"n_{op_id} ["))
    return re.search(r'fillcolor="(#[0-9a-f]{6})"', line).group(1)


def test_overlay_fills_ops_by_their_numbers_with_a_legend():
    from netarium.viz.ncd import BLUE, RED, _mix

    d, ov = overlaid("mlp", {"hidden": [6, 4], "activation": "relu"})
    dot = to_dot(d, overlay=ov)
    learned = d.ops_of("learned")
    norms = {o.id: ov.stats[o.id].weight_norm for o in learned}
    top = max(norms, key=norms.get)
    assert fill_of(dot, top) == _mix((255, 255, 255), BLUE, 1.0)  # the largest norm gets the full colour
    for o in learned:  # others are proportional to norm / max (the scale starts at 0)
        assert fill_of(dot, o.id) == _mix((255, 255, 255), BLUE, norms[o.id] / norms[top])
        assert f"{norms[o.id]:.3g}" in dot
    for o in d.ops_of("elementwise"):
        assert fill_of(dot, o.id) == _mix((255, 255, 255), RED, ov.stats[o.id].dead_fraction)
    assert "labelloc=b" in dot and "‖W‖" in dot and "dead units" in dot and "as of step 42 on 8 training inputs" in dot
    assert render_svg(dot).count("<svg") == 1
    assert len(BOLD_BOX.findall(dot)) == 0  # painted boxes: the label starts with the ink colour
    assert len(re.findall(r"shape=box, penwidth=2\.6, label=<<FONT", dot)) == len(learned)


def test_overlay_metrics_can_be_switched_off_per_kind():
    d, ov = overlaid("mlp", {"hidden": [6], "activation": "relu"})
    only_act = to_dot(d, overlay=ov, learned=None, elementwise="mean_activation")
    assert len(BOLD_BOX.findall(only_act)) == 2 and "‖W‖" not in only_act and "mean activation" in only_act
    act = d.ops_of("elementwise")[0]
    assert f"{ov.stats[act.id].mean_activation:+.2f}" in only_act
    off = to_dot(d, overlay=ov, learned=None, elementwise=None)
    assert off == to_dot(d)  # nothing to paint: the plain diagram


def test_collapsed_component_shows_the_aggregated_norm():
    d, ov = overlaid("residual-mlp", {"blocks": 3, "width": 8, "hidden": 12})
    c = d.collapse()
    dot = to_dot(d, collapsed=True, overlay=ov, learned="grad_norm")
    comp = c.ops_of("component")[0]
    assert f"{ov.value(c, comp.id, 'grad_norm'):.3g}" in dot and "‖∇W‖" in dot
    render_svg(dot)


def test_cli_diagram_trains_then_overlays_to_png(tmp_path):
    out = tmp_path / "d.png"
    assert main(["diagram", "mlp", "--train", "20", "--format", "png", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_diagram_overlay_in_dot(capsys):
    assert main(["diagram", "mlp", "--train", "5", "--overlay", "grad_norm,none"]) == 0
    dot = capsys.readouterr().out
    assert "‖∇W‖" in dot and "as of step 5" in dot and "dead units" not in dot


@pytest.mark.parametrize("args,needle", [
    (["diagram", "mlp", "--format", "png"], "--out"),
    (["diagram", "mlp", "--train", "3", "--overlay", "foo"], "--overlay"),
    (["diagram", "mlp", "--train", "-1"], "--train"),
])
def test_cli_diagram_overlay_bad_input(capsys, args, needle):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_readable_width_grows_with_the_columns_drawn():
    from netarium.viz.ncd import READABLE_PX_PER_COLUMN, readable_width

    d = extract(build_model("residual-mlp", {"blocks": 3}, SPEC), X)
    n_cols = max(columns(d).values()) + 1
    assert readable_width(d) == n_cols * READABLE_PX_PER_COLUMN  # one axis per wire: the base spacing
    assert readable_width(d, collapsed=True) < readable_width(d) / 3


def test_a_long_batch_row_is_labelled_at_the_start_and_every_few_columns():
    from netarium.viz.ncd import BATCH_LABEL_EVERY

    d = extract(build_model("residual-mlp", {"blocks": 6}, SPEC), X)
    dot = to_dot(d)
    n_cols = max(columns(d).values()) + 1
    labelled = re.findall(r"^  b(\d+) -> b\d+ \[taillabel", dot, re.M)
    assert [int(c) for c in labelled] == [c for c in range(n_cols - 1) if c % BATCH_LABEL_EVERY == 0]
