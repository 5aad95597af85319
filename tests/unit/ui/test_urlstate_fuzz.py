"""Fuzzed links (ui/urlstate.py, ui/tfp_link.py): any query gives a valid Config that round-trips, and
notices that are short single lines quoting at most a short, escaped piece of what the link sent."""

import math
import re

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from netarium.schema import SchemaError
from netarium.training.config import SECTIONS, Config, parse_config
from netarium.training.run import Run
from netarium.ui.tfp_link import DEFAULTS, HIDE_MAP, PROPS, decode_link
from netarium.ui.urlstate import (
    HIDE_SUFFIX,
    LESSON_LIMITS,
    UI_CONTROLS,
    config_to_query,
    field_kind,
    query_to_config,
)

MAX_NOTICE_CHARS = 1000  # a notice is a sentence, never a dump of the link
MAX_QUOTED = 40  # the longest piece of one key or value a notice may quote (urlstate.show_value)

# Every key a link may carry, from the registries (no field named here): section pickers, their
# dotted fields, top-level fields, controls, lesson keys, the version, and TFP's own keys.
SECTION_KEYS = {s: [f"{s}.{f}" for e in r for f in [*e.schema.model_fields, "name"]] for s, r in SECTIONS.items()}
TOP_KEYS = [k for k in Config.model_fields if k not in SECTIONS]
NETARIUM_KEYS = sorted({"v", *SECTIONS, *TOP_KEYS, *(k for ks in SECTION_KEYS.values() for k in ks), *UI_CONTROLS,
                        *LESSON_LIMITS})
HIDE_KEYS = [k + HIDE_SUFFIX for k in [*NETARIUM_KEYS, *HIDE_MAP, "bogus"]]
NAMES = [n for r in SECTIONS.values() for n in r.names()]
TFP_VALUES = sorted({*DEFAULTS.values(), "reg-gauss", "spiral", "xor", "L1", "L2", "relu", "sigmoid", "linear",
                     "regression", "0.10150"})

JUNK_KEYS = st.one_of(st.text(max_size=12), st.text(min_size=190, max_size=260), st.sampled_from(
    ["", ".", "task.", ".name", "model..hidden", "_hide", "v_hide", "task.name.x", "__proto__", "seed\x00", "é" * 3]))
NUMBERS = st.one_of(
    st.integers(-10**30, 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e-400", "0x10", "1_000",
                     "+5", " 7 ", "٣", "١٢", "1,5", "0.5.5", "1e", "9" * 400, "-0", "2147483648", "4294967296"]),
)
LISTS = st.lists(st.one_of(NUMBERS, st.sampled_from(NAMES + ["relu", "tanh", "x1", "x1*x2", "linear", ""])),
                 max_size=80).map(",".join)
TEXT = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), min_size=150, max_size=2000),
    st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs"]), max_size=20),
    st.sampled_from(["", " ", "none", "null", "None", "true", "False", "yes", "{}", "[]", '{"a": 1}', "[" * 300,
                     "<script>alert(1)</script>", "**bold** [x](javascript:alert(1))", "a\nb", "\r\n", "\u202e",
                     "\ud7ff", "\U0001f600" * 50]),
)
VALUES = st.one_of(NUMBERS, LISTS, TEXT, st.sampled_from(NAMES + TFP_VALUES))
VALUE_OR_LIST = st.one_of(VALUES, VALUES, VALUES, st.lists(VALUES, max_size=3))


@st.composite
def netarium_queries(draw):
    """A query that mostly hits real keys of the sections it names, plus junk."""
    query = {}
    if draw(st.booleans()):
        query["v"] = draw(st.sampled_from(["1", "2", "", "1.0", " 1 "]))
    for section, keys in SECTION_KEYS.items():
        if draw(st.booleans()):
            query[section] = draw(st.one_of(st.sampled_from(SECTIONS[section].names()), VALUES))
        for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
            query[key] = draw(VALUE_OR_LIST)
    for key in draw(st.lists(st.sampled_from([*TOP_KEYS, *HIDE_KEYS, *LESSON_LIMITS]), max_size=6, unique=True)):
        query[key] = draw(VALUE_OR_LIST)
    for key in draw(st.lists(JUNK_KEYS, max_size=3)):
        query[key] = draw(VALUE_OR_LIST)
    return query


TFP_QUERIES = st.dictionaries(
    st.sampled_from([*PROPS, *(k + HIDE_SUFFIX for k in [*HIDE_MAP, "x", "sinY", "bogus"]), "zz"]),
    st.one_of(VALUE_OR_LIST, st.sampled_from(TFP_VALUES)), min_size=1, max_size=16)
ANY_QUERY = st.one_of(netarium_queries(), TFP_QUERIES, st.dictionaries(JUNK_KEYS, VALUE_OR_LIST, max_size=6))


def texts_of(params):
    """Every key and value text of a query (list values: each item)."""
    for key, value in params.items():
        yield str(key)
        for v in value if isinstance(value, list | tuple) else [value]:
            yield str(v)


def check_notices(notices, params):
    for notice in notices:
        assert isinstance(notice, str) and notice.strip()
        assert len(notice) <= MAX_NOTICE_CHARS, notice[:200]
        assert "internal error" not in notice, notice  # the decoders' catch-all: an unexpected exception
        assert not any(c in notice for c in "\n\r\x00\x1b\u2028\u2029\x85\u202e"), repr(notice)
        assert not re.search(r"(kept|used)\s*($|[;,.)])", notice), notice  # says what it kept
    assert len(notices) <= 3 * len(params) + 2, notices  # a sentence or three per key, however long its value
    said = "\n".join(notices)
    for text in texts_of(params):
        for start in range(0, max(len(text) - MAX_QUOTED, 0), MAX_QUOTED):
            piece = text[start:start + MAX_QUOTED + 1]
            assert piece not in said, f"a notice quotes {len(piece)}+ characters of {text[:60]!r}"


def valid(config):
    assert isinstance(config, Config)
    assert parse_config(config.model_dump(mode="json")) == config
    return config


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(params=ANY_QUERY)
def test_any_link_gives_a_valid_config_and_short_one_line_notices(params):
    base = Config()
    decoded, _ = decode_link(params, base)
    config = valid(decoded.config)
    check_notices(decoded.notices, params)
    assert all(isinstance(h, str) for h in decoded.hidden)
    # what a decoded link says, it says again: its full and its short (diff) encodings decode back to it, quietly
    for query in (config_to_query(config), config_to_query(config, base)):
        again = query_to_config(query, base)
        assert again.config == config and again.notices == [], (query, again.notices)
    assert decode_link(config_to_query(config), base)[0].config == config


def too_big(config):
    """Whether a size field of the task or model sits above a quarter of its schema's bound (a list item
    above 256): such links build networks and data sets of up to gigabytes and take minutes to step (a
    memory budget is the server's business; this test keeps to configs that build in a moment)."""
    for section in ("task", "model"):
        params = getattr(config, section)
        for name, info in type(params).model_fields.items():
            kind, value = field_kind(info), getattr(params, name)
            if kind.kind == "int" and kind.hi is not None and kind.hi >= 64 and value > kind.hi / 4:
                return True
            if kind.kind == "list" and any(isinstance(v, int) and not isinstance(v, bool) and v > 256 for v in value):
                return True
    return False


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(params=netarium_queries())
@example(params={"model.hidden": "", "model.readout": "fixed-signs"})  # was: no trainable weight, a RuntimeError in step
@example(params={"task": "digits", "task.n_samples": "1"})  # was: an empty training set, "diverged" at once
def test_a_decoded_link_builds_a_run_that_steps_or_says_why_not(params):
    """The session builds the decoded Config (ui/session.py live_run): it steps, or Run refuses it with a
    SchemaError (a model that cannot read the task, dst on a dense model), which the session shows as a
    sentence before it loads the default."""
    config = query_to_config(params, Config(steps=10)).config
    if config.task.name == "csv":  # a link carries no file: the session swaps the task (ui/session.py)
        config = config.model_copy(update={"task": Config().task})
    assume(not too_big(config))
    try:
        run = Run(config)
    except SchemaError as e:
        assert "\n" not in str(e) and len(str(e)) <= MAX_NOTICE_CHARS
        return
    run.step(1)
    assert run.step_count == 1
    assert run.state in ("running", "diverged"), (run.state, run.reason)
    assert all(math.isfinite(v) for v in run.metrics.values()) or run.state == "diverged"


# ------------------------------------------------------------------------ what the fuzzing found


def test_notices_escape_control_characters_of_the_link():
    d = query_to_config({"task": "\u202eevil\x07x", "v": "\x1b[31m", "bogus\x00key": "1"})
    assert d.notices[0] == "link version v=\\x1b[31m is unknown (this app writes v=1); read it as well as it could"
    assert d.notices[1].startswith("task=\\u202eevil\\x07x is not a registered task")
    assert d.notices[2] == "ignored unknown key(s): bogus\\x00key"


def test_a_list_of_bad_items_is_one_notice():
    d = query_to_config({"task.features": ",".join(f"b{i}" for i in range(40)), "model.hidden": "0,5000,-3,4"})
    assert d.notices == ["task.features: dropped items b0, b1, b2 and 37 more (is not one of x1, x2, x1^2, x2^2, x1*x2, "
                         "sin(x1), sin(x2))", "task.features: choose at least one feature; kept x1,x2",
                         "model.hidden items clamped: 0 to 1, 5000 to 1024, -3 to 1"]


def test_a_blank_kept_value_is_named():
    assert query_to_config({"data_seed": "nan"}).notices == ["data_seed=nan is not a whole number; kept none"]


def test_a_fixed_readout_without_hidden_layers_is_refused():
    d = query_to_config({"model.hidden": "", "model.readout": "fixed-signs"})
    assert d.config.model == Config().model
    assert d.notices == ["model: readout fixed-signs needs a hidden layer (without one, no weight would learn); "
                         "kept the previous model"]


def test_one_digit_image_is_refused():
    d = query_to_config({"task": "digits", "task.n_samples": "1"})
    assert d.config.task.n_samples == 0
    assert d.notices == ["task.n_samples: n_samples must be 0 (all 1797) or at least 2 (one to train on, one to test); kept 0"]
