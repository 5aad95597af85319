from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest

from netarium.analysis.representation import AlignmentCurves, CKAResult, EmbeddingFrames, RDMSet, WarpedGrid
from netarium.viz.boundary import BLUE, ORANGE
from netarium.viz.geometry import (
    alignment_figure,
    cka_figure,
    embedding_figure,
    empty_figure,
    panel_grid,
    rdm_figure,
    unit_match_figure,
    warped_grid_figure,
)

STEPS = [0, 5, 20]
NAMES = ["A+", "A-", "B+"]
TITLES = ["input", "layer 1", "logits"]


def annotation_texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def embedding(k: int = 2, n_points: int = 12) -> EmbeddingFrames:
    """3 steps x 3 layers; the first step spread widest (so ranges from the last step alone would be
    too small); explained variance changes over steps (so the title must read the last one)."""
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(len(STEPS), len(TITLES), n_points, k))
    coords[0] *= 5.0
    coords[:, 1] += 100.0  # layer 1 lives elsewhere: ranges must be per panel
    explained = np.zeros((len(STEPS), len(TITLES), k))
    explained[..., 0], explained[..., 1] = 0.9, 0.05
    explained[-1, :, 0], explained[-1, :, 1] = 0.5, 0.37
    if k >= 3:
        explained[..., 2] = 0.02
    colour = np.arange(n_points) % 3
    return EmbeddingFrames(STEPS, ["in", "layer1.post", "logits"], TITLES, coords, explained, colour, NAMES)


# ---- layout helper ----

@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7])
def test_panel_grid_cells_are_disjoint_and_inside_the_figure(n):
    panels, plot_px = panel_grid(n, row_px=300)
    assert len(panels) == n and plot_px >= 300
    assert [p.x for p in panels][:2] == ["x", "x2"][: min(n, 2)]
    for p in panels:
        assert 0 <= p.x_domain[0] < p.x_domain[1] <= 1 and 0 <= p.y_domain[0] < p.y_domain[1] <= 1
    for a in panels:
        for b in panels:
            if a.index < b.index:
                apart_x = a.x_domain[1] <= b.x_domain[0] or b.x_domain[1] <= a.x_domain[0]
                apart_y = a.y_domain[1] <= b.y_domain[0] or b.y_domain[1] <= a.y_domain[0]
                assert apart_x or apart_y


# ---- embeddings ----

def test_embedding_traces_per_layer_and_group_with_one_legend_entry_per_group():
    frames = embedding()
    fig = embedding_figure(frames)
    assert len(fig.data) == len(TITLES) * len(NAMES)
    for li in range(len(TITLES)):
        layer = fig.data[li * 3 : li * 3 + 3]
        axis = "x" if li == 0 else f"x{li + 1}"
        assert {t.xaxis for t in layer} == {axis}
        assert [t.name for t in layer] == NAMES and [t.legendgroup for t in layer] == NAMES
        assert [bool(t.showlegend) for t in layer] == [li == 0] * 3
    # the two-class colours of the project come first
    assert [fig.data[0].marker.color, fig.data[1].marker.color] == [ORANGE, BLUE]
    assert len({t.marker.color for t in fig.data[:3]}) == 3


def test_embedding_animation_has_one_named_frame_per_step_and_starts_at_the_last():
    frames = embedding()
    fig = embedding_figure(frames)
    assert [f.name for f in fig.frames] == ["0", "5", "20"]
    for s, frame in enumerate(fig.frames):
        assert len(frame.data) == len(fig.data) and list(frame.traces) == list(range(len(fig.data)))
        for li in range(len(TITLES)):
            for g in range(3):
                t = frame.data[li * 3 + g]
                idx = np.flatnonzero(frames.colour == g)
                np.testing.assert_allclose(t.x, frames.coords[s, li, idx, 0])
                np.testing.assert_allclose(t.y, frames.coords[s, li, idx, 1])
    for shown, last in zip(fig.data, fig.frames[-1].data, strict=True):  # the figure shows the current model
        np.testing.assert_allclose(shown.x, last.x)
        np.testing.assert_allclose(shown.y, last.y)
    (slider,) = fig.layout.sliders
    assert [s.label for s in slider.steps] == ["0", "5", "20"]
    assert [list(s.args[0]) for s in slider.steps] == [["0"], ["5"], ["20"]]
    assert slider.active == 2 and slider.currentvalue.prefix == "step "
    (menu,) = fig.layout.updatemenus
    labels = [b.label for b in menu.buttons]
    assert any("Play" in lb for lb in labels) and any("Pause" in lb for lb in labels)
    assert all(b.method == "animate" for b in menu.buttons)


def test_embedding_ranges_are_fixed_per_panel_and_cover_every_frame():
    frames = embedding()
    fig = embedding_figure(frames)
    for li in range(len(TITLES)):
        suffix = "" if li == 0 else str(li + 1)
        xr, yr = fig.layout[f"xaxis{suffix}"].range, fig.layout[f"yaxis{suffix}"].range
        for rng, d in ((xr, 0), (yr, 1)):
            values = frames.coords[:, li, :, d]
            assert rng[0] <= values.min() and rng[1] >= values.max()
            # and not much wider than the data (no blanket autorange): within 10% of the span
            span = values.max() - values.min()
            assert rng[0] > values.min() - 0.1 * span and rng[1] < values.max() + 0.1 * span
        assert fig.layout[f"xaxis{suffix}"].autorange in (None, False)
    assert fig.layout.xaxis2.range[0] > 50  # layer 1's own range, not a shared one


def test_embedding_titles_give_the_explained_variance_at_the_last_step():
    fig = embedding_figure(embedding())
    texts = annotation_texts(fig)
    assert texts == [f"{t} · PC1-2 explain 87%" for t in TITLES]


def test_embedding_3d_uses_scenes_with_fixed_ranges_and_full_redraws():
    frames = embedding(k=3)
    fig = embedding_figure(frames, dims=3)
    assert len(fig.data) == 9 and {t.type for t in fig.data} == {"scatter3d"}
    assert [t.scene for t in fig.data[::3]] == ["scene", "scene2", "scene3"]
    assert annotation_texts(fig)[0] == "input · PC1-3 explain 89%"
    for li, scene in enumerate(("scene", "scene2", "scene3")):
        for d, ax in enumerate(("xaxis", "yaxis", "zaxis")):
            rng = fig.layout[scene][ax].range
            values = frames.coords[:, li, :, d]
            assert rng[0] <= values.min() and rng[1] >= values.max()
    idx = np.flatnonzero(frames.colour == 1)
    np.testing.assert_allclose(fig.frames[0].data[1].z, frames.coords[0, 0, idx, 2])
    np.testing.assert_allclose(fig.data[1].z, frames.coords[-1, 0, idx, 2])
    assert all(s.args[1]["frame"]["redraw"] for s in fig.layout.sliders[0].steps)


def test_embedding_3d_needs_three_components():
    with pytest.raises(ValueError, match="3"):
        embedding_figure(embedding(k=2), dims=3)
    with pytest.raises(ValueError):
        embedding_figure(embedding(k=3), dims=4)


# ---- RDMs ----

def rdm_set(over: str = "conditions") -> RDMSet:
    a = np.array([[0.0, 2.0, 4.0], [2.0, 0.0, 1.0], [4.0, 1.0, 0.0]])
    b = np.array([[0.0, 0.5, 0.25], [0.5, 0.0, 0.1], [0.25, 0.1, 0.0]])
    lab = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    return RDMSet(["input", "layer 1", "labels"], [a, b, lab], ["A", "B", "C"], [1.0, 0.834, 0.2],
                  [0.1, 0.405, 1.0], "euclidean", over)


def test_rdm_heatmaps_are_normalised_by_their_max_on_one_colour_scale():
    rdms = rdm_set()
    fig = rdm_figure(rdms)
    assert len(fig.data) == 3 and {t.type for t in fig.data} == {"heatmap"}
    for t, r in zip(fig.data, rdms.rdms, strict=True):
        z = np.asarray(t.z, dtype=float)
        assert z.max() == pytest.approx(1.0)
        np.testing.assert_allclose(z, r / r.max())
        assert t.coloraxis == "coloraxis"
    assert fig.layout.coloraxis.cmin == 0 and fig.layout.coloraxis.cmax == 1
    assert fig.layout.coloraxis.colorbar.title.text == "dissimilarity / max"
    assert [t.xaxis for t in fig.data] == ["x", "x2", "x3"]


def test_rdm_titles_carry_the_rsa_numbers_and_condition_ticks():
    fig = rdm_figure(rdm_set())
    assert annotation_texts(fig) == ["input · RSA input 1.00, labels 0.10", "layer 1 · RSA input 0.83, labels 0.41", "labels"]
    for s in ("", "2", "3"):
        assert list(fig.layout[f"xaxis{s}"].ticktext) == ["A", "B", "C"]
        assert list(fig.layout[f"yaxis{s}"].tickvals) == [0, 1, 2]
        assert fig.layout[f"yaxis{s}"].scaleanchor == f"x{s}" and fig.layout[f"yaxis{s}"].scaleratio == 1
        assert fig.layout[f"yaxis{s}"].autorange == "reversed"  # first condition at the top


def test_rdm_over_samples_hides_the_tick_labels():
    fig = rdm_figure(rdm_set("samples"))
    assert fig.layout.xaxis.showticklabels is False and fig.layout.yaxis3.showticklabels is False


def test_rdm_of_zeros_stays_zero():
    rdms = RDMSet(["input", "labels"], [np.zeros((2, 2)), np.zeros((2, 2))], ["a", "b"], [1.0, 0.0], [0.0, 1.0],
                  "euclidean", "conditions")
    z = np.asarray(rdm_figure(rdms).data[0].z, dtype=float)
    assert np.isfinite(z).all() and (z == 0).all()


# ---- CKA ----

def test_cka_heatmap_shows_the_matrix_with_two_decimals():
    m = np.array([[1.0, 0.4567, 0.1], [0.4567, 1.0, 0.333333], [0.1, 0.333333, 1.0]])
    result = CKAResult(m, ["input", "layer 1", "logits"], ["in B", "layer 1 B", "logits B"], "CKA, this net × second net")
    fig = cka_figure(result)
    (hm,) = fig.data
    np.testing.assert_allclose(np.asarray(hm.z, dtype=float), m)
    assert list(hm.text[0]) == ["1.00", "0.46", "0.10"] and hm.text[1][2] == "0.33"
    assert hm.texttemplate == "%{text}"
    assert (hm.zmin, hm.zmax) == (0, 1)
    assert list(hm.x) == result.cols and list(hm.y) == result.rows
    assert fig.layout.yaxis.autorange == "reversed"  # first row at the top
    assert fig.layout.title.text == "CKA, this net × second net"


# ---- alignment over training ----

def test_alignment_has_two_panels_a_colour_per_layer_and_a_log_step_axis():
    inp = np.array([[0.9, 0.5], [0.8, 0.4], [0.7, 0.3]])
    lab = np.array([[0.1, 0.2], [0.5, 0.6], [0.9, 1.0]])
    fig = alignment_figure(AlignmentCurves([0, 10, 100], ["layer 1", "layer 2"], inp, lab))
    assert annotation_texts(fig) == ["alignment with input", "alignment with labels"]
    assert len(fig.data) == 4
    left, right = fig.data[:2], fig.data[2:]
    assert {t.xaxis for t in left} == {"x"} and {t.xaxis for t in right} == {"x2"}
    for t in fig.data:
        assert list(t.x) == [1, 10, 100] and list(t.customdata) == [0, 10, 100]
    np.testing.assert_allclose(left[1].y, inp[:, 1])
    np.testing.assert_allclose(right[0].y, lab[:, 0])
    assert [t.line.color for t in left] == [t.line.color for t in right]
    assert left[0].line.color != left[1].line.color
    assert [bool(t.showlegend) for t in fig.data] == [True, True, False, False]
    for ax in (fig.layout.xaxis, fig.layout.xaxis2):
        assert ax.type == "log" and ax.title.text == "step (log; 0 shown at 1)"
    for ax in (fig.layout.yaxis, fig.layout.yaxis2):
        assert ax.range[0] == 0 and 1 <= ax.range[1] <= 1.05


# ---- unit matching ----

def unit_match(h, s, b):
    h, s, b = (np.asarray(v, dtype=float) for v in (h, s, b))
    return SimpleNamespace(hungarian=SimpleNamespace(correlations=h), semi=SimpleNamespace(correlations=s),
                           baseline=b, mean_gain=float(h.mean() - b.mean()))


def test_unit_match_three_traces_per_layer_with_dashed_grey_baseline():
    matches = {"layer 1": unit_match([0.9, 0.7, 0.5], [0.95, 0.8, 0.6], [0.2, 0.0, -0.05]),
               "layer 2": unit_match([0.8, 0.6], [0.85, 0.7], [0.1, 0.05])}
    fig = unit_match_figure(matches)
    assert len(fig.data) == 6
    assert annotation_texts(fig) == ["layer 1 · gain +0.65", "layer 2 · gain +0.62"]
    for li, m in enumerate(matches.values()):
        hung, semi, base = fig.data[3 * li : 3 * li + 3]
        assert {t.xaxis for t in (hung, semi, base)} == {"x" if li == 0 else "x2"}
        assert hung.line.dash == "solid" and semi.line.dash == "dot" and base.line.dash == "dash"
        assert base.line.color == "#888888"
        np.testing.assert_allclose(hung.y, m.hungarian.correlations)
        np.testing.assert_allclose(semi.y, m.semi.correlations)
        np.testing.assert_allclose(base.y, m.baseline)
        assert list(hung.x) == list(range(1, len(m.hungarian.correlations) + 1))
        assert fig.layout[f"yaxis{'' if li == 0 else '2'}"].range == (-0.1, 1.05)
    assert [bool(t.showlegend) for t in fig.data] == [True] * 3 + [False] * 3


def test_unit_match_range_widens_below_when_the_data_does():
    fig = unit_match_figure({"layer 1": unit_match([0.5, 0.1], [0.6, 0.2], [0.0, -0.4])})
    lo, hi = fig.layout.yaxis.range
    assert lo < -0.4 and hi == 1.05
    assert annotation_texts(fig) == ["layer 1 · gain +0.50"]


# ---- warped grid ----

def test_warped_grid_lines_under_points_with_equal_aspect():
    n_lines, per_line, n_points = 6, 5, 9
    rng = np.random.default_rng(1)
    lines = [rng.normal(size=(n_lines, per_line, 2)) for _ in range(3)]
    points = [rng.normal(size=(n_points, 2)) for _ in range(3)]
    colour = np.arange(n_points) % 2
    grid = WarpedGrid(["input", "layer 1", "layer 2"], lines, points, colour, ["class 0", "class 1"])
    fig = warped_grid_figure(grid)
    assert annotation_texts(fig) == grid.titles
    assert len(fig.data) == 3 * (1 + 2)
    for li in range(3):
        s = "" if li == 0 else str(li + 1)
        trace_grid, *groups = fig.data[3 * li : 3 * li + 3]
        assert trace_grid.mode == "lines" and trace_grid.showlegend == (li == 0)
        xs = list(trace_grid.x)
        assert xs.count(None) == n_lines and len(xs) == n_lines * (per_line + 1)
        np.testing.assert_allclose([v for v in xs if v is not None], lines[li][..., 0].ravel())
        assert [g.name for g in groups] == ["class 0", "class 1"] and {g.mode for g in groups} == {"markers"}
        np.testing.assert_allclose(groups[1].y, points[li][colour == 1, 1])
        assert {t.xaxis for t in fig.data[3 * li : 3 * li + 3]} == {f"x{s}"}
        assert fig.layout[f"yaxis{s}"].scaleanchor == f"x{s}" and fig.layout[f"yaxis{s}"].scaleratio == 1
    assert fig.layout.xaxis.title.text == "x1" and fig.layout.xaxis2.title.text == "PC1"
    assert [fig.data[1].marker.color, fig.data[2].marker.color] == [ORANGE, BLUE]


# ---- empty inputs ----

def test_empty_inputs_give_a_message_not_an_error():
    assert unit_match_figure({}).layout.annotations[0].text == "no hidden layers to match"
    assert warped_grid_figure(WarpedGrid([], [], [], np.zeros(0, int), [])).layout.annotations
    assert rdm_figure(RDMSet([], [], [], [], [], "euclidean", "samples")).layout.annotations
    no_steps = AlignmentCurves([], ["layer 1"], np.zeros((0, 1)), np.zeros((0, 1)))
    assert alignment_figure(no_steps).layout.annotations
    assert empty_figure("nothing").layout.annotations[0].text == "nothing"
