import json

import pytest

from netarium.schema import SchemaError
from netarium.training import Config, parse_config
from netarium.training.config import parse_value


def test_defaults_are_filled_in_every_section():
    c = Config()
    assert c.task.name == "spiral" and c.task.noise == 0.0
    assert c.optimizer.section() == {"name": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}
    assert c.trainer.section() == {"name": "supervised", "grad_clip": 0.0, "lr_decay": "none"}


def test_json_round_trip_is_exact():
    c = Config(task={"name": "circle", "noise": 0.25}, model={"name": "mlp", "hidden": [4, 2]}, seed=7, steps=12)
    back = Config.from_json(c.to_json())
    assert back == c and back.model.hidden == [4, 2]


def test_overrides_apply_dotted_keys_and_parse_values():
    c = Config().with_overrides(["task.noise=0.2", "model.hidden=16,8", "model.activation=relu", "optimizer.lr=0.5",
                                 "batch_size=32", "model.bias=false"])
    assert c.task.noise == 0.2 and c.model.hidden == [16, 8] and c.model.activation == ["relu"]
    assert c.optimizer.lr == 0.5 and c.batch_size == 32 and c.model.bias is False


def test_changing_a_section_name_resets_its_parameters_in_any_order():
    c = Config(optimizer={"name": "adam", "lr": 0.3})
    c2 = c.with_overrides(["optimizer.momentum=0.9", "optimizer.name=sgd"])
    assert c2.optimizer.name == "sgd" and c2.optimizer.momentum == 0.9 and c2.optimizer.lr == 0.03
    c3 = Config().with_overrides({"task.name": "digits"})
    assert c3.task.section() == {"name": "digits", "train_ratio": 0.8, "standardize": False, "n_samples": 0}


@pytest.mark.parametrize("override,key,allowed", [
    ("task.noise=0.9", "task.noise", "0.0 to 0.5"),
    ("model.activation=swish", "model.activation", "relu, tanh, sigmoid, gelu, silu, linear, square"),
    ("nonsense=1", "nonsense", "task, model, optimizer"),
    ("task.bogus=1", "task.bogus", "noise"),
    ("device=tpu", "device", "auto, cpu, cuda"),
    ("steps=-5", "steps", "0 to 100000000"),
    ("optimizer.name=lbfgs", "optimizer.name", "sgd, adam, adamw, rmsprop"),
    ("seed", "seed", "key=value"),
])
def test_bad_overrides_name_the_key_and_what_is_allowed(override, key, allowed):
    with pytest.raises(SchemaError) as e:
        Config().with_overrides([override])
    assert e.value.key.startswith(key)
    assert allowed in str(e.value)


def test_cross_field_rule_reports_its_section():
    with pytest.raises(SchemaError, match="nesterov needs momentum"):
        Config(optimizer={"name": "sgd", "nesterov": True})


def test_parse_config_rejects_non_objects_and_unknown_keys():
    with pytest.raises(SchemaError, match="unknown key"):
        parse_config({"task": "circle", "colour": "red"})
    with pytest.raises(SchemaError, match="not valid JSON"):
        Config.from_json("{nope")
    assert parse_config(json.loads('{"task": "xor", "steps": 3}')).task.name == "xor"


def test_parse_value():
    assert parse_value("0.5") == 0.5 and parse_value("true") is True and parse_value("[1, 2]") == [1, 2]
    assert parse_value("relu") == "relu" and parse_value("8,8") == "8,8"


def test_list_fields_take_comma_separated_values():
    c = Config().with_overrides(["task.features=x1,x2,x1*x2", "model.hidden=4", "model.activation=relu,tanh", "model.hidden=4,4"])
    assert c.task.features == ["x1", "x2", "x1*x2"] and c.model.hidden == [4, 4]
    assert c.model.activation == ["relu", "tanh"]
    with pytest.raises(SchemaError, match="listed twice"):
        Config().with_overrides(["task.features=x1,x1"])


def test_sections_are_typed_entries_keyed_on_their_name():
    from netarium.tasks.sequence import Seq2SeqParams

    c = Config(task={"name": "sort", "L": 5}, model={"name": "transformer"})
    assert isinstance(c.task, Seq2SeqParams) and c.task.name == "sort" and c.task.L == 5
    assert c.model.name == "transformer" and c.model.registry == "model"
    # entries sharing one declaration stay distinct, and the JSON form names the entry
    assert Config(task={"name": "reverse", "L": 5}).task != c.task
    assert json.loads(c.to_json())["task"] == {"name": "sort", **c.task.model_dump(mode="json")}
    # typed sections survive a JSON, pickle and deepcopy round trip
    import copy
    import pickle

    for back in (Config.from_json(c.to_json()), pickle.loads(pickle.dumps(c)), copy.deepcopy(c)):
        assert back == c and type(back.task) is type(c.task)


def test_a_section_rejects_another_entrys_params_and_assignment_is_validated():
    c = Config()
    with pytest.raises(ValueError, match="noise"):
        c.task.noise = 0.9
    with pytest.raises(SchemaError, match="model.name"):
        from netarium.models import MODELS

        MODELS.params_for("residual-mlp", c.model)


def test_a_whole_section_can_be_replaced_by_an_override_in_any_order():
    c = Config(task={"name": "sort", "L": 5, "n_symbols": 8}, model={"name": "transformer"})
    for overrides in ({"model.d_model": 8, "task": {**c.task.section(), "name": "reverse"}},
                      {"task": {**c.task.section(), "name": "reverse"}, "model.d_model": 8}):
        d = c.with_overrides(overrides)
        assert d.task.name == "reverse" and (d.task.L, d.task.n_symbols) == (5, 8) and d.model.d_model == 8
    e = c.with_overrides({"task.L": 7, "task": "reverse"})  # the name resets first, then the key applies
    assert e.task.name == "reverse" and e.task.L == 7 and e.task.n_symbols == Config(task="reverse").task.n_symbols
    assert c.with_overrides({"task": d.task}).task == d.task
