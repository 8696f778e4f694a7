"""Config: layering, coercion and validation messages."""

import pytest

from rnntui.config import Config, ConfigError, build_config, coerce, diff, to_toml
from rnntui.config.presets import load_preset, parse_experiment


def test_defaults_are_valid():
    assert Config().validate().task == "adding"


def test_later_layers_win_and_strings_are_coerced():
    cfg = build_config({"hidden_size": 8, "lr": 0.1}, {"hidden_size": "20", "bidirectional": "true"})
    assert cfg.hidden_size == 20
    assert cfg.lr == 0.1
    assert cfg.bidirectional is True


def test_eval_lengths_accepts_list_and_csv():
    assert coerce("eval_lengths", "16,32") == [16, 32]
    assert coerce("eval_lengths", "[8, 64]") == [8, 64]
    assert coerce("eval_lengths", "") == []


@pytest.mark.parametrize(
    "layer, key, fragment",
    [
        ({"hidden_size": 0}, "hidden_size", "from 1 to 8192"),
        ({"hidden_size": "abc"}, "hidden_size", "an integer"),
        ({"cell": "transformer"}, "cell", "allowed: rnn, gru, lstm, mgru, mlstm"),
        ({"task": "sorting"}, "task", "allowed: adding"),
        ({"lr": -1}, "lr", "(0.0, 10.0]"),
        ({"optimizer": "rmsprop"}, "optimizer", "allowed: adam, sgd"),
        ({"device": "tpu"}, "device", "allowed: cpu, cuda, cuda:N, auto"),
        ({"eval_lengths": [0]}, "eval_lengths", "integers from 1 to 100000"),
        ({"hidden_sise": 3}, "hidden_sise", "did you mean 'hidden_size'"),
        ({"cell": "gru", "proj_size": 4}, "proj_size", "only cell 'lstm'"),
        ({"cell": "mlstm", "backend": "builtin"}, "backend", "only from scratch"),
        ({"dropout": 0.5}, "dropout", "num_layers >= 2"),
        ({"bidirectional": "maybe"}, "bidirectional", "true or false"),
    ],
)
def test_bad_values_name_the_key_value_and_allowed(layer, key, fragment):
    with pytest.raises(ConfigError) as info:
        build_config(layer)
    assert info.value.key == key
    assert fragment in str(info.value)


def test_diff_and_toml_roundtrip(tmp_path):
    a, b = Config(), build_config({"cell": "gru", "eval_lengths": [16]})
    assert diff(a, b) == {"cell": ("lstm", "gru"), "eval_lengths": ([], [16])}
    path = tmp_path / "x.toml"
    path.write_text(to_toml(b))
    assert load_preset(str(path)).values["cell"] == "gru"
    assert build_config(load_preset(str(path)).values) == b


def test_preset_errors_name_file_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('task = "adding"\nhidden_size = -4\n')
    with pytest.raises(ConfigError) as info:
        load_preset(str(bad))
    assert info.value.key == "hidden_size" and "bad.toml" in str(info.value)
    broken = tmp_path / "broken.toml"
    broken.write_text("task = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_preset(str(broken))
    with pytest.raises(ConfigError, match="allowed: .*smoke"):
        load_preset("no-such-preset")


def test_experiment_grid_parsing():
    grid, trials = parse_experiment({"cell": ["lstm", "gru"], "hidden_size": "[2,5]"}, 3)
    assert grid == {"cell": ["lstm", "gru"], "hidden_size": [2, 5]}
    assert trials == 3
    with pytest.raises(ConfigError, match="trials"):
        parse_experiment({}, 0)
    with pytest.raises(ConfigError, match="grid.cell"):
        parse_experiment({"cell": []}, 1)


def test_every_key_is_declared_once_with_help_and_a_valid_default():
    from rnntui.config.schema import KEYS

    for name, key in KEYS.items():
        assert key.name == name and key.help.strip(), name
        key.validate(key.default)
