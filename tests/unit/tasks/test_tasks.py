"""Task generators: shapes, determinism, the math of each data set, CSV loading and its rejections."""

from __future__ import annotations

import hashlib
import math
import pickle
import time

import numpy as np
import pytest
import torch

from netarium.schema import SchemaError, browser_settable, is_cli_only, is_upload_id, validate_params
from netarium.tasks import TASKS, CSVError, Task, load_csv_task, make_task
from netarium.tasks.csv import (
    MAX_SHOWN_CHARS,
    MAX_UPLOAD_BYTES,
    check_upload,
    read_upload,
    upload_file,
    upload_id,
)
from netarium.tasks.playground import feature_map
from netarium.tasks.synthetic import is_prime

SMALL = {"xor-clusters": {"d": 50, "n_train": 100, "n_test": 200}}
GENERATED = [n for n in TASKS.names() if n != "csv"]
TWO_D = [e.name for e in TASKS if "2d" in e.tags]


def build(name: str, seed: int = 0, **overrides) -> Task:
    return make_task(name, {**SMALL.get(name, {}), **overrides}, seed=seed)


def test_registry_holds_all_tasks():
    expected = {"circle", "xor", "gauss", "spiral", "moons", "blobs", "spirals", "reg-plane", "reg-gauss", "reg-compose",
                "xor-clusters", "modular", "cube", "digits", "csv"}
    assert expected <= set(TASKS.names())
    assert set(TWO_D) == expected - {"xor-clusters", "modular", "cube", "digits", "csv"}
    for entry in TASKS:
        for name, info in entry.schema.model_fields.items():
            assert info.description, f"{entry.name}.{name} has no help text"


@pytest.mark.parametrize("name", GENERATED)
def test_builds_with_consistent_shapes(name):
    t = build(name)
    assert t.name == name
    assert len(t.X_train) == len(t.y_train) > 0 and len(t.X_test) == len(t.y_test) > 0
    assert t.X_train.shape[1] == t.X_test.shape[1] == len(t.input_names)
    if t.vocab_size is None:
        assert t.X_train.dtype == torch.float32 and torch.isfinite(t.X_train).all() and torch.isfinite(t.X_test).all()
    else:
        assert t.X_train.dtype == torch.int64 and 0 <= int(t.X_train.min()) and int(t.X_train.max()) < t.vocab_size
    if t.kind == "classification":
        assert t.y_train.dtype == torch.int64 and t.y_train.ndim == 1 and t.n_classes >= 2
        for y in (t.y_train, t.y_test):
            assert 0 <= int(y.min()) and int(y.max()) < t.n_classes
        assert len(torch.unique(t.y_train)) == t.n_classes
    elif t.kind == "sequence":  # a target per position, -100 where not scored
        assert t.y_train.dtype == torch.int64 and t.y_train.shape == t.X_train.shape and t.n_classes == t.vocab_size
        scored = t.y_train[t.y_train != -100]
        assert 0 <= int(scored.min()) and int(scored.max()) < t.n_classes
    else:
        assert t.kind == "regression" and t.n_classes == 0
        points = t.X_train.shape[1] // t.meta["grid_channels"] if "grid_channels" in t.meta else 1  # elliptic-1d: u per point
        assert t.y_train.dtype == torch.float32 and t.y_train.shape == (len(t.X_train), points)
        bound = 1.2 if name == "reg-plane" else 1.0  # TFP's plane: (x1 + x2) / 10 on [-6, 6]^2, unclipped
        bound = 7.39 if name == "reg-compose" else bound  # exp(sin(pi x) + y^2) <= e^2
        bound = 20.0 if name == "elliptic-1d" else bound  # u / std(u) over the training problems (heavy-tailed: 1/a)
        bound = 2.0 if name == "adding" else bound  # the sum of two values in [0, 1]
        assert float(t.y_train.abs().max()) <= bound and float(t.y_train.std()) > 0.1


@pytest.mark.parametrize("name", GENERATED)
def test_deterministic_by_seed(name):
    a, b, c = build(name, seed=3), build(name, seed=3), build(name, seed=4)
    for key in ("X_train", "y_train", "X_test", "y_test"):
        assert torch.equal(getattr(a, key), getattr(b, key))
    assert not torch.equal(a.X_train, c.X_train) or not torch.equal(a.y_train, c.y_train)


@pytest.mark.parametrize("name", TWO_D)
def test_2d_tasks_meta_box_and_featurize(name):
    t = build(name, n_samples=400, noise=0.3, train_ratio=0.3, features=["x1", "x1*x2", "sin(x2)", "x2^2"])
    assert len(t.X_train) == 120 and len(t.X_test) == 280
    assert t.is_2d and t.input_names == ["x1", "x1*x2", "sin(x2)", "x2^2"] == t.meta["features"]
    x1min, x1max, x2min, x2max = t.meta["box"]
    assert x1min <= -6 and x1max >= 6 and x2min <= -6 and x2max >= 6
    for pts, X in ((t.meta["points_train"], t.X_train), (t.meta["points_test"], t.X_test)):
        assert pts.shape == (len(X), 2) and pts.dtype == torch.float32
        assert float(pts[:, 0].min()) > x1min and float(pts[:, 0].max()) < x1max
        assert float(pts[:, 1].min()) > x2min and float(pts[:, 1].max()) < x2max
        torch.testing.assert_close(X[:, 0], pts[:, 0])
        torch.testing.assert_close(X[:, 1], pts[:, 0] * pts[:, 1])
        torch.testing.assert_close(X[:, 2], torch.sin(pts[:, 1]))
        torch.testing.assert_close(X[:, 3], pts[:, 1] ** 2)
        torch.testing.assert_close(t.featurize(pts), X)
    assert float(t.meta["points_train"].abs().max()) < 12


def test_feature_map_values():
    pts = torch.tensor([[1.0, 2.0], [-0.5, math.pi / 2]])
    out = feature_map(pts, ["x2", "x1^2", "x1*x2", "sin(x1)", "sin(x2)", "x1", "x2^2"])
    expected = torch.tensor([
        [2.0, 1.0, 2.0, math.sin(1.0), math.sin(2.0), 1.0, 4.0],
        [math.pi / 2, 0.25, -math.pi / 4, math.sin(-0.5), 1.0, -0.5, math.pi**2 / 4],
    ])
    torch.testing.assert_close(out, expected)
    assert feature_map(np.zeros((3, 2)), ["x1"]).shape == (3, 1)


def test_feature_list_validation():
    with pytest.raises(SchemaError, match=r"^task\.features: .*at least one feature"):
        validate_params(TASKS.get("xor").schema, {"features": []}, prefix="task")
    with pytest.raises(SchemaError, match=r"^task\.features: .*listed twice: x1"):
        validate_params(TASKS.get("xor").schema, {"features": ["x1", "x2", "x1"]}, prefix="task")
    with pytest.raises(SchemaError, match=r"^task\.features\.0: .*"):
        validate_params(TASKS.get("xor").schema, {"features": ["x3"]}, prefix="task")


def test_schema_error_names_key():
    with pytest.raises(SchemaError) as err:
        validate_params(TASKS.get("circle").schema, {"noise": 0.8}, prefix="task")
    assert err.value.key == "task.noise"
    assert str(err.value).startswith("task.noise: ") and "from 0.0 to 0.5" in str(err.value)
    with pytest.raises(SchemaError, match=r"^task\.n_samples: "):
        make_task("spiral", {"n_samples": 5})


def test_playground_class_geometry():
    circle = build("circle", n_samples=1000)
    r = torch.cat([circle.meta["points_train"], circle.meta["points_test"]]).norm(dim=1)
    y = torch.cat([circle.y_train, circle.y_test])
    assert float(r[y == 1].max()) <= 2.5 and float(r[y == 0].min()) >= 3.5 and float(r.max()) <= 5.0
    xor = build("xor", n_samples=1000)
    p = xor.meta["points_train"]
    assert torch.equal(xor.y_train, (p[:, 0] * p[:, 1] >= 0).long()) and float(p.abs().min()) >= 0.3
    gauss = build("gauss", n_samples=2000)
    p, y = gauss.meta["points_train"], gauss.y_train
    torch.testing.assert_close(p[y == 1].mean(0), torch.tensor([2.0, 2.0]), atol=0.15, rtol=0)
    torch.testing.assert_close(p[y == 0].mean(0), torch.tensor([-2.0, -2.0]), atol=0.15, rtol=0)
    plane = build("reg-plane", n_samples=300)
    p = plane.meta["points_train"]
    torch.testing.assert_close(plane.y_train[:, 0], (p[:, 0] + p[:, 1]) / 10)
    blobs = build("blobs", n_classes=6, n_samples=600)
    assert blobs.n_classes == 6 and torch.bincount(torch.cat([blobs.y_train, blobs.y_test])).tolist() == [100] * 6
    spirals = build("spirals", n_classes=5, n_samples=500)
    assert spirals.n_classes == 5 and float(spirals.meta["points_train"].norm(dim=1).max()) < 5.0


def test_xor_clusters_labels_noise_and_means():
    t = make_task("xor-clusters", {"d": 200, "n_train": 4000, "n_test": 2000, "eta": 0.2, "mu_norm": 10}, seed=1)
    flipped, clean = t.meta["flipped_train"], t.meta["clean_train_labels"]
    assert flipped.dtype == torch.bool and flipped.shape == (4000,)
    assert abs(float(flipped.float().mean()) - 0.2) < 0.03
    assert torch.equal(t.y_train[flipped], 1 - clean[flipped]) and torch.equal(t.y_train[~flipped], clean[~flipped])
    mu1, mu2 = t.meta["mu1"], t.meta["mu2"]
    assert float(mu1.norm()) == pytest.approx(10) and float(mu2.norm()) == pytest.approx(10) and float(mu1 @ mu2) == 0
    for X, y in ((t.X_train, clean), (t.X_test, t.y_test)):
        # label 1 <-> the point sits near +-mu1 (|<x, mu1>| large), label 0 <-> near +-mu2.
        near1 = (X @ mu1).abs() > (X @ mu2).abs()
        assert torch.equal(near1.long(), y)
        assert abs(float(y.float().mean()) - 0.5) < 0.05
    assert 0.45 < float(((t.X_test @ mu1) > 0)[t.y_test == 1].float().mean()) < 0.55  # both signs used


def test_xor_clusters_eta_zero_clean():
    t = build("xor-clusters", eta=0.0)
    assert not bool(t.meta["flipped_train"].any()) and torch.equal(t.y_train, t.meta["clean_train_labels"])
    assert t.X_train.shape == (100, 50) and t.X_test.shape == (200, 50)


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_modular_arithmetic(op):
    m = 13
    t = make_task("modular", {"op": op, "M": m, "train_fraction": 0.3}, seed=2)
    pairs = np.concatenate([t.meta["pairs_train"], t.meta["pairs_test"]])
    ys = torch.cat([t.y_train, t.y_test]).numpy()
    assert t.vocab_size == m and t.n_classes == m and t.meta["modulus"] == m and t.meta["op"] == op
    assert np.array_equal(torch.cat([t.X_train, t.X_test]).numpy(), pairs)
    expected_n = m * (m - 1) if op == "/" else m * m
    assert len(pairs) == expected_n and len({tuple(p) for p in pairs}) == expected_n
    assert len(t.X_train) == round(0.3 * expected_n)
    for (a, b), c in zip(pairs, ys, strict=True):
        if op == "+":
            assert c == (a + b) % m
        elif op == "-":
            assert c == (a - b) % m
        elif op == "*":
            assert c == (a * b) % m
        else:
            assert b != 0 and (c * b) % m == a % m
    if op == "/":
        assert (pairs[:, 1] != 0).all()


def test_modular_onehot_and_prime_check():
    t = make_task("modular", {"M": 7, "encoding": "onehot"}, seed=0)
    assert t.vocab_size is None and t.X_train.shape[1] == 14 and t.X_train.dtype == torch.float32
    assert torch.equal(t.X_train.sum(1), torch.full((len(t.X_train),), 2.0))
    a, b = t.meta["pairs_train"][:, 0], t.meta["pairs_train"][:, 1]
    assert torch.equal(t.X_train[:, :7].argmax(1), torch.as_tensor(a)) and torch.equal(t.X_train[:, 7:].argmax(1), torch.as_tensor(b))
    assert torch.equal(t.y_train, torch.as_tensor((a + b) % 7))
    with pytest.raises(SchemaError, match=r"^task\.M: .*op '/' needs a prime modulus M.*96 is not prime"):
        make_task("modular", {"op": "/", "M": 96})
    params = validate_params(TASKS.get("modular").schema, {"M": 96})
    with pytest.raises(ValueError, match="96 is not prime"):
        params.op = "/"
    assert [m for m in range(2, 30) if is_prime(m)] == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]


def test_cube_aligned_labels_and_embedding():
    t = make_task("cube", {"cube_dim": 3, "n_dims": 40, "noise": 0.1, "samples_per_condition": 20}, seed=5)
    corners, emb = t.meta["corners"], t.meta["embedding"]
    assert corners.shape == (8, 3) and emb.shape == (40, 3)
    torch.testing.assert_close(emb.T @ emb, torch.eye(3), atol=1e-5, rtol=0)
    assert t.meta["condition_labels"][0] == "+++" and t.meta["condition_labels"][5] == "-+-"
    assert len(set(t.meta["condition_labels"])) == 8
    for X, y, cond in ((t.X_train, t.y_train, t.meta["conditions_train"]), (t.X_test, t.y_test, t.meta["conditions_test"])):
        assert cond.dtype == torch.int64 and torch.bincount(cond, minlength=8).tolist() == [10] * 8
        assert torch.equal(y, (corners[cond, 0] > 0).long())
        recovered = X @ emb  # back in cube coordinates: near the corner, noise ~ 0.1 * sqrt(3) in norm
        assert float((recovered - corners[cond]).norm(dim=1).mean()) < 0.3


def test_cube_rotated_and_random_labels():
    base = {"cube_dim": 4, "n_dims": 16, "samples_per_condition": 4}
    rot0 = make_task("cube", {**base, "labels": "rotated", "angle_deg": 0})
    aligned = make_task("cube", {**base, "labels": "aligned"})
    assert torch.equal(rot0.meta["condition_targets"], aligned.meta["condition_targets"])
    rot90 = make_task("cube", {**base, "labels": "rotated", "angle_deg": 90})
    assert torch.equal(rot90.meta["condition_targets"], (rot90.meta["corners"][:, 1] > 0).long())
    rot45 = make_task("cube", {**base, "labels": "rotated", "angle_deg": 45})
    c = rot45.meta["corners"]
    expected = torch.where(c[:, 0] + c[:, 1] == 0, c[:, 0] > 0, c[:, 0] + c[:, 1] > 0).long()
    assert torch.equal(rot45.meta["condition_targets"], expected)
    targets = [make_task("cube", {**base, "labels": "random"}, seed=s).meta["condition_targets"] for s in range(4)]
    assert all(int(t.sum()) == 8 for t in targets)
    assert len({tuple(t.tolist()) for t in targets}) > 1
    with pytest.raises(SchemaError, match=r"^task\.n_dims: .*at least cube_dim"):
        make_task("cube", {"cube_dim": 5, "n_dims": 4})


def test_digits():
    t = make_task("digits", {"train_ratio": 0.5})
    assert len(t.X_train) + len(t.X_test) == 1797 and t.X_train.shape[1] == 64 and len(t.X_train) == 898
    assert t.n_classes == 10 and t.meta["image_shape"] == (8, 8)
    assert t.input_names[0] == "px0_0" and t.input_names[9] == "px1_1" and t.input_names[-1] == "px7_7"
    assert float(t.X_train.min()) == 0.0 and float(t.X_train.max()) == 1.0
    s = make_task("digits", {"standardize": True, "n_samples": 300})
    assert len(s.X_train) + len(s.X_test) == 300 and len(s.X_train) == 240
    nonconst = s.X_train.std(0) > 0
    torch.testing.assert_close(s.X_train.mean(0), torch.zeros(64), atol=1e-5, rtol=0)
    torch.testing.assert_close(s.X_train.std(0, unbiased=False)[nonconst], torch.ones(int(nonconst.sum())), atol=1e-4, rtol=0)


def test_every_task_builds_fast():
    for name in GENERATED:
        build(name)  # warm imports and caches
        start = time.perf_counter()
        make_task(name)
        assert time.perf_counter() - start < 1.0, name


# --------------------------------------------------------------------------------------------------- CSV


VALID = "a,b,label\n0.5,1,0\n1.5,-2,1\n2,3e-1,2\n-1,0,1\n0,0,0\n"


def test_csv_loads_with_header():
    t = load_csv_task(VALID, train_ratio=0.6, seed=1)
    assert t.kind == "classification" and t.n_classes == 3 and t.meta["class_values"] == [0, 1, 2]
    assert t.input_names == ["a", "b"] and t.meta["label_name"] == "label"
    assert len(t.X_train) == 3 and len(t.X_test) == 2 and t.X_train.dtype == torch.float32
    rows = {tuple(r) for r in torch.cat([t.X_train, t.X_test]).tolist()}
    assert rows == {(0.5, 1.0), (1.5, -2.0), (2.0, 0.30000001192092896), (-1.0, 0.0), (0.0, 0.0)}
    same = load_csv_task(VALID.encode(), train_ratio=0.6, seed=1)
    assert torch.equal(same.X_train, t.X_train) and torch.equal(same.y_train, t.y_train)


def test_csv_without_header_remaps_labels(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,2,5\n3,4,-3\n5,6,5\n7,8,10\n\n")
    for source in (path, str(path)):
        t = load_csv_task(source, train_ratio=0.5)
        assert t.input_names == ["x1", "x2"] and t.meta["class_values"] == [-3, 5, 10]
        labels = dict(zip(map(tuple, torch.cat([t.X_train, t.X_test]).tolist()), torch.cat([t.y_train, t.y_test]).tolist(), strict=True))
        assert labels == {(1.0, 2.0): 1, (3.0, 4.0): 0, (5.0, 6.0): 1, (7.0, 8.0): 2}


def test_csv_regression_detection():
    t = load_csv_task("x,y\n0,0.5\n1,1.5\n2,2.5\n3,3.5\n")
    assert t.kind == "regression" and t.n_classes == 0 and t.y_train.shape == (3, 1) and t.y_train.dtype == torch.float32
    many = "\n".join(f"{i},{i}" for i in range(30))
    assert load_csv_task(many).kind == "regression"  # 30 distinct integers > 20
    assert load_csv_task(many, kind="classification").n_classes == 30
    assert load_csv_task("1,0\n2,1\n3,0\n", kind="regression").kind == "regression"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,y\n1,2,0\n3,x,1\n", "row 3, column 2 ('b'): 'x' is not a number"),
        ("1,2,0\n3,4,1\n5,,1\n", "row 3, column 2: empty cell is not a number"),
        ("a,b,y\n1,2,0\n3,nan,1\n", "row 3, column 2 ('b'): 'nan' is not a finite number"),
        ("1,2,0\n3,4,1\n\n5,6,inf\n", "row 4, column 3: 'inf' is not a finite number"),
        ("a,b,y\n1,2,0\n3,4\n", "row 3: 2 columns, but row 1 has 3"),
        ("y\n1\n2\n", "row 1: only 1 column"),
        ("a,b,y\n1,2,0\n1,2,0\n3,4,0\n", "the label column 3 ('y') has a single class (0)"),
        ("1,2,7\n3,4,7\n", "the label column 3 has a single class (7)"),
        ("a,b,y\n1,2,0\n", "need at least 2 data rows, found 1"),
        ("a,b,y\n", "need at least 2 data rows, found 0"),
        (b"", "the file is empty: no rows with cells"),
        (b"\n \n,,\n", "the file is empty: no rows with cells"),
        (b"a,b,y\n1,2,0\n3,\xff4,1\n", "row 3, column 2: byte 0xff is not UTF-8 text"),
        (b'1,2,0\n3,"' + b"9" * 200_000 + b'",1\n', "row 2: a cell is longer than 131,072 characters"),
        ("1,2,0\n3,4\x00,1\n", "row 2, column 2: '4\\x00' is not a number"),
    ],
)
def test_csv_rejections(text, message):
    with pytest.raises(CSVError) as err:
        load_csv_task(text)
    assert message in str(err.value)
    assert isinstance(err.value, ValueError)


def test_csv_limits():
    rows = "\n".join(f"{i},{i % 2}" for i in range(11))
    with pytest.raises(CSVError, match=r"row 11: too many rows, more than the limit of 10"):
        load_csv_task(rows, max_rows=10)
    with pytest.raises(CSVError, match=r"row 12: too many rows, more than the limit of 10"):
        load_csv_task("a,y\n" + rows, max_rows=10)
    assert len(load_csv_task(rows, max_rows=11).X_train) == 9
    with pytest.raises(CSVError, match=r"row 1: 6 columns, more than the limit of 5"):
        load_csv_task("1,2,3,4,5,0\n1,2,3,4,5,1\n", max_cols=5)
    with pytest.raises(CSVError, match="no such CSV file"):
        load_csv_task("/nonexistent/file.csv")


def test_csv_registered_task(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(VALID)
    t = make_task("csv", {"path": str(path), "train_ratio": 0.8}, seed=0)
    assert t.name == "csv" and len(t.X_train) == 4 and t.n_classes == 3
    with pytest.raises(SchemaError, match="task: no CSV file given: upload one in the app, or set task.path"):
        make_task("csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,x\n")
    with pytest.raises(SchemaError, match=r"task\.path: .*row 2, column 2"):
        make_task("csv", {"path": str(bad)})


SECRET = "TOPSECRET-" + "".join(f"k{i:02d}" for i in range(40))  # a long cell no message may echo
LONG_NUMBER = "9" * 400  # parses as a float overflowing to inf


@pytest.mark.parametrize(
    ("source", "where", "shown"),
    [
        (f"a,b,y\n1,2,0\n3,{SECRET},1\n", "row 3, column 2 ('b')", repr(SECRET[:MAX_SHOWN_CHARS]) + "…"),
        (f"a,{SECRET},y\n1,2,0\n3,x,1\n", f"row 3, column 2 ({SECRET[:MAX_SHOWN_CHARS]!r}…)", "'x'"),
        (f"a,b,y\n1,2,0\n3,{LONG_NUMBER},1\n", "row 3, column 2 ('b')", repr(LONG_NUMBER[:MAX_SHOWN_CHARS]) + "…"),
        (f"a,b,y\n1,2,0\n{SECRET},{SECRET}\n", "row 3: 2 columns, but row 1 has 3", ""),
        (f"{SECRET}\n1\n", "row 1: only 1 column", ""),
        (f"a,{SECRET}\n1,0\n2,0\n", f"the label column 2 ({SECRET[:MAX_SHOWN_CHARS]!r}…) has a single class", ""),
        (f"a,{SECRET}\n" + "1,0\n" * 12, "row 12: too many rows, more than the limit of 10", ""),
        (f"{SECRET},{SECRET},{SECRET},{SECRET}\n1,2,3,0\n", "row 1: 4 columns, more than the limit of 3", ""),
        (f"a,{SECRET}\n1,0\n", "need at least 2 data rows, found 1", ""),
        (SECRET.encode() + b",\xfe\n1,0\n", "row 1, column 2: byte 0xfe is not UTF-8 text", ""),
        (f'a,y\n1,"{SECRET * 4000}"\n', "row 2: a cell is longer than 131,072 characters", ""),
    ],
)
def test_csv_errors_name_the_cell_but_show_at_most_a_short_escaped_piece(source, where, shown):
    data = source if isinstance(source, bytes) else source.encode()
    with pytest.raises(CSVError) as err:
        load_csv_task(data, max_rows=10, max_cols=3)
    message = str(err.value)
    assert where in message and shown in message
    assert SECRET[: MAX_SHOWN_CHARS + 1] not in message and LONG_NUMBER[: MAX_SHOWN_CHARS + 1] not in message


def test_csv_error_escapes_control_characters():
    with pytest.raises(CSVError) as err:
        load_csv_task(b"a,b,y\n1,2,0\n3,\x1b[31mred\x07,1\n")
    assert str(err.value) == "row 3, column 2 ('b'): '\\x1b[31mred\\x07' is not a number"


def test_upload_ids_are_sha256_digests_and_never_paths(tmp_path, monkeypatch):
    data = VALID.encode()
    key = upload_id(data)
    assert len(key) == 64 and key == hashlib.sha256(data).hexdigest()
    monkeypatch.setenv("NETARIUM_HOME", str(tmp_path))
    assert upload_file(key) == tmp_path / "uploads" / f"{key}.csv"
    for bad in ("../etc/passwd", "/etc/passwd", key.upper(), key[:-1], key + "0", f"../{key}", f"{key}/x", ""):
        with pytest.raises(SchemaError, match="task.upload"):
            upload_file(bad)
        with pytest.raises(SchemaError, match="task.upload"):
            make_task("csv", {"upload": bad})


def test_csv_task_loads_an_upload_like_the_same_file_by_path(tmp_path, monkeypatch):
    monkeypatch.setenv("NETARIUM_HOME", str(tmp_path / "home"))
    data = VALID.encode()
    stored = upload_file(upload_id(data))
    stored.parent.mkdir(parents=True)
    stored.write_bytes(data)
    path = tmp_path / "same.csv"
    path.write_bytes(data)
    up = make_task("csv", {"upload": upload_id(data), "train_ratio": 0.6}, seed=3)
    by_path = make_task("csv", {"path": str(path), "train_ratio": 0.6}, seed=3)
    for name in ("X_train", "y_train", "X_test", "y_test"):
        assert torch.equal(getattr(up, name), getattr(by_path, name)), name
    assert up.input_names == by_path.input_names == ["a", "b"] and up.n_classes == by_path.n_classes == 3
    assert up.meta["source"] == f"upload {upload_id(data)[:12]}" and by_path.meta["source"] == str(path)
    assert read_upload(upload_id(data)) == data
    with pytest.raises(SchemaError, match="task: give one CSV file, task.upload or task.path, not both"):
        make_task("csv", {"upload": upload_id(data), "path": str(path)})
    missing = upload_id(b"1,0\n2,1\n")
    with pytest.raises(SchemaError, match=f"task.upload: no uploaded CSV file with id {missing[:12]}"):
        make_task("csv", {"upload": missing})
    stored.write_bytes(data.replace(b"0.5", b"9.5"))  # altered on disk: no longer the bytes of its id
    with pytest.raises(SchemaError, match="task.upload: the uploaded file .* was changed"):
        make_task("csv", {"upload": upload_id(data)})


def test_a_bad_upload_is_reported_against_task_upload_without_its_contents(tmp_path, monkeypatch):
    monkeypatch.setenv("NETARIUM_HOME", str(tmp_path))
    data = f"a,b,y\n1,2,0\n3,{SECRET},1\n".encode()
    stored = upload_file(upload_id(data))  # e.g. written by an older version that did not check uploads
    stored.parent.mkdir(parents=True)
    stored.write_bytes(data)
    with pytest.raises(SchemaError) as err:
        make_task("csv", {"upload": upload_id(data)})
    assert str(err.value).startswith("task.upload: row 3, column 2 ('b'): 'TOPSECRET-k00k01k02k'…")
    assert SECRET[: MAX_SHOWN_CHARS + 1] not in str(err.value)


def test_check_upload_caps_the_size():
    row = b"1,2,0\n3,4,1\n"
    check_upload(row)
    big = row * (MAX_UPLOAD_BYTES // len(row) + 1)
    with pytest.raises(CSVError, match=f"more than the limit of {MAX_UPLOAD_BYTES:,}"):
        check_upload(big)


def test_path_is_cli_only_and_upload_is_not_browser_settable():
    fields = TASKS.get("csv").schema.model_fields
    assert is_cli_only(fields["path"]) and not is_cli_only(fields["upload"]) and not is_cli_only(fields["kind"])
    assert is_upload_id(fields["upload"]) and not is_upload_id(fields["path"])
    assert [n for n, f in fields.items() if not browser_settable(f)] == ["upload", "path"]
    assert all(browser_settable(f) for e in TASKS if e.name != "csv" for f in e.schema.model_fields.values())


def test_moons_default_noise_and_spread():
    assert TASKS.get("moons").schema().noise == 0.1
    clean = make_task("moons", {"noise": 0.0, "n_samples": 400})
    p, y = clean.meta["points_train"], clean.y_train
    # back in moon units: class 0 on the unit circle around (0, 0), class 1 around (1, 0.5)
    q = p / 4 + torch.tensor([0.5, 0.25])
    torch.testing.assert_close(q[y == 0].norm(dim=1), torch.ones(int((y == 0).sum())), atol=1e-5, rtol=0)
    torch.testing.assert_close((q[y == 1] - torch.tensor([1.0, 0.5])).norm(dim=1), torch.ones(int((y == 1).sum())), atol=1e-5, rtol=0)
    assert float(q[y == 0, 1].min()) >= 0 and float((q[y == 1, 1] - 0.5).max()) <= 0


@pytest.mark.parametrize("name", ["spiral", "modular", "cube", "xor-clusters"])
def test_tasks_pickle(name):
    t = build(name)
    back = pickle.loads(pickle.dumps(t))
    assert torch.equal(back.X_train, t.X_train) and back.meta.keys() == t.meta.keys()
    if t.featurize is not None:
        pts = torch.tensor([[1.0, -2.0]])
        torch.testing.assert_close(back.featurize(pts), t.featurize(pts))
