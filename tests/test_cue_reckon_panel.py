"""cue-reckon's validation panel (plasticore.experiments.cue_reckon_panel)."""

import dataclasses

import pytest

from plasticore.experiments.cue_reckon_panel import FRESH_SEED_OFFSET, run_panel_seed, table, variant_spec
from plasticore.tasks import make_task
from plasticore.training.train import TASK_SPECS, evaluate, numerics_by_name, train


def test_a_variant_changes_only_what_it_names():
    spec = variant_spec("rate40-out32")
    base = TASK_SPECS["cue-reckon"]
    assert spec.config == {**base.config, "rate_target": 40 * 32768, "out_lr_shift": 32}
    assert spec.init == base.init and dataclasses.replace(spec, config=base.config) == base
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
