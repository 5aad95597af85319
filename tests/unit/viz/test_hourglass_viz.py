"""viz/hourglass.py figures and the frozen lift in the neural circuit diagram."""

import re

import torch

from netarium.analysis.diagram import extract
from netarium.analysis.hourglass import hourglass_profile, spectra
from netarium.cli import main
from netarium.models import ModelSpec, build_model
from netarium.viz.hourglass import hourglass_figure, spectra_figure
from netarium.viz.ncd import to_dot

BOLD_BOX = re.compile(r"shape=box, penwidth=2\.6, label=<<B>L</B>")


def hourglass(**params):
    torch.manual_seed(0)
    return build_model("hourglass", {"wide": 16, "bottleneck": 4, "blocks": 2, **params}, ModelSpec(2, 2))


def test_figures_have_the_stages_and_one_line_per_block():
    m = hourglass()
    p = hourglass_profile(m, torch.randn(10, 2))
    fig = hourglass_figure(p, [(0, [0.1, 0.2]), (10, [0.3, 0.4])])
    bars, *lines = fig.data
    assert list(bars.x) == ["in", "lift (frozen)", "block1 waist", "block1 out", "block2 waist", "block2 out", "out"]
    assert list(bars.y) == [2, 16, 4, 16, 4, 16, 2] and list(bars.base) == [-1, -8, -2, -8, -2, -8, -1]
    assert [t.name for t in lines] == ["block1", "block2"] and list(lines[1].y) == [0.2, 0.4]
    one = hourglass_figure(p)  # one point: the current values as bars
    assert list(one.data[1].y) == list(p.update_rel)
    s = spectra_figure(spectra(m))
    assert [t.name for t in s.data] == ["lift (frozen)", "block1 W_up W_down", "block2 W_up W_down"]


def test_diagram_draws_the_lift_frozen_and_the_blocks_as_residual_branches():
    m = hourglass()
    d = extract(m, torch.randn(4, 2), head="softmax")
    lift = d.op("lift")
    assert lift.frozen and lift.kind == "learned" and "frozen, not trained" in lift.detail
    assert [o.id for o in d.ops if o.frozen] == ["lift"]
    assert [r.ops for r in d.regions] == [("blocks_0_down", "blocks_0_act", "blocks_0_up"), ("blocks_1_down", "blocks_1_act", "blocks_1_up")]
    comp = d.collapsed(1).components  # the two bottleneck blocks collapse as one repeated residual block
    assert len(comp) == 1 and comp[0].repeat == 2
    dot = to_dot(d)
    line = next(x for x in dot.splitlines() if x.strip().startswith("n_lift "))
    assert 'style="dashed,filled"' in line and "❄ frozen" in line and "penwidth=2.6" not in line
    assert len(BOLD_BOX.findall(dot)) == 5  # down and up of two blocks, and the readout: all learned, bold
    assert dot.count("residual branch") == 2
    trained = to_dot(extract(hourglass(frozen_lift=False), torch.randn(4, 2)))
    assert "frozen" not in trained and len(BOLD_BOX.findall(trained)) == 6


def test_netarium_diagram_renders_the_hourglass(capsys):
    assert main(["diagram", "hourglass", "--set", "model.blocks=2"]) in (0, None)
    out = capsys.readouterr().out
    assert "❄ frozen" in out and out.count("residual branch") == 2
