"""TensorFlow Playground links: TFP's URL state read into a Config, with a notice for what has no
equivalent here. Pure functions, no streamlit.

TFP keeps its whole state in the URL's #hash (src/state.ts: `State.PROPS`, defaults in `class State`;
`<control>_hide=true` for the controls of src/playground.ts's HIDABLE_CONTROLS, and for input
features, which TFP then leaves out of the network). Values are read as TFP reads them (an unknown
choice keeps TFP's default, a boolean is true unless "false"), numbers are clamped to Netarium's
schemas with a notice, and the result goes through the Netarium codec (ui/urlstate.py), so a TFP
link is validated like any Netarium link. Never raises.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydantic.fields import FieldInfo

from netarium.schema import SchemaError
from netarium.tasks import TASKS
from netarium.training.config import SECTIONS, Config
from netarium.training.optim import OPTIMIZERS
from netarium.ui.errors import failure_sentence
from netarium.ui.urlstate import (
    HIDE_SUFFIX,
    MAX_CHARS,
    TRUE_WORDS,
    VERSION_KEY,
    DecodedURL,
    encode_value,
    field_kind,
    known_keys,
    query_to_config,
    show_value,
)

# ------------------------------------------------------------------------------- TFP's vocabulary

# src/state.ts, State.PROPS, in its order.
PROPS = ("activation", "regularization", "batchSize", "dataset", "regDataset", "learningRate", "regularizationRate",
         "noise", "networkShape", "seed", "showTestData", "discretize", "percTrainData", "x", "y", "xTimesY",
         "xSquared", "ySquared", "cosX", "sinX", "cosY", "sinY", "collectStats", "tutorial", "problem", "initZero",
         "hideText")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
REGULARIZATIONS = ("none", "L1", "L2")
DATASETS = ("circle", "xor", "gauss", "spiral")
REG_DATASETS = ("reg-plane", "reg-gauss")
PROBLEMS = ("classification", "regression")
# src/playground.ts INPUTS, in its order (the network's input order) -> Netarium's task.features names.
FEATURES = {"x": "x1", "y": "x2", "xSquared": "x1^2", "ySquared": "x2^2", "xTimesY": "x1*x2",
            "sinX": "sin(x1)", "sinY": "sin(x2)"}
# class State's defaults, as the text a link would carry (seed and tutorial have none).
DEFAULTS = {"activation": "tanh", "regularization": "none", "batchSize": "10", "dataset": "circle",
            "regDataset": "reg-plane", "learningRate": "0.03", "regularizationRate": "0", "noise": "0",
            "networkShape": "4,2", "showTestData": "false", "discretize": "false", "percTrainData": "50",
            "x": "true", "y": "true", "xTimesY": "false", "xSquared": "false", "ySquared": "false",
            "cosX": "false", "sinX": "false", "cosY": "false", "sinY": "false", "collectStats": "false",
            "problem": "classification", "initZero": "false", "hideText": "false"}
NUM_SAMPLES = {"classification": 500, "regression": 1200}  # src/playground.ts NUM_SAMPLES_CLASSIFY / _REGRESS

# HIDABLE_CONTROLS (src/playground.ts) -> the Netarium controls that hide with them. Keys that this
# Config does not know (a field not there yet) are left out when the link is read.
HIDE_MAP: dict[str, tuple[str, ...]] = {
    "showTestData": ("boundary.test",),
    "discretize": ("boundary.disc",),
    "playButton": ("transport.play",),
    "stepButton": ("transport.step",),
    "resetButton": ("transport.reset",),
    "learningRate": ("optimizer.lr",),
    "activation": ("model.activation",),
    "regularization": ("regularization", "l1", "l2"),
    "regularizationRate": ("l1", "l2"),
    "problem": ("problem",),
    "dataset": ("task",),
    "percTrainData": ("task.train_ratio",),
    "noise": ("task.noise",),
    "batchSize": ("batch_size",),
    "numHiddenLayers": ("model.hidden",),  # the sidebar's widths and the Playground's +/- buttons
}
TFP_KEYS = frozenset(PROPS) - {"seed"}  # "seed" is a Netarium key too: it alone does not make a TFP link
TFP_HIDE_KEYS = frozenset(f"{name}{HIDE_SUFFIX}" for name in [*HIDE_MAP, *FEATURES])

# TFP's training rules (squared error on a tanh output, its initialisation, examples in a fixed order,
# its L1/L2 update, data seeded apart from the weights) as Config overrides. Another branch adds these
# Config fields; until then they are reported as pending (apply_known), never silently dropped.
TFP_TRAINING: dict[str, Any] = {"loss": "tfp", "model.init": "tfp", "order": "fixed", "regularization": "tfp"}

MAX_LINK_CHARS = 8000  # a pasted link longer than this is refused
MAX_FIELDS = 200  # key=value pairs read from one link


def tfp_training(seed: int, init_zero: bool) -> dict[str, Any]:
    """The overrides that give a run TFP's training rules: TFP_TRAINING, the data seed, and
    `model.init=zero` for initZero=true."""
    return {**TFP_TRAINING, "data_seed": seed, **({"model.init": "zero"} if init_zero else {})}


def apply_known(config: Config, overrides: Mapping[str, Any]) -> tuple[Config, dict[str, Any], dict[str, Any]]:
    """(config with every override this Config accepts applied, applied ones, pending ones): an override
    whose key or value this version does not know (SchemaError) is pending, and the config keeps its value."""
    applied, pending = {}, {}
    for key, value in overrides.items():
        try:
            config = config.with_overrides({key: value})
        except SchemaError:
            pending[key] = value
        else:
            applied[key] = value
    return config, applied, pending


# ------------------------------------------------------------------------------------ reading values


def _fmt(x: float) -> str:
    """A number as a notice writes it: a whole one in full (1000000, not 1e+06), another by %g."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


class _Reader:
    """Reads one TFP link's values as src/state.ts does, collecting notices for what it changed."""

    def __init__(self, flat: dict[str, str]):
        self.flat = flat
        self.notices: list[str] = []

    def has(self, name: str) -> bool:
        """TFP's hasKey: present and not blank."""
        return name in self.flat and self.flat[name].strip() != ""

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        default = DEFAULTS[name]
        if not self.has(name):
            return default
        raw = self.flat[name].strip()
        if raw in choices:
            return raw
        folded = [c for c in choices if c.lower() == raw.lower()]
        if len(folded) == 1:
            return folded[0]
        self.notices.append(f"{name}={show_value(raw)} is not one of {', '.join(choices)}; used {default}")
        return default

    def boolean(self, name: str) -> bool:
        """TFP: anything but "false" is true; a word that is neither true nor false says so."""
        raw = self.flat[name].strip() if self.has(name) else DEFAULTS[name]
        low = raw.lower()
        if low in ("false", "0", "no", "off"):
            return False
        if low not in TRUE_WORDS:
            self.notices.append(f"{name}={show_value(raw)} is not true or false; read as true, as TensorFlow Playground does")
        return True

    def number(self, name: str, info: FieldInfo, scale: float = 1.0, integer: bool = False, floor: float | None = None) -> float:
        """The number `name`, in TFP's units, inside `info`'s bounds times `scale` (and above `floor`)."""
        default = float(DEFAULTS[name])
        if not self.has(name):
            return default
        raw = self.flat[name].strip()
        try:
            x = float(raw)
        except ValueError:
            x = math.nan
        if math.isnan(x):
            self.notices.append(f"{name}={show_value(raw)} is not a number; used {_fmt(default)}")
            return default
        kind = field_kind(info)
        lo = None if kind.lo is None else round(kind.lo * scale, 9)
        hi = None if kind.hi is None else round(kind.hi * scale, 9)
        if floor is not None:
            lo = floor if lo is None else max(lo, floor)
        if lo is not None and (x < lo or (kind.lo_open and x <= lo and floor is None)):
            if kind.lo_open and floor is None:
                self.notices.append(f"{name}={show_value(raw)} must be above {_fmt(lo)}; used {_fmt(default)}")
                return default
            self.notices.append(f"{name}={show_value(raw)} is below {_fmt(lo)}; used {_fmt(lo)}")
            x = lo
        if hi is not None and x > hi:
            self.notices.append(f"{name}={show_value(raw)} is above {_fmt(hi)}; used {_fmt(hi)}")
            x = hi
        if integer and not float(x).is_integer():
            self.notices.append(f"{name}={show_value(raw)} is not a whole number; used {round(x)}")
            x = round(x)
        return x

    def seed(self) -> int:
        """TFP's seed string as an integer seed, the same for the same string: "0.10150" (TFP writes
        Math.random().toFixed(5)) -> 10150, a whole number -> itself, any other text -> its CRC-32."""
        if not self.has("seed"):
            return 0
        raw = self.flat["seed"].strip()
        top = int(field_kind(Config.model_fields["seed"]).hi or 2**31 - 1)
        decimals = re.fullmatch(r"0?\.(\d{1,5})", raw)
        if decimals:
            return int(decimals.group(1).ljust(5, "0"))
        if re.fullmatch(r"\d{1,10}", raw) and int(raw) <= top:
            return int(raw)
        value = zlib.crc32(raw.encode()) % (top + 1)
        self.notices.append(f"seed={show_value(raw)} is not one of TensorFlow Playground's own seeds (0.00000 to 0.99999); "
                            f"used seed {value}, the same for the same text")
        return value


# ------------------------------------------------------------------------------------------ the link


def _flatten(params: Mapping[str, Any]) -> dict[str, str]:
    """Keys and values as text (a list: its last item), cut to MAX_CHARS, at most MAX_FIELDS of them."""
    flat: dict[str, str] = {}
    for k, v in list(params.items())[:MAX_FIELDS]:
        if isinstance(v, list | tuple):
            v = v[-1] if v else ""
        flat[str(k)[:MAX_CHARS]] = (v if isinstance(v, str) else str(v))[:MAX_CHARS]
    return flat


def is_tfp_query(params: Mapping[str, Any]) -> bool:
    """Whether query parameters are a TensorFlow Playground link's state: a TFP key (or a TFP hide
    flag) and nothing only Netarium writes (`v`, a section name, a dotted key)."""
    keys = {str(k) for k in params}
    if any(k == VERSION_KEY or k in SECTIONS or "." in k for k in keys):
        return False
    netarium_hides = {f"{k}{HIDE_SUFFIX}" for k in known_keys(Config())}  # problem_hide means the same in both
    return bool(keys & (TFP_KEYS | (TFP_HIDE_KEYS - netarium_hides)))


def _start(task: str, base: Config) -> Config:
    """`base` with the task, an mlp, sgd and the default trainer and loss, each from its defaults."""
    return base.with_overrides({"task": task, "model": "mlp", "optimizer": "sgd",
                                "trainer": Config.model_fields["trainer"].default,
                                "loss": Config.model_fields["loss"].default})


def tfp_to_config(params: Mapping[str, Any], base: Config | None = None) -> DecodedURL:
    """A TensorFlow Playground link's state (its #hash or query parameters) as a valid Config, with TFP's
    hidden controls as Netarium's, its test-data and discretize toggles, and a notice for everything
    changed or without an equivalent. `base` gives what TFP does not set (steps, device...). Never raises."""
    base = base if base is not None else Config()
    try:
        return _tfp_to_config(_flatten(params), base)
    except Exception as err:  # noqa: BLE001 - never let a link break a page
        return DecodedURL(base, [failure_sentence("the TensorFlow Playground link could not be read, so the page uses the "
                                                  "defaults", err)])


def _tfp_to_config(flat: dict[str, str], base: Config) -> DecodedURL:
    read = _Reader(flat)
    hide = {k.removesuffix(HIDE_SUFFIX): v for k, v in flat.items() if k.endswith(HIDE_SUFFIX)}
    unknown = sorted(k for k in flat if k not in PROPS and not k.endswith(HIDE_SUFFIX))
    problem = read.choice("problem", PROBLEMS)
    dataset, reg_dataset = read.choice("dataset", DATASETS), read.choice("regDataset", REG_DATASETS)
    task = dataset if problem == "classification" else reg_dataset
    task_fields = TASKS.get(task).schema.model_fields
    activation = read.choice("activation", ACTIVATIONS)
    regularization = read.choice("regularization", REGULARIZATIONS)
    lr = read.number("learningRate", OPTIMIZERS.get("sgd").schema.model_fields["lr"])
    rate = read.number("regularizationRate", Config.model_fields["l1"])
    noise = read.number("noise", task_fields["noise"], scale=100)
    train_pct = read.number("percTrainData", task_fields["train_ratio"], scale=100)
    batch = read.number("batchSize", Config.model_fields["batch_size"], integer=True, floor=1)
    shape = flat.get("networkShape", DEFAULTS["networkShape"])  # TFP reads it even when blank: no hidden layer
    seed = read.seed()
    hidden_features = [name for name in FEATURES if _hide_flag(hide.get(name))]
    chosen = [name for name in FEATURES if read.boolean(name)]
    features = [FEATURES[name] for name in chosen if name not in hidden_features]
    if not features:
        fallback = [FEATURES[n] for n in FEATURES if n not in hidden_features][:2] or ["x1", "x2"]
        read.notices.append(f"the link turns every input feature off; used {', '.join(fallback)} (Netarium needs one)")
        features = fallback
    for name, what in (("cosX", "cos(X1)"), ("cosY", "cos(X2)")):
        if read.has(name) and read.boolean(name):
            read.notices.append(f"{name}=true: TensorFlow Playground has no {what} input either (its INPUTS list "
                                "leaves it out); ignored")
    if read.has("collectStats") and read.boolean("collectStats"):
        read.notices.append("collectStats=true: Netarium has no equivalent (its curves always show train and "
                            "test loss); ignored")
    if read.has("tutorial"):
        read.notices.append(f"tutorial={show_value(flat['tutorial'].strip())}: TensorFlow Playground's tutorial pages are not "
                            "part of Netarium; ignored (a lesson link carries a title and text instead)")
    init_zero = read.boolean("initZero")
    show_test, discretize, hide_text = read.boolean("showTestData"), read.boolean("discretize"), read.boolean("hideText")

    query = {
        "task": task, "task.n_samples": str(NUM_SAMPLES[problem]), "task.noise": encode_value(noise / 100),
        "task.train_ratio": encode_value(train_pct / 100), "task.features": ",".join(features),
        "model": "mlp", "model.hidden": shape, "model.activation": activation,
        "optimizer": "sgd", "optimizer.lr": encode_value(lr), "batch_size": str(int(batch)), "seed": str(seed),
        "l1": encode_value(rate if regularization == "L1" else 0.0),
        "l2": encode_value(rate if regularization == "L2" else 0.0),
    }
    start = _start(task, base)
    allowed = known_keys(start)
    hidden: set[str] = set()
    unknown_hides = []
    for name, raw in hide.items():
        if name in FEATURES:
            continue
        if name not in HIDE_MAP:
            unknown_hides.append(name + HIDE_SUFFIX)
        elif _hide_flag(raw):
            hidden |= {key for key in HIDE_MAP[name] if key in allowed}
    if hidden_features:
        hidden.add("task.features")
        read.notices.append(f"the link hides the input feature(s) {', '.join(hidden_features)}: they are left out of "
                            "the network, and Netarium hides the whole feature picker (it cannot hide single features)")
    if hide_text:
        hidden.add("lesson.text")
    query.update({f"{key}{HIDE_SUFFIX}": "true" for key in sorted(hidden)})
    if unknown:
        read.notices.append(f"ignored key(s) a TensorFlow Playground link does not have: {', '.join(show_value(k) for k in unknown[:10])}"
                            + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""))
    if unknown_hides:
        read.notices.append("ignored hide flag(s) for controls TensorFlow Playground does not hide: "
                            + ", ".join(show_value(k) for k in sorted(unknown_hides)[:10]))

    decoded = query_to_config(query, start)
    config, _, pending = apply_known(decoded.config, tfp_training(seed, init_zero))
    notices = read.notices + decoded.notices
    if pending:
        notices.append("TensorFlow Playground's own training rules are not in this version yet ("
                       + ", ".join(f"{k}={encode_value(v)}" for k, v in pending.items())
                       + "); this run trains with Netarium's own rules instead")
    return DecodedURL(config, notices, decoded.hidden, toggles={"boundary.test": show_test, "boundary.disc": discretize})


def _hide_flag(raw: str | None) -> bool:
    """TFP hides a control for `<name>_hide=true` only (Netarium's other true words count too)."""
    return raw is not None and raw.strip().lower() in TRUE_WORDS


def decode_link(params: Mapping[str, Any], base: Config | None = None) -> tuple[DecodedURL, bool]:
    """(the decoded link, whether it was a TensorFlow Playground link): TFP state when is_tfp_query,
    else a Netarium link (ui/urlstate.py). Never raises."""
    if is_tfp_query(params):
        return tfp_to_config(params, base), True
    return query_to_config(params, base), False


def link_params(text: str) -> tuple[dict[str, str], str]:
    """(key -> value, "") from a pasted link: its #hash when that holds key=value pairs (TFP keeps its state
    there), else its ?query; bare `key=value&...` text works too. ({}, why) when there is nothing to read."""
    text = text.strip()
    if not text:
        return {}, "paste a link first"
    if len(text) > MAX_LINK_CHARS:
        return {}, f"the link is {len(text):,} characters long, more than the {MAX_LINK_CHARS:,} a link may have"
    try:
        parts = urlsplit(text)
        if "=" in parts.fragment:
            raw = parts.fragment
        elif "=" in parts.query:
            raw = parts.query
        elif not parts.scheme and not parts.netloc and "=" in text:
            raw = text.lstrip("?#")
        else:
            return {}, "the link has no settings (no key=value after its ? or #)"
        pairs = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as e:
        return {}, f"the link could not be read ({show_value(str(e), 120)})"
    if not pairs:
        return {}, "the link has no settings (no key=value after its ? or #)"
    return dict(pairs), ""


def hash_hop_script() -> str:
    """JavaScript for the browser: when the top page's address has a TensorFlow Playground #hash and no
    ?query, reload it with the hash as its query (Streamlit sees only the query; TFP writes the hash)."""
    keys = json.dumps(sorted(TFP_KEYS | TFP_HIDE_KEYS))
    return f"""<script>
(function () {{
  try {{
    var loc = window.top.location;
    if (loc.search.length > 1) return;
    var hash = loc.hash.replace(/^#/, "");
    if (hash.indexOf("=") < 0) return;
    var keys = {keys};
    var names = hash.split("&").map(function (kv) {{ return kv.split("=")[0]; }});
    if (!names.some(function (n) {{ return keys.indexOf(n) >= 0; }})) return;
    loc.replace(loc.pathname + "?" + hash);
  }} catch (e) {{}}
}})();
</script>"""
