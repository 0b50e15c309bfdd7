"""The bits study's rescalings keep the real-valued network: only the precision moves."""

import dataclasses

import pytest

from plasticore.experiments.bits_study import (
    BASE_BITS,
    scaled_for_hidden_weight_bits,
    scaled_for_trace_bits,
    scaled_for_weight_bits,
    study_spec,
)
from plasticore.training.train import TASK_SPECS


def _real_scales(c: dict) -> dict:
    """What a network means in real units (weights are drawn as fractions of their range): the
    soma LSBs of a full-range weight, the dendrite LSBs of a full-range feedback weight, a hidden
    update per unit factor as a fraction of the weight range, a trace increment in trace range."""
    return {
        "soma_per_weight": 2.0 ** c["w_shift"] * 2 ** (c["w_bits"] - 1),
        "dendrite_per_b": 2.0 ** -c["fb_shift"] * 2 ** (c["w_bits"] - 1),
        "hidden_rate": 2.0 ** -(c["lr_shift"] - c["trace_bits"]) / 2 ** (c["w_bits"] - 1),
        "trace_step": c["trace_inc"] / 2 ** c["trace_bits"],
    }


@pytest.mark.parametrize("bits", [6, 8, 12])
def test_hidden_weight_rescaling_keeps_the_network(bits):
    spec = TASK_SPECS["cue"]
    scaled = scaled_for_hidden_weight_bits(spec, bits)
    assert scaled.config["w_bits"] == bits
    assert scaled.config["wout_bits"] in (None, spec.config["wout_bits"])
    want, got = _real_scales(spec.config), _real_scales(scaled.config)
    assert got == want  # powers of two: exact
    back = scaled_for_hidden_weight_bits(scaled, spec.config["w_bits"])
    assert back.config == spec.config


def test_every_sweep_starts_from_the_8_bit_network():
    """cue's spec has 12-bit traces and 10-bit hidden weights; the study's base has 8 and 8 with
    the same learning rates in real units, so its sweeps are the ones docs/results.md reports."""
    spec = study_spec("cue")
    base = scaled_for_hidden_weight_bits(scaled_for_trace_bits(spec, BASE_BITS), BASE_BITS)
    c = base.config
    # the study's network is the 200-neuron one its tables were measured on, not the spec's 400
    assert (c["n_rec"], c["n_alif"], TASK_SPECS["cue"].config["n_rec"]) == (200, 200, 400)
    assert (c["w_bits"], c["trace_bits"], c["wout_bits"]) == (8, 8, None)
    assert (c["w_shift"], c["fb_shift"], c["lr_shift"], c["out_lr_shift"], c["trace_inc"]) == (4, 11, 28, 19, 16)
    assert _real_scales(c) == _real_scales(spec.config)
    # the weight sweep's 8-bit point is the base itself
    assert scaled_for_weight_bits(base, BASE_BITS).config == c


def test_too_few_shift_bits_is_refused():
    spec = dataclasses.replace(TASK_SPECS["cue"], config=dict(TASK_SPECS["cue"].config, w_shift=0))
    with pytest.raises(ValueError, match="w_shift"):
        scaled_for_hidden_weight_bits(spec, 12)
