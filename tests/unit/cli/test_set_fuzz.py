"""Fuzzed `--set` values: every one gives a Config or a SchemaError (one line in the CLI), never another exception."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from netarium.schema import SchemaError
from netarium.training.config import Config

KEYS = ["seed", "steps", "task", "task.name", "task.noise", "task.n_samples", "model", "model.hidden",
        "model.activation", "optimizer.lr", "optimizer", "loss", "batch_size", "bogus", "task.bogus", ""]
JSONISH = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                       max_leaves=8)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(key=st.sampled_from(KEYS), raw=st.one_of(st.text(max_size=40), JSONISH.map(json.dumps),
                                                st.integers(1, 200).map(lambda n: "[" * n + "]" * n)))
def test_any_set_value_is_a_config_or_a_schema_error(key, raw):
    try:
        config = Config().with_overrides([f"{key}={raw}"])
    except SchemaError as e:
        assert str(e)
    else:
        assert isinstance(config, Config)
