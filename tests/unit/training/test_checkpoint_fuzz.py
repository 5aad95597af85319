"""Fuzzed checkpoint files (training/store.py load_checkpoint, training/runs_io.py load_weights / load_run):
a damaged, foreign or NaN-holding safetensors file is a CheckpointError with a one-line sentence, reading
it writes nothing to the store, and the store's other runs still load."""

import json
import struct
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from safetensors.torch import save as safetensors_bytes

from netarium.training.config import Config
from netarium.training.run import Run
from netarium.training.runs_io import load_run, load_weights
from netarium.training.store import CheckpointError, RunStore

CFG = Config(task={"name": "circle", "n_samples": 100}, model={"name": "mlp", "hidden": [4, 3]}, steps=5, device="cpu")
MAX_MESSAGE_CHARS = 400
DTYPES = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2", "U64", "Q9"]


class Bench:
    """One store with two saved runs: `victim`, whose checkpoint file the examples overwrite, and `other`."""

    def __init__(self):
        self.folder = tempfile.TemporaryDirectory()
        self.store = RunStore(Path(self.folder.name) / "netarium.db")
        self.runs = {}
        for name, seed in (("victim", 0), ("other", 1)):
            run = Run(CFG.with_overrides([f"seed={seed}"])).train()
            rid = self.store.create_run(run.config.model_dump(mode="json"), name=name)
            self.store.save_checkpoint(rid, run.model.state_dict(), step=run.step_count)
            self.store.finish(rid, {"test_acc": 0.5}, steps=run.step_count, seconds=0.1)
            self.runs[name] = (rid, {k: v.clone() for k, v in run.model.state_dict().items()})
        self.victim_file = self.store.checkpoints(self.runs["victim"][0])[-1][1]
        self.good = self.victim_file.read_bytes()

    def state(self):
        """Everything the store holds but the victim's file: checkpoint files' bytes and the database's rows."""
        files = {str(p.relative_to(self.folder.name)): p.read_bytes() for p in Path(self.folder.name).rglob("*")
                 if p.is_file() and p != self.victim_file and p.suffix == ".safetensors"}
        runs = [(r.id, r.status, r.steps, r.config, r.final) for r in self.store.list_runs()]
        index = {rid: self.store.checkpoints(rid) for rid, _ in self.runs.values()}
        return files, runs, index, {rid: self.store.history(rid) for rid, _ in self.runs.values()}


BENCH = Bench()
GOOD_TENSORS = {k: v.clone() for k, v in BENCH.runs["victim"][1].items()}
HEADER_LEN = struct.unpack("<Q", BENCH.good[:8])[0]
GOOD_HEADER = json.loads(BENCH.good[8:8 + HEADER_LEN])
BODY = BENCH.good[8 + HEADER_LEN:]


def with_header(header, body=BODY, length=None):
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + body


@st.composite
def damaged_tensors(draw):
    """Well-formed safetensors whose tensors do not fit the model: other shapes, dtypes, names, NaN."""
    tensors = {k: v.clone() for k, v in GOOD_TENSORS.items()}
    keys = sorted(tensors)
    how = draw(st.sampled_from(["drop", "extra", "rename", "shape", "dtype", "nan", "mask"]))
    key = draw(st.sampled_from(keys))
    if how == "drop":
        del tensors[key]
    elif how == "extra":
        tensors[draw(st.text(min_size=1, max_size=80))] = torch.zeros(draw(st.integers(0, 4)))
    elif how == "rename":
        tensors[key + draw(st.text(min_size=1, max_size=5))] = tensors.pop(key)
    elif how == "shape":
        tensors[key] = torch.zeros(draw(st.lists(st.integers(0, 6), max_size=3)))
    elif how == "dtype":
        tensors[key] = tensors[key].to(draw(st.sampled_from([torch.float64, torch.float16, torch.bfloat16, torch.int64,
                                                             torch.int8, torch.bool, torch.uint8])))
    elif how == "nan":
        flat = tensors[key].flatten()
        flat[draw(st.integers(0, flat.numel() - 1))] = draw(st.sampled_from([float("nan"), float("inf"), -float("inf")]))
        tensors[key] = flat.reshape(tensors[key].shape)
    else:  # a mask for a layer: one that fits (a pruned run), or one of another shape or for no layer
        layer = draw(st.sampled_from([k.removesuffix(".weight") for k in keys if k.endswith(".weight")] + ["nowhere"]))
        shape = tensors.get(f"{layer}.weight", torch.zeros(2, 2)).shape
        tensors[f"{layer}.mask"] = torch.ones(shape if draw(st.booleans()) else (1, 1))
    return safetensors_bytes(tensors)


@st.composite
def damaged_headers(draw):
    """The saved file's bytes with its JSON header changed: shapes, dtypes, offsets, names, its length."""
    header = json.loads(json.dumps(GOOD_HEADER))
    key = draw(st.sampled_from(sorted(k for k in header if k != "__metadata__")))
    how = draw(st.sampled_from(["shape", "dtype", "offsets", "drop", "extra", "length", "metadata", "body"]))
    if how == "shape":
        header[key]["shape"] = draw(st.lists(st.integers(-2, 2**40), max_size=4))
    elif how == "dtype":
        header[key]["dtype"] = draw(st.sampled_from(DTYPES))
    elif how == "offsets":
        header[key]["data_offsets"] = draw(st.lists(st.integers(-1, 2**64 - 1), min_size=0, max_size=3))
    elif how == "drop":
        del header[key]
    elif how == "extra":
        header[draw(st.text(max_size=20))] = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    elif how == "metadata":
        header["__metadata__"] = draw(st.one_of(st.none(), st.integers(), st.dictionaries(st.text(max_size=5), st.integers())))
    elif how == "length":
        return with_header(header, length=draw(st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 4096))))
    else:
        return with_header(header, body=BODY[:draw(st.integers(0, len(BODY)))] + draw(st.binary(max_size=8)))
    return with_header(header)


@st.composite
def damaged_bytes(draw):
    """The saved file cut short, with bytes flipped, or replaced by random bytes."""
    how = draw(st.sampled_from(["truncate", "flip", "random"]))
    if how == "truncate":
        return BENCH.good[:draw(st.integers(0, len(BENCH.good) - 1))]
    if how == "random":
        return draw(st.binary(max_size=300))
    data = bytearray(BENCH.good)
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


ANY_FILE = st.one_of(damaged_tensors(), damaged_headers(), damaged_bytes())


def check_message(err):
    message = str(err)
    assert message and "\n" not in message and len(message) <= MAX_MESSAGE_CHARS and message.isprintable(), repr(message)
    assert "Error while" not in message or "cannot be read, its file is damaged" in message, message


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=ANY_FILE)
@example(data=b"")  # a SafetensorError (no ValueError: the pages' guards missed it)
@example(data=struct.pack("<Q", 2**63) + BENCH.good[8:])  # a huge declared header length
def test_a_damaged_checkpoint_is_a_checkpoint_error_and_the_store_stays_as_it_was(data):
    victim, other = BENCH.runs["victim"][0], BENCH.runs["other"]
    before = BENCH.state()
    BENCH.victim_file.write_bytes(data)
    try:
        run = load_run(BENCH.store, victim)
    except CheckpointError as err:
        check_message(err)
    else:  # the damage left a file that fits (a flipped bit in a weight): its finite weights are loaded
        for value in run.model.state_dict().values():
            assert not value.is_floating_point() or bool(torch.isfinite(value).all())
    finally:
        BENCH.victim_file.write_bytes(BENCH.good)
    assert BENCH.state() == before  # reading wrote nothing
    reloaded = load_run(BENCH.store, other[0]).model.state_dict()  # the other run still loads, unchanged
    assert all(torch.equal(reloaded[k], v) for k, v in other[1].items())


# ------------------------------------------------------------------------ what the fuzzing found


def test_damaged_missing_and_nan_checkpoints_are_sentences():
    victim = BENCH.runs["victim"][0]
    step = BENCH.store.checkpoints(victim)[-1][0]
    try:
        for data, message in [
            (b"", f"run {victim}'s checkpoint at step {step} cannot be read, its file is damaged "
                  "(Error while deserializing header: header too small)"),
            (BENCH.good[:-4], f"run {victim}'s checkpoint at step {step} cannot be read, its file is damaged "
                              "(Error while deserializing header: incomplete metadata, file not fully covered)"),
        ]:
            BENCH.victim_file.write_bytes(data)
            with pytest.raises(CheckpointError) as err:
                BENCH.store.load_checkpoint(victim)
            assert str(err.value) == message and isinstance(err.value, ValueError)
        nan = {k: v.clone() for k, v in GOOD_TENSORS.items()}
        nan["readout.bias"][0] = float("nan")
        BENCH.victim_file.write_bytes(safetensors_bytes(nan))
        with pytest.raises(CheckpointError, match=r"holds NaN or infinite values \(in readout.bias\); it cannot be used$"):
            BENCH.store.load_checkpoint(victim)
        BENCH.victim_file.unlink()
        with pytest.raises(CheckpointError, match=r"is missing: its file is no longer in the store$"):
            BENCH.store.load_checkpoint(victim)
    finally:
        BENCH.victim_file.write_bytes(BENCH.good)


def test_a_misfit_names_what_differs_and_leaves_the_model_as_it_was():
    model = Run(CFG).model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    tensors = {k: v.clone() for k, v in GOOD_TENSORS.items()}
    tensors["readout.weight"] = tensors["readout.weight"].double()
    tensors["layers.0.linear.mask"] = torch.ones(1, 1)  # a mask of the wrong shape: no mask may be added
    del tensors["readout.bias"]
    tensors["extra\n"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as err:
        load_weights(model, tensors)
    assert str(err.value) == ("the checkpoint does not fit the model: it lacks readout.bias; it has extra\\n, which the model "
                              "does not; readout.weight has dtype float64, the model's float32; layers.0.linear.mask has "
                              "shape (1, 1), the model's (4, 2)")
    assert model.state_dict().keys() == before.keys() and all(torch.equal(model.state_dict()[k], v) for k, v in before.items())
