"""The readout probe of cue-reckon's trained networks (plasticore.experiments.cue_readout_probe)."""

import dataclasses

import numpy as np

from plasticore.experiments.cue_readout_probe import (
    FRESH_SEED_OFFSET,
    probe_seed,
    probe_untrained,
    recall_counts,
    recall_onset_membranes,
    table,
)
from plasticore.golden.network import init_state, tick
from plasticore.tasks import make_task
from plasticore.training.train import TASK_SPECS, evaluate, initial_weights, numerics_by_name, task_config, train


def test_the_probe_scores_the_trained_networks_own_readout_as_training_does():
    """A one-epoch, four-sample run: ``fresh`` is the network's own accuracy on the fresh test
    split as the trainer scores it, ``heldout`` the trainer's value."""
    run = probe_seed(3, fresh=6, epochs=1, n_train=4)
    result = train(make_task("cue-reckon", 3, n_train=4), "eprop-symmetric", "fixed", epochs=1, seed=3)
    fresh = make_task("cue-reckon", FRESH_SEED_OFFSET + 3, n_train=6, n_test=6)
    scale = TASK_SPECS["cue-reckon"].target_scale
    assert run["fresh"] == evaluate(result.config, numerics_by_name("fixed"), result.weights, fresh, scale)
    assert run["heldout"] == result.value
    assert 0.0 <= run["probe_own"] <= 1.0 and 0.0 <= run["probe_fresh"] <= 1.0
    assert 0.0 <= run["probe_membrane_own"] <= 1.0 and 0.0 <= run["probe_membrane_fresh"] <= 1.0
    assert "| 3 |" in table([run])
    without = table([{k: v for k, v in run.items() if not k.startswith("probe_membrane")}])  # earlier files
    assert without.splitlines()[2].endswith("| - |")


def test_the_recall_onset_membranes_are_the_state_before_the_first_valid_tick():
    """Two samples of a one-epoch run: the membranes equal golden's tick by tick up to the onset."""
    task = make_task("cue-reckon", 4, n_train=2, n_test=2)
    result = train(task, "eprop-symmetric", "fixed", epochs=1, seed=4)
    num = numerics_by_name("fixed")
    onset = int(np.argmax(task.test.valid.any(axis=0)))
    s = init_state(result.config, num, 2)
    w = result.weights.astype(num.dtype)
    for t in range(onset):
        s, _ = tick(result.config, num, w, s, task.test.x[:, t].astype(np.int64))
    assert np.array_equal(recall_onset_membranes(result, task.test), np.asarray(s.u, dtype=np.float64))
    assert onset == task.test.ticks - 150


def test_the_untrained_probe_reads_the_network_training_starts_from():
    """Its probes are fitted on the initial network's counts and membranes (which differ from the
    trained one's), on the task's training samples or fresh ones; its table row has no held-out
    or own-readout figures."""
    run = probe_untrained(3, fresh=6)
    assert run["untrained"]
    for key in ("probe_own", "probe_fresh", "probe_membrane_own", "probe_membrane_fresh"):
        assert 0.0 <= run[key] <= 1.0
    spec = TASK_SPECS["cue-reckon"]
    cfg = task_config("cue-reckon", "eprop-symmetric", 40, spec=spec).replace(seed=3)
    task = make_task("cue-reckon", 3, n_train=4)
    trained = train(task, "eprop-symmetric", "fixed", epochs=1, seed=3)
    num = numerics_by_name("fixed")
    assert trained.config == cfg  # the network probed is the one train() builds for seed 3
    start = initial_weights(cfg, spec, num)
    assert not np.array_equal(start.w_out, trained.weights.w_out)
    fresh = make_task("cue-reckon", FRESH_SEED_OFFSET + 3, n_train=6, n_test=6)
    untrained = dataclasses.replace(trained, weights=start)
    assert not np.array_equal(recall_counts(untrained, fresh.test)[0], recall_counts(trained, fresh.test)[0])
    row = table([run]).splitlines()[2].split(" | ")
    assert row[1:3] == ["-", "-"] and "-" not in row[3:]  # no held-out or own-readout figures
