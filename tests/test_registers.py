"""The run-time learning registers (plasticore.golden.registers): values, ranges, words.

Their bit-exactness against the RTL with values changed between ticks is
``tests/test_cosim.py`` (``*registers*``).
"""

import pytest

from plasticore.contract.geometry import Geometry
from plasticore.golden import ConfigError, preset
from plasticore.golden.registers import REGISTER_FIELDS, LearningRegisters, register_ranges


def test_reset_values_are_the_configs_and_applied_replaces_them():
    cfg = preset("small").replace(lr_shift=14, out_lr_shift=9, learn_readout=False)
    regs = LearningRegisters.of(cfg)
    assert (regs.lr_shift, regs.out_lr_shift, regs.learn_readout) == (14, 9, False)
    assert regs.applied(cfg) == cfg
    moved = regs.replace(lr_shift=20, learn_input=False).applied(cfg)
    assert (moved.lr_shift, moved.learn_input, moved.out_lr_shift) == (20, False, 9)
    # the widths stay the config's
    assert (moved.w_bits, moved.trace_bits, moved.n_rec) == (cfg.w_bits, cfg.trace_bits, cfg.n_rec)


def test_words_round_trip_in_the_params_region_order():
    cfg = preset("small")
    regs = LearningRegisters.of(cfg).replace(lr_shift=0, out_lr_shift=32, learn_recurrent=False)
    words = regs.words()
    assert words == [0, 32, 1, 0, 1, cfg.threshold]
    assert LearningRegisters.from_words(cfg, words) == regs
    params = Geometry(cfg).regions["params"]
    assert params.depth == len(REGISTER_FIELDS) and params.pack(words) == words


@pytest.mark.parametrize(
    "change, message",
    [
        ({"lr_shift": 33}, "register lr_shift: 33 is outside the allowed range 0..32"),
        ({"out_lr_shift": -1}, "register out_lr_shift: -1 is outside the allowed range 0..32"),
        ({"lr_shift": True}, "register lr_shift: True is outside the allowed range 0..32"),
        ({"learn_readout": 1}, "register learn_readout: 1 is not a boolean"),
    ],
)
def test_out_of_range_values_are_refused_with_the_register_named(change, message):
    cfg = preset("small")
    regs = LearningRegisters.of(cfg).replace(**change)
    with pytest.raises(ConfigError, match=message):
        regs.checked(cfg)
    with pytest.raises(ConfigError, match=message):
        regs.applied(cfg)


def test_unknown_register_is_refused():
    with pytest.raises(ConfigError, match="unknown register"):
        LearningRegisters.of(preset("small")).replace(leak=3)


def test_every_register_has_a_range():
    assert set(register_ranges(preset("small"))) == set(REGISTER_FIELDS)


def test_threshold_range_is_what_config_accepts():
    cfg = preset("small")  # u_bits 16: the threshold fits U (signed)
    lo, hi = register_ranges(cfg)["threshold"]
    assert (lo, hi) == (1, (1 << 15) - 1)
    assert LearningRegisters.of(cfg).replace(threshold=hi).applied(cfg).threshold == hi
    with pytest.raises(ConfigError, match=f"register threshold: {hi + 1} is outside the allowed range 1..{hi}"):
        LearningRegisters.of(cfg).replace(threshold=hi + 1).checked(cfg)


def test_constant_registers_accept_only_the_configs_values():
    """``runtime_registers`` false (the ``ice40`` preset): the registers are bitstream constants."""
    from plasticore.hdl.learning_registers import LearningRegisterFile

    cfg = preset("ice40")
    assert not cfg.runtime_registers
    regs = LearningRegisters.of(cfg)
    assert regs.checked(cfg) == regs
    with pytest.raises(ConfigError, match=f"register lr_shift: {cfg.lr_shift + 1} is outside the allowed range"):
        regs.replace(lr_shift=cfg.lr_shift + 1).checked(cfg)
    with pytest.raises(ConfigError, match="register learn_readout: False is fixed at True"):
        regs.replace(learn_readout=False).checked(cfg)
    ranges = LearningRegisterFile(cfg).ranges
    assert all(lo == hi for lo, hi in ranges.values())
