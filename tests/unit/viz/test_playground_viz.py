import base64
import struct
import zlib

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from netarium.analysis.playground import decision_surface, network_weights, neuron_maps
from netarium.models import ModelSpec, build_model
from netarium.tasks import make_task
from netarium.viz.boundary import BLUE, ORANGE, boundary_figure
from netarium.viz.confusion import confusion_figure
from netarium.viz.curves import SPLIT_COLORS, curves_figure, ema_smooth, overlay_figure
from netarium.viz.network import network_figure, neuron_map_figure, png_data_uri


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
    assert np.array_equal(rd, np.sign(rs.values))
    assert len(_scatter(rfig, "train").x) == reg.X_train.shape[0]


# ---- network ----

def _png_pixels(uri: str) -> np.ndarray:
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + 3 * w)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(h, w, 3)


def test_png_data_uri_round_trips():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert np.array_equal(_png_pixels(png_data_uri(rgb)), rgb)


@pytest.fixture(scope="module")
def net():
    task = make_task("circle", {"n_samples": 100}, seed=0)
    torch.manual_seed(0)
    model = build_model("mlp", {"hidden": [8, 8]}, ModelSpec(2, 1))
    return task, network_weights(model), neuron_maps(model, task, resolution=10, loss_name="bce")


def _link_widths(fig, sizes):
    """{(col, from, to): (width, colour)} read back from the drawn line segments."""
    nodes = _scatter(fig, "nodes")
    pos = {tuple(c): (x, y) for c, x, y in zip(nodes.customdata, nodes.x, nodes.y, strict=True)}
    col_x = sorted({x for x, _ in pos.values()})
    out = {}
    for t in fig.data:
        if not (isinstance(t, go.Scatter) and t.mode == "lines"):
            continue
        for k in range(0, len(t.x), 3):
            x0, y0, y1 = t.x[k], t.y[k], t.y[k + 1]
            c = int(np.searchsorted(col_x, x0) - 1)
            i = next(i for i in range(sizes[c]) if abs(pos[(c, i)][1] - y0) < 1e-9)
            j = next(j for j in range(sizes[c + 1]) if abs(pos[(c + 1, j)][1] - y1) < 1e-9)
            out[(c, i, j)] = (t.line.width, t.line.color)
    return out


def test_network_links_count_width_colour_and_hover(net):
    task, nw, nm = net
    sizes = nw.layer_sizes
    fig = network_figure(sizes, nw.weights, nm.columns(), input_names=task.input_names, biases=nw.biases)
    links = _scatter(fig, "link hover")
    assert len(links.x) == sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False)) == 2 * 8 + 8 * 8 + 8
    drawn = _link_widths(fig, sizes)
    assert len(drawn) == len(links.x)  # no weight is exactly zero here
    ws = {(c, i, j): float(nw.weights[c][j, i]) for c in range(3) for j in range(sizes[c + 1]) for i in range(sizes[c])}
    order = sorted(ws, key=lambda k: abs(ws[k]))
    widths = [drawn[k][0] for k in order]
    assert widths == sorted(widths) and widths[0] < widths[-1]  # monotonic in |w|
    assert all(drawn[k][1] == (BLUE if ws[k] > 0 else ORANGE) for k in ws)
    for (c, i, j, w), text in zip(links.customdata, links.text, strict=True):
        assert w == pytest.approx(nw.weights[int(c)][int(j), int(i)])
        assert text.startswith(f"w = {w:.3f} (")
    assert "(x1 → layer1 #1)" in links.text[0]
    # every link's hover marker has a place of its own, on the link itself
    assert len(set(zip(np.round(links.x, 9), np.round(links.y, 9), strict=True))) == len(links.x)
    nodes = _scatter(fig, "nodes")
    pos = {tuple(c): (x, y) for c, x, y in zip(nodes.customdata, nodes.x, nodes.y, strict=True)}
    half = (fig.layout.shapes[0].x1 - fig.layout.shapes[0].x0) / 2  # links run between node edges
    for (c, i, j, _), hx, hy in zip(links.customdata, links.x, links.y, strict=True):
        (xa, ya), (xb, yb) = pos[(int(c), int(i))], pos[(int(c) + 1, int(j))]
        xa, xb = xa + half, xb - half
        assert xa < hx < xb and (hy - ya) * (xb - xa) == pytest.approx((yb - ya) * (hx - xa), abs=1e-9)
    go.Figure(fig.to_dict())  # built without validation for speed: every property must still be valid


def test_network_nodes_images_labels_and_selection(net):
    task, nw, nm = net
    sizes = nw.layer_sizes
    fig = network_figure(sizes, nw.weights, nm.columns(), input_names=task.input_names, selected=(1, 2))
    nodes = _scatter(fig, "nodes")
    assert [list(c) for c in nodes.customdata] == [[c, i] for c, n in enumerate(sizes) for i in range(n)]
    assert "layer1 #3" in nodes.text[2 + 2] and nodes.text[0].startswith("x1")
    assert len(fig.layout.images) == sum(sizes) == len(fig.layout.shapes)
    assert [a.text for a in fig.layout.annotations][:4] == ["2 features", "8 neurons", "8 neurons", "1 output"]
    thick = [s for s in fig.layout.shapes if s.line.width == 3]
    assert len(thick) == 1 and thick[0].x0 == pytest.approx(nodes.x[4] - (thick[0].x1 - thick[0].x0) / 2)
    # the x1 thumbnail: orange on the left (x1 < 0), blue on the right
    px = _png_pixels(fig.layout.images[0].source)
    assert tuple(px[5, 0]) == (0xF5, 0x93, 0x22) and tuple(px[5, -1]) == (0x08, 0x77, 0xBD)
    # the x2 thumbnail: blue on top (x2 > 0): image rows run downwards
    px2 = _png_pixels(fig.layout.images[1].source)
    assert tuple(px2[0, 5]) == (0x08, 0x77, 0xBD) and tuple(px2[-1, 5]) == (0xF5, 0x93, 0x22)
    plain = network_figure(sizes, nw.weights, input_names=task.input_names)
    assert len(plain.layout.images) == 0 and plain.layout.shapes[0].fillcolor is not None
    with pytest.raises(ValueError):
        network_figure([2, 3], [np.zeros((2, 3))], input_names=["a", "b"])


def test_network_labels_wrap_when_columns_are_close():
    sizes = [2] + [16] * 8 + [2]
    ws = [np.full((b, a), 0.1) for a, b in zip(sizes[:-1], sizes[1:], strict=False)]
    fig = network_figure(sizes, ws, input_names=["x1", "x2"])
    labels = [a.text for a in fig.layout.annotations][: len(sizes)]
    assert labels[1] == "16<br>neurons" and labels[-1] == "2<br>outputs"
    assert len(_scatter(fig, "link hover").x) == 2 * 16 + 16 * 16 * 7 + 16 * 2


def test_neuron_map_figure_is_a_symmetric_heatmap_over_the_box():
    m = np.array([[0.0, -2.0], [1.0, 0.5]])
    fig = neuron_map_figure(m, (-6, 6, -5, 5), "layer1 #1")
    hm = _heatmap(fig)
    assert np.array_equal(np.asarray(hm.z), m) and (hm.zmin, hm.zmax) == (-2.0, 2.0)
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
