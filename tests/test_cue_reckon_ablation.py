"""The cue-reckon ablation's rows: one change each to the committed spec, 16-bit traces at the
scale they claim, and a one-epoch smoke run through the table."""

import dataclasses

import pytest

from plasticore.experiments.cue_reckon_ablation import ROWS, narrow_traces, row_spec, run_one, table
from plasticore.training.train import TASK_SPECS, task_config

SPEC = TASK_SPECS["cue-reckon"]


def _config(name: str):
    return task_config("cue-reckon", "eprop-symmetric", 40, spec=row_spec(ROWS[name]))


def test_rows_change_only_what_they_name():
    assert row_spec(ROWS["0"]) == SPEC
    assert ROWS["1"].changes == {"tau_readout_trace": None}
    assert ROWS["2"].changes == {"rate_target": None}
    for name, row in ROWS.items():
        spec = row_spec(row)
        assert {k: v for k, v in spec.config.items() if k not in row.changes} == {
            k: v for k, v in SPEC.config.items() if k not in row.changes
        }, name
    assert TASK_SPECS["cue-reckon"] is SPEC  # the committed spec is not touched


def test_rows_4_and_5_drop_the_three_mechanisms_and_build():
    for row in ("4", "5"):
        cfg = _config(row)
        assert not cfg.unbuilt_learning_features(), (row, cfg.unbuilt_learning_features())
        assert cfg.tau_readout_trace is None and cfg.rate_target is None and cfg.trace_bits == 16, row
    cfg = _config("5")
    assert cfg.error_clamp is None and cfg.pseudo_derivative == "piecewise_linear"
    # row 6 keeps the regularization (rescaled to its traces; the RTL builds it) and drops the
    # other two
    cfg = _config("6")
    assert cfg.rate_target == 10240 and not cfg.unbuilt_learning_features()


def test_narrow_traces_keep_the_real_valued_network():
    c = SPEC.config
    n = {**c, **narrow_traces(SPEC, 16)}
    assert n["trace_bits"] == 16
    # the same rail in spikes; a weight update per spike of trace and the regularization per
    # spike of excess unchanged (powers of two: exact)
    assert 2**16 / n["trace_inc"] == 2**22 / c["trace_inc"] == 128
    assert 2.0 ** -n["lr_shift"] * n["trace_inc"] == 2.0 ** -c["lr_shift"] * c["trace_inc"]
    assert 2.0 ** -n["out_lr_shift"] * n["trace_inc"] == 2.0 ** -c["out_lr_shift"] * c["trace_inc"]
    assert n["rate_target"] / n["trace_inc"] == c["rate_target"] / c["trace_inc"]
    assert 2.0 ** -n["rate_reg_shift"] * n["trace_inc"] == 2.0 ** -c["rate_reg_shift"] * c["trace_inc"]
    assert narrow_traces(SPEC, 22) == {}


def test_narrow_traces_refuses_a_trace_inc_off_the_scale():
    spec = dataclasses.replace(SPEC, config={**SPEC.config, "trace_inc": 1000})
    with pytest.raises(ValueError, match="trace_inc"):
        narrow_traces(spec, 16)


def test_smoke_run_one_epoch_into_the_table():
    # 2 training and 2 held-out samples, one epoch: the row trains and lands in the table
    run = run_one(ROWS["5"], seed=0, epochs=1, n_train=2, n_test=2)
    assert run["row"] == "5" and run["n_train"] == 2 and run["n_test"] == 2
    assert run["changes"] == ROWS["5"].changes
    assert len(run["curve"]) == 1 and run["value"] in (0.0, 0.5, 1.0)
    text = table([run, {**run, "seed": 1}])
    assert "| 5 | 4, no error clamp, piecewise-linear h | 0 |" in text and "| | | 1 |" in text
    assert "**median 0,1**" in text
