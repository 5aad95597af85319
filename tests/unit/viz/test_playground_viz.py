import base64
import struct
import zlib

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from netarium.analysis.playground import decision_surface, network_weights, neuron_maps, node_map
from netarium.models import ModelSpec, build_model
from netarium.tasks import make_task
from netarium.viz.boundary import BLUE, NEUTRAL, ORANGE, boundary_figure, palette_hex, palette_rgb
from netarium.viz.confusion import confusion_figure
from netarium.viz.curves import SPLIT_COLORS, curves_figure, ema_smooth, overlay_figure
from netarium.viz.network import (
    KIND_BIAS,
    KIND_INPUT,
    KIND_LINK,
    KIND_NODE,
    MAX_LINKS,
    MAX_NODES,
    NODE,
    link_bin,
    link_width,
    network_figure,
    neuron_map_figure,
    png_data_uri,
)


def annotations_text(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


# ---- curves ----

def test_ema_constant_stays_constant_and_first_point_is_unbiased():
    assert ema_smooth([2.0] * 20, 0.9) == pytest.approx([2.0] * 20)
    assert ema_smooth([5.0, 1.0], 0.99)[0] == pytest.approx(5.0)
    assert ema_smooth([1.0, 2.0, 3.0], 0.0) == [1.0, 2.0, 3.0]


def test_ema_step_function_matches_the_debiased_formula():
    w = 0.5
    values = [0.0] * 3 + [1.0] * 3
    # m_t = (1 - w) sum_k w^(t-k) v_k; shown m_t / (1 - w^t)
    expected = []
    for t in range(1, 7):
        m = sum((1 - w) * w ** (t - k) * values[k - 1] for k in range(1, t + 1))
        expected.append(m / (1 - w**t))
    got = ema_smooth(values, w)
    assert got == pytest.approx(expected)
    assert got[:3] == [0.0, 0.0, 0.0] and 0 < got[3] < got[4] < got[5] < 1
    assert ema_smooth([1.0, float("nan"), 1.0], 0.5)[1] != ema_smooth([1.0, float("nan"), 1.0], 0.5)[1]  # nan kept
    assert ema_smooth([1.0, float("nan"), 1.0], 0.5)[2] == pytest.approx(1.0)


SERIES = {
    "train_loss": ([0, 10, 20, 30], [1.0, 0.5, 0.3, 0.2]),
    "test_loss": ([0, 10, 20, 30], [1.1, 0.6, 0.4, 0.35]),
    "train_acc": ([0, 10, 20, 30], [0.5, 0.7, 0.8, 0.9]),
    "test_acc": ([0, 10, 20, 30], [0.5, 0.6, 0.7, 0.8]),
    "weight_norm": ([0, 10], [1.0, 2.0]),
}


def test_curves_panels_colours_and_dashes():
    fig = curves_figure(SERIES)
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"train loss", "test loss", "train acc", "test acc"}  # other metrics left out
    assert by_name["train loss"].yaxis == "y" and by_name["train acc"].yaxis == "y2"
    for name, t in by_name.items():
        split = name.split()[0]
        assert t.line.color == SPLIT_COLORS[split]
        assert t.line.dash == ("solid" if split == "train" else "dash")
    assert list(by_name["test acc"].y) == [0.5, 0.6, 0.7, 0.8]
    assert fig.layout.yaxis2.title.text == "accuracy"
    r2 = curves_figure({"train_r2": ([1, 2], [0.1, 0.2])})
    assert r2.layout.yaxis.title.text == "R²" and len(r2.data) == 1


def test_curves_mark_each_point_while_there_are_few():
    one = curves_figure({"train_loss": ([478], [0.04])}).data[0]
    assert one.mode == "lines+markers" and list(one.x) == [478]  # a single evaluation is still visible
    many = curves_figure({"train_loss": (list(range(20)), [1.0] * 20)}).data[0]
    assert many.mode == "lines"


def test_curves_smoothing_draws_raw_faint_and_smoothed_line():
    fig = curves_figure({"train_loss": SERIES["train_loss"]}, smoothing=0.6)
    raw, smooth = fig.data
    assert raw.opacity == 0.25 and list(raw.y) == SERIES["train_loss"][1]
    assert list(smooth.y) == pytest.approx(ema_smooth(SERIES["train_loss"][1], 0.6))
    assert list(curves_figure({"train_loss": SERIES["train_loss"]}, smoothing=5).data[1].y) == pytest.approx(
        ema_smooth(SERIES["train_loss"][1], 0.99))  # clamped to 0.99


def test_curves_log_x_drops_step_zero():
    fig = curves_figure(SERIES, log_x=True)
    assert all(list(t.x) == [10, 20, 30] for t in fig.data)
    assert fig.layout.xaxis.type == "log"
    only_zero = curves_figure({"train_loss": ([0], [1.0])}, log_x=True)
    assert "no data yet" in annotations_text(only_zero) and not only_zero.data


@pytest.mark.parametrize("series", [{}, {"train_loss": ([], [])}, {"weight_norm": ([1], [2.0])}])
def test_curves_empty_input_says_no_data_yet(series):
    fig = curves_figure(series, title="t")
    assert annotations_text(fig) == ["no data yet"] and len(fig.data) == 0


def test_overlay_one_metric_from_several_runs():
    runs = {"a": SERIES, "b": {"test_loss": ([0, 5], [2.0, 1.0])}, "c": {"train_loss": ([1], [1.0])}}
    fig = overlay_figure(runs, "test_loss", log_x=True)
    assert [t.name for t in fig.data] == ["a", "b"]
    assert list(fig.data[1].x) == [5] and fig.data[0].line.color != fig.data[1].line.color
    assert "no data yet" in annotations_text(overlay_figure(runs, "test_acc2"))
    assert overlay_figure(runs, "test_acc").layout.yaxis.title.text == "test accuracy"


# ---- boundary ----

@pytest.fixture(scope="module")
def circle_setup():
    task = make_task("circle", {"n_samples": 120}, seed=0)
    torch.manual_seed(0)
    model = build_model("mlp", {"hidden": [4]}, ModelSpec(2, 1))
    return task, model, decision_surface(model, task, resolution=20, loss_name="bce")


def point_colors(trace) -> list[str]:
    """The colour of each point: its numeric marker colour looked up on the (stepped) colour scale."""
    m = trace.marker
    scale = [(stop, col) for stop, col in m.colorscale]
    out = []
    for v in m.color:
        t = (v - m.cmin) / (m.cmax - m.cmin)
        out.append(next(col for stop, col in scale if stop >= t))
    return out


def _heatmap(fig):
    maps = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert len(maps) == 1
    return maps[0]


def _scatter(fig, name):
    return next(t for t in fig.data if isinstance(t, go.Scatter) and t.name == name)


def test_boundary_heatmap_equals_surface_and_points_are_drawn(circle_setup):
    task, _, s = circle_setup
    pts_tr, pts_te = task.meta["points_train"], task.meta["points_test"]
    fig = boundary_figure(s, pts_tr, task.y_train, pts_te, task.y_test, kind="classification", n_classes=2)
    hm = _heatmap(fig)
    assert np.allclose(np.asarray(hm.z), s.values) and (hm.zmin, hm.zmax) == (0.0, 1.0)
    assert list(hm.x) == pytest.approx(list(s.xs)) and list(hm.y) == pytest.approx(list(s.ys))
    assert hm.colorscale[0][1] == ORANGE and hm.colorscale[-1][1] == BLUE
    train = _scatter(fig, "train")
    assert len(train.x) == len(pts_tr) and train.marker.line.color == "#ffffff"
    assert point_colors(train) == [ORANGE if c == 0 else BLUE for c in task.y_train.tolist()]
    assert not any(t.name == "test" for t in fig.data)  # test points only when asked
    fig2 = boundary_figure(s, pts_tr, task.y_train, pts_te, task.y_test, kind="classification", n_classes=2,
                           show_test=True, discretize=True)
    z = np.asarray(_heatmap(fig2).z)
    assert set(np.unique(z)) <= {0.0, 1.0} and np.array_equal(z, (s.values > 0.5).astype(float))
    test = _scatter(fig2, "test")
    assert len(test.x) == len(pts_te) and test.marker.line.color == "#000000"
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert "x1" in hm.hovertemplate and "x2" in hm.hovertemplate


def test_boundary_multiclass_and_regression():
    task = make_task("spirals", {"n_classes": 3, "n_samples": 90}, seed=0)
    model = build_model("mlp", {"hidden": [5]}, ModelSpec(2, 3))
    s = decision_surface(model, task, resolution=12)
    fig = boundary_figure(s, task.meta["points_train"], task.y_train, kind="classification", n_classes=3)
    z = np.asarray(_heatmap(fig).z)
    assert np.array_equal(np.floor(z).astype(int), s.labels)  # integer part: the class; fraction: confidence
    assert np.asarray(_heatmap(fig).customdata)[..., 1] == pytest.approx(s.confidence)
    colors = point_colors(_scatter(fig, "train"))
    assert colors == [[ORANGE, BLUE, "#2ca02c"][c] for c in task.y_train.tolist()]
    zd = np.asarray(_heatmap(boundary_figure(s, task.meta["points_train"], task.y_train, kind="classification",
                                             n_classes=3, discretize=True)).z)
    assert np.allclose(zd, s.labels + 0.999)

    reg = make_task("reg-plane", {"n_samples": 60}, seed=0)
    rs = decision_surface(build_model("mlp", {"hidden": [3]}, ModelSpec(2, 1)), reg, resolution=10, loss_name="mse")
    rfig = boundary_figure(rs, reg.meta["points_train"], reg.y_train, kind="regression", n_classes=0)
    hm = _heatmap(rfig)
    assert np.allclose(np.asarray(hm.z), rs.values) and hm.zmin == -hm.zmax and hm.showscale is not False
    rd = np.asarray(_heatmap(boundary_figure(rs, reg.meta["points_train"], reg.y_train, kind="regression",
                                             n_classes=0, discretize=True)).z)
    vmax = max(1.0, float(reg.y_train.abs().max()))  # TFP's reg-plane reaches ±1.2 in the corners
    assert np.allclose(rd, np.sign(rs.values) * vmax)
    assert len(_scatter(rfig, "train").x) == reg.X_train.shape[0]


def test_boundary_colours_are_fixed_whatever_the_model_outputs(circle_setup):
    task, model, s = circle_setup
    pts = task.meta["points_train"]
    hm = _heatmap(boundary_figure(s, pts, task.y_train, kind="classification", n_classes=2))
    assert hm.colorscale == ((0.0, ORANGE), (0.5, NEUTRAL), (1.0, BLUE))  # the Playground's palette, grey at p = 0.5
    assert hm.opacity == pytest.approx(160 / 255)
    # regression: the colour range is the task's (max(1, |target|)), not the prediction's own range
    reg = make_task("reg-plane", {"n_samples": 60}, seed=0)
    flat = type(s)(s.xs, s.ys, np.full_like(s.values, 0.01), "regression", s.box)
    rhm = _heatmap(boundary_figure(flat, reg.meta["points_train"], reg.y_train, kind="regression", n_classes=0))
    vmax = max(1.0, float(reg.y_train.abs().max()))  # TFP's reg-plane reaches ±1.2 in the corners
    assert (rhm.zmin, rhm.zmax) == pytest.approx((-vmax, vmax))
    big = reg.y_train * 3
    rhm3 = _heatmap(boundary_figure(flat, reg.meta["points_train"], big, kind="regression", n_classes=0))
    assert rhm3.zmax == pytest.approx(float(big.abs().max())) and rhm3.zmin == -rhm3.zmax
    go.Figure(boundary_figure(s, pts, task.y_train, kind="classification", n_classes=2, show_test=True).to_dict())


def test_a_selected_nodes_map_replaces_the_output_on_the_fixed_scale(circle_setup):
    task, model, s = circle_setup
    node = node_map(model, task, 1, 2, resolution=30, loss_name="bce")
    fig = boundary_figure(s, task.meta["points_train"], task.y_train, kind="classification", n_classes=2,
                          background=node, background_name="layer 1, neuron 3")
    hm = _heatmap(fig)
    assert np.array_equal(np.asarray(hm.z), node.values) and (hm.zmin, hm.zmax) == (-1.0, 1.0)
    assert len(hm.x) == 30 and "layer 1, neuron 3 = " in hm.hovertemplate
    assert len(_scatter(fig, "train").x) == len(task.meta["points_train"])  # the data stays on top
    disc = _heatmap(boundary_figure(s, task.meta["points_train"], task.y_train, kind="classification", n_classes=2,
                                    background=node, discretize=True))
    assert np.array_equal(np.asarray(disc.z), np.where(node.values >= 0, 1.0, -1.0))  # the Playground: sign


def test_score_axes_are_fixed():
    ones = {"train_acc": ([0, 10, 20], [1.0, 1.0, 1.0]), "train_loss": ([0, 10, 20], [0.1, 0.1, 0.1])}
    fig = curves_figure(ones)
    assert list(fig.layout.yaxis2.range) == [0.0, 1.02]  # not plotly's 0..2 for a constant 1.0
    assert fig.layout.yaxis.range is None  # loss: autorange
    assert list(curves_figure({"test_acc": ([1, 2], [0.5, 0.6])}).layout.yaxis.range) == [0.0, 1.02]
    r2 = curves_figure({"train_r2": ([1, 2, 3], [-40.0, -0.35, 0.9])})
    assert list(r2.layout.yaxis.range) == [-1.0, 1.02]  # R² may be far below 0: the axis stops at -1
    assert list(curves_figure({"train_r2": ([1, 2], [-0.35, 0.9])}).layout.yaxis.range) == [-0.4, 1.02]
    assert list(curves_figure({"train_r2": ([1, 2], [0.3, 0.9])}).layout.yaxis.range) == [0.0, 1.02]
    over = overlay_figure({"a": ones, "b": {"train_acc": ([1], [0.7])}}, "train_acc")
    assert list(over.layout.yaxis.range) == [0.0, 1.02]
    assert overlay_figure({"a": ones}, "train_loss").layout.yaxis.range is None


# ---- network ----

def _png_pixels(uri: str) -> np.ndarray:
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    channels = {2: 3, 6: 4}[data[25]]
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + channels * w)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(h, w, channels)


def test_png_data_uri_round_trips():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert np.array_equal(_png_pixels(png_data_uri(rgb)), rgb)
    rgba = np.random.default_rng(1).integers(0, 256, (4, 3, 4), dtype=np.uint8)
    assert np.array_equal(_png_pixels(png_data_uri(rgba)), rgba)


def _tile(fig, x: float, y: float) -> np.ndarray:
    """The RGBA pixels of the thumbnail centred at (x, y), cut from the figure's one thumbnail sheet."""
    (sheet,) = fig.layout.images
    px = _png_pixels(sheet.source)
    ppu = px.shape[1] / sheet.sizex
    side = NODE * ppu
    left, top = round((x - sheet.x) * ppu - side / 2), round((sheet.y - y) * ppu - side / 2)
    return px[top : top + round(side), left : left + round(side)]


def test_palette_is_the_playgrounds_fixed_scale():
    assert palette_hex(-1) == ORANGE and palette_hex(0) == NEUTRAL == "#e8eaeb" and palette_hex(1) == BLUE
    assert palette_hex(-7) == ORANGE and palette_hex(50) == BLUE  # clamped
    half = palette_rgb(0.5).astype(int)  # linear in RGB between grey and blue
    assert list(half) == [round((0xE8 + 0x08) / 2), round((0xEA + 0x77) / 2), round((0xEB + 0xBD) / 2)]


@pytest.fixture(scope="module")
def net():
    task = make_task("circle", {"n_samples": 100}, seed=0)
    torch.manual_seed(0)
    model = build_model("mlp", {"hidden": [8, 8]}, ModelSpec(2, 1))
    return task, network_weights(model), neuron_maps(model, task, resolution=10, loss_name="bce")


def _nodes(fig):
    """{(kind, col, a): (x, y)} of the clickable node markers."""
    nodes = _scatter(fig, "nodes")
    return {tuple(int(v) for v in c[:3]): (x, y) for c, x, y in zip(nodes.customdata, nodes.x, nodes.y, strict=True)}


def _links(fig):
    """{(col, from, to): (width, colour)} read back from the drawn line segments, through the node positions."""
    pos = _nodes(fig)
    by_y = {}
    for (kind, c, i), (_, y) in pos.items():
        col = 0 if kind == KIND_INPUT else c
        by_y.setdefault(col, {})[round(y, 9)] = i
    col_x = sorted({x for x, _ in pos.values()})
    out = {}
    for t in fig.data:
        if not (isinstance(t, go.Scatter) and t.mode == "lines" and t.name.startswith("links")):
            continue
        for k in range(0, len(t.x), 3):
            c = int(np.searchsorted(col_x, t.x[k]) - 1)
            out[(c, by_y[c][round(t.y[k], 9)], by_y[c + 1][round(t.y[k + 1], 9)])] = (t.line.width, t.line.color)
    return out


def test_network_links_are_on_the_playgrounds_fixed_scales(net):
    task, nw, nm = net
    sizes = nw.layer_sizes
    fig = network_figure(sizes, nw.weights, nm.columns(), input_names=task.input_names, biases=nw.biases)
    links = _scatter(fig, "link hover")
    assert len(links.x) == 2 * 8 + 8 * 8 + 8
    drawn = _links(fig)
    assert len(drawn) == len(links.x)  # no weight is exactly zero here
    for (kind, c, i, j, w), text in zip(links.customdata, links.text, strict=True):
        assert kind == KIND_LINK and w == pytest.approx(nw.weights[int(c)][int(j), int(i)])
        width, colour = drawn[(int(c), int(i), int(j))]
        assert width == pytest.approx(link_width(link_bin(w))) and abs(width - link_width(w)) <= 0.25
        assert colour == palette_hex(link_bin(w))  # continuous in w: the palette at w (to 0.05)
        assert text.startswith(f"w = {w:.3f} (")
    assert "(x1 → layer1 #1)" in links.text[0]
    # the Playground's linkWidthScale: |w| in [0, 5] -> [1, 10] px, clamped; not relative to the largest weight
    assert link_width(5) == link_width(50) == link_width(-50) == 10.0
    assert link_width(0.5) == pytest.approx(1.9) and link_width(0) == 1.0
    big = network_figure([1, 1, 1], [np.array([[50.0]]), np.array([[0.5]])], input_names=["x1"])
    assert sorted(w for w, _ in _links(big).values()) == pytest.approx([1.9, 10.0])
    assert {c for _, c in _links(big).values()} == {palette_hex(0.5), BLUE}
    # every link's hover marker has a place of its own, on the link itself
    assert len(set(zip(np.round(links.x, 9), np.round(links.y, 9), strict=True))) == len(links.x)
    go.Figure(fig.to_dict())  # built without validation for speed: every property must still be valid


def test_thumbnails_share_one_fixed_scale_so_a_flat_map_is_one_colour():
    flat = np.full((6, 6), 0.02)
    strong = np.linspace(-3, 3, 36).reshape(6, 6)
    maps = [np.stack([flat, strong]), np.stack([flat * 50]), np.stack([np.zeros((6, 6))])]
    fig = network_figure([2, 1, 1], [np.ones((1, 2)), np.ones((1, 1))], maps, input_names=["a", "b"])
    nodes = _scatter(fig, "nodes")
    px = [_tile(fig, x, y) for x, y in zip(nodes.x, nodes.y, strict=True)]
    assert all(p.shape == (6, 6, 4) and (p[..., 3] == 255).all() for p in px)
    assert len({tuple(p) for p in px[0][..., :3].reshape(-1, 3)}) == 1  # flat stays flat: not stretched to its range
    assert tuple(px[0][0, 0, :3]) == tuple(palette_rgb(0.02))  # nearly grey
    assert tuple(px[2][0, 0, :3]) == tuple(palette_rgb(1.0)) == (0x08, 0x77, 0xBD)  # 1.0 and above: full blue
    assert tuple(px[1][-1, 0, :3]) == (0xF5, 0x93, 0x22) and tuple(px[1][0, -1, :3]) == (0x08, 0x77, 0xBD)  # clamped
    assert tuple(px[3][0, 0, :3]) == (0xE8, 0xEA, 0xEB)  # zero is the Playground's grey
    sheet = _png_pixels(fig.layout.images[0].source)
    assert (sheet[..., 3] == 0).mean() > 0.5  # between the tiles the sheet is transparent
    assert fig.layout.images[0].layer == "below"  # under the links and the frames


def test_discretize_draws_every_thumbnail_in_its_signs_full_colour():
    """TFP's playground.ts passes state.discretize to every node's heatmap, not only to the output's."""
    wave = np.linspace(-0.3, 0.2, 36).reshape(6, 6)
    maps = [np.stack([wave, -wave]), np.stack([wave * 0.1]), np.stack([np.zeros((6, 6))])]
    fig = network_figure([2, 1, 1], [np.ones((1, 2)), np.ones((1, 1))], maps, input_names=["a", "b"], discretize=True)
    nodes = _scatter(fig, "nodes")
    px = [_tile(fig, x, y)[..., :3] for x, y in zip(nodes.x, nodes.y, strict=True)]
    blue, orange = tuple(palette_rgb(1.0)), tuple(palette_rgb(-1.0))
    for p, m in zip(px, (wave, -wave, wave * 0.1, np.zeros((6, 6))), strict=True):
        assert {tuple(c) for c in p.reshape(-1, 3)} == ({blue, orange} if m.min() < 0 <= m.max() else {blue})
        want = np.where(m[::-1] >= 0, 0, 1)  # image rows run downwards; 0 = blue (>= 0), 1 = orange
        assert np.array_equal((p == orange).all(axis=-1).astype(int), want)
    plain = network_figure([2, 1, 1], [np.ones((1, 2)), np.ones((1, 1))], maps, input_names=["a", "b"])
    assert len({tuple(c) for c in _tile(plain, *_scatter(plain, "nodes").x[:1], *_scatter(plain, "nodes").y[:1])[..., :3].reshape(-1, 3)}) > 2


def test_network_nodes_images_biases_labels_and_selection(net):
    task, nw, nm = net
    sizes = nw.layer_sizes
    fig = network_figure(sizes, nw.weights, nm.columns(), input_names=task.input_names, selected=(1, 2), biases=nw.biases)
    nodes = _scatter(fig, "nodes")
    assert [tuple(int(v) for v in c[:4]) for c in nodes.customdata] == (
        [(KIND_INPUT, 0, r, 1) for r in range(2)] + [(KIND_NODE, c, i, 0) for c in (1, 2, 3) for i in range(sizes[c])])
    assert nodes.text[4].startswith("layer1 #3") and nodes.text[0].startswith("x1")
    assert [a.text for a in fig.layout.annotations][:4] == ["2 features", "8 neurons", "8 neurons", "1 output"]
    outline = _scatter(fig, "frames outline")
    assert len(outline.x) == 6 * (sum(sizes) - 1)  # a closed rectangle per node, the selected one apart
    thick = _scatter(fig, "frames selected")
    assert thick.line.width == 3 and len(thick.x) == 6
    assert min(thick.x[:5]) == pytest.approx(nodes.x[4] - NODE / 2) and max(thick.y[:5]) == pytest.approx(nodes.y[4] + NODE / 2)
    # one bias square per neuron, coloured by its bias on the palette, at the node's lower left, clickable
    bias = _scatter(fig, "biases")
    assert len(bias.x) == 8 + 8 + 1 and bias.marker.symbol == "square"
    b0 = float(nw.biases[0][0])
    assert [int(v) for v in bias.customdata[0][:3]] == [KIND_BIAS, 1, 0] and bias.customdata[0][4] == pytest.approx(b0)
    assert bias.marker.color[0] == palette_hex(b0) and bias.marker.color[-1] == palette_hex(float(nw.biases[2][0]))
    assert bias.x[0] < nodes.x[2] - NODE / 2 and bias.y[0] < nodes.y[2] - NODE / 2 + 0.1
    # the x1 thumbnail: orange on the left (x1 < 0), blue on the right
    px = _tile(fig, nodes.x[0], nodes.y[0])
    assert tuple(px[5, 0, :3]) == (0xF5, 0x93, 0x22) and tuple(px[5, -1, :3]) == (0x08, 0x77, 0xBD)
    px2 = _tile(fig, nodes.x[1], nodes.y[1])  # x2: blue on top (x2 > 0): image rows run downwards
    assert tuple(px2[0, 5, :3]) == (0x08, 0x77, 0xBD) and tuple(px2[-1, 5, :3]) == (0xF5, 0x93, 0x22)
    plain = network_figure(sizes, nw.weights, input_names=task.input_names)
    assert len(plain.layout.images) == 0 and _scatter(plain, "frames plain").fillcolor == NEUTRAL
    assert not any(t.name == "biases" for t in plain.data)
    with pytest.raises(ValueError):
        network_figure([2, 3], [np.zeros((2, 3))], input_names=["a", "b"])


def test_unused_features_are_offered_greyed_in_the_input_column(net):
    task, nw, nm = net
    offered = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]
    extra = {"x1^2": np.ones((10, 10))}
    fig = network_figure(nw.layer_sizes, nw.weights, nm.columns(), input_names=["x2", "x1"], all_inputs=offered,
                         input_maps=extra)
    inputs = [(tuple(int(v) for v in c[:4]), y) for c, y in zip(_scatter(fig, "nodes").customdata, _scatter(fig, "nodes").y,
                                                                 strict=True) if c[0] == KIND_INPUT]
    assert [k for k, _ in inputs] == [(KIND_INPUT, 0, r, 1 if r < 2 else 0) for r in range(7)]  # rows in offered order
    ys = [y for _, y in inputs]
    assert ys == sorted(ys, reverse=True) and ys[0] - ys[1] == pytest.approx(1.0)
    # the network's first input is x2: its links start on the x2 row (row 1)
    assert {i for (c, i, _), _ in _links(fig).items() if c == 0} == {0, 1}
    hover = _scatter(fig, "link hover")
    first = [c for c in hover.customdata if c[1] == 0 and c[2] == 0][0]
    assert hover.y[list(hover.customdata[:, 2]).index(0)] < ys[0]  # input 0 (x2) sits on row 1, below x1
    assert first[4] == pytest.approx(nw.weights[0][int(first[3]), 0])
    names = [a for a in fig.layout.annotations if a.text in offered]
    assert [a.font.color for a in names] == ["#444444"] * 2 + ["#aaaaaa"] * 5
    nodes = _scatter(fig, "nodes")
    tiles = [_tile(fig, nodes.x[r], nodes.y[r]) for r in range(7)]
    alpha = [int(t[..., 3].max()) if t.size else 0 for t in tiles]  # rows below the last tile are off the sheet
    assert alpha == [255, 255, round(255 * 0.35), 0, 0, 0, 0]  # x1^2 has a thumbnail, greyed; the others none
    assert len(_scatter(fig, "frames faded").x) == 6 * 5
    with pytest.raises(ValueError, match="lacks"):
        network_figure(nw.layer_sizes, nw.weights, input_names=["x1", "x9"], all_inputs=offered)


def test_dead_links_are_drawn_as_gone():
    w = [np.array([[0.5, -0.7], [0.0, 1.5]]), np.array([[2.0, -3.0]])]
    masks = [np.array([[1, 1], [0, 1]]), None]
    fig = network_figure([2, 2, 1], w, input_names=["x1", "x2"], masks=masks)
    dead = _scatter(fig, "dead links")
    assert dead.line.dash == "dot" and dead.line.width == 1 and len(dead.x) == 3  # one segment, faint and dotted
    assert len(_scatter(fig, "link hover").x) == 5  # not clickable: a pruned weight cannot be edited
    assert (0, 0, 1) not in _links(fig) and len(_links(fig)) == 5


def test_a_wide_layer_is_summarized_and_the_input_labels_stay_apart():
    rng = np.random.default_rng(0)
    sizes = [2, 1024, 16, 1]
    ws = [rng.normal(0, 1, (b, a)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:], strict=False)]
    ws[0][700] = 9.0  # the strongest neuron of the wide layer
    fig = network_figure(sizes, ws, input_names=["x1", "x2"], selected=(1, 5))
    shown = [int(c[2]) for c in _scatter(fig, "nodes").customdata if c[0] == KIND_NODE and c[1] == 1]
    assert len(shown) == MAX_NODES == 16 and 700 in shown and 5 in shown and shown == sorted(shown)
    texts = [a.text for a in fig.layout.annotations]
    assert "+1,008 more" in texts and "1,024 neurons" in texts
    assert len([c for c in _scatter(fig, "link hover").customdata if c[1] == 1]) == MAX_LINKS  # the strongest only
    x1, x2 = (a for a in fig.layout.annotations if a.text in ("x1", "x2"))
    y_span = fig.layout.yaxis.range[1] - fig.layout.yaxis.range[0]
    assert abs(x1.y - x2.y) == pytest.approx(1.0) and abs(x1.y - x2.y) / y_span > 0.04  # about 20 px apart at 450 px
    assert len(fig.layout.images) == 0 and len(_scatter(fig, "frames outline").x) == 6 * (2 + 15 + 16 + 1)
    go.Figure(fig.to_dict())


def test_many_inputs_without_a_feature_list_are_summarized_too():
    rng = np.random.default_rng(1)
    ws = [rng.normal(0, 0.1, (8, 194)), rng.normal(0, 1, (97, 8))]  # one-hot tokens in, 97 classes out
    ws[0][:, 150] = 3.0  # the strongest input
    names = [f"t{i}" for i in range(194)]
    fig = network_figure([194, 8, 97], ws, input_names=names)
    inputs = [int(c[2]) for c in _scatter(fig, "nodes").customdata if c[0] == KIND_INPUT]
    assert len(inputs) == MAX_NODES and inputs == list(range(MAX_NODES))  # rows 0..15
    assert "t150" in [a.text for a in fig.layout.annotations] and "+178 more" in [a.text for a in fig.layout.annotations]
    drawn = {int(a.text[1:]) for a in fig.layout.annotations if a.text in names}  # the inputs drawn, by name
    sources = {int(c[2]) for c in _scatter(fig, "link hover").customdata if c[1] == 0}
    assert 150 in sources and sources <= drawn  # links keep the network's input index
    go.Figure(fig.to_dict())


def test_network_labels_wrap_when_columns_are_close():
    sizes = [2] + [16] * 8 + [2]
    ws = [np.full((b, a), 0.1) for a, b in zip(sizes[:-1], sizes[1:], strict=False)]
    fig = network_figure(sizes, ws, input_names=["x1", "x2"])
    labels = [a.text for a in fig.layout.annotations][: len(sizes)]
    assert labels[1] == "16<br>neurons" and labels[-1] == "2<br>outputs"
    assert len(_scatter(fig, "link hover").x) == 2 * 16 + 16 * 16 * 7 + 16 * 2


def test_neuron_map_figure_is_a_heatmap_on_the_fixed_scale():
    m = np.array([[0.0, -2.0], [1.0, 0.5]])
    fig = neuron_map_figure(m, (-6, 6, -5, 5), "layer1 #1")
    hm = _heatmap(fig)
    assert np.array_equal(np.asarray(hm.z), m) and (hm.zmin, hm.zmax) == (-1.0, 1.0)
    assert list(hm.x) == [-6, 6] and list(hm.y) == [-5, 5] and fig.layout.title.text == "layer1 #1"


# ---- confusion ----

def test_confusion_figure_row_normalised_with_counts():
    cm = np.array([[8, 2, 0], [1, 3, 0], [0, 0, 0]])
    fig = confusion_figure(cm, ["a", "b", "c"])
    hm = _heatmap(fig)
    z = np.asarray(hm.z)
    assert z[:2].sum(1) == pytest.approx([1.0, 1.0]) and (z[2] == 0).all()
    assert z[0].tolist() == pytest.approx([0.8, 0.2, 0.0])
    assert [list(r) for r in hm.text] == [["8", "2", "0"], ["1", "3", "0"], ["0", "0", "0"]]
    assert list(hm.x) == ["a", "b", "c"] and fig.layout.yaxis.autorange == "reversed"
    assert list(_heatmap(confusion_figure(np.eye(2, dtype=int))).x) == ["class 0", "class 1"]


def test_network_input_names_from_a_csv_header_are_shown_as_text_not_html():
    evil = '<a href="http://example.com">x</a>'
    fig = network_figure([2, 1, 1], [np.ones((1, 2)), np.ones((1, 1))], input_names=[evil, "b"])
    labels = [a.text for a in fig.layout.annotations]
    assert '&lt;a href="http://example.com"&gt;x&lt;/a&gt;' in labels and evil not in labels
    hovers = [t for trace in fig.data for t in (trace.text or ()) if isinstance(t, str)]
    assert any("&lt;a href" in t for t in hovers) and not any("<a href" in t for t in hovers)
