"""The URL codec: round trips, short diff links, and every rule for untrusted query strings."""

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from netarium.training.config import SECTIONS, Config, parse_config
from netarium.ui.urlstate import (
    MAX_CHARS,
    FieldKind,
    allowed_range,
    config_to_query,
    encode_value,
    query_to_config,
    share_url,
)

CONFIGS = [
    Config(),
    Config(task={"name": "moons", "noise": 0.3, "features": ["x1", "x2", "x1*x2"]},
           model={"name": "mlp", "hidden": [16, 4, 2], "activation": ["relu", "tanh", "relu"], "bias": False},
           optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True}, seed=7, l2=1e-8, batch_size=32),
    Config(task={"name": "modular", "op": "/", "M": 97, "train_fraction": 0.3},
           model={"name": "residual-mlp", "width": 64, "blocks": 2}, optimizer={"name": "adamw", "eps": 1e-8, "lr": 0.1},
           loss="cross_entropy", l1=1e-4, steps=50_000, device="cpu"),
    Config(task={"name": "spirals", "n_classes": 5, "noise": 0.1, "train_ratio": 0.7},
           model={"name": "mlp", "hidden": [], "activation": ["linear"]},
           optimizer={"name": "rmsprop", "lr": 3e-5, "alpha": 0.95}, trainer={"name": "supervised", "grad_clip": 1.5},
           eval_every=17, history_points=10),
    Config(task={"name": "cube", "labels": "rotated", "angle_deg": 33.333333333333336, "noise": 0.1}),
]


def decode(params, base=None):
    return query_to_config(params, base)


# ------------------------------------------------------------------------------------- encoding


def test_full_encoding_of_the_default_config():
    q = config_to_query(Config())
    assert q["v"] == "1"
    assert list(q)[0] == "v"
    assert q["task"] == "spiral" and q["task.noise"] == "0.0" and q["task.features"] == "x1,x2"
    assert q["model"] == "mlp" and q["model.hidden"] == "8,8" and q["model.activation"] == "tanh"
    assert q["model.bias"] == "true"
    assert q["optimizer"] == "adam" and q["optimizer.lr"] == "0.01" and q["optimizer.eps"] == "1e-08"
    assert q["trainer"] == "supervised"
    assert q["seed"] == "0" and q["batch_size"] == "0" and q["loss"] == "auto"
    assert all(isinstance(v, str) for v in q.values())
    assert not any(k.endswith("_hide") for k in q)


def test_encode_value_types():
    assert encode_value(True) == "true" and encode_value(False) == "false"
    assert encode_value([8, 8]) == "8,8" and encode_value([]) == ""
    assert encode_value(0.1) == "0.1" and encode_value(1e-8) == "1e-08"
    for x in (0.1, 1e-8, 1 / 3, 2.5e-300, 123456.789):
        assert float(encode_value(x)) == x


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.task.name)
def test_round_trip_full(config):
    decoded = decode(config_to_query(config))
    assert decoded.config == config
    assert decoded.notices == [] and decoded.hidden == set()


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.task.name)
@pytest.mark.parametrize("base", [Config(), CONFIGS[1]], ids=["default-base", "moons-base"])
def test_round_trip_with_base(config, base):
    query = config_to_query(config, base)
    assert query_to_config(query, base).config == config
    assert query_to_config(query, base).notices == []


def test_diff_encoding_is_short():
    base = Config()
    assert config_to_query(base, base) == {"v": "1", "task": "spiral", "model": "mlp", "optimizer": "adam",
                                           "trainer": "supervised"}
    changed = base.with_overrides({"task.noise": 0.2, "optimizer.lr": 0.03, "seed": 3})
    assert config_to_query(changed, base) == {"v": "1", "task": "spiral", "task.noise": "0.2", "model": "mlp",
                                              "optimizer": "adam", "optimizer.lr": "0.03", "trainer": "supervised",
                                              "seed": "3"}


def test_diff_encoding_after_switching_a_section_compares_with_the_new_defaults():
    base = Config()
    moons = base.with_overrides({"task.name": "moons"})  # moons defaults noise to 0.1
    assert config_to_query(moons, base)["task"] == "moons"
    assert "task.noise" not in config_to_query(moons, base)
    noisy = moons.with_overrides({"task.noise": 0.0})
    assert config_to_query(noisy, base)["task.noise"] == "0.0"
    assert query_to_config(config_to_query(noisy, base), base).config == noisy


def test_share_url_keeps_the_path_and_adds_hide_flags():
    config = Config().with_overrides({"model.hidden": [16, 8], "task.noise": 0.25})
    url = share_url("http://host:8501/playground?old=1", config, ["task.noise", "optimizer.lr"])
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "host:8501", "/playground")
    assert "model.hidden=16,8" in parts.query  # commas stay readable
    params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    assert "old" not in params
    assert params["task.noise_hide"] == "true" and params["optimizer.lr_hide"] == "true"
    decoded = query_to_config(params)
    assert decoded.config == config
    assert decoded.hidden == {"task.noise", "optimizer.lr"}
    assert decoded.notices == []


def test_share_url_escapes_reserved_characters():
    config = Config(task={"name": "modular", "op": "+"})
    url = share_url("http://h/", config)
    assert "task.op=%2B" in url
    params = {k: v[-1] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}
    assert query_to_config(params).config == config


def test_share_url_with_base_is_diff_only():
    base = Config()
    url = share_url("http://h/p", base.with_overrides({"seed": 5}), base=base)
    assert urlsplit(url).query == "v=1&task=spiral&model=mlp&optimizer=adam&trainer=supervised&seed=5"


# ------------------------------------------------------------------------------------- decoding rules


def test_number_above_bound_is_clamped_with_a_notice():
    d = decode({"task.noise": "0.9"})
    assert d.config.task.noise == 0.5
    assert d.notices == ["task.noise=0.9 is outside the allowed range (from 0.0 to 0.5); clamped to 0.5"]


def test_number_below_bound_is_clamped():
    d = decode({"task.n_samples": "3", "seed": "-5"})
    assert d.config.task.n_samples == 20 and d.config.seed == 0
    assert any("task.n_samples" in n and "20" in n for n in d.notices)
    assert any(n.startswith("seed=") and "clamped to 0" in n for n in d.notices)


def test_huge_and_infinite_numbers_are_clamped():
    d = decode({"seed": "1e400", "steps": "9" * 150, "task.noise": "inf"})
    assert d.config.seed == 2**31 - 1 and d.config.steps == 100_000_000 and d.config.task.noise == 0.5
    assert len(d.notices) == 3


def test_exclusive_bound_keeps_the_start_value():
    d = decode({"optimizer.lr": "0", "optimizer.beta1": "1"})
    assert d.config.optimizer.lr == 0.01 and d.config.optimizer.beta1 == 0.9
    assert any("optimizer.lr" in n and "> 0" in n for n in d.notices)
    assert any("optimizer.beta1" in n and "< 1" in n for n in d.notices)


@pytest.mark.parametrize("raw", ["abc", "nan", "", "0x10", "1,2"])
def test_non_number_keeps_the_default(raw):
    d = decode({"task.noise": raw})
    assert d.config.task.noise == 0.0
    assert len(d.notices) == 1 and d.notices[0].startswith("task.noise=") and "not a number" in d.notices[0]


def test_non_whole_number_for_an_int_field():
    d = decode({"batch_size": "3.5", "task.n_samples": "1e3"})
    assert d.config.batch_size == 0 and d.config.task.n_samples == 1000
    assert d.notices == ["batch_size=3.5 is not a whole number; kept 0"]


def test_bad_values_keep_base_values_not_schema_defaults():
    base = Config().with_overrides({"task.noise": 0.2, "model.init": "xavier"})
    d = query_to_config({"task.noise": "lots", "model.init": "magic"}, base)
    assert d.config.task.noise == 0.2 and d.config.model.init == "xavier"
    assert len(d.notices) == 2


def test_invalid_choice_keeps_the_default_and_names_the_key():
    d = decode({"model.init": "magic", "device": "tpu", "loss": "MSE"})
    assert d.config.model.init == "default"
    assert d.config.device == "auto"
    assert d.config.loss == "mse"  # a case-insensitive match is accepted
    assert len(d.notices) == 2
    assert any(n.startswith("model.init=magic is not one of default, xavier") for n in d.notices)
    assert any(n.startswith("device=tpu") for n in d.notices)


def test_bool_values():
    assert decode({"model.bias": "false"}).config.model.bias is False
    assert decode({"model.bias": "0"}).config.model.bias is False
    d = decode({"model.bias": "maybe"})
    assert d.config.model.bias is True and d.notices == ["model.bias=maybe is not true or false; kept true"]


def test_list_items_are_validated_one_by_one():
    d = decode({"model.hidden": "8,2000,0,x,16"})
    assert d.config.model.hidden == [8, 1024, 1, 16]
    assert any("model.hidden" in n and "2000" in n and "1024" in n for n in d.notices)
    assert any("model.hidden" in n and "0 to 1" in n for n in d.notices)
    assert any("model.hidden" in n and "dropped item x" in n for n in d.notices)


def test_list_length_is_capped():
    d = decode({"model.hidden": ",".join(["9"] * 12)})
    assert d.config.model.hidden == [9] * 8
    assert d.notices == ["model.hidden has 12 items; kept the first 8"]


def test_empty_list_is_a_valid_value_where_the_schema_allows_it():
    d = decode({"model.hidden": ""})
    assert d.config.model.hidden == [] and d.notices == []


def test_list_of_choices_drops_bad_items():
    d = decode({"task.features": "x1,x3,sin(x1)"})
    assert d.config.task.features == ["x1", "sin(x1)"]
    assert d.notices and "task.features" in d.notices[0] and "x3" in d.notices[0]


def test_field_validator_failure_keeps_that_field():
    d = decode({"task.features": "x1,x1", "task.noise": "0.2"})
    assert d.config.task.features == ["x1", "x2"] and d.config.task.noise == 0.2
    assert len(d.notices) == 1 and d.notices[0].startswith("task.features")


def test_cross_field_error_falls_back_to_the_base_section():
    base = Config().with_overrides({"model.hidden": [4], "model.init": "xavier"})
    d = query_to_config({"model.hidden": "8,8,8", "model.activation": "relu,tanh", "seed": "3"}, base)
    assert d.config.model == base.model
    assert d.config.seed == 3
    assert len(d.notices) == 1 and d.notices[0].startswith("model:") and "activation" in d.notices[0]


def test_cross_field_error_after_switching_falls_back_to_the_new_entrys_defaults():
    d = decode({"task": "modular", "task.op": "/", "task.M": "96"})
    assert d.config.task.name == "modular"
    assert d.config.task.op == "/" and d.config.task.M == 97
    assert any("task.M" in n and "prime" in n for n in d.notices)


def test_switching_a_section_resets_its_params_to_the_new_defaults():
    base = Config().with_overrides({"task.noise": 0.4, "task.n_samples": 300})
    d = query_to_config({"task": "moons"}, base)
    assert d.config.task == Config(task={"name": "moons"}).task
    assert d.notices == []


def test_section_name_alias_as_in_the_cli():
    assert decode({"optimizer.name": "sgd", "optimizer.lr": "0.1"}).config.optimizer.name == "sgd"


def test_unregistered_section_name_keeps_the_base_section():
    base = Config().with_overrides({"task.name": "circle", "task.noise": 0.2})
    d = query_to_config({"task": "nope", "task.noise": "0.4", "model": "transformer9000"}, base)
    assert d.config.task == base.task and d.config.model == base.model
    assert len(d.notices) == 2
    assert any(n.startswith("task=nope") and "kept circle" in n and "task.noise" in n for n in d.notices)
    assert any(n.startswith("model=transformer9000") and "kept mlp" in n for n in d.notices)


def test_unknown_keys_are_ignored_with_a_notice_naming_them():
    d = decode({"foo": "1", "task.bar": "2", "seed.x": "3", "model.hidden": "4"})
    assert d.config.model.hidden == [4] and d.config.seed == 0
    text = " | ".join(d.notices)
    assert "foo" in text and "task.bar" in text and "seed.x" in text
    assert len(d.notices) == 2


def test_too_long_strings_are_cut_first():
    d = decode({"task": "csv", "task.path": "x" * 500})
    assert d.config.task.path == ""  # cut first, then refused: a link names no server file
    assert d.notices == [f"task.path is longer than {MAX_CHARS} characters; cut to {MAX_CHARS}",
                         "a link cannot set task.path (a server file or an upload); ignored it"]
    d = decode({"task.noise": "0." + "1" * 1000})
    assert 0.11 < d.config.task.noise < 0.12
    assert any("task.noise" in n and "longer" in n for n in d.notices)


def test_hidden_keys():
    d = decode({"task.noise_hide": "true", "optimizer.lr_hide": "1", "model.bias_hide": "false",
                "task_hide": "yes", "seed_hide": "on", "model.name_hide": "true"})
    assert d.hidden == {"task.noise", "optimizer.lr", "task", "seed", "model"}
    assert d.notices == []
    assert d.config == Config()


def test_hidden_keys_must_name_a_known_key():
    d = decode({"bogus_hide": "true", "task.noise_hide": "perhaps", "task": "modular", "task.M_hide": "1"})
    assert d.hidden == {"task.M"}
    assert any("bogus_hide" in n for n in d.notices)
    assert any("task.noise" in n for n in d.notices)  # modular has no noise: unknown key


def test_unknown_version_is_decoded_best_effort():
    d = decode({"v": "7", "seed": "4"})
    assert d.config.seed == 4
    assert len(d.notices) == 1 and "v=7" in d.notices[0]
    assert decode({"seed": "4"}).notices == []  # hand-written links without v are fine


def test_list_values_from_parse_qs_take_the_last():
    d = decode({"seed": ["1", "2"], "task": [], "v": ["1"]})
    assert d.config.seed == 2 and d.config.task.name == "spiral"


def test_decoded_config_is_valid_and_independent_of_base_object():
    base = Config()
    d = query_to_config({"task.noise": "0.3"}, base)
    assert base.task.noise == 0.0 and d.config.task.noise == 0.3


# ------------------------------------------------------------------------------------- fuzzing

KNOWN_KEYS = ["v", *Config.model_fields, *(f"{s}.{f}" for s in SECTIONS for r in [SECTIONS[s]] for e in r
                                            for f in [*e.schema.model_fields, "name"])]
KNOWN_KEYS += [k + "_hide" for k in KNOWN_KEYS[:20]]
NAMES = [n for r in SECTIONS.values() for n in r.names()]
VALUES = ["0", "-1", "0.5", "1e400", "-inf", "nan", "true", "", ",", "8,8,8", "relu,tanh", "2000,0", "x1,x1", "/",
          "97", "96", "1e-8", "9" * 40, *NAMES]


@settings(max_examples=300, deadline=None)
@given(hs.dictionaries(
    hs.one_of(hs.sampled_from(KNOWN_KEYS), hs.text(max_size=12)),
    hs.one_of(hs.sampled_from(VALUES), hs.text(max_size=12), hs.lists(hs.text(max_size=6), max_size=3)),
    max_size=12,
))
def test_arbitrary_query_never_raises_and_gives_a_valid_config(params):
    d = query_to_config(params)
    assert isinstance(d.config, Config)
    assert parse_config(d.config.model_dump(mode="json")) == d.config
    assert all(isinstance(n, str) for n in d.notices)
    assert all(isinstance(h, str) for h in d.hidden)
    # what a decoded link says, it says again: re-encoding gives the same config without notices
    again = query_to_config(config_to_query(d.config))
    assert again.config == d.config and again.notices == []


def test_links_can_neither_name_a_server_file_nor_an_upload():
    upload = "0123456789abcdef" * 4
    d = decode({"task": "csv", "task.path": "/etc/passwd", "task.upload": upload, "task.kind": "regression"})
    assert d.config.task.section() == {"name": "csv", "upload": None, "path": "", "train_ratio": 0.8, "kind": "regression"}
    assert d.notices == ["a link cannot set task.path, task.upload (a server file or an upload); ignored it"]
    assert decode({"task": "csv", "task.path": "../../etc/passwd"}).config.task.path == ""


def test_links_never_carry_a_path_or_an_upload_id():
    upload = "0123456789abcdef" * 4
    for task in ({"name": "csv", "path": "/data/secret.csv", "kind": "regression"},
                 {"name": "csv", "upload": upload, "kind": "regression"}):
        query = config_to_query(Config(task=task), base=Config())
        assert {k: v for k, v in query.items() if k.startswith("task")} == {"task": "csv", "task.kind": "regression"}
        url = share_url("http://host/", Config(task=task))
        assert "secret" not in url and upload not in url and "task.kind=regression" in url


def test_absurd_numbers_are_clamped_with_a_notice_naming_the_field_and_the_range() -> None:
    d = query_to_config({"task.n_samples": "1e9", "task.noise": "-3", "optimizer.lr": "1e9"})
    assert (d.config.task.n_samples, d.config.task.noise, d.config.optimizer.lr) == (5000, 0.0, 10.0)
    assert d.notices == [
        "task.n_samples=1e9 is outside the allowed range (from 20 to 5000); clamped to 5000",
        "task.noise=-3 is outside the allowed range (from 0.0 to 0.5); clamped to 0.0",
        "optimizer.lr=1e9 is outside the allowed range (above 0.0 and at most 10.0); clamped to 10.0",
    ]


def test_allowed_range_in_words() -> None:
    assert allowed_range(FieldKind("int", lo=20, hi=5000)) == "from 20 to 5000"
    assert allowed_range(FieldKind("float", lo=0.0, hi=1.0, lo_open=True, hi_open=True)) == "above 0.0 and below 1.0"
    assert allowed_range(FieldKind("int", lo=0)) == "at least 0"
    assert allowed_range(FieldKind("float")) == "any number"
