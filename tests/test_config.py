"""The configuration object: presets, derived constants, and refusal of bad values."""

import dataclasses
import json
import math
from pathlib import Path

import pytest

from plasticore.golden.config import PRESETS, Config, ConfigError, decay_factor, load_config, preset


def test_presets_are_valid_and_named():
    assert set(PRESETS) >= {"small", "reckon"}
    r = preset("reckon")
    assert (r.n_in, r.n_rec, r.n_out, r.w_bits) == (256, 256, 16, 8)
    assert preset("small").n_alif > 0


def test_config_is_immutable():
    cfg = preset("small")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.n_rec = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("n_rec", 0, "n_rec: 0 is outside the allowed range 1..4096"),
        ("n_in", 5000, "n_in: 5000 is outside the allowed range 1..4096"),
        ("w_bits", 1, "w_bits: 1 is outside the allowed range 2..16"),
        ("tau_m", -3.0, "tau_m: -3.0 is outside the allowed range 0.5..1000000.0"),
        ("tau_m", math.nan, "tau_m: nan is not finite"),
        ("reset", "hard", "reset: 'hard' is not allowed; choose one of subtract, zero"),
        ("rule", "stdp", "rule: 'stdp' is not allowed"),
        ("n_rec", 3.5, "n_rec: 3.5 is not an integer"),
        ("lanes", True, "lanes: True is not an integer"),
        ("lfsr_seed", 0, "lfsr_seed: 0 is outside the allowed range 1.."),
    ],
)
def test_bad_values_are_refused_with_field_value_and_range(field, value, fragment):
    with pytest.raises(ConfigError) as err:
        Config(**{field: value})
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"n_rec": 4, "n_alif": 5}, "n_alif: 5 is outside the allowed range 0..n_rec=4"),
        ({"u_bits": 12, "threshold": 4096}, "threshold: 4096 is outside the allowed range 1..2047"),
        ({"refractory": 20, "ref_bits": 4}, "refractory: 20 is outside the allowed range 0..15"),
        ({"w_bits": 12, "u_bits": 16, "w_shift": 5}, "w_shift: 5 is outside the allowed range 0..4"),
        ({"adapt_inc": 300, "a_bits": 8}, "adapt_inc: 300 is outside the allowed range 0..255"),
        ({"weight_banks": 3}, "weight_banks: 3 > 1 needs a power of two"),
        ({"n_rec": 20, "lanes": 4, "weight_banks": 2}, "ceil(n_rec / lanes) = 5 a power of two"),
        ({"n_rec": 256, "lanes": 64, "weight_banks": 4}, "weight_banks: 4 is outside the allowed range 1..3"),
        ({"lanes": 4, "fb_banks": 3}, "fb_banks: 3 must be a power of two dividing lanes=4"),
        ({"lanes": 4, "fb_banks": 8}, "fb_banks: 8 must be a power of two dividing lanes=4"),
        ({"bank_memories": "lutram"}, "bank_memories: 'lutram' is not allowed; choose one of auto, block"),
    ],
)
def test_relations_between_fields_are_checked(changes, fragment):
    with pytest.raises(ConfigError) as err:
        Config(**changes)
    assert fragment in str(err.value)


def test_replace_validates_and_rejects_unknown_fields():
    cfg = preset("small")
    assert cfg.replace(n_rec=40).n_rec == 40
    with pytest.raises(ConfigError, match="unknown field"):
        cfg.replace(neurons=3)
    with pytest.raises(ConfigError, match="w_bits"):
        cfg.replace(w_bits=99)


def test_decay_factor_is_quantized_exponential():
    assert decay_factor(20.0, 8) == round(math.exp(-1 / 20) * 256) == 244
    # a huge tau is still a strict contraction
    assert decay_factor(1e6, 8) == 255
    cfg = Config(tau_m=10.0, decay_bits=12)
    assert cfg.alpha_q == round(math.exp(-0.1) * 4096)
    assert cfg.trace_q == cfg.alpha_q  # traces follow tau_m unless tau_trace is set
    assert cfg.replace(tau_trace=5.0).trace_q == decay_factor(5.0, 12)


def test_accumulator_widths_cover_the_worst_case():
    cfg = preset("reckon")
    worst = (cfg.n_in + cfg.n_rec) * (1 << (cfg.w_bits - 1))
    assert worst <= (1 << (cfg.in_acc_bits - 1))


def test_readout_width_defaults_to_w_bits_and_sets_its_accumulators():
    cfg = preset("small")
    assert cfg.wout_bits is None and cfg.weight_bits["w_out"] == cfg.fb_w_bits == cfg.w_bits
    wide = cfg.replace(wout_bits=12, out_shift=2)
    assert wide.weight_bits["w_out"] == 12 and wide.out_acc_bits == 12 + 5  # n_rec 32
    assert wide.fb_w_bits == 8 and wide.fb_acc_bits == 8 + wide.e_bits + 1  # random B stays w_bits
    sym = wide.replace(rule="eprop_symmetric")
    assert sym.fb_w_bits == 12 and sym.fb_acc_bits == 12 + sym.e_bits + 1  # B = Wout^T
    assert dict(sym.weight_bits) == {"w_in": 8, "w_rec": 8, "w_out": 12, "b_fb": 12}
    assert dict(wide.weight_bits) == {"w_in": 8, "w_rec": 8, "w_out": 12, "b_fb": 8}
    # Wout << out_shift must fit Y: the check uses the readout's own width
    with pytest.raises(ConfigError, match="out_shift: 5 is outside the allowed range 0..4"):
        cfg.replace(wout_bits=12, out_shift=5)
    with pytest.raises(ConfigError, match="wout_bits: 17 is outside"):
        cfg.replace(wout_bits=17)


def test_load_config_from_preset_and_json(tmp_path):
    assert load_config("small") is PRESETS["small"]
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"base": "small", "n_rec": 48}))
    cfg = load_config(str(path))
    assert cfg.n_rec == 48 and cfg.n_in == PRESETS["small"].n_in
    path.write_text(json.dumps({"n_rec": 10, "colour": "red"}))
    with pytest.raises(ConfigError, match="unknown field"):
        load_config(str(path))
    with pytest.raises(ConfigError, match="neither a preset"):
        load_config(str(tmp_path / "missing.json"))
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(str(path))


def test_round_trip_through_dict():
    cfg = preset("reckon")
    assert Config.from_dict(cfg.to_dict()) == cfg


def test_learning_banks_count_their_lfsr_lanes():
    """K = 1: the readout continues on the P hidden lanes; K > 1: P per bank plus P of its own."""
    one = Config(n_rec=32, lanes=4)
    assert (one.lfsr_lanes, one.readout_lanes) == (4, slice(0, 4))
    four = one.replace(weight_banks=4)
    assert (four.lfsr_lanes, four.readout_lanes) == (20, slice(16, 20))


def test_feedback_engines_default_to_the_weight_banks_and_can_be_fewer():
    """``fb_banks`` unset: gcd(weight_banks, lanes) engines; set: that many (a hardware shape)."""
    cfg = Config(n_rec=32, lanes=4, weight_banks=8)
    assert cfg.feedback_banks == 4
    assert cfg.replace(fb_banks=1).feedback_banks == 1
    assert cfg.replace(weight_banks=2).feedback_banks == 2
    assert cfg.replace(weight_banks=2, fb_banks=4).feedback_banks == 4


def test_the_allowed_rules_are_the_registry_of_golden_rules():
    from plasticore.golden.config import RULE_NAMES
    from plasticore.golden.rules import RULES

    assert RULE_NAMES == tuple(RULES) and all(name == rule.name for name, rule in RULES.items())
    assert Config().rule == RULE_NAMES[0]


BOARD_CONFIGS = sorted((Path(__file__).parents[1] / "boards" / "configs").glob("*.json"))


@pytest.mark.parametrize("path", BOARD_CONFIGS, ids=lambda p: p.name)
def test_board_configs_load_and_keep_their_name(path):
    cfg = load_config(str(path))
    assert cfg.name == path.stem  # the build folder and the report are named after it
