"""cue-reckon's validation panel (plasticore.experiments.cue_reckon_panel)."""

import dataclasses

import numpy as np
import pytest

from plasticore.experiments.cue_reckon_panel import (
    FRESH_SEED_OFFSET,
    initial_panel_weights,
    run_panel_seed,
    table,
    variant_spec,
)
from plasticore.tasks import make_task
from plasticore.training.train import TASK_SPECS, evaluate, initial_weights, numerics_by_name, task_config, train


def test_a_variant_changes_only_what_it_names():
    """Over the spec, or over the spec's readout before 2026-12-07 (``readout18``) for the
    variants measured then; ``readout1928-slow`` is the spec."""
    base = TASK_SPECS["cue-reckon"]
    before = variant_spec("readout18")
    assert (before.config["tau_out"], before.config["out_shift"], before.target_scale) == (18.0, 3, 4000)
    spec = variant_spec("rate40-out32")
    assert spec.config == {**before.config, "rate_target": 40 * 32768, "out_lr_shift": 32}
    assert spec.init == base.init and dataclasses.replace(spec, config=before.config) == before
    assert variant_spec("readout1928-slow") == base == variant_spec("spec")
    with pytest.raises(ValueError, match="not one of"):
        variant_spec("no-such-variant")


def test_a_panel_run_is_training_with_the_variant_and_scores_fresh_samples_as_the_trainer():
    """A one-epoch, four-sample run with six held-out samples: the curve is the trainer's and
    ``fresh`` the trained network's accuracy on the fresh test split."""
    run = run_panel_seed("rate40", 2, n_test=6, fresh=5, epochs=1, n_train=4)
    result = train(
        make_task("cue-reckon", 2, n_train=4, n_test=6),
        "eprop-symmetric",
        "fixed",
        epochs=1,
        seed=2,
        spec=variant_spec("rate40"),
    )
    fresh = make_task("cue-reckon", FRESH_SEED_OFFSET + 2, n_train=5, n_test=5)
    scale = TASK_SPECS["cue-reckon"].target_scale
    assert run["curve"] == result.curve
    assert run["fresh"] == evaluate(result.config, numerics_by_name("fixed"), result.weights, fresh, scale)
    row = table([run, {**run, "seed": 3, "curve": [0.5], "fresh": None}]).splitlines()[-1]
    assert row.startswith("| rate40 | 2, 3 |")


def test_the_annealed_variant_halves_the_readout_rate_from_epoch_four():
    assert variant_spec("rate40-anneal3").anneal_every == 3
    assert variant_spec("rate40").anneal_every == TASK_SPECS["cue-reckon"].anneal_every


def test_a_recall_gain_scales_only_the_recall_cues_initial_weights_within_the_rails():
    task = make_task("cue-reckon", 5, n_train=2, n_test=2)
    assert initial_panel_weights("spec", task, 5) is None
    spec = variant_spec("recall3")
    assert spec == variant_spec("readout18")  # the gain is not a spec field
    cfg = task_config("cue-reckon", "eprop-symmetric", 40, spec=spec).replace(seed=5)
    base = initial_weights(cfg, spec, numerics_by_name("fixed"))
    w = initial_panel_weights("recall3", task, 5)
    assert np.array_equal(w.w_in[:, :20], base.w_in[:, :20]) and np.array_equal(w.w_in[:, 30:], base.w_in[:, 30:])
    assert np.array_equal(w.w_in[:, 20:30], np.clip(3 * base.w_in[:, 20:30], -128, 127))
    assert np.array_equal(w.w_rec, base.w_rec) and np.array_equal(w.w_out, base.w_out)
    assert np.abs(w.w_in[:, 20:30]).max() == 128  # some reach the rails


def test_the_recall_offset_variants_raise_the_recall_cues_initial_weights_through_the_spec():
    spec = variant_spec("recall+60-out32")
    assert spec.input_offsets == ((20, 30, 60),) and spec.config["out_lr_shift"] == 32
    assert variant_spec("recall+30").input_offsets == ((20, 30, 30),)
    assert initial_panel_weights("recall+60", make_task("cue-reckon", 5, n_train=2, n_test=2), 5) is None
