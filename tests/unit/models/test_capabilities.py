"""What each model declares it offers the views (static tags and runtime facts), in words."""

import pytest
from torch import nn

from netarium.models import MODELS, ModelSpec, build_model
from netarium.models.base import MODEL_CAPABILITIES, capabilities
from netarium.models.masks import add_masks

FEATURES = ModelSpec(2, 2)
TOKENS = ModelSpec(4, 5, vocab_size=5)


@pytest.mark.parametrize(("name", "params", "spec", "expected"), [
    ("mlp", {"hidden": [4, 3]}, FEATURES, {"mlp", "links"}),
    ("residual-mlp", {"blocks": 2, "width": 8, "hidden": 8}, FEATURES, {"residual"}),
    ("sparse-mlp", {"hidden": [8, 8], "groups": 2}, FEATURES, {"mlp", "sparse", "links", "masks"}),
    ("sparse-mlp", {"hidden": [8], "groups": 2}, FEATURES, {"mlp", "sparse", "links"}),  # one hidden layer: nothing masked
    ("transformer", {"layers": 1, "d_model": 8, "heads": 2}, TOKENS, {"residual", "attention", "sequence", "tokens"}),
    ("kan", {"hidden": [3]}, FEATURES, {"kan", "links"}),
    ("rnn", {"hidden": 6}, TOKENS, {"rnn", "recurrent", "sparse", "sequence", "tokens", "masks", "timeseries", "states",
                                    "recurrent-gates"}),
    ("rnn", {"hidden": 6, "cell": "rnn-tanh"}, TOKENS, {"rnn", "recurrent", "sparse", "sequence", "tokens", "masks",
                                                        "timeseries", "states"}),  # no gates
    ("ts-lstm", {"hidden": 3}, ModelSpec(8, 2, channels=2), {"timeseries", "recurrent-gates", "states"}),
    ("temporal-inception", {"filters": 2}, ModelSpec(8, 2, channels=2), {"timeseries", "sequence", "tokens", "states"}),
])
def test_each_model_declares_what_it_offers(name, params, spec, expected) -> None:
    model = build_model(name, params, spec)
    assert capabilities(model) == expected
    assert type(model).CAPABILITIES <= MODELS.get(name).tags  # the registry's tags are the class's declaration
    assert "masks" not in MODELS.get(name).tags  # masks are a runtime fact, never a declared tag


def test_a_live_prune_gives_a_plain_mlp_masks_at_runtime() -> None:
    model = build_model("mlp", {"hidden": [4]}, FEATURES)
    assert "masks" not in capabilities(model)
    add_masks(model)
    assert capabilities(model) == {"mlp", "links", "masks"}


def test_a_module_that_is_no_registered_model_offers_only_its_runtime_facts() -> None:
    assert capabilities(nn.Sequential(nn.Linear(2, 2))) == frozenset()
    masked = nn.Sequential(nn.Linear(2, 2))
    add_masks(masked)
    assert capabilities(masked) == {"masks"}


def test_every_declared_capability_has_its_words() -> None:
    declared = set().union(*(type(build_model(n, p, s)).CAPABILITIES for n, p, s in [
        ("mlp", {}, FEATURES), ("residual-mlp", {}, FEATURES), ("sparse-mlp", {}, FEATURES),
        ("transformer", {"d_model": 8, "heads": 2}, TOKENS), ("rnn", {}, TOKENS)]))
    assert declared | {"masks"} <= set(MODEL_CAPABILITIES)
    assert MODEL_CAPABILITIES["residual"] == "a model with residual blocks"


def test_a_new_model_class_words_its_new_capability_where_it_is_declared() -> None:
    from netarium.models.base import Capable

    class Odd(Capable, nn.Module):
        CAPABILITIES = frozenset({"odd-test-capability"})
        CAPABILITY_WORDS = {"odd-test-capability": "a model with an odd capability"}

    try:
        assert MODEL_CAPABILITIES["odd-test-capability"] == "a model with an odd capability"
        assert capabilities(Odd()) == {"odd-test-capability"}
        with pytest.raises(ValueError, match="already worded"):
            type("Clash", (Capable,), {"CAPABILITY_WORDS": {"mlp": "something else"}})
    finally:
        MODEL_CAPABILITIES.pop("odd-test-capability")
